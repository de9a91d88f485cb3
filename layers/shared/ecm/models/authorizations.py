"""The authorizations table (docs/using/authorization-imports.md): one item per AUTH_NO, linked to
its patient."""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute, VersionAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from ecm.models.base import TableMeta, TableModel, register


class ByPatient(GlobalSecondaryIndex["Authorization"]):
    """A patient's authorizations (its detail lists them)."""

    class Meta:
        index_name = "patient_id-index"
        projection = AllProjection()

    patient_id = NumberAttribute(hash_key=True)


@register
class Authorization(TableModel):
    resource = "AuthorizationsTable"
    setting = "authorizations_table"

    class Meta(TableMeta):
        pass

    auth_no = UnicodeAttribute(hash_key=True)
    id = NumberAttribute(null=True)
    auth_type = UnicodeAttribute(null=True)
    auth_description = UnicodeAttribute(null=True)
    member_id = UnicodeAttribute(null=True)
    member_name = UnicodeAttribute(null=True)
    authorization_type = UnicodeAttribute(null=True)
    status = UnicodeAttribute(null=True)
    requesting_provider = UnicodeAttribute(null=True)
    servicing_provider = UnicodeAttribute(null=True)
    received_date = UnicodeAttribute(null=True)
    decision_date = UnicodeAttribute(null=True)
    start_date = UnicodeAttribute(null=True)
    expiration_date = UnicodeAttribute(null=True)
    contact_name = UnicodeAttribute(null=True)
    remarks = UnicodeAttribute(null=True)
    # Unlinked (no patient_id) until a MIF brings the member: then the index lists it.
    patient_id = NumberAttribute(null=True)
    patient_name = UnicodeAttribute(null=True)
    ecm_eligibility_information_id = NumberAttribute(null=True)
    authorization_file_id = NumberAttribute(null=True)
    created_at = UnicodeAttribute(null=True)
    updated_at = UnicodeAttribute(null=True)
    last_import = UnicodeAttribute(null=True)
    version = VersionAttribute(null=True)

    by_patient = ByPatient()
