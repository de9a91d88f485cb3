"""How the local stack keeps its data: load the last save before anything starts, put it
back once the resources exist, save every few seconds after a change and on stop, and end
the imports a stop interrupted (rolled back, as a crashed Lambda's would be).

``ECM_DATA_DIR`` names the folder (default ``.devstack/`` in the repository); empty keeps
everything in memory, as tests do. With ``ECM_STORE_ENDPOINT`` (benchmarks: the data
services in another process) there is nothing in this process to keep.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

from devstack.persistence import (
    ChangeTracker,
    DataDir,
    Snapshot,
    capture,
    restore_messages,
    restore_objects,
    restore_tables,
)
from devstack.template import ACCOUNT, REGION, ROOT
from ecm.imports.stages.lock import LOCK_KEY, QUEUE_KEY
from ecm.imports.stages.work import APPLYING_PREFIX
from ecm.models import ImportFile, MetaItem
from ecm.models.access import all_items

DEFAULT_DATA_DIR = ROOT / ".devstack"
#: Seconds between two saves while something changes (ECM_SAVE_SECONDS).
SAVE_SECONDS = 5.0
#: Import statuses of an import that was running (an upload still waiting is not).
RUNNING = ("pending", "processing")
STOPPED = {
    "Error": "LocalStackStopped",
    "Cause": json.dumps({"errorMessage": "the local stack stopped while the import ran"}),
}


def data_dir_setting() -> Path | None:
    if os.environ.get("ECM_STORE_ENDPOINT"):
        return None
    raw = os.environ.get("ECM_DATA_DIR")
    if raw is None:
        return DEFAULT_DATA_DIR
    return Path(raw) if raw.strip() else None


class LocalData:
    """The data directory of one running stack."""

    def __init__(self, path: Path, lock: threading.Lock) -> None:
        self.folder = DataDir(path)
        self.lock = lock  # the one DynamoDB requests take (devstack.stack.serialise_dynamodb)
        self.tracker: ChangeTracker | None = None
        self.saving = threading.Lock()
        self.stopped = threading.Event()
        self.admin_token: str | None = None
        self.clients: dict[str, Any] = {}
        self.thread: threading.Thread | None = None

    @property
    def path(self) -> Path:
        return self.folder.path

    def load(self) -> Snapshot | None:
        """The last save (StateError, naming the file, when it cannot be used)."""
        return self.folder.load()

    def restore(self, snapshot: Snapshot, buckets: list[str]) -> None:
        """Put a save back into the resources the stack just created (before the buckets
        notify their queues: a restored inbox file must not be imported again)."""
        restore_tables(snapshot, ACCOUNT, REGION)
        s3, sqs = self.clients["s3"], self.clients["sqs"]
        restore_objects(
            snapshot,
            lambda bucket, key, body, kind: s3.put_object(
                Bucket=bucket, Key=key, Body=body, ContentType=kind
            ),
            buckets,
        )
        urls: dict[str, str] = {}

        def send(queue: str, body: str) -> None:
            if queue not in urls:
                urls[queue] = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
            sqs.send_message(QueueUrl=urls[queue], MessageBody=body)

        restore_messages(snapshot, send)
        for name, value in snapshot.secrets.items():
            self.clients["secretsmanager"].put_secret_value(SecretId=name, SecretString=value)

    def save(self) -> None:
        """A save of what the store holds now (one at a time)."""
        with self.saving:
            if self.tracker is not None:
                self.tracker.changed.clear()
            snapshot = capture(ACCOUNT, REGION, self.lock, self.clients["secretsmanager"])
            snapshot.admin_token = self.admin_token
            self.folder.save(snapshot)

    def keep_saving(self) -> None:
        """Save a few seconds after each change, until the stack stops."""
        interval = float(os.environ.get("ECM_SAVE_SECONDS") or SAVE_SECONDS)

        def run() -> None:
            while not self.stopped.wait(interval):
                if self.tracker is not None and self.tracker.changed.is_set():
                    self.save()

        self.thread = threading.Thread(target=run, name="local-data-saver", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        """The last save, after everything else stopped writing."""
        self.stopped.set()
        if self.thread is not None:
            self.thread.join(timeout=60)
        self.save()


def end_interrupted_imports(rollback: Any) -> int:
    """Roll back every import a stop left running (its Step Functions execution is gone),
    then free the import lock: nothing runs yet. Answers how many were rolled back.

    The stop ended every function, so no apply chunk runs: the markers the chunks left
    (which a rollback waits on until the function's timeout, as on AWS where a chunk may
    still run) go first, or the restart would wait out that timeout."""
    running = [
        (str(item["kind"]), int(item["id"]))
        for item in all_items(ImportFile.scan(ImportFile.status.is_in(*RUNNING)))
        if int(item["id"]) > 0
    ]
    for marker in all_items(MetaItem.scan(MetaItem.pk.startswith(APPLYING_PREFIX))):
        MetaItem(marker["pk"]).delete()
    for kind, file_id in running:
        rollback({"kind": kind, "file_id": file_id, "error": STOPPED})
    for key in (LOCK_KEY, QUEUE_KEY):
        MetaItem(key).delete()
    return len(running)
