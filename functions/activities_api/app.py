"""Care activities of a patient (issue #4): record one, list them."""

from typing import Any

from ecm.api.resolver import make_resolver
from ecm.log import logger, tracer
from ecm.patients.routes import activity_routes

app = make_resolver(activity_routes)


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler(capture_response=False, capture_error=False)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
