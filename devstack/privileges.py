"""Each function's IAM policy in template.yaml, held to the calls the functions make.

Every statement of a function's ``Policies`` is an explicit IAM statement (no SAM policy
template: what a function may do is read here, not looked up elsewhere). The statements are
resolved as CloudFormation would (``!GetAtt``, ``!Sub``, ``!Ref``) for the local stack's
names, which the recorded calls (devstack.aws_calls) use too, and expanded into grants: one
action on one resource pattern. A call is granted when an Allow grant matches it and no
Deny does; a grant is used when a call matches it. A grant no test reaches is listed in
devstack.unexercised_grants with the reason.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from devstack.aws_calls import Call
from devstack.template import ACCOUNT, REGION, LocalTemplate, load_template
from devstack.unexercised_grants import UNEXERCISED, Unexercised

#: The one condition the template uses: which folders a listing of the bucket may ask for
#: (``StringLike``: a call is recorded with its prefix's first folder, not the whole prefix).
_CONDITION_KEYS = frozenset({"s3:prefix"})
_CONDITION_OPERATORS = frozenset({"StringLike"})


class PolicyError(ValueError):
    """A function's policy this check cannot read (it says which, and why)."""


class PolicyTemplate(LocalTemplate):
    """The template as policies name things: a secret by its ARN (``!Ref`` of a secret is
    its ARN on AWS; the local stack names it by its logical id)."""

    def ref(self, logical: str) -> Any:
        if self.resources.get(logical, {}).get("Type") == "AWS::SecretsManager::Secret":
            return secret_arn(self.physical_name(logical))
        return super().ref(logical)


def secret_arn(name: str) -> str:
    return f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{name}"


@cache
def policy_template() -> PolicyTemplate:
    return PolicyTemplate(load_template(), {}, 4566)


@dataclass(frozen=True, order=True)
class Grant:
    """One action on one resource pattern, from one statement of a function's policy."""

    function: str
    effect: str
    action: str
    resource: str
    condition: tuple[tuple[str, str, tuple[str, ...]], ...] = ()

    def matches(self, call: Call) -> bool:
        if call.function != self.function or not _wildcard(self.action, call.action, True):
            return False
        if not _wildcard(self.resource, call.resource):
            return False
        return all(
            any(_wildcard(value, call.s3_prefix) for value in values)
            for _operator, _key, values in self.condition
        )


@cache
def _pattern(text: str, fold: bool) -> re.Pattern[str]:
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in text)
    return re.compile(body, re.IGNORECASE if fold else 0)


def _wildcard(pattern: str, value: str, fold: bool = False) -> bool:
    """IAM's matching: ``*`` any run of characters (``/`` too), ``?`` one; actions ignore case."""
    return _pattern(pattern, fold).fullmatch(value) is not None


