"""AWS's failures on the local stack (``ECM_AWS_FAULTS``): moto never throttles, never leaves
batch items unprocessed, never cancels a transaction for a conflict and never answers an S3
5xx. This makes the product's own clients meet each, at a rate, as AWS sends them:

- ``throttle``: a DynamoDB data call answers ``ProvisionedThroughputExceededException``
  (HTTP 400; one in four ``ThrottlingException``; a transaction half the time
  ``TransactionCanceledException`` with a ``ThrottlingError`` reason), nothing written;
- ``unprocessed``: BatchWriteItem and BatchGetItem leave each item (key), with this
  probability, unwritten (unread) and hand it back in ``UnprocessedItems``
  (``UnprocessedKeys``); one item at least is processed (a call that processes none is
  AWS's ``ProvisionedThroughputExceededException``: the ``throttle`` fault);
- ``conflict``: TransactWriteItems is cancelled, nothing written, with one item's reason
  ``TransactionConflict`` and ``None`` for the others;
- ``s3``: GetObject, PutObject, HeadObject, CopyObject and the multipart calls answer
  ``503 SlowDown`` or ``500 InternalError``.

The faults are botocore event handlers on the product's clients (``ecm.clients`` adds them
when the variable is set), so botocore's retry mode and the product's own loops meet them
exactly as they would meet AWS's answers: ``before-send`` answers in AWS's place, and
``request-created`` (before signing, on every attempt) takes items out of a batch request
that ``after-call`` hands back as unprocessed. The shapes follow AWS's documents:
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html
https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html
https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchWriteItem.html
https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchGetItem.html
https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html
"""

from __future__ import annotations

import contextlib
import itertools
import math
import random
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from io import BytesIO
from typing import Any

import orjson
from botocore.awsrequest import AWSResponse
from botocore.parsers import create_parser

#: The variable, e.g. ``throttle=0.2,unprocessed=0.3,conflict=0.3,s3=0.1,seed=7``.
VARIABLE = "ECM_AWS_FAULTS"
FAULTS = ("throttle", "unprocessed", "conflict", "s3")

#: DynamoDB's data calls (never CreateTable and the like: those set a stack up).
DYNAMODB_CALLS = frozenset(
    {
        "GetItem",
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "Query",
        "Scan",
        "BatchGetItem",
        "BatchWriteItem",
        "TransactGetItems",
        "TransactWriteItems",
    }
)
S3_CALLS = frozenset(
    {
        "GetObject",
        "PutObject",
        "HeadObject",
        "CopyObject",
        "CreateMultipartUpload",
        "UploadPart",
        "CompleteMultipartUpload",
    }
)
_DYNAMODB_TYPE = "com.amazonaws.dynamodb.v20120810#"
_THROTTLED = (
    "Throughput exceeds the current capacity of your table or index. DynamoDB is "
    "automatically scaling your table or index so please try again shortly."
)
#: Where ``request-created`` leaves the items it took out, for ``after-call``.
_DROPPED = "ecm_aws_faults_dropped"


@dataclass(frozen=True)
class FaultRates:
    """How often each fault happens (0 to 1), and the seed of the draws (None: random)."""

    throttle: float = 0.0
    unprocessed: float = 0.0
    conflict: float = 0.0
    s3: float = 0.0
    seed: int | None = None


def parse_faults(text: str | None) -> FaultRates | None:
    """``name=rate,...`` with an optional ``seed=N``; None when empty. A bad entry is a
    ValueError that names it (the stack and every function refuse to start)."""
    if not text or not text.strip():
        return None
    rates: dict[str, float] = {}
    seed: int | None = None
    for entry in (part.strip() for part in text.split(",")):
        if not entry:
            continue
        name, equals, value = (piece.strip() for piece in entry.partition("="))
        if (
            not equals
            or name not in (*FAULTS, "seed")
            or name in rates
            or (name == "seed" and seed is not None)
        ):
            raise ValueError(
                f"{VARIABLE}: '{entry}' is not one of {', '.join(FAULTS)} or seed, "
                "given once each as name=value"
            )
        if name == "seed":
            if not value.isdigit():
                raise ValueError(f"{VARIABLE}: '{entry}': the seed is a whole number")
            seed = int(value)
            continue
        try:
            rate = float(value)
        except ValueError:
            rate = math.nan
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"{VARIABLE}: '{entry}': the rate is a number from 0 to 1")
        rates[name] = rate
    return FaultRates(seed=seed, **rates)


class _RawBody(BytesIO):
    """An answer's body as botocore reads a urllib3 response: ``stream()`` and ``read()``."""

    def stream(self, **_: Any) -> Iterator[bytes]:
        contents = self.read()
        while contents:
            yield contents
            contents = self.read()


def _answer(url: str, status: int, headers: dict[str, str], body: bytes) -> AWSResponse:
    headers = {**headers, "Content-Length": str(len(body))}
    return AWSResponse(url, status, headers, _RawBody(body))  # type: ignore[arg-type]


