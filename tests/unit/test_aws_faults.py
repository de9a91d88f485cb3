"""ECM_AWS_FAULTS: each of AWS's failures, as botocore parses it, reaches the product's clients
(and only them), and botocore's standard retry mode and the product's own loops meet it.

moto runs as a server on a loopback thread: under ``mock_aws`` moto answers inside botocore's
``before-send`` event too, so a call the faults answer would still be written.
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from ecm import aws_faults, store
from ecm.aws_faults import FaultInjector, FaultRates, parse_faults
from ecm.clients import CALL_ATTEMPTS, client
from ecm.settings import get_settings

TABLE = "PatientKeysTable"
NO_RETRY = Config(retries={"mode": "standard", "max_attempts": 1}, s3={"addressing_style": "path"})


# --- parsing -------------------------------------------------------------------------------


def test_rates_and_a_seed_are_read() -> None:
    rates = parse_faults(" throttle=0.2, unprocessed=0.3,conflict=0.3 ,s3=0.1,seed=7,")
    assert rates == FaultRates(throttle=0.2, unprocessed=0.3, conflict=0.3, s3=0.1, seed=7)
    assert parse_faults("s3=1") == FaultRates(s3=1.0)
    assert parse_faults("") is None and parse_faults("  ") is None and parse_faults(None) is None


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("thrott=0.2", "'thrott=0.2'"),
        ("throttle", "'throttle'"),
        ("throttle=1.5", "'throttle=1.5'"),
        ("s3=-0.1", "'s3=-0.1'"),
        ("conflict=lots", "'conflict=lots'"),
        ("conflict=nan", "'conflict=nan'"),
        ("throttle=0.1,seed=x", "'seed=x'"),
        ("throttle=0.1,throttle=0.2", "'throttle=0.2'"),
    ],
)
def test_a_bad_entry_is_refused_by_name(text: str, named: str) -> None:
    with pytest.raises(ValueError, match="ECM_AWS_FAULTS") as info:
        parse_faults(text)
    assert named in str(info.value)


def test_the_setting_is_checked_at_start(monkeypatch: pytest.MonkeyPatch) -> None:
    get_settings.cache_clear()
    monkeypatch.setenv("ECM_AWS_FAULTS", "throttle=0.5,seed=3")
    assert get_settings().aws_faults == FaultRates(throttle=0.5, seed=3)
    get_settings.cache_clear()
    monkeypatch.setenv("ECM_AWS_FAULTS", "throttle=0.5,slow=1")
    with pytest.raises(ValueError, match="'slow=1'"):
        get_settings()
    get_settings.cache_clear()


def test_the_local_stack_refuses_to_start_with_a_bad_entry() -> None:
    env = {**os.environ, "ECM_AWS_FAULTS": "throttle=2", "PORT": "1", "AWS_PORT": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "devstack"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert "ECM_AWS_FAULTS: 'throttle=2'" in done.stderr


# --- each fault as botocore parses it --------------------------------------------------------


def _faulty(service: str, rates: FaultRates) -> Any:
    made = boto3.client(service, config=NO_RETRY)
    FaultInjector(rates).attach(made)
    return made


def _put(key: str) -> dict[str, Any]:
    return {"PutRequest": {"Item": {"key": {"S": key}, "patient_id": {"N": "1"}}}}


def _stored(keys: list[str]) -> set[str]:
    """Which of ``keys`` the table holds, read with a client of the test's own."""
    plain = boto3.client("dynamodb")
    found: set[str] = set()
    for start in range(0, len(keys), 100):
        asked = [{"key": {"S": k}} for k in keys[start : start + 100]]
        answer = plain.batch_get_item(RequestItems={TABLE: {"Keys": asked}})
        found |= {item["key"]["S"] for item in answer["Responses"][TABLE]}
    return found


def test_a_throttled_call_is_a_400_and_writes_nothing(endpoint: str) -> None:
    ddb = _faulty("dynamodb", FaultRates(throttle=1, seed=1))
    codes = set()
    for n in range(12):
        with pytest.raises(ClientError) as info:
            ddb.put_item(TableName=TABLE, Item={"key": {"S": f"throttled#{n}"}})
        assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
        codes.add(info.value.response["Error"]["Code"])
    assert codes == {"ProvisionedThroughputExceededException", "ThrottlingException"}
    assert _stored([f"throttled#{n}" for n in range(12)]) == set()


