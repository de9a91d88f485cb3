"""The local stack's data on disk (docs/running/local-stack.md): tables, bucket objects, queued
messages and secrets saved under a data directory and loaded at the next start, so ``make run`` is a
system a small provider can stop and start again.

Layout of the data directory (``ECM_DATA_DIR``, default ``.devstack/``)::

    state.json              what a save holds: format, its generation, every file's SHA-256
    gen-<n>/<table>.jsonl   each table's items, in DynamoDB's attribute-value form
    objects/<sha256>        bucket objects, by content (kept across generations)

A save is crash-safe: every file of a new generation is written to a temporary name,
flushed to disk and renamed; ``state.json`` is replaced last, the same way, so a crash at
any point leaves the previous save whole. What the new ``state.json`` does not name is
deleted afterwards. A load checks the format and every checksum first: a damaged or
older save is refused, naming the file and how to start fresh, never silently dropped.

moto keeps its state in memory; this module reads and fills moto's backends in this
process (moto is pinned; ``tests/integration/test_persistence.py`` fails if that changes).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from moto.dynamodb.models import dynamodb_backends
from moto.s3.models import s3_backends
from moto.sqs.models import sqs_backends

FORMAT = 1
MANIFEST = "state.json"
OBJECTS = "objects"
#: DynamoDB, SQS and S3 operations that change what a save holds.
WRITE_TARGETS = frozenset(
    {
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "BatchWriteItem",
        "TransactWriteItems",
        "SendMessage",
        "SendMessageBatch",
        "DeleteMessage",
        "DeleteMessageBatch",
        "PutSecretValue",
    }
)


class StateError(RuntimeError):
    """The data directory cannot be loaded; the message says which file and what to do."""


@dataclass
class Snapshot:
    """Everything a save holds."""

    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    #: bucket → key → (content type, body)
    objects: dict[str, dict[str, tuple[str, bytes]]] = field(default_factory=dict)
    queues: dict[str, list[str]] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)
    admin_token: str | None = None


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _write_durably(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Write to a temporary name, flush it to disk, rename it into place, flush the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.unlink(missing_ok=True)
    temporary.touch(mode)
    with temporary.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    temporary.replace(path)
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


class DataDir:
    """One data directory: load the last save, write a new one."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _fresh_start(self) -> str:
        return (
            f"To start fresh, run `make reset` (it deletes {self.path}), or set ECM_DATA_DIR "
            "to another folder; nothing was changed."
        )

    def _refuse(self, what: str) -> StateError:
        return StateError(
            f"The local data in {self.path} cannot be loaded: {what}. " + self._fresh_start()
        )

    def load(self) -> Snapshot | None:
        """The last save, checked whole; None when the directory holds none."""
        manifest_path = self.path / MANIFEST
        if not manifest_path.exists():
            return None
        try:
            manifest = json.loads(manifest_path.read_bytes())
        except ValueError:
            raise self._refuse(f"{manifest_path} is damaged (not JSON)") from None
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            found = manifest.get("format") if isinstance(manifest, dict) else None
            raise self._refuse(
                f"{manifest_path} is in format {found!r}; this version reads format {FORMAT}"
            )
        snapshot = Snapshot(
            queues={k: list(v) for k, v in manifest.get("queues", {}).items()},
            secrets=dict(manifest.get("secrets", {})),
            admin_token=manifest.get("admin_token"),
        )
        generation = self.path / str(manifest["generation"])
        for table, digest in manifest.get("tables", {}).items():
            data = self._checked(generation / f"{table}.jsonl", digest)
            snapshot.tables[table] = [json.loads(line) for line in data.splitlines() if line]
        for bucket, entries in manifest.get("objects", {}).items():
            objects = snapshot.objects.setdefault(bucket, {})
            for key, (content_type, digest) in entries.items():
                objects[key] = (content_type, self._checked(self.path / OBJECTS / digest, digest))
        return snapshot

    def _checked(self, path: Path, digest: str) -> bytes:
        try:
            data = path.read_bytes()
        except OSError:
            raise self._refuse(f"{path} is missing") from None
        if _sha256(data) != digest:
            raise self._refuse(f"{path} is damaged (its checksum does not match)")
        return data

    def save(self, snapshot: Snapshot) -> None:
        """Write ``snapshot`` as the new save (see the module's docstring for why it is safe)."""
        previous = self._generation()
        generation = f"gen-{previous + 1:06d}"
        tables: dict[str, str] = {}
        for table, items in snapshot.tables.items():
            data = "".join(json.dumps(i, sort_keys=True) + "\n" for i in items).encode()
            _write_durably(self.path / generation / f"{table}.jsonl", data)
            tables[table] = _sha256(data)
        objects: dict[str, dict[str, list[str]]] = {}
        for bucket, entries in snapshot.objects.items():
            for key, (content_type, body) in entries.items():
                digest = _sha256(body)
                target = self.path / OBJECTS / digest
                if not target.exists():
                    _write_durably(target, body)
                objects.setdefault(bucket, {})[key] = [content_type, digest]
        manifest = {
            "format": FORMAT,
            "generation": generation,
            "tables": tables,
            "objects": objects,
            "queues": snapshot.queues,
            "secrets": snapshot.secrets,
            "admin_token": snapshot.admin_token,
        }
        # 0600: it holds the local admin token.
        _write_durably(self.path / MANIFEST, json.dumps(manifest, indent=1).encode(), 0o600)
        self._forget(generation, {d for b in objects.values() for _, d in b.values()})

    def _generation(self) -> int:
        numbers = [int(p.name[4:]) for p in self.path.glob("gen-*") if p.name[4:].isdigit()]
        return max(numbers, default=0)

    def _forget(self, generation: str, kept: set[str]) -> None:
        """Delete what the save just written no longer names."""
        for old in self.path.glob("gen-*"):
            if old.name != generation:
                shutil.rmtree(old, ignore_errors=True)
        for blob in (self.path / OBJECTS).glob("*"):
            if blob.name not in kept:
                blob.unlink(missing_ok=True)


