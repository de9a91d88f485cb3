"""Start the local stack: moto server, the template's resources, the in-process Lambda shim,
the inbox poller and the API Gateway emulation. ``LocalStack.start()`` returns once it serves."""

from __future__ import annotations

import io
import itertools
import json
import logging
import os
import threading
import time
import urllib.request
import zipfile
from dataclasses import dataclass
from typing import Any

import boto3
import moto.awslambda.models as lambda_models
import moto.dynamodb.responses as moto_dynamodb_responses
import moto.s3.notifications as s3_notifications
import moto.stepfunctions.parser.asl.component.state.exec.state_task.lambda_eval_utils as sfn_lambda
from moto.core.models import botocore_stubber
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from moto.server import ThreadedMotoServer
from werkzeug.serving import make_server

from devstack.aws_calls import recorder_from_environment
from devstack.gateway import serve_api
from devstack.keeping import LocalData, data_dir_setting, end_interrupted_imports
from devstack.lambdas import Handler, carry_context_into_pools, invoke, load_handler, running_as
from devstack.moto_transactions import copy_named_items_only
from devstack.persistence import ChangeTracker
from devstack.template import ACCOUNT, REGION, LocalTemplate, SqsSource, load_template
from ecm import aws_faults
from ecm.api.auth import create_user, find_user
from ecm.clients import add_client_hook
from ecm.models import create_tables
from ecm.models.access import reset_clients
from ecm.settings import get_settings
from ecm.webhooks import display_secret

ROLE_NAME = "ecm-local-lambda"
#: SQS long-poll wait of the event-source pollers. A message still arrives at once; an idle
#: poll costs ~1.5 ms of CPU, so 1 s waits made two idle pollers 3.3 ms/s of the stack's CPU.
POLL_WAIT_SECONDS = 5
_ORIGINAL_INVOKE = lambda_models.LambdaFunction._invoke_lambda

#: The resource types of template.yaml the local stack builds (in moto, or in-process)...
BUILT_TYPES = frozenset(
    {
        "AWS::DynamoDB::Table",
        "AWS::SQS::Queue",
        "AWS::SecretsManager::Secret",
        "AWS::S3::Bucket",
        "AWS::Serverless::Function",
        "AWS::Serverless::StateMachine",
        "AWS::Serverless::Api",
    }
)
#: ...and the ones it leaves out on purpose, each with why (a type in neither is logged and
#: left out; tests/unit/test_local_stack_contract.py holds every type of the template to one).
#: The functions' EventInvokeConfig and their Schedule events' DeadLetterConfig are not
#: emulated either: no schedule runs locally, so nothing is invoked asynchronously.
SKIPPED_TYPES = {
    "AWS::Serverless::LayerVersion": "the layer's package runs in-process from layers/shared",
    "AWS::SQS::QueuePolicy": "moto does not enforce queue policies",
    "AWS::KMS::Key": "only the alarm topic's encryption uses it",
    "AWS::SNS::Topic": "only CloudWatch alarms publish to it",
    "AWS::SNS::Subscription": "no mail leaves the local stack",
    "AWS::CloudWatch::Alarm": "in-process functions emit none of the AWS metrics they watch",
    "AWS::Logs::LogGroup": "the API's access log: the local gateway writes no access log",
    "AWS::WAFv2::WebACLAssociation": "no WAF in front of the local gateway (and none by default)",
    "AWS::IAM::Role": "moto enforces no IAM: the tests hold each function's calls to its role "
    "(devstack.privileges)",
}


def unbuilt_types(template: LocalTemplate) -> set[str]:
    """Resource types of the template the local stack neither builds nor skips on purpose."""
    kinds = {resource["Type"] for resource in template.resources.values()}
    return kinds - BUILT_TYPES - set(SKIPPED_TYPES)


def install_lambda_shim(handlers: dict[str, Handler]) -> None:
    """Make moto run our handlers in-process (it would need Docker otherwise)."""

    def _invoke_lambda(self: Any, event: Any = None) -> tuple[str, bool, str]:
        if self.function_name not in handlers:
            return _ORIGINAL_INVOKE(self, event)  # type: ignore[no-any-return]
        return invoke(handlers, self.function_name, event)

    lambda_models.LambdaFunction._invoke_lambda = _invoke_lambda
    sfn_lambda.boto_client_for = _lambda_client_for


_ORIGINAL_S3_EVENT = s3_notifications._get_s3_event
_sequencers = itertools.count(1)


