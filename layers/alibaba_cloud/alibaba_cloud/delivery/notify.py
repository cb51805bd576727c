"""Webhook chains: a result delivered as a signed Standard Webhook to the next hops' URLs.

A CI pipeline can receive the outcome, and another function's webhook route can be a next hop
(it runs the result's ``Next``). Deliveries are retried a bounded number of times, within the
invocation's deadline; each carries one ``webhook-id`` across its retries so receivers can drop
duplicates. URLs carried in an event (rather than configured) must be https, must name an
allowed host when ``NOTIFY_ALLOWED_HOSTS`` is set, and reach only public addresses (see
:mod:`alibaba_cloud.http.fetch`): a signed caller cannot make the function post into its own network.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..http.addresses import UrlRefused, allows, checked_url, read_url
from ..http.fetch import (
    ConnectFailed,
    ConnectTimedOut,
    DeadlineReached,
    Fetcher,
    FetchError,
    NotResolved,
    ReadTimedOut,
    Refused,
    TooLarge,
)
from . import OPERATOR_DETAIL
from .standard_webhooks import sign_headers

RETRYABLE_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class NotifyPolicy:
    attempts: int = 3
    base_delay: float = 0.5
    connect_timeout: float = 2.0
    read_timeout: float = 5.0
    allow_http: bool = False
    allowed_hosts: frozenset[str] = frozenset()
    allowed_networks: tuple[str, ...] = ()  # non-public networks event URLs may reach anyway (local runs)


def shown(url: str, with_path: bool = True) -> str:
    """A URL fit for logs and results: scheme, host, port and path as the fetcher reads them; no user-info,
    no query. A configured URL is shown without its path (``with_path`` false): chat services' incoming
    webhooks keep their secret in it (``…/services/T000/B000/<secret>``), and results reach callers."""
    try:
        parts = read_url(url)
    except ValueError:
        return "(not a URL)"
    path = parts.path.split("?", 1)[0] if with_path else ""
    return f"{parts.scheme}://{parts.netloc}{path}"[:256]


class Notifier:
    """Posts results: to configured URLs as given (trusted), to an event's URLs only at public addresses.

    Each kind has its own :class:`Fetcher` (its own connection pool), so a connection made for a
    trusted URL never serves an event's. A receiver's body is never read: its status is the answer.
    """

    def __init__(self, policy: NotifyPolicy, sleep: Callable[[float], None] = time.sleep) -> None:
        self.policy = policy
        self.sleep = sleep
        self.trusted = Fetcher(policy.connect_timeout, policy.read_timeout, max_bytes=0)
        self.untrusted = Fetcher(
            policy.connect_timeout,
            policy.read_timeout,
            max_bytes=0,
            public_only=True,
            allowed_networks=policy.allowed_networks,
        )

    def target(self, url: str, from_event: bool) -> str:
        """The URL to post to, read once as the fetcher reads it; :class:`UrlRefused` says why not (addresses are
        checked when connecting)."""
        try:
            url = checked_url(url)
        except UrlRefused as refused:
            raise UrlRefused(f"the URL {refused}") from None
        parts = read_url(url)
        if parts.scheme == "http" and not self.policy.allow_http:
            raise UrlRefused("http is not allowed (NOTIFY_ALLOW_HTTP)")
        port = parts.port if parts.port is not None else (443 if parts.scheme == "https" else 80)
        if from_event and self.policy.allowed_hosts and not allows(self.policy.allowed_hosts, parts.host, port):
            raise UrlRefused(f"{parts.netloc} is not in NOTIFY_ALLOWED_HOSTS (a host alone allows port 443)")
        return url

    def deliver(
        self, result: dict[str, Any], targets: Sequence[tuple[str, bool]], key: bytes, deadline: float | None
    ) -> list[dict[str, Any]]:
        """Post the result to each ``(url, from_event)`` target; one outcome per target, none dropped."""
        body = json.dumps(result, ensure_ascii=False, allow_nan=False).encode()
        webhook_id = f"msg_{uuid.uuid4().hex}"
        outcomes = []
        for url, from_event in targets:
            try:
                target = self.target(url, from_event)
            except UrlRefused as refused:
                outcomes.append(
                    {"Url": shown(url, from_event), "Delivered": False, "Attempts": 0, "Error": str(refused)}
                )
                continue
            fetcher = self.untrusted if from_event else self.trusted
            outcomes.append(self._post(fetcher, target, body, key, webhook_id, deadline, shown(target, from_event)))
        return outcomes

    def _post(
        self, fetcher: Fetcher, url: str, body: bytes, key: bytes, webhook_id: str, deadline: float | None, name: str
    ) -> dict[str, Any]:
        """``name``: the URL as results and logs show it."""
        host, public_only = read_url(url).netloc, fetcher.public_only
        outcome: dict[str, Any] = {"Url": name, "Delivered": False, "Attempts": 0}
        for attempt in range(1, self.policy.attempts + 1):
            if deadline is not None and deadline - time.monotonic() < 0.2:
                outcome["Error"] = "no time left in the invocation"
                break
            headers = {"Content-Type": "application/json", **sign_headers(key, webhook_id, body)}
            outcome["Attempts"] = attempt
            try:
                answer = fetcher.post(url, body, headers, deadline)
                outcome["Status"] = answer.status
                if 200 <= answer.status < 300:
                    outcome["Delivered"] = True
                    outcome.pop("Error", None)
                    break
                outcome["Error"] = f"HTTP {answer.status}"
                if answer.status not in RETRYABLE_STATUSES:
                    break
            except DeadlineReached:
                outcome["Error"] = "the invocation's deadline came before the receiver answered"
                break
            except TooLarge:  # a receiver's body is not read; only a declared length gets here
                outcome["Error"] = "the receiver's answer declares a body; it was not read"
                break
            except (Refused, NotResolved) as refused:  # final: another attempt resolves the same name
                if public_only:  # an event's URL: the caller learns no more, so it cannot map the private DNS
                    outcome["Error"] = f"refused: {read_url(url).host} does not resolve to a public address"[:300]
                    outcome[OPERATOR_DETAIL] = str(refused) if isinstance(refused, Refused) else "does not resolve"
                elif isinstance(refused, Refused):
                    outcome["Error"] = f"refused: {refused}"[:300]
                else:
                    outcome["Error"] = f"{host} does not resolve"[:300]
                break
            except FetchError as failure:
                outcome["Error"] = f"{host}: {self.reason(failure)}"[:300]
            pause = random.uniform(0, self.policy.base_delay * 2 ** (attempt - 1))
            if attempt < self.policy.attempts and (deadline is None or time.monotonic() + pause + 0.2 < deadline):
                self.sleep(pause)
        return outcome

    def reason(self, failure: FetchError) -> str:
        """Why a post got no answer, in the words an operator acts on."""
        if isinstance(failure, ConnectTimedOut):
            return f"no connection within {self.policy.connect_timeout:g} s"
        if isinstance(failure, ReadTimedOut):
            return f"no answer within {self.policy.read_timeout:g} s"
        if isinstance(failure, ConnectFailed):
            return f"no connection ({failure})"
        return f"the connection broke ({failure})"