def test_the_same_seed_gives_the_same_draws() -> None:
    first, second = FaultInjector(FaultRates(seed=5)), FaultInjector(FaultRates(seed=5))
    assert [first.happens(0.5) for _ in range(40)] == [second.happens(0.5) for _ in range(40)]


def test_unprocessed_items_are_left_unwritten_and_handed_back(endpoint: str) -> None:
    ddb = _faulty("dynamodb", FaultRates(unprocessed=0.3, seed=2))
    keys = [f"batch#{n}" for n in range(250)]
    handed_back: list[str] = []
    for start in range(0, 250, 25):
        answer = ddb.batch_write_item(
            RequestItems={TABLE: [_put(k) for k in keys[start : start + 25]]}
        )
        left = answer.get("UnprocessedItems", {}).get(TABLE, [])
        assert all(r["PutRequest"]["Item"]["patient_id"] == {"N": "1"} for r in left)
        handed_back += [r["PutRequest"]["Item"]["key"]["S"] for r in left]
    assert 0.2 <= len(handed_back) / 250 <= 0.4  # each item independently, at the rate
    assert _stored(keys) == set(keys) - set(handed_back)  # exactly the others were written


def test_unprocessed_keys_are_left_unread_and_handed_back_as_asked(endpoint: str) -> None:
    keys = [f"read#{n}" for n in range(100)]
    boto3.client("dynamodb").batch_write_item(RequestItems={TABLE: [_put(k) for k in keys[:25]]})
    ddb = _faulty("dynamodb", FaultRates(unprocessed=0.5, seed=3))
    answer = ddb.batch_get_item(
        RequestItems={TABLE: {"Keys": [{"key": {"S": k}} for k in keys], "ConsistentRead": True}}
    )
    pending = answer["UnprocessedKeys"][TABLE]
    assert pending["ConsistentRead"] is True
    unread = {key["key"]["S"] for key in pending["Keys"]}
    read = {item["key"]["S"] for item in answer["Responses"][TABLE]}
    assert 30 <= len(unread) <= 70 and not unread & read
    assert read == set(keys[:25]) - unread


def test_a_batch_always_processes_one_item_at_least(endpoint: str) -> None:
    """A call that processes nothing is a throttle (the ``throttle`` fault), not this one."""
    ddb = _faulty("dynamodb", FaultRates(unprocessed=1, seed=8))
    keys = ["all#1", "all#2", "all#3"]
    answer = ddb.batch_write_item(RequestItems={TABLE: [_put(k) for k in keys]})
    left = {r["PutRequest"]["Item"]["key"]["S"] for r in answer["UnprocessedItems"][TABLE]}
    assert len(left) == 2 and _stored(keys) == set(keys) - left
    answer = ddb.batch_write_item(RequestItems={TABLE: [_put("one#1")]})
    assert not answer.get("UnprocessedItems") and _stored(["one#1"]) == {"one#1"}


def test_a_conflict_cancels_the_transaction_with_one_reason(endpoint: str) -> None:
    ddb = _faulty("dynamodb", FaultRates(conflict=1, seed=4))
    items = [{"Put": {"TableName": TABLE, "Item": {"key": {"S": f"tx#{n}"}}}} for n in range(4)]
    with pytest.raises(ClientError) as info:
        ddb.transact_write_items(TransactItems=items)
    assert info.value.response["Error"]["Code"] == "TransactionCanceledException"
    codes = [reason["Code"] for reason in info.value.response["CancellationReasons"]]
    assert sorted(codes) == ["None", "None", "None", "TransactionConflict"]
    assert _stored([f"tx#{n}" for n in range(4)]) == set()