def _s3_event_as_aws_sends_it(event_name: str, bucket: Any, key: Any, notification_id: str) -> Any:
    """moto's S3 notification leaves out what AWS's carries (the caller's identity, the
    request ids, the bucket owner, the object's ``sequencer``): Powertools' S3 event model,
    which the inbox reads events with, refuses it. Fill them in as AWS documents them
    (https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html);
    the sequencer grows with every event, as AWS's does for one key."""
    event = _ORIGINAL_S3_EVENT(event_name, bucket, key, notification_id)
    for record in event["Records"]:
        record.setdefault("userIdentity", {"principalId": "AWS:local"})
        record.setdefault("requestParameters", {"sourceIPAddress": "127.0.0.1"})
        record.setdefault("responseElements", {"x-amz-request-id": "local", "x-amz-id-2": "local"})
        record["s3"]["bucket"].setdefault("ownerIdentity", {"principalId": "local"})
        record["s3"]["object"].setdefault("sequencer", f"{next(_sequencers):016X}")
    return event


def install_s3_event_shim() -> None:
    s3_notifications._get_s3_event = _s3_event_as_aws_sends_it


_ORIGINAL_CLIENT_FOR = sfn_lambda.boto_client_for
_lambda_clients: dict[tuple[str, str, bool], Any] = {}


def _lambda_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
    """moto's Step Functions interpreter builds a new boto3 client for every Lambda task
    (it ignores ``state_credentials``): 20-30 ms of CPU per chunk of an import, in the local
    stack's process only. Clients are thread-safe, so one per region and service will do."""
    key = (region, service, bool(botocore_stubber.enabled))
    made = _lambda_clients.get(key)
    if made is None:
        made = _lambda_clients[key] = _ORIGINAL_CLIENT_FOR(region, service, state_credentials)
    return made


_DYNAMODB_LOCK = threading.Lock()


def serialise_dynamodb() -> None:
    """One DynamoDB request at a time in the local store.

    moto 5.2.5 deep-copies every table a TransactWriteItems touches and puts the copies back
    when the transaction fails, without a lock: a failed transaction could undo one that
    committed meanwhile (seen as 8 activities with activities_count 7). DynamoDB itself is
    atomic; serialising moto's DynamoDB handler restores that.
    """
    handler = moto_dynamodb_responses.DynamoHandler
    if getattr(handler.call_action, "serialised", False):
        return
    original = handler.call_action

    def call_action(self: Any) -> Any:
        with _DYNAMODB_LOCK:
            return original(self)

    call_action.serialised = True  # type: ignore[attr-defined]
    handler.call_action = call_action  # type: ignore[method-assign]


def shim_installed() -> bool:
    return lambda_models.LambdaFunction._invoke_lambda is not _ORIGINAL_INVOKE


def _sqs_record(message: dict[str, Any], queue_arn: str) -> dict[str, Any]:
    """One received message in the shape Lambda hands an SQS-triggered function."""
    attributes = {
        name: _lambda_attribute(value)
        for name, value in (message.get("MessageAttributes") or {}).items()
    }
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": dict(message.get("Attributes") or {}),
        "messageAttributes": attributes,
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": REGION,
    }


def _lambda_attribute(value: dict[str, Any]) -> dict[str, Any]:
    names = {"StringValue": "stringValue", "BinaryValue": "binaryValue", "DataType": "dataType"}
    return {names[k]: v for k, v in value.items() if k in names}


def _webhook_secret(secrets: dict[str, str]) -> str | None:
    """The webhook signing secret as receivers take it (``whsec_...``), if the stack has one."""
    value = secrets.get(os.environ.get("WEBHOOK_SECRET_ID", ""))
    return display_secret(value) if value else None


@dataclass
class StackInfo:
    api_url: str
    aws_endpoint: str
    bucket: str
    admin_token: str
    staff_token: str | None
    webhook_secret: str | None = None
    data_dir: str | None = None
    restored: bool = False
    rolled_back: int = 0


