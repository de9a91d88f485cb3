"""The import state machine's tasks: each state calls one stage of the engine."""

from typing import Any

from ecm.imports import engine
from ecm.imports.engine import phi_safe


def _ids(event: dict[str, Any]) -> tuple[str, int]:
    return str(event["kind"]), int(event["file_id"])


@phi_safe
def validate(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return engine.validate_stage(*_ids(event))


@phi_safe
def lock(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return engine.lock_stage(*_ids(event))


@phi_safe
def plan(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return engine.plan_stage(*_ids(event))


@phi_safe
def apply(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return engine.apply_stage(*_ids(event), int(event["chunk"]))


@phi_safe
def finish_dry_run(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return engine.finish_dry_run_stage(*_ids(event))


@phi_safe
def finalize(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return engine.finalize_stage(*_ids(event))


@phi_safe
def rollback(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return engine.rollback_stage(*_ids(event), event.get("error"))
