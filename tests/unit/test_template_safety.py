"""What a security reviewer signs in template.yaml: the data outlives the stack, and every
failure that is given up on (a dead-letter queue, a failed import, a failing stage) reaches
the alarm topic. Removing any of it fails here."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from devstack.template import LocalTemplate, load_template

ROOT = Path(__file__).resolve().parents[2]

RAW = load_template()
RESOURCES: dict[str, Any] = RAW["Resources"]

#: Tables whose items are member data, or quote it (ecm/models): patients and their lookup
#: keys (CIN, name, date of birth), authorizations (member id and name), care activities, the
#: audit trail of who read or changed a patient, import files (row errors quote the file's
#: values) and exports (the members a return file left out, and what went to which plan).
PHI_TABLES = {
    "PatientsTable",
    "PatientKeysTable",
    "AuthorizationsTable",
    "ActivitiesTable",
    "AuditTable",
    "ImportFilesTable",
    "ExportsTable",
}
#: Event sources Lambda invokes asynchronously (a failure is retried, then dropped unless the
#: function has a dead-letter queue or an on-failure destination).
ASYNC_EVENTS = {
    "Schedule",
    "ScheduleV2",
    "S3",
    "SNS",
    "EventBridgeRule",
    "CloudWatchEvent",
    "CloudWatchLogs",
    "IoTRule",
    "Cognito",
}
RETAINED_TYPES = ("AWS::DynamoDB::Table", "AWS::S3::Bucket", "AWS::SecretsManager::Secret")


def of_type(kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in RESOURCES.items() if v["Type"] == kind}


def props(logical: str) -> dict[str, Any]:
    return dict(RESOURCES[logical].get("Properties") or {})


def arn_of(value: Any) -> str:
    """The logical id an ``!GetAtt X.Arn`` names (anything else: not a resource of ours)."""
    assert isinstance(value, dict) and list(value) == ["Fn::GetAtt"], value
    logical, attribute = value["Fn::GetAtt"]
    assert attribute == "Arn" and logical in RESOURCES, value
    return str(logical)


def topics() -> set[str]:
    return set(of_type("AWS::SNS::Topic"))


def alarms_on(namespace: str, metric: str, dimension: str, value: Any) -> list[dict[str, Any]]:
    """The alarms on one metric of one resource that notify the alarm topic when it breaches."""
    found = []
    for logical in of_type("AWS::CloudWatch::Alarm"):
        p = props(logical)
        if (p.get("Namespace"), p.get("MetricName")) != (namespace, metric):
            continue
        if p.get("Dimensions") != [{"Name": dimension, "Value": value}]:
            continue
        actions = {
            a["Ref"] for a in p.get("AlarmActions", []) if isinstance(a, dict) and "Ref" in a
        }
        if actions & topics():
            found.append(p)
    return found


def assert_alarmed_above_zero(namespace: str, metric: str, dimension: str, value: Any) -> None:
    found = alarms_on(namespace, metric, dimension, value)
    assert found, f"no alarm on {namespace} {metric} of {value} notifying the alarm topic"
    for p in found:
        assert p["ComparisonOperator"] == "GreaterThanThreshold" and p["Threshold"] == 0, p
        assert p["TreatMissingData"] == "notBreaching", p


# --- data kept ------------------------------------------------------------------------------


def test_the_template_has_the_resources_these_tests_are_about() -> None:
    assert len(of_type("AWS::DynamoDB::Table")) == 12
    assert len(of_type("AWS::S3::Bucket")) == 1
    assert len(of_type("AWS::SecretsManager::Secret")) == 1
    assert set(of_type("AWS::DynamoDB::Table")) >= PHI_TABLES


@pytest.mark.parametrize(
    "logical", sorted(k for k, v in RESOURCES.items() if v["Type"] in RETAINED_TYPES)
)
def test_tables_bucket_and_secret_outlive_the_stack(logical: str) -> None:
    resource = RESOURCES[logical]
    assert resource.get("DeletionPolicy") == "Retain", logical
    assert resource.get("UpdateReplacePolicy") == "Retain", logical


@pytest.mark.parametrize("logical", sorted(PHI_TABLES))
def test_tables_with_member_data_refuse_deletion(logical: str) -> None:
    assert props(logical).get("DeletionProtectionEnabled") is True, logical


# --- failures heard -------------------------------------------------------------------------


def async_functions() -> dict[str, dict[str, Any]]:
    """Functions with an event source Lambda invokes asynchronously."""
    return {
        logical: props(logical)
        for logical in of_type("AWS::Serverless::Function")
        if any(e["Type"] in ASYNC_EVENTS for e in (props(logical).get("Events") or {}).values())
    }


def failure_queues(function: dict[str, Any]) -> set[str]:
    """The queues a function's failed asynchronous invocations go to."""
    queues = set()
    if "DeadLetterQueue" in function:
        assert function["DeadLetterQueue"]["Type"] == "SQS"
        queues.add(arn_of(function["DeadLetterQueue"]["TargetArn"]))
    on_failure = (function.get("EventInvokeConfig") or {}).get("DestinationConfig", {})
    if "OnFailure" in on_failure:
        assert on_failure["OnFailure"]["Type"] == "SQS"
        queues.add(arn_of(on_failure["OnFailure"]["Destination"]))
    return queues


