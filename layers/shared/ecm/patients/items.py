"""Patient items and the lookup keys that let imports match rows without a scan.

A patient is one item (demographics, its ECM eligibility record, its case load). Matching
keys live in the patient-keys table: ``member#<CIN>`` → one patient, and
``name#<first>|<last>|<dob>`` → the patients with that name and date of birth.
"""

from __future__ import annotations

from typing import Any

Item = dict[str, Any]


def member_key(member_id: str) -> str:
    return "member#" + member_id.strip().upper()


def fold(text: str | None) -> str:
    """Lowercase with runs of whitespace as one space: how names and ids are compared."""
    return " ".join((text or "").lower().split())


def name_key(first: str | None, last: str | None, dob: str | None) -> str | None:
    """Case- and whitespace-insensitive name + date of birth; no key without a DOB."""
    if not dob:
        return None
    return f"name#{fold(first)}|{fold(last)}|{dob}"


def patient_name_key(patient: Item) -> str | None:
    return name_key(
        patient.get("first_name"), patient.get("last_name"), patient.get("date_of_birth")
    )


def _pick(new: Any, old: Any) -> Any:
    return old if new is None else new


def build_patient(
    prior: Item | None,
    record: Item,
    patient_id: int,
    eligibility_id: int,
    file_id: int,
    provider: Item | None,
    import_tag: str,
    now: str,
    plan: str | None = None,
) -> Item:
    """The patient item after this MIF row: new values win, blanks keep what was known
    (a file that names no plan keeps the plan a member came from)."""
    old = prior or {}
    old_address = old.get("address") or {}
    old_elig = old.get("eligibility") or {}
    first, last = record["first_name"], record["last_name"]
    eligibility = {
        **old_elig,  # what the API keeps there (enrollment dates, discontinuation)
        "id": eligibility_id,
        "member_id": record["member_id"],
        "cin": _pick(record.get("cin"), old_elig.get("cin")),
        "ecm_service_auth_id": _pick(
            record.get("ecm_service_auth_id"), old_elig.get("ecm_service_auth_id")
        ),
        "ecm_provider_name": _pick(
            record.get("ecm_provider_name"), old_elig.get("ecm_provider_name")
        ),
        "ecm_npi": _pick(record.get("ecm_npi"), old_elig.get("ecm_npi")),
        "ecm_benefit_auth_eff_date": _pick(
            record.get("ecm_benefit_auth_eff_date"), old_elig.get("ecm_benefit_auth_eff_date")
        ),
        "ecm_benefit_auth_end_date": _pick(
            record.get("ecm_benefit_auth_end_date"), old_elig.get("ecm_benefit_auth_end_date")
        ),
        "acuity_level": _pick(record.get("acuity_level"), old_elig.get("acuity_level")),
        "member_record_status": old_elig.get("member_record_status") or "new_member",
        "mif_file_id": file_id,
        "plan": _pick(plan, old_elig.get("plan")),
        "created_at": old_elig.get("created_at") or now,
        "updated_at": now,
    }
    case_load = old.get("case_load")
    if provider is not None:
        case_load = {
            **(case_load or {}),
            "provider_id": provider["id"],
            "provider_name": provider["name"],
        }
    return with_index_fields(
        {
            **old,  # attributes other imports own (status history, approved authorizations)
            "id": patient_id,
            "first_name": first,
            "last_name": last,
            "name": f"{first} {last}",
            "date_of_birth": _pick(record.get("date_of_birth"), old.get("date_of_birth")),
            "gender": _pick(record.get("gender"), old.get("gender")),
            "address": {
                "street": _pick(record.get("address"), old_address.get("street")),
                "city": _pick(record.get("city"), old_address.get("city")),
                "state": _pick(record.get("state"), old_address.get("state")),
                "zip": _pick(record.get("zip"), old_address.get("zip")),
            },
            "phone": _pick(record.get("phone"), old.get("phone")),
            "email": old.get("email"),
            "services": old.get("services") or ["ecm"],
            "eligibility": eligibility,
            "case_load": case_load,
            "created_at": old.get("created_at") or now,
            "updated_at": now,
            "version": int(old.get("version", 0)) + 1,
            "last_import": import_tag,
        }
    )


