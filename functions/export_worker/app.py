"""Export worker: makes the return file each queued export asks for (one at a time). A
failure is retried by the queue; the last attempt marks the export failed."""

from typing import Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from ecm.exports.worker import handle_export_message
from ecm.log import logger, tracer
from ecm.settings import get_settings

get_settings()  # a function wired without a variable fails at cold start, naming it

processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def _record(record: SQSRecord) -> None:
    attempt = int(record.attributes.approximate_receive_count or 1)
    handle_export_message(record.body, attempt)


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler(capture_response=False, capture_error=False)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return process_partial_response(
        event=event, record_handler=_record, processor=processor, context=context
    )
