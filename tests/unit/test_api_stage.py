"""The API stage as template.yaml gives it: throttled, access-logged without secrets or PHI,
a WAF web ACL only when one is named; the authorizer's cache, and the local gateway's copy
of it, which holds a revoked token exactly as long."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from devstack import gateway
from devstack.template import LocalTemplate, load_template

RAW = load_template()
RESOURCES: dict[str, Any] = RAW["Resources"]
API = RESOURCES["Api"]["Properties"]


def test_every_route_is_throttled_by_the_parameters() -> None:
    (setting,) = API["MethodSettings"]
    assert setting["ResourcePath"] == "/*"
    assert setting["HttpMethod"] == "*"
    assert setting["ThrottlingRateLimit"] == {"Ref": "ApiRateLimit"}
    assert setting["ThrottlingBurstLimit"] == {"Ref": "ApiBurstLimit"}
    parameters = RAW["Parameters"]
    rate, burst = (
        int(parameters["ApiRateLimit"]["Default"]),
        int(parameters["ApiBurstLimit"]["Default"]),
    )
    assert 0 < rate <= burst


def test_the_access_log_is_json_with_the_request_and_no_secret() -> None:
    access = API["AccessLogSetting"]
    assert access["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]}
    fields = json.loads(access["Format"])
    assert {
        "requestId": "$context.requestId",
        "sourceIp": "$context.identity.sourceIp",
        "httpMethod": "$context.httpMethod",
        "resourcePath": "$context.resourcePath",
        "status": "$context.status",
        "responseLatency": "$context.responseLatency",
        "userId": "$context.authorizer.principalId",
    }.items() <= fields.items()
    variables = re.findall(r"\$context\.[\w.]+", access["Format"])
    assert len(variables) == len(fields)
    for variable in variables:
        lowered = variable.lower()
        # A token, a header, the query string or the concrete path (ids, search terms).
        for forbidden in ("token", "header", "query", "querystring", "context.path", "body"):
            assert forbidden not in lowered, variable
        if lowered.startswith("$context.authorizer."):
            assert variable == "$context.authorizer.principalId"
    group = RESOURCES["ApiAccessLogGroup"]
    assert group["Type"] == "AWS::Logs::LogGroup"
    assert group["Properties"]["RetentionInDays"] == {"Ref": "ApiAccessLogRetentionDays"}
    assert group["DeletionPolicy"] == "Retain"


def test_a_web_acl_is_associated_only_when_named() -> None:
    association = RESOURCES["ApiWebAclAssociation"]
    assert association["Type"] == "AWS::WAFv2::WebACLAssociation"
    assert association["Condition"] == "HasWebAcl"
    assert association["Properties"]["WebACLArn"] == {"Ref": "WebAclArn"}
    assert (
        "/restapis/${Api}/stages/${Api.Stage}"
        in association["Properties"]["ResourceArn"]["Fn::Sub"]
    )
    assert RAW["Parameters"]["WebAclArn"]["Default"] == ""
    assert not LocalTemplate(RAW, {}, 4566).condition("HasWebAcl")
    named = "arn:aws:wafv2:us-west-2:123456789012:regional/webacl/ecm/abc"
    assert LocalTemplate(RAW, {"WebAclArn": named}, 4566).condition("HasWebAcl")


def test_the_authorizer_answer_is_cached_for_a_minute() -> None:
    authorizer = API["Auth"]["Authorizers"]["UserTokenAuthorizer"]
    assert authorizer["Identity"]["ReauthorizeEvery"] == 60
    assert LocalTemplate(RAW, {}, 4566).authorizer_ttl() == 60


def test_the_local_gateway_caches_as_the_template_says(monkeypatch: pytest.MonkeyPatch) -> None:
    template = LocalTemplate(RAW, {}, 4566)
    monkeypatch.delenv(gateway.TTL_VARIABLE, raising=False)
    assert gateway.authorizer_ttl(template) == 60
    monkeypatch.setenv(gateway.TTL_VARIABLE, "2")
    assert gateway.authorizer_ttl(template) == 2


def test_the_policy_cache_expires_and_keeps_no_token(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]
    monkeypatch.setattr(gateway.time, "monotonic", lambda: now[0])
    cache = gateway.PolicyCache(5)
    policy = {"principalId": "1"}
    token = "a-token-of-sixteen-chars"
    cache.put(token, policy)
    assert cache.get(token) == policy
    assert cache.get("another-token-000000") is None
    assert token not in repr(cache._policies)
    now[0] += 5
    assert cache.get(token) is None
    off = gateway.PolicyCache(0)
    off.put(token, policy)
    assert off.get(token) is None
