"""Monthly schedule (off unless ECM_EXPORT_SCHEDULE_PLANS names plans): queue last month's
RTF and OTF of each plan, once per scheduled event even if it is delivered twice."""

from typing import Any

from ecm.exports.schedule import handle_schedule_event
from ecm.log import logger
from ecm.settings import get_settings

get_settings()  # a function wired without a variable fails at cold start, naming it


@logger.inject_lambda_context(log_event=False)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handle_schedule_event(event, context)