def dead_letter_queues() -> set[str]:
    """Every queue that is a queue's dead-letter target, a function's dead-letter queue or
    on-failure destination, or an EventBridge target's dead-letter queue."""
    queues = {
        arn_of(props(q)["RedrivePolicy"]["deadLetterTargetArn"])
        for q in of_type("AWS::SQS::Queue")
        if "RedrivePolicy" in props(q)
    }
    for logical in of_type("AWS::Serverless::Function"):
        function = props(logical)
        queues |= failure_queues(function)
        for event in (function.get("Events") or {}).values():
            config = (event.get("Properties") or {}).get("DeadLetterConfig")
            if config:
                queues.add(arn_of(config["Arn"]))
    return queues


def test_scheduled_functions_are_the_asynchronous_ones() -> None:
    assert {"ExpireUploadsFunction", "ExportScheduleFunction"} <= set(async_functions())


@pytest.mark.parametrize("logical", sorted(async_functions()))
def test_asynchronous_functions_keep_what_fails(logical: str) -> None:
    function = async_functions()[logical]
    assert failure_queues(function), f"{logical}: no DeadLetterQueue or OnFailure destination"
    retries = (function.get("EventInvokeConfig") or {}).get("MaximumRetryAttempts")
    assert retries is None or 0 <= retries <= 2, logical
    for name, event in function["Events"].items():
        if event["Type"] in ("Schedule", "ScheduleV2"):
            config = event["Properties"].get("DeadLetterConfig")
            assert config and arn_of(config["Arn"]), f"{logical}.{name}: no DeadLetterConfig"
            assert "RetryPolicy" in event["Properties"], f"{logical}.{name}: no RetryPolicy"


def test_eventbridge_may_send_to_the_schedule_dead_letter_queues() -> None:
    """SAM adds no queue policy for a DeadLetterConfig given by Arn."""
    allowed: set[str] = set()
    for logical in of_type("AWS::SQS::QueuePolicy"):
        for statement in props(logical)["PolicyDocument"]["Statement"]:
            if statement["Principal"] == {"Service": "events.amazonaws.com"}:
                allowed |= {arn_of(r) for r in statement["Resource"]}
    for logical, function in async_functions().items():
        for event in function["Events"].values():
            config = (event.get("Properties") or {}).get("DeadLetterConfig")
            if config:
                assert arn_of(config["Arn"]) in allowed, logical


def test_the_dead_letter_queues_are_the_ones_expected() -> None:
    assert dead_letter_queues() >= {
        "InboxDeadLetterQueue",
        "WebhookDeadLetterQueue",
        "ExportDeadLetterQueue",
        "ExpireUploadsDeadLetterQueue",
        "ExportScheduleDeadLetterQueue",
    }


@pytest.mark.parametrize("queue", sorted(dead_letter_queues()))
def test_every_dead_letter_queue_has_a_depth_alarm(queue: str) -> None:
    value = {"Fn::GetAtt": [queue, "QueueName"]}
    assert_alarmed_above_zero("AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", value)


