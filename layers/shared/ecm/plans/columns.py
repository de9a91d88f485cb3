"""A plan's MIF headers (``mif_columns``), checked before they are stored: each maps to a
MIF field, no field is read from two headers, no header is given twice; and the return-file
columns that name a kept column (``plan_field``) name one the plan's files keep."""

from __future__ import annotations

from collections.abc import Mapping

from ecm.exports.layouts import KindLayout
from ecm.files.fields import normalize_header
from ecm.kinds.mif.fields import MIF_FIELDS

#: Headers a plan may map (a MIF has 17 fields; plans rename a few of them).
MAX_COLUMNS = 100
MAX_HEADER = 200
FIELD = "plan.mif_columns"


def column_problems(columns: dict[str, str]) -> list[str]:
    """Every problem of a plan's headers, each naming the header or field at fault."""
    if len(columns) > MAX_COLUMNS:
        return [f"{FIELD} may map at most {MAX_COLUMNS} headers (it has {len(columns)})"]
    problems: list[str] = []
    by_field: dict[str, str] = {}
    by_header: dict[str, str] = {}
    for header, target in columns.items():
        at = f"{FIELD}['{header}']"
        normal = normalize_header(header)
        if not normal:
            problems.append(f"{at} is not a header: it needs a letter or digit")
        elif len(header) > MAX_HEADER or not header.isprintable():
            problems.append(f"{at} must be at most {MAX_HEADER} printable characters")
        elif normal in by_header:
            problems.append(
                f"{at} is the header '{by_header[normal]}' again (case, spaces and "
                "punctuation do not count)"
            )
        if target not in MIF_FIELDS.fields:
            problems.append(f"{at} '{target}' is not a MIF field ({', '.join(MIF_FIELDS.fields)})")
        elif target in by_field:
            problems.append(
                f"{FIELD} maps both '{by_field[target]}' and '{header}' to {target}: a field "
                "is read from one header"
            )
        by_field.setdefault(target, header)
        by_header.setdefault(normal, header)
    return problems


def plan_field_problems(
    columns: dict[str, str], layouts: Mapping[str, KindLayout | None]
) -> list[str]:
    """A layout column whose ``plan_field`` the plan's files read as a MIF field (by
    ``columns`` or a name we ship): that column is never kept, so the layout would write it
    blank in every row."""
    read = MIF_FIELDS.with_columns(columns)
    problems = []
    for kind, layout in layouts.items():
        for number, column in enumerate((layout.columns if layout else None) or []):
            fields = read.resolve(column.plan_field) if column.plan_field else ()
            if fields:
                problems.append(
                    f"plan.{kind}.columns[{number}].plan_field '{column.plan_field}' is read as "
                    f"the MIF field {' and '.join(fields)}, never kept as a plan field: name a "
                    f"field of the {kind.upper()} instead"
                )
    return problems
