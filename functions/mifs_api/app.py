"""MIF import routes (seed 000): POST/GET /v1/admin/clinic/ecm/mifs, GET .../mifs/{id}."""

from typing import Any

from ecm.http import admin_context, json_body, json_response, make_resolver
from ecm.imports.api import create_import, file_detail, list_files
from ecm.log import logger

app = make_resolver()
BASE = "/v1/admin/clinic/ecm/mifs"


@app.post(BASE)
def post_mif() -> Any:
    user = admin_context(app)
    status, body = create_import("mif", json_body(app), user["user_id"])
    return json_response(status, body)


@app.get(BASE)
def get_mifs() -> Any:
    admin_context(app)
    return json_response(200, list_files("mif", app.current_event.query_string_parameters))


@app.get(BASE + "/<file_id>")
def get_mif(file_id: str) -> Any:
    admin_context(app)
    return json_response(
        200, file_detail("mif", file_id, app.current_event.query_string_parameters)
    )


@logger.inject_lambda_context(log_event=False)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
