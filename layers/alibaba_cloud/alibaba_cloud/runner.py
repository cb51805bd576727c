"""One invocation of an action, whatever the trigger: read the event, pick the run path, account for
what it did, deliver the result. Triggers adapt their events to :meth:`Runner.run` and its answer
back to theirs; nothing here knows which trigger it serves.

The run paths (:mod:`alibaba_cloud.paths`) are peers below the runner: each gets a frozen
:class:`~alibaba_cloud.paths.context.RunContext` and returns a
:class:`~alibaba_cloud.paths.context.Ran`, which the runner alone observes. Only an inventory or
a fleet pays for importing its path (and a fleet for the thread pool).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from .actions.declaring import Action
from .config import Settings
from .delivery import OPERATOR_DETAIL
from .delivery.deliveries import Deliveries
from .errors import AlibabaCloudError
from .events.invocation import EventRules, Invocation, read_invocation
from .events.result import Outcome
from .observe import Observer
from .paths.context import Ran, RunContext
from .rpc.client import RpcClient


def deadline_of(context: Any) -> float | None:
    """Lambda's deadline as a ``time.monotonic()`` value, when the context tells it."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    return time.monotonic() + remaining() / 1000 if callable(remaining) else None


def event_rules(action: Action, settings: Settings) -> EventRules:
    """What an event for ``action`` may ask for beside its parameters, from its declaration."""
    return EventRules(
        action.name,
        parameters=frozenset(action.accepted_names),
        unsupported=action.unsupported,
        batches=action.listing is None,
        selects=action.fleet is not None,
        pages=action.listing is not None,
        max_hops=settings.max_hops,
        max_invocations=settings.max_invocations,
        configured_urls=len(settings.notify_urls),
        accounts=frozenset(name for name, _ in settings.roles),
    )


def observe(observer: Observer, ran: Ran, invocation: Invocation) -> None:
    """Counts that mean something to an alarm: a call sent and failed is a ``Failure``, the
    caller's mistake refused before sending is ``Rejected``, a run left unfinished is ``Incomplete``."""
    error = ran.error
    if error is not None and error.local:
        observer.rejected(error)
    elif ran.lines is None:  # one call, or one inventory read
        if error is not None:
            observer.count("Calls")
            observer.call_failed(error)
        elif ran.call is not None:
            observer.call_succeeded(ran.call.parameters, ran.call.request_id, ran.call.attempts, invocation.hop)
        else:
            observer.count("Calls")
            observer.count("Successes")
        inventory = ran.result.get("Inventory") or {}
        if inventory.get("Reason") == "DeadlineNear":
            observer.count("Incomplete")
    elif error is not None:  # a fleet whose selection could not be read
        observer.call_failed(error)
        observer.count("Incomplete")
    else:
        for failure in ran.failed_calls:
            observer.call_failed(failure, counted=False)  # counted once, per batch
        observer.batch_finished(ran.lines, ran.result, invocation.hop, ran.refused_codes)
    if ran.throttled:
        observer.count("Throttled", value=ran.throttled)


