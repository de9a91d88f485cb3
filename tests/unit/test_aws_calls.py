"""The call recorder of the local stack: each call as the IAM actions and resources AWS
checks for it, put down to the function running it, on its pool's threads too."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from devstack.aws_calls import Call, CallRecorder, read_calls
from devstack.iam_actions import Permission, key_prefix, permissions
from devstack.lambdas import carry_context_into_pools, running_as, running_function

BUCKET = "ecm-local-files-123456789012"
TABLE = "arn:aws:dynamodb:us-east-1:123456789012:table"


def test_key_prefix_is_the_first_folder() -> None:
    assert key_prefix("uploads/mif/7/a b.csv") == "uploads/"
    assert key_prefix("inbox/mif/healthnet/x.csv") == "inbox/"
    assert key_prefix("x.xlsx") == ""


@pytest.mark.parametrize(
    ("operation", "params", "expected"),
    [
        ("HeadObject", {"Bucket": BUCKET, "Key": "files/mif/1/a.csv"}, ["s3:GetObject"]),
        (
            "GetObject",
            {"Bucket": BUCKET, "Key": "files/a", "VersionId": "3"},
            ["s3:GetObjectVersion"],
        ),
        ("CreateMultipartUpload", {"Bucket": BUCKET, "Key": "files/a"}, ["s3:PutObject"]),
        ("UploadPart", {"Bucket": BUCKET, "Key": "files/a"}, ["s3:PutObject"]),
        ("CompleteMultipartUpload", {"Bucket": BUCKET, "Key": "files/a"}, ["s3:PutObject"]),
        ("AbortMultipartUpload", {"Bucket": BUCKET, "Key": "files/a"}, ["s3:AbortMultipartUpload"]),
        ("DeleteObject", {"Bucket": BUCKET, "Key": "files/a"}, ["s3:DeleteObject"]),
    ],
)
def test_s3_object_calls_are_authorized_as_iam_names_them(
    operation: str, params: dict[str, str], expected: list[str]
) -> None:
    found = permissions("s3", operation, params)
    assert [p.action for p in found] == expected
    assert {p.resource for p in found} == {f"arn:aws:s3:::{BUCKET}/files/"}
    assert {p.s3_prefix for p in found} == {"files/"}


def test_a_copy_reads_its_source_and_writes_its_target() -> None:
    for source in ({"Bucket": BUCKET, "Key": "sftp/plan-a/x.csv"}, f"{BUCKET}/sftp/plan-a/x.csv"):
        found = permissions(
            "s3", "CopyObject", {"Bucket": BUCKET, "Key": "files/mif/3/x.csv", "CopySource": source}
        )
        assert found == [
            Permission("s3:PutObject", f"arn:aws:s3:::{BUCKET}/files/", "files/"),
            Permission("s3:GetObject", f"arn:aws:s3:::{BUCKET}/sftp/", "sftp/"),
        ]


def test_a_listing_is_on_the_bucket_with_the_folder_it_asks_for() -> None:
    found = permissions("s3", "ListObjectsV2", {"Bucket": BUCKET, "Prefix": "work/mif/12/"})
    assert found == [Permission("s3:ListBucket", f"arn:aws:s3:::{BUCKET}", "work/")]


def test_dynamodb_names_the_table_the_index_and_each_item_of_a_transaction() -> None:
    assert permissions("dynamodb", "Query", {"TableName": "PatientsTable", "IndexName": "x"}) == [
        Permission("dynamodb:Query", f"{TABLE}/PatientsTable/index/x")
    ]
    assert permissions("dynamodb", "GetItem", {"TableName": "MetaTable", "Key": {}}) == [
        Permission("dynamodb:GetItem", f"{TABLE}/MetaTable")
    ]
    transaction = {
        "TransactItems": [
            {"Put": {"TableName": "PatientsTable"}},
            {"Update": {"TableName": "MetaTable"}},
            {"ConditionCheck": {"TableName": "ImportFilesTable"}},
            {"Delete": {"TableName": "PatientKeysTable"}},
        ]
    }
    assert permissions("dynamodb", "TransactWriteItems", transaction) == [
        Permission("dynamodb:PutItem", f"{TABLE}/PatientsTable"),
        Permission("dynamodb:UpdateItem", f"{TABLE}/MetaTable"),
        Permission("dynamodb:ConditionCheckItem", f"{TABLE}/ImportFilesTable"),
        Permission("dynamodb:DeleteItem", f"{TABLE}/PatientKeysTable"),
    ]
    batch = {"RequestItems": {"PatientsTable": [], "PatientKeysTable": []}}
    assert {p.resource for p in permissions("dynamodb", "BatchWriteItem", batch)} == {
        f"{TABLE}/PatientsTable",
        f"{TABLE}/PatientKeysTable",
    }


def test_queues_state_machines_secrets_and_functions_by_arn() -> None:
    url = "http://127.0.0.1:4566/123456789012/WebhookQueue"
    assert permissions("sqs", "DeleteMessageBatch", {"QueueUrl": url}) == [
        Permission("sqs:DeleteMessage", "arn:aws:sqs:us-east-1:123456789012:WebhookQueue")
    ]
    execution = "arn:aws:states:us-east-1:123456789012:execution:ImportStateMachine:mif-7-abc"
    assert permissions("states", "DescribeExecution", {"executionArn": execution}) == [
        Permission(
            "states:DescribeExecution",
            "arn:aws:states:us-east-1:123456789012:execution:ImportStateMachine:",
        )
    ]
    assert permissions(
        "secretsmanager", "GetSecretValue", {"SecretId": "WebhookSigningSecret"}
    ) == [
        Permission(
            "secretsmanager:GetSecretValue",
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:WebhookSigningSecret",
        )
    ]
    assert permissions("lambda", "Invoke", {"FunctionName": "LockFunction"}) == [
        Permission(
            "lambda:InvokeFunction", "arn:aws:lambda:us-east-1:123456789012:function:LockFunction"
        )
    ]


def _stubbed_s3(recorder: CallRecorder) -> tuple[Any, Stubber]:
    s3 = boto3.client(
        "s3", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    recorder.attach(s3)
    return s3, Stubber(s3)


def test_calls_are_put_down_to_the_running_function_on_its_pools_threads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ThreadPoolExecutor, "submit", ThreadPoolExecutor.submit)  # undone after
    recorder = CallRecorder(tmp_path / "calls-1.jsonl")
    s3, stub = _stubbed_s3(recorder)
    for _ in range(3):
        stub.add_response("head_object", {}, {"Bucket": BUCKET, "Key": "files/a.csv"})
    stub.add_response("put_object", {}, {"Bucket": BUCKET, "Key": "results/r.csv", "Body": b""})
    carry_context_into_pools()
    with stub:
        s3.head_object(Bucket=BUCKET, Key="files/a.csv")  # outside any function
        with running_as("ValidateFunction"):
            assert running_function() == "ValidateFunction"
            with ThreadPoolExecutor(max_workers=2) as pool:
                list(pool.map(lambda _: s3.head_object(Bucket=BUCKET, Key="files/a.csv"), range(2)))
            s3.put_object(Bucket=BUCKET, Key="results/r.csv", Body=b"")
        # a presigned URL is authorized as the call it stands for, with the signer's rights
        with running_as("ExportsApiFunction"):
            s3.generate_presigned_url(
                "get_object", Params={"Bucket": BUCKET, "Key": "outbox/hn/rtf/x.csv"}
            )
    assert running_function() is None
    head = Call("ValidateFunction", "s3:GetObject", f"arn:aws:s3:::{BUCKET}/files/", "files/")
    put = Call("ValidateFunction", "s3:PutObject", f"arn:aws:s3:::{BUCKET}/results/", "results/")
    link = Call("ExportsApiFunction", "s3:GetObject", f"arn:aws:s3:::{BUCKET}/outbox/", "outbox/")
    assert recorder.counts == {head: 2, put: 1, link: 1}
    assert recorder.outside == 1
    # written as each kind is first seen (a killed stack keeps them), then with the counts
    lines = [json.loads(line) for line in recorder.path.read_text().splitlines()]
    assert [line["action"] for line in lines] == ["s3:GetObject", "s3:PutObject", "s3:GetObject"]
    assert read_calls(tmp_path) == {head: 1, put: 1, link: 1}
    recorder.write()
    assert read_calls(tmp_path) == {head: 2, put: 1, link: 1}


def test_a_missing_object_read_needs_the_listing_right(tmp_path: Path) -> None:
    """S3 answers NoSuchKey (404) only to a caller that may list the bucket (else 403): the
    product's optional reads rely on it, so the recorder asks for s3:ListBucket."""
    recorder = CallRecorder(tmp_path / "calls-2.jsonl")
    s3, stub = _stubbed_s3(recorder)
    stub.add_client_error("get_object", "NoSuchKey", http_status_code=404)
    stub.add_response("get_object", {}, {"Bucket": BUCKET, "Key": "config/plans/hn.json"})
    with stub, running_as("ExportFunction"):
        with pytest.raises(s3.exceptions.NoSuchKey):
            s3.get_object(Bucket=BUCKET, Key="config/plans/hn.json")
        s3.get_object(Bucket=BUCKET, Key="config/plans/hn.json")
    read = Call("ExportFunction", "s3:GetObject", f"arn:aws:s3:::{BUCKET}/config/", "config/")
    listing = Call("ExportFunction", "s3:ListBucket", f"arn:aws:s3:::{BUCKET}")
    assert recorder.counts == {read: 2, listing: 1}
