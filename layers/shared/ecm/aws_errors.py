"""Which AWS errors mean "try again", and which mean "a condition did not hold".

botocore's standard retry mode already retries throttling and 5xx answers a few times per
call; what reaches the product after that is read here, in one place, so that an import
stage is retried instead of rolled back (``ServiceBusy``) and the API answers 503 instead of
500. DynamoDB's error handling guide lists the retryable answers:
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html

A ``TransactionCanceledException`` is read by its ``CancellationReasons``, one per item in
request order (``None`` where that item was fine): only ``ConditionalCheckFailed`` means a
condition did not hold; ``TransactionConflict`` (another transaction held an item) and the
throttling reasons mean nothing was written and the same request may succeed later.
https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html
"""

from __future__ import annotations

import random
import time

from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotocoreConnectionError
from pynamodb.exceptions import PynamoDBException

from ecm.errors import BatchIncomplete, ServiceBusy

#: Codes of an answer that was throttled or failed inside AWS (S3 says SlowDown and
#: InternalError; DynamoDB its own names): the same request may succeed later.
RETRYABLE_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "Throttling",
        "TooManyRequestsException",
        "SlowDown",
        "InternalError",
        "InternalServerError",
        "InternalFailure",
        "ServiceUnavailable",
        "RequestTimeout",
        "RequestTimeoutException",
        "TransactionConflictException",
        "TransactionInProgressException",
    }
)
TRANSACTION_CANCELED = "TransactionCanceledException"
CONDITION_FAILED = "ConditionalCheckFailedException"
#: Cancellation reasons after which the whole transaction may simply be sent again.
RETRYABLE_REASONS = frozenset(
    {"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"}
)


def error_code(exc: BaseException) -> str | None:
    """The AWS error code of a botocore or pynamodb exception (None for anything else)."""
    if isinstance(exc, PynamoDBException):
        return exc.cause_response_code
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code")
        return str(code) if code is not None else None
    return None


def cancellation_codes(exc: BaseException) -> list[str]:
    """The cancellation reason codes of a cancelled transaction, in item order ("None" for
    an item that was fine); empty for any other error. pynamodb keeps them on its own
    client error (``cancellation_reasons``), botocore in the parsed response."""
    cause: object = exc.cause if isinstance(exc, PynamoDBException) else exc
    reasons = getattr(cause, "cancellation_reasons", None)
    if reasons:
        return [reason.code if reason is not None else "None" for reason in reasons]
    if isinstance(cause, ClientError):
        return [str(r.get("Code")) for r in cause.response.get("CancellationReasons") or []]
    return []


def condition_failed(exc: BaseException) -> bool:
    """Did a write fail because one of its conditions did not hold (a version changed, an
    item exists)? A transaction cancelled only for a conflict or throttling did not."""
    code = error_code(exc)
    if code == CONDITION_FAILED:
        return True
    return code == TRANSACTION_CANCELED and "ConditionalCheckFailed" in cancellation_codes(exc)


def retryable_cancellation(exc: BaseException) -> bool:
    """A cancelled transaction whose every reason is a conflict or throttling."""
    if error_code(exc) != TRANSACTION_CANCELED:
        return False
    reasons = [code for code in cancellation_codes(exc) if code != "None"]
    return bool(reasons) and all(code in RETRYABLE_REASONS for code in reasons)


def is_retryable(exc: BaseException) -> bool:
    """Would the same request, sent again later, likely succeed (AWS busy, not us wrong)?"""
    if isinstance(exc, ServiceBusy | BatchIncomplete | BotocoreConnectionError | HTTPClientError):
        return True
    code = error_code(exc)
    if code in RETRYABLE_CODES or retryable_cancellation(exc):
        return True
    cause: object = exc.cause if isinstance(exc, PynamoDBException) else exc
    if isinstance(cause, ClientError):
        status = cause.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        return int(status) >= 500
    return isinstance(cause, BotocoreConnectionError | HTTPClientError)


def error_name(exc: BaseException) -> str:
    """What a log or a stage's error may say about an exception: its AWS code or its type."""
    return error_code(exc) or type(exc).__name__


def backoff(attempt: int, base: float = 0.05, cap: float = 2.0) -> None:
    """Sleep before attempt ``attempt + 1``: full jitter over an exponential bound, so callers
    that failed together do not come back together."""
    time.sleep(random.uniform(0, min(cap, base * 2**attempt)))  # noqa: S311
