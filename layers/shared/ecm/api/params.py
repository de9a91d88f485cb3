"""What a request carries besides its body's fields: path ids, query integers, the JSON body.

Parsed strictly, so one value has one spelling: ``01``, ``+1``, ``1_000`` or ``٣`` are not
numbers here (Python's ``int`` takes them all), and a body that is not UTF-8 or nests too
deeply is a 422, never an error of ours. Query integers are pydantic types, so the routes
declare them and the OpenAPI document describes them.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Path
from pydantic import BeforeValidator, WithJsonSchema

from ecm.errors import ApiError

#: A positive integer, written the one way: ASCII digits, no sign, no leading zero.
_POSITIVE = re.compile(r"[1-9][0-9]{0,17}", re.ASCII)

#: Page × per_page bound of every list read from an index: page *p* reads *p·n* items.
MAX_WINDOW = 10_000
#: The most items a page of a list holds.
MAX_PER_PAGE = 100
#: How the document declares MAX_WINDOW on each page number it bounds (JSON Schema has no
#: product of two fields): this extension, and the description.
WINDOW_KEY = "x-max-page-window"
WINDOW_RULE = (
    f"page × per_page may reach at most {MAX_WINDOW:,} items (a larger product is a 422); "
    "narrow the list with search or filters to go further"
)
WINDOW_SCHEMA: dict[str, Any] = {"description": WINDOW_RULE, WINDOW_KEY: MAX_WINDOW}


def is_id(raw: str) -> bool:
    """Whether ``raw`` is an id as a path spells it (``re.fullmatch``: no trailing newline)."""
    return _POSITIVE.fullmatch(raw) is not None


def parse_id(raw: str, not_found: str) -> int:
    """A path id; anything but a positive integer names no record (404)."""
    if not is_id(raw):
        raise ApiError(404, not_found)
    return int(raw)


class RecordId(Path):  # type: ignore[misc]
    """A path parameter naming a record by its id (or another key spelled one way). The
    resolver checks it before the query and the body (``ecm.api.resolver``): any other
    spelling names no record, a 404 saying ``not_found`` whatever else the request holds.
    The pattern tells clients the rule."""

    def __init__(
        self,
        not_found: str,
        spelling: re.Pattern[str] = _POSITIVE,
        description: str = "A positive integer (ASCII digits, no sign or leading zero)",
    ) -> None:
        super().__init__(description=description, pattern=f"^{spelling.pattern}$")
        self.not_found = not_found
        self.spelling = spelling

    def names_a_record(self, raw: str) -> bool:
        """Whether ``raw`` is spelled as a key (``re.fullmatch``: no trailing newline)."""
        return self.spelling.fullmatch(raw) is not None


def _checked(maximum: int) -> BeforeValidator:
    """A query integer from 1 to ``maximum``; absent or empty: None, the route's default."""

    def check(raw: Any) -> int | None:
        if raw is None or raw == "":
            return None
        text = str(raw)
        if not _POSITIVE.fullmatch(text):
            if text.isascii() and text.isdigit() and len(text) > 18:
                raise ValueError(f"must be at most {maximum}")
            raise ValueError("must be a positive integer")
        if int(text) > maximum:
            raise ValueError(f"must be at most {maximum}")
        return int(text)

    return BeforeValidator(check)


def _declared(maximum: int, **extra: Any) -> WithJsonSchema:
    """What _checked(maximum) takes, as the document declares it."""
    return WithJsonSchema({"type": "integer", "minimum": 1, "maximum": maximum, **extra})


PageNumber = Annotated[int | None, _checked(10**6), _declared(10**6, **WINDOW_SCHEMA)]
PerPage = Annotated[int | None, _checked(MAX_PER_PAGE), _declared(MAX_PER_PAGE)]
#: Import files and their records are read by id, so their pages may go further.
FilePage = Annotated[int | None, _checked(10**9), _declared(10**9)]
RecordsPerPage = Annotated[int | None, _checked(1000), _declared(1000)]
ProviderId = Annotated[int | None, _checked(10**12), _declared(10**12)]


def page_window(
    page: int | None, per_page: int | None, default_per_page: int = 25
) -> tuple[int, int]:
    """The page and its size, refused when reaching it would read more than MAX_WINDOW items."""
    page, per_page = page or 1, per_page or default_per_page
    if page * per_page > MAX_WINDOW:
        raise ApiError(
            422,
            f"page × per_page may reach at most {MAX_WINDOW:,} items; "
            "narrow the list with search or filters instead",
        )
    return page, per_page


class DuplicateKey(ValueError):
    """An object names one key twice: which value was meant is anyone's guess."""


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise DuplicateKey(key)
        found[key] = value
    return found


def parse_json_text(text: str) -> Any:
    """The request's JSON document (the resolver's body deserializer). An object with a key
    twice is refused: JSON parsers disagree on which value wins."""
    try:
        return json.loads(text, object_pairs_hook=_unique_keys)
    except RecursionError:
        raise ApiError(422, "Request body is nested too deeply") from None
    except DuplicateKey as exc:
        name = str(exc)[:50]
        raise ApiError(422, f"Request body has the key '{name}' more than once") from None
    except ValueError:
        raise ApiError(422, "Request body is not valid JSON") from None
