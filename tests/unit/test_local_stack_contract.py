"""The local stack depends on a private moto method and on template.yaml: these tests fail
loudly when either changes under us, instead of imports silently echoing their input."""

from __future__ import annotations

import inspect
import io
import json
import re
import tomllib
import zipfile
from importlib.metadata import version
from pathlib import Path
from types import SimpleNamespace

import boto3
import moto.awslambda.models as lambda_models
import moto.s3.notifications as notifications
import pytest
from aws_lambda_powertools.utilities.parser.models import S3Model
from moto import mock_aws

from devstack.lambdas import load_handler
from devstack.stack import (
    BUILT_TYPES,
    ROLE_NAME,
    SKIPPED_TYPES,
    _s3_event_as_aws_sends_it,
    install_lambda_shim,
    unbuilt_types,
)
from devstack.template import ROOT, LocalTemplate, load_template


def test_moto_is_the_pinned_version_with_the_hooked_method() -> None:
    pinned = tomllib.loads((ROOT / "pyproject.toml").read_text())
    dev = pinned["project"]["optional-dependencies"]["dev"]
    assert f"moto[server,stepfunctions]=={version('moto')}" in dev
    signature = inspect.signature(lambda_models.LambdaFunction._invoke_lambda)
    assert list(signature.parameters) == ["self", "event"]


def test_shim_runs_our_handler_for_a_lambda_invoke() -> None:
    calls = []

    def handler(event: dict, context: object) -> dict:
        calls.append(event)
        if event.get("fail"):
            raise ValueError("no such row")
        return {"doubled": event["n"] * 2, "function": context.function_name}  # type: ignore[attr-defined]

    original = lambda_models.LambdaFunction._invoke_lambda
    try:
        with mock_aws():
            install_lambda_shim({"Probe": handler})
            iam = boto3.client("iam", region_name="us-east-1")
            role = iam.create_role(RoleName=ROLE_NAME, AssumeRolePolicyDocument="{}")["Role"]["Arn"]
            archive = io.BytesIO()
            with zipfile.ZipFile(archive, "w") as zf:
                zf.writestr("app.py", "")
            lam = boto3.client("lambda", region_name="us-east-1")
            lam.create_function(
                FunctionName="Probe",
                Runtime="python3.11",
                Handler="app.handler",
                Role=role,
                Code={"ZipFile": archive.getvalue()},
            )
            ok = lam.invoke(FunctionName="Probe", Payload=json.dumps({"n": 21}))
            assert json.loads(ok["Payload"].read()) == {"doubled": 42, "function": "Probe"}
            failed = lam.invoke(FunctionName="Probe", Payload=json.dumps({"fail": True}))
            assert failed["FunctionError"] == "Handled"
            assert json.loads(failed["Payload"].read()) == {
                "errorType": "ValueError",
                "errorMessage": "no such row",
            }
    finally:
        lambda_models.LambdaFunction._invoke_lambda = original
    assert calls == [{"n": 21}, {"fail": True}]


def test_every_function_of_the_template_loads_its_handler() -> None:
    template = LocalTemplate(load_template(), {}, 4566)
    functions = template.functions()
    assert {"AuthorizerFunction", "MifsApiFunction", "ValidateFunction", "RollbackFunction"} <= set(
        functions
    )
    for function in functions.values():
        assert callable(load_handler(function)), function.logical_id
    routes = {(m, p) for f in functions.values() for m, p, _ in f.routes}
    assert ("POST", "/v1/admin/clinic/ecm/mifs") in routes
    assert ("GET", "/v1/admin/clinic/ecm/mifs/{id}") in routes


def test_state_machine_substitutions_leave_no_placeholder() -> None:
    template = LocalTemplate(load_template(), {}, 4566)
    name, definition = template.state_machine("ImportStateMachine")
    assert name == "ImportStateMachine"
    assert "${" not in definition
    states = json.loads(definition)["States"]
    assert (
        states["Validate"]["Resource"]
        == "arn:aws:lambda:us-east-1:123456789012:function:ValidateFunction"
    )
    assert set(states) >= {"Validate", "Lock", "Plan", "Apply", "Finalize", "Rollback"}


def test_every_resource_type_is_built_or_skipped_on_purpose() -> None:
    """A new type in template.yaml needs a decision here: built locally, or skipped with why."""
    template = LocalTemplate(load_template(), {}, 4566)
    assert unbuilt_types(template) == set()
    assert not BUILT_TYPES & set(SKIPPED_TYPES)
    assert all(reason.strip() for reason in SKIPPED_TYPES.values())
    kinds = {resource["Type"] for resource in template.resources.values()}
    assert {"AWS::SNS::Topic", "AWS::CloudWatch::Alarm"} <= kinds
    template.raw["Resources"]["Probe"] = {"Type": "AWS::Logs::MetricFilter"}
    assert unbuilt_types(template) == {"AWS::Logs::MetricFilter"}


def test_every_table_is_named_in_the_function_environment() -> None:
    raw = load_template()
    tables = {k for k, v in raw["Resources"].items() if v["Type"] == "AWS::DynamoDB::Table"}
    env = raw["Globals"]["Function"]["Environment"]["Variables"]
    referenced = {v["Ref"] for v in env.values() if isinstance(v, dict) and "Ref" in v}
    assert tables <= referenced


def test_handlers_stay_thin() -> None:
    for path in Path(ROOT / "functions").glob("*/app.py"):
        code = [
            line
            for line in path.read_text().splitlines()
            if line.strip() and not line.strip().startswith(("#", '"', "from", "import"))
        ]
        assert len(code) < 40, f"{path} holds logic that belongs in layers/shared"
        assert not re.search(r"boto3\.", path.read_text()), path


def test_s3_events_of_the_local_stack_read_as_aws_notifications() -> None:
    """moto's _get_s3_event (private) builds the notification; the shim completes it so that
    Powertools' S3 event model reads it as the inbox does on AWS."""

    params = list(inspect.signature(notifications._get_s3_event).parameters)
    assert params == ["event_name", "bucket", "key", "notification_id"]
    bucket = SimpleNamespace(name="b", arn="arn:aws:s3:::b", region_name="us-east-1")
    key = SimpleNamespace(name="inbox/mif/a b.csv", etag='"abc"', size=3)
    with pytest.raises(ValueError):
        S3Model.model_validate(
            notifications._get_s3_event("s3:ObjectCreated:Put", bucket, key, "n")
        )
    first = S3Model.model_validate(
        _s3_event_as_aws_sends_it("s3:ObjectCreated:Put", bucket, key, "n")
    ).Records[0]
    second = S3Model.model_validate(
        _s3_event_as_aws_sends_it("s3:ObjectCreated:Put", bucket, key, "n")
    ).Records[0]
    assert first.s3.object is not None and second.s3.object is not None
    assert (first.s3.object.key, first.s3.object.eTag) == ("inbox%2Fmif%2Fa+b.csv", "abc")
    assert first.s3.object.sequencer < second.s3.object.sequencer