def _dynamodb_error(url: str, error: str, message: str, **extra: Any) -> AWSResponse:
    """DynamoDB's JSON error: HTTP 400, ``__type`` naming the exception."""
    body = orjson.dumps({"__type": f"{_DYNAMODB_TYPE}{error}", **extra, "message": message})
    headers = {
        "Content-Type": "application/x-amz-json-1.0",
        "x-amzn-RequestId": uuid.uuid4().hex.upper(),
    }
    return _answer(url, 400, headers, body)


def _cancelled(url: str, count: int, victim: int, reason: str, message: str) -> AWSResponse:
    """A cancelled transaction: one reason per item, ``None`` for those that were fine."""
    reasons = [
        {"Code": reason, "Message": message} if i == victim else {"Code": "None"}
        for i in range(count)
    ]
    summary = ", ".join(r["Code"] for r in reasons)
    return _dynamodb_error(
        url,
        "TransactionCanceledException",
        f"Transaction cancelled, please refer cancellation reasons for specific reasons "
        f"[{summary}]",
        CancellationReasons=reasons,
    )


def _s3_error(url: str, method: str, slow_down: bool) -> AWSResponse:
    """S3's XML error (a HEAD answer has no body, only the status)."""
    code, status, message = (
        ("SlowDown", 503, "Please reduce your request rate.")
        if slow_down
        else ("InternalError", 500, "We encountered an internal error. Please try again.")
    )
    request_id = uuid.uuid4().hex[:16].upper()
    body = b""
    if method != "HEAD":
        body = (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
            f"<Message>{message}</Message><RequestId>{request_id}</RequestId>"
            f"<HostId>local</HostId></Error>"
        ).encode()
    headers = {"Content-Type": "application/xml", "x-amz-request-id": request_id}
    return _answer(url, status, headers, body)


class FaultInjector:
    """The draws of one set of rates: a random generator per thread (from the seed and the
    thread's order of first use, so one thread's draws repeat with the same seed)."""

    def __init__(self, rates: FaultRates) -> None:
        self.rates = rates
        self._local = threading.local()
        self._threads = itertools.count()
        self._lock = threading.Lock()

    def _rng(self) -> random.Random:
        rng: random.Random | None = getattr(self._local, "rng", None)
        if rng is None:
            with self._lock:
                ordinal = next(self._threads)
            seed = None if self.rates.seed is None else f"{self.rates.seed}/{ordinal}"
            rng = self._local.rng = random.Random(seed)  # noqa: S311 - faults, not secrets
        return rng

    def happens(self, rate: float) -> bool:
        return rate > 0 and self._rng().random() < rate

    def attach(self, client: Any) -> None:
        """Give one client (DynamoDB or S3; others are left alone) this injector's faults."""
        _register(client, lambda: self)

    # --- unprocessed items ----------------------------------------------------------------
    def take_items(self, request: Any, operation: str) -> None:
        """``request-created`` of a batch call: leave items out of the request, keep them in
        the call's context for ``after-call`` (one item at least is processed)."""
        request.context[_DROPPED] = {}
        if not self.rates.unprocessed:
            return
        document = orjson.loads(request.data)
        kept: dict[str, Any] = {}
        dropped: dict[str, Any] = {}
        for table, wanted in document["RequestItems"].items():
            entries = wanted if operation == "BatchWriteItem" else wanted["Keys"]
            stay: list[Any] = []
            away: list[Any] = []
            for entry in entries:
                (away if self.happens(self.rates.unprocessed) else stay).append(entry)
            if operation == "BatchWriteItem":
                kept.update({table: stay} if stay else {})
                dropped.update({table: away} if away else {})
            else:
                kept.update({table: {**wanted, "Keys": stay}} if stay else {})
                dropped.update({table: {**wanted, "Keys": away}} if away else {})
        if dropped and not kept:
            # A call that processes nothing is AWS's ProvisionedThroughputExceededException,
            # which the throttle fault stands for: this one processes one item.
            table = self._rng().choice(sorted(dropped))
            away = dropped[table] if operation == "BatchWriteItem" else dropped[table]["Keys"]
            one = away.pop(self._rng().randrange(len(away)))
            kept = (
                {table: [one]}
                if operation == "BatchWriteItem"
                else {table: {**dropped[table], "Keys": [one]}}
            )
            if not away:
                del dropped[table]
        if dropped:
            request.data = orjson.dumps({**document, "RequestItems": kept})
            if "Content-Length" in request.headers:
                del request.headers["Content-Length"]
            request.context[_DROPPED] = dropped

    def hand_back(
        self, http_response: Any, parsed: dict[str, Any], model: Any, context: Any
    ) -> None:
        """``after-call``: the items left out, parsed by botocore as DynamoDB's own answer
        would be, join ``UnprocessedItems`` / ``UnprocessedKeys``."""
        dropped = context.pop(_DROPPED, None)
        if not dropped or http_response is None or http_response.status_code >= 300:
            return
        member = "UnprocessedItems" if model.name == "BatchWriteItem" else "UnprocessedKeys"
        fragment = create_parser("json").parse(
            {"status_code": 200, "headers": {}, "body": orjson.dumps({member: dropped})},
            model.output_shape,
        )[member]
        unprocessed = parsed.setdefault(member, {})
        for table, value in fragment.items():
            if table not in unprocessed:
                unprocessed[table] = value
            elif member == "UnprocessedItems":
                unprocessed[table].extend(value)
            else:
                unprocessed[table]["Keys"].extend(value["Keys"])

    # --- answers in AWS's place -----------------------------------------------------------
    def dynamodb_answer(self, request: Any, operation: str) -> AWSResponse | None:
        if operation not in DYNAMODB_CALLS:
            return None
        transaction = operation == "TransactWriteItems"
        if self.happens(self.rates.throttle):
            return self._throttled(request, transaction)
        if transaction and self.happens(self.rates.conflict):
            return self._transaction_cancelled(
                request, "TransactionConflict", "Transaction is ongoing for the item"
            )
        return None

    def _throttled(self, request: Any, transaction: bool) -> AWSResponse:
        """Mostly ProvisionedThroughputExceededException; sometimes ThrottlingException (an
        on-demand table past its maximum); a transaction half the time cancelled instead."""
        roll = self._rng().random()
        if transaction and roll < 0.5:
            return self._transaction_cancelled(request, "ThrottlingError", _THROTTLED)
        if roll < 0.75:
            return _dynamodb_error(
                request.url, "ProvisionedThroughputExceededException", _THROTTLED
            )
        return _dynamodb_error(
            request.url, "ThrottlingException", "Rate of requests exceeds the allowed throughput."
        )

    def _transaction_cancelled(self, request: Any, reason: str, message: str) -> AWSResponse:
        count = len(orjson.loads(request.body).get("TransactItems") or [None])
        return _cancelled(request.url, count, self._rng().randrange(count), reason, message)

    def s3_answer(self, request: Any, operation: str) -> AWSResponse | None:
        if operation not in S3_CALLS or not self.happens(self.rates.s3):
            return None
        return _s3_error(request.url, request.method, slow_down=self._rng().random() < 0.5)


