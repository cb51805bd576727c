"""API Gateway HTTP API (payload 2.0) webhooks: method, body limits, the Standard Webhooks check,
each webhook-id run once (:mod:`.replay`), and every outcome an HTTP answer with a JSON body, never
a traceback."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import time
from collections.abc import Mapping
from typing import Any

from ..aws.client import AwsJsonClient, aws_fetcher
from ..config import Settings
from ..delivery.standard_webhooks import WebhookKeys, WebhookVerifier
from ..errors import AlibabaCloudError, bad_request, internal_error, too_large
from ..events.keys import MAX_BODY_BYTES
from ..runner import Runner, deadline_of
from .common import strict_loads
from .replay import DynamoReplayStore, MemoryReplayStore, Prior, ReplayStore


def http_answer(status: int, body: dict[str, Any]) -> dict[str, Any]:
    headers = {"Content-Type": "application/json"}
    if status == 405:
        headers["Allow"] = "POST"
    return {"statusCode": status, "headers": headers, "body": json.dumps(body, ensure_ascii=False, allow_nan=False)}


REPLAYED_HEADER = "Webhook-Replayed"  # on an answer given again, without running the delivery again


def replayed(prior: Prior) -> dict[str, Any]:
    """A webhook-id seen before: its first answer again (a sender whose answer was lost stops retrying on
    it), marked as a replay; 409 while the first delivery has no answer kept."""
    if prior.answer is None:
        error = AlibabaCloudError(
            "Webhook.InProgress",
            "This webhook-id was taken by an earlier delivery that has not answered: it is still running, or it "
            "reached Alibaba Cloud and its answer was lost. It is not run again; send it again later for its answer.",
            http_status=409,
        )
        return http_answer(409, error.to_dict())
    body = prior.answer.get("body")
    if body is None:  # the first answer was larger than the store keeps: its status, and why there is no more
        body = json.dumps(
            {
                "Code": "Webhook.Replayed",
                "Message": "This webhook-id was delivered before and is not run again; its first answer was too "
                "large to keep, only its status is repeated.",
                "RequestId": None,
            }
        )
    headers = {**(prior.answer.get("headers") or {"Content-Type": "application/json"}), REPLAYED_HEADER: "true"}
    return {"statusCode": prior.answer["statusCode"], "headers": headers, "body": body}


def replay_store(settings: Settings, environ: Mapping[str, str] | None = None) -> ReplayStore:
    """The table of webhook ids seen (DynamoDB, shared by every container), or one container's memory for local runs."""
    max_age = 3 * settings.webhook_tolerance_seconds
    if not settings.webhook_replay_table:
        return MemoryReplayStore(max_age)
    client = AwsJsonClient.from_env("dynamodb", "DynamoDB_20120810", aws_fetcher(), env=environ)
    return DynamoReplayStore(client, settings.webhook_replay_table, max_age)


class IdHold:
    """Called by the run before its first request that may change anything: the delivery's id is then held
    for the whole window, whatever happens after. A store that cannot be reached stops the run, nothing sent."""

    def __init__(self, store: ReplayStore, webhook_id: str, deadline: float | None) -> None:
        self.store, self.webhook_id, self.deadline = store, webhook_id, deadline
        self.held = False

    def __call__(self) -> None:
        if not self.held:
            self.store.hold(self.webhook_id, self.deadline)
            self.held = True


