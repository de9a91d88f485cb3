"""What the patients' indexes key on, derived from a patient's data on every write.

DynamoDB indexes only top-level attributes, and one partition key of a table or an index
takes at most 1,000 write units a second. An import writes thousands of patients with one
status, one provider and one plan, so no index key is a value patients share: each list is
kept under ``SHARDS`` keys, ``<value>#<id % SHARDS>`` (ids are dense, so the shards are
even), and each search index under the ``SHARDS`` keys of the id alone. A page merges the
shards' sorted streams (ecm.models.partitions). docs/scaling.md has the figures.
"""

from __future__ import annotations

from typing import Any

Item = dict[str, Any]


def fold(text: str | None) -> str:
    """Lowercase with runs of whitespace as one space: how names and ids are compared."""
    return " ".join((text or "").lower().split())


#: Partition keys per list and per search index. Sixteen keys take 16,000 writes a second
#: (an import's apply is far below), and a page reads about twice its entries plus a few
#: per shard. Changing it means rewriting every patient (``reindex-patients``).
SHARDS = 16

#: The value every patient's entry in the list of all patients shards.
ALL_PATIENTS = "patient"


def shard_key(value: object, patient_id: int) -> str:
    """The partition key of one patient's entry in the list of ``value``."""
    return f"{value}#{patient_id % SHARDS}"


def shard_keys(value: object) -> list[str]:
    """Every partition key the list of ``value`` is kept under."""
    return [f"{value}#{shard}" for shard in range(SHARDS)]


def _list_values(patient: Item) -> dict[str, object]:
    """Each list index's hash attribute, and the value this patient is listed under (None:
    not in that list; the index is sparse)."""
    eligibility = patient.get("eligibility") or {}
    case_load = patient.get("case_load") or {}
    return {
        "all_shard": ALL_PATIENTS,
        "status_shard": eligibility.get("member_record_status"),
        "provider_shard": case_load.get("provider_id"),
        "olcm_shard": case_load.get("olcm_user_id"),
        "ilcm_shard": case_load.get("ilcm_user_id"),
        "plan_shard": eligibility.get("plan"),
    }


#: Top-level copies an earlier layout kept for its unsharded indexes; every writer removes
#: them, so the old indexes (if a stack still has them) empty instead of staying hot.
LEGACY_ATTRIBUTES = (
    "kind",
    "member_record_status",
    "plan",
    "provider_id",
    "olcm_user_id",
    "ilcm_user_id",
)

#: Prefix-searchable fields, each with its index: full name, last name, member id, CIN.
#: The order matters: a patient is counted by the first of its fields a term matches.
SEARCH_INDEXES = ("name", "last", "member", "cin")
#: Between a search field's folded text and its tie-break in the index's range key. Folding
#: removes it (str.split() treats it as whitespace), and it sorts before every character a
#: folded text holds, so "smith" + SEP + ... sorts before "smithe...", as "smith" does.
SEARCH_SEP = "\x1f"
#: Every attribute ``search_fields`` may set, so a field that lost its text loses them too.
_SEARCH_ATTRIBUTES = tuple(
    f"search_{name}{suffix}" for name in SEARCH_INDEXES for suffix in ("_p", "", "_from")
)


def search_shards() -> list[str]:
    """The partition keys of each search index: a term's matches are in every one."""
    return [str(shard) for shard in range(SHARDS)]


def _common_prefix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def search_fields(patient: Item) -> Item:
    """The search indexes' attributes of a patient (``with_index_fields`` sets them).

    Per field ``<f>`` with a text: ``search_<f>_p`` (the partition: the id's shard, so an
    import's entries spread evenly whatever the texts share, real CINs their first
    characters), ``search_<f>`` (range: the folded text, SEARCH_SEP, then ``sort_name``
    as the tie-break, so an index's order is the matched text's, then the name's, and
    unique), and ``search_<f>_from``: the shortest term this entry counts for in
    ``total_count``. A term that matches this field and an earlier one (SEARCH_INDEXES
    order) is at most as long as their common prefix, so the entry counts only for terms
    longer than every such prefix: summing the entries with ``from <= len(term)`` counts
    each matching patient once.
    """
    return _search_fields(patient, fold(patient.get("first_name")), fold(patient.get("last_name")))


def _search_fields(patient: Item, first: str, last: str) -> Item:
    """``search_fields`` with the first and last names already folded."""
    eligibility = patient.get("eligibility") or {}
    # fold(first + " " + last) is the folded parts joined: folding splits on whitespace.
    texts = (
        ("name", f"{first} {last}" if first and last else first or last),
        ("last", last),
        ("member", fold(eligibility.get("member_id"))),
        ("cin", fold(eligibility.get("cin"))),
    )
    tie_break = SEARCH_SEP + patient["sort_name"]
    partition = str(int(patient.get("id") or 0) % SHARDS)
    fields: Item = {}
    earlier: list[str] = []
    for name, text in texts:
        if not text:
            continue
        fields[f"search_{name}_p"] = partition
        fields[f"search_{name}"] = text + tie_break
        shared = 0
        for other in earlier:
            if other[0] == text[0]:
                shared = max(shared, _common_prefix(text, other))
        fields[f"search_{name}_from"] = shared + 1
        earlier.append(text)
    return fields


def with_index_fields(patient: Item) -> Item:
    """Copy what the patients' indexes sort and filter on to top-level attributes.

    DynamoDB indexes only top-level attributes; every writer of a patient item calls this,
    so the copies never drift from the nested eligibility and case load.
    """
    patient_id = int(patient.get("id") or 0)
    first, last = fold(patient.get("first_name")), fold(patient.get("last_name"))
    patient["sort_name"] = f"{last} {first}#{patient_id:012d}"
    for legacy in LEGACY_ATTRIBUTES:
        patient.pop(legacy, None)
    for attribute, value in _list_values(patient).items():
        if value is None:
            patient.pop(attribute, None)  # a sparse index skips items without the attribute
        else:
            patient[attribute] = shard_key(value, patient_id)
    search = _search_fields(patient, first, last)
    if len(search) < len(_SEARCH_ATTRIBUTES):
        for field in _SEARCH_ATTRIBUTES:
            if field not in search:
                patient.pop(field, None)
    patient.update(search)
    return patient
