"""Test-only faults (ECM_ENABLE_FAULT_HOOKS=1; off in every deployment): make a stage fail
the ways a Lambda function can, so tests can prove each ends as if the import never ran.

A fault is an item ``fault#<stage>`` of the meta table:

- ``mode``: ``raise`` (an error of ours), ``timeout`` (the function ran out of time:
  Step Functions sees ``Sandbox.Timedout``), ``crash`` (the process died:
  ``Runtime.ExitError``); ``hold_seconds`` instead stalls the stage that long;
- ``at``: ``end`` (default: after the stage's writes, the worst moment), ``start``,
  ``chunk`` (rollback: after it restored a plan chunk, half-way), or ``counted``
  (finalize: counts and result files written, the file not yet completed);
- ``after_chunk``: apply and rollback only, the chunk it fires at;
- ``times``: how many times it fires (default: every time).
"""

from __future__ import annotations

import time

from pynamodb.exceptions import PynamoDBException

from ecm.errors import InjectedFault
from ecm.models import MetaItem
from ecm.models.access import condition_failed, get
from ecm.settings import get_settings


class LambdaTimedOut(Exception):
    """What Step Functions sees when a function runs out of time."""


class LambdaCrashed(Exception):
    """What Step Functions sees when a function's process exits."""


# The error names Lambda gives these, which the state machine's Retry and Catch match.
LambdaTimedOut.__name__ = "Sandbox.Timedout"
LambdaCrashed.__name__ = "Runtime.ExitError"
FAULTS: dict[str, type[Exception]] = {
    "raise": InjectedFault,
    "timeout": LambdaTimedOut,
    "crash": LambdaCrashed,
}


def _fires(key: str, times: object) -> bool:
    """Count one firing of a fault limited to ``times`` (atomically: parallel chunks)."""
    if times is None:
        return True
    try:
        MetaItem(key).update(actions=[MetaItem.times.add(-1)], condition=MetaItem.times > 0)
    except PynamoDBException as exc:
        if condition_failed(exc):
            return False
        raise
    return True


def fault_point(stage: str, at: str, chunk: int | None = None) -> None:
    """Fail here if a test asked for it (a no-op unless ECM_ENABLE_FAULT_HOOKS is set)."""
    if not get_settings().fault_hooks_enabled:
        return
    key = f"fault#{stage}"
    fault = get(MetaItem, key)
    if not fault or str(fault.get("at") or "end") != at:
        return
    wanted = fault.get("after_chunk")
    if wanted is not None and (chunk is None or int(wanted) != chunk):
        return
    if not _fires(key, fault.get("times")):
        return
    if fault.get("hold_seconds"):
        time.sleep(float(fault["hold_seconds"]))
        return
    mode = str(fault.get("mode") or "raise")
    where = f"{stage}" if chunk is None else f"{stage} chunk {chunk}"
    raise FAULTS[mode](f"injected {mode} at the {at} of {where}")
