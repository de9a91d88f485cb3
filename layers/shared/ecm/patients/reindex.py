"""Rewrite every patient's derived index attributes (the CLI's reindex-patients)."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from botocore.exceptions import ClientError

from ecm.clients import client
from ecm.models import Patient
from ecm.models.access import condition_failed
from ecm.patients.index_fields import with_index_fields
from ecm.store import from_item, to_attr

Item = dict[str, Any]

#: Conditional updates in flight at once (as the import's apply sends its writes).
WRITERS = 8


def _derived_update(stored: Item, rebuilt: Item) -> Item | None:
    """The UpdateItem that turns a stored patient's derived attributes into the rebuilt
    ones, conditional on the version read; None when nothing differs."""
    changed = sorted(k for k in {*stored, *rebuilt} if stored.get(k) != rebuilt.get(k))
    if not changed:
        return None
    names = {f"#a{i}": name for i, name in enumerate(changed)}
    sets = [f"#a{i} = :a{i}" for i, name in enumerate(changed) if name in rebuilt]
    removes = [f"#a{i}" for i, name in enumerate(changed) if name not in rebuilt]
    values = {f":a{i}": to_attr(rebuilt[name]) for i, name in enumerate(changed) if name in rebuilt}
    expression = " ".join(
        part
        for part in (
            f"SET {', '.join(sets)}" if sets else "",
            f"REMOVE {', '.join(removes)}" if removes else "",
        )
        if part
    )
    version = stored.get("version")
    if version is None:
        condition = "attribute_not_exists(#version)"
    else:
        condition = "#version = :version"
        values[":version"] = to_attr(version)
    names["#version"] = "version"
    update: Item = {
        "TableName": Patient.Meta.table_name,
        "Key": {"id": to_attr(stored["id"])},
        "UpdateExpression": expression,
        "ConditionExpression": condition,
        "ExpressionAttributeNames": names,
    }
    if values:
        update["ExpressionAttributeValues"] = values
    return update


def _rewrite(raw: Item) -> str:
    stored = from_item(raw)
    update = _derived_update(stored, with_index_fields(dict(stored)))
    if update is None:
        return "unchanged"
    try:
        client("dynamodb").update_item(**update)
    except ClientError as exc:
        if not condition_failed(exc):
            raise
        return "changed_since"
    return "rewritten"


def reindex_patients() -> dict[str, int]:
    """Rewrite every patient's derived index attributes from its data.

    For a stack whose items were written under an earlier index layout (unsharded lists,
    search partitions by text): scans the table once and rewrites each patient whose
    derived attributes differ (setting the new, removing the old), conditionally on its
    version, so an update racing the rewrite is never overwritten (it is counted in
    ``changed_since`` and already carries the new attributes, since every writer calls
    ``with_index_fields``). The patient's data and version stay as they are. Works on the
    raw items: attributes the model no longer declares are seen, and removed.
    """
    counts = Counter({"rewritten": 0, "unchanged": 0, "changed_since": 0})
    pages = client("dynamodb").get_paginator("scan").paginate(TableName=Patient.Meta.table_name)
    with ThreadPoolExecutor(max_workers=WRITERS) as pool:
        for page in pages:
            counts.update(pool.map(_rewrite, page.get("Items", [])))
    return dict(counts)
