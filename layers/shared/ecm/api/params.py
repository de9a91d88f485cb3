"""What a request carries besides its body's fields: path ids, query integers, the JSON body.

Parsed strictly, so one value has one spelling: ``01``, ``+1``, ``1_000`` or ``٣`` are not
numbers here (Python's ``int`` takes them all), and a body that is not UTF-8 or nests too
deeply is a 422, never an error of ours.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

from ecm.errors import ApiError

#: A positive integer, written the one way: ASCII digits, no sign, no leading zero.
_POSITIVE = re.compile(r"[1-9][0-9]{0,17}", re.ASCII)


def parse_id(raw: str, not_found: str) -> int:
    """A path id; anything but a positive integer names no record (404)."""
    if not _POSITIVE.fullmatch(raw):
        raise ApiError(404, not_found)
    return int(raw)


def parse_positive_int(query: dict[str, str] | None, name: str, default: int, maximum: int) -> int:
    """A query integer between 1 and ``maximum``; ``default`` when absent or empty."""
    raw = (query or {}).get(name)
    if raw is None or raw == "":
        return default
    if not _POSITIVE.fullmatch(raw):
        if raw.isascii() and raw.isdigit() and len(raw) > 18:
            raise ApiError(422, f"{name} must be at most {maximum}")
        raise ApiError(422, f"{name} must be a positive integer")
    value = int(raw)
    if value > maximum:
        raise ApiError(422, f"{name} must be at most {maximum}")
    return value


def parse_json_body(body: str | None, is_base64: bool) -> Any:
    """The request's JSON document (API Gateway hands a binary body over base64)."""
    if not body:
        raise ApiError(422, "Request body is required")
    text: str = body
    if is_base64:
        try:
            text = base64.b64decode(body, validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            raise ApiError(422, "Request body is not valid UTF-8 JSON") from None
    try:
        return json.loads(text)
    except RecursionError:
        raise ApiError(422, "Request body is nested too deeply") from None
    except ValueError:
        raise ApiError(422, "Request body is not valid JSON") from None
