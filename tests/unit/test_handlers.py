"""The Lambda handlers as Lambda calls them: the sample events of events/*.json, and every
API route of template.yaml, against moto in-process (no traffic leaves the process)."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from moto import mock_aws

from devstack.lambdas import LambdaContext, load_handler
from devstack.template import ROOT, Function, LocalTemplate, load_template
from ecm.api.auth import create_user
from ecm.errors import ConcurrentModification, FileFormatError
from ecm.imports.inbox import handle_inbox_message
from ecm.models import create_tables
from ecm.models.access import reset_clients
from ecm.settings import get_settings

EVENTS = ROOT / "events"
BUCKET = "ecm-imports-files-123456789012"


def _event(name: str) -> dict[str, Any]:
    return dict(json.loads((EVENTS / name).read_text()))


@pytest.fixture(scope="module")
def functions() -> dict[str, Function]:
    return LocalTemplate(load_template(), {}, 4566).functions()


@pytest.fixture
def aws(
    monkeypatch: pytest.MonkeyPatch, fake_aws: None, functions: dict[str, Function]
) -> Iterator[None]:
    environment = {k: str(v) for k, v in functions["MifsApiFunction"].environment.items()}
    for name, value in {**environment, "FILES_BUCKET": BUCKET}.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    with mock_aws():
        reset_clients()
        create_tables()
        boto3.client("s3").create_bucket(Bucket=BUCKET)
        yield


def _call(functions: dict[str, Function], logical: str, event: dict[str, Any]) -> Any:
    return load_handler(functions[logical])(event, LambdaContext(logical))


def _body(response: dict[str, Any]) -> Any:
    return json.loads(response["body"])


# --- the sample events ----------------------------------------------------------------------


def test_mif_list_event_lists_the_files(aws: None, functions: dict[str, Function]) -> None:
    response = _call(functions, "MifsApiFunction", _event("mif_list.json"))
    assert response["statusCode"] == 200
    assert _body(response) == {
        "mif_files": [],
        "pagination": {"current_page": 1, "total_pages": 0, "total_count": 0, "per_page": 10},
    }


def test_mif_post_event_without_a_source_is_a_422(
    aws: None, functions: dict[str, Function]
) -> None:
    event = _event("mif_post.json")
    event["body"] = json.dumps({"mif": {"file_type": "csv"}})
    response = _call(functions, "MifsApiFunction", event)
    assert response["statusCode"] == 422
    assert _body(response) == {"errors": ["Provide one of mif.file, mif.url or mif.path"]}


def test_authorizer_event_allows_a_known_token_and_refuses_others(
    aws: None, functions: dict[str, Function]
) -> None:
    user, token = create_user("Ana Admin", "admin")
    event = _event("authorizer.json")
    event["headers"] = {"X-User-Token": token}
    policy = _call(functions, "AuthorizerFunction", event)
    assert policy["context"] == {"user_id": str(user["id"]), "role": "admin", "name": "Ana Admin"}
    assert policy["policyDocument"]["Statement"][0]["Effect"] == "Allow"
    event["headers"] = {"X-User-Token": "not-a-token-of-anyone-0123456789"}
    with pytest.raises(PermissionError, match=r"^Unauthorized$"):
        _call(functions, "AuthorizerFunction", event)


@pytest.mark.parametrize(
    ("logical", "sample"),
    [("ValidateFunction", "import_step.json"), ("ApplyFunction", "apply_chunk.json")],
)
def test_import_step_events_name_a_missing_file(
    aws: None, functions: dict[str, Function], logical: str, sample: str
) -> None:

    if logical == "ApplyFunction":
        # Apply starts by refreshing the lock its import holds: none does here.

        with pytest.raises(ConcurrentModification, match="the import lock was lost"):
            _call(functions, logical, _event(sample))
        return
    with pytest.raises(FileFormatError, match=r"^import file mif#1 does not exist$"):
        _call(functions, logical, _event(sample))


def test_inbox_event_for_a_missing_object_is_left_for_redelivery(
    aws: None, functions: dict[str, Function]
) -> None:

    # The object is not in the bucket (nor a state machine to start): the whole batch fails,
    # so SQS delivers it again (and, past the receive limit, to the dead-letter queue).
    with pytest.raises(BatchProcessingError, match="All records failed processing"):
        _call(functions, "ImportTriggerFunction", _event("inbox_sqs.json"))


def test_inbox_messages_are_read_with_the_s3_notification_model(aws: None) -> None:
    assert handle_inbox_message(json.dumps({"Event": "s3:TestEvent"})) == []
    sample = _event("inbox_sqs.json")["Records"][0]["body"]
    other_bucket = sample.replace(BUCKET, "someone-elses-bucket")
    assert handle_inbox_message(other_bucket) == []  # not our bucket: ignored, no import
    for broken in ({"Records": [{"eventName": "ObjectCreated:Put"}]}, {"Records": [{}]}):
        with pytest.raises(ValueError, match=r"^the message is not an S3 event notification$"):
            handle_inbox_message(json.dumps(broken))


# --- admin access, enforced once for every route ------------------------------------------


def _routes(functions: dict[str, Function]) -> list[tuple[str, str, str]]:
    return [
        (logical, method, path)
        for logical, function in functions.items()
        for method, path, auth in function.routes
        if auth
    ]


def _route_event(method: str, path: str, authorizer: dict[str, str] | None) -> dict[str, Any]:
    event = copy.deepcopy(_event("mif_list.json"))
    concrete = re.sub(r"\{[^}]+\}", "1", path)
    event.update(
        httpMethod=method,
        path=concrete,
        resource=path,
        queryStringParameters=None,
        body=json.dumps({}) if method in ("POST", "PUT") else None,
    )
    event["pathParameters"] = dict.fromkeys(re.findall(r"\{([^}]+)\}", path), "1") or None
    event["requestContext"].update(resourcePath=path, httpMethod=method)
    if authorizer is None:
        event["requestContext"].pop("authorizer")
    else:
        event["requestContext"]["authorizer"] = authorizer
    return event


def test_every_api_route_of_the_template_is_listed(functions: dict[str, Function]) -> None:
    routes = _routes(functions)
    assert len(routes) >= 20
    assert {logical for logical, _, _ in routes} == {
        "MifsApiFunction",
        "AuthorizationsApiFunction",
        "PatientsApiFunction",
        "CaseloadApiFunction",
        "ActivitiesApiFunction",
        "ExportsApiFunction",
        "UsersApiFunction",
        "PlansApiFunction",
    }


@pytest.mark.parametrize("role", ["staff", "olcm", None])
def test_every_api_route_answers_non_admins_before_doing_anything(
    aws: None, functions: dict[str, Function], role: str | None
) -> None:
    authorizer = None if role is None else {"user_id": "9", "role": role, "name": "Someone"}
    for logical, method, path in _routes(functions):
        response = _call(functions, logical, _route_event(method, path, authorizer))
        expected = (
            (401, ["Unauthorized: missing or invalid X-User-Token"])
            if role is None
            else (403, ["Admin access required"])
        )
        assert (response["statusCode"], _body(response)["errors"]) == expected, (method, path)


ADMIN = {"user_id": "1", "role": "admin", "name": "Sample Admin", "principalId": "1"}
#: What each collection answers for an id that names none of its records.
NOT_FOUND = {
    "mifs": "MIF file not found",
    "authorizations": "Authorization file not found",
    "patients": "Patient not found",
    "care_managers": "Care manager not found",
    "providers": "Provider not found",
    "users": "User not found",
    "exports": "Export not found",
}


def _with_id(method: str, path: str, raw: str, authorizer: dict[str, str]) -> dict[str, Any]:
    """The route's event with ``raw`` as its id, a query no route declares and a body no
    route takes: only the id check can answer first (before any AWS call: no moto here)."""
    event = _route_event(method, path, authorizer)
    event["path"] = path.replace("{id}", raw)
    event["pathParameters"] = {"id": raw}
    event["queryStringParameters"] = {"records_per_page": "7", "bogus": "1"}
    event["body"] = "not json" if method in ("POST", "PUT") else None
    return event


@pytest.mark.parametrize("raw", ["\n", "1\n", "\t1", "1\x00", "01", "1 ", "+1", "١", "abc"])
def test_an_id_of_another_spelling_is_the_routes_404_before_its_query_or_body(
    functions: dict[str, Function], raw: str
) -> None:
    with_id = [(logical, m, p) for logical, m, p in _routes(functions) if "{id}" in p]
    assert len(with_id) == 18
    for logical, method, path in with_id:
        response = _call(functions, logical, _with_id(method, path, raw, ADMIN))
        collection = path.split("/")[5]
        expected = (404, [NOT_FOUND[collection]])
        assert (response["statusCode"], _body(response)["errors"]) == expected, (method, path)
        staff = {**ADMIN, "role": "staff"}
        response = _call(functions, logical, _with_id(method, path, raw, staff))
        assert (response["statusCode"], _body(response)["errors"]) == (
            403,
            ["Admin access required"],
        ), (method, path)


def test_an_id_spelled_right_goes_on_to_the_query_check(functions: dict[str, Function]) -> None:
    response = _call(
        functions, "MifsApiFunction", _with_id("GET", "/v1/admin/clinic/ecm/mifs/{id}", "1", ADMIN)
    )
    assert (response["statusCode"], _body(response)["errors"]) == (
        422,
        ["Unknown query parameter 'bogus'"],
    )


@pytest.mark.parametrize("path", ["/v1/admin/clinic/ecm/nothing", "/v1/admin/clinic/ecm/mifs/1/x"])
def test_a_path_no_route_has_is_a_404_whatever_its_query(
    functions: dict[str, Function], path: str
) -> None:
    event = _with_id("GET", "/v1/admin/clinic/ecm/mifs/{id}", "1", ADMIN)
    event.update(path=path, pathParameters=None)
    response = _call(functions, "MifsApiFunction", event)
    assert (response["statusCode"], _body(response)) == (404, {"errors": ["Not found"]})


def test_the_sample_events_are_valid_json_of_their_kind() -> None:
    names = sorted(p.name for p in Path(EVENTS).glob("*.json"))
    assert names == [
        "apply_chunk.json",
        "authorizer.json",
        "import_step.json",
        "inbox_sqs.json",
        "mif_list.json",
        "mif_post.json",
    ]
