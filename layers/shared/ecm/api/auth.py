"""Users and their tokens. A token is 32 random bytes shown once; only its SHA-256 is stored
(a fast hash is right for high-entropy random tokens, unlike passwords)."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from ecm.clock import iso_timestamp
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


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_user(
    name: str, role: str, token: str | None = None, **contact: str | None
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
    token = token or secrets.token_urlsafe(32)
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
    as_model(User, user).save(condition=User.token_hash.does_not_exist())
    return user, token


def find_user(token: str | None) -> Item | None:
    if not token:
        return None
    return get(User, hash_token(token))


def _header(event: Item, name: str) -> str | None:
    for key, value in (event.get("headers") or {}).items():
        if key.lower() == name:
            return str(value)
    return None


def authorize_request(event: Item) -> Item:
    """REQUEST authorizer: allow known tokens with their role in the context; else 401."""
    user = find_user(_header(event, TOKEN_HEADER))
    if user is None:
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
