"""The import state machine's tasks: each state calls one stage of the engine."""

from typing import Any

from ecm.imports import engine


def _ids(event: dict[str, Any]) -> tuple[str, int]:
    return str(event["kind"]), int(event["file_id"])


def validate(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return engine.validate_stage(*_ids(event))


def lock(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return engine.lock_stage(*_ids(event))


def plan(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return engine.plan_stage(*_ids(event))


def apply(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return engine.apply_stage(*_ids(event), int(event["chunk"]))


def finalize(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return engine.finalize_stage(*_ids(event))


def rollback(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return engine.rollback_stage(*_ids(event), event.get("error"))
