"""The product under AWS's failures: a stack whose clients meet throttling, unprocessed batch
items, transaction conflicts and S3 5xx (ECM_AWS_FAULTS) still imports every row exactly,
keeps every counter equal to a recount, lets every PUT through (the client honours 503 and
Retry-After) and rolls a failed import back to the exact prior state.

The stack is this module's own; its answers are counted, and none may be a 5xx but 503.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests
from fixtures_builders import mif_csv, sample_mif_row
from stack_fixture import (
    MIF_URL,
    RunningStack,
    data_uri,
    patients_by_member,
    snapshot,
    start_stack,
    stop_stack,
)

FAULTS = "throttle=0.2,unprocessed=0.3,conflict=0.3,s3=0.1"
PATIENTS = "/v1/admin/clinic/ecm/patients"
CASELOAD = 2_000
FIRST = 7_000_000
#: The statuses the PUTs move patients to (the imports create new_member ones).
STATUSES = ("continuing_member", "pending_member", "inactive_member", "terminated_member")


class Client:
    """The API as a careful client uses it: a 503 is sent again after its Retry-After."""

    def __init__(self, stack: RunningStack) -> None:
        self.stack = stack
        self.answers: Counter[int] = Counter()
        self.lock = threading.Lock()

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        for _ in range(40):
            response = requests.request(
                method,
                f"{self.stack.api}{path}",
                headers=self.stack.headers(),
                timeout=120,
                **kwargs,
            )
            with self.lock:
                self.answers[response.status_code] += 1
            if response.status_code != 503:
                return response
            assert response.json() == {
                "errors": ["The service is busy; try again in a few seconds"]
            }
            time.sleep(float(response.headers["Retry-After"]))
        raise AssertionError(f"{method} {path}: still busy after 40 tries")

    def post_mif(self, rows: list[dict[str, str]]) -> int:
        response = self.call(
            "POST", MIF_URL, json={"mif": {"file": data_uri(mif_csv(rows), "csv")}}
        )
        assert response.status_code in (201, 202), response.text
        return int(response.json()["mif_file_id"])

    def wait(self, file_id: int, timeout: float = 300) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            detail: dict[str, Any] = self.call("GET", f"{MIF_URL}/{file_id}").json()["mif_file"]
            if detail["status"] in ("completed", "failed"):
                return detail
            assert time.monotonic() < deadline, f"file {file_id} still {detail['stage']}"
            time.sleep(0.5)

    def first_done(self, file_ids: list[int], timeout: float = 300) -> tuple[dict[str, Any], int]:
        """The detail of the first of ``file_ids`` to end, and how many had not ended."""
        deadline = time.monotonic() + timeout
        while True:
            details = [self.call("GET", f"{MIF_URL}/{i}").json()["mif_file"] for i in file_ids]
            ended = [d for d in details if d["status"] in ("completed", "failed")]
            if ended:
                return ended[0], len(details) - len(ended)
            assert time.monotonic() < deadline, "no import ended"
            time.sleep(0.5)

    def paged(self, query: str = "") -> tuple[int, list[dict[str, Any]]]:
        """(total_count of the first page, every patient paged through, pages read at once)."""
        first = self.call("GET", f"{PATIENTS}?per_page=100&page=1{query}").json()

        def page(number: int) -> list[dict[str, Any]]:
            answer = self.call("GET", f"{PATIENTS}?per_page=100&page={number}{query}").json()
            assert answer["pagination"]["total_count"] == first["pagination"]["total_count"]
            return list(answer["patients"])

        with ThreadPoolExecutor(max_workers=6) as pool:
            rest = pool.map(page, range(2, first["pagination"]["total_pages"] + 1))
            items = [*first["patients"], *(p for listed in rest for p in listed)]
        return first["pagination"]["total_count"], items


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    running = start_stack(
        tmp_path_factory.mktemp("aws-faults"),
        {"ECM_AWS_FAULTS": FAULTS, "ECM_CHUNK_ROWS": "500", "ECM_SYNC_WAIT_SECONDS": "1"},
    )
    yield Client(running)
    stop_stack(running)


@pytest.fixture(autouse=True)
def only_busy_5xx(client: Client) -> Iterator[None]:
    """No answer may be a 5xx but 503 (busy, with Retry-After), in any test."""
    yield
    assert not [s for s in client.answers if s >= 500 and s != 503], client.answers


def _rows(first: int, count: int) -> list[dict[str, str]]:
    return [sample_mif_row(i) for i in range(first, first + count)]


def _as_stored(row: dict[str, str]) -> dict[str, Any]:
    """What a new patient holds for a row of ``sample_mif_row``."""
    month, day, year = row["DOB"].split("-")
    digits = "".join(c for c in row["PHONE"] if c.isdigit())
    return {
        "first_name": row["FIRST_NAME"],
        "last_name": row["LAST_NAME"],
        "date_of_birth": f"{year}-{month}-{day}",
        "gender": "female" if row["GENDER"] == "F" else "male",
        "address": {
            "street": row["ADDRESS"],
            "city": row["CITY"],
            "state": row["STATE"],
            "zip": row["ZIP"],
        },
        "phone": f"+1{digits}",
        "member_id": row["MEMBER_ID"],
        "cin": row["CIN"],
        "ecm_service_auth_id": row["ECM_SERVICE_AUTH_ID"],
        "ecm_provider_name": row["ECM_PROVIDER_NAME"],
        "ecm_npi": row["ECM_NPI"],
        "ecm_benefit_auth_eff_date": "2024-01-01",
        "ecm_benefit_auth_end_date": "2024-12-31",
        "acuity_level": row["ACUITY_LEVEL"].lower(),
    }


def _stored(patient: dict[str, Any]) -> dict[str, Any]:
    eligibility = patient["eligibility"]
    fields = ("first_name", "last_name", "date_of_birth", "gender", "address", "phone")
    return {
        **{f: patient.get(f) for f in fields},
        **{f: eligibility.get(f) for f in _as_stored(sample_mif_row(0)) if f not in fields},
    }


def test_imports_and_puts_at_once_all_land_and_counters_equal_a_recount(client: Client) -> None:
    """Ten 200-row imports posted at once (they take the import lock in turn) while twenty
    PUTs change the statuses of the patients of the first one done, as soon as it is."""
    batches = [_rows(FIRST + CASELOAD + 200 * n, 200) for n in range(10)]
    with ThreadPoolExecutor(max_workers=10) as pool:
        file_ids = list(pool.map(client.post_mif, batches))
        done, in_progress = client.first_done(file_ids)
        assert (done["status"], done["created_count"]) == ("completed", 200), done
        members = {r["MEMBER_ID"] for r in batches[file_ids.index(done["id"])][:20]}
        targets = [p for m, p in patients_by_member(client.stack).items() if m in members]
        changed = list(pool.map(lambda n: _change(client, targets[n], n), range(20)))
        details = list(pool.map(client.wait, file_ids))
    assert in_progress >= 2  # the PUTs met imports still running
    assert changed == list(range(20))
    assert [(d["status"], d["created_count"]) for d in details] == [("completed", 200)] * 10
    stored = patients_by_member(client.stack)
    for row in (r for batch in batches for r in batch):
        assert _stored(stored[row["MEMBER_ID"]]) == _as_stored(row)
    by_status = Counter(p["eligibility"]["member_record_status"] for p in stored.values())
    assert {s: by_status[s] for s in STATUSES} == dict.fromkeys(STATUSES, 5)
    total, everyone = client.paged()
    assert total == len(everyone) == len(stored)
    assert len({p["id"] for p in everyone}) == len(stored)
    for status, count in by_status.items():
        total, listed = client.paged(f"&status={status}")
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


@pytest.fixture(scope="module")
def caseload(client: Client) -> dict[str, Any]:
    """A 2,000-row MIF imported under the faults: the file's detail."""
    started = time.monotonic()
    detail = client.wait(client.post_mif(_rows(FIRST, CASELOAD)))
    detail["seconds"] = time.monotonic() - started
    return detail


