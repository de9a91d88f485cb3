"""Every AWS client the product makes, configured once, and the hooks each one gets.

boto3's clients (S3, SQS, Step Functions, the import stages' bulk DynamoDB calls) come from
``client``; pynamodb makes its own DynamoDB clients, and the models pass each through
``instrument`` (ecm.models.base). A hook registered with ``add_client_hook`` is applied to
every client either way: the local AWS faults (ecm.aws_faults), the local stack's record of
each function's calls (devstack.aws_calls) and the capacity benchmark's recorder see exactly
the calls the product makes, with the product's own retry settings. Powertools' idempotency
store and secrets provider are given these clients too.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from functools import cache
from typing import Any

import boto3
import botocore.session
from botocore.config import Config

from ecm import aws_faults
from ecm.settings import get_settings

Item = dict[str, Any]

#: botocore's attempts per call (standard mode: throttling and 5xx, with jittered backoff).
CALL_ATTEMPTS = 6

_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": CALL_ATTEMPTS},
    parameter_validation=False,
    max_pool_connections=32,
    # No CRC32 over every request and response body unless the API requires it: imports
    # move hundreds of MB through S3 and DynamoDB, and TLS already protects them in transit.
    request_checksum_calculation="when_required",
    response_checksum_validation="when_required",
)

_S3_CONFIG = _CONFIG.merge(Config(signature_version="s3v4", s3={"addressing_style": "path"}))

#: A bulk call's request, already in DynamoDB's JSON (see ``_take_prebuilt_body``).
PREBUILT_BODY = "EcmPrebuiltBody"

ClientHook = Callable[[Any], None]
_HOOKS: list[ClientHook] = []
_HOOKS_LOCK = threading.Lock()
#: Set once ECM_AWS_FAULTS was read for the clients made since the last ``drop_clients``.
_FAULTS_READ = threading.Event()


def add_client_hook(hook: ClientHook) -> None:
    """Apply ``hook`` to every client: those made from now on, and those made before,
    the next time they are asked for (``instrument``). A hook stays for the process's life."""
    with _HOOKS_LOCK:
        if hook not in _HOOKS:
            _HOOKS.append(hook)


def _read_faults() -> None:
    """Put the local AWS faults (ECM_AWS_FAULTS, ``ecm.aws_faults``) in force for every
    client, or none. Without the variable nothing is registered: no cost on any call."""
    rates = get_settings().aws_faults if os.environ.get(aws_faults.VARIABLE) else None
    aws_faults.activate(rates)
    if rates is not None:
        add_client_hook(aws_faults.attach_active)
    _FAULTS_READ.set()


def instrument(made: Any) -> Any:
    """Apply to one client the hooks it has not had yet. pynamodb's connections pass their
    client here on every call, so a hook added later still reaches them."""
    if not _FAULTS_READ.is_set():
        _read_faults()
    applied: list[ClientHook] = made.__dict__.setdefault("_ecm_hooks", [])
    if len(applied) != len(_HOOKS):
        with _HOOKS_LOCK:
            for hook in _HOOKS:
                if hook not in applied:
                    hook(made)
                    applied.append(hook)
    return made


def _take_prebuilt_body(params: Item, context: Item, **_: Any) -> None:
    """botocore's serializer walks every attribute of every item against the service model:
    ~0.3 ms per patient item, most of an import's apply CPU. Bulk calls already hold their
    request as the JSON DynamoDB reads (the plan stage wrote it; ``test_store`` proves it
    equal to botocore's own serialisation), so they pass it beside a minimal parameter set:
    this handler (botocore's ``before-parameter-build`` event) keeps it aside, and
    ``_use_prebuilt_body`` (``before-call``) puts it in the request botocore built, before
    botocore signs, sends, retries and parses it as for any other call."""
    body = params.pop(PREBUILT_BODY, None)
    if body is not None:
        context[PREBUILT_BODY] = body


def _use_prebuilt_body(params: Item, context: Item, **_: Any) -> None:
    body = context.get(PREBUILT_BODY)
    if body is not None:
        params["body"] = body


#: Held while a client is made: botocore's sessions are not thread-safe, its clients are.
CLIENT_LOCK = threading.RLock()


@cache
def botocore_session() -> botocore.session.Session:
    """The process's one botocore session. Each session loads its own endpoint and service
    data (about 20 MB); pynamodb would make one per table connection and per thread, which
    put an export's 16 reading threads over 300 MB. Every client, boto3's and pynamodb's,
    is made from this one (``ecm.models.base``)."""
    return botocore.session.get_session()


@cache
def _boto3_session() -> boto3.session.Session:
    """boto3 over that session, once: each boto3 session registers its own handlers on the
    botocore session (a second one would add S3's transfer methods twice)."""
    return boto3.session.Session(botocore_session=botocore_session())


def client(service: str) -> Any:
    """The product's client of one AWS service (thread-safe; one per process)."""
    return instrument(_client(service))


@cache
def _client(service: str) -> Any:
    config = _S3_CONFIG if service == "s3" else _CONFIG
    with CLIENT_LOCK:
        made = _boto3_session().client(service, config=config)  # type: ignore[call-overload]
    if service == "dynamodb":
        made.meta.events.register("before-parameter-build.dynamodb", _take_prebuilt_body)
        made.meta.events.register("before-call.dynamodb", _use_prebuilt_body)
    return made


def drop_clients() -> None:
    """Forget the boto3 clients made so far (tests change the endpoint between stacks); the
    faults are read again with the next client."""
    _client.cache_clear()
    botocore_session.cache_clear()
    _boto3_session.cache_clear()
    _secrets_provider.cache_clear()
    _FAULTS_READ.clear()


# --- Powertools' own AWS users, on the product's clients -------------------------------------
# They would make clients of their own, which no hook reaches: the local faults would miss
# them, and so would the local stack's record of each function's calls.


def idempotency_store() -> Any:
    """Powertools' idempotency records, in the template's idempotency table (the inbox
    trigger and the export schedule: an event delivered twice acts once). A new one each
    time: Powertools configures a store once, for the first function that uses it, and the
    local stack runs both functions in one process."""
    # Only the two functions that take events twice use it; the others start without it.
    from aws_lambda_powertools.utilities.idempotency import (  # noqa: PLC0415 - cold start
        DynamoDBPersistenceLayer,
    )

    return DynamoDBPersistenceLayer(
        table_name=get_settings().idempotency_table, boto3_client=client("dynamodb")
    )


#: How long a read of the webhook signing secret is reused (a rotation is seen within this).
SECRET_CACHE_SECONDS = 300


def webhook_signing_secret() -> str:
    """The Standard Webhooks signing secret from Secrets Manager, cached by Powertools."""
    secret_id = get_settings().webhook_secret_id
    if not secret_id:
        raise RuntimeError("WEBHOOK_SECRET_ID is not set")
    value = _secrets_provider(client("secretsmanager")).get(secret_id, max_age=SECRET_CACHE_SECONDS)
    return str(value).strip()


@cache
def _secrets_provider(secrets: Any) -> Any:
    """One provider (and its cache) per client: a client dropped for another endpoint
    (``drop_clients``) takes its cached secret with it."""
    # Only the webhook sender signs; every other function starts without Powertools' parameters.
    from aws_lambda_powertools.utilities.parameters import SecretsProvider  # noqa: PLC0415

    return SecretsProvider(boto3_client=secrets)
