"""A local stack whose product clients meet AWS's failures (ECM_AWS_FAULTS), and a client
that uses the API as a careful client does: a 503 is sent again after its Retry-After. Each
fault test module starts its own (two modules, so the suite's two workers share the wait)."""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests
from fixtures_builders import mif_csv, sample_mif_row
from stack_fixture import (
    MIF_URL,
    RunningStack,
    data_uri,
    start_stack,
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


def start_faulty_stack(tmp: Path) -> Client:
    """A stack of its own under ``FAULTS`` (500-row chunks, 202 after 1 s)."""
    running = start_stack(
        tmp, {"ECM_AWS_FAULTS": FAULTS, "ECM_CHUNK_ROWS": "500", "ECM_SYNC_WAIT_SECONDS": "1"}
    )
    return Client(running)


def unexpected_5xx(client: Client) -> list[int]:
    """Answers that were a 5xx but 503 (busy, with Retry-After): there must be none."""
    return [s for s in client.answers if s >= 500 and s != 503]


def rows_from(first: int, count: int) -> list[dict[str, str]]:
    return [sample_mif_row(i) for i in range(first, first + count)]


def as_stored(row: dict[str, str]) -> dict[str, Any]:
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


def stored_fields(patient: dict[str, Any]) -> dict[str, Any]:
    eligibility = patient["eligibility"]
    fields = ("first_name", "last_name", "date_of_birth", "gender", "address", "phone")
    return {
        **{f: patient.get(f) for f in fields},
        **{f: eligibility.get(f) for f in as_stored(sample_mif_row(0)) if f not in fields},
    }