def test_a_2000_row_import_stores_every_row_exactly(
    client: Client, caseload: dict[str, Any]
) -> None:
    assert (caseload["status"], caseload["stage"]) == ("completed", "done"), caseload
    assert (caseload["created_count"], caseload["rows_processed"]) == (CASELOAD, CASELOAD)
    stored = patients_by_member(client.stack)
    rows = _rows(FIRST, CASELOAD)
    mine = {r["MEMBER_ID"] for r in rows}
    assert {m: _stored(p) for m, p in stored.items() if m in mine} == {
        r["MEMBER_ID"]: _as_stored(r) for r in rows
    }
    assert len({stored[m]["id"] for m in mine}) == CASELOAD  # one patient each


def test_a_failed_import_is_rolled_back_to_the_exact_prior_state(
    client: Client, caseload: dict[str, Any]
) -> None:
    """40 members of the caseload changed and 560 new ones (a 500-row chunk, a 100-row one and
    the new members' lookup keys); the second apply chunk fails after its writes (the
    test-only fault hook)."""
    rows = _rows(FIRST, 40) + _rows(FIRST + 10_000, 560)
    for row in rows[:40]:
        row["ACUITY_LEVEL"], row["PHONE"] = "Medium", "(805) 555-0199"
    ddb = client.stack.client("dynamodb")
    fault = {"pk": {"S": "fault#apply"}, "mode": {"S": "raise"}, "after_chunk": {"N": "1"}}
    ddb.put_item(TableName="MetaTable", Item=fault)
    try:
        before = snapshot(client.stack)
        detail = client.wait(client.post_mif(rows))
        after = snapshot(client.stack)
    finally:
        ddb.delete_item(TableName="MetaTable", Key={"pk": {"S": "fault#apply"}})
    assert (detail["status"], detail["stage"]) == ("failed", "rolled_back"), detail
    assert "InjectedFault" in detail["import_errors"]
    assert after == before  # every item of every table, the lock free, the counters back
