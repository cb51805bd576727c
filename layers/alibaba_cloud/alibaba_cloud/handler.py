"""From a Lambda event to a call and back: the one place where errors become answers.

A function is invoked two ways and both land here:

* directly or by a schedule, the event is the action's parameter object; success returns the
  result event, failure raises :class:`AlibabaCloudError` (its message starts with the code);
* by an API Gateway HTTP API webhook (payload 2.0), the body is that same object, signed per
  Standard Webhooks; every outcome is an HTTP answer with a JSON body, never a traceback.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.metrics.functions import is_metrics_disabled

from .actions import Action
from .client import CallResult, RpcClient
from .config import ConfigurationError, Settings
from .errors import AlibabaCloudError
from .webhooks import WebhookVerifier, parse_secrets

MAX_BODY_BYTES = 64 * 1024


def is_http_api_event(event: object) -> bool:
    return isinstance(event, dict) and event.get("version") == "2.0" and isinstance(event.get("requestContext"), dict)


def result_event(result: CallResult, product: str, correlation_id: str | None) -> dict[str, Any]:
    """What a function returns, and what a webhook caller receives, on success."""
    return {
        "Action": result.action,
        "Product": product,
        "Parameters": result.parameters,
        "RequestId": result.request_id,
        "Outcome": "Succeeded",
        "CorrelationId": correlation_id,
    }


def http_answer(status: int, body: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(body, ensure_ascii=False),
    }


def _deadline(context: Any) -> float | None:
    """Lambda's deadline as a ``time.monotonic()`` value, when the context tells it."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    return time.monotonic() + remaining() / 1000 if callable(remaining) else None


def bad_request(message: str) -> AlibabaCloudError:
    return AlibabaCloudError("InvalidParameter", message, http_status=400)


class ActionHandler:
    """Runs one declared action for Lambda events of either trigger."""

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

    def __call__(self, event: Any, context: Any) -> dict[str, Any]:
        if is_http_api_event(event):
            return self.webhook(event, context)
        return self.direct(event, context)

    # The two triggers

    def direct(self, event: Any, context: Any) -> dict[str, Any]:
        correlation_id = getattr(context, "aws_request_id", None)
        self.logger.set_correlation_id(correlation_id)
        if not isinstance(event, dict):
            error = bad_request(f"The event must be a JSON object of {self.action.name} parameters.")
            self._count("Rejected", error.code)
            raise error
        try:
            return self.execute(event, correlation_id, context)
        except AlibabaCloudError:
            raise
        except Exception:
            self.logger.exception("Unexpected failure")
            raise AlibabaCloudError("InternalError", "The function failed unexpectedly; see its log.", http_status=500) from None

    def webhook(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        request = event["requestContext"]
        correlation_id = request.get("requestId") or getattr(context, "aws_request_id", None)
        self.logger.set_correlation_id(correlation_id)
        try:
            try:
                params = self._authenticated_parameters(event)
            except AlibabaCloudError as error:
                self._count("Rejected", error.code)
                self.logger.warning("Webhook rejected", extra={"error_code": error.code, "http_status": error.http_status})
                raise
            return http_answer(200, self.execute(params, correlation_id, context))
        except AlibabaCloudError as error:
            return http_answer(error.http_status, error.to_dict())
        except Exception:
            self.logger.exception("Unexpected failure")
            error = AlibabaCloudError("InternalError", "The function failed unexpectedly; see its log.", http_status=500)
            return http_answer(500, error.to_dict())

    def _authenticated_parameters(self, event: dict[str, Any]) -> dict[str, Any]:
        """The body's parameter object, once the delivery is a signed POST within the limits."""
        method = (event["requestContext"].get("http") or {}).get("method")
        if method != "POST":
            raise AlibabaCloudError("MethodNotAllowed", "Webhooks are delivered with POST.", http_status=405)
        body = self._raw_body(event)
        headers = event.get("headers") or {}
        if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
            raise bad_request("The request headers are malformed.")
        webhook_id = self._verifier().verify(headers, body)
        self.logger.append_keys(webhook_id=webhook_id)
        try:
            params = json.loads(body)
        except ValueError:
            params = None
        if not isinstance(params, dict):
            raise bad_request("The body must be a JSON object of parameters.")
        return params

    # The work both share

    def execute(self, given: Mapping[str, object], correlation_id: str | None, context: Any = None) -> dict[str, Any]:
        """Call the action and account for it in logs and metrics; errors propagate to the trigger."""
        self._count("Calls")
        deadline = _deadline(context)
        try:
            result = self.client.call(self.action, given, deadline)
        except AlibabaCloudError as error:
            self._count_failure(error)
            raise
        self._count("Successes")
        self.logger.info(
            "Call succeeded",
            extra={
                "action": self.action.name,
                "parameters": result.parameters,
                "request_id": result.request_id,
                "attempts": result.attempts,
            },
        )
        return result_event(result, self.action.product.code, correlation_id)

    def _count(self, name: str, error_code: str | None = None) -> None:
        """EMF metrics per action (flushed by ``log_metrics``), and failures per error code too."""
        if "Action" not in self.metrics.dimension_set:  # cleared by each flush
            self.metrics.add_dimension("Action", self.action.name)
        self.metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)
        if error_code and not is_metrics_disabled():  # single_metric prints at once, setting or not
            with single_metric(
                name=name,
                unit=MetricUnit.Count,
                value=1,
                namespace=self.metrics.namespace,
                default_dimensions={"Action": self.action.name, "ErrorCode": error_code},
            ):
                pass

    def _count_failure(self, error: AlibabaCloudError) -> None:
        self._count("Failures", error.code)
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

    def _raw_body(self, event: Mapping[str, Any]) -> bytes:
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

    def _verifier(self) -> WebhookVerifier:
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
        return WebhookVerifier(keys, settings.webhook_tolerance_seconds)


__all__ = ["ActionHandler", "is_http_api_event"]
