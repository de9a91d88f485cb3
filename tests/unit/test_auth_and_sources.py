"""Authorizer decisions, token storage, inline decoding and inbox path rules (moto in-process)."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from ecm.api import auth
from ecm.errors import ApiError
from ecm.files.sources import decode_inline, inbox_key
from ecm.models.access import reset_clients
from ecm.settings import get_settings


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, fake_aws: None) -> Iterator[None]:
    monkeypatch.setenv("FILES_BUCKET", "unit-bucket")
    get_settings.cache_clear()
    with mock_aws():
        ddb = boto3.client("dynamodb")
        for table, key in (("UsersTable", "token_hash"), ("MetaTable", "pk")):
            ddb.create_table(
                TableName=table,
                AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
                KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
                BillingMode="PAY_PER_REQUEST",
            )
        boto3.client("s3").create_bucket(Bucket="unit-bucket")
        yield
    get_settings.cache_clear()
    reset_clients()


def test_tokens_are_stored_hashed_and_roles_reach_the_context(aws: None) -> None:
    user, token = auth.create_user("Ana", "staff")
    stored = boto3.client("dynamodb").scan(TableName="UsersTable")["Items"]
    assert len(stored) == 1
    assert token not in str(stored)
    assert stored[0]["token_hash"]["S"] == auth.hash_token(token)
    policy = auth.authorize_request(
        {
            "headers": {"x-user-token": token},
            "methodArn": "arn:aws:execute-api:r:a:api/prod/GET/v1/x",
        }
    )
    assert policy["context"] == {"user_id": str(user["id"]), "role": "staff", "name": "Ana"}
    assert (
        policy["policyDocument"]["Statement"][0]["Resource"] == "arn:aws:execute-api:r:a:api/prod/*"
    )


def test_unknown_or_missing_token_is_unauthorized(aws: None) -> None:
    auth.create_user("Ana", "admin")
    for headers in ({}, {"X-User-Token": "wrong-token-wrong-token"}):
        with pytest.raises(PermissionError, match=r"^Unauthorized$"):
            auth.authorize_request({"headers": headers, "methodArn": "arn"})


def test_require_admin() -> None:
    assert auth.require_admin({"user_id": "1", "role": "admin"})["role"] == "admin"
    with pytest.raises(ApiError) as forbidden:
        auth.require_admin({"user_id": "2", "role": "staff"})
    assert (forbidden.value.status, forbidden.value.messages) == (403, ["Admin access required"])
    with pytest.raises(ApiError) as missing:
        auth.require_admin(None)
    assert missing.value.status == 401


def test_roles_and_token_length_are_checked(aws: None) -> None:
    with pytest.raises(ValueError, match="role must be one of"):
        auth.create_user("X", "root")
    with pytest.raises(ValueError, match="at least 16"):
        auth.create_user("X", "admin", "short")


@pytest.mark.parametrize(
    ("text", "mime"),
    [
        ("data:text/csv;base64,", "text/csv"),
        (
            "data:application/vnd.ms-excel.sheet.macroEnabled.12;base64,",
            "application/vnd.ms-excel.sheet.macroenabled.12",
        ),
        ("data:text/csv;charset=utf-8;base64,", "text/csv"),
        ("", None),
    ],
)
def test_decode_inline_with_and_without_data_uri(text: str, mime: str | None) -> None:
    payload = base64.b64encode(b"MEMBER_ID\nA1\n").decode()
    assert decode_inline("mif.file", text + payload[:8] + "\n" + payload[8:], 1000) == (
        mime,
        b"MEMBER_ID\nA1\n",
    )


def test_decode_inline_errors() -> None:
    with pytest.raises(ApiError, match="not valid base64"):
        decode_inline("mif.file", "@@@", 100)
    with pytest.raises(ApiError) as too_big:
        decode_inline("mif.file", base64.b64encode(b"x" * 3000).decode(), 1000)
    assert too_big.value.status == 413
    with pytest.raises(ApiError, match="without ';base64,'"):
        decode_inline("mif.file", "data:text/csv,abc", 100)


def test_inbox_key_rules(aws: None) -> None:
    boto3.client("s3").put_object(Bucket="unit-bucket", Key="sftp/a.csv", Body=b"x")
    assert inbox_key("mif.path", "sftp/a.csv") == "sftp/a.csv"
    assert inbox_key("mif.path", "s3://unit-bucket/sftp/a.csv") == "sftp/a.csv"
    assert inbox_key("mif.path", "/sftp/a.csv") == "sftp/a.csv"
    for bad, message in (
        ("sftp/../work/x", "not a valid key"),
        ("sftp/%2e%2e/work/x", "not a valid key"),
        ("s3://other/sftp/a.csv", "must be in the inbox bucket"),
        ("https://example.org/a.csv", "must be a key of the inbox bucket"),
        ("work/mif/1/plan.json", "not in the inbox area"),
        ("results/mif/1/result.csv", "not in the inbox area"),
        ("outbox/plan-a/rtf/x.csv", "not in the inbox area"),
        ("files/mif/1/original.csv", "not in the inbox area"),
        ("sftp/none.csv", "does not exist"),
    ):
        with pytest.raises(ApiError, match=message):
            inbox_key("mif.path", bad)
