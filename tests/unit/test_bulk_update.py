"""Many patients changed in one request (moto in this process, the template's tables): the
values, status history, audit entries and name keys of each PUT, counters equal to a
recount, and nothing written when one entry is invalid or one patient changed meanwhile,
though the writes span several transactions."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import pytest

from devstack.moto_transactions import copy_named_items_only
from ecm.errors import ApiError, ServiceBusy
from ecm.models import AuditEntry, MetaItem, Patient, PatientKey
from ecm.models.access import all_items, as_model, get
from ecm.patients import bulk, bulk_writes
from ecm.patients.bulk import MAX_PATIENTS, BulkUpdateRequest, bulk_update
from ecm.patients.bulk_writes import Write, groups
from ecm.patients.counts import count_keys, read_counts
from ecm.patients.index_fields import with_index_fields
from ecm.patients.items import name_key
from ecm.patients.update import PatientUpdate, update_patient
from ecm.settings import get_settings
from ecm.store import from_item, to_item

Item = dict[str, Any]
ADMIN = {"user_id": 1, "name": "Bulk Admin", "role": "admin"}
COUNT = 150  # two transactions of patients and counters


def _patient(patient_id: int) -> Item:
    return with_index_fields(
        {
            "id": patient_id,
            "first_name": "Ana",
            "last_name": f"Lopez{patient_id}",
            "name": f"Ana Lopez{patient_id}",
            "date_of_birth": "1980-01-02",
            "eligibility": {
                "member_id": f"9{patient_id:07d}A",
                "cin": f"9{patient_id:07d}A",
                "member_record_status": "new_member",
                "plan": "healthnet",
            },
            "case_load": {"provider_id": 7, "provider_name": "Clinic"},
            "version": 1,
        }
    )


@pytest.fixture
def patients(tables: None) -> Iterator[list[Item]]:
    copy_named_items_only()  # as the local stack does: a transaction copies its items only
    items = [_patient(i) for i in range(1, COUNT + 1)]
    ddb = boto3.client("dynamodb")
    for item in items:
        ddb.put_item(TableName=get_settings().patients_table, Item=to_item(item))
        key = name_key(item["first_name"], item["last_name"], item["date_of_birth"])
        ddb.put_item(
            TableName=get_settings().patient_keys_table,
            Item=to_item({"key": key, "patient_ids": [item["id"]], "version": 1}),
        )
    counts = Counter(key for item in items for key in count_keys(item))
    for key, value in counts.items():
        as_model(MetaItem, {"pk": key, "value": value}).save()
    yield items


def _scan(table: str) -> list[Item]:
    ddb = boto3.client("dynamodb")
    found = [
        from_item(i)
        for p in ddb.get_paginator("scan").paginate(TableName=table)
        for i in p["Items"]
    ]
    return sorted(found, key=repr)


def _snapshot() -> dict[str, list[Item]]:
    settings = get_settings()
    tables = (settings.patients_table, settings.patient_keys_table, settings.audit_table)
    # An id reserved is never given back (ids are never reused); a counter at 0 is no count.
    meta = [
        i
        for i in _scan(settings.meta_table)
        if i["pk"] != "counter#status_history"
        and not (i["pk"].startswith("count#") and i["value"] == 0)
    ]
    return {**{t: _scan(t) for t in tables}, "meta": meta}


def _assert_counts_equal_a_recount() -> None:
    stored = _scan(get_settings().patients_table)
    recount = Counter(key for item in stored for key in count_keys(item))
    keys = sorted(
        {
            *recount,
            *(i["pk"] for i in _scan(get_settings().meta_table) if i["pk"].startswith("count#")),
        }
    )
    assert read_counts(keys) == {key: recount.get(key, 0) for key in keys}


def _request(entries: list[Item]) -> BulkUpdateRequest:
    return BulkUpdateRequest.model_validate({"patients": entries})


ENROLL = {"member_record_status": "continuing_member", "ecm_enrollment_start_date": "2026-11-01"}


def _changed_by_someone_else(patient_id: str) -> None:
    """Another admin's PUT, landing while the bulk update runs."""
    change = PatientUpdate.model_validate({"last_name": "Meanwhile"})
    update_patient(patient_id, change, {"user_id": 2, "name": "Other Admin"})


def _enrolling_all_is_refused(patients: list[Item]) -> ApiError:
    """Enroll every one of ``patients`` in one request, which must be a 409."""
    entries = [{"id": p["id"], "ecm_eligibility_information": ENROLL} for p in patients]
    with pytest.raises(ApiError) as raised:
        bulk_update(_request(entries).patients, ADMIN)
    assert raised.value.status == 409
    return raised.value


