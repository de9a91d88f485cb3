"""The benchmark files: sample MIF and authorization rows (the tests' builders) written as
CSV, XML and XLSX once, then kept in .bench/ for every later run. ``csv-wide`` is the CSV with
``EXTRA_COLUMNS`` more columns no field is known by, which an import keeps as each member's
plan fields."""

from __future__ import annotations

import csv
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from xml.sax.saxutils import escape

from common import BENCH_DIR, ROOT, log
from fixtures_builders import AUTH_HEADERS, MIF_HEADERS, sample_auth_row, sample_mif_row
from openpyxl import Workbook

#: Columns of the ``csv-wide`` MIF beyond the 17 known fields.
EXTRA_COLUMNS = 30
EXTRA_HEADERS = tuple(f"Plan Program {k:02d}" for k in range(1, EXTRA_COLUMNS + 1))


def file_type(fmt: str) -> str:
    """The reader a benchmark format is read by (its file's extension)."""
    return {"auth-xlsx": "xlsx", "csv-wide": "csv"}.get(fmt, fmt)


def extra_cells(i: int) -> list[str]:
    """Row ``i``'s cells of the extra columns, as a plan's own columns look: flags, dates
    and short codes, one in ten left blank (~190 bytes a row, so 100,000 rows stay under the
    50 MB a file may have)."""
    cells = []
    for k in range(1, EXTRA_COLUMNS + 1):
        if (i + k) % 10 == 0:
            cells.append("")
        elif k % 3 == 0:
            cells.append("Y" if (i + k) % 2 else "N")
        elif k % 3 == 1:
            cells.append(f"2026-{(i + k) % 12 + 1:02d}-{(i * k) % 28 + 1:02d}")
        else:
            cells.append(f"P{k}-{(i * k) % 97}")
    return cells


# --- generated files ------------------------------------------------------------------------


def bench_file(rows: int, fmt: str) -> Path:
    if fmt == "auth-xlsx":
        return BENCH_DIR / f"auth-{rows}.xlsx"
    if fmt == "csv-wide":
        return BENCH_DIR / f"mif-wide-{rows}.csv"
    return BENCH_DIR / f"mif-{rows}.{fmt}"


def _sample_rows(count: int, first: int = 1) -> Iterator[dict[str, str]]:
    for i in range(first, first + count):
        yield sample_mif_row(i)


def _write_csv(path: Path, count: int, first: int = 1) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(MIF_HEADERS)
        for row in _sample_rows(count, first):
            writer.writerow([row[name] for name in MIF_HEADERS])


def _write_wide_csv(path: Path, count: int, first: int = 1) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow([*MIF_HEADERS, *EXTRA_HEADERS])
        for i, row in enumerate(_sample_rows(count, first), start=first):
            writer.writerow([*(row[name] for name in MIF_HEADERS), *extra_cells(i)])


def _write_xml(path: Path, count: int, first: int = 1) -> None:
    with path.open("w", encoding="utf-8") as handle:
        handle.write('<?xml version="1.0" encoding="UTF-8"?>\n<Members>\n')
        for row in _sample_rows(count, first):
            cells = "".join(f"<{k}>{escape(v)}</{k}>" for k, v in row.items())
            handle.write(f"  <Member>{cells}</Member>\n")
        handle.write("</Members>\n")


def _write_xlsx(path: Path, count: int, first: int = 1) -> None:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("MIF")
    sheet.append(list(MIF_HEADERS))
    for row in _sample_rows(count, first):
        sheet.append([row[name] for name in MIF_HEADERS])
    workbook.save(str(path))


def _write_auth_xlsx(path: Path, count: int) -> None:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Authorizations")
    sheet.append(list(AUTH_HEADERS))
    for i in range(1, count + 1):
        row = sample_auth_row(i)
        sheet.append([row[name] for name in AUTH_HEADERS])
    workbook.save(str(path))


WRITERS: dict[str, Callable[[Path, int], None]] = {
    "csv": _write_csv,
    "csv-wide": _write_wide_csv,
    "xml": _write_xml,
    "xlsx": _write_xlsx,
    "auth-xlsx": _write_auth_xlsx,
}
#: MIF writers of rows ``first``..``first + count - 1`` (ensure_range_file).
RANGE_WRITERS: dict[str, Callable[[Path, int, int], None]] = {
    "csv": _write_csv,
    "csv-wide": _write_wide_csv,
    "xml": _write_xml,
    "xlsx": _write_xlsx,
}


def ensure_file(rows: int, fmt: str) -> Path:
    """The benchmark file of this size and format, generated once and cached in .bench/."""
    path = bench_file(rows, fmt)
    if path.exists() and path.stat().st_size > 0:
        return path
    BENCH_DIR.mkdir(exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    started = time.perf_counter()
    WRITERS[fmt](partial, rows)
    partial.replace(path)
    log(f"generated {path.relative_to(ROOT)} in {time.perf_counter() - started:.1f} s")
    return path


def ensure_range_file(first: int, last: int, fmt: str) -> Path:
    """A MIF of sample rows ``first``..``last`` (inclusive), cached in .bench/.

    Rows 1..n are ``ensure_file(n, fmt)``'s file; other ranges are ``mif-range-<a>-<b>.<fmt>``
    (``mif-wide-range-<a>-<b>.csv`` for ``csv-wide``).
    """
    if first == 1:
        return ensure_file(last, fmt)
    stem = "mif-wide-range" if fmt == "csv-wide" else "mif-range"
    path = BENCH_DIR / f"{stem}-{first}-{last}.{file_type(fmt)}"
    if path.exists() and path.stat().st_size > 0:
        return path
    BENCH_DIR.mkdir(exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    started = time.perf_counter()
    RANGE_WRITERS[fmt](partial, last - first + 1, first)
    partial.replace(path)
    log(f"generated {path.relative_to(ROOT)} in {time.perf_counter() - started:.1f} s")
    return path
