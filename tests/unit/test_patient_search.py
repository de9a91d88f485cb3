"""Prefix search over the patients' search indexes: partitions, range keys, the count's
dedup attribute (pure), and pages/total_count against template.yaml's table (moto
in-process), checked against a brute-force search of the same patients."""

from __future__ import annotations

import random
from typing import Any

import pytest
from patients_table import Reads, put_patients

from ecm.models.partitions import page_size_for
from ecm.patients.index_fields import (
    SEARCH_INDEXES,
    SEARCH_SEP,
    SHARDS,
    search_fields,
    search_shards,
    with_index_fields,
)
from ecm.patients.listing import PatientFilterRequest, filter_patients, list_patients

Item = dict[str, Any]
#: Characters around every bucket boundary: end/space/punctuation, digits, ":" .. "`", "{",
#: accented letters.
ALPHABET = " '-.0189:@_`abmyz{é"


def _fold(text: str) -> str:
    return " ".join(text.lower().split())


def _texts(patient: Item) -> list[str]:
    elig = patient.get("eligibility") or {}
    return [
        t
        for t in (
            _fold(f"{patient.get('first_name') or ''} {patient.get('last_name') or ''}"),
            _fold(patient.get("last_name") or ""),
            _fold(elig.get("member_id") or ""),
            _fold(elig.get("cin") or ""),
        )
        if t
    ]


def _patient(
    patient_id: int, first: str, last: str, member: str, cin: str | None, status: str = "new_member"
) -> Item:
    return with_index_fields(
        {
            "id": patient_id,
            "first_name": first,
            "last_name": last,
            "name": f"{first} {last}",
            "eligibility": {"member_id": member, "cin": cin, "member_record_status": status},
            "version": 1,
        }
    )


def _random_patients(seed: int, count: int) -> list[Item]:
    """Short texts from a small alphabet, so fields of one patient share prefixes often."""
    rng = random.Random(seed)

    def word(low: int = 1, high: int = 4) -> str:
        return "".join(rng.choice("abAB") for _ in range(rng.randint(low, high)))

    patients = []
    for i in range(1, count + 1):
        first, last = word(), word()
        if rng.random() < 0.2:
            last = first + word(0, 2)  # "Ab Abba": the last name repeats the first
        member = rng.choice(["a", "b", "1"]) + word(0, 3)
        cin = rng.choice([member, member.upper(), None, "a" + word(0, 2)])
        patients.append(_patient(i, first, last, member, cin))
    return patients


def _expected(patients: list[Item], term: str) -> list[int]:
    """Brute force: patients with a text starting with ``term``, by (text, sort_name)."""
    ranked = []
    for p in patients:
        matched = [t for t in _texts(p) if t.startswith(term)]
        if matched:
            ranked.append((min(matched), p["sort_name"], p["id"]))
    return [patient_id for *_, patient_id in sorted(ranked)]


# --- pure -----------------------------------------------------------------------------------


def test_every_field_of_a_patient_is_in_its_ids_shard() -> None:
    assert search_shards() == [str(shard) for shard in range(SHARDS)]
    for patient_id in (1, 15, 16, 17, 12345):
        patient = _patient(patient_id, "Ana", "Smith", "M1", "9123")
        shard = str(patient_id % SHARDS)
        assert [patient[f"search_{name}_p"] for name in SEARCH_INDEXES] == [shard] * 4


def test_range_keys_sort_by_text_then_name_and_start_with_the_text() -> None:
    patients = [
        _patient(1, "Ana", "Smith", "M1", None),
        _patient(2, "Ben", "Smith", "M2", None),
        _patient(3, "Ana", "Smithe", "M3", None),
        _patient(4, "ana", "smith", "M4", None),
    ]
    keys = sorted((p["search_last"], p["id"]) for p in patients)
    assert [patient_id for _, patient_id in keys] == [1, 4, 2, 3]  # smith (ana, ana, ben), smithe
    assert patients[0]["search_last"] == f"smith{SEARCH_SEP}smith ana#000000000001"
    assert patients[0]["search_name_p"] == "1" and patients[3]["search_last_p"] == "4"
    assert _fold(f"Smith{SEARCH_SEP}x") == "smith x"  # folding drops the separator


@pytest.mark.parametrize(
    ("first", "last"),
    [
        ("  Ana  Maria ", "de\tla  Cruz"),
        ("", "Smith"),
        ("Ana", None),
        ("   ", " O'Neil "),
        (None, None),
        ("ÉVA", "Nagy\n"),
    ],
)
def test_name_texts_equal_folding_the_whole_name(first: str | None, last: str | None) -> None:
    patient = _patient(9, first, last, "M9", None)  # type: ignore[arg-type]
    name, last_text = _fold(f"{first or ''} {last or ''}"), _fold(last or "")
    sort_name = f"{last_text} {_fold(first or '')}#000000000009"
    assert patient["sort_name"] == sort_name
    assert patient.get("search_name") == (f"{name}{SEARCH_SEP}{sort_name}" if name else None)
    assert patient.get("search_last") == (
        f"{last_text}{SEARCH_SEP}{sort_name}" if last_text else None
    )
    assert search_fields(patient) == {k: v for k, v in patient.items() if k.startswith("search_")}


