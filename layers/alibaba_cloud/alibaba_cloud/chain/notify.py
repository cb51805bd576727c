"""Webhook chains: a result delivered as a signed Standard Webhook to the next hops' URLs.

A CI pipeline can receive the outcome, and another function's webhook route can be a next hop
(it runs the result's ``Next``). Deliveries are retried a bounded number of times, within the
invocation's deadline; each carries one ``webhook-id`` across its retries so receivers can drop
duplicates. URLs carried in an event (rather than configured) must be https, and must name an
allowed host when ``NOTIFY_ALLOWED_HOSTS`` is set: a signed caller should not be able to make the
function post anywhere it likes.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests

from ..config import Settings
from ..standard_webhooks import WebhookKeys, sign_headers

RETRYABLE_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class NotifyPolicy:
    attempts: int = 3
    base_delay: float = 0.5
    connect_timeout: float = 2.0
    read_timeout: float = 5.0
    allow_http: bool = False
    allowed_hosts: frozenset[str] = frozenset()


def shown(url: str) -> str:
    """A URL fit for logs: scheme, host and path; no credentials, no query."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}{f':{parts.port}' if parts.port else ''}{parts.path}"


class Notifier:
    def __init__(self, session: requests.Session, policy: NotifyPolicy, sleep: Callable[[float], None] = time.sleep) -> None:
        self.session = session
        self.policy = policy
        self.sleep = sleep

    def refusal(self, url: str, from_event: bool) -> str | None:
        """Why this URL may not be posted to, or ``None``."""
        try:
            parts = urlsplit(url)
            host = parts.hostname
        except ValueError:
            return "not a URL"
        if parts.scheme not in ("https", "http") or not host:
            return "not an http(s) URL"
        if parts.scheme == "http" and not self.policy.allow_http:
            return "http is not allowed (NOTIFY_ALLOW_HTTP)"
        if from_event and self.policy.allowed_hosts and host not in self.policy.allowed_hosts:
            return "host not in NOTIFY_ALLOWED_HOSTS"
        return None

    def deliver(
        self, result: dict[str, Any], targets: Sequence[tuple[str, bool]], key: bytes, deadline: float | None
    ) -> list[dict[str, Any]]:
        """Post the result to each ``(url, from_event)`` target; one outcome per target, none dropped."""
        body = json.dumps(result, ensure_ascii=False).encode()
        webhook_id = f"msg_{uuid.uuid4().hex}"
        outcomes = []
        for url, from_event in targets:
            refused = self.refusal(url, from_event)
            if refused:
                outcomes.append({"Url": shown(url), "Delivered": False, "Attempts": 0, "Error": refused})
                continue
            outcomes.append(self._post(url, body, key, webhook_id, deadline))
        return outcomes

    def _post(self, url: str, body: bytes, key: bytes, webhook_id: str, deadline: float | None) -> dict[str, Any]:
        outcome: dict[str, Any] = {"Url": shown(url), "Delivered": False, "Attempts": 0}
        for attempt in range(1, self.policy.attempts + 1):
            time_left = None if deadline is None else deadline - time.monotonic()
            if time_left is not None and time_left < 0.2:
                outcome["Error"] = "no time left in the invocation"
                break
            read_timeout = min(self.policy.read_timeout, time_left or self.policy.read_timeout)
            headers = {"Content-Type": "application/json", **sign_headers(key, webhook_id, body)}
            outcome["Attempts"] = attempt
            try:
                answer = self.session.post(url, data=body, headers=headers,
                                           timeout=(self.policy.connect_timeout, read_timeout), allow_redirects=False)
                outcome["Status"] = answer.status_code
                if 200 <= answer.status_code < 300:
                    outcome["Delivered"] = True
                    outcome.pop("Error", None)
                    break
                outcome["Error"] = f"HTTP {answer.status_code}"
                if answer.status_code not in RETRYABLE_STATUSES:
                    break
            except requests.RequestException as exc:
                outcome["Error"] = type(exc).__name__
            pause = random.uniform(0, self.policy.base_delay * 2 ** (attempt - 1))
            if attempt < self.policy.attempts and (deadline is None or time.monotonic() + pause + 0.2 < deadline):
                self.sleep(pause)
        return outcome


class Deliveries:
    """Where a result goes besides its caller: ``NOTIFY_URLS`` (trusted, configured) and the event's
    ``NotifyUrls`` (checked), signed with the first webhook key. The notifier is made on first use:
    most invocations deliver nothing."""

    def __init__(self, settings: Settings, session: requests.Session, keys: WebhookKeys) -> None:
        self.settings = settings
        self.session = session
        self.keys = keys
        self._notifier: Notifier | None = None

    def deliver(self, result: dict[str, Any], event_urls: Sequence[str], deadline: float | None) -> list[dict[str, Any]]:
        """One outcome per URL (none when there is nowhere to deliver); raises if there is no key to sign with."""
        targets = [(url, False) for url in self.settings.notify_urls] + [(url, True) for url in event_urls]
        if not targets:
            return []
        key = self.keys.get()[0]
        margin = self.settings.deadline_margin / 2  # keep some of the margin to return the result
        return self.notifier().deliver(result, targets, key, None if deadline is None else deadline - margin)

    def notifier(self) -> Notifier:
        if self._notifier is None:
            policy = NotifyPolicy(allow_http=self.settings.notify_allow_http, allowed_hosts=self.settings.notify_allowed_hosts)
            self._notifier = Notifier(self.session, policy)
        return self._notifier
