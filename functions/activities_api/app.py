"""Care activities of a patient (issue #4): record one, list them."""

from typing import Any

from ecm.api.resolver import admin_context, json_body, json_response, make_resolver
from ecm.log import logger
from ecm.patients.activities import create_activity, list_activities

app = make_resolver()
BASE = "/v1/admin/clinic/ecm/patients/<patient_id>/activities"


@app.post(BASE)
def post_activity(patient_id: str) -> Any:
    user = admin_context(app)
    return json_response(201, create_activity(patient_id, json_body(app), user))


@app.get(BASE)
def get_activities(patient_id: str) -> Any:
    admin_context(app)
    query = app.current_event.query_string_parameters
    return json_response(200, list_activities(patient_id, query))


@logger.inject_lambda_context(log_event=False)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
