"""Patient counts per list (all, status, provider, OLCM, ILCM), kept with the data.

``total_count`` of a list must not need a scan: every writer of patients turns the change
of a patient's index keys into counter deltas and commits them transactionally — PUT in the
same transaction as the patient, an import in its finalize transaction (so a rolled-back
import never touched a count).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from pynamodb.transactions import TransactWrite

from ecm.models import MetaItem
from ecm.models.access import batch_read

Item = dict[str, Any]
TRANSACTION_LIMIT = 100


def count_keys(patient: Item | None) -> list[str]:
    if not patient:
        return []
    keys = ["count#patient"]
    status = (patient.get("eligibility") or {}).get("member_record_status")
    if status:
        keys.append(f"count#status#{status}")
    case_load = patient.get("case_load") or {}
    for field, name in (
        ("provider_id", "provider"),
        ("olcm_user_id", "olcm"),
        ("ilcm_user_id", "ilcm"),
    ):
        if case_load.get(field) is not None:
            keys.append(f"count#{name}#{case_load[field]}")
    return keys


def add_deltas(deltas: Counter[str], prior: Item | None, new: Item | None) -> None:
    for key in count_keys(prior):
        deltas[key] -= 1
    for key in count_keys(new):
        deltas[key] += 1


def add_count_updates(writes: TransactWrite, deltas: dict[str, int], sign: int = 1) -> None:
    """Add each non-zero delta to its counter, in the transaction ``writes``."""
    for key, delta in sorted(deltas.items()):
        if delta:
            writes.update(MetaItem(key), actions=[MetaItem.value.add(sign * delta)])


def read_counts(keys: list[str]) -> dict[str, int]:
    values = {item["pk"]: int(item.get("value") or 0) for item in batch_read(MetaItem, keys)}
    return {key: values.get(key, 0) for key in keys}
