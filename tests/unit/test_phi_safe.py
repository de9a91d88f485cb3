"""Stage errors reach the logs and Step Functions without the values that caused them."""

from __future__ import annotations

import json
import time
import traceback
from typing import Any

import pytest

from ecm.errors import LockHeld, StageFailed
from ecm.imports.stages.running import phi_safe
from ecm.log import count_metric


def test_unexpected_errors_keep_only_their_type() -> None:
    @phi_safe
    def plan(event: dict[str, Any], context: Any) -> dict[str, Any]:
        raise KeyError("Maria Lopez 1984-11-02")

    with pytest.raises(StageFailed) as caught:
        plan({}, None)
    assert str(caught.value) == "plan: KeyError"
    rendered = "".join(traceback.format_exception(caught.value))
    assert "Maria" not in rendered
    assert caught.value.__suppress_context__


def test_our_own_errors_pass_through_for_retry_and_catch() -> None:
    @phi_safe
    def lock(event: dict[str, Any], context: Any) -> dict[str, Any]:
        raise LockHeld("another import is running")

    with pytest.raises(LockHeld):
        lock({}, None)


def test_results_are_returned_unchanged() -> None:
    @phi_safe
    def finalize(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return {"status": "completed", **event}

    assert finalize({"file_id": 3}, None) == {"status": "completed", "file_id": 3}


def test_every_stage_logs_its_time_and_cpu_once_without_its_values(
    caplog: pytest.LogCaptureFixture,
) -> None:

    @phi_safe
    def plan(event: dict[str, Any], context: Any) -> dict[str, Any]:
        deadline = time.thread_time() + 0.02
        while time.thread_time() < deadline:  # some CPU to measure
            pass
        if event.get("fail"):
            raise KeyError("Maria Lopez 1984-11-02")
        return {"member": "Maria Lopez"}

    caplog.set_level("INFO")
    plan({}, None)
    with pytest.raises(StageFailed):
        plan({"fail": True}, None)
    finished = [r for r in caplog.records if r.getMessage() == "stage finished"]
    assert [r.__dict__["stage"] for r in finished] == ["plan", "plan"]
    for record in finished:
        assert 0.02 <= record.__dict__["cpu_seconds"] <= record.__dict__["seconds"] + 0.01
    assert all("Maria" not in str(r.__dict__) for r in caplog.records)


def test_every_stage_emits_its_seconds_as_an_emf_metric_with_no_phi(
    capsys: pytest.CaptureFixture[str],
) -> None:

    @phi_safe
    def apply(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return {"member": "Maria Lopez"}

    capsys.readouterr()
    apply({}, None)
    documents = [
        json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line
    ]
    [metric] = [d for d in documents if "StageSeconds" in d]
    [directive] = metric["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "ecm-imports"
    assert directive["Metrics"] == [{"Name": "StageSeconds", "Unit": "Seconds"}]
    assert directive["Dimensions"] == [["stage"]]
    assert metric["stage"] == "apply"
    assert metric["StageSeconds"][0] >= 0
    assert "Maria" not in json.dumps(documents)


def test_import_metrics_have_the_kind_as_their_only_dimension(
    capsys: pytest.CaptureFixture[str],
) -> None:

    capsys.readouterr()
    count_metric("RowsImported", 12, kind="mif")
    [document] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert document["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["kind"]]
    assert (document["kind"], document["RowsImported"]) == ("mif", [12.0])