def test_every_patient_changed_with_history_audit_and_counts(patients: list[Item]) -> None:
    entries = [{"id": p["id"], "ecm_eligibility_information": ENROLL} for p in patients]
    entries[5] = {"id": 6, "first_name": "Beatriz"}  # a name: the name key moves
    entries[7] = {"id": 8}  # nothing to change: read, not updated
    answer = bulk_update(_request(entries).patients, ADMIN)["patients"]
    assert [p["id"] for p in answer] == [p["id"] for p in patients]
    stored = {int(i["id"]): i for i in _scan(get_settings().patients_table)}
    history_ids = []
    for entry in entries:
        item, shown = stored[entry["id"]], answer[entry["id"] - 1]
        if "ecm_eligibility_information" in entry:
            assert item["eligibility"]["member_record_status"] == "continuing_member"
            assert item["eligibility"]["ecm_enrollment_start_date"] == "2026-11-01"
            assert item["version"] == 2
            (change,) = item["ecm_status_history"]
            assert (change["status"], change["changed_by"]) == ("continuing_member", "Bulk Admin")
            history_ids.append(change["id"])
            assert shown["ecm_status_history"] == [change]
            assert (
                shown["ecm_eligibility_information"]["member_record_status"] == "continuing_member"
            )
    assert len(set(history_ids)) == len(history_ids) == COUNT - 2
    assert stored[6]["first_name"] == "Beatriz" and stored[6]["version"] == 2
    assert stored[8]["version"] == 1 and answer[7]["version"] == 1
    assert get(PatientKey, name_key("Ana", "Lopez6", "1980-01-02")) is None
    moved = get(PatientKey, name_key("Beatriz", "Lopez6", "1980-01-02"))
    assert moved is not None and moved["patient_ids"] == [6]
    audit = Counter((int(e["patient_id"]), e["action"]) for e in all_items(AuditEntry.scan()))
    assert audit == Counter({(p["id"], "read" if p["id"] == 8 else "update"): 1 for p in patients})
    # Sent again (a client that lost the answer): nothing changes, each patient audited as read.
    stored_before = _scan(get_settings().patients_table)
    again = bulk_update(_request(entries).patients, ADMIN)["patients"]
    assert again == answer
    assert _scan(get_settings().patients_table) == stored_before
    audit = Counter((int(e["patient_id"]), e["action"]) for e in all_items(AuditEntry.scan()))
    assert audit[(1, "read")] == 1 and audit[(1, "update")] == 1
    counts = read_counts(["count#status#new_member", "count#status#continuing_member"])
    assert counts == {"count#status#new_member": 2, "count#status#continuing_member": COUNT - 2}
    _assert_counts_equal_a_recount()


def test_invalid_entries_are_each_named_and_nothing_is_written(patients: list[Item]) -> None:
    before = _snapshot()
    entries = [{"id": p["id"], "ecm_eligibility_information": ENROLL} for p in patients]
    entries[100] = {
        "id": 101,
        "ecm_eligibility_information": {"discontinuation_reason": "declined"},
    }
    entries[130] = {"id": 999_999, "first_name": "Ana"}
    with pytest.raises(ApiError) as raised:
        bulk_update(_request(entries).patients, ADMIN)
    assert raised.value.status == 422
    assert raised.value.messages == [
        "patients[100] (id 101): ecm_eligibility_information.discontinuation_reason and "
        "discontinuation_date need member_record_status terminated_member",
        "patients[130] (id 999999): Patient not found",
    ]
    assert _snapshot() == before
    assert get(MetaItem, "counter#status_history") is None  # no id reserved either


