"""Health plans (managed care plans) by their short code: the plan a MIF came from is kept on
the file and on each member's eligibility record, so return files can be made per plan.

A plan code is also a folder of the bucket (``outbox/<plan>/...``) and a file-name part, so
it is a short slug: lowercase letters, digits, ``-`` and ``_``.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, WithJsonSchema

from ecm.errors import ApiError

PLAN_MAX = 40
PLAN_PATTERN = re.compile(rf"[a-z0-9][a-z0-9_-]{{0,{PLAN_MAX - 1}}}", re.ASCII)
PLAN_RULE = (
    f"must be 1-{PLAN_MAX} lowercase letters, digits, '-' or '_', starting with a letter or digit"
)


def check_plan(value: str) -> str:
    """The plan code as given, or ValueError saying the rule (the caller names the field)."""
    if not PLAN_PATTERN.fullmatch(value):
        raise ValueError(PLAN_RULE)
    return value


#: A plan code in a request body: checked by check_plan, declared by the same pattern.
PlanCode = Annotated[
    str,
    AfterValidator(check_plan),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": f"^{PLAN_PATTERN.pattern}$",
            "minLength": 1,
            "maxLength": PLAN_MAX,
        }
    ),
]


def check_plan_option(plan: str | None, field: str, *, accepted: bool) -> None:
    """A request's plan: a MIF may name one; other kinds' files have none (422 otherwise)."""
    if plan is None:
        return
    if not accepted:
        raise ApiError(422, f"{field} is not accepted: only a MIF names its health plan")
    try:
        check_plan(plan)
    except ValueError as exc:
        raise ApiError(422, f"{field} {exc}") from None


def inbox_plan(key: str, inbox_plans: dict[str, str]) -> str | None:
    """The plan an inbox file belongs to: the longest configured prefix of its key."""
    matches = [prefix for prefix in inbox_plans if key.startswith(prefix)]
    return inbox_plans[max(matches, key=len)] if matches else None
