"""One invocation of an action, whatever the trigger: validate, call (or read an inventory, or run a
fleet), account for it, deliver the result. Triggers adapt events to :meth:`Runner.run` and its
answer back to theirs; nothing here knows which trigger it serves.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from .actions.declaring import Action
from .actions.validation import ValidationContext
from .chain.events import Invocation, read_invocation, result_event
from .chain.notify import Deliveries
from .config import Settings
from .errors import AlibabaCloudError
from .observe import Observer
from .rpc.client import RpcClient

Outcome = tuple[dict[str, Any], AlibabaCloudError | None]


def deadline_of(context: Any) -> float | None:
    """Lambda's deadline as a ``time.monotonic()`` value, when the context tells it."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    return time.monotonic() + remaining() / 1000 if callable(remaining) else None


class Runner:
    """Runs one declared action; the result is returned with the error, if any, that failed it."""

    def __init__(
        self,
        action: Action,
        settings: Settings,
        client: RpcClient,
        observer: Observer,
        deliveries: Deliveries,
        clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
    ) -> None:
        self.action = action
        self.settings = settings
        self.client = client
        self.observer = observer
        self.deliveries = deliveries
        self.clock = clock

    def run(self, invocation: Invocation, deadline: float | None, request_size: int = 0, synchronous: bool = False) -> Outcome:
        """``request_size`` is the event's size in bytes (a result must fit beside it);
        ``synchronous`` says the caller waits for the answer (a webhook), whose limit is 6 MB."""
        self.observer.logger.set_correlation_id(invocation.correlation_id)
        try:
            if self.action.listing is not None:
                from .fleet.run import read_inventory  # reads and fleets alone pay for the fleet modules

                result, error = read_inventory(self, invocation, deadline, request_size, synchronous)
            elif invocation.batch is not None:
                from .fleet.run import FleetRun

                result, error = FleetRun(self, invocation, deadline).run(request_size, synchronous)
            else:
                result, error = self._call(invocation, deadline)
        except AlibabaCloudError as refusal:  # what the paths raise rather than return: the event asks for nothing they run
            self.observer.rejected(refusal)
            raise
        self._deliver(result, invocation, deadline)
        return result, error

    def invocation(self, event: Any, correlation_id: str | None) -> Invocation:
        """The invocation an event asks for; a refusal is counted and logged here, for every trigger."""
        try:
            return read_invocation(event, self.action.name, correlation_id, self.settings.max_hops,
                                   self.settings.max_invocations, len(self.settings.notify_urls))
        except AlibabaCloudError as error:
            self.observer.rejected(error)
            raise

    def validation_context(self, invocation: Invocation) -> ValidationContext:
        return ValidationContext(now=self.clock(), maintain_window=self.settings.maintain_window,
                                 scheduled_time=invocation.scheduled_time)

    def _call(self, invocation: Invocation, deadline: float | None) -> Outcome:
        action, observer = self.action, self.observer
        common = {"action": action.name, "product": action.product.code, "invocation": invocation}
        observer.count("Calls")
        try:
            request = action.request(invocation.parameters, self.validation_context(invocation), self.settings)
            call = self.client.call(request, deadline)
        except AlibabaCloudError as error:
            observer.call_failed(error)
            return result_event(parameters=invocation.parameters, error=error, **common), error
        observer.count("Successes")
        observer.logger.info("Call succeeded", extra={
            "action": action.name, "parameters": call.parameters, "request_id": call.request_id,
            "attempts": call.attempts, "hop": invocation.hop})
        return result_event(parameters=call.parameters, request_id=call.request_id, **common), None

    def _deliver(self, result: dict[str, Any], invocation: Invocation, deadline: float | None) -> None:
        try:
            outcomes = self.deliveries.deliver(result, invocation.notify_urls, deadline)
        except AlibabaCloudError:
            self.observer.logger.error("Results cannot be delivered: no webhook secret to sign them with")
            return
        if outcomes:
            self.observer.delivered(outcomes)
            result["Deliveries"] = outcomes  # the caller and the destination learn what was refused, and why


__all__ = ["Outcome", "Runner", "deadline_of"]
