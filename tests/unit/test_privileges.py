"""What template.yaml lets each function do, read from the template alone: explicit
statements only, every action named (no ``dynamodb:*``), no resource ``*``, the bucket by
folder, and the security page's table equal to the template. The integration suite checks the rest
against the calls the functions make (tests/privilege_check.py)."""

from __future__ import annotations

from typing import Any

from devstack import privilege_table
from devstack.privileges import (
    execution_role,
    function_grants,
    policy_template,
    resource_label,
)
from devstack.unexercised_grants import UNEXERCISED
from ecm.files.sources import INTERNAL_PREFIXES

TEMPLATE = policy_template()
GRANTS = function_grants(TEMPLATE)
FUNCTIONS = TEMPLATE.of_type("AWS::Serverless::Function")
#: The functions that read a ``path`` source: any key of the bucket but what the system
#: writes there (ecm.files.sources.INTERNAL_PREFIXES).
PATH_READERS = {"MifsApiFunction", "AuthorizationsApiFunction"}


def _label(resource: str) -> str:
    return resource_label(resource, TEMPLATE)


def test_every_grant_names_its_action_and_resource() -> None:
    assert GRANTS
    for grant in GRANTS:
        service, _, action = grant.action.partition(":")
        assert service and action and "*" not in grant.action, grant
        assert grant.resource != "*", grant
        assert grant.effect in ("Allow", "Deny"), grant
        # every resource is one of the template's: its ARN as the template makes it
        assert not _label(grant.resource).startswith("arn:"), grant


def test_the_bucket_is_granted_by_folder() -> None:
    for grant in (g for g in GRANTS if g.action.startswith("s3:") and g.effect == "Allow"):
        place = _label(grant.resource)
        if grant.action == "s3:ListBucket":  # the bucket itself: NoSuchKey needs it
            assert place == "FilesBucket", grant
            continue
        folder = place.removeprefix("FilesBucket/")
        if folder == "*":
            assert grant.function in PATH_READERS and grant.action == "s3:GetObject", grant
            continue
        assert folder.endswith("/*") and folder.count("/") == 1, grant


def test_path_readers_may_read_anything_but_the_exports_files() -> None:
    """A path source is any key but the system's folders (the API refuses those), and the
    import APIs read their own files in them; the return files of exports (every member of
    a plan) they are denied."""
    assert {"outbox/", "results/"} <= set(INTERNAL_PREFIXES)
    for function in PATH_READERS:
        denied = {
            _label(g.resource).removeprefix("FilesBucket/")
            for g in GRANTS
            if g.function == function and g.effect == "Deny" and g.action == "s3:GetObject"
        }
        assert denied == {"outbox/*", "results/exports/*"}


def test_functions_an_sqs_queue_triggers_have_roles_of_their_own() -> None:
    """SAM would add AWSLambdaSQSQueueExecutionRole (every queue of the account) to the role
    it makes for them; our roles carry the logs and X-Ray policies SAM gives the others."""
    managed: set[str] = set()
    for logical, function in FUNCTIONS.items():
        events = (function["Properties"].get("Events") or {}).values()
        role = execution_role(TEMPLATE, logical)
        if any(e["Type"] == "SQS" for e in events):
            assert role is not None, logical
        if role is not None:
            props: dict[str, Any] = TEMPLATE.resources[role]["Properties"]
            managed.update(TEMPLATE.resolve(arn) for arn in props["ManagedPolicyArns"])
    assert managed == {
        "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
        "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess",
    }


def test_unreached_grants_give_their_reason() -> None:
    for entry in UNEXERCISED:
        assert entry.function in FUNCTIONS, entry
        assert len(entry.reason.split()) >= 5, entry


def test_the_readme_table_is_the_templates() -> None:
    assert privilege_table.main(["--check"]) == 0, "run: python -m devstack.privilege_table"
    table = privilege_table.table(TEMPLATE)
    for logical in FUNCTIONS:
        assert f"| {logical.removesuffix('Function')} |" in table
