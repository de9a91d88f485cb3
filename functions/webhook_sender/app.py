"""Webhook sender: delivers queued import events (signed, SSRF-guarded); a failed delivery is
hidden for an exponential backoff and reported as a batch item failure (then the DLQ)."""

from typing import Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from ecm.log import logger, tracer
from ecm.settings import get_settings
from ecm.webhooks import handle_webhook_message

get_settings()  # a function wired without a variable fails at cold start, naming it

# Every failure is reported per message, even when the whole batch fails: an exception would
# make Lambda return the batch without the backoff each message was given.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def _record(record: SQSRecord) -> None:
    attempt = int(record.attributes.approximate_receive_count or 1)
    handle_webhook_message(record.body, attempt, record.receipt_handle)


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler(capture_response=False, capture_error=False)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return process_partial_response(
        event=event, record_handler=_record, processor=processor, context=context
    )