def test_count_attribute_counts_each_matching_patient_once() -> None:
    patients = _random_patients(7, 300)
    patients.append(_patient(301, "Smith", "Smith", "M9", "m9"))  # every field repeats
    terms = {t[:n] for p in patients for t in _texts(p) for n in range(1, len(t) + 1)}
    assert len(terms) > 100
    for term in terms:
        counted = sum(
            1
            for p in patients
            for name in SEARCH_INDEXES
            if f"search_{name}" in p
            and p[f"search_{name}"].split(SEARCH_SEP)[0].startswith(term)
            and p[f"search_{name}_from"] <= len(term)
        )
        assert counted == len(_expected(patients, term)), term


def test_blank_fields_leave_no_index_attributes() -> None:
    patient = _patient(5, "Ana", "Lopez", "M5", None)
    assert "search_cin" not in patient and "search_cin_p" not in patient
    assert "search_cin_from" not in patient
    assert set(search_fields(patient)) == {
        f"search_{n}{s}" for n in ("name", "last", "member") for s in ("_p", "", "_from")
    }
    patient["eligibility"]["cin"] = "9123"
    assert with_index_fields(patient)["search_cin_p"] == "5"


# --- against the table (moto in-process) ----------------------------------------------------


def _page(term: str, page: int, per_page: int) -> tuple[list[int], Item]:
    body = list_patients(term, None, None, page, per_page)
    return [p["id"] for p in body["patients"]], body["pagination"]


def test_pages_and_total_count_match_a_brute_force_search(patients_table: Reads) -> None:
    patients = _random_patients(11, 120)
    put_patients(patients)
    terms = sorted({t[:n] for p in patients for t in _texts(p) for n in (1, 2, 3)})
    short = ["a", "1"]  # one character
    longer = random.Random(3).sample([t for t in terms if len(t) > 1], 8)
    for term in [*short, *longer, "zz", "a b", " A  B"]:
        expected = _expected(patients, _fold(term))  # the API folds the term too
        for per_page in (7,) if len(term) == 1 else (2, 7):
            pages = max(1, -(-len(expected) // per_page))
            for page in sorted({1, 2, pages, pages + 1}):
                got, pagination = _page(term, page, per_page)
                start = (page - 1) * per_page
                assert got == expected[start : start + per_page], (term, page, per_page)
                assert pagination == {
                    "current_page": page,
                    "total_pages": pages if expected else 0,
                    "total_count": len(expected),
                    "per_page": per_page,
                }, (term, page, per_page)


def test_a_page_reads_only_its_own_full_items(patients_table: Reads) -> None:
    patients = [_patient(i, "Ana", f"Smith{i}", f"M{i:06d}", f"9{i:06d}A") for i in range(1, 301)]
    patients.append(_patient(301, "Smithy", "Smithson", "M999999", None))  # two fields match
    put_patients(patients)
    patients_table.reset()
    got, pagination = _page("smith", 1, 25)
    assert pagination["total_count"] == 301
    assert got == _expected(patients, "smith")[:25]
    assert patients_table.full == 25  # the page's items, by BatchGetItem
    assert patients_table.queries and all(q.startswith("search-") for q in patients_table.queries)
    # the count reads every matching entry (keys only), and the page at most one page of
    # entries per shard of each index (in one round: one query per shard and index)
    assert 302 <= patients_table.entries <= 302 + 4 * SHARDS * page_size_for(25, SHARDS)
    assert len(patients_table.queries) <= 2 * 4 * SHARDS
    patients_table.reset()
    got, pagination = _page("smith", 13, 25)
    assert got == _expected(patients, "smith")[300:]
    assert pagination["total_pages"] == 13
    assert patients_table.full == 1
    patients_table.reset()
    assert _page("smith", 14, 25)[0] == []
    assert patients_table.full == 0  # beyond the end: counted, nothing else read


def test_search_with_a_filter_or_another_sort_still_reads_every_match(
    patients_table: Reads,
) -> None:

    patients = [
        _patient(
            i, "Ana", f"Kim{i}", f"M{i:06d}", None, "new_member" if i % 3 else "inactive_member"
        )
        for i in range(1, 41)
    ]
    put_patients(patients)
    body = filter_patients(
        PatientFilterRequest.model_validate(
            {"search": "kim", "filters": {"status": "inactive_member"}}
        )
    )
    expected = [i for i in _expected(patients, "kim") if i % 3 == 0]
    assert [p["id"] for p in body["patients"]] == expected
    assert body["pagination"]["total_count"] == len(expected)
    body = filter_patients(
        PatientFilterRequest.model_validate(
            {"search": "kim1", "sort_by": "member_id", "sort_dir": "DESC"}
        )
    )
    assert [p["id"] for p in body["patients"]] == sorted(_expected(patients, "kim1"), reverse=True)
