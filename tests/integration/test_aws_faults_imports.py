"""A 2,000-row import under AWS's failures (ECM_AWS_FAULTS) stores every row exactly, and a
failed import is rolled back to the exact prior state."""

from __future__ import annotations

import time
from typing import Any

import pytest
from faulty_stack import (
    CASELOAD,
    FIRST,
    Client,
    as_stored,
    rows_from,
    stored_fields,
)
from stack_fixture import patients_by_member, snapshot

#: No answer may be a 5xx but 503 (busy, with Retry-After), in any test.
pytestmark = pytest.mark.usefixtures("only_busy_5xx")


@pytest.fixture(scope="module")
def caseload(faulty_client: Client) -> dict[str, Any]:
    """A 2,000-row MIF imported under the faults: the file's detail."""
    started = time.monotonic()
    detail = faulty_client.wait(faulty_client.post_mif(rows_from(FIRST, CASELOAD)))
    detail["seconds"] = time.monotonic() - started
    return detail


def test_a_2000_row_import_stores_every_row_exactly(
    faulty_client: Client, caseload: dict[str, Any]
) -> None:
    assert (caseload["status"], caseload["stage"]) == ("completed", "done"), caseload
    assert (caseload["created_count"], caseload["rows_processed"]) == (CASELOAD, CASELOAD)
    stored = patients_by_member(faulty_client.stack)
    rows = rows_from(FIRST, CASELOAD)
    mine = {r["MEMBER_ID"] for r in rows}
    assert {m: stored_fields(p) for m, p in stored.items() if m in mine} == {
        r["MEMBER_ID"]: as_stored(r) for r in rows
    }
    assert len({stored[m]["id"] for m in mine}) == CASELOAD  # one patient each


def test_a_failed_import_is_rolled_back_to_the_exact_prior_state(
    faulty_client: Client, caseload: dict[str, Any]
) -> None:
    """40 members of the caseload changed and 560 new ones (a 500-row chunk, a 100-row one and
    the new members' lookup keys); the second apply chunk fails after its writes (the
    test-only fault hook)."""
    rows = rows_from(FIRST, 40) + rows_from(FIRST + 10_000, 560)
    for row in rows[:40]:
        row["ACUITY_LEVEL"], row["PHONE"] = "Medium", "(805) 555-0199"
    ddb = faulty_client.stack.client("dynamodb")
    fault = {"pk": {"S": "fault#apply"}, "mode": {"S": "raise"}, "after_chunk": {"N": "1"}}
    ddb.put_item(TableName="MetaTable", Item=fault)
    try:
        before = snapshot(faulty_client.stack)
        detail = faulty_client.wait(faulty_client.post_mif(rows))
        after = snapshot(faulty_client.stack)
    finally:
        ddb.delete_item(TableName="MetaTable", Key={"pk": {"S": "fault#apply"}})
    assert (detail["status"], detail["stage"]) == ("failed", "rolled_back"), detail
    assert "InjectedFault" in detail["import_errors"]
    assert after == before  # every item of every table, the lock free, the counters back
