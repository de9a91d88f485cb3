"""Cell-value normalisers shared by every file kind: text, dates, ids, phones, ZIPs, NPIs.

Each raises ``ValueError`` with the reason; the caller adds the row and the column.
Cells come as strings (CSV, XML) or typed values (Excel: float, int, date, datetime).
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

EXCEL_EPOCH = date(1899, 12, 30)
MAX_TEXT = 255
_SCIENTIFIC = re.compile(r"^[+-]?\d+(\.\d+)?[eE][+-]?\d+$")
_DIGITS = re.compile(r"\D+")


def cell_text(value: Any) -> str:
    """A cell as trimmed text; whole floats lose their ``.0`` (Excel stores ids as numbers)."""
    if type(value) is str:  # the common case first: every CSV and XML cell
        return value.strip()
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def bounded_text(value: Any) -> str:
    text = value.strip() if type(value) is str else cell_text(value)
    if len(text) > MAX_TEXT:
        raise ValueError(f"is longer than {MAX_TEXT} characters")
    return text


#: Control characters (NUL, tabs, line breaks, C1) and bidirectional embeddings, overrides and
#: isolates: in a name they hide or reorder what a reader sees ("Ana\u202eztreP").
_UNSAFE_IN_NAMES = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def person_name(value: Any) -> str:
    """A first or last name: bounded text without control or bidirectional-override
    characters (the same rule for a file's rows and ``PUT /patients/{id}``)."""
    text = bounded_text(value)
    if _UNSAFE_IN_NAMES.search(text):
        raise ValueError("can't contain control or bidirectional-override characters")
    return text


#: Spreadsheet programs keep 15 significant digits of a number (IEEE doubles hold 15-17):
#: a numeric id cell with more digits may already differ from what was typed.
MAX_NUMERIC_ID_DIGITS = 15
_NUMERIC_ID_LIMIT = 10**MAX_NUMERIC_ID_DIGITS


def identifier(value: Any) -> str:
    """An id as text; refuses what Excel turned into scientific notation (6.45722E+12) and
    numeric cells too long to hold an id exactly (123456789012345678 is stored as ...680)."""
    # A short text cell cannot be too long once stripped: skip bounded_text's call.
    if type(value) is str and len(value) <= MAX_TEXT:
        text = value.strip()
    elif isinstance(value, int | float) and not isinstance(value, bool) and _too_long(value):
        raise ValueError(
            f"is a number of more than {MAX_NUMERIC_ID_DIGITS} digits in the workbook "
            f"({shown_cell(value)}), which spreadsheet programs do not keep exactly; format "
            "the column as text and enter the ids again"
        )
    else:
        text = bounded_text(value)
    if ("e" in text or "E" in text) and _SCIENTIFIC.match(text):
        raise ValueError(
            f"'{text}' is in scientific notation (Excel shortened the number); "
            "format the column as text and export again"
        )
    if isinstance(value, float) and not value.is_integer():
        raise ValueError(f"'{text}' is not a whole identifier")
    return text


def shown_cell(value: Any) -> str:
    """A cell as an error message quotes it: as ``cell_text``, but a number of more than 15
    digits as a spreadsheet shows it, the 15 significant digits it keeps in scientific
    notation (``2.02411010000123E+17``), never the double's binary expansion
    (``202411010000123008``) that neither the file nor the sheet holds."""
    if isinstance(value, int | float) and not isinstance(value, bool) and _too_long(value):
        return f"{value:.15G}"
    return cell_text(value)


def _too_long(number: float) -> bool:
    return bool(abs(number) >= _NUMERIC_ID_LIMIT)


def _excel_serial(number: float) -> date:
    if not 1 <= number < 2958466:
        raise ValueError("out of range")
    return EXCEL_EPOCH + timedelta(days=int(number))


def parse_date(value: Any, typed_cells: bool) -> date | None:
    """MM-DD-YYYY (also M/D/YYYY and YYYY-MM-DD); Excel date cells and serials when typed."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        if not typed_cells:
            raise ValueError("not a date")
        return _excel_serial(float(value))
    text = str(value).strip()
    if not text:
        return None
    if len(text) == 10 and text[2] == "-" and text[5] == "-":  # MM-DD-YYYY, the documented format
        mm, dd, yyyy = text[:2], text[3:5], text[6:]
        if mm.isdigit() and dd.isdigit() and yyyy.isdigit():
            return date(int(yyyy), int(mm), int(dd))
        raise ValueError("not a date")
    if " " in text:  # "01-02-2020 00:00:00" from some exports
        text = text.split(" ", 1)[0]
    sep = "-" if "-" in text else "/"
    parts = text.split(sep)
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        raise ValueError("not a date")
    if len(parts[0]) == 4:
        year, month, day = (int(p) for p in parts)
    else:
        if len(parts[2]) != 4:
            raise ValueError("not a date")
        month, day, year = (int(p) for p in parts)
    return date(year, month, day)


def digits(value: Any) -> str:
    """The cell's decimal digits; the usual phone punctuation goes without a regex."""
    text = value.strip() if value.__class__ is str else cell_text(value)
    if text.isdecimal():
        return text
    # str.isdecimal and the regex's \D share one definition (Unicode category Nd), so when
    # only these characters stand between the digits the answer is the regex's.
    bare = (
        text.replace("(", "")
        .replace(")", "")
        .replace(" ", "")
        .replace("-", "")
        .replace(".", "")
        .replace("+", "")
    )
    return bare if bare.isdecimal() else _DIGITS.sub("", text)


def normalize_phone(value: Any) -> str | None:
    raw = digits(value)
    if not raw:
        return None
    if len(raw) == 11 and raw.startswith("1"):
        raw = raw[1:]
    if len(raw) != 10:
        raise ValueError("must have 10 digits")
    return "+1" + raw


_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")
MAX_EMAIL = 254


def normalize_email(value: Any) -> str | None:
    """An email address as given (``name@host.domain``, at most 254 characters), or None."""
    text = cell_text(value)
    if not text:
        return None
    if len(text) > MAX_EMAIL or not _EMAIL.fullmatch(text) or not text.isprintable():
        raise ValueError("must be an email address such as name@example.org")
    return text


def normalize_zip(value: Any) -> str | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        # Excel drops a ZIP's leading zeros; a negative or fractional number is no ZIP.
        if value < 0 or (isinstance(value, float) and not value.is_integer()):
            raise ValueError("must be 5 or 9 digits")
        number = int(value)
        raw = f"{number:05d}" if number < 100000 else f"{number:09d}"
    else:
        text = cell_text(value)
        if not text:
            return None
        if not re.fullmatch(r"\d{5}(-?\d{4})?", text):
            raise ValueError("must be 5 or 9 digits")
        raw = text.replace("-", "")
    if len(raw) == 5:
        return raw
    if len(raw) == 9:
        return f"{raw[:5]}-{raw[5:]}"
    raise ValueError("must be 5 or 9 digits")


@lru_cache(maxsize=4096)  # a file names a handful of providers, on every row
def npi_is_valid(npi: str) -> bool:
    """Luhn check over the card-issuer prefix 80840 + the first nine digits (CMS NPI rule)."""
    if len(npi) != 10 or not npi.isdigit():
        return False
    total = 24  # the prefix 80840 contributes 24 to the Luhn sum
    for position, char in enumerate(reversed(npi[:9])):
        digit = int(char)
        if position % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return (10 - total % 10) % 10 == int(npi[9])


def normalize_npi(value: Any) -> str | None:
    text = identifier(value)
    if not text:
        return None
    if len(text) != 10 or not text.isdigit():
        raise ValueError("must be 10 digits")
    if not npi_is_valid(text):
        raise ValueError("fails the NPI check digit")
    return text


GENDERS = {
    "m": "male",
    "male": "male",
    "man": "male",
    "1": "male",
    "f": "female",
    "female": "female",
    "woman": "female",
    "2": "female",
    "o": "other",
    "other": "other",
    "x": "other",
    "non-binary": "other",
    "nonbinary": "other",
    "u": "unknown",
    "unknown": "unknown",
    "unk": "unknown",
}


def normalize_gender(value: Any) -> str | None:
    text = cell_text(value).lower()
    if not text:
        return None
    try:
        return GENDERS[text]
    except KeyError:
        raise ValueError("must be male, female, other or unknown (M/F/U/1/2 accepted)") from None


ACUITY_LEVELS = ("low", "medium", "high")


def normalize_choice(value: Any, choices: tuple[str, ...]) -> str | None:
    text = cell_text(value).lower()
    if not text:
        return None
    if text not in choices:
        raise ValueError(f"must be one of {', '.join(choices)}")
    return text


def normalize_state(value: Any) -> str | None:
    text = cell_text(value).upper()
    if not text:
        return None
    if len(text) != 2 or not text.isalpha():
        raise ValueError("must be a two-letter state code")
    return text


class Memo(dict[str, tuple[Any, str | None]]):
    """A normaliser's answer per distinct cell value, as ``(value, error)``.

    Files repeat most values (provider, NPI, state, plan dates) on every row, so the answer
    is computed once per distinct value; the caches are bounded. ``memo(value)`` takes any
    cell; hot loops look text cells up as ``memo[text]``, a dict hit without a Python call
    (text is keyed apart from numbers: 1, 1.0 and True are equal keys but differ as cells).
    """

    def __init__(self, normalise: Any, limit: int = 65536) -> None:
        super().__init__()
        self.normalise = normalise
        self.limit = limit
        self.typed: dict[tuple[type, Any], tuple[Any, str | None]] = {}

    def answer(self, value: Any) -> tuple[Any, str | None]:
        try:
            return (self.normalise(value), None)
        except (ValueError, OverflowError) as exc:
            return (None, str(exc))

    def __missing__(self, text: str) -> tuple[Any, str | None]:
        hit = self.answer(text)
        if len(self) + len(self.typed) < self.limit:
            self[text] = hit
        return hit

    def __call__(self, value: Any) -> tuple[Any, str | None]:
        if value.__class__ is str:
            return self[value]
        key = (value.__class__, value)
        hit = self.typed.get(key)
        if hit is None:
            hit = self.answer(value)
            if len(self) + len(self.typed) < self.limit:
                self.typed[key] = hit
        return hit


def _date_and_iso(value: Any, typed_cells: bool) -> tuple[date, str] | None:
    parsed = parse_date(value, typed_cells)
    return (parsed, parsed.isoformat()) if parsed else None


#: Dates as (date, "YYYY-MM-DD"): text only (CSV, XML), or typed Excel cells and serials too.
TEXT_DATE = Memo(lambda v: _date_and_iso(v, False))
TYPED_DATE = Memo(lambda v: _date_and_iso(v, True))
