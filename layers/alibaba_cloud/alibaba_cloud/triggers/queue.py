"""SQS fan-out: each message's body is an event; a message whose run or any of whose targets did not
succeed is reported failed (partial batch response), so SQS delivers it again and, in the end, to
the queue's dead-letter queue. Only this path pays for the batch utility's import."""

from __future__ import annotations

import json
from typing import Any

from ..errors import AlibabaCloudError
from ..run import Runner, deadline_of
from .webhook import bad_request


def is_sqs_event(event: object) -> bool:
    records = event.get("Records") if isinstance(event, dict) else None
    return bool(records) and isinstance(records, list) and all(
        isinstance(r, dict) and r.get("eventSource") == "aws:sqs" for r in records)


class QueueTrigger:
    def __init__(self, runner: Runner) -> None:
        self.runner = runner

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

        runner = self.runner

        def record_handler(record: Any) -> dict[str, Any]:
            runner.observer.logger.append_keys(message_id=record.message_id)
            try:
                payload = json.loads(record.body)
            except ValueError:
                raise bad_request("The message body must be a JSON object.") from None
            invocation = runner.invocation(payload, record.message_id)
            result, error = runner.run(invocation, deadline_of(context), len(record.body.encode()))
            if error is not None:
                raise error
            if result["Outcome"] != "Succeeded":
                raise AlibabaCloudError("Batch.Incomplete", f"Not all done: {result.get('Summary') or result.get('Inventory')}", http_status=500)
            return result

        processor = BatchProcessor(event_type=EventType.SQS)
        return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
