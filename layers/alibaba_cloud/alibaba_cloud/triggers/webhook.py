"""API Gateway HTTP API (payload 2.0) webhooks: method, body limits, the Standard Webhooks check,
redeliveries answered once, and every outcome an HTTP answer with a JSON body, never a traceback."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from ..config import Settings
from ..errors import AlibabaCloudError
from ..run import Runner, deadline_of
from ..standard_webhooks import WebhookKeys, WebhookVerifier

MAX_BODY_BYTES = 64 * 1024


def is_http_api_event(event: object) -> bool:
    return isinstance(event, dict) and event.get("version") == "2.0" and isinstance(event.get("requestContext"), dict)


def http_answer(status: int, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(body, ensure_ascii=False),
    }


def bad_request(message: str) -> AlibabaCloudError:
    return AlibabaCloudError("InvalidParameter", message, http_status=400)


class DeliveryCache:
    """Answers already given, by ``webhook-id``, so a redelivery does not call Alibaba twice.

    Senders retry a delivery with the same id, so only final answers are kept (a success, or an
    error that retrying cannot change); a transient failure is not, and its retry runs again.
    Bounded in size and age: older deliveries are refused by their timestamp anyway.
    """

    def __init__(self, max_entries: int = 1024, max_age_seconds: float = 900.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._entries: OrderedDict[str, tuple[float, str, dict]] = OrderedDict()
        self._max_entries = max_entries
        self._max_age = max_age_seconds
        self._clock = clock

    def get(self, webhook_id: str, body: bytes) -> dict | None:
        """The answer first given to this delivery, or ``None``; a reused id with another body is an error."""
        entry = self._entries.get(webhook_id)
        if entry is None or self._clock() - entry[0] > self._max_age:
            return None
        if entry[1] != hashlib.sha256(body).hexdigest():
            raise AlibabaCloudError("Webhook.IdReused", "This webhook-id was already delivered with another body.", http_status=409)
        return entry[2]

    def put(self, webhook_id: str, body: bytes, answer: dict) -> None:
        self._entries[webhook_id] = (self._clock(), hashlib.sha256(body).hexdigest(), answer)
        self._entries.move_to_end(webhook_id)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)


class WebhookTrigger:
    """A signed POST in, an HTTP answer out: 200, 207 for a batch not all done, or the error's status."""

    def __init__(self, runner: Runner, settings: Settings, keys: WebhookKeys) -> None:
        self.runner = runner
        self.settings = settings
        self.keys = keys
        self.answered = DeliveryCache(max_age_seconds=3 * settings.webhook_tolerance_seconds)

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        observer = self.runner.observer
        correlation_id = event["requestContext"].get("requestId") or getattr(context, "aws_request_id", None)
        observer.logger.set_correlation_id(correlation_id)
        try:
            try:
                webhook_id, body, payload = self._authenticated(event)
                answered = self.answered.get(webhook_id, body)
            except AlibabaCloudError as error:
                observer.rejected(error)
                raise
            if answered is not None:
                observer.count("Replayed")
                observer.logger.info("Redelivered webhook answered from the first delivery", extra={"webhook_id": webhook_id})
                return answered
            invocation = self.runner.invocation(payload, correlation_id)
            result, error = self.runner.run(invocation, deadline_of(context), len(body), synchronous=True)
            if error is not None:
                answer = http_answer(error.http_status, error.to_dict())
            else:  # a batch with failed or skipped targets is a multi-status answer
                answer = http_answer(207 if result["Outcome"] != "Succeeded" else 200, result)
            if error is None or not error.retryable:
                self.answered.put(webhook_id, body, answer)
            return answer
        except AlibabaCloudError as error:
            return http_answer(error.http_status, error.to_dict())
        except Exception:
            observer.logger.exception("Unexpected failure")
            error = AlibabaCloudError("InternalError", "The function failed unexpectedly; see its log.", http_status=500)
            return http_answer(500, error.to_dict())

    def _authenticated(self, event: dict[str, Any]) -> tuple[str, bytes, Any]:
        """``(webhook-id, raw body, parsed body)`` once the delivery is a signed POST within the limits."""
        method = (event["requestContext"].get("http") or {}).get("method")
        if method != "POST":
            raise AlibabaCloudError("MethodNotAllowed", "Webhooks are delivered with POST.", http_status=405)
        body = self._raw_body(event)
        headers = event.get("headers") or {}
        if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
            raise bad_request("The request headers are malformed.")
        try:
            keys = self.keys.get()
        except AlibabaCloudError as error:
            self.runner.observer.logger.error("Webhook secret unusable", extra={"reason": error.message})
            raise
        webhook_id = WebhookVerifier(keys, self.settings.webhook_tolerance_seconds).verify(headers, body)
        self.runner.observer.logger.append_keys(webhook_id=webhook_id)
        try:
            payload = json.loads(body)
        except ValueError:
            raise bad_request("The body must be a JSON object.") from None
        return webhook_id, body, payload

    @staticmethod
    def _raw_body(event: dict[str, Any]) -> bytes:
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
