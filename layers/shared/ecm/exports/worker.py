"""The export queue's messages: ``{"export_id": n}``, delivered at least once."""

from __future__ import annotations

import json

from ecm.exports.engine import run_export

#: The queue's maxReceiveCount (template.yaml ExportQueue): the last try marks it failed.
ATTEMPTS = 3


def handle_export_message(body: str, attempt: int) -> None:
    message = json.loads(body)
    export_id = message.get("export_id") if isinstance(message, dict) else None
    if not isinstance(export_id, int) or isinstance(export_id, bool):
        raise ValueError("the message names no export")
    run_export(export_id, last_attempt=attempt >= ATTEMPTS)