# --- moto's backends (this process's store) ---------------------------------------------------


def capture(account: str, region: str, lock: threading.Lock, secrets: Any) -> Snapshot:
    """Everything the store holds now (``secrets``: a Secrets Manager client). DynamoDB is
    read under the lock its handler takes, so a table is never caught mid-transaction."""
    snapshot = Snapshot()
    with lock:
        for name, table in dynamodb_backends[account][region].tables.items():
            snapshot.tables[name] = [item.to_json()["Attributes"] for item in table.all_items()]
    for name, bucket in s3_backends[account]["global"].buckets.items():
        snapshot.objects[name] = {
            key: (str(stored.metadata.get("Content-Type") or "binary/octet-stream"), stored.value)
            for key, stored in bucket.keys.items()
        }
    for name, queue in sqs_backends[account][region].queues.items():
        snapshot.queues[name] = [message.body for message in list(queue._messages)]
    for listed in secrets.list_secrets().get("SecretList", []):
        value = secrets.get_secret_value(SecretId=listed["Name"]).get("SecretString")
        snapshot.secrets[listed["Name"]] = value or ""
    return snapshot


def restore_tables(snapshot: Snapshot, account: str, region: str) -> None:
    """Put every saved item back into the tables the stack created (no requests: 100,000
    patients load in seconds)."""
    tables = dynamodb_backends[account][region].tables
    for name, items in snapshot.tables.items():
        table = tables.get(name)
        if table is None:  # a table a newer template no longer has
            continue
        for item in items:
            table.put_item(item)


def restore_messages(snapshot: Snapshot, send: Callable[[str, str], None]) -> None:
    for queue, bodies in snapshot.queues.items():
        for body in bodies:
            send(queue, body)


def restore_objects(
    snapshot: Snapshot, put: Callable[[str, str, bytes, str], None], buckets: Iterable[str]
) -> None:
    known = set(buckets)
    for bucket, entries in snapshot.objects.items():
        if bucket in known:
            for key, (content_type, body) in entries.items():
                put(bucket, key, body, content_type)


class ChangeTracker:
    """WSGI middleware before moto: notes that a request changed what a save holds."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.changed = threading.Event()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        target = str(environ.get("HTTP_X_AMZ_TARGET", "")).rsplit(".", 1)[-1]
        # A signed request names its service in the credential scope: header or query string
        # (a presigned upload).
        authorization = str(environ.get("HTTP_AUTHORIZATION", "")) + unquote(
            str(environ.get("QUERY_STRING", ""))
        )
        s3_write = "/s3/" in authorization and environ.get("REQUEST_METHOD") in (
            "PUT",
            "POST",
            "DELETE",
        )
        if target in WRITE_TARGETS or s3_write:
            self.changed.set()
        return self.app(environ, start_response)
