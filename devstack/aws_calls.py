"""The AWS calls of the local stack's functions, each with the function that made it
(``ECM_RECORD_AWS_CALLS=<folder>``): what IAM would authorize for it (devstack.iam_actions),
so the privilege check (devstack.privileges) can hold the template's policies to what the
functions really do.

The recorder is a client hook (``ecm.clients.add_client_hook``), as the local AWS faults and
the capacity benchmark's recorder are: it sees every call of the product's own clients,
presigned URLs included (botocore builds their parameters as a call's). It listens to
``before-parameter-build``, which botocore emits once per call, never per retry. The
function is the one running on the calling thread (``devstack.lambdas.running_function``).

One answer needs a permission of its own: S3 answers a GetObject of a missing key 404
(NoSuchKey) only to a caller that may list the bucket, and 403 to any other. The product
reads optional objects that way (``ecm.imports.work_area.get_json`` with a default), so
such an answer is recorded as the ``s3:ListBucket`` it needs on AWS (HeadObject's answer,
in ``ecm.files.sources.inbox_key``, means "not there" whatever its code).

Each stack process writes ``calls-<pid>.jsonl`` in the folder: a line for each (function,
action, resource) the first time it is seen, so a stack that is killed keeps what it saw;
a stack that stops rewrites it with each one's count. Never a key or a value: an S3 object
is named by its folder (devstack.iam_actions)."""

from __future__ import annotations

import json
import os
import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from devstack.iam_actions import permissions
from devstack.lambdas import running_function

#: The folder the stacks write their calls to (unset: nothing is recorded).
VARIABLE = "ECM_RECORD_AWS_CALLS"
#: Where ``before-parameter-build`` leaves a call's bucket for ``after-call``.
_BUCKET = "ecm_recorded_bucket"


@dataclass(frozen=True, order=True)
class Call:
    """One kind of call: a function's action on a resource (``s3_prefix``: see Permission)."""

    function: str
    action: str
    resource: str
    s3_prefix: str = ""


class CallRecorder:
    """Counts each kind of call of the functions; calls made outside any function (the
    stack's own setup) are counted apart and compared with nothing."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.counts: Counter[Call] = Counter()
        self.outside = 0
        self._lock = threading.Lock()

    def attach(self, client: Any) -> None:
        """The client hook: note every call this client makes from now on."""
        client.meta.events.register("before-parameter-build", self._before_parameter_build)
        client.meta.events.register("after-call.s3.GetObject", self._after_get_object)

    def _before_parameter_build(
        self, params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any
    ) -> None:
        function = running_function()
        if function is None:
            with self._lock:
                self.outside += 1
            return
        service = model.service_model.endpoint_prefix
        context[_BUCKET] = params.get("Bucket")
        calls = [
            Call(function, p.action, p.resource, p.s3_prefix)
            for p in permissions(service, model.name, params)
        ]
        self.note(calls)

    def _after_get_object(self, http_response: Any, context: dict[str, Any], **_: Any) -> None:
        function = running_function()
        if function is not None and http_response.status_code == 404 and context.get(_BUCKET):
            self.note([Call(function, "s3:ListBucket", f"arn:aws:s3:::{context[_BUCKET]}")])

    def note(self, calls: Iterable[Call]) -> None:
        new: list[Call] = []
        with self._lock:
            for call in calls:
                if call not in self.counts:
                    new.append(call)
                self.counts[call] += 1
            if new:
                with self.path.open("a") as out:
                    out.writelines(json.dumps(asdict(c)) + "\n" for c in new)

    def write(self) -> None:
        """Replace the file by one line per kind of call, with its count."""
        with self._lock:
            lines = [json.dumps({**asdict(c), "count": n}) for c, n in sorted(self.counts.items())]
            temporary = self.path.with_suffix(".tmp")
            temporary.write_text("".join(f"{line}\n" for line in lines))
            temporary.replace(self.path)


def recorder_from_environment() -> CallRecorder | None:
    """A recorder writing into ``ECM_RECORD_AWS_CALLS`` (this process's own file), if set."""
    folder = os.environ.get(VARIABLE)
    if not folder:
        return None
    Path(folder).mkdir(parents=True, exist_ok=True)
    return CallRecorder(Path(folder) / f"calls-{os.getpid()}.jsonl")


def read_calls(folder: Path) -> Counter[Call]:
    """Every kind of call the stacks wrote into ``folder``, with its count (a line without
    one, from a stack that did not stop cleanly, counts once)."""
    counts: Counter[Call] = Counter()
    for path in sorted(folder.glob("calls-*.jsonl")):
        seen: dict[Call, int] = {}
        for line in path.read_text().splitlines():
            if line.strip():
                fields = json.loads(line)
                count = int(fields.pop("count", 1))
                call = Call(**fields)
                seen[call] = max(seen.get(call, 0), count)
        counts.update(seen)
    return counts
