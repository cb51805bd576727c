"""The composition root: the runner built once per container, and which trigger sent each event.

A function is invoked three ways and all land here:

* directly, by a schedule or by an EventBridge rule (:mod:`alibaba_cloud.triggers.direct`);
* by an API Gateway HTTP API webhook (:mod:`alibaba_cloud.triggers.webhook`);
* by SQS, for fleets fanned out in chunks (:mod:`alibaba_cloud.triggers.queue`).

Each trigger is built on its first event, so a cold start imports what that trigger needs and no
more: a schedule does not pay for the webhook replay store, nor a webhook for the SQS batch utility.
"""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools import Logger, Metrics

from .actions.declaring import Action
from .aws.secrets_extension import SecretsExtension
from .config import Settings
from .delivery.deliveries import Deliveries
from .delivery.standard_webhooks import WebhookKeys, parse_secrets
from .observe import Observer
from .rpc.client import RpcClient
from .runner import Runner
from .triggers.direct import DirectTrigger


def is_http_api_event(event: object) -> bool:
    return isinstance(event, dict) and event.get("version") == "2.0" and isinstance(event.get("requestContext"), dict)


def is_sqs_event(event: object) -> bool:
    records = event.get("Records") if isinstance(event, dict) else None
    return (
        bool(records)
        and isinstance(records, list)
        and all(isinstance(r, dict) and r.get("eventSource") == "aws:sqs" for r in records)
    )


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
        self.settings = settings = settings or Settings.from_env()
        # the container's environment as Lambda set it (the role's credentials, AWS endpoints), for the
        # AWS clients a trigger makes on its first event
        self.environ = dict(os.environ)
        secrets = SecretsExtension(port=settings.secrets_extension_port, cache_seconds=settings.secrets_cache_seconds)
        self.client = client or RpcClient.from_settings(settings, secrets.get, self._web_identity_token())
        self.keys = WebhookKeys(settings.webhook_secret, settings.webhook_secret_id, secrets.get)
        if settings.webhook_secret:
            parse_secrets(settings.webhook_secret)  # an unusable inline secret stops the cold start, loudly
        self.runner = Runner(
            action,
            settings,
            self.client,
            Observer(action.name, logger, metrics),
            Deliveries(settings, self.keys),
            runs=self._runs_store if settings.runs_table else None,
        )
        self.direct = DirectTrigger(self.runner)
        self._webhook: Any = None
        self._queue: Any = None

    def __call__(self, event: Any, context: Any) -> dict[str, Any]:
        self.runner.observer.begin()
        if is_http_api_event(event):
            return self.webhook(event, context)
        if is_sqs_event(event):
            return self.queue(event, context)
        return self.direct(event, context)

    def _web_identity_token(self) -> Any:
        """For role credentials: the function's AWS role asks AWS STS for its token (imported only then)."""
        if self.settings.credentials_source != "oidc":
            return None
        from .aws.client import aws_fetcher
        from .aws.sts import WebIdentityTokens

        return WebIdentityTokens(self.environ, aws_fetcher(), self.settings.oidc_audience or "")

    def _runs_store(self) -> Any:
        """The table of plans, changes and statuses, made on its first use (a run that writes, or asks)."""
        from .aws.client import AwsJsonClient, aws_fetcher
        from .runs.store import RunsStore

        client = AwsJsonClient.from_env("dynamodb", "DynamoDB_20120810", aws_fetcher(), env=self.environ)
        return RunsStore(client, self.settings.runs_table or "")

    @property
    def webhook(self) -> Any:
        if self._webhook is None:
            from .triggers.webhook import WebhookTrigger

            self._webhook = WebhookTrigger(self.runner, self.settings, self.keys, self.environ)
        return self._webhook

    @property
    def queue(self) -> Any:
        if self._queue is None:
            from .triggers.queue import QueueTrigger

            self._queue = QueueTrigger(self.runner, self.settings.targets_dead_letter_queue_url, self.environ)
        return self._queue


__all__ = ["ActionHandler", "is_http_api_event", "is_sqs_event"]