class Runner:
    """Runs one declared action; the result is returned with the error, if any, that failed it."""

    def __init__(
        self,
        action: Action,
        settings: Settings,
        client: RpcClient,
        observer: Observer,
        deliveries: Deliveries,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        runs: Callable[[], Any] | None = None,
    ) -> None:
        """``runs`` makes the store of plans, changes and statuses on first use (None: RUNS_TABLE is not set)."""
        self.action = action
        self.settings = settings
        self.client = client
        self.observer = observer
        self.deliveries = deliveries
        self.clock = clock
        self.rules = event_rules(action, settings)
        self._runs_factory, self._runs = runs, None
        self._accounts: dict[str, RpcClient] = {}  # an account's client, made on its first event

    @property
    def runs(self) -> Any:  # made on first use
        if self._runs is None and self._runs_factory:
            self._runs = self._runs_factory()
        return self._runs

    def run(
        self,
        event: Any,
        correlation_id: str | None,
        deadline: float | None,
        request_size: int = 0,
        synchronous: bool = False,
        defer_after: float | None = None,
        before_write: Callable[[], None] | None = None,
        origin: str = "direct",
    ) -> Outcome:
        """Run what ``event`` asks for. ``request_size`` is its size in bytes (a result must fit beside
        it); ``synchronous`` says the caller waits for the answer (a webhook), whose limit is 6 MB;
        ``defer_after`` is when that caller stops waiting: a fleet whose writes would end later writes
        nothing and answers ``Outcome: Accepted`` for its trigger to hand the event on;
        ``before_write`` is called once before the first request that may change anything is sent;
        ``origin`` says who asked (kept with a plan and with every change).

        An event that asks for nothing runnable raises its refusal, counted here, once, for every trigger.
        """
        try:
            invocation = read_invocation(event, self.rules, correlation_id, synchronous)
        except AlibabaCloudError as refusal:
            self.observer.rejected(refusal)
            raise
        self.observer.logger.set_correlation_id(invocation.correlation_id)
        client = self.client if invocation.account is None else self._account(invocation.account)
        runs = self.runs if self.action.fleet is not None or invocation.ask else None
        keeper = None
        if runs is not None:  # only a deployment with RUNS_TABLE pays for importing it
            from .runs.keeper import RunKeeper

            keeper = RunKeeper(runs, self.settings.records_ttl_seconds, self.observer.logger)
        ctx = RunContext(
            self.action,
            self.settings,
            client,
            invocation,
            deadline,
            self.clock(),
            request_size,
            synchronous,
            defer_after,
            before_write=keeper.started(invocation.correlation_id, invocation.batch is not None, before_write)
            if keeper
            else before_write or (lambda: None),
            runs=runs,
            origin=origin,
        )
        ran = self._path(invocation)(ctx)
        if invocation.account is not None:
            ran.result["Account"] = invocation.account
        if ran.deferred:  # the asynchronous run it goes on in observes and delivers
            self.observer.deferred(ran.result)
            return ran.result, None
        observe(self.observer, ran, invocation)
        if keeper is not None and (ran.changes or ran.lines):
            records = keeper.keep(
                invocation.correlation_id, ran.result, ran.changes, origin, deadline, invocation.account
            )
            if records is not None:
                ran.result["Records"] = records
        self._deliver(ran.result, invocation, deadline)
        return ran.result, ran.error

    def _account(self, name: str) -> RpcClient:
        """The client of a configured account's role (the event reader refused any other name)."""
        if name not in self._accounts:
            self._accounts[name] = self.client.for_role(dict(self.settings.roles)[name])
        self.observer.account(name)
        return self._accounts[name]

    def _path(self, invocation: Invocation) -> Callable[[RunContext], Ran]:
        if invocation.ask is not None:
            from .paths.plans import run_ask

            return run_ask
        if self.action.listing is not None:
            from .paths.inventory import run_inventory

            return run_inventory
        if invocation.batch is not None:
            from .paths.fleet.fleet_run import run_fleet

            return run_fleet
        from .paths.single import run_single

        return run_single

    def _deliver(self, result: dict[str, Any], invocation: Invocation, deadline: float | None) -> None:
        try:
            outcomes = self.deliveries.deliver(result, invocation.notify_urls, deadline)
        except AlibabaCloudError:
            self.observer.logger.error("Results cannot be delivered: no webhook secret to sign them with")
            return
        if outcomes:
            self.observer.delivered(outcomes)  # the operator's log: every outcome, with its detail
            # the caller and the destination learn what was refused, and why, as far as is safe to tell
            result["Deliveries"] = [{k: v for k, v in o.items() if k != OPERATOR_DETAIL} for o in outcomes]


__all__ = ["Runner", "deadline_of", "event_rules"]
