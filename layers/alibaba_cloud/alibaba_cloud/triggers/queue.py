"""SQS fan-out: each message's body is an event; a message whose run or any of whose targets did not
succeed is reported failed (partial batch response), so SQS delivers it again and, in the end, to
the queue's dead-letter queue. A message that can never succeed (malformed, or refused for good)
goes to the dead-letter queue at once (``TARGETS_DEAD_LETTER_QUEUE_URL``), not after every
redelivery. Only this path pays for the batch utility's import."""

from __future__ import annotations

import json
from typing import Any

from ..errors import AlibabaCloudError
from ..run import Runner, deadline_of
from .webhook import bad_request, refuse_constant


def is_sqs_event(event: object) -> bool:
    records = event.get("Records") if isinstance(event, dict) else None
    return bool(records) and isinstance(records, list) and all(
        isinstance(r, dict) and r.get("eventSource") == "aws:sqs" for r in records)


class QueueTrigger:
    def __init__(self, runner: Runner, dead_letter_queue_url: str | None = None) -> None:
        self.runner = runner
        self.dead_letter_queue_url = dead_letter_queue_url
        self._sqs = None

    def dead_letter(self, body: str, error: AlibabaCloudError, deadline: float | None) -> bool:
        """Send a message that can never succeed to the dead-letter queue; whether it went."""
        if not self.dead_letter_queue_url:
            return False
        from ..aws.client import AwsError, AwsJsonClient, aws_fetcher

        if self._sqs is None:
            self._sqs = AwsJsonClient.from_env("sqs", "AmazonSQS", aws_fetcher())
        attributes = {"ErrorCode": error.code[:256], "ErrorMessage": error.message[:1024]}
        try:
            self._sqs.call("SendMessage", {
                "QueueUrl": self.dead_letter_queue_url, "MessageBody": body,
                "MessageAttributes": {k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()},
            }, deadline)
        except AwsError as failure:
            self.runner.observer.logger.error("Not sent to the dead-letter queue: SQS will deliver it again",
                                              extra={"reason": failure.code})
            return False
        self.runner.observer.count("DeadLettered", error.code)
        self.runner.observer.logger.warning("Sent to the dead-letter queue at once: it can never succeed",
                                            extra={"error_code": error.code})
        return True

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

        runner = self.runner

        def record_handler(record: Any) -> dict[str, Any]:
            runner.observer.logger.append_keys(message_id=record.message_id)
            deadline = deadline_of(context)
            try:
                try:
                    payload = json.loads(record.body, parse_constant=refuse_constant)
                except (ValueError, RecursionError):
                    raise bad_request("The message body must be a JSON object.") from None
                invocation = runner.invocation(payload, record.message_id)
                result, error = runner.run(invocation, deadline, len(record.body.encode()))
                if error is not None:
                    raise error
            except AlibabaCloudError as error:
                if not error.retryable and self.dead_letter(record.body, error, deadline):
                    return {"DeadLettered": error.code}  # handled: SQS deletes it
                raise
            if result["Outcome"] != "Succeeded":
                raise AlibabaCloudError("Batch.Incomplete", f"Not all done: {result.get('Summary') or result.get('Inventory')}", http_status=500)
            return result

        processor = BatchProcessor(event_type=EventType.SQS)
        return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
