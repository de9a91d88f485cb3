"""Field maps: the documented column names, the aliases health plans really use, and header mapping.

Headers are compared after normalisation (case, spaces, line breaks, punctuation), so
"Member First Name", "MEMBER_FIRST_NAME" and " member⏎first name " are one header; a trailing
format hint ("Date of Birth (MM/DD/YYYY)") is dropped when the whole header is no known name.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from ecm.files.kept import KeptColumns

_NON_ALNUM = re.compile(r"[^0-9a-z]+")
_TRAILING_HINT = re.compile(r"\s*\([^()]*\)\s*$")


def normalize_header(name: object) -> str:
    text = "" if name is None else str(name)
    return _NON_ALNUM.sub(" ", text.replace("\ufeff", "").lower()).strip()


@dataclass(frozen=True)
class FieldMap:
    """Canonical fields of one file kind with their aliases.

    ``aliases`` maps an alias to every field it fills: "MCP_CIN" is both MEMBER_ID and CIN.
    ``look_alikes`` names, per field, a word that an unknown header holding it means that
    field under a name we do not know ("Birthdate of Member"): if the field is then not
    mapped, the file is refused instead of silently losing the field on every row.
    ``keeps_unknown``: the columns no field is known by are kept with each row
    (``ecm.files.kept``), not ignored.
    """

    kind: str
    fields: tuple[str, ...]
    required: tuple[str, ...]
    aliases: dict[str, tuple[str, ...]] = field(default_factory=dict)
    look_alikes: dict[str, str] = field(default_factory=dict)
    keeps_unknown: bool = False

    def __post_init__(self) -> None:
        lookup: dict[str, tuple[str, ...]] = {normalize_header(f): (f,) for f in self.fields}
        for alias, targets in self.aliases.items():
            lookup[normalize_header(alias)] = targets
        object.__setattr__(self, "_lookup", lookup)

    def resolve(self, header: object) -> tuple[str, ...]:
        lookup: dict[str, tuple[str, ...]] = self._lookup  # type: ignore[attr-defined]
        found = lookup.get(normalize_header(header), ())
        if found or not isinstance(header, str) or not header.rstrip().endswith(")"):
            return found
        # "Member Client Index Number (CIN)" is a name; "DOB (MM/DD/YYYY)" is DOB with a hint.
        return lookup.get(normalize_header(_TRAILING_HINT.sub("", header)), ())

    def with_columns(self, columns: dict[str, str]) -> FieldMap:
        """This map with a source's own headers (header -> field) read first: a plan's
        remembered mappings win over the names we ship."""
        if not columns:
            return self
        return replace(self, aliases={**self.aliases, **{h: (f,) for h, f in columns.items()}})

    def names(self) -> dict[str, tuple[str, ...]]:
        """Every name a field is known by (its own and its aliases'), normalised."""
        known: dict[str, list[str]] = {f: [normalize_header(f)] for f in self.fields}
        for alias, targets in self.aliases.items():
            for target in targets:
                known[target].append(normalize_header(alias))
        return {f: tuple(dict.fromkeys(names)) for f, names in known.items()}


@dataclass
class ColumnPlan:
    """Which column index feeds which field, plus what the header row told us.

    ``errors`` refuse the file (a look-alike of an unmapped field); ``unnamed`` are the
    columns without a header (a merged header cell leaves its second column blank): a
    reader warns when one of them holds values.
    """

    columns: list[tuple[int, str]]
    warnings: list[str]
    missing_required: list[str]
    errors: list[str] = field(default_factory=list)
    unnamed: list[int] = field(default_factory=list)
    #: the headers no field is known by, as the file spells them (spaces collapsed)
    unknown: list[str] = field(default_factory=list)
    #: what a map that keeps unknown columns keeps of them, and each one's column index
    kept: KeptColumns | None = None
    kept_at: list[int] = field(default_factory=list)


def column_letter(index: int) -> str:
    """A 0-based column index as a spreadsheet names it: 0 → A, 26 → AA."""
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def unnamed_column_warning(index: int, lettered: bool) -> str:
    column = f"Column {column_letter(index)}" if lettered else f"Column {index + 1}"
    return (
        f"{column} has values but no header (is its header cell merged with the next one?); "
        "its values were ignored"
    )


def plan_columns(field_map: FieldMap, headers: Sequence[object]) -> ColumnPlan:
    seen: dict[str, int] = {}
    # Fields filled by an alias that fills several fields (MCP_CIN): an explicit column wins.
    shared: set[str] = set()
    warnings: list[str] = []
    unknown: list[str] = []
    blank: list[int] = []
    kept = KeptColumns() if field_map.keeps_unknown else None
    kept_at: list[int] = []
    for index, header in enumerate(headers):
        if header is None or str(header).strip() == "":
            blank.append(index)
            continue
        targets = field_map.resolve(header)
        if not targets:
            unknown.append(" ".join(str(header).split()))
            if kept is None:
                warnings.append(f"Unknown column '{str(header).strip()}' ignored")
            elif kept.add(header) is not None:
                kept_at.append(index)
                warnings.append(f"Unknown column '{str(header).strip()}' kept as a plan field")
            continue
        explicit = len(targets) == 1
        for target in targets:
            if target in seen:
                # An explicit column wins over an alias that fills several fields (MCP_CIN),
                # whichever comes first.
                if explicit and target in shared:
                    shared.discard(target)
                    seen[target] = index
                elif explicit:
                    warnings.append(
                        f"Column '{str(header).strip()}' repeats {target}; column "
                        f"{seen[target] + 1} is used"
                    )
                continue
            seen[target] = index
            if not explicit:
                shared.add(target)
    columns = sorted(((index, target) for target, index in seen.items()), key=lambda c: c[0])
    missing = [f for f in field_map.required if f not in seen]
    errors = [
        f"Column '{name}' looks like {target} but is not a column name we know; rename it "
        f"{target} so its values are imported"
        for target, word in field_map.look_alikes.items()
        if target not in seen
        for name in unknown
        if word in name.lower()
    ]
    return ColumnPlan(
        columns=columns,
        warnings=warnings,
        missing_required=missing,
        errors=errors,
        unnamed=blank,
        unknown=unknown,
        kept=kept,
        kept_at=kept_at,
    )
