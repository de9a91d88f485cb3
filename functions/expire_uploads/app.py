"""Scheduled sweep: uploads nobody sent within their 10 minutes become ``expired``."""

from typing import Any

from ecm.imports.uploads import expire_waiting_uploads


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"expired": expire_waiting_uploads()}
