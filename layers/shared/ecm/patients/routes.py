"""The routes of the caseload (docs/api/patients.md), a router
factory per API function (each resolver gets routers of its own: a Router answers through
the resolver it was last included in). Each route declares its bodies and query parameters,
which the resolver validates and the OpenAPI document describes."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Query

from ecm.api.params import PageNumber, PerPage, ProviderId, RecordId
from ecm.api.resolver import BASE, current_user, json_response
from ecm.api.schemas import responses
from ecm.patients.activities import create_activity, list_activities
from ecm.patients.audit import list_audit
from ecm.patients.bulk import BulkUpdateRequest, bulk_update
from ecm.patients.caseload import (
    CARE_MANAGER_NOT_FOUND,
    add_care_manager,
    add_provider,
    assign_case_load,
    care_managers,
    edit_provider,
    providers,
    update_care_manager,
)
from ecm.patients.detail import patient_detail
from ecm.patients.listing import PatientFilterRequest, filter_patients, list_patients
from ecm.patients.providers import PROVIDER_NOT_FOUND
from ecm.patients.reading import NOT_FOUND as PATIENT_NOT_FOUND
from ecm.patients.schemas import (
    ActivityCreated,
    ActivityList,
    ActivityRequest,
    AuditTrail,
    BulkUpdated,
    CareManagerCreated,
    CareManagerList,
    CareManagerRequest,
    CareManagerUpdated,
    CareManagerUpdateRequest,
    CaseLoadRequest,
    PatientDetail,
    PatientList,
    PatientUpdateRequest,
    ProviderCreated,
    ProviderList,
    ProviderRequest,
    ProviderUpdated,
    ProviderUpdateRequest,
)
from ecm.patients.update import update_patient

PATIENTS = BASE + "/patients"
PATIENT_TAGS = ["Patients"]
CASELOAD_TAGS = ["Case loads"]
ACTIVITIES = PATIENTS + "/<patient_id>/activities"
PatientId = Annotated[str, RecordId(PATIENT_NOT_FOUND)]
CareManagerId = Annotated[str, RecordId(CARE_MANAGER_NOT_FOUND)]
ProviderPathId = Annotated[str, RecordId(PROVIDER_NOT_FOUND)]


def patient_routes() -> Router:
    """List, filter, detail, update, case load and audit of patients."""
    router = Router()

    @router.get(
        PATIENTS,
        summary="List patients",
        description="In name order; `search` matches a prefix of the name, member id or CIN.",
        responses=responses({200: PatientList}),
        tags=PATIENT_TAGS,
    )
    def get_patients(
        search: Annotated[str | None, Query()] = None,
        status: Annotated[str | None, Query(description="A member record status")] = None,
        provider_id: Annotated[ProviderId, Query()] = None,
        page: Annotated[PageNumber, Query()] = None,
        per_page: Annotated[PerPage, Query(description="Default 25")] = None,
    ) -> Response[PatientList]:
        return json_response(200, list_patients(search, status, provider_id, page, per_page))

    @router.post(
        PATIENTS + "/filter",
        summary="Search, filter and sort patients",
        responses=responses({200: PatientList}, 415),
        tags=PATIENT_TAGS,
    )
    def post_filter(body: Annotated[PatientFilterRequest, Body()]) -> Response[PatientList]:
        return json_response(200, filter_patients(body))

    @router.post(
        PATIENTS + "/bulk_update",
        summary="Change many patients at once, all or nothing",
        description=(
            "Each entry is a PUT /patients/{id} body's `patient` with the patient's `id`. "
            "Every entry is checked first (422 naming each bad one by index and id); a "
            "patient changed meanwhile is a 409 naming it. Either way nothing is written. The "
            "writes go in transactions of at most 100 actions: while the request runs, a read "
            "may find some of its patients changed and not yet others."
        ),
        responses=responses({200: BulkUpdated}, 409, 415),
        tags=PATIENT_TAGS,
    )
    def post_bulk_update(body: Annotated[BulkUpdateRequest, Body()]) -> Response[BulkUpdated]:
        return json_response(200, bulk_update(body.patients, current_user(router)))

    @router.get(
        PATIENTS + "/<patient_id>",
        summary="One patient (the read is audited)",
        responses=responses({200: PatientDetail}, 404),
        tags=PATIENT_TAGS,
    )
    def get_patient(patient_id: PatientId) -> Response[PatientDetail]:
        return json_response(200, patient_detail(patient_id, current_user(router)))

    @router.put(
        PATIENTS + "/<patient_id>",
        summary="Change names, date of birth, acuity or status",
        responses=responses({200: PatientDetail}, 404, 409, 415),
        tags=PATIENT_TAGS,
    )
    def put_patient(
        patient_id: PatientId, body: Annotated[PatientUpdateRequest, Body()]
    ) -> Response[PatientDetail]:
        user = current_user(router)
        return json_response(200, update_patient(patient_id, body.patient, user))

    @router.put(
        PATIENTS + "/<patient_id>/case_load",
        summary="Assign the provider and care managers",
        responses=responses({200: PatientDetail}, 404, 409, 415),
        tags=PATIENT_TAGS,
    )
    def put_case_load(
        patient_id: PatientId, body: Annotated[CaseLoadRequest, Body()]
    ) -> Response[PatientDetail]:
        user = current_user(router)
        return json_response(200, assign_case_load(patient_id, body.case_load, user))

    @router.get(
        PATIENTS + "/<patient_id>/audit",
        summary="Who read or changed the patient, newest first",
        responses=responses({200: AuditTrail}, 404),
        tags=PATIENT_TAGS,
    )
    def get_audit(
        patient_id: PatientId,
        page: Annotated[PageNumber, Query()] = None,
        per_page: Annotated[PerPage, Query(description="Default 25")] = None,
    ) -> Response[AuditTrail]:
        return json_response(200, list_audit(patient_id, page, per_page))

    return router


def caseload_routes() -> Router:
    """The case-load directories: ECM providers and care managers."""
    router = Router()

    @router.post(
        BASE + "/providers",
        summary="Add an ECM provider",
        responses=responses({201: ProviderCreated}, 409, 415),
        tags=CASELOAD_TAGS,
    )
    def post_provider(body: Annotated[ProviderRequest, Body()]) -> Response[ProviderCreated]:
        return json_response(201, add_provider(body.provider))

    @router.get(
        BASE + "/providers",
        summary="The ECM providers",
        responses=responses({200: ProviderList}),
        tags=CASELOAD_TAGS,
    )
    def get_providers() -> Response[ProviderList]:
        return json_response(200, providers())

    @router.put(
        BASE + "/providers/<provider_id>",
        summary="Change a provider's name or NPI (its claims move with it)",
        responses=responses({200: ProviderUpdated}, 404, 409, 415),
        tags=CASELOAD_TAGS,
    )
    def put_provider(
        provider_id: ProviderPathId, body: Annotated[ProviderUpdateRequest, Body()]
    ) -> Response[ProviderUpdated]:
        return json_response(200, edit_provider(provider_id, body.provider))

    @router.post(
        BASE + "/care_managers",
        summary="Add a care manager (a user with role olcm or ilcm)",
        responses=responses({201: CareManagerCreated}, 415),
        tags=CASELOAD_TAGS,
    )
    def post_care_manager(
        body: Annotated[CareManagerRequest, Body()],
    ) -> Response[CareManagerCreated]:
        return json_response(201, add_care_manager(body.care_manager))

    @router.get(
        BASE + "/care_managers",
        summary="The care managers",
        responses=responses({200: CareManagerList}),
        tags=CASELOAD_TAGS,
    )
    def get_care_managers() -> Response[CareManagerList]:
        return json_response(200, care_managers())

    @router.put(
        BASE + "/care_managers/<care_manager_id>",
        summary="Change a care manager's name, phone or email",
        responses=responses({200: CareManagerUpdated}, 404, 415),
        tags=CASELOAD_TAGS,
    )
    def put_care_manager(
        care_manager_id: CareManagerId, body: Annotated[CareManagerUpdateRequest, Body()]
    ) -> Response[CareManagerUpdated]:
        return json_response(200, update_care_manager(care_manager_id, body.care_manager))

    return router


def activity_routes() -> Router:
    """A patient's care activities."""
    router = Router()

    @router.post(
        ACTIVITIES,
        summary="Record a care activity",
        responses=responses({201: ActivityCreated}, 404, 409, 415),
        tags=PATIENT_TAGS,
    )
    def post_activity(
        patient_id: PatientId, body: Annotated[ActivityRequest, Body()]
    ) -> Response[ActivityCreated]:
        user = current_user(router)
        return json_response(201, create_activity(patient_id, body.activity, user))

    @router.get(
        ACTIVITIES,
        summary="A patient's activities, newest first",
        responses=responses({200: ActivityList}, 404),
        tags=PATIENT_TAGS,
    )
    def get_activities(
        patient_id: PatientId,
        page: Annotated[PageNumber, Query()] = None,
        per_page: Annotated[PerPage, Query(description="Default 25")] = None,
    ) -> Response[ActivityList]:
        return json_response(200, list_activities(patient_id, page, per_page))

    return router
