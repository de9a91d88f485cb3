"""Users and their tokens. A token is 32 random bytes shown once; only its SHA-256 is stored
(a fast hash is right for high-entropy random tokens, unlike passwords). A token may carry an
expiry; a disabled user's token, an expired one and a rotated-out one (its item is gone) are
refused alike, so a caller cannot tell which of them it holds."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from ecm.clock import iso_timestamp, utc_now
from ecm.errors import ApiError
from ecm.kinds.values import person_name
from ecm.models import User
from ecm.models.access import as_model, get, next_ids

Item = dict[str, Any]
#: admin manages everything; staff, and the care managers (outreach lead OLCM, intensive
#: lead ILCM) that case loads name, are users without admin rights.
ROLES = ("admin", "staff", "olcm", "ilcm")
TOKEN_HEADER = "x-user-token"  # noqa: S105 - a header name, not a secret
#: A token chosen by hand (``make user``, ECM_ADMIN_TOKEN) must not be guessable in a few tries.
MIN_TOKEN_LENGTH = 16
#: How long a token may be made to last, in days: at least a day, at most ten years.
EXPIRY_DAYS = (1, 3650)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_expiry(expires_in_days: int | None) -> str | None:
    """When a token made now stops working (None: never); the days are bounded."""
    if expires_in_days is None:
        return None
    low, high = EXPIRY_DAYS
    if isinstance(expires_in_days, bool) or not low <= expires_in_days <= high:
        raise ValueError(f"expires_in_days must be an integer from {low} to {high}")
    return iso_timestamp(utc_now() + timedelta(days=expires_in_days))


def create_user(
    name: str,
    role: str,
    token: str | None = None,
    expires_in_days: int | None = None,
    **contact: str | None,
) -> tuple[Item, str]:
    """Store a user; return it and its token (the only time the token is known).
    ``contact``: a care manager's checked ``phone`` and ``email``, if known."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    try:  # shown beside patients: bounded, no control or bidi-override characters
        name = person_name(name)
    except ValueError as exc:
        raise ValueError(f"name {exc}") from None
    if not name:
        raise ValueError("name can't be blank")
    expires_at = token_expiry(expires_in_days)
    token = token or new_token()
    if len(token) < MIN_TOKEN_LENGTH:
        raise ValueError(f"token must be at least {MIN_TOKEN_LENGTH} characters")
    _, user_id = next_ids("user")
    user = {
        "token_hash": hash_token(token),
        "id": user_id,
        "name": name,
        "role": role,
        **{field: value for field, value in contact.items() if value is not None},
        "created_at": iso_timestamp(),
    }
    if expires_at:
        user["token_expires_at"] = expires_at
    as_model(User, user).save(condition=User.token_hash.does_not_exist())
    return user, token


def find_user(token: str | None) -> Item | None:
    """The token's user, whatever its state (``may_enter`` says whether it is let in)."""
    if not token:
        return None
    return get(User, hash_token(token))


def may_enter(user: Item | None) -> bool:
    """A known token of an enabled user, before its expiry (timestamps of one format and
    zone compare as strings)."""
    if user is None or user.get("disabled"):
        return False
    expires_at = user.get("token_expires_at")
    return not expires_at or iso_timestamp() < str(expires_at)


def _header(event: Item, name: str) -> str | None:
    for key, value in (event.get("headers") or {}).items():
        if key.lower() == name:
            return str(value)
    return None


def authorize_request(event: Item) -> Item:
    """REQUEST authorizer: allow known tokens with their role in the context; else 401 (an
    unknown, disabled, expired or rotated-out token alike). API Gateway caches the answer
    per token for the Api's ``ReauthorizeEvery``: a revoked token passes until then."""
    user = find_user(_header(event, TOKEN_HEADER))
    if user is None or not may_enter(user):
        # API Gateway turns exactly this message into a 401 (the UNAUTHORIZED gateway response).
        raise PermissionError("Unauthorized")
    arn = str(event.get("methodArn", "*"))
    api_arn = "/".join(arn.split("/")[:2]) + "/*" if "/" in arn else "*"
    return {
        "principalId": str(user["id"]),
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": api_arn}],
        },
        "context": {"user_id": str(user["id"]), "role": user["role"], "name": user["name"]},
    }


def require_admin(authorizer_context: Item | None) -> Item:
    context = authorizer_context or {}
    if not context.get("user_id"):
        raise ApiError(401, "Unauthorized: missing or invalid X-User-Token")
    if context.get("role") != "admin":
        raise ApiError(403, "Admin access required")
    return context
