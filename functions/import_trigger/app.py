"""Inbox trigger: S3 ObjectCreated events (through SQS) start imports, once per object
version even when S3 or SQS deliver the event twice (Powertools idempotency)."""

from typing import Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from ecm.imports.inbox import config as idempotency_config
from ecm.imports.inbox import handle_inbox_message
from ecm.log import logger, tracer
from ecm.settings import get_settings

get_settings()  # a function wired without a variable fails at cold start, naming it

processor = BatchProcessor(event_type=EventType.SQS)


def _record(record: SQSRecord) -> None:
    handle_inbox_message(record.body)


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler(capture_response=False, capture_error=False)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    idempotency_config.register_lambda_context(context)
    return process_partial_response(
        event=event, record_handler=_record, processor=processor, context=context
    )
