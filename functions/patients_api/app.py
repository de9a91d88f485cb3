"""Patient routes (seed 002): list, detail, update, and the per-patient audit trail."""

from typing import Any

from ecm.api.resolver import admin_context, json_body, json_response, make_resolver
from ecm.log import logger
from ecm.patients.audit import list_audit
from ecm.patients.caseload import assign_case_load
from ecm.patients.detail import patient_detail
from ecm.patients.listing import filter_patients, list_patients
from ecm.patients.update import update_patient

app = make_resolver()
BASE = "/v1/admin/clinic/ecm/patients"


@app.get(BASE)
def get_patients() -> Any:
    admin_context(app)
    return json_response(200, list_patients(app.current_event.query_string_parameters))


@app.post(BASE + "/filter")
def post_filter() -> Any:
    admin_context(app)
    return json_response(200, filter_patients(json_body(app)))


@app.get(BASE + "/<patient_id>")
def get_patient(patient_id: str) -> Any:
    return json_response(200, patient_detail(patient_id, admin_context(app)))


@app.put(BASE + "/<patient_id>")
def put_patient(patient_id: str) -> Any:
    user = admin_context(app)
    return json_response(200, update_patient(patient_id, json_body(app), user))


@app.put(BASE + "/<patient_id>/case_load")
def put_case_load(patient_id: str) -> Any:
    user = admin_context(app)
    return json_response(200, assign_case_load(patient_id, json_body(app), user))


@app.get(BASE + "/<patient_id>/audit")
def get_audit(patient_id: str) -> Any:
    admin_context(app)
    query = app.current_event.query_string_parameters
    return json_response(200, list_audit(patient_id, query))


@logger.inject_lambda_context(log_event=False)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
