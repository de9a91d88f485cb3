"""Authorization import routes (docs/api/authorization-imports.md): POST/GET .../authorizations, GET
.../{id}."""

from typing import Any

from ecm.api.catalog import api_resolver
from ecm.log import logger, tracer

app = api_resolver("AuthorizationsApiFunction")


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler(capture_response=False, capture_error=False)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
