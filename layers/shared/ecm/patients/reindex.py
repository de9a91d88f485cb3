"""Rewrite every patient's derived index attributes (the CLI's reindex-patients)."""

from __future__ import annotations

from collections import Counter

from pynamodb.exceptions import PynamoDBException

from ecm.models import Patient
from ecm.models.access import as_dict, condition_failed
from ecm.patients.items import with_index_fields


def reindex_patients() -> dict[str, int]:
    """Rewrite every patient's derived index attributes from its data.

    For a stack whose items were written under an earlier index layout (the search
    partitions changed in issue #4): scans the table once and re-puts each patient whose
    derived attributes differ, conditionally on its version, so an update racing the
    rewrite is never overwritten (it is counted in ``changed_since`` and already carries
    the new attributes, since every writer calls ``with_index_fields``).
    """
    counts = Counter({"rewritten": 0, "unchanged": 0, "changed_since": 0})
    for model in Patient.scan():
        stored = as_dict(model)
        rebuilt = with_index_fields(dict(stored))
        if rebuilt == stored:
            counts["unchanged"] += 1
            continue
        # The derived attributes only, conditional on the version read: the version stays
        # (the patient's data did not change), so this goes below the model's save().
        derived = {k for k in (*stored, *rebuilt) if stored.get(k) != rebuilt.get(k)}
        attributes = Patient.get_attributes()
        actions = [
            attributes[k].set(rebuilt[k]) if k in rebuilt else attributes[k].remove()
            for k in sorted(derived)
        ]
        version = stored.get("version")
        condition = (
            Patient.version.does_not_exist() if version is None else (Patient.version == version)
        )
        try:
            Patient._get_connection().update_item(
                str(int(model.id)),
                actions=actions,
                condition=condition,  # N keys as text
            )
        except PynamoDBException as exc:
            if not condition_failed(exc):
                raise
            counts["changed_since"] += 1
        else:
            counts["rewritten"] += 1
    return dict(counts)
