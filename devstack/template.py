"""Read template.yaml (CloudFormation tags included) and resolve what the local stack needs,
so tables, keys, queues, functions, routes and the state machine are never written twice."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
ACCOUNT = "123456789012"
REGION = "us-east-1"
STACK = "ecm-local"


class _Loader(yaml.SafeLoader):
    pass


def _tag(name: str) -> Any:
    def construct(loader: _Loader, node: yaml.Node) -> Any:
        if isinstance(node, yaml.ScalarNode):
            value: Any = loader.construct_scalar(node)
            if name == "Fn::GetAtt":
                value = str(value).split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
        return {name: value}

    return construct


for _short, _full in {
    "Ref": "Ref",
    "GetAtt": "Fn::GetAtt",
    "Sub": "Fn::Sub",
    "Join": "Fn::Join",
    "If": "Fn::If",
    "Equals": "Fn::Equals",
    "Not": "Fn::Not",
    "Or": "Fn::Or",
    "And": "Fn::And",
    "Condition": "Condition",
    "Select": "Fn::Select",
    "Split": "Fn::Split",
    "ImportValue": "Fn::ImportValue",
    "FindInMap": "Fn::FindInMap",
}.items():
    _Loader.add_constructor(f"!{_short}", _tag(_full))


def load_template(path: Path = ROOT / "template.yaml") -> dict[str, Any]:
    with path.open() as handle:
        return yaml.load(handle, Loader=_Loader)  # noqa: S506 - SafeLoader subclass


@dataclass(frozen=True)
class SqsSource:
    """An SQS event source of a function: the queue (by name), batch size, partial failures."""

    queue: str
    queue_arn: str
    batch_size: int
    report_failures: bool


@dataclass
class Function:
    logical_id: str
    code_uri: Path
    handler: str
    environment: dict[str, Any]
    routes: list[tuple[str, str, bool]] = field(default_factory=list)  # method, path, auth
    queues: list[SqsSource] = field(default_factory=list)


#: What ``Ref: AWS::NoValue`` resolves to: the item or property is left out.
_NO_VALUE = object()


@dataclass
class LocalTemplate:
    """The template with every name resolved for the local stack."""

    raw: dict[str, Any]
    parameters: dict[str, str]
    aws_port: int

    @property
    def resources(self) -> dict[str, Any]:
        return dict(self.raw["Resources"])

    def of_type(self, kind: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.resources.items() if v["Type"] == kind}

    # --- intrinsic functions -------------------------------------------------------------
    def physical_name(self, logical: str) -> str:
        resource = self.resources[logical]
        if resource["Type"] == "AWS::S3::Bucket" and "BucketName" in resource.get("Properties", {}):
            return str(self.resolve(resource["Properties"]["BucketName"]))
        return logical

    def ref(self, logical: str) -> Any:
        pseudo = {
            "AWS::StackName": STACK,
            "AWS::AccountId": ACCOUNT,
            "AWS::Region": REGION,
            "AWS::Partition": "aws",
        }
        if logical in pseudo:
            return pseudo[logical]
        if logical in self.parameters:
            return self.parameters[logical]
        spec = self.raw.get("Parameters", {}).get(logical)
        if spec is not None:
            return str(spec.get("Default", ""))
        kind = self.resources[logical]["Type"]
        name = self.physical_name(logical)
        if kind == "AWS::SQS::Queue":
            return f"http://127.0.0.1:{self.aws_port}/{ACCOUNT}/{name}"
        if kind == "AWS::Serverless::StateMachine":
            return f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{name}"
        return name

    def get_att(self, logical: str, attribute: str) -> Any:
        kind = self.resources[logical]["Type"]
        name = self.physical_name(logical)
        if attribute == "Arn":
            service = {
                "AWS::Serverless::Function": f"lambda:{REGION}:{ACCOUNT}:function:{name}",
                "AWS::SQS::Queue": f"sqs:{REGION}:{ACCOUNT}:{name}",
                "AWS::DynamoDB::Table": f"dynamodb:{REGION}:{ACCOUNT}:table/{name}",
                "AWS::S3::Bucket": f"s3:::{name}",
                "AWS::Serverless::StateMachine": f"states:{REGION}:{ACCOUNT}:stateMachine:{name}",
            }[kind]
            return f"arn:aws:{service}"
        if attribute == "Name":
            return name
        raise KeyError(f"{logical}.{attribute}")

    def condition(self, name: str) -> bool:
        """A condition of the template's Conditions, with the parameters given (or defaults)."""
        return self._holds(self.raw.get("Conditions", {})[name])

    def _holds(self, expression: Any) -> bool:
        ((key, arg),) = expression.items()
        if key == "Condition":
            return self.condition(arg)
        if key == "Fn::Equals":
            return bool(str(self.resolve(arg[0])) == str(self.resolve(arg[1])))
        if key == "Fn::Not":
            return not self._holds(arg[0])
        if key == "Fn::Or":
            return any(self._holds(a) for a in arg)
        if key == "Fn::And":
            return all(self._holds(a) for a in arg)
        raise ValueError(f"not a condition function: {key}")

    def resolve(self, value: Any) -> Any:
        """A value with its intrinsic functions resolved; ``Fn::If`` by its condition, a
        list item that resolves to ``AWS::NoValue`` left out, as CloudFormation does."""
        if isinstance(value, list):
            items = (self.resolve(v) for v in value)
            return [item for item in items if item is not _NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref" and arg == "AWS::NoValue":
                return _NO_VALUE
            if key == "Fn::If":
                return self.resolve(arg[1] if self.condition(arg[0]) else arg[2])
            if key == "Ref":
                return self.ref(arg)
            if key == "Fn::GetAtt":
                return self.get_att(arg[0], arg[1])
            if key == "Fn::Sub":
                text, extra = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])

                def sub(match: re.Match[str]) -> str:
                    name = match.group(1)
                    if name in extra:
                        return str(self.resolve(extra[name]))
                    if "." in name:
                        logical, attribute = name.split(".", 1)
                        return str(self.get_att(logical, attribute))
                    return str(self.ref(name))

                return re.sub(r"\$\{([^}!]+)\}", sub, text)
            if key == "Fn::Join":
                return str(arg[0]).join(str(self.resolve(v)) for v in arg[1])
        resolved = {k: self.resolve(v) for k, v in value.items()}
        return {k: v for k, v in resolved.items() if v is not _NO_VALUE}

    def table_properties(self, logical: str) -> dict[str, Any]:
        """A table's properties as CloudFormation creates it with these parameters."""
        return dict(self.resolve(self.resources[logical]["Properties"]))

    # --- what the local stack builds ----------------------------------------------------
    def functions(self) -> dict[str, Function]:
        globals_env = self.raw.get("Globals", {}).get("Function", {}).get("Environment", {})
        base_env = self.resolve(globals_env.get("Variables", {}))
        out: dict[str, Function] = {}
        for logical, resource in self.of_type("AWS::Serverless::Function").items():
            props = resource["Properties"]
            env = {**base_env, **self.resolve(props.get("Environment", {}).get("Variables", {}))}
            function = Function(logical, ROOT / props["CodeUri"], props["Handler"], env)
            for event in (props.get("Events") or {}).values():
                if event["Type"] == "Api":
                    ep = event["Properties"]
                    auth = (ep.get("Auth") or {}).get("Authorizer") != "NONE"
                    function.routes.append((ep["Method"].upper(), ep["Path"], auth))
                elif event["Type"] == "SQS":
                    ep = event["Properties"]
                    arn = str(self.resolve(ep["Queue"]))
                    function.queues.append(
                        SqsSource(
                            queue=arn.rsplit(":", 1)[-1],
                            queue_arn=arn,
                            batch_size=min(int(ep.get("BatchSize", 10)), 10),
                            report_failures="ReportBatchItemFailures"
                            in (ep.get("FunctionResponseTypes") or []),
                        )
                    )
            out[logical] = function
        return out

    def state_machine(self, logical: str) -> tuple[str, str]:
        props = self.resources[logical]["Properties"]
        definition = (ROOT / props["DefinitionUri"]).read_text()
        for name, value in props.get("DefinitionSubstitutions", {}).items():
            definition = definition.replace("${" + name + "}", str(self.resolve(value)))
        json.loads(definition)  # the substituted definition must still be JSON
        return self.physical_name(logical), definition

    def gateway_response(self, name: str) -> tuple[int, str] | None:
        for api in self.of_type("AWS::Serverless::Api").values():
            responses = api["Properties"].get("GatewayResponses", {})
            if name in responses:
                spec = responses[name]
                body = spec.get("ResponseTemplates", {}).get("application/json", "")
                return int(spec.get("StatusCode", 500)), body
        return None

    def authorizer_ttl(self) -> int:
        """How long API Gateway caches the REQUEST authorizer's answer for one token: the
        Api's ``ReauthorizeEvery`` (SAM's default 300 s when the template sets none)."""
        for api in self.of_type("AWS::Serverless::Api").values():
            for spec in (api["Properties"].get("Auth", {}).get("Authorizers") or {}).values():
                identity = spec.get("Identity") or {}
                return int(self.resolve(identity.get("ReauthorizeEvery", 300)))
        return 0

    def gateway_headers(self, name: str) -> dict[str, str]:
        """A gateway response's static headers (``'2'`` in the template: a quoted literal)."""
        for api in self.of_type("AWS::Serverless::Api").values():
            spec = api["Properties"].get("GatewayResponses", {}).get(name, {})
            headers = spec.get("ResponseParameters", {}).get("Headers", {})
            return {key: str(value).strip("'") for key, value in headers.items()}
        return {}
