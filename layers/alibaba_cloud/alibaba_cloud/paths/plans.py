"""What an event may ask of the runs store: apply a plan, undo a run, an instance's history, a run's status.

``{"Apply": PlanId}`` writes exactly the plan a ``DryRun`` kept: its targets and values, under its
``RateControl``, each only if its instance still reads as it did (else ``Drifted``); once. ``{"Undo":
CorrelationId}`` puts back what that run changed, as a plan first when it says ``DryRun``, each only
where the instance still has what that run wrote. Both run as a fleet of listed targets, under every
guardrail (protection, the cap: an undo that only cancels releases is never capped).
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

from ..errors import bad_request, not_found, plan_applied, plan_expired, runs_not_configured
from ..events.batch import Batch, RateControl
from ..events.result import with_next
from .context import Ran, RunContext
from .fleet.change import iso_utc
from .fleet.fleet_run import FleetRun
from .fleet.report import summary

HISTORY_LIMIT = 50


def run_ask(ctx: RunContext) -> Ran:
    assert ctx.invocation.ask is not None
    if ctx.runs is None:
        raise runs_not_configured()
    kind, value = ctx.invocation.ask
    return {"Apply": apply, "Undo": undo, "History": history, "Run": status}[kind](ctx, value)


def apply(ctx: RunContext, plan_id: str) -> Ran:
    assert ctx.runs is not None
    found = ctx.runs.get_plan(plan_id, ctx.deadline)
    if found is None:
        raise not_found("Plan.NotFound", f"No plan {plan_id} is kept (plans are kept until they expire).")
    head, targets = found
    if head["Action"] != ctx.action.name:
        raise bad_request(f"The plan {plan_id} is for {head['Action']}: apply it with that function.")
    if head.get("AppliedBy") is None and time.time() > head["ExpiresAt"]:
        raise plan_expired(plan_id, iso_utc(head["ExpiresAt"]))
    if head.get("AppliedBy"):  # applied before: its result, nothing written again
        return _applied_before(ctx, plan_id, head["AppliedBy"])
    runs, correlation_id, claimed = ctx.runs, ctx.invocation.correlation_id or "", []

    def claim() -> None:
        """Taken at the first write (a run handed on to an asynchronous one has not taken it yet)."""
        first = runs.claim_plan(plan_id, correlation_id, ctx.deadline)
        if first is not None:
            raise plan_applied(plan_id, first)
        claimed.append(True)
        ctx.before_write()

    listed = tuple({**head["Owner"], **t["Parameters"]} for t in targets)
    expected = {t["InstanceId"]: t["Expect"] for t in targets}
    ran = _as_fleet(replace(ctx, before_write=claim), listed, RateControl.parse(head["RateControl"]), False, expected)
    if not ran.deferred and not claimed and ran.error is None:  # nothing to write (all drifted): applied, once
        first = runs.claim_plan(plan_id, correlation_id, ctx.deadline)
        if first is not None:
            return _applied_before(ctx, plan_id, first)
    ran.result["PlanId"] = plan_id
    return ran


def _applied_before(ctx: RunContext, plan_id: str, first: str) -> Ran:
    assert ctx.runs is not None
    kept = ctx.runs.get_status(first, ctx.deadline) or {}
    result = {**(kept.get("Result") or {"Action": ctx.action.name}), "PlanId": plan_id, "AppliedBy": first}
    return Ran({**result, "Replayed": True})


def undo(ctx: RunContext, correlation_id: str) -> Ran:
    assert ctx.runs is not None
    fleet = ctx.action.fleet
    assert fleet is not None  # the event reader refuses an Undo for an action without one
    recorded = [c for c in ctx.runs.changes(correlation_id, ctx.deadline) if c.get("Action") == ctx.action.name]
    if not recorded:
        raise not_found("Run.NotFound", f"No change of {ctx.action.name} is recorded for the run {correlation_id}.")
    first: dict[str, dict[str, Any]] = {}
    last: dict[str, dict[str, Any]] = {}
    for change in sorted(recorded, key=lambda c: c["At"]):  # an instance changed twice: back to before the first
        first.setdefault(change["InstanceId"], change)
        last[change["InstanceId"]] = change
    listed, expected, unknown = [], {}, []
    for instance_id, change in first.items():
        back = fleet.undo(change["Before"]) if change.get("Before") is not None else None
        if back is None:  # its value before was not read: there is nothing to put back
            unknown.append(change["InstanceId"])
            continue
        listed.append({"InstanceId": change["InstanceId"], "RegionId": change["RegionId"], **back})
        expected[instance_id] = last[instance_id]["After"]  # only where the instance still has what that run wrote
    parameters = ctx.invocation.parameters
    control = RateControl.parse(parameters.get("RateControl"))
    ran = _as_fleet(ctx, tuple(listed), control, bool(parameters.get("DryRun")), expected)
    ran.result["Undo"] = correlation_id
    if unknown:
        ran.result["NotUndone"] = {"Reason": "PreviousValueUnknown", "InstanceIds": unknown}
    return ran


def history(ctx: RunContext, instance_id: str) -> Ran:
    assert ctx.runs is not None
    changes = ctx.runs.history(instance_id, HISTORY_LIMIT, ctx.deadline)
    result = {**_head(ctx), "History": instance_id, "Outcome": "Succeeded", "Changes": changes}
    return Ran(with_next(result, ctx.invocation))


def status(ctx: RunContext, correlation_id: str) -> Ran:
    assert ctx.runs is not None
    kept = ctx.runs.get_status(correlation_id, ctx.deadline)
    if kept is None:
        raise not_found("Run.NotFound", f"No run {correlation_id} of this function is on record.")
    return Ran(with_next({**_head(ctx), "Run": correlation_id, "Outcome": "Succeeded", **kept}, ctx.invocation))


def _as_fleet(
    ctx: RunContext, listed: tuple[dict[str, Any], ...], control: RateControl, dry_run: bool, expected: dict
) -> Ran:
    """The targets run as a batch of listed targets, each written only if its instance reads as ``expected``."""
    if not listed:
        result = {**_head(ctx), "Outcome": "Succeeded", "Summary": summary([])}
        return Ran(with_next(result, ctx.invocation), lines=[])
    batch = Batch({}, control, "Targets", listed, listed, dry_run=dry_run)
    return FleetRun(replace(ctx, invocation=replace(ctx.invocation, batch=batch)), expected).run()


def _head(ctx: RunContext) -> dict[str, Any]:
    return {"Action": ctx.action.name, "Product": ctx.action.product.code}
