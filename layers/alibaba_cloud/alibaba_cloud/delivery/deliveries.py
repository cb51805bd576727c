"""Where a result goes besides its caller: ``NOTIFY_URLS`` (trusted, configured) and the event's
``NotifyUrls`` (checked), signed with the first webhook key. The notifier (:mod:`.notify`) is
imported and made on first use: most invocations deliver nothing."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..config import Settings
from .standard_webhooks import WebhookKeys

if TYPE_CHECKING:
    from .notify import Notifier


class Deliveries:
    """The configured and the event's notify URLs of every result, posted by one notifier per container."""

    def __init__(self, settings: Settings, keys: WebhookKeys) -> None:
        self.settings = settings
        self.keys = keys
        self._notifier: Notifier | None = None

    def deliver(
        self, result: dict[str, Any], event_urls: Sequence[str], deadline: float | None
    ) -> list[dict[str, Any]]:
        """One outcome per URL (none when there is nowhere to deliver); raises if there is no key to sign with."""
        targets = [(url, False) for url in self.settings.notify_urls] + [(url, True) for url in event_urls]
        if not targets:
            return []
        key = self.keys.get()[0]
        margin = self.settings.deadline_margin / 2  # keep some of the margin to return the result
        return self.notifier().deliver(result, targets, key, None if deadline is None else deadline - margin)

    def notifier(self) -> Notifier:
        if self._notifier is None:
            from .notify import Notifier, NotifyPolicy

            policy = NotifyPolicy(
                allow_http=self.settings.notify_allow_http,
                allowed_hosts=self.settings.notify_allowed_hosts,
                allowed_networks=self.settings.notify_allowed_networks,
            )
            self._notifier = Notifier(policy)
        return self._notifier
