"""The import's code paths measured in this process, without the stack: validate as the
validate stage calls it, and plan over an in-memory lookup.

``python benchmarks/pipeline.py STAGE PATH FORMAT`` runs one stage in a fresh process and
prints its peak RSS as JSON: the memory part's children, which load no more than a stage needs.
"""

from __future__ import annotations

import csv
import gc
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from common import NOW, peak_rss_mb
from generated import file_type

import ecm.imports.stages.plan  # noqa: F401 - the baseline child loads all a stage loads
from ecm.errors import ImportRejected
from ecm.imports.stages.validate import validate_file
from ecm.kinds.mif.plan_fields import PlanFields
from ecm.kinds.mif.planner import MifPlanner
from ecm.kinds.registry import AUTHORIZATION, MIF
from ecm.patients.providers import ProviderDirectory
from ecm.settings import DEFAULT_CHUNK_ROWS

MAX_ROWS = 200_000
#: Beside the row chunks: the kept columns' headers (the file record's ``kept_columns``).
KEPT_FILE = "kept.json"


# --- the code paths under test --------------------------------------------------------------


def run_validate(
    path: Path, fmt: str, on_chunk: Callable[[list[Any]], None], kept: list[str] | None = None
) -> int:
    """``validate_file`` exactly as the import's validate stage calls it; returns the rows.
    ``kept`` receives the headers of the columns kept as plan fields."""
    kind = AUTHORIZATION if fmt == "auth-xlsx" else MIF
    outcome = validate_file(
        kind,
        path,
        file_type(fmt),
        on_chunk,
        MAX_ROWS,
        DEFAULT_CHUNK_ROWS,
        unmapped=[],
        kept_headers=[] if kept is None else kept,
    )
    if isinstance(outcome, ImportRejected):
        raise RuntimeError(f"validate_file rejected {path.name}: {outcome.errors[:5]}")
    rows, _warnings = outcome
    return rows


def validate_throughput(path: Path, fmt: str) -> tuple[int, float]:
    counted = 0

    def count(chunk: list[Any]) -> None:
        nonlocal counted
        counted += len(chunk)

    started = time.perf_counter()
    rows = run_validate(path, fmt, count)
    elapsed = time.perf_counter() - started
    assert counted == rows, (counted, rows)
    return rows, elapsed


def bare_csv_throughput(path: Path) -> tuple[int, float]:
    started = time.perf_counter()
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        rows = sum(1 for _ in reader)
    return rows, time.perf_counter() - started


def best_of(runs: int, measure: Callable[[], tuple[int, float]]) -> tuple[int, float]:
    """(rows, best seconds) over ``runs`` runs."""
    best = float("inf")
    rows = 0
    for _ in range(runs):
        gc.collect()
        rows, seconds = measure()
        best = min(best, seconds)
    return rows, best


class MemoryLookup:
    """The planner's PatientLookup over empty tables: every row creates a patient."""

    def __init__(self) -> None:
        self.counters: dict[str, int] = {}

    def get_keys(self, keys: list[str]) -> dict[str, Any]:
        return {}

    def get_patients(self, ids: list[int]) -> dict[int, Any]:
        return {}

    def reserve(self, counter: str, count: int) -> int:
        before = self.counters.get(counter, 0)
        self.counters[counter] = before + count
        return before + 1


def write_row_chunks(path: Path, fmt: str, directory: Path) -> int:
    """Validate the file and keep its row chunks as the validate stage does (JSON per chunk),
    and its kept headers as the stage keeps them on the file's record."""
    directory.mkdir(parents=True, exist_ok=True)
    written = 0

    def store(chunk: list[Any]) -> None:
        nonlocal written
        (directory / f"rows-{written:05d}.json").write_text(
            json.dumps(chunk, separators=(",", ":"))
        )
        written += 1

    kept: list[str] = []
    rows = run_validate(path, fmt, store, kept)
    (directory / KEPT_FILE).write_text(json.dumps(kept))
    return rows


def run_plan(directory: Path) -> tuple[int, float]:
    """The plan stage over stored row chunks, an in-memory lookup in place of DynamoDB.

    Each chunk's plan entries are serialised (as the stage does before writing them to S3)
    and dropped; returns (rows, seconds).
    """
    kept = PlanFields(tuple(json.loads((directory / KEPT_FILE).read_text())))
    planner = MifPlanner(
        file_id=1, lookup=MemoryLookup(), providers=ProviderDirectory([]), now=NOW, plan_fields=kept
    )
    rows = 0
    started = time.perf_counter()
    for chunk_path in sorted(directory.glob("rows-*.json")):
        chunk = [(int(r), rec) for r, rec in json.loads(chunk_path.read_text())]
        rows += len(chunk)
        entries = planner.plan_chunk(chunk)
        json.dumps([(e.stored(), e.snapshot) for e in entries], separators=(",", ":"))
        del entries, chunk
    tail = list(planner.finish())
    for start in range(0, len(tail), DEFAULT_CHUNK_ROWS * 2):
        piece = tail[start : start + DEFAULT_CHUNK_ROWS * 2]
        json.dumps([e.stored() for e in piece], separators=(",", ":"))
    elapsed = time.perf_counter() - started
    if planner.errors:
        raise RuntimeError(f"planner errors: {planner.errors[:5]}")
    if planner.created != rows:
        raise RuntimeError(f"planner created {planner.created} patients for {rows} rows")
    return rows, elapsed


def child_main(stage: str, target: str, fmt: str) -> int:
    """Run one stage in this fresh process and print its peak RSS as JSON."""
    result: dict[str, Any] = {"stage": stage, "format": fmt}
    if stage == "validate":
        result["rows"] = run_validate(Path(target), fmt, lambda chunk: None)
    elif stage == "plan":
        result["rows"], result["seconds"] = run_plan(Path(target))
    elif stage != "baseline":
        raise SystemExit(f"unknown stage {stage}")
    result["rss_mb"] = peak_rss_mb()
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(child_main(*sys.argv[1:]))
