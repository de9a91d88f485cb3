"""A fault at every stage of an import (docs/inside/architecture.md): validate, lock, plan, an apply
chunk and finalize each raise, time out or crash after their writes; every table ends exactly as it
was, the file is failed with the reason, the lock is free and the next import succeeds. A
fault inside the rollback is retried and still restores; a webhook that cannot be queued
never fails an import. (ecm.faults says how a test asks for a fault.)"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import requests
from fixtures_builders import mif_csv, sample_mif_row
from stack_fixture import (
    MIF_URL,
    RunningStack,
    data_uri,
    post_mif,
    scan,
    start_stack,
    stop_stack,
    wait_for_file,
)

#: Every table but the files' (a failed import leaves its record, by design).
TABLES = (
    "PatientsTable",
    "PatientKeysTable",
    "AuthorizationsTable",
    "MetaTable",
    "ProvidersTable",
    "UsersTable",
    "ActivitiesTable",
    "AuditTable",
    "ExportsTable",
    "IdempotencyTable",
)
#: What Step Functions records for each mode (the file's errors name it).
ERRORS = {"raise": "InjectedFault", "timeout": "Sandbox.Timedout", "crash": "Runtime.ExitError"}


@pytest.fixture(scope="module")
def stack(
    tmp_path_factory: pytest.TempPathFactory, stack_env: dict[str, str]
) -> Iterator[RunningStack]:
    """A stack of this module's own: each test compares every table whole, four times, so
    the tables hold only what these tests wrote (on the shared stack, what every earlier
    test file wrote made each comparison several times slower)."""
    running = start_stack(tmp_path_factory.mktemp("faults-stack"), stack_env)
    yield running
    stop_stack(running)


def _everything(stack: RunningStack) -> dict[str, list[Any]]:
    return {
        table: sorted(json.dumps(i, sort_keys=True, default=str) for i in scan(stack, table))
        for table in TABLES
    }


@contextmanager
def fault(stack: RunningStack, stage: str, **attributes: Any) -> Iterator[None]:
    item = {"pk": {"S": f"fault#{stage}"}}
    for name, value in attributes.items():
        item[name] = {"N": str(value)} if isinstance(value, int) else {"S": str(value)}
    ddb = stack.client("dynamodb")
    ddb.put_item(TableName="MetaTable", Item=item)
    try:
        yield
    finally:
        ddb.delete_item(TableName="MetaTable", Key={"pk": {"S": f"fault#{stage}"}})


def _batch(first: int) -> list[dict[str, str]]:
    """40 members imported before, now updated, and 80 new ones: three 50-row chunks."""
    rows = [sample_mif_row(i) for i in range(first, first + 120)]
    for row in rows[:40]:
        row["ACUITY_LEVEL"] = "high"
        row["PHONE"] = "(805) 555-0199"
    return rows


def _import(stack: RunningStack, rows: list[dict[str, str]]) -> dict[str, Any]:
    """Import ``rows``; the file's detail once it ends (a 422 names no id: the newest)."""
    response = post_mif(stack, {"file": data_uri(mif_csv(rows), "csv")})
    assert response.status_code in (201, 202, 422), response.text
    if response.status_code == 422:
        listing = requests.get(f"{stack.api}{MIF_URL}?per_page=1", headers=stack.headers())
        file_id = listing.json()["mif_files"][0]["id"]
    else:
        file_id = response.json()["mif_file_id"]
    return wait_for_file(stack, int(file_id), timeout=120)


CASES = [
    (stage, mode)
    for stage in ("validate", "lock", "plan", "apply", "finalize")
    for mode in ("raise", "timeout", "crash")
]


