"""SQS fan-out: each message's body is an event; a message whose run or any of whose targets did not
succeed is reported failed (partial batch response), so SQS delivers it again and, in the end, to
the queue's dead-letter queue. A message that can never succeed (malformed, or refused for good)
goes to the dead-letter queue at once (``TARGETS_DEAD_LETTER_QUEUE_URL``), not after every
redelivery. Only this path pays for the batch utility's import and the SQS client."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..aws.client import AwsError, AwsJsonClient, aws_fetcher
from ..errors import AlibabaCloudError
from ..runner import Runner, deadline_of
from .common import strict_loads


class QueueTrigger:
    def __init__(
        self, runner: Runner, dead_letter_queue_url: str | None = None, environ: Mapping[str, str] | None = None
    ) -> None:
        from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType

        self.runner = runner
        self.dead_letter_queue_url = dead_letter_queue_url
        self.environ = environ
        self.processor = BatchProcessor(event_type=EventType.SQS)  # one per container, as Powertools documents
        self._sqs: AwsJsonClient | None = None

    def dead_letter(self, body: str, error: AlibabaCloudError, deadline: float | None) -> bool:
        """Send a message that can never succeed to the dead-letter queue; whether it went."""
        if not self.dead_letter_queue_url:
            return False
        if self._sqs is None:
            self._sqs = AwsJsonClient.from_env("sqs", "AmazonSQS", aws_fetcher(), env=self.environ)
        attributes = {"ErrorCode": error.code[:256], "ErrorMessage": error.message[:1024]}
        try:
            self._sqs.call(
                "SendMessage",
                {
                    "QueueUrl": self.dead_letter_queue_url,
                    "MessageBody": body,
                    "MessageAttributes": {k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()},
                },
                deadline,
            )
        except AwsError as failure:
            self.runner.observer.logger.error(
                "Not sent to the dead-letter queue: SQS will deliver it again", extra={"reason": failure.code}
            )
            return False
        self.runner.observer.dead_lettered(error)
        return True

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        from aws_lambda_powertools.utilities.batch import process_partial_response

        return process_partial_response(
            event=event,
            record_handler=lambda record: self._record(record, context),
            processor=self.processor,
            context=context,
        )

    def _record(self, record: Any, context: Any) -> dict[str, Any]:
        runner = self.runner
        runner.observer.logger.append_keys(message_id=record.message_id)
        deadline = deadline_of(context)
        try:
            try:
                payload = strict_loads(record.body, "The message body")
            except AlibabaCloudError as error:
                runner.observer.rejected(error)
                raise
            result, error = runner.run(
                payload, record.message_id, deadline, len(record.body.encode()), origin=f"queue:{record.message_id}"
            )
            if error is not None:
                raise error
        except AlibabaCloudError as error:
            if not error.retryable and self.dead_letter(record.body, error, deadline):
                return {"DeadLettered": error.code}  # handled: SQS deletes it
            raise
        if result["Outcome"] != "Succeeded":
            raise AlibabaCloudError(
                "Batch.Incomplete", f"Not all done: {result.get('Summary') or result.get('Inventory')}", http_status=500
            )
        return result
