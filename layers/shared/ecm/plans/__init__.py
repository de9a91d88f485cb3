"""Health plans (managed care plans) by their short code: the plan a MIF came from is kept on
the file and on each member's eligibility record, so return files can be made per plan.

A plan code is also a folder of the bucket (``outbox/<plan>/...``) and a file-name part, so
it is a short slug: letters, digits, ``-`` and ``_``. Case does not tell two plans apart
(``HealthNet`` and ``healthnet`` are one): a code is kept in lower case wherever it comes
from, so one plan never ends up in two folders or two records.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, WithJsonSchema

from ecm.errors import ApiError

PLAN_MAX = 40
#: Either case is accepted (and kept in lower case); ASCII only, so no letter outside a-z
#: (a Kelvin sign) folds into one. The same text is the OpenAPI pattern, which has no flags.
PLAN_PATTERN_TEXT = rf"[A-Za-z0-9][A-Za-z0-9_-]{{0,{PLAN_MAX - 1}}}"
PLAN_PATTERN = re.compile(PLAN_PATTERN_TEXT, re.ASCII)
PLAN_RULE = f"must be 1-{PLAN_MAX} letters, digits, '-' or '_', starting with a letter or digit"


def check_plan(value: str) -> str:
    """The plan code in lower case, or ValueError saying the rule (the caller names the
    field)."""
    if not PLAN_PATTERN.fullmatch(value):
        raise ValueError(PLAN_RULE)
    return value.lower()


def fold_plan(value: str | None) -> str | None:
    """A plan code as given, in lower case when it is a valid one (a wrong one is left for
    the check that names its field)."""
    if value is None or not PLAN_PATTERN.fullmatch(value):
        return value
    return value.lower()


#: A plan code in a request body: checked by check_plan, declared by the same pattern.
PlanCode = Annotated[
    str,
    AfterValidator(check_plan),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": f"^{PLAN_PATTERN_TEXT}$",
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
    return fold_plan(inbox_plans[max(matches, key=len)]) if matches else None
