"""The import state machine's tasks: each state calls one stage (ecm.imports.stages)."""

from typing import Any

from ecm.imports.stages.apply import apply_stage
from ecm.imports.stages.finalize import finalize_stage, finish_dry_run_stage
from ecm.imports.stages.lock import lock_stage
from ecm.imports.stages.plan import plan_stage
from ecm.imports.stages.rollback import rollback_stage
from ecm.imports.stages.running import phi_safe
from ecm.imports.stages.validate import validate_stage
from ecm.settings import get_settings

get_settings()  # a function wired without a variable fails at cold start, naming it


def _ids(event: dict[str, Any]) -> tuple[str, int]:
    return str(event["kind"]), int(event["file_id"])


@phi_safe
def validate(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return validate_stage(*_ids(event))


@phi_safe
def lock(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return lock_stage(*_ids(event))


@phi_safe
def plan(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return plan_stage(*_ids(event))


@phi_safe
def apply(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return apply_stage(*_ids(event), int(event["chunk"]))


@phi_safe
def finish_dry_run(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return finish_dry_run_stage(*_ids(event))


@phi_safe
def finalize(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return finalize_stage(*_ids(event))


@phi_safe
def rollback(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return rollback_stage(*_ids(event), event.get("error"))
