"""Which routes each API function of ``template.yaml`` answers: the one list the functions'
handlers, the OpenAPI document and the tests read, so none of them can miss a route."""

from __future__ import annotations

from collections.abc import Callable

from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.event_handler.api_gateway import Router

from ecm.api.resolver import make_resolver
from ecm.api.user_routes import user_routes
from ecm.exports.routes import export_routes
from ecm.imports.routes import import_router
from ecm.patients.routes import BASE, activity_routes, caseload_routes, patient_routes

#: The admin API functions, by logical id, and the router factory of each.
API_FUNCTIONS: dict[str, Callable[[], Router]] = {
    "MifsApiFunction": lambda: import_router("mif", BASE + "/mifs"),
    "AuthorizationsApiFunction": lambda: import_router("authorization", BASE + "/authorizations"),
    "PatientsApiFunction": patient_routes,
    "CaseloadApiFunction": caseload_routes,
    "ActivitiesApiFunction": activity_routes,
    "ExportsApiFunction": lambda: export_routes(BASE + "/exports"),
    "UsersApiFunction": user_routes,
}


def api_resolver(function: str) -> APIGatewayRestResolver:
    """The resolver of one admin API function (each gets routers of its own)."""
    return make_resolver(API_FUNCTIONS[function]())
