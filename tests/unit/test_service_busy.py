"""What the product does with AWS's "try again": a cancelled transaction read by its reasons
(a conflict is retried, never taken for a failed condition), an import stage that leaves as
``ServiceBusy`` for the state machine to retry, a rollback that never skips a chunk it could
not read, and the API's 503 with Retry-After."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.event_handler.api_gateway import Router
from botocore.exceptions import ClientError, EndpointConnectionError
from pynamodb.exceptions import PutError, TransactWriteError

from devstack.template import load_template
from ecm.api.resolver import make_resolver
from ecm.aws_errors import condition_failed, is_retryable
from ecm.errors import ApiError, BatchIncomplete, ConcurrentModification, ServiceBusy, StageFailed
from ecm.imports.records import create_import_file, get_import_file, update_import_file
from ecm.imports.stages import apply, rollback
from ecm.imports.stages.finalize import apply_counts
from ecm.imports.stages.lock import lock_stage, release_lock
from ecm.imports.stages.running import phi_safe
from ecm.imports.stages.work import APPLY_SECONDS, applying_key, lock_holder
from ecm.imports.work_area import plan_key
from ecm.kinds.plan_entry import PlanEntry
from ecm.models import MetaItem
from ecm.models.access import TRANSACTION_ATTEMPTS, get, transaction
from ecm.settings import get_settings

ASL = Path(__file__).parents[2] / "statemachine" / "import.asl.json"
Faults = Callable[[str], None]


def _error(code: str, status: int = 400, reasons: list[str] | None = None) -> ClientError:
    response: dict[str, Any] = {
        "Error": {"Code": code, "Message": "Maria Lopez 1984-11-02"},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    if reasons is not None:
        response["CancellationReasons"] = [{"Code": r} for r in reasons]
    return ClientError(response, "TransactWriteItems")  # type: ignore[arg-type]


CANCELLED = "TransactionCanceledException"


@pytest.mark.parametrize(
    ("error", "failed", "retryable"),
    [
        (_error("ConditionalCheckFailedException"), True, False),
        (_error(CANCELLED, reasons=["None", "ConditionalCheckFailed"]), True, False),
        (_error(CANCELLED, reasons=["TransactionConflict", "ConditionalCheckFailed"]), True, False),
        (_error(CANCELLED, reasons=["None", "TransactionConflict"]), False, True),
        (_error(CANCELLED, reasons=["ThrottlingError", "None"]), False, True),
        (_error(CANCELLED, reasons=["ValidationError"]), False, False),
        (_error("ProvisionedThroughputExceededException"), False, True),
        (_error("ThrottlingException"), False, True),
        (_error("SlowDown", 503), False, True),
        (_error("InternalError", 500), False, True),
        (_error("503", 503), False, True),
        (_error("ValidationException"), False, False),
        (_error("NoSuchKey", 404), False, False),
        (PutError("Failed", _error("ProvisionedThroughputExceededException")), False, True),
        (PutError("Failed", _error("ConditionalCheckFailedException")), True, False),
        (EndpointConnectionError(endpoint_url="http://127.0.0.1:1"), False, True),
        (BatchIncomplete("left"), False, True),
        (ServiceBusy("busy"), False, True),
        (KeyError("x"), False, False),
    ],
)
def test_failed_conditions_and_busy_answers_are_told_apart(
    error: Exception, failed: bool, retryable: bool
) -> None:
    assert (condition_failed(error), is_retryable(error)) == (failed, retryable)


# --- transactions -----------------------------------------------------------------------------


def _counter(key: str) -> int | None:
    item = get(MetaItem, key)
    return None if item is None else int(item["value"])


def _count_in_transaction(key: str) -> None:
    with transaction() as writes:
        writes.update(MetaItem(key), actions=[MetaItem.value.add(1)])


def test_a_conflicting_transaction_is_sent_again(
    product_faults: Faults, sleeps: list[float]
) -> None:
    product_faults("conflict=0.4,seed=21")
    for _ in range(10):
        _count_in_transaction("count#retried")
    assert _counter("count#retried") == 10  # each once, never twice
    assert sleeps  # some were cancelled, and sent again after a backoff


def test_a_conflict_that_never_clears_is_service_busy_and_writes_nothing(
    product_faults: Faults, sleeps: list[float]
) -> None:
    product_faults("conflict=1")
    with pytest.raises(ServiceBusy, match="TransactionConflict"):
        _count_in_transaction("count#never")
    assert len(sleeps) == TRANSACTION_ATTEMPTS - 1
    assert _counter("count#never") is None


def test_a_failed_condition_is_answered_at_once(endpoint: str, sleeps: list[float]) -> None:
    MetaItem("claim#taken", value=1).save()
    with pytest.raises(TransactWriteError) as info, transaction() as writes:
        writes.save(MetaItem("claim#taken", value=2), condition=MetaItem.pk.does_not_exist())
    assert condition_failed(info.value) and not is_retryable(info.value)
    assert sleeps == []


def test_import_counts_under_conflicts_are_applied_exactly_once(
    product_faults: Faults, sleeps: list[float]
) -> None:
    file_id = int(create_import_file("mif", "base64", "f.csv")["id"])
    manifest = {"counts": {"count#busy#a": 3, "count#busy#b": -1}}
    product_faults("conflict=1")
    with pytest.raises(ServiceBusy):  # never "already counted"
        apply_counts("mif", file_id, manifest, undo=False)
    assert (_counter("count#busy#a"), (get_import_file("mif", file_id) or {})["counted"]) == (
        None,
        {},
    )
    product_faults("conflict=0.4,throttle=0.2,seed=22")
    for _ in range(3):  # a retried finalize counts once
        apply_counts("mif", file_id, manifest, undo=False)
    assert (_counter("count#busy#a"), _counter("count#busy#b")) == (3, -1)
    for _ in range(2):  # and a retried rollback takes it back once
        apply_counts("mif", file_id, manifest, undo=True)
    assert (_counter("count#busy#a"), _counter("count#busy#b")) == (0, 0)


# --- import stages ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raised", "expected", "message"),
    [
        (_error("ProvisionedThroughputExceededException"), ServiceBusy, "plan: AWS busy"),
        (_error(CANCELLED, reasons=["TransactionConflict"]), ServiceBusy, "plan: AWS busy"),
        (PutError("x", _error("SlowDown", 503)), ServiceBusy, "plan: AWS busy (SlowDown)"),
        (BatchIncomplete("left"), ServiceBusy, "plan: AWS busy (BatchIncomplete)"),
        (_error("ConditionalCheckFailedException"), StageFailed, "plan: AWS error"),
        (_error("ValidationException"), StageFailed, "plan: AWS error ValidationException"),
    ],
)
def test_a_stage_leaves_busy_aws_as_service_busy_and_the_rest_as_failed(
    raised: Exception, expected: type[Exception], message: str, caplog: pytest.LogCaptureFixture
) -> None:
    @phi_safe
    def plan(event: dict[str, Any], context: Any) -> dict[str, Any]:
        raise raised

    with pytest.raises(expected) as info:
        plan({}, None)
    assert str(info.value).startswith(message) and info.value.__suppress_context__
    assert type(info.value).__name__ in ("ServiceBusy", "StageFailed")  # the names retried
    assert "Maria" not in str(info.value) and "Maria" not in caplog.text


def _task_states(states: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found = {}
    for name, state in states.items():
        if state["Type"] == "Task":
            found[name] = state
        if state["Type"] == "Map":
            found.update(_task_states(state["ItemProcessor"]["States"]))
    return found


def test_every_task_state_retries_service_busy_for_minutes_then_rolls_back() -> None:
    states = json.loads(ASL.read_text())["States"]
    tasks = _task_states(states)
    assert set(tasks) >= {"Validate", "Lock", "Plan", "ApplyChunk", "Finalize", "Rollback"}
    for name, state in tasks.items():
        matching = [
            r for r in state["Retry"] if {"ServiceBusy", "States.ALL"} & set(r["ErrorEquals"])
        ]
        assert matching, name
        retry = matching[0]
        delay, waits = float(retry["IntervalSeconds"]), []
        for _ in range(int(retry["MaxAttempts"])):
            waits.append(min(delay, retry.get("MaxDelaySeconds", delay)))
            delay *= retry["BackoffRate"]
        assert 6 <= retry["MaxAttempts"] <= 8 and sum(waits) >= 120, name
        assert retry["JitterStrategy"] == "FULL", name  # busy stages do not come back together
    for name in ("Validate", "Lock", "Plan", "Finalize"):  # retries exhausted: roll back
        assert states[name]["Catch"][0]["Next"] == "Rollback"
    assert states["Apply"]["Catch"][0]["Next"] == "Rollback"


def test_apply_leaves_a_throttled_write_to_the_retry_not_to_rollback(
    product_faults: Faults, sleeps: list[float]
) -> None:
    product_faults("throttle=1")
    entry = PlanEntry(
        "keys",
        {"key": "member#BUSY", "version": 1},
        put={"key": "member#BUSY", "version": 2, "patient_id": 1},
    )
    with pytest.raises(ClientError) as info:
        apply._conditional_write(entry, "mif#1")  # formerly ConcurrentModification
    assert is_retryable(info.value)


def test_rollback_never_skips_a_plan_chunk_it_could_not_read(
    product_faults: Faults, sleeps: list[float]
) -> None:
    file_id = int(create_import_file("mif", "base64", "f.csv")["id"])
    s3 = boto3.client("s3")
    s3.put_object(Bucket=get_settings().files_bucket, Key=plan_key("mif", file_id, 0), Body=b"[]")
    product_faults("s3=1")
    with pytest.raises(ClientError) as info:
        rollback.rollback_stage("mif", file_id, {"Error": "InjectedFault"})
    assert is_retryable(info.value)
    assert (get_import_file("mif", file_id) or {})["status"] != "failed"  # not "rolled back"


def test_an_apply_chunk_that_starts_after_the_rollback_writes_nothing(endpoint: str) -> None:
    file_id = int(create_import_file("mif", "base64", "f.csv")["id"])
    lock_stage("mif", file_id)
    update_import_file("mif", file_id, stage="rolling_back")
    with pytest.raises(ConcurrentModification, match="rolled back"):
        apply.apply_stage("mif", file_id, 0)  # before reading its plan: nothing written
    assert get(MetaItem, applying_key("mif", file_id, 0)) is None
    release_lock(lock_holder("mif", file_id))


def test_the_rollback_waits_for_the_apply_chunks_still_running(endpoint: str) -> None:
    now = int(time.time())
    MetaItem(applying_key("mif", 7, 0), expires_at=now + APPLY_SECONDS).save()
    MetaItem(applying_key("mif", 7, 1), expires_at=now - 1).save()  # one that died
    ended = threading.Timer(1.5, MetaItem(applying_key("mif", 7, 0)).delete)
    started = time.monotonic()
    ended.start()
    rollback.wait_for_apply("mif", 7, 3)
    assert time.monotonic() - started >= 1.5
    assert get(MetaItem, applying_key("mif", 7, 1)) is None  # its marker went too


def test_apply_markers_last_as_long_as_the_apply_function_may() -> None:
    properties = load_template()["Resources"]["ApplyFunction"]["Properties"]
    assert properties["Timeout"] == APPLY_SECONDS


# --- the API ----------------------------------------------------------------------------------


def _answer(raised: Exception) -> dict[str, Any]:
    router = Router()

    @router.get("/v1/busy")
    def busy() -> dict[str, str]:
        raise raised

    event = {
        "resource": "/v1/busy",
        "path": "/v1/busy",
        "httpMethod": "GET",
        "headers": {},
        "multiValueHeaders": {},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "requestContext": {
            "path": "/v1/busy",
            "stage": "local",
            "resourcePath": "/v1/busy",
            "authorizer": {"user_id": "1", "role": "admin", "name": "Admin"},
        },
        "body": None,
        "isBase64Encoded": False,
    }
    return make_resolver(router).resolve(event, None)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "raised",
    [
        _error("ProvisionedThroughputExceededException"),
        PutError("x", _error("ThrottlingException")),
        TransactWriteError("x", _error(CANCELLED, reasons=["None", "TransactionConflict"])),
        ServiceBusy("TransactWriteItems cancelled: TransactionConflict"),
        BatchIncomplete("left"),
        _error("SlowDown", 503),
    ],
)
def test_the_api_answers_busy_aws_503_with_retry_after(raised: Exception) -> None:
    answer = _answer(raised)
    assert answer["statusCode"] == 503
    headers = {
        **answer.get("headers", {}),
        **{k: v[0] for k, v in answer.get("multiValueHeaders", {}).items()},
    }
    assert headers["Retry-After"] == "2"
    assert json.loads(answer["body"]) == {
        "errors": ["The service is busy; try again in a few seconds"]
    }


@pytest.mark.parametrize(
    ("raised", "status"),
    [(_error("ValidationException"), 500), (KeyError("Maria"), 500), (ApiError(409, "x"), 409)],
)
def test_other_errors_keep_their_answers(raised: Exception, status: int) -> None:
    answer = _answer(raised)
    assert answer["statusCode"] == status
    assert "Retry-After" not in json.dumps(answer)
