"""Return file routes (docs/api/exports.md): POST/GET /v1/admin/clinic/ecm/exports, GET .../{id}."""

from typing import Any

from ecm.api.catalog import api_resolver
from ecm.log import logger, tracer

app = api_resolver("ExportsApiFunction")


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler(capture_response=False, capture_error=False)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
