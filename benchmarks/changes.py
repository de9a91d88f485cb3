"""What the diff against the plan's list costs: a second month of N rows imported over a
first, with the diff (both files name a plan) and without it (neither does), each on a
fresh local stack, timed from the POST to completion.

Run with ``.venv/bin/python benchmarks/changes.py`` (``--rows N``, default 100,000;
``--wide``: both months carry 30 more columns no field is known by, kept as plan fields;
``make bench-months`` runs it wide at 100,000). The second month keeps 98% of the first
month's members as they were, changes 1% (phone and city), leaves 1% out and adds 1% new
ones. Prints both times of the second month, their ratio against the bound (the diff adds at
most 20%), PASS or MISS (a MISS never fails the run), and checks the counts the import
answered. Loopback only.

"Without" names no plan: no counting, no list read, no drop marks, no changes file; the
snapshot of each member's MIF values is written either way (it is part of every import).
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import BENCH_DIR, BUCKET, log
from e2e import ImportWatch, wait_for_import
from fixtures_builders import MIF_HEADERS, sample_mif_row
from generated import EXTRA_HEADERS, ensure_range_file, extra_cells
from patients import LocalStack

BOUND = 1.20
PLAN = "bench-plan"
#: One row in this many is changed, one left out, and as many new ones are added.
EVERY = 100


def month_two(rows: int, wide: bool) -> tuple[Path, dict[str, int]]:
    """The second month's CSV (written to .bench/) and the changes it makes; ``wide``: with
    the first month's extra columns, each row's cells as they were."""
    path = BENCH_DIR / f"changes-month2{'-wide' if wide else ''}-{rows}.csv"
    expected = {"added": 0, "changed": 0, "unchanged": 0, "dropped": 0}
    new_rows = rows // EVERY

    def cells(i: int, row: dict[str, str]) -> list[str]:
        return [row[name] for name in MIF_HEADERS] + (extra_cells(i) if wide else [])

    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow([*MIF_HEADERS, *(EXTRA_HEADERS if wide else ())])
        for i in range(1, rows + 1):
            row = sample_mif_row(i)
            if i % EVERY == 0:
                expected["dropped"] += 1
                continue
            if i % EVERY == 1:
                row = {**row, "PHONE": f"(805) 555-{i % 10000:04d}", "CITY": "Salem"}
                expected["changed"] += 1
            else:
                expected["unchanged"] += 1
            writer.writerow(cells(i, row))
        for i in range(rows + 1, rows + new_rows + 1):
            writer.writerow(cells(i, sample_mif_row(i)))
            expected["added"] += 1
    return path, expected


def _import(stack: LocalStack, path: Path, rows: int, plan: str | None) -> tuple[float, Any]:
    """Upload and import ``path`` (naming ``plan``); seconds to completion, the record."""
    assert stack.stack is not None
    key = f"bench/{path.name}"
    stack._aws("s3").upload_file(str(path), BUCKET, key)
    started = time.perf_counter()
    source: dict[str, Any] = {"path": key} | ({"plan": plan} if plan else {})
    response = stack.session.post(
        f"{stack.api}/v1/admin/clinic/ecm/mifs",
        json={"mif": source},
        headers=stack.headers,
        timeout=120,
    )
    if response.status_code not in (201, 202):
        raise RuntimeError(f"POST answered {response.status_code}: {response.text[:2000]}")
    deadline = started + min(3600.0, max(300.0, rows * 0.03))
    watch = ImportWatch(
        stack.session, stack.api, stack.headers, stack.stack, stack.stack_log, deadline
    )
    record = wait_for_import(watch, int(response.json()["mif_file_id"]), path.name)
    return time.perf_counter() - started, record


def measure(rows: int, first: Path, second: Path, with_diff: bool) -> tuple[float, float, Any]:
    """On a fresh stack: the first month, then the second; both times and the record."""
    plan = PLAN if with_diff else None
    stack = LocalStack()
    stack.start()
    try:
        stack.create_provider()
        log(f"{'with' if with_diff else 'without'} the diff: month one, {rows} rows")
        first_seconds, _ = _import(stack, first, rows, plan)
        log(f"{'with' if with_diff else 'without'} the diff: month two")
        seconds, record = _import(stack, second, rows, plan)
    finally:
        stack.stop()
    return first_seconds, seconds, record


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--wide", action="store_true", help="30 extra columns in both months")
    args = parser.parse_args(argv)
    rows = args.rows
    BENCH_DIR.mkdir(exist_ok=True)
    first = ensure_range_file(1, rows, "csv-wide" if args.wide else "csv")
    second, expected = month_two(rows, args.wide)
    load_before = os.getloadavg()
    started = time.perf_counter()
    first_without, without, _ = measure(rows, first, second, with_diff=False)
    first_with, with_diff, record = measure(rows, first, second, with_diff=True)
    if record.get("changes") != expected:
        raise RuntimeError(f"changes {record.get('changes')}, expected {expected}")
    ratio = with_diff / without
    print()
    load_after = os.getloadavg()
    print(
        f"cpus {os.cpu_count()}, load average {' '.join(f'{x:.2f}' for x in load_before)} -> "
        f"{' '.join(f'{x:.2f}' for x in load_after)}; {time.perf_counter() - started:.0f} s"
    )
    extra = f", {len(EXTRA_HEADERS)} extra columns" if args.wide else ""
    print(
        f"month one, {rows} rows{extra}: {first_without:.1f} s without a plan, "
        f"{first_with:.1f} s with"
    )
    print(f"month two: {without:.1f} s without the diff, {with_diff:.1f} s with it")
    print(f"changes: {record['changes']}")
    print(f"ratio {ratio:.3f}, bound {BOUND:.2f}: {'PASS' if ratio <= BOUND else 'MISS'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
