"""devstack.persistence's folder on its own: a save that dies half-way leaves the last one
whole, old generations and objects go, and only writing requests mark the data changed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import devstack.persistence as persistence
from devstack.persistence import MANIFEST, ChangeTracker, DataDir, Snapshot, StateError


def _snapshot(name: str) -> Snapshot:
    return Snapshot(
        tables={"PatientsTable": [{"id": {"N": "1"}, "first_name": {"S": name}}]},
        objects={"bucket": {"files/a.csv": ("text/csv", name.encode())}},
        queues={"ExportQueue": ['{"export_id": 1}']},
        secrets={"webhook": "s3cret"},
        admin_token="token-0123456789abcdef",
    )


def test_a_save_reads_back_as_it_was_written(tmp_path: Path) -> None:
    folder = DataDir(tmp_path / "data")
    assert folder.load() is None
    folder.save(_snapshot("Ana"))
    assert folder.load() == _snapshot("Ana")
    assert (tmp_path / "data" / MANIFEST).stat().st_mode & 0o777 == 0o600


def test_a_save_that_dies_before_its_manifest_leaves_the_last_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = DataDir(tmp_path / "data")
    folder.save(_snapshot("Ana"))
    written = persistence._write_durably

    def dies_at_the_manifest(path: Path, data: bytes, mode: int = 0o644) -> None:
        if path.name == MANIFEST:
            raise OSError("power cut")
        written(path, data, mode)

    monkeypatch.setattr(persistence, "_write_durably", dies_at_the_manifest)
    with pytest.raises(OSError, match="power cut"):
        folder.save(_snapshot("Bea"))
    monkeypatch.undo()
    assert folder.load() == _snapshot("Ana")
    folder.save(_snapshot("Cy"))  # the next save cleans up what the dead one left
    assert folder.load() == _snapshot("Cy")
    assert [p.name for p in (tmp_path / "data").glob("gen-*")] == ["gen-000003"]
    assert len(list((tmp_path / "data" / "objects").iterdir())) == 1


def test_a_load_refuses_a_file_that_is_not_what_was_saved(tmp_path: Path) -> None:
    folder = DataDir(tmp_path / "data")
    folder.save(_snapshot("Ana"))
    (blob,) = (tmp_path / "data" / "objects").iterdir()
    blob.write_bytes(b"Anna")
    with pytest.raises(StateError) as info:
        folder.load()
    assert str(blob) in str(info.value)
    assert "make reset" in str(info.value)


def _environ(method: str, target: str = "", credential: str = "", query: str = "") -> Any:
    environ = {"REQUEST_METHOD": method, "QUERY_STRING": query}
    if target:
        environ["HTTP_X_AMZ_TARGET"] = target
    if credential:
        environ["HTTP_AUTHORIZATION"] = f"AWS4-HMAC-SHA256 Credential=local/20261206/{credential}"
    return environ


@pytest.mark.parametrize(
    ("environ", "changes"),
    [
        (_environ("POST", "DynamoDB_20120810.GetItem", "us-east-1/dynamodb/aws4_request"), False),
        (_environ("POST", "DynamoDB_20120810.Query", "us-east-1/dynamodb/aws4_request"), False),
        (_environ("POST", "DynamoDB_20120810.TransactWriteItems", "x/dynamodb/x"), True),
        (_environ("POST", "AmazonSQS.ReceiveMessage", "us-east-1/sqs/aws4_request"), False),
        (_environ("POST", "AmazonSQS.SendMessage", "us-east-1/sqs/aws4_request"), True),
        (_environ("GET", credential="us-east-1/s3/aws4_request"), False),
        (_environ("PUT", credential="us-east-1/s3/aws4_request"), True),
        (_environ("DELETE", credential="us-east-1/s3/aws4_request"), True),
        (
            _environ("PUT", query="X-Amz-Credential=local%2F20261206%2Fus-east-1%2Fs3%2Faws4"),
            True,
        ),
        (_environ("POST", "AWSStepFunctions.DescribeExecution", "x/states/x"), False),
    ],
)
def test_only_requests_that_write_mark_the_data_changed(environ: Any, changes: bool) -> None:
    tracker = ChangeTracker(lambda environ, start: [b""])
    tracker(environ, None)
    assert tracker.changed.is_set() is changes
