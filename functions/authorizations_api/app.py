"""Authorization import routes (seed 001): POST/GET .../authorizations, GET .../{id}."""

from typing import Any

from ecm.api.resolver import make_resolver
from ecm.imports.routes import import_router
from ecm.log import logger, tracer

app = make_resolver(import_router("authorization", "/v1/admin/clinic/ecm/authorizations"))


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler(capture_response=False, capture_error=False)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
