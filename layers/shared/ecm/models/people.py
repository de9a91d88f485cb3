"""Users (by token hash, with an id index) and ECM providers."""

from __future__ import annotations

from pynamodb.attributes import (
    BooleanAttribute,
    NumberAttribute,
    UnicodeAttribute,
    VersionAttribute,
)
from pynamodb.indexes import GlobalSecondaryIndex, IncludeProjection

from ecm.models.base import TableMeta, TableModel, register


class UserById(GlobalSecondaryIndex["User"]):
    """A user by id (case loads name care managers by id); never the token hash."""

    class Meta:
        index_name = "id-index"
        projection = IncludeProjection(["name", "role", "created_at"])

    id = NumberAttribute(hash_key=True)


@register
class User(TableModel):
    """Only the SHA-256 of a token is stored (ecm.auth)."""

    resource = "UsersTable"
    setting = "users_table"

    class Meta(TableMeta):
        pass

    token_hash = UnicodeAttribute(hash_key=True)
    id = NumberAttribute()
    name = UnicodeAttribute(null=True)
    role = UnicodeAttribute()
    # A care manager's contact, as the return files give it for the lead care manager.
    phone = UnicodeAttribute(null=True)
    email = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute(null=True)
    # Who may still enter: a disabled user's token, or one past its expiry, is refused as an
    # unknown one (ecm.api.auth). A rotation replaces the item (the token hash is its key).
    disabled = BooleanAttribute(null=True)
    token_expires_at = UnicodeAttribute(null=True)
    token_rotated_at = UnicodeAttribute(null=True)

    by_id = UserById()


@register
class Provider(TableModel):
    resource = "ProvidersTable"
    setting = "providers_table"

    class Meta(TableMeta):
        pass

    id = NumberAttribute(hash_key=True)
    name = UnicodeAttribute()
    npi = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute(null=True)
    updated_at = UnicodeAttribute(null=True)
    # Each write over a read version (ecm.models.versions): an edit never overwrites one made
    # meanwhile. A provider stored before versions has none (read as 0).
    version = VersionAttribute(null=True)