class _Handlers:
    """One client's event handlers, asking ``injector_of`` at every call which injector
    (if any) is in force: a hook stays on a client for its life, the rates may change."""

    def __init__(self, injector_of: Callable[[], FaultInjector | None]) -> None:
        self.injector_of = injector_of

    def request_created(self, request: Any, operation_name: str, **_: Any) -> None:
        injector = self.injector_of()
        if injector is not None:
            injector.take_items(request, operation_name)

    def after_call(
        self, http_response: Any, parsed: dict[str, Any], model: Any, context: Any, **_: Any
    ) -> None:
        injector = self.injector_of()
        if injector is not None:
            injector.hand_back(http_response, parsed, model, context)

    def dynamodb(self, request: Any, event_name: str, **_: Any) -> AWSResponse | None:
        injector = self.injector_of()
        return injector.dynamodb_answer(request, _operation(event_name)) if injector else None

    def s3(self, request: Any, event_name: str, **_: Any) -> AWSResponse | None:
        injector = self.injector_of()
        return injector.s3_answer(request, _operation(event_name)) if injector else None


def _operation(event_name: str) -> str:
    return event_name.rsplit(".", 1)[-1]


def _register(client: Any, injector_of: Callable[[], FaultInjector | None]) -> None:
    handlers = _Handlers(injector_of)
    events = client.meta.events
    service = client.meta.service_model.service_id.hyphenize()
    if service == "dynamodb":
        for batch in ("BatchWriteItem", "BatchGetItem"):
            # The operation's own event comes before the signer's (``request-created.dynamodb``).
            events.register(f"request-created.dynamodb.{batch}", handlers.request_created)
            events.register(f"after-call.dynamodb.{batch}", handlers.after_call)
        events.register("before-send.dynamodb", handlers.dynamodb)
    elif service == "s3":
        events.register("before-send.s3", handlers.s3)


class _InForce:
    """The injector the product's clients use (``activate``), and pauses (``paused``)."""

    def __init__(self) -> None:
        self.injector: FaultInjector | None = None
        self.pauses = 0
        self.lock = threading.Lock()

    def current(self) -> FaultInjector | None:
        return None if self.pauses else self.injector


_in_force = _InForce()


def activate(rates: FaultRates | None) -> None:
    """Put ``rates`` in force for every client ``attach_active`` reached (None: no faults)."""
    with _in_force.lock:
        current = _in_force.injector
        if current is None or current.rates != rates:
            _in_force.injector = FaultInjector(rates) if rates else None


def attach_active(client: Any) -> None:
    """The client hook (``ecm.clients.add_client_hook``): the faults in force, when any."""
    _register(client, _in_force.current)


@contextlib.contextmanager
def paused() -> Iterator[None]:
    """No fault while the block runs (the local stack's own setup goes through the models)."""
    with _in_force.lock:
        _in_force.pauses += 1
    try:
        yield
    finally:
        with _in_force.lock:
            _in_force.pauses -= 1
