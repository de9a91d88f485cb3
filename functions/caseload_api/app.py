"""Case load directories (issue #4): ECM providers and care managers (OLCM / ILCM users)."""

from typing import Any

from ecm.api.resolver import admin_context, json_body, json_response, make_resolver
from ecm.log import logger
from ecm.patients.caseload import add_care_manager, add_provider, care_managers, providers

app = make_resolver()
BASE = "/v1/admin/clinic/ecm"


@app.post(BASE + "/providers")
def post_provider() -> Any:
    admin_context(app)
    return json_response(201, add_provider(json_body(app)))


@app.get(BASE + "/providers")
def get_providers() -> Any:
    admin_context(app)
    return json_response(200, providers())


@app.post(BASE + "/care_managers")
def post_care_manager() -> Any:
    admin_context(app)
    return json_response(201, add_care_manager(json_body(app)))


@app.get(BASE + "/care_managers")
def get_care_managers() -> Any:
    admin_context(app)
    return json_response(200, care_managers())


@logger.inject_lambda_context(log_event=False)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