class WebhookTrigger:
    """A signed POST in, an HTTP answer out: 200, 207 for a batch not all done, or the error's status."""

    def __init__(
        self, runner: Runner, settings: Settings, keys: WebhookKeys, environ: Mapping[str, str] | None = None
    ) -> None:
        self.runner = runner
        self.settings = settings
        self.keys = keys
        self.environ = environ
        self.seen = replay_store(settings, environ)
        self._lambda: Any = None  # the Invoke client, made on the first run handed on

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        observer = self.runner.observer
        # one CorrelationId format whatever the trigger: Lambda's request id (a UUID); API Gateway's own
        # request id, the one its access log shows, goes into every log line beside it
        api_request_id = event["requestContext"].get("requestId")
        correlation_id = getattr(context, "aws_request_id", None) or api_request_id
        observer.logger.set_correlation_id(correlation_id)
        if api_request_id:
            observer.logger.append_keys(api_request_id=api_request_id)
        deadline = deadline_of(context)
        store_deadline = None if deadline is None else deadline - self.settings.deadline_margin
        try:
            try:
                webhook_id, body, payload = self._authenticated(event)
                digest = hashlib.sha256(body).hexdigest()
                prior = self.seen.claim(webhook_id, digest, store_deadline)
            except AlibabaCloudError as error:
                observer.rejected(error)
                raise
            if prior is not None:
                observer.count("Replayed")
                observer.logger.info(
                    "Webhook delivered again: its first answer, not run again",
                    extra={"webhook_id": webhook_id, "first_status": (prior.answer or {}).get("statusCode")},
                )
                return replayed(prior)
            hold = IdHold(self.seen, webhook_id, store_deadline)
            try:
                answer, retryable = self._run(payload, correlation_id, deadline, len(body), hold)
            except Exception:
                if not hold.held:  # nothing was sent: a retry may run it
                    self.seen.release(webhook_id, store_deadline)
                raise
            try:  # a run that provably changed nothing is forgotten, so the sender's retry runs; all else is kept
                if retryable:
                    self.seen.release(webhook_id, store_deadline)
                else:
                    self.seen.settle(webhook_id, digest, answer, store_deadline)
            except AlibabaCloudError as error:  # once held, the id stays held for the window all the same
                observer.logger.error("The delivery's answer could not be kept", extra={"reason": error.message})
            return answer
        except AlibabaCloudError as error:
            return http_answer(error.http_status, error.to_dict())
        except Exception:
            observer.logger.exception("Unexpected failure")
            return http_answer(500, internal_error().to_dict())

    def _run(
        self,
        payload: Any,
        correlation_id: str | None,
        deadline: float | None,
        size: int,
        hold: IdHold,
    ) -> tuple[dict[str, Any], bool]:
        """The delivery's answer, and whether it was a transient failure that changed nothing (a retry may run it).

        The caller waits at most ``WEBHOOK_SYNC_SECONDS`` (API Gateway's HTTP API gives up at 30 s,
        whatever the function's timeout): a fleet whose writes would take longer is handed on to an
        asynchronous run of this function and answered 202 at once.
        """
        settings = self.settings
        run_deadline = None if deadline is None else min(deadline, time.monotonic() + settings.webhook_sync_seconds)
        defer_after = None
        if run_deadline is not None and settings.function_name:
            defer_after = run_deadline - settings.deadline_margin - 1.0
        try:
            result, error = self.runner.run(
                payload, correlation_id, run_deadline, size, True, defer_after, hold, f"webhook:{hold.webhook_id}"
            )
            if result["Outcome"] == "Accepted":
                self._hand_on(payload, result["RunId"], deadline)
                return http_answer(202, result), False
        except AlibabaCloudError as refused:
            return http_answer(refused.http_status, refused.to_dict()), refused.retryable
        if error is not None:  # a fleet's failed result says what was read and planned: it comes with the error
            body = {**result, **error.to_dict()} if "Summary" in result else error.to_dict()
            return http_answer(error.http_status, body), error.retryable and not error.maybe_applied
        # a batch with failed or skipped targets is a multi-status answer
        return http_answer(207 if result["Outcome"] != "Succeeded" else 200, result), False

    def _hand_on(self, payload: Any, run_id: str, deadline: float | None) -> None:
        """The delivery's event, its CorrelationId pinned to the run's, queued for an asynchronous run of
        this function; a 503 the sender retries (its id forgotten) when Lambda does not take it."""
        from ..aws.client import AwsError
        from ..aws.lambda_invoke import LambdaInvoker

        if self._lambda is None:
            self._lambda = LambdaInvoker(self.environ if self.environ is not None else os.environ, aws_fetcher())
        if "Outcome" in payload:  # a previous result: its Next hop is what runs
            event = {**payload, "Next": {**payload["Next"], "CorrelationId": run_id}}
        else:
            event = {**payload, "CorrelationId": run_id}
        try:
            self._lambda.invoke_async(self.settings.function_name or "", event, deadline)
        except AwsError as failure:
            self.runner.observer.logger.error("The run could not be handed on", extra={"reason": failure.code})
            raise AlibabaCloudError(
                "Run.HandOnFailed",
                f"The work is too long to answer at once and could not be handed on to an asynchronous run "
                f"({failure.code}); nothing was written: send it again.",
                http_status=503,
                retryable=True,
            ) from None
        self.runner.observer.logger.info("Run handed on", extra={"run_id": run_id})

    def _authenticated(self, event: dict[str, Any]) -> tuple[str, bytes, Any]:
        """``(webhook-id, raw body, parsed body)`` once the delivery is a signed POST within the limits."""
        http = event["requestContext"].get("http")
        if not isinstance(http, dict):
            raise bad_request("The request's requestContext.http is malformed.")
        method = http.get("method")
        if method != "POST":
            raise AlibabaCloudError("MethodNotAllowed", "Webhooks are delivered with POST.", http_status=405)
        body = raw_body(event)
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
        return webhook_id, body, strict_loads(body, "The body")


def raw_body(event: dict[str, Any]) -> bytes:
    """The request's body as bytes, within the limits, Base64 undone."""
    body = event.get("body") or ""
    if not isinstance(body, str):
        raise bad_request("The request body is malformed.")
    if len(body) > MAX_BODY_BYTES * 4 // 3 + 4:
        raise too_large(f"The body exceeds {MAX_BODY_BYTES} bytes.")
    if event.get("isBase64Encoded"):
        try:
            raw = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise bad_request("The body is marked Base64 but is not.") from None
    else:
        raw = body.encode("utf-8", "surrogatepass")
    if len(raw) > MAX_BODY_BYTES:
        raise too_large(f"The body exceeds {MAX_BODY_BYTES} bytes.")
    return raw