def test_s3_answers_slow_down_or_internal_error(endpoint: str) -> None:
    bucket = get_settings().files_bucket
    boto3.client("s3", config=NO_RETRY).put_object(Bucket=bucket, Key="k.json", Body=b"{}")
    s3 = _faulty("s3", FaultRates(s3=1, seed=6))
    seen = set()
    for _ in range(8):
        with pytest.raises(ClientError) as info:
            s3.get_object(Bucket=bucket, Key="k.json")
        error, meta = info.value.response["Error"], info.value.response["ResponseMetadata"]
        seen.add((error["Code"], meta["HTTPStatusCode"]))
    assert seen == {("SlowDown", 503), ("InternalError", 500)}
    with pytest.raises(ClientError) as info:
        s3.head_object(Bucket=bucket, Key="k.json")  # no body: botocore reads the status
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] in (500, 503)
    s3.list_objects_v2(Bucket=bucket)  # not a call the fault covers


# --- the product's clients meet them ----------------------------------------------------------


def test_botocore_retries_throttles_on_the_products_clients(
    product_faults: Any, sleeps: list[float]
) -> None:
    product_faults("throttle=0.3,s3=0.3,seed=11")
    ddb, s3 = client("dynamodb"), client("s3")
    bucket = get_settings().files_bucket
    attempts = []
    for n in range(15):
        answer = ddb.put_item(TableName=TABLE, Item={"key": {"S": f"retried#{n}"}})
        attempts.append(answer["ResponseMetadata"]["RetryAttempts"])
        attempts.append(
            s3.put_object(Bucket=bucket, Key=f"r{n}", Body=b"x")["ResponseMetadata"][
                "RetryAttempts"
            ]
        )
    assert sum(attempts) > 0 and len(sleeps) >= sum(attempts)  # retried, with backoff
    assert _stored([f"retried#{n}" for n in range(15)]) == {f"retried#{n}" for n in range(15)}


def test_a_throttle_that_never_ends_reaches_the_product_after_its_attempts(
    product_faults: Any, sleeps: list[float]
) -> None:
    product_faults("throttle=1")
    with pytest.raises(ClientError) as info:
        client("dynamodb").get_item(TableName=TABLE, Key={"key": {"S": "x"}})
    # botocore's ``max_attempts`` counts the retries: CALL_ATTEMPTS retries after the first.
    assert info.value.response["ResponseMetadata"]["RetryAttempts"] == CALL_ATTEMPTS
    assert len(sleeps) == CALL_ATTEMPTS


def test_the_products_batch_loop_writes_every_item_left_unprocessed(
    product_faults: Any, sleeps: list[float]
) -> None:
    product_faults("unprocessed=0.3,seed=12")
    keys = [f"looped#{n}" for n in range(120)]
    for body in store.batch_write_bodies(TABLE, [_put(k) for k in keys]):
        store.send_batch_write(body)  # the plan's prebuilt bodies, as apply sends them
    store.batch_write(TABLE, [_put(f"{k}b") for k in keys])
    assert _stored(keys) == set(keys)
    assert _stored([f"{k}b" for k in keys]) == {f"{k}b" for k in keys}
    found = store.batch_get(TABLE, ({"key": {"S": k}} for k in keys))
    assert {item["key"]["S"] for item in found} == set(keys)


@pytest.mark.parametrize(
    ("after_setting", "hooks"),
    [("", "[]"), ("clients.client('s3')\n", "['attach_active']")],
    ids=["no client made since", "a client made since"],
)
def test_without_the_variable_no_client_gets_a_hook(after_setting: str, hooks: str) -> None:
    """A fresh process (hooks stay for a process's life): none unset, nor once it is set
    until a client is made again; the faults' then."""
    script = (
        "import os\n"
        "from ecm import clients\n"
        "clients.client('dynamodb')\n"
        "print(len(clients._HOOKS))\n"
        "os.environ['ECM_AWS_FAULTS'] = 'throttle=0.1'\n"
        "clients.drop_clients()\n"
        f"{after_setting}"
        "print([hook.__name__ for hook in clients._HOOKS])\n"
    )
    env = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1"}
    env.pop("ECM_AWS_FAULTS", None)
    done = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.stdout.split("\n")[:2] == ["0", hooks], done.stderr


def test_the_stacks_setup_can_pause_them(product_faults: Any) -> None:
    product_faults("throttle=1")
    with aws_faults.paused():
        client("dynamodb").put_item(TableName=TABLE, Item={"key": {"S": "paused"}})
    assert _stored(["paused"]) == {"paused"}
