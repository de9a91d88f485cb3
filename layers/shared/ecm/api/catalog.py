"""Which routes each API function of ``template.yaml`` answers: the one list the functions'
handlers, the OpenAPI document and the tests read, so none of them can miss a route.

Routers are named here, not imported: a function imports the route modules it serves when
it builds its resolver and none of the others, whose domain code would only lengthen its
cold start. The OpenAPI document builds every function's resolver, so it loads them all.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.event_handler.api_gateway import Router

from ecm.api.resolver import BASE, make_resolver


@dataclass(frozen=True)
class Routes:
    """A router factory, by module and name, and the arguments it is called with."""

    module: str
    factory: str
    args: tuple[str, ...] = ()

    def router(self) -> Router:
        factory = getattr(importlib.import_module(self.module), self.factory)
        return cast(Router, cast(Callable[..., Any], factory)(*self.args))


#: The admin API functions, by logical id, and the routers of each.
API_FUNCTIONS: dict[str, tuple[Routes, ...]] = {
    "MifsApiFunction": (Routes("ecm.imports.routes", "import_router", ("mif", BASE + "/mifs")),),
    "AuthorizationsApiFunction": (
        Routes("ecm.imports.routes", "import_router", ("authorization", BASE + "/authorizations")),
    ),
    "PatientsApiFunction": (Routes("ecm.patients.routes", "patient_routes"),),
    "CaseloadApiFunction": (Routes("ecm.patients.routes", "caseload_routes"),),
    "ActivitiesApiFunction": (Routes("ecm.patients.routes", "activity_routes"),),
    "ExportsApiFunction": (Routes("ecm.exports.routes", "export_routes", (BASE + "/exports",)),),
    "UsersApiFunction": (Routes("ecm.api.user_routes", "user_routes"),),
    "PlansApiFunction": (Routes("ecm.plans.routes", "plan_routes"),),
}


def api_resolver(function: str) -> APIGatewayRestResolver:
    """The resolver of one admin API function (each gets routers of its own)."""
    return make_resolver(*(routes.router() for routes in API_FUNCTIONS[function]))
