"""The benchmark files: sample MIF and authorization rows (the tests' builders) written as
CSV, XML and XLSX once, then kept in .bench/ for every later run."""

from __future__ import annotations

import csv
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from xml.sax.saxutils import escape

from common import BENCH_DIR, ROOT, log
from fixtures_builders import AUTH_HEADERS, MIF_HEADERS, sample_auth_row, sample_mif_row
from openpyxl import Workbook

# --- generated files ------------------------------------------------------------------------


def bench_file(rows: int, fmt: str) -> Path:
    if fmt == "auth-xlsx":
        return BENCH_DIR / f"auth-{rows}.xlsx"
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
    "xml": _write_xml,
    "xlsx": _write_xlsx,
    "auth-xlsx": _write_auth_xlsx,
}
#: MIF writers of rows ``first``..``first + count - 1`` (ensure_range_file).
RANGE_WRITERS: dict[str, Callable[[Path, int, int], None]] = {
    "csv": _write_csv,
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

    Rows 1..n are ``ensure_file(n, fmt)``'s file; other ranges are ``mif-range-<a>-<b>.<fmt>``.
    """
    if first == 1:
        return ensure_file(last, fmt)
    path = BENCH_DIR / f"mif-range-{first}-{last}.{fmt}"
    if path.exists() and path.stat().st_size > 0:
        return path
    BENCH_DIR.mkdir(exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    started = time.perf_counter()
    RANGE_WRITERS[fmt](partial, last - first + 1, first)
    partial.replace(path)
    log(f"generated {path.relative_to(ROOT)} in {time.perf_counter() - started:.1f} s")
    return path
