"""From a Lambda event to a call and back: the one place where errors become answers.

A function is invoked three ways and all land here:

* directly, by a schedule or by an EventBridge rule, the event is one of the shapes
  :mod:`alibaba_cloud.events` describes; success returns the result event, failure raises
  :class:`AlibabaCloudError` (its message starts with the code);
* by an API Gateway HTTP API webhook (payload 2.0), the body is such an event, signed per
  Standard Webhooks; every outcome is an HTTP answer with a JSON body, never a traceback;
* by SQS, for fleets fanned out in chunks, each message's body is such an event; failed
  messages are reported with Powertools' partial batch response.

Either way the result event also goes, signed, to the chain's ``NotifyUrls``.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections import Counter
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.metrics.functions import is_metrics_disabled

from .actions import Action
from .client import RpcClient
from .config import ConfigurationError, Settings
from .errors import AlibabaCloudError
from .events import Invocation, batch_result_event, read_invocation, result_event
from .webhooks import DeliveryCache, WebhookVerifier, parse_secrets

MAX_BODY_BYTES = 64 * 1024


def is_http_api_event(event: object) -> bool:
    return isinstance(event, dict) and event.get("version") == "2.0" and isinstance(event.get("requestContext"), dict)


def is_sqs_event(event: object) -> bool:
    records = event.get("Records") if isinstance(event, dict) else None
    return bool(records) and isinstance(records, list) and all(
        isinstance(r, dict) and r.get("eventSource") == "aws:sqs" for r in records)


def http_answer(status: int, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(body, ensure_ascii=False),
    }


def bad_request(message: str) -> AlibabaCloudError:
    return AlibabaCloudError("InvalidParameter", message, http_status=400)


def _deadline(context: Any) -> float | None:
    """Lambda's deadline as a ``time.monotonic()`` value, when the context tells it."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    return time.monotonic() + remaining() / 1000 if callable(remaining) else None


