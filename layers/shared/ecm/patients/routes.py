"""The routes of the caseload (seed 002 and the case-load and activity additions), one
router per API function."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler.api_gateway import Router

from ecm.api.resolver import current_user, json_body, json_response, query
from ecm.patients.activities import create_activity, list_activities
from ecm.patients.audit import list_audit
from ecm.patients.caseload import (
    add_care_manager,
    add_provider,
    assign_case_load,
    care_managers,
    providers,
)
from ecm.patients.detail import patient_detail
from ecm.patients.listing import filter_patients, list_patients
from ecm.patients.update import update_patient

BASE = "/v1/admin/clinic/ecm"
PATIENTS = BASE + "/patients"

patient_routes = Router()


@patient_routes.get(PATIENTS)
def get_patients() -> Any:
    return json_response(200, list_patients(query(patient_routes)))


@patient_routes.post(PATIENTS + "/filter")
def post_filter() -> Any:
    return json_response(200, filter_patients(json_body(patient_routes)))


@patient_routes.get(PATIENTS + "/<patient_id>")
def get_patient(patient_id: str) -> Any:
    return json_response(200, patient_detail(patient_id, current_user(patient_routes)))


@patient_routes.put(PATIENTS + "/<patient_id>")
def put_patient(patient_id: str) -> Any:
    body, user = json_body(patient_routes), current_user(patient_routes)
    return json_response(200, update_patient(patient_id, body, user))


@patient_routes.put(PATIENTS + "/<patient_id>/case_load")
def put_case_load(patient_id: str) -> Any:
    body, user = json_body(patient_routes), current_user(patient_routes)
    return json_response(200, assign_case_load(patient_id, body, user))


@patient_routes.get(PATIENTS + "/<patient_id>/audit")
def get_audit(patient_id: str) -> Any:
    return json_response(200, list_audit(patient_id, query(patient_routes)))


caseload_routes = Router()


@caseload_routes.post(BASE + "/providers")
def post_provider() -> Any:
    return json_response(201, add_provider(json_body(caseload_routes)))


@caseload_routes.get(BASE + "/providers")
def get_providers() -> Any:
    return json_response(200, providers())


@caseload_routes.post(BASE + "/care_managers")
def post_care_manager() -> Any:
    return json_response(201, add_care_manager(json_body(caseload_routes)))


@caseload_routes.get(BASE + "/care_managers")
def get_care_managers() -> Any:
    return json_response(200, care_managers())


activity_routes = Router()
ACTIVITIES = PATIENTS + "/<patient_id>/activities"


@activity_routes.post(ACTIVITIES)
def post_activity(patient_id: str) -> Any:
    body, user = json_body(activity_routes), current_user(activity_routes)
    return json_response(201, create_activity(patient_id, body, user))


@activity_routes.get(ACTIVITIES)
def get_activities(patient_id: str) -> Any:
    return json_response(200, list_activities(patient_id, query(activity_routes)))