class TrackedMotoServer(ThreadedMotoServer):
    """moto's threaded server, with a note of every request that changes the data."""

    def __init__(self, tracker_wanted: bool, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.tracker: ChangeTracker | None = None
        self.tracker_wanted = tracker_wanted

    def _server_entry(self) -> None:
        app: Any = DomainDispatcherApplication(create_backend_app)
        if self.tracker_wanted:
            app = self.tracker = ChangeTracker(app)
        self._server = make_server(
            self._ip_address, self._port, app, True, request_handler=MotoRequestHandler
        )
        self._server_ready_event.set()
        self._server.serve_forever()


class LocalStack:
    def __init__(self, port: int, aws_port: int, extra_env: dict[str, str] | None = None) -> None:
        self.port, self.aws_port = port, aws_port
        self.extra_env = extra_env or {}
        self.stop_event = threading.Event()
        parameters = {
            "UrlAllowlist": os.environ.get("ECM_URL_ALLOWLIST", ""),
            "DefaultWebhookUrl": os.environ.get("ECM_DEFAULT_WEBHOOK_URL", ""),
            "InboxPlans": os.environ.get("ECM_INBOX_PLANS", ""),
            "ExportSchedulePlans": os.environ.get("ECM_EXPORT_SCHEDULE_PLANS", ""),
        }
        self.template = LocalTemplate(load_template(), parameters, aws_port)
        for kind in sorted(unbuilt_types(self.template)):
            logging.getLogger(__name__).warning("the local stack does not build %s", kind)
        self.functions = self.template.functions()
        self.handlers: dict[str, Handler] = {}
        self.threads: list[threading.Thread] = []
        path = data_dir_setting()
        self.data = LocalData(path, _DYNAMODB_LOCK) if path else None
        self.recorder = recorder_from_environment()

    # --- environment ----------------------------------------------------------------------
    def _environment(self) -> None:
        endpoint = f"http://127.0.0.1:{self.aws_port}"
        os.environ.update(
            {
                "AWS_ENDPOINT_URL": endpoint,
                "AWS_DEFAULT_REGION": REGION,
                "AWS_REGION": REGION,
                "AWS_ACCESS_KEY_ID": "local",
                "AWS_SECRET_ACCESS_KEY": "local",
                "MOTO_PORT": str(self.aws_port),
                "NO_PROXY": "127.0.0.1,localhost",
                "POWERTOOLS_TRACE_DISABLED": "1",
                "POWERTOOLS_METRICS_NAMESPACE": "ecm-local",
            }
        )
        for proxy in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
            os.environ.pop(proxy, None)
        for function in self.functions.values():
            os.environ.update({k: str(v) for k, v in function.environment.items()})
        os.environ.update(self.extra_env)
        store = os.environ.get("ECM_STORE_ENDPOINT")
        if store:
            # Data services in another process (benchmarks: their CPU is not ours).
            for service in ("DYNAMODB", "S3", "SQS"):
                os.environ[f"AWS_ENDPOINT_URL_{service}"] = store

    # --- resources ------------------------------------------------------------------------
    def _client(self, service: str) -> Any:
        endpoint = (
            os.environ.get(f"AWS_ENDPOINT_URL_{service.upper()}") or os.environ["AWS_ENDPOINT_URL"]
        )
        return boto3.client(service, endpoint_url=endpoint, region_name=REGION)

    def _create_tables(self) -> None:
        """Every table, from its model (tests/unit/test_models.py holds each model equal to
        its table in the template)."""
        get_settings.cache_clear()
        reset_clients()
        create_tables()

    _QUEUE_ATTRIBUTES = ("VisibilityTimeout", "MessageRetentionPeriod", "DelaySeconds")

    def _create_queues(self) -> None:
        """Every queue with its visibility timeout and redrive policy (moto honours both)."""
        sqs = self._client("sqs")
        queues = self.template.of_type("AWS::SQS::Queue")
        urls = {
            logical: sqs.create_queue(QueueName=self.template.physical_name(logical))["QueueUrl"]
            for logical in queues
        }
        for logical, resource in queues.items():  # dead-letter queues exist by now
            props = self.template.resolve(resource.get("Properties", {}))
            attributes = {k: str(props[k]) for k in self._QUEUE_ATTRIBUTES if k in props}
            if "RedrivePolicy" in props:
                attributes["RedrivePolicy"] = json.dumps(props["RedrivePolicy"])
            if attributes:
                sqs.set_queue_attributes(QueueUrl=urls[logical], Attributes=attributes)

    _PASSWORD_OPTIONS = (
        "PasswordLength",
        "ExcludeCharacters",
        "ExcludeNumbers",
        "ExcludePunctuation",
        "ExcludeUppercase",
        "ExcludeLowercase",
        "IncludeSpace",
        "RequireEachIncludedType",
    )

    def _create_secrets(self) -> dict[str, str]:
        """Every secret, generated as GenerateSecretString says (moto's GetRandomPassword)."""
        secrets = self._client("secretsmanager")
        values: dict[str, str] = {}
        for logical, resource in self.template.of_type("AWS::SecretsManager::Secret").items():
            props = self.template.resolve(resource.get("Properties", {}))
            value = props.get("SecretString")
            spec = props.get("GenerateSecretString")
            if value is None and spec is not None:
                options = {k: v for k, v in spec.items() if k in self._PASSWORD_OPTIONS}
                value = secrets.get_random_password(**options)["RandomPassword"]
                if "SecretStringTemplate" in spec:
                    document = json.loads(spec["SecretStringTemplate"])
                    document[spec["GenerateStringKey"]] = value
                    value = json.dumps(document)
            name = self.template.physical_name(logical)
            secrets.create_secret(Name=name, SecretString=str(value or ""))
            values[name] = str(value or "")
        return values

    def _create_buckets(self) -> list[str]:
        s3 = self._client("s3")
        names = []
        for logical in self.template.of_type("AWS::S3::Bucket"):
            names.append(self.template.physical_name(logical))
            s3.create_bucket(Bucket=names[-1])
        return names

    def _notify_queues(self) -> None:
        """Each bucket's event notifications to its queues (after restored objects are in)."""
        s3 = self._client("s3")
        for logical, resource in self.template.of_type("AWS::S3::Bucket").items():
            notification = resource["Properties"].get("NotificationConfiguration", {})
            queues = []
            for config in notification.get("QueueConfigurations", []):
                rules = config.get("Filter", {}).get("S3Key", {}).get("Rules", [])
                queues.append(
                    {
                        "QueueArn": self.template.resolve(config["Queue"]),
                        "Events": [config["Event"]],
                        "Filter": {"Key": {"FilterRules": rules}},
                    }
                )
            if queues:
                s3.put_bucket_notification_configuration(
                    Bucket=self.template.physical_name(logical),
                    NotificationConfiguration={"QueueConfigurations": queues},
                )

    def _create_functions(self) -> None:
        iam = self._client("iam")
        role = iam.create_role(
            RoleName=ROLE_NAME,
            AssumeRolePolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "lambda.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                }
            ),
        )["Role"]["Arn"]
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w") as zf:
            zf.writestr("placeholder.py", "# code runs in-process; see devstack.stack\n")
        lam = self._client("lambda")
        for logical, function in self.functions.items():
            self.handlers[logical] = load_handler(function)
            lam.create_function(
                FunctionName=logical,
                Runtime="python3.11",
                Handler=function.handler,
                Role=role,
                Code={"ZipFile": archive.getvalue()},
                Environment={"Variables": {k: str(v) for k, v in function.environment.items()}},
                Timeout=900,
            )
        install_lambda_shim(self.handlers)
        install_s3_event_shim()
        carry_context_into_pools()

    def _create_state_machines(self) -> None:
        sfn = self._client("stepfunctions")
        for logical in self.template.of_type("AWS::Serverless::StateMachine"):
            name, definition = self.template.state_machine(logical)
            sfn.create_state_machine(
                name=name,
                definition=definition,
                roleArn=f"arn:aws:iam::{ACCOUNT}:role/{ROLE_NAME}",
            )

    def _enable_step_functions(self) -> None:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.aws_port}/moto-api/config",
            data=json.dumps({"stepfunctions": {"execute_state_machine": True}}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10):  # noqa: S310
            pass

    # --- SQS event sources (Lambda's event source mappings) ---------------------------------
    def _sqs_sources(self) -> list[tuple[str, SqsSource]]:
        return [(name, source) for name, f in self.functions.items() for source in f.queues]

    def _poll_queue(self, function: str, source: SqsSource) -> None:
        """Receive batches and invoke ``function`` like Lambda's SQS event source mapping.

        Succeeded messages are deleted; with ReportBatchItemFailures the reported ones (else,
        on an error, the whole batch) stay to be received again after their visibility timeout,
        and the queue's redrive policy moves them to its dead-letter queue.
        """
        sqs = self._client("sqs")
        url = sqs.get_queue_url(QueueName=source.queue)["QueueUrl"]
        if self.recorder:
            self.recorder.attach(sqs)
        with running_as(function):  # the mapping polls and deletes with the function's role
            self._poll(sqs, url, function, source)

    def _poll(self, sqs: Any, url: str, function: str, source: SqsSource) -> None:
        while not self.stop_event.is_set():
            try:
                messages = sqs.receive_message(
                    QueueUrl=url,
                    MaxNumberOfMessages=source.batch_size,
                    WaitTimeSeconds=POLL_WAIT_SECONDS,
                    MessageSystemAttributeNames=["All"],
                    MessageAttributeNames=["All"],
                ).get("Messages", [])
            except Exception:
                if self.stop_event.is_set():
                    return
                time.sleep(0.5)
                continue
            if self.stop_event.is_set():
                return  # stopped during the long poll: leave the messages in the queue
            if not messages:
                continue
            event = {"Records": [_sqs_record(m, source.queue_arn) for m in messages]}
            payload, errored, _ = invoke(self.handlers, function, event)
            failed: set[str] = set()
            if not errored and source.report_failures:
                result = json.loads(payload) or {}
                failed = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
            for m in messages:
                if not errored and m["MessageId"] not in failed:
                    sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])

    # --- lifecycle ------------------------------------------------------------------------
    def start(self) -> StackInfo:
        """Start everything; a saved state that cannot be used stops it before anything
        starts (persistence.StateError)."""
        snapshot = self.data.load() if self.data else None
        self._environment()
        if self.recorder:
            add_client_hook(self.recorder.attach)
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        serialise_dynamodb()
        copy_named_items_only()
        self.moto = TrackedMotoServer(
            self.data is not None, ip_address="127.0.0.1", port=self.aws_port, verbose=False
        )
        self.moto.start()
        self._enable_step_functions()  # before creating state machines (moto keeps two backends)
        # The stack's own setup goes through the models too: it meets no AWS fault
        # (ECM_AWS_FAULTS), the functions meet them from the first request on.
        with aws_faults.paused():
            self._create_tables()
            self._create_queues()
            secrets = self._create_secrets()
            buckets = self._create_buckets()
            if self.data:
                self.data.tracker = self.moto.tracker
                self.data.clients = {s: self._client(s) for s in ("s3", "sqs", "secretsmanager")}
                if snapshot:
                    self.data.restore(snapshot, buckets)
                    secrets.update(snapshot.secrets)
            self._notify_queues()
            self._create_functions()
            self._create_state_machines()

            get_settings.cache_clear()
            reset_clients()
            admin_token, staff_token = self._seed_users(snapshot.admin_token if snapshot else None)
            rolled_back = 0
            if snapshot:
                rolled_back = end_interrupted_imports(
                    lambda event: invoke(self.handlers, "RollbackFunction", event)
                )
            if self.data:
                self.data.admin_token = admin_token
                self.data.save()  # what was restored and rolled back, and the admin token
                self.data.keep_saving()

        for function, source in self._sqs_sources():
            poller = threading.Thread(
                target=self._poll_queue,
                args=(function, source),
                name=f"sqs-{source.queue}",
                daemon=True,
            )
            poller.start()
            self.threads.append(poller)

        self.api_server = serve_api(self.template, self.functions, self.handlers, self.port)
        return StackInfo(
            api_url=f"http://127.0.0.1:{self.port}",
            aws_endpoint=os.environ["AWS_ENDPOINT_URL"],
            bucket=buckets[0],
            admin_token=admin_token,
            staff_token=staff_token,
            webhook_secret=_webhook_secret(secrets),
            data_dir=str(self.data.path) if self.data else None,
            restored=snapshot is not None,
            rolled_back=rolled_back,
        )

    def _seed_users(self, saved_admin_token: str | None) -> tuple[str, str | None]:
        """The local admin (ECM_ADMIN_TOKEN, else the one a save kept, else a new one) and
        the staff user of ECM_STAFF_TOKEN; a user a save brought back is not made twice."""
        admin_token = os.environ.get("ECM_ADMIN_TOKEN") or saved_admin_token
        if not (admin_token and find_user(admin_token)):
            _, admin_token = create_user("Local Admin", "admin", admin_token)
        staff_token = os.environ.get("ECM_STAFF_TOKEN") or None
        if staff_token and not find_user(staff_token):
            create_user("Local Staff", "staff", staff_token)
        return admin_token, staff_token

    def stop(self) -> None:
        """Stop taking work, save the data (if kept), stop the store."""
        self.stop_event.set()
        if getattr(self, "api_server", None):
            self.api_server.shutdown()
        for thread in self.threads:  # pollers (daemon threads) may be in a long poll
            thread.join(timeout=0.2)
        if self.recorder:
            self.recorder.write()
        if self.data and getattr(self, "moto", None):
            self.data.stop()
        self.moto.stop()