class ActionHandler:
    """Runs one declared action for Lambda events of any trigger."""

    def __init__(
        self,
        action: Action,
        *,
        logger: Logger,
        metrics: Metrics,
        settings: Settings | None = None,
        client: RpcClient | None = None,
    ) -> None:
        self.action = action
        self.logger = logger
        self.metrics = metrics
        self.settings = settings or Settings.from_env()
        self.client = client or RpcClient.from_settings(self.settings)
        self._notifier: Any = None  # made on first use: most invocations deliver nothing
        self.deliveries = DeliveryCache(max_age_seconds=3 * self.settings.webhook_tolerance_seconds)

    def __call__(self, event: Any, context: Any) -> dict[str, Any]:
        if is_http_api_event(event):
            return self.webhook(event, context)
        if is_sqs_event(event):
            return self.queue(event, context)
        return self.direct(event, context)

    # The triggers

    def direct(self, event: Any, context: Any) -> dict[str, Any]:
        self.logger.set_correlation_id(getattr(context, "aws_request_id", None))
        try:
            invocation = self._invocation(event, getattr(context, "aws_request_id", None))
            result, error = self.run(invocation, context)
        except AlibabaCloudError:
            raise
        except Exception:
            self.logger.exception("Unexpected failure")
            raise AlibabaCloudError("InternalError", "The function failed unexpectedly; see its log.", http_status=500) from None
        if error is not None:
            raise error
        return result

    def webhook(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        correlation_id = event["requestContext"].get("requestId") or getattr(context, "aws_request_id", None)
        self.logger.set_correlation_id(correlation_id)
        try:
            try:
                webhook_id, body, payload = self._authenticated(event)
                answered = self.deliveries.get(webhook_id, body)
            except AlibabaCloudError as error:
                self._reject(error)
                raise
            if answered is not None:
                self._count("Replayed")
                self.logger.info("Redelivered webhook answered from the first delivery", extra={"webhook_id": webhook_id})
                return answered
            result, error = self.run(self._invocation(payload, correlation_id), context)
            if error is not None:
                answer = http_answer(error.http_status, error.to_dict())
            else:  # a batch with failed or skipped targets is a multi-status answer
                answer = http_answer(207 if result["Outcome"] != "Succeeded" else 200, result)
            if error is None or not error.retryable:
                self.deliveries.put(webhook_id, body, answer)
            return answer
        except AlibabaCloudError as error:
            return http_answer(error.http_status, error.to_dict())
        except Exception:
            self.logger.exception("Unexpected failure")
            error = AlibabaCloudError("InternalError", "The function failed unexpectedly; see its log.", http_status=500)
            return http_answer(500, error.to_dict())

    def queue(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        """Fan-out chunks from SQS: each message is an event; a message whose action or any of
        whose targets did not succeed is reported failed, so SQS delivers it again and, in the end,
        to the queue's dead-letter queue. Only this path pays for the batch utility's import."""
        from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

        def record_handler(record: Any) -> dict[str, Any]:
            self.logger.append_keys(message_id=record.message_id)
            try:
                payload = json.loads(record.body)
            except ValueError:
                raise bad_request("The message body must be a JSON object.") from None
            result, error = self.run(self._invocation(payload, record.message_id), context)
            if error is not None:
                raise error
            if result["Outcome"] != "Succeeded":
                raise AlibabaCloudError("Batch.Incomplete", f"Targets not all succeeded: {result['Summary']}", http_status=500)
            return result

        processor = BatchProcessor(event_type=EventType.SQS)
        return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)

    # The work the triggers share

    def run(self, invocation: Invocation, context: Any) -> tuple[dict[str, Any], AlibabaCloudError | None]:
        """Call the action, account for it, deliver the result; the error, if any, is returned."""
        self.logger.set_correlation_id(invocation.correlation_id)
        if invocation.targets is not None:
            return self.run_batch(invocation, context), None
        self._count("Calls")
        deadline = _deadline(context)
        common = {"action": self.action.name, "product": self.action.product.code, "invocation": invocation}
        try:
            call = self.client.call(self.action, invocation.parameters, deadline, invocation.scheduled_time)
        except AlibabaCloudError as error:
            self._count_failure(error)
            result, failure = result_event(parameters=invocation.parameters, error=error, **common), error
        else:
            self._count("Successes")
            self.logger.info(
                "Call succeeded",
                extra={"action": self.action.name, "parameters": call.parameters, "request_id": call.request_id,
                       "attempts": call.attempts, "hop": invocation.hop},
            )
            result, failure = result_event(parameters=call.parameters, request_id=call.request_id, **common), None
        self._notify(result, invocation, deadline)
        return result, failure

    def run_batch(self, invocation: Invocation, context: Any) -> dict[str, Any]:
        """Every target through the rate control; one outcome each, whatever happens."""
        from .batch import BatchRunner

        deadline = _deadline(context)
        assert invocation.targets is not None and invocation.rate_control is not None
        # no new target when less than the margin and one second are left
        runner = BatchRunner(invocation.rate_control, deadline, self.settings.deadline_margin + 1.0)

        def run_one(target: Any, pace: Any) -> dict[str, Any]:
            try:
                if not isinstance(target, dict):
                    raise bad_request("A target must be a JSON object of parameters.")
                call = self.client.call(self.action, target, deadline, invocation.scheduled_time, pace)
            except AlibabaCloudError as error:
                self._log_failure(error)
                return {"Parameters": target, "Outcome": "Failed", "ErrorCode": error.code,
                        "ErrorMessage": error.message, "RequestId": error.request_id}
            return {"Parameters": call.parameters, "Outcome": "Succeeded", "RequestId": call.request_id}

        outcomes = runner.run(invocation.targets, run_one)
        # metrics once per batch, from this thread: totals, and failures per code
        attempted = [o for o in outcomes if o["Outcome"] != "NotAttempted"]
        self._count("Calls", value=len(attempted))
        self._count("Successes", value=sum(o["Outcome"] == "Succeeded" for o in attempted))
        self._count("NotAttempted", value=len(outcomes) - len(attempted))
        codes = Counter(o["ErrorCode"] for o in attempted if o["Outcome"] == "Failed")
        self._count("Failures", value=sum(codes.values()))
        for code, count in codes.items():
            self._count_by_code("Failures", code, count)
        result = batch_result_event(action=self.action.name, product=self.action.product.code,
                                    invocation=invocation, outcomes=outcomes)
        log = self.logger.info if result["Outcome"] == "Succeeded" else self.logger.warning
        log("Batch finished", extra={"action": self.action.name, "summary": result["Summary"], "hop": invocation.hop})
        self._notify(result, invocation, deadline)
        return result

    def _invocation(self, event: Any, correlation_id: str | None) -> Invocation:
        try:
            return read_invocation(event, self.action.name, correlation_id, self.settings.max_hops)
        except AlibabaCloudError as error:
            self._reject(error)
            raise

    def _reject(self, error: AlibabaCloudError) -> None:
        """An event refused before any call: counted per code, and logged for the operator."""
        self._count("Rejected", error.code)
        self.logger.warning("Event rejected", extra={"error_code": error.code, "error_message": error.message,
                                                     "http_status": error.http_status})

    def _notify(self, result: dict[str, Any], invocation: Invocation, deadline: float | None) -> None:
        targets = [(url, False) for url in self.settings.notify_urls] + [(url, True) for url in invocation.notify_urls]
        if not targets:
            return
        try:
            key = self._webhook_keys()[0]
        except AlibabaCloudError:
            self.logger.error("Results cannot be delivered: no webhook secret to sign them with")
            return
        margin = self.settings.deadline_margin / 2  # keep some of the margin to return the result
        outcomes = self.notifier().deliver(result, targets, key, None if deadline is None else deadline - margin)
        for outcome in outcomes:
            self._count("Delivered" if outcome["Delivered"] else "DeliveryFailures")
        failed = [o for o in outcomes if not o["Delivered"]]
        log = self.logger.warning if failed else self.logger.info
        log("Result delivered" if not failed else "Result not delivered to every URL", extra={"deliveries": outcomes})

    def notifier(self) -> Any:
        if self._notifier is None:
            from .notify import Notifier, NotifyPolicy

            self._notifier = Notifier(
                self.client.transport.session,
                NotifyPolicy(allow_http=self.settings.notify_allow_http, allowed_hosts=self.settings.notify_allowed_hosts),
            )
        return self._notifier

    def _count(self, name: str, error_code: str | None = None, value: int = 1) -> None:
        """EMF metrics per action (flushed by ``log_metrics``), and per error code too."""
        if "Action" not in self.metrics.dimension_set:  # cleared by each flush
            self.metrics.add_dimension("Action", self.action.name)
        self.metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
        if error_code:
            self._count_by_code(name, error_code, value)

    def _count_by_code(self, name: str, error_code: str, value: int) -> None:
        if is_metrics_disabled():  # single_metric prints at once, setting or not
            return
        with single_metric(
            name=name,
            unit=MetricUnit.Count,
            value=value,
            namespace=self.metrics.namespace,
            default_dimensions={"Action": self.action.name, "ErrorCode": error_code},
        ):
            pass

    def _count_failure(self, error: AlibabaCloudError) -> None:
        self._count("Failures", error.code)
        self._log_failure(error)

    def _log_failure(self, error: AlibabaCloudError) -> None:
        log = self.logger.error if error.http_status >= 500 else self.logger.warning
        log(
            "Call failed",
            extra={
                "action": self.action.name,
                "error_code": error.code,
                "error_message": error.message,
                "request_id": error.request_id,
                "request_ids": error.request_ids,
                "attempts": error.attempts,
                "http_status": error.http_status,
            },
        )

    # Webhook plumbing

    def _authenticated(self, event: dict[str, Any]) -> tuple[str, bytes, Any]:
        """``(webhook-id, raw body, parsed body)`` once the delivery is a signed POST within the limits."""
        method = (event["requestContext"].get("http") or {}).get("method")
        if method != "POST":
            raise AlibabaCloudError("MethodNotAllowed", "Webhooks are delivered with POST.", http_status=405)
        body = self._raw_body(event)
        headers = event.get("headers") or {}
        if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
            raise bad_request("The request headers are malformed.")
        webhook_id = WebhookVerifier(self._webhook_keys(), self.settings.webhook_tolerance_seconds).verify(headers, body)
        self.logger.append_keys(webhook_id=webhook_id)
        try:
            payload = json.loads(body)
        except ValueError:
            raise bad_request("The body must be a JSON object.") from None
        return webhook_id, body, payload

    def _raw_body(self, event: dict[str, Any]) -> bytes:
        body = event.get("body") or ""
        if not isinstance(body, str):
            raise bad_request("The request body is malformed.")
        if len(body) > MAX_BODY_BYTES * 4 // 3 + 4:
            raise AlibabaCloudError("PayloadTooLarge", f"The body exceeds {MAX_BODY_BYTES} bytes.", http_status=413)
        if event.get("isBase64Encoded"):
            try:
                raw = base64.b64decode(body, validate=True)
            except (binascii.Error, ValueError):
                raise bad_request("The body is marked Base64 but is not.") from None
        else:
            raw = body.encode("utf-8", "surrogatepass")
        if len(raw) > MAX_BODY_BYTES:
            raise AlibabaCloudError("PayloadTooLarge", f"The body exceeds {MAX_BODY_BYTES} bytes.", http_status=413)
        return raw

    def _webhook_keys(self) -> tuple[bytes, ...]:
        """Keys are read per delivery from the setting or the (cached) secret, so rotation needs no redeploy."""
        settings = self.settings
        try:
            if settings.webhook_secret:
                text = settings.webhook_secret
            elif settings.webhook_secret_id:
                text = self.client.credentials.extension.get(settings.webhook_secret_id)
            else:
                raise ConfigurationError("no webhook secret")
            keys = parse_secrets(text)
            if not keys:
                raise ConfigurationError("empty webhook secret")
        except ConfigurationError as exc:
            self.logger.error("Webhook secret unusable", extra={"reason": str(exc)})
            raise AlibabaCloudError(
                "Webhook.NotConfigured",
                "This function has no usable webhook secret: set WEBHOOK_SECRET or WEBHOOK_SECRET_ID.",
                http_status=500,
            ) from None
        return keys


__all__ = ["ActionHandler", "is_http_api_event"]
