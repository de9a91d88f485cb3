"""``python -m devstack``: start the local stack in the foreground (``make run``)."""

from __future__ import annotations

import os
import signal
import sys
import threading
from typing import TextIO

from devstack.persistence import StateError
from ecm.aws_faults import VARIABLE, parse_faults

#: How long a stop may take with data to save before the process ends anyway.
STOP_SECONDS = 300


class WholeLines:
    """stdout for many threads: each line is written in one call, so a log line and a metrics
    line (Powertools prints those: text, then the newline, in two writes) never interleave."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._lock = threading.Lock()
        self._pending = threading.local()

    def write(self, text: str) -> int:
        buffered = getattr(self._pending, "text", "") + text
        complete, newline, rest = buffered.rpartition("\n")
        self._pending.text = rest
        if newline:
            with self._lock:
                self._stream.write(complete + "\n")
        return len(text)

    def flush(self) -> None:
        with self._lock:
            self._stream.flush()

    def __getattr__(self, name: str) -> object:
        return getattr(self._stream, name)


def main() -> int:
    sys.stdout = WholeLines(sys.stdout)  # type: ignore[assignment]
    # Imported only now: it loads ecm.log, whose logger keeps the sys.stdout it finds then.
    from devstack.environment import admin_token_problem  # noqa: PLC0415 - loads ecm.log
    from devstack.stack import LocalStack  # noqa: PLC0415 - after stdout is wrapped

    problem = admin_token_problem()
    if problem:
        print(problem, file=sys.stderr, flush=True)
        return 2
    try:  # a bad ECM_AWS_FAULTS stops the stack here, naming the entry
        faults = parse_faults(os.environ.get(VARIABLE))
    except ValueError as exc:
        print(str(exc), file=sys.stderr, flush=True)
        return 2
    port = int(os.environ.get("PORT", "3000"))
    aws_port = int(os.environ.get("AWS_PORT", "4566"))
    stack = LocalStack(port, aws_port)
    try:
        info = stack.start()
    except StateError as exc:
        print(str(exc), file=sys.stderr, flush=True)
        return 2
    print("ECM Imports local stack is running", flush=True)
    print(f"  API:          {info.api_url}   (try: curl {info.api_url}/v1/health)", flush=True)
    print(f"  Console:      {info.api_url}/console/   (sign in with the admin token)", flush=True)
    print(f"  API docs:     {info.api_url}/v1/docs", flush=True)
    print(f"  AWS endpoint: {info.aws_endpoint}", flush=True)
    print(f"  Bucket:       {info.bucket}   (drop MIF files under inbox/mif/)", flush=True)
    print(f"  Admin token:  {info.admin_token}", flush=True)
    if info.staff_token:
        print(f"  Staff token:  {info.staff_token}", flush=True)
    if info.webhook_secret:
        print(f"  Webhook secret: {info.webhook_secret}   (verifies webhook-signature)", flush=True)
    if info.data_dir:
        kept = "loaded from the last run" if info.restored else "new"
        print(f"  Data:         {info.data_dir} ({kept}; `make reset` deletes it)", flush=True)
        if info.rolled_back:
            print(f"  Rolled back:  {info.rolled_back} import(s) the last stop interrupted")
    else:
        print("  Data:         in memory only (ECM_DATA_DIR is empty)", flush=True)
    if faults:
        print(f"  AWS faults:   {os.environ[VARIABLE]} ({VARIABLE})", flush=True)
    print("Press Ctrl+C to stop.", flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    done.wait()
    if info.data_dir:
        print("Saving local data...", flush=True)
    stopper = threading.Thread(target=stack.stop, daemon=True)
    stopper.start()
    # Never outlive a stop request, whatever a server thread does; the last save may take a
    # while with a big caseload (100,000 patients: seconds).
    stopper.join(timeout=STOP_SECONDS if info.data_dir else 5)
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
