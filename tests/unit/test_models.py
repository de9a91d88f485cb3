"""The pynamodb models (ecm.models) against template.yaml, and against the items the import
stages write in attribute-value form (ecm.store): the two can never drift apart."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from fixtures_builders import VALID_NPI, sample_auth_row, sample_mif_row

from devstack.template import LocalTemplate, load_template
from ecm.clients import botocore_session
from ecm.kinds.authorization.member_status import (
    AuthorizationEvent,
    apply_authorization_events,
    assign_history_ids,
)
from ecm.kinds.authorization.planner import build_authorization, pending_key
from ecm.kinds.authorization.rows import validate_authorization_row
from ecm.kinds.mif.rows import validate_mif_row
from ecm.models import MODELS, Authorization, Patient, PatientKey, TableModel, User
from ecm.models.access import as_dict
from ecm.models.base import drop_connections
from ecm.patients.items import build_patient, member_key, patient_name_key
from ecm.store import to_item

TODAY = date(2026, 12, 4)
NOW = "2026-12-04T10:00:00.000Z"


def _tables(parameters: dict[str, str] | None = None) -> dict[str, dict[str, Any]]:
    """Each table as CloudFormation creates it, with the template's defaults (or these)."""
    template = LocalTemplate(load_template(), parameters or {}, 4566)
    return {
        logical: {"Properties": template.table_properties(logical)}
        for logical in template.of_type("AWS::DynamoDB::Table")
    }


def _model(resource: str) -> type[TableModel]:
    [model] = [m for m in MODELS if m.resource == resource]
    return model


def _keys(schema: list[dict[str, str]]) -> set[tuple[str, str]]:
    return {(k["AttributeName"], k["KeyType"]) for k in schema}


def _projection(projection: dict[str, Any]) -> tuple[str, list[str]]:
    return projection["ProjectionType"], sorted(projection.get("NonKeyAttributes", []))


def test_every_table_of_the_template_has_one_model() -> None:
    assert sorted(_tables()) == sorted(m.resource for m in MODELS)


@pytest.mark.parametrize("resource", sorted(_tables()))
def test_model_matches_its_table_in_the_template(resource: str) -> None:
    table = _tables()[resource]["Properties"]
    model = _model(resource)
    schema = model._get_schema()
    assert _keys(schema["key_schema"]) == _keys(table["KeySchema"])
    defined = {(a["AttributeName"], a["AttributeType"]) for a in table["AttributeDefinitions"]}
    assert {(a["AttributeName"], a["AttributeType"]) for a in schema["attribute_definitions"]} == (
        defined
    )
    theirs = {
        g["IndexName"]: (_keys(g["KeySchema"]), _projection(g["Projection"]))
        for g in table.get("GlobalSecondaryIndexes", [])
    }
    ours = {
        g["index_name"]: (_keys(g["key_schema"]), _projection(g["projection"]))
        for g in schema["global_secondary_indexes"]
    }
    assert ours == theirs
    assert schema["local_secondary_indexes"] == [] and "LocalSecondaryIndexes" not in table
    assert model.Meta.billing_mode == table["BillingMode"]


@pytest.mark.parametrize("resource", sorted(_tables()))
def test_model_reads_its_table_name_from_the_variable_the_template_sets(resource: str) -> None:
    variables = load_template()["Globals"]["Function"]["Environment"]["Variables"]
    model = _model(resource)
    assert variables[model.setting.upper()] == {"Ref": resource}


# --- the bulk path's items are the models' items ------------------------------------------


def _round_trip(model: type[TableModel], raw: dict[str, Any]) -> dict[str, Any]:
    """What the model makes of a stored item and writes back: equal only if it declares
    every attribute with its type (pynamodb drops what it does not know)."""
    return model.from_raw_data(raw).serialize()


def _patient() -> dict[str, Any]:
    """A patient as imports leave it: provider and care managers, status history from
    authorizations, activities."""
    row = {**sample_mif_row(7), "ECM_NPI": VALID_NPI, "ACUITY_LEVEL": "high", "GENDER": "F"}
    record, errors = validate_mif_row(2, row, False, TODAY)
    assert errors == []
    provider = {"id": 3, "name": "Esteem Health PSC"}
    patient = build_patient(None, record, 7, 70, 4, provider, "mif#4", NOW)
    patient["case_load"].update(olcm_user_id=11, olcm_name="Jane", ilcm_user_id=12)
    events = [
        AuthorizationEvent("AUTH1", "Pending", "2026-01-02", 2),
        AuthorizationEvent("AUTH2", "Approved", "2026-02-03", 3),
    ]
    assert apply_authorization_events(patient, events, NOW) == 2
    assign_history_ids([patient], 90)
    patient.update(activities_count=2, last_activity_at=NOW)
    return patient


