"""Stages run with the cyclic collector paused (engine.cycle_collection_paused): that is
only safe while their per-row code makes no reference cycles, which these tests check."""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from fixtures_builders import mif_csv, mif_xlsx, mif_xml, sample_mif_row

from ecm.imports.stages.running import cycle_collection_paused
from ecm.imports.stages.validate import validate_file
from ecm.kinds.mif.planner import MifPlanner
from ecm.kinds.registry import MIF
from ecm.patients.providers import ProviderDirectory
from ecm.store import to_item


class _Lookup:
    """Half the rows' members already exist; nothing else does."""

    def __init__(self, known: dict[str, Any]) -> None:
        self.known = known
        self.next = 1000

    def get_keys(self, keys: list[str]) -> dict[str, Any]:
        return {k: self.known[k] for k in keys if k in self.known}

    def get_patients(self, ids: list[int]) -> dict[int, Any]:
        return {}

    def get_authorizations(self, auth_nos: list[str]) -> dict[str, Any]:
        return {}

    def reserve(self, counter: str, count: int) -> int:
        self.next += count
        return self.next - count


def _rows(count: int = 300) -> list[dict[str, Any]]:
    rows = [sample_mif_row(i) for i in range(1, count + 1)]
    rows[9]["MEMBER_ID"] = ""  # invalid rows: their errors are collected, not raised
    rows[19]["DOB"] = "02-30-1980"
    rows[29]["ECM_NPI"] = "1234567890"
    return rows


def _import_rows(path: Path, file_type: str) -> int:
    """What validate, plan and apply do per row, minus the network."""
    chunks: list[list[tuple[int, Any]]] = []
    failures: dict[int, list[str]] = {}
    outcome = validate_file(MIF, path, file_type, chunks.append, 10_000, 100, None, failures, True)
    assert isinstance(outcome, tuple), outcome
    assert len(failures) == 3  # rows 10, 20, 30 (+1 past a header row)
    known = {"member#M000000002": {"key": "member#M000000002", "patient_id": 7, "version": 1}}
    planner = MifPlanner(1, _Lookup(known), ProviderDirectory([]), "2026-01-01T00:00:00.000Z")
    written = 0
    for chunk in chunks:
        entries = orjson.loads(orjson.dumps([e.stored() for e in planner.plan_chunk(chunk)]))
        written += len(orjson.dumps([to_item(e["put"]) for e in entries if e.get("put")]))
    assert written > 0
    return len(planner.errors)


def _cycles_made(run: Callable[[], object]) -> int:
    run()  # first run: lazy imports and caches may make cycles once
    gc.collect()
    gc.disable()
    try:
        run()
        return gc.collect()
    finally:
        gc.enable()


@pytest.mark.parametrize(
    ("file_type", "build"), [("csv", mif_csv), ("xml", mif_xml), ("xlsx", mif_xlsx)]
)
def test_per_row_work_makes_no_reference_cycles(
    tmp_path: Path, file_type: str, build: Callable[[list[dict[str, Any]]], bytes]
) -> None:
    cycles = {}
    for rows in (300, 1200):
        path = tmp_path / f"m{rows}.{file_type}"
        path.write_bytes(build(_rows(rows)))
        cycles[rows] = _cycles_made(lambda path=path: _import_rows(path, file_type))
    # The XML pull parser makes a few cycles per file (its parser and iterator); none per row.
    assert cycles[300] == cycles[1200]
    assert cycles[300] <= (30 if file_type == "xml" else 0)


def test_the_collector_resumes_when_the_last_running_stage_ends() -> None:
    assert gc.isenabled()
    first_in, second_in, first_may_leave = threading.Event(), threading.Event(), threading.Event()
    states: list[bool] = []

    def first() -> None:
        with cycle_collection_paused():
            first_in.set()
            second_in.wait(5)
            states.append(gc.isenabled())
            first_may_leave.wait(5)
        states.append(gc.isenabled())

    thread = threading.Thread(target=first)
    thread.start()
    first_in.wait(5)
    with cycle_collection_paused():
        second_in.set()
        states.append(gc.isenabled())
        first_may_leave.set()
        thread.join(5)
        states.append(gc.isenabled())  # the first stage ended, this one still runs
    states.append(gc.isenabled())
    assert states == [False, False, False, False, True]
