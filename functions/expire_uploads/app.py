"""Scheduled sweep: uploads nobody sent within their 10 minutes become ``expired``."""

from typing import Any

from ecm.imports.uploads import expire_waiting_uploads
from ecm.settings import get_settings

get_settings()  # a function wired without a variable fails at cold start, naming it


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"expired": expire_waiting_uploads()}
