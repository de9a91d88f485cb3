"""Case load directories (docs/api/patients.md): ECM providers and care managers (OLCM / ILCM
users)."""

from typing import Any

from ecm.api.catalog import api_resolver
from ecm.log import logger, tracer

app = api_resolver("CaseloadApiFunction")


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler(capture_response=False, capture_error=False)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
