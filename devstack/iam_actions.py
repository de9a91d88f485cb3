"""What IAM checks for one AWS call: the actions and the resources (ARNs) AWS authorizes the
caller for, which are not always the API's own name (HeadObject is s3:GetObject, a
multipart upload s3:PutObject, a transaction each of its items' actions). The recorder
(devstack.aws_calls) notes these, not the API names, so the privilege check compares like
with like (https://docs.aws.amazon.com/service-authorization/latest/reference/).

An S3 object is named by its key's first folder only (``.../bucket/uploads/``): the key
itself may carry a file's name, and the template grants by folder."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from devstack.template import ACCOUNT, REGION

#: S3 operations authorized as another action (the rest: ``s3:<Operation>``).
_S3_ACTIONS = {
    "HeadObject": "GetObject",
    "CreateMultipartUpload": "PutObject",
    "UploadPart": "PutObject",
    "CompleteMultipartUpload": "PutObject",
    "DeleteObjects": "DeleteObject",
    "ListObjects": "ListBucket",
    "ListObjectsV2": "ListBucket",
    "ListObjectVersions": "ListBucketVersions",
    "HeadBucket": "ListBucket",
    "ListParts": "ListMultipartUploadParts",
    "CopyObject": "PutObject",
    "UploadPartCopy": "PutObject",
}
#: Calls on the bucket itself (no key).
_S3_BUCKET_ACTIONS = frozenset({"ListBucket", "ListBucketVersions"})
_SQS_ACTIONS = {
    "SendMessageBatch": "SendMessage",
    "DeleteMessageBatch": "DeleteMessage",
    "ChangeMessageVisibilityBatch": "ChangeMessageVisibility",
}
#: A transaction's items are authorized as the single-item actions (ConditionCheck as its own):
#: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis-iam.html
_TRANSACT_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
    "Get": "GetItem",
}


@dataclass(frozen=True, order=True)
class Permission:
    """One action on one resource; ``s3_prefix``: the key's folder (``uploads/``), or the
    ``Prefix`` a listing asks for (the ``s3:prefix`` condition key), else ''."""

    action: str
    resource: str
    s3_prefix: str = ""


def key_prefix(key: str) -> str:
    """The folder a key is granted by: its first segment with the slash ('' at the top)."""
    head, slash, _ = key.partition("/")
    return f"{head}/" if slash else ""


def permissions(service: str, operation: str, params: Mapping[str, Any]) -> list[Permission]:
    """The permissions one call of ``operation`` needs (``service``: the endpoint prefix,
    which is IAM's service prefix for every service the product uses)."""
    if service == "dynamodb":
        return list(_dynamodb(operation, params))
    if service == "s3":
        return list(_s3(operation, params))
    if service == "sqs":
        action = _SQS_ACTIONS.get(operation, operation)
        name = str(params.get("QueueName") or str(params.get("QueueUrl", "")).rsplit("/", 1)[-1])
        return [Permission(f"sqs:{action}", f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}")]
    if service == "states":
        return [Permission(f"states:{operation}", _states_resource(params))]
    if service == "secretsmanager":
        secret = str(params.get("SecretId", "*"))
        if not secret.startswith("arn:"):
            secret = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{secret}"
        return [Permission(f"secretsmanager:{operation}", secret)]
    if service == "lambda":
        name = str(params.get("FunctionName", "*"))
        if not name.startswith("arn:"):
            name = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"
        action = "InvokeFunction" if operation == "Invoke" else operation
        return [Permission(f"lambda:{action}", name)]
    return [Permission(f"{service}:{operation}", "*")]


def table_arn(name: str, index: str | None = None) -> str:
    arn = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}"
    return f"{arn}/index/{index}" if index else arn


def _dynamodb(operation: str, params: Mapping[str, Any]) -> Iterator[Permission]:
    if operation in ("TransactWriteItems", "TransactGetItems"):
        for item in params.get("TransactItems") or []:
            for kind, body in item.items():
                yield Permission(
                    f"dynamodb:{_TRANSACT_ACTIONS[kind]}", table_arn(body["TableName"])
                )
        return
    if operation in ("BatchWriteItem", "BatchGetItem"):
        for table in params.get("RequestItems") or {}:
            yield Permission(f"dynamodb:{operation}", table_arn(table))
        return
    index = params.get("IndexName") if operation in ("Query", "Scan") else None
    yield Permission(f"dynamodb:{operation}", table_arn(str(params.get("TableName")), index))


def _s3(operation: str, params: Mapping[str, Any]) -> Iterator[Permission]:
    bucket = str(params.get("Bucket", ""))
    action = _S3_ACTIONS.get(operation, operation)
    on_bucket = "Key" not in params and operation != "DeleteObjects"
    if action in _S3_BUCKET_ACTIONS or on_bucket:
        prefix = key_prefix(str(params.get("Prefix") or ""))
        yield Permission(f"s3:{action}", f"arn:aws:s3:::{bucket}", prefix)
        return
    if operation == "DeleteObjects":
        keys = [str(o["Key"]) for o in (params.get("Delete") or {}).get("Objects", [])]
    else:
        keys = [str(params["Key"])]
    versioned = bool(params.get("VersionId")) and action in ("GetObject", "DeleteObject")
    action = f"{action}Version" if versioned else action
    for prefix in sorted({key_prefix(k) for k in keys}):
        yield Permission(f"s3:{action}", f"arn:aws:s3:::{bucket}/{prefix}", prefix)
    if operation in ("CopyObject", "UploadPartCopy"):
        source_bucket, source_key = _copy_source(params["CopySource"])
        prefix = key_prefix(source_key)
        yield Permission("s3:GetObject", f"arn:aws:s3:::{source_bucket}/{prefix}", prefix)


def _copy_source(source: Any) -> tuple[str, str]:
    """A copy's source as boto3 takes it (a dict) or as botocore sends it ('bucket/key')."""
    if isinstance(source, Mapping):
        return str(source["Bucket"]), str(source["Key"])
    text = unquote(str(source).split("?versionId=", 1)[0]).lstrip("/")
    bucket, _, key = text.partition("/")
    return bucket, key


def _states_resource(params: Mapping[str, Any]) -> str:
    """A state machine's ARN, or its executions' (``...:execution:<machine>:``, the
    execution's own name left out: the template grants a machine's executions as one)."""
    if "stateMachineArn" in params:
        return str(params["stateMachineArn"])
    arn = str(params.get("executionArn", "*"))
    if ":execution:" in arn:
        return arn.rsplit(":", 1)[0] + ":"
    return arn