@pytest.mark.parametrize("metric", ["ExecutionsFailed", "ExecutionsTimedOut", "ExecutionsAborted"])
def test_the_import_state_machine_has_its_alarms(metric: str) -> None:
    value = {"Ref": "ImportStateMachine"}
    assert_alarmed_above_zero("AWS/States", metric, "StateMachineArn", value)


def stage_functions() -> set[str]:
    """Every function the import state machine invokes (its definition's substitutions)."""
    substitutions = props("ImportStateMachine")["DefinitionSubstitutions"]
    return {arn_of(value) for value in substitutions.values()}


def test_the_stages_are_the_ones_of_the_state_machine() -> None:
    assert stage_functions() >= {
        "ValidateFunction",
        "LockFunction",
        "PlanFunction",
        "ApplyFunction",
        "FinalizeFunction",
        "RollbackFunction",
    }


@pytest.mark.parametrize("metric", ["Errors", "Throttles"])
@pytest.mark.parametrize("function", sorted(stage_functions() | {"ExportFunction"}))
def test_stage_functions_and_the_export_worker_have_their_alarms(
    function: str, metric: str
) -> None:
    assert function in of_type("AWS::Serverless::Function")
    assert alarms_on("AWS/Lambda", metric, "FunctionName", {"Ref": function}), function


def test_every_alarm_notifies_the_topic_and_says_what_to_do() -> None:
    alarms = of_type("AWS::CloudWatch::Alarm")
    assert len(alarms) >= 24
    for logical in alarms:
        p = props(logical)
        assert p["AlarmActions"] and all(a["Ref"] in topics() for a in p["AlarmActions"]), logical
        assert p["TreatMissingData"] == "notBreaching", logical
        assert len(p["AlarmDescription"]) > 80, logical
        assert p["AlarmName"], logical


def test_the_topic_is_encrypted_with_a_key_cloudwatch_may_use() -> None:
    """CloudWatch cannot publish to a topic under the AWS-managed alias/aws/sns key."""
    [topic] = topics()
    key = props(topic)["KmsMasterKeyId"]
    assert key != "alias/aws/sns"
    [statement] = [
        s
        for s in props(key["Ref"])["KeyPolicy"]["Statement"]
        if s["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    ]
    assert statement["Effect"] == "Allow"
    assert {"kms:Decrypt", "kms:GenerateDataKey*"} <= set(statement["Action"])


def test_alarm_email_subscribes_only_when_given() -> None:
    assert RAW["Parameters"]["AlarmEmail"]["Default"] == ""
    subscriptions = of_type("AWS::SNS::Subscription")
    emails = {k: v for k, v in subscriptions.items() if v["Properties"]["Protocol"] == "email"}
    assert emails, "no email subscription"
    for logical, resource in emails.items():
        assert resource.get("Condition") == "HasAlarmEmail", logical
        assert resource["Properties"]["Endpoint"] == {"Ref": "AlarmEmail"}, logical
        assert resource["Properties"]["TopicArn"]["Ref"] in topics(), logical
    assert not LocalTemplate(RAW, {}, 4566).condition("HasAlarmEmail")
    given = LocalTemplate(RAW, {"AlarmEmail": "oncall@example.org"}, 4566)
    assert given.condition("HasAlarmEmail")


def test_only_system_failures_fail_an_import_execution() -> None:
    """ExecutionsFailed alarms: a file with invalid rows (rejected by validate, or rows that
    matched ambiguously in plan) is the sender's to fix, so its execution succeeds; a
    rollback for any other reason, and a failed rollback, fail it."""
    states = json.loads((ROOT / "statemachine" / "import.asl.json").read_text())["States"]
    assert states["IsValid"]["Default"] == "Rejected"
    assert states["Rejected"]["Type"] == "Succeed"
    choices = states["RolledBack"]["Choices"]
    rejected = [c for c in choices if c.get("StringEquals") == "ImportRejected"]
    assert [(c["Variable"], c["Next"]) for c in rejected] == [
        ("$.error.Error", "RejectedWhilePlanning")
    ]
    assert states["RejectedWhilePlanning"]["Type"] == "Succeed"
    assert states["RolledBack"]["Default"] == "ImportFailed"
    assert states["ImportFailed"]["Type"] == "Fail"
    assert "Catch" not in states["Rollback"]  # a failed rollback fails the execution