def test_a_patient_written_by_an_import_is_a_patient_model() -> None:
    patient = _patient()
    raw = to_item(patient)
    assert _round_trip(Patient, raw) == raw
    assert {"case_load", "ecm_status_history", "latest_authorization", "search_cin"} <= set(raw)
    model = Patient.from_raw_data(raw)
    assert model.eligibility.member_id == patient["eligibility"]["member_id"]
    assert [h.id for h in model.ecm_status_history] == [90, 91]
    assert model.version == 1


def test_a_patient_without_optional_values_round_trips() -> None:
    record, _ = validate_mif_row(
        2, {"MEMBER_ID": "M1", "FIRST_NAME": "Ana", "LAST_NAME": "Li"}, False, TODAY
    )
    raw = to_item(build_patient(None, record, 8, 80, 4, None, "mif#4", NOW))
    assert "case_load" not in raw and "date_of_birth" not in raw
    assert _round_trip(Patient, raw) == raw


def test_an_authorization_written_by_an_import_is_an_authorization_model() -> None:
    record, errors = validate_authorization_row(2, sample_auth_row(7), True, TODAY)
    assert errors == []
    linked = {"id": 7, "eligibility_id": 70, "name": "Ben Nguyen7"}
    for patient in (linked, None):
        raw = to_item(build_authorization(None, record, 5, patient, 9, "authorization#9", NOW))
        assert _round_trip(Authorization, raw) == raw


def test_the_keys_imports_write_are_patient_key_models() -> None:
    patient = _patient()
    name_key = patient_name_key(patient)
    assert name_key is not None
    for item in (
        {"key": member_key("M1"), "patient_id": 7, "version": 1, "last_import": "mif#4"},
        {"key": name_key, "patient_ids": [7, 9], "version": 3, "last_import": "mif#4"},
        {"key": pending_key("M2"), "auth_nos": ["A1", "A2"], "version": 1, "last_import": "x"},
    ):
        raw = to_item(item)
        assert _round_trip(PatientKey, raw) == raw


def test_a_projection_reads_as_the_attributes_it_holds() -> None:
    partial = User.from_raw_data({"id": {"N": "4"}, "name": {"S": "Jane"}, "role": {"S": "olcm"}})
    assert as_dict(partial) == {"id": 4, "name": "Jane", "role": "olcm"}


def _index_names(properties: dict[str, Any]) -> set[str]:
    return {g["IndexName"] for g in properties.get("GlobalSecondaryIndexes", [])}


def test_a_stack_before_sharding_moves_one_index_per_deployment() -> None:
    """PatientIndexMigration's steps: CloudFormation adds or removes one GSI of a table per
    update, and DynamoDB refuses attribute definitions no key uses."""
    steps = [str(n) for n in range(1, 12)] + ["done"]
    layouts = [_tables({"PatientIndexMigration": s})["PatientsTable"]["Properties"] for s in steps]
    search = {f"search-{f}-index" for f in ("name", "last", "member", "cin")}
    legacy = {"name-index", "status-index", "provider-index", "olcm-index", "ilcm-index"}
    before = search | legacy | {"plan-index"}  # what a stack deployed before sharding has
    previous_names = [before, *map(_index_names, layouts)][:-1]
    for step, (previous, layout) in enumerate(zip(previous_names, layouts, strict=True)):
        assert len(previous ^ _index_names(layout)) == 1, steps[step]
        keyed = {
            k["AttributeName"] for g in layout["GlobalSecondaryIndexes"] for k in g["KeySchema"]
        }
        defined = {a["AttributeName"] for a in layout["AttributeDefinitions"]}
        assert defined == keyed | {"id"}, steps[step]
    assert _index_names(layouts[5]) >= before  # step 6: every old index still serves
    assert _index_names(layouts[-1]) == _index_names(_tables()["PatientsTable"]["Properties"])
    assert not _index_names(layouts[-1]) & (legacy | {"plan-index"})


def test_every_table_client_is_made_from_the_one_botocore_session(
    fake_aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pynamodb would make a botocore session (~20 MB of endpoint data) per table connection
    and per thread; the models make theirs from the process's one session."""
    session = botocore_session()
    made: list[str] = []
    create = session.create_client

    def counted(service: str, *args: Any, **kwargs: Any) -> Any:
        made.append(service)
        return create(service, *args, **kwargs)

    monkeypatch.setattr(session, "create_client", counted)
    drop_connections()
    try:
        first = Patient._get_connection().connection
        second = User._get_connection().connection
        assert first._local.session is second._local.session is session
        assert made == ["dynamodb", "dynamodb"]
    finally:
        drop_connections()
