"""What a column no field is known by may be: the fields whose names it resembles, best
first, so an administrator maps it once (a plan's ``mif_columns``) instead of renaming it in
every file.

The measure is rapidfuzz's normalised edit-distance ratio, on two spellings of each name:
its words in sorted order (word order does not matter) and their consonant skeletons, the
way headers are abbreviated ("Mbr Frst Nm" is "member first name" without its vowels); and
rapidfuzz's token-set ratio for a header whose words all stand in a longer name.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rapidfuzz import fuzz

from ecm.files.fields import FieldMap, normalize_header

#: A suggestion below this score is noise more often than not.
MIN_SCORE = 0.85
MAX_SUGGESTIONS = 3
#: Columns listed at most, and the characters of each header kept (a file record stays far
#: below DynamoDB's item limit; a plan maps headers of 200 characters at most).
MAX_COLUMNS = 100
MAX_HEADER = 200
#: How much less a match of consonant skeletons, or of a header's words within a longer
#: name, counts than a match of the words themselves.
SKELETON_WEIGHT = 0.95
SUBSET_WEIGHT = 0.9
_VOWELS = str.maketrans("", "", "aeiou")


def _skeleton(words: str) -> str:
    """Each word's first letter and its consonants: "member first name" -> "mmbr frst nm"."""
    return " ".join(w[:1] + w[1:].translate(_VOWELS) for w in words.split())


def similarity(header: str, name: str) -> float:
    """0..1: how much a header (normalised) looks like a field's name (normalised). A match
    of skeletons counts a little less than one of the words themselves, and a header of two
    words or more all found in a longer name ("Gender Cd" in "Member Gender Code") a little
    less again."""
    plain = fuzz.token_sort_ratio(header, name)
    short = _skeleton(header), _skeleton(name)
    if min(len(s) for s in short) < 4:
        return plain / 100
    shape = SKELETON_WEIGHT * fuzz.token_sort_ratio(*short)
    words = len(header.split()) >= 2
    subset = SUBSET_WEIGHT * fuzz.token_set_ratio(*short) if words else 0.0
    return max(plain, shape, subset) / 100


def suggestions(field_map: FieldMap, column: str, taken: Iterable[str] = ()) -> list[Any]:
    """The fields ``column`` may be, best first (``{"field", "score"}``), leaving out the
    fields another column of the file fills already."""
    header = normalize_header(column)
    skip = set(taken)
    scored = [
        (round(max(similarity(header, name) for name in names), 2), target)
        for target, names in field_map.names().items()
        if target not in skip and header
    ]
    best = sorted((s for s in scored if s[0] >= MIN_SCORE), key=lambda s: (-s[0], s[1]))
    return [{"field": target, "score": score} for score, target in best[:MAX_SUGGESTIONS]]


def unmapped_columns(
    field_map: FieldMap, columns: Iterable[str], taken: Iterable[str] = ()
) -> list[Any]:
    """Each unknown column once, in the file's order, with what it may be."""
    filled = set(taken)
    unique = list(dict.fromkeys(c[:MAX_HEADER] for c in columns if c.strip()))[:MAX_COLUMNS]
    return [{"column": c, "suggestions": suggestions(field_map, c, filled)} for c in unique]
