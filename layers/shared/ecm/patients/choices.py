"""The closed value sets request bodies are checked against (statuses, acuity levels)."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator

from ecm.kinds.authorization.member_status import MEMBER_STATUSES
from ecm.kinds.authorization.rows import AuthorizationStatus
from ecm.kinds.values import ACUITY_LEVELS


def _one_of(choices: tuple[str, ...] | list[str]) -> AfterValidator:
    def check(value: str | None) -> str | None:
        if value is not None and value not in choices:
            raise ValueError(f"must be one of {', '.join(choices)}")
        return value

    return AfterValidator(check)


MemberStatusField = Annotated[str | None, _one_of(MEMBER_STATUSES)]
AcuityField = Annotated[str | None, _one_of(ACUITY_LEVELS)]
AuthorizationStatusField = Annotated[str | None, _one_of([s.value for s in AuthorizationStatus])]