def test_a_patient_changed_meanwhile_is_a_409_and_the_committed_part_is_undone(
    patients: list[Item], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Patient 140 is changed (by a PUT) between the bulk request's read and its writes:
    the first transaction commits, the second is refused, the first is undone."""
    read = bulk.batch_read
    seen: dict[str, Any] = {}

    def read_then_someone_writes(*args: Any, **kwargs: Any) -> list[Item]:
        found = read(*args, **kwargs)
        _changed_by_someone_else("140")
        seen["after"] = _snapshot()
        return found

    monkeypatch.setattr(bulk, "batch_read", read_then_someone_writes)
    assert _enrolling_all_is_refused(patients).messages == [
        "patients[139] (id 140): Patient was changed by someone else since it was read; "
        "reload and retry; nothing was written"
    ]
    after = _snapshot()
    changed = {int(i["id"]): i for i in after[get_settings().patients_table]}
    assert changed[140]["last_name"] == "Meanwhile"
    assert changed[1]["eligibility"]["member_record_status"] == "new_member"
    assert not changed[1].get("ecm_status_history")
    # Undone items are their next version, holding what was read.
    strip = lambda items: sorted(({**i, "version": 0} for i in items), key=repr)  # noqa: E731
    for table in after:
        assert strip(after[table]) == strip(seen["after"][table]), table
    assert changed[1]["version"] == 3  # 1 read, 2 written, 3 put back
    _assert_counts_equal_a_recount()


def test_the_request_names_each_bad_entry_by_index_and_id() -> None:
    with pytest.raises(ApiError) as raised:
        _request(
            [
                {"id": 1, "first_name": ""},
                {"id": 2, "ecm_eligibility_information": {"member_record_status": "gone"}},
                {"id": 1},
                {"first_name": "Ana"},
                {"id": 3, "nickname": "x"},
            ]
        )
    assert raised.value.messages[0] == "patients[0] (id 1): first_name can't be blank"
    assert raised.value.messages[1].startswith(
        "patients[1] (id 2): ecm_eligibility_information.member_record_status"
    )
    assert raised.value.messages[2:] == [
        "patients[2] (id 1): the same patient as patients[0]",
        "patients[3]: id Field required",
        "patients[4] (id 3): Unknown field 'nickname'",
    ]
    for size in (0, MAX_PATIENTS + 1):
        with pytest.raises(ApiError) as raised:
            _request([{"id": i + 1} for i in range(size)])
        assert raised.value.messages == [f"patients must hold 1 to 1,000 entries, not {size:,}"]


def test_transactions_hold_at_most_100_actions_counters_included() -> None:
    writes = [
        Write(Patient, {"id": i}, {"id": i}, str(i), Counter({f"count#status#s{i % 7}": 1}))
        for i in range(1000)
    ]
    cut = groups(writes)
    assert [w for group in cut for w in group] == writes
    sizes = [len(g) + len({k for w in g for k, d in w.deltas.items() if d}) for g in cut]
    assert max(sizes) <= 100
    assert len(cut) == 11  # 93 patients and 7 counters a transaction


def test_aws_busy_mid_way_undoes_the_committed_part_and_answers_busy(
    patients: list[Item], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second transaction runs out of retries (``ServiceBusy``, answered 503 with
    Retry-After by the resolver): the first is undone and the error goes on."""
    before = _snapshot()
    calls = Counter[str]()
    real = bulk_writes.transaction

    @contextmanager
    def busy_second_time() -> Iterator[Any]:
        calls["transactions"] += 1
        with real() as writes:
            yield writes
            if calls["transactions"] == 2:
                raise ServiceBusy("TransactWriteItems cancelled: ThrottlingError")

    monkeypatch.setattr(bulk_writes, "transaction", busy_second_time)
    entries = [{"id": p["id"], "ecm_eligibility_information": ENROLL} for p in patients]
    with pytest.raises(ServiceBusy):
        bulk_update(_request(entries).patients, ADMIN)
    assert calls["transactions"] == 3  # the first, the refused second, the first's undo
    after = _snapshot()
    strip = lambda items: sorted(({**i, "version": 0} for i in items), key=repr)  # noqa: E731
    for table in after:
        assert strip(after[table]) == strip(before[table]), table
    _assert_counts_equal_a_recount()


def test_a_patient_changed_after_its_transaction_keeps_that_change_and_is_named(
    patients: list[Item], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Between the first transaction and the second, someone changes patient 1 (already
    written: their change is made over ours) and patient 140 (not yet written): the second
    transaction is refused, the first undone write by write, patient 1 left as they made it."""
    real = bulk_writes.transaction
    calls = Counter[str]()

    @contextmanager
    def others_write_before_the_second() -> Iterator[Any]:
        calls["transactions"] += 1
        if calls["transactions"] == 2:
            for patient_id in ("1", "140"):
                _changed_by_someone_else(patient_id)
        with real() as writes:
            yield writes

    monkeypatch.setattr(bulk_writes, "transaction", others_write_before_the_second)
    assert _enrolling_all_is_refused(patients).messages == [
        "patients[139] (id 140): Patient was changed by someone else since it was read; "
        "reload and retry; nothing was written",
        "patients[0] (id 1): changed by someone else after this request wrote it; that "
        "change is kept",
    ]
    stored = {int(i["id"]): i for i in _scan(get_settings().patients_table)}
    assert stored[1]["last_name"] == "Meanwhile"
    assert stored[1]["eligibility"]["member_record_status"] == "continuing_member"
    assert stored[140]["eligibility"]["member_record_status"] == "new_member"
    changed = [
        i for i, p in stored.items() if p["eligibility"]["member_record_status"] != "new_member"
    ]
    assert changed == [1]
    _assert_counts_equal_a_recount()