PATIENT_KIND = "patient"
#: Prefix-searchable fields, each with its index: full name, last name, member id, CIN.
#: The order matters: a patient is counted by the first of its fields a term matches.
SEARCH_INDEXES = ("name", "last", "member", "cin")
#: Between a search field's folded text and its tie-break in the index's range key. Folding
#: removes it (str.split() treats it as whitespace), and it sorts before every character a
#: folded text holds, so "smith" + SEP + ... sorts before "smithe...", as "smith" does.
SEARCH_SEP = "\x1f"
#: The second-character buckets of a search partition, in text order: "!" for the end of
#: the text and anything before "0" (space, "'", "-", "."), each digit, ":" for anything
#: between "9" and "a", each letter, "~" for anything after "z" (accented letters, ...).
SEARCH_BUCKETS = ("!", *"0123456789", ":", *"abcdefghijklmnopqrstuvwxyz", "~")
#: Every attribute ``search_fields`` may set, so a field that lost its text loses them too.
_SEARCH_ATTRIBUTES = tuple(
    f"search_{name}{suffix}" for name in SEARCH_INDEXES for suffix in ("_p", "", "_from")
)


def _bucket(char: str) -> str:
    if not char or char < "0":
        return "!"
    if char <= "9" or "a" <= char <= "z":
        return char
    return ":" if char < "a" else "~"


def search_partition(text: str) -> str:
    """A search index's partition for a folded text: its first character and the bucket of
    its second. Monotonic: every text of partition "sm" sorts before every text of "sn"."""
    return text[:1] + _bucket(text[1:2])


def search_partitions(term: str) -> list[str]:
    """The partitions a folded term's matches can live in, in text order: one for a term of
    two characters or more; the first character's SEARCH_BUCKETS for a one-character term."""
    if len(term) >= 2:
        return [search_partition(term)]
    return [term + bucket for bucket in SEARCH_BUCKETS]


def _common_prefix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def search_fields(patient: Item) -> Item:
    """The search indexes' attributes of a patient (``with_index_fields`` sets them).

    Per field ``<f>`` with a text: ``search_<f>_p`` (partition, ``search_partition``),
    ``search_<f>`` (range: the folded text, SEARCH_SEP, then ``sort_name`` as the tie-break,
    so an index's order is the matched text's, then the name's, and unique), and
    ``search_<f>_from``: the shortest term this entry counts for in ``total_count``. A term
    that matches this field and an earlier one (SEARCH_INDEXES order) is at most as long as
    their common prefix, so the entry counts only for terms longer than every such prefix:
    summing the entries with ``from <= len(term)`` counts each matching patient once.
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
    fields: Item = {}
    earlier: list[str] = []
    for name, text in texts:
        if not text:
            continue
        fields[f"search_{name}_p"] = search_partition(text)
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
    eligibility = patient.get("eligibility") or {}
    case_load = patient.get("case_load") or {}
    first, last = fold(patient.get("first_name")), fold(patient.get("last_name"))
    patient["kind"] = PATIENT_KIND
    patient["sort_name"] = f"{last} {first}#{int(patient.get('id') or 0):012d}"
    search = _search_fields(patient, first, last)
    for field, value in (
        ("member_record_status", eligibility.get("member_record_status")),
        ("plan", eligibility.get("plan")),
        ("provider_id", case_load.get("provider_id")),
        ("olcm_user_id", case_load.get("olcm_user_id")),
        ("ilcm_user_id", case_load.get("ilcm_user_id")),
    ):
        if value is None:
            patient.pop(field, None)  # a sparse index skips items without the attribute
        else:
            patient[field] = value
    if len(search) < len(_SEARCH_ATTRIBUTES):
        for field in _SEARCH_ATTRIBUTES:
            if field not in search:
                patient.pop(field, None)
    patient.update(search)
    return patient


def eligibility_snapshot(patient: Item) -> Item:
    """What a MIF file's detail lists for one row, frozen at import time."""
    elig = patient["eligibility"]
    return {
        "id": elig["id"],
        "patient_id": patient["id"],
        "patient_name": patient["name"],
        "member_id": elig["member_id"],
        "cin": elig["cin"],
        "first_name": patient["first_name"],
        "last_name": patient["last_name"],
        "dob": patient["date_of_birth"],
        "ecm_service_auth_id": elig["ecm_service_auth_id"],
        "ecm_provider_name": elig["ecm_provider_name"],
        "member_record_status": elig["member_record_status"],
        "created_at": elig["created_at"],
        "updated_at": elig["updated_at"],
    }
