"""From a Lambda event to a run and back: which trigger sent it, and the direct invocation.

A function is invoked three ways and all land here:

* directly, by a schedule or by an EventBridge rule: the event is one of the shapes
  :mod:`alibaba_cloud.chain.events` describes; success returns the result event, failure raises
  :class:`AlibabaCloudError` (its message starts with the code);
* by an API Gateway HTTP API webhook (:mod:`alibaba_cloud.triggers.webhook`);
* by SQS, for fleets fanned out in chunks (:mod:`alibaba_cloud.triggers.queue`).

Each way, :class:`~alibaba_cloud.run.Runner` does the work and delivers the result to ``NotifyUrls``.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger, Metrics

from .actions.declaring import Action
from .chain.notify import Deliveries
from .config import Settings
from .errors import AlibabaCloudError
from .observe import Observer
from .rpc.client import RpcClient
from .run import Runner, deadline_of
from .standard_webhooks import WebhookKeys, parse_secrets
from .triggers.queue import QueueTrigger, is_sqs_event
from .triggers.webhook import MAX_BODY_BYTES, WebhookTrigger, bad_request, is_http_api_event

MAX_EVENT_BYTES = MAX_BODY_BYTES  # a direct event is held to a webhook body's limit: its result must fit beside it


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
        self.settings = settings or Settings.from_env()
        self.client = client or RpcClient.from_settings(self.settings)
        keys = WebhookKeys(self.settings.webhook_secret, self.settings.webhook_secret_id, self.client.credentials.extension.get)
        if self.settings.webhook_secret:
            parse_secrets(self.settings.webhook_secret)  # an unusable inline secret stops the cold start, loudly
        deliveries = Deliveries(self.settings, keys)
        self.runner = Runner(action, self.settings, self.client, Observer(action.name, logger, metrics), deliveries)
        self.webhook = WebhookTrigger(self.runner, self.settings, keys)
        self.queue = QueueTrigger(self.runner, self.settings.targets_dead_letter_queue_url)

    def __call__(self, event: Any, context: Any) -> dict[str, Any]:
        if is_http_api_event(event):
            return self.webhook(event, context)
        if is_sqs_event(event):
            return self.queue(event, context)
        return self.direct(event, context)

    def direct(self, event: Any, context: Any) -> dict[str, Any]:
        """A schedule's or a rule's event: the result, or the error raised for Lambda to report."""
        runner = self.runner
        correlation_id = getattr(context, "aws_request_id", None)
        runner.observer.logger.set_correlation_id(correlation_id)
        try:
            try:
                size = len(json.dumps(event, ensure_ascii=False, allow_nan=False).encode())
            except (ValueError, RecursionError):
                raise bad_request("The event must be strict JSON (no NaN or Infinity), nested at most 32 deep.") from None
            if size > MAX_EVENT_BYTES:
                error = AlibabaCloudError("PayloadTooLarge", f"The event exceeds {MAX_EVENT_BYTES} bytes; fan large fleets "
                                          "out through the targets queue or name them with Select.")
                runner.observer.rejected(error)
                raise error
            result, error = runner.run(runner.invocation(event, correlation_id), deadline_of(context), size)
        except AlibabaCloudError:
            raise
        except Exception:
            runner.observer.logger.exception("Unexpected failure")
            raise AlibabaCloudError("InternalError", "The function failed unexpectedly; see its log.", http_status=500) from None
        if error is not None:
            raise error
        return result


__all__ = ["ActionHandler", "is_http_api_event"]