def _strings(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _condition(function: str, condition: Mapping[str, Any]) -> tuple[Any, ...]:
    out = []
    for operator, tests in condition.items():
        for key, values in tests.items():
            if operator not in _CONDITION_OPERATORS or key not in _CONDITION_KEYS:
                raise PolicyError(f"{function}: condition {operator} {key} is not evaluated here")
            out.append((operator, key, tuple(_strings(values))))
    return tuple(sorted(out))


def function_grants(template: LocalTemplate | None = None) -> list[Grant]:
    """Every grant (and deny) of every function's policy, resolved."""
    template = template or policy_template()
    grants: list[Grant] = []
    for logical in template.of_type("AWS::Serverless::Function"):
        for policy in policy_documents(template, logical):
            if not isinstance(policy, dict) or "Statement" not in policy:
                raise PolicyError(
                    f"{logical}: {policy!r} is not a policy document; write its statements"
                )
            for statement in template.resolve(policy["Statement"]):
                grants.extend(_statement_grants(logical, statement))
    return sorted(set(grants))


def policy_documents(template: LocalTemplate, function: str) -> list[Any]:
    """A function's policies: its ``Policies`` (the role SAM makes for it), or those of the
    role it names (``Role: !GetAtt <role>.Arn``, a role of the template's own)."""
    props = template.resources[function]["Properties"]
    role = execution_role(template, function)
    if role is None:
        return list(props.get("Policies") or [])
    if "Policies" in props:
        raise PolicyError(f"{function}: Policies and Role both given (SAM ignores Policies)")
    policies = template.resources[role]["Properties"].get("Policies") or []
    return [policy.get("PolicyDocument") for policy in policies]


def execution_role(template: LocalTemplate, function: str) -> str | None:
    """The logical id of the role a function names, None when SAM makes its role."""
    role = template.resources[function]["Properties"].get("Role")
    if role is None:
        return None
    if not (
        isinstance(role, dict) and list(role) == ["Fn::GetAtt"] and role["Fn::GetAtt"][1] == "Arn"
    ):
        raise PolicyError(f"{function}: Role must be !GetAtt <a role of the template>.Arn")
    return str(role["Fn::GetAtt"][0])


def _statement_grants(function: str, statement: Mapping[str, Any]) -> Iterable[Grant]:
    unknown = set(statement) - {"Sid", "Effect", "Action", "Resource", "Condition"}
    if unknown:
        raise PolicyError(f"{function}: statement keys {sorted(unknown)} are not evaluated here")
    effect = str(statement["Effect"])
    condition = _condition(function, statement.get("Condition") or {})
    for action in _strings(statement["Action"]):
        for resource in _strings(statement["Resource"]):
            yield Grant(function, effect, action, resource, condition)


@dataclass
class Findings:
    """What the calls and the template disagree on (all empty: they agree)."""

    ungranted: list[Call] = field(default_factory=list)
    unused: list[Grant] = field(default_factory=list)
    #: Listed as unexercised although a call used them, or matching no grant at all.
    stale: list[tuple[Unexercised, str]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.ungranted or self.unused or self.stale)

    def report(self, template: LocalTemplate | None = None) -> str:
        template = template or policy_template()
        lines: list[str] = []
        if self.ungranted:
            lines.append("Calls the template does not grant (add them to the function's policy):")
            lines += [
                f"  {c.function}: {c.action} on {resource_label(c.resource, template)}"
                + (f" (prefix {c.s3_prefix!r})" if c.s3_prefix else "")
                for c in self.ungranted
            ]
        if self.unused:
            lines.append(
                "Grants no call used (remove them, or list them in "
                "devstack/unexercised_grants.py with the reason no test reaches them):"
            )
            lines += [f"  {describe(g, template)}" for g in self.unused]
        if self.stale:
            lines.append("Entries of devstack/unexercised_grants.py that are out of date:")
            lines += [f"  {u.function}: {u.action} on {u.resource}: {why}" for u, why in self.stale]
        return "\n".join(lines)


def describe(grant: Grant, template: LocalTemplate | None = None) -> str:
    where = resource_label(grant.resource, template or policy_template())
    condition = "".join(f" if {k} {op} {list(v)}" for op, k, v in grant.condition)
    deny = "DENY " if grant.effect == "Deny" else ""
    return f"{grant.function}: {deny}{grant.action} on {where}{condition}"


def granted(call: Call, grants: Iterable[Grant]) -> bool:
    relevant = [g for g in grants if g.matches(call)]
    allowed = any(g.effect == "Allow" for g in relevant)
    return allowed and not any(g.effect == "Deny" for g in relevant)


def compare(
    calls: Iterable[Call],
    grants: list[Grant] | None = None,
    unexercised: Iterable[Unexercised] = UNEXERCISED,
    check_unused: bool = True,
    template: LocalTemplate | None = None,
) -> Findings:
    """Hold ``calls`` to ``grants``: every call granted; with ``check_unused`` (the whole
    suite ran), every Allow grant used by a call or listed in ``unexercised``."""
    template = template or policy_template()
    grants = function_grants(template) if grants is None else grants
    calls = sorted(set(calls))
    findings = Findings(ungranted=[c for c in calls if not granted(c, grants)])
    if not check_unused:
        return findings
    allows = [g for g in grants if g.effect == "Allow"]
    used = {g for g in allows for c in calls if g.matches(c)}
    listed: dict[Grant, Unexercised] = {}
    for entry in unexercised:
        found = [g for g in allows if _names(entry, g, template)]
        if not found:
            findings.stale.append((entry, "no grant of the template is this one"))
        for grant in found:
            listed[grant] = entry
            if grant in used:
                findings.stale.append((entry, "a call used it: take it off the list"))
    findings.unused = [g for g in allows if g not in used and g not in listed]
    return findings


def _names(entry: Unexercised, grant: Grant, template: LocalTemplate) -> bool:
    return (entry.function, entry.action, entry.resource) == (
        grant.function,
        grant.action,
        resource_label(grant.resource, template),
    )


def resource_label(arn: str, template: LocalTemplate) -> str:
    """An ARN as the template names it: ``PatientsTable/index/*``, ``FilesBucket/uploads/*``,
    ``ImportStateMachine:execution:*``; an ARN of none of its resources stays as it is."""
    for known, logical in _known_arns(template):
        if arn == known or (arn.startswith(known) and arn[len(known)] in "/:"):
            return logical + arn[len(known) :]
    return arn


def _known_arns(template: LocalTemplate) -> list[tuple[str, str]]:
    """(ARN, logical id) of the resources policies name, longest ARN first."""
    known: list[tuple[str, str]] = []
    for logical, resource in template.resources.items():
        kind = resource["Type"]
        if kind in ("AWS::DynamoDB::Table", "AWS::SQS::Queue", "AWS::S3::Bucket"):
            known.append((str(template.get_att(logical, "Arn")), logical))
        elif kind == "AWS::SecretsManager::Secret":
            known.append((secret_arn(template.physical_name(logical)), logical))
        elif kind == "AWS::Serverless::StateMachine":
            name = template.physical_name(logical)
            known.append((f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{name}", logical))
            executions = f"arn:aws:states:{REGION}:{ACCOUNT}:execution:{name}"
            known.append((executions, f"{logical}:execution"))
    return sorted(known, key=lambda pair: -len(pair[0]))
