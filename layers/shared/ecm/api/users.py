"""Who may enter: list the users, disable or enable one, rotate a user's token.

A user is found by id with a consistent scan of the users table (there are few users), not
through the id index: the index is eventually consistent, and a token just rotated would
still show the old item's key there. A listing never carries a token or a token's hash.

A rotation replaces the user's item in one transaction (the token's hash is the table's
key): the old token stops working as soon as API Gateway's cached answer for it expires.
Each change is logged with who made it (ids only: no token, no name), the trail of access
changes.
"""

from __future__ import annotations

from typing import Any

from pynamodb.exceptions import PutError, TransactWriteError, UpdateError

from ecm.api.auth import hash_token, new_token, token_expiry
from ecm.clock import iso_timestamp
from ecm.errors import ApiError
from ecm.log import logger
from ecm.models import User
from ecm.models.access import all_items, as_model, condition_failed, transaction

Item = dict[str, Any]
USER_NOT_FOUND = "User not found"
CHANGED_MEANWHILE = "The user changed meanwhile (its token was rotated); try again"
#: What a listing shows of a user: never ``token_hash``.
USER_FIELDS = (
    "id",
    "name",
    "role",
    "email",
    "phone",
    "disabled",
    "token_expires_at",
    "token_rotated_at",
    "created_at",
)


def user_body(user: Item) -> Item:
    body = {field: user.get(field) for field in USER_FIELDS}
    body["id"] = int(user["id"])
    body["disabled"] = bool(user.get("disabled"))
    return body


def _all_users() -> list[Item]:
    return sorted(all_items(User.scan(consistent_read=True)), key=lambda u: int(u["id"]))


def list_users() -> Item:
    """Every user, in id order, with whether it may enter; no token hashes."""
    return {"users": [user_body(user) for user in _all_users()]}


def stored_user(user_id: int) -> Item:
    """The user's whole item (its token hash included: for writes only)."""
    found = list(all_items(User.scan(User.id == user_id, consistent_read=True)))
    if not found:
        raise ApiError(404, USER_NOT_FOUND)
    return found[0]


def _recorded(action: str, user_id: int, actor: Item | None) -> None:
    by = (actor or {}).get("user_id")
    logger.info(
        "user access changed",
        extra={"action": action, "user_id": user_id, "by_user_id": str(by) if by else "cli"},
    )


def set_disabled(user_id: int, disabled: bool, actor: Item | None = None) -> Item:
    """Disable (its token refused from the authorizer's next answer on) or enable a user.
    An admin cannot disable themselves: the caller stays an admin who can undo it."""
    if disabled and actor is not None and str(actor.get("user_id")) == str(user_id):
        raise ApiError(409, "You cannot disable your own user")
    user = stored_user(user_id)
    stored = User(user["token_hash"])
    try:
        stored.update(
            actions=[User.disabled.set(True) if disabled else User.disabled.remove()],
            condition=User.token_hash.exists() & (User.id == user_id),
        )
    except UpdateError as exc:
        if condition_failed(exc):
            raise ApiError(409, CHANGED_MEANWHILE) from None
        raise
    _recorded("disable" if disabled else "enable", user_id, actor)
    return {"user": user_body({**user, "disabled": disabled})}


def rotate_token(
    user_id: int, expires_in_days: int | None = None, actor: Item | None = None
) -> tuple[Item, str]:
    """A new token for the user (returned, the only time it is known; it expires after
    ``expires_in_days``, else never); the old one is gone in the same transaction. The
    user keeps its id, role and state (a disabled user stays disabled)."""
    try:
        expires_at = token_expiry(expires_in_days)
    except ValueError as exc:
        raise ApiError(422, str(exc)) from None
    user = stored_user(user_id)
    token = new_token()
    replaced = {**user, "token_hash": hash_token(token), "token_rotated_at": iso_timestamp()}
    replaced.pop("token_expires_at", None)
    if expires_at:
        replaced["token_expires_at"] = expires_at
    try:
        with transaction() as writes:
            writes.save(as_model(User, replaced), condition=User.token_hash.does_not_exist())
            writes.delete(
                User(user["token_hash"]),
                condition=User.token_hash.exists() & (User.id == user_id),
            )
    except (TransactWriteError, PutError) as exc:
        if condition_failed(exc):
            raise ApiError(409, CHANGED_MEANWHILE) from None
        raise
    _recorded("rotate_token", user_id, actor)
    return {"user": user_body(replaced)}, token
