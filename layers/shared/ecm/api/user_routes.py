"""The routes of the users' API function: list users, disable or enable one, rotate a token.
Each route is one call of ``ecm.api.users``; its bodies are declared here, which the
resolver validates and the OpenAPI document describes."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body
from pydantic import Field

from ecm.api.auth import EXPIRY_DAYS
from ecm.api.params import RecordId, parse_id
from ecm.api.resolver import current_user, json_response
from ecm.api.schemas import ObjectBody, ResponseBody, responses
from ecm.api.users import USER_NOT_FOUND, list_users, rotate_token, set_disabled

USERS = "/v1/admin/clinic/ecm/users"
USER_TAGS = ["Users"]
UserId = Annotated[str, RecordId(USER_NOT_FOUND)]


class UserSummary(ResponseBody):
    """A user as admins see it: never its token or the token's hash."""

    id: int
    name: str | None
    role: str
    email: str | None
    phone: str | None
    disabled: bool = Field(description="A disabled user's token is refused")
    token_expires_at: str | None = Field(description="When the token stops working; null: never")
    token_rotated_at: str | None = Field(description="When the token was last replaced")
    created_at: str | None


class UserList(ResponseBody):
    users: list[UserSummary]


class UserChanged(ResponseBody):
    user: UserSummary


class TokenRotated(ResponseBody):
    user: UserSummary
    token: str = Field(description="The user's new token, shown this once")


class RotateTokenRequest(ObjectBody):
    """The new token's lifetime; without ``expires_in_days`` it never expires."""

    expires_in_days: int | None = Field(None, ge=EXPIRY_DAYS[0], le=EXPIRY_DAYS[1])


class UserChangeRequest(ObjectBody):
    """``{}``: the route says what changes. A body all the same, so that a POST is read as
    every other write is (JSON only, one object, no unknown field)."""


#: The routes that switch a user off and on: (path's last segment, disabled, summary).
_SWITCHES = (
    ("disable", True, "Disable a user: its token is refused (after the authorizer's cache, 60 s)"),
    ("enable", False, "Enable a disabled user again"),
)


def _switch_route(router: Router, action: str, disabled: bool, summary: str) -> None:
    """``POST /users/{id}/<action>``: set the user's ``disabled`` to ``disabled``."""

    def switch(
        user_id: UserId, body: Annotated[UserChangeRequest, Body()]
    ) -> Response[UserChanged]:
        target = parse_id(user_id, USER_NOT_FOUND)
        return json_response(200, set_disabled(target, disabled, current_user(router)))

    switch.__name__ = (
        f"post_{action}"  # the document's operationId: post_disable_..., post_enable_...
    )
    router.post(
        USERS + f"/<user_id>/{action}",
        summary=summary,
        responses=responses({200: UserChanged}, 404, 409, 415),
        tags=USER_TAGS,
    )(switch)


def user_routes() -> Router:
    """Who may enter, and with which token."""
    router = Router()

    @router.get(
        USERS,
        summary="The users, in id order (never a token)",
        responses=responses({200: UserList}),
        tags=USER_TAGS,
    )
    def get_users() -> Response[UserList]:
        return json_response(200, list_users())

    for action, disabled, summary in _SWITCHES:
        _switch_route(router, action, disabled, summary)

    @router.post(
        USERS + "/<user_id>/token",
        summary="Replace a user's token: the new one is shown once, the old one stops working",
        responses=responses({201: TokenRotated}, 404, 409, 415),
        tags=USER_TAGS,
    )
    def post_token(
        user_id: UserId, body: Annotated[RotateTokenRequest, Body()]
    ) -> Response[TokenRotated]:
        target = parse_id(user_id, USER_NOT_FOUND)
        changed, token = rotate_token(target, body.expires_in_days, current_user(router))
        return json_response(201, {**changed, "token": token})

    return router