@pytest.mark.parametrize(("stage", "mode"), CASES)
def test_a_fault_at_any_stage_leaves_every_table_as_it_was(
    stack: RunningStack, stage: str, mode: str
) -> None:
    first = 1_000_000 + 1_000 * CASES.index((stage, mode))
    rows = _batch(first)
    assert post_mif(stack, {"file": data_uri(mif_csv(rows[:40]), "csv")}).status_code == 201
    before = _everything(stack)
    extra: dict[str, Any] = {"after_chunk": 1} if stage == "apply" else {}
    if stage == "finalize":
        extra["at"] = "counted"  # counts and result files written, not yet completed
    with fault(stack, stage, mode=mode, **extra):
        before_with_fault = _everything(stack)
        detail = _import(stack, rows)
        after = _everything(stack)
    assert (detail["status"], detail["stage"]) == ("failed", "rolled_back")
    assert detail["import_errors"].startswith(
        f"Import failed and was rolled back ({ERRORS[mode]})"
    ), detail["import_errors"]
    assert after == before_with_fault  # every table, every item; the lock is free too
    assert _everything(stack) == before
    if stage == "apply":
        assert detail["rows_processed"] >= 50  # chunks were written before the fault
    again = _import(stack, rows)
    assert (again["status"], again["created_count"], again["updated_count"]) == (
        "completed",
        80,
        40,
    )


def test_a_crash_after_finalize_committed_leaves_the_import_standing(stack: RunningStack) -> None:
    """Once the file says completed (clients and webhooks were told), a function that dies
    afterwards does not undo the import: the rollback lets the lock go and stops there."""
    rows = _batch(1_050_000)
    assert post_mif(stack, {"file": data_uri(mif_csv(rows[:40]), "csv")}).status_code == 201
    with fault(stack, "finalize", mode="crash", at="end"):
        detail = _import(stack, rows)
    deadline = time.monotonic() + 60  # the rollback runs after the crash
    while "rollback after completion" not in stack.log_text() and time.monotonic() < deadline:
        time.sleep(0.2)
    detail = wait_for_file(stack, detail["id"])
    assert (detail["status"], detail["stage"]) == ("completed", "done")
    assert (detail["created_count"], detail["updated_count"]) == (80, 40)
    stored = {p["eligibility"]["member_id"] for p in scan(stack, "PatientsTable")}
    assert {r["MEMBER_ID"] for r in rows} <= stored
    assert not [i for i in scan(stack, "MetaTable") if i["pk"] == "lock#imports"]
    assert "rollback after completion" in stack.log_text()
    again = _import(stack, rows[:3])
    assert (again["status"], again["updated_count"]) == ("completed", 3)


def test_a_fault_inside_the_rollback_is_retried_and_still_restores(stack: RunningStack) -> None:
    rows = _batch(1_100_000)
    assert post_mif(stack, {"file": data_uri(mif_csv(rows[:40]), "csv")}).status_code == 201
    before = _everything(stack)
    # The apply fails after chunk 1; the rollback dies once after restoring its chunk 0.
    with fault(stack, "rollback", at="chunk", after_chunk=0, times=1, mode="crash"):
        with fault(stack, "apply", after_chunk=1, mode="raise"):
            before_with_faults = _everything(stack)
            detail = _import(stack, rows)
            after = _everything(stack)
        remaining = [i for i in scan(stack, "MetaTable") if i["pk"] == "fault#rollback"]
    assert remaining and int(remaining[0]["times"]) == 0  # it did fire, once
    assert (detail["status"], detail["stage"]) == ("failed", "rolled_back")
    assert "InjectedFault" in detail["import_errors"]
    without_faults = {
        table: [i for i in items if '"fault#' not in i] for table, items in after.items()
    }
    assert without_faults == {
        table: [i for i in items if '"fault#' not in i]
        for table, items in before_with_faults.items()
    }
    assert _everything(stack) == before
    assert "RollbackFunction" in stack.log_text()


def test_a_webhook_that_cannot_be_queued_never_fails_the_import(
    stack: RunningStack, webhook_receiver_port: int
) -> None:
    rows = [sample_mif_row(i) for i in range(1_200_000, 1_200_003)]
    hook = f"http://127.0.0.1:{webhook_receiver_port}/hook/never"
    with fault(stack, "webhook_enqueue", at="start"):
        response = post_mif(stack, {"file": data_uri(mif_csv(rows), "csv"), "webhook_url": hook})
        assert response.status_code == 201, response.text
        detail = wait_for_file(stack, response.json()["mif_file_id"])
    assert (detail["status"], detail["created_count"]) == ("completed", 3)
    deadline = time.monotonic() + 10
    while "webhook not queued" not in stack.log_text() and time.monotonic() < deadline:
        time.sleep(0.2)
    lines = [line for line in stack.log_text().splitlines() if "webhook not queued" in line]
    assert lines and all('"error_type":"InjectedFault"' in line for line in lines)
