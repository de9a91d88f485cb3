"""Ten imports at once under AWS's failures (ECM_AWS_FAULTS), while PUTs change statuses:
every import completes, every PUT lands, every counter equals a recount."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from faulty_stack import (
    CASELOAD,
    FIRST,
    PATIENTS,
    STATUSES,
    Client,
    as_stored,
    rows_from,
    stored_fields,
)
from stack_fixture import patients_by_member

#: No answer may be a 5xx but 503 (busy, with Retry-After), in any test.
pytestmark = pytest.mark.usefixtures("only_busy_5xx")


def test_imports_and_puts_at_once_all_land_and_counters_equal_a_recount(
    faulty_client: Client,
) -> None:
    """Ten 200-row imports posted at once (they take the import lock in turn) while twenty
    PUTs change the statuses of the patients of the first one done, as soon as it is."""
    batches = [rows_from(FIRST + CASELOAD + 200 * n, 200) for n in range(10)]
    with ThreadPoolExecutor(max_workers=10) as pool:
        file_ids = list(pool.map(faulty_client.post_mif, batches))
        done, in_progress = faulty_client.first_done(file_ids)
        assert (done["status"], done["created_count"]) == ("completed", 200), done
        members = {r["MEMBER_ID"] for r in batches[file_ids.index(done["id"])][:20]}
        targets = [p for m, p in patients_by_member(faulty_client.stack).items() if m in members]
        changed = list(pool.map(lambda n: _change(faulty_client, targets[n], n), range(20)))
        details = list(pool.map(faulty_client.wait, file_ids))
    assert in_progress >= 2  # the PUTs met imports still running
    assert changed == list(range(20))
    assert [(d["status"], d["created_count"]) for d in details] == [("completed", 200)] * 10
    stored = patients_by_member(faulty_client.stack)
    for row in (r for batch in batches for r in batch):
        assert stored_fields(stored[row["MEMBER_ID"]]) == as_stored(row)
    by_status = Counter(p["eligibility"]["member_record_status"] for p in stored.values())
    assert {s: by_status[s] for s in STATUSES} == dict.fromkeys(STATUSES, 5)
    total, everyone = faulty_client.paged()
    assert total == len(everyone) == len(stored)
    assert len({p["id"] for p in everyone}) == len(stored)
    for status, count in by_status.items():
        total, listed = faulty_client.paged(f"&status={status}")
        assert total == len(listed) == count, status
        assert all(
            p["ecm_eligibility_information"]["member_record_status"] == status for p in listed
        )


def _change(client: Client, patient: dict[str, Any], n: int) -> int:
    """PUT a new status (sent again on 503 until it lands: a replay changes nothing)."""
    status = STATUSES[n % len(STATUSES)]
    body = {"patient": {"ecm_eligibility_information": {"member_record_status": status}}}
    response = client.call("PUT", f"{PATIENTS}/{patient['id']}", json=body)
    assert response.status_code == 200, response.text
    answered = response.json()["patient"]["ecm_eligibility_information"]
    assert answered["member_record_status"] == status
    return n
