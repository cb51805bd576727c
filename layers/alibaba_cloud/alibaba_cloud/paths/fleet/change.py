"""What a fleet's plan keeps, what its apply checks, and what every change leaves on record.

A plan (a ``DryRun``) keeps each target it would write with the watched fields it read; its apply
writes a target only if those fields still read the same (else ``Drifted``, with what changed). Every
write that succeeded becomes a change: the instance, the value before (as read), the value after,
Alibaba's RequestId.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from ...actions.declaring import Action, owner_of, to_the_second
from ...errors import AlibabaCloudError
from ..changes import change_of
from ..context import RunContext
from .plan import Target, line


def drifted(targets: Sequence[Target], current: Mapping[str, dict[str, Any]], expected: Mapping[str, dict]) -> None:
    """Mark every target whose instance no longer reads as expected ``Drifted``: nothing is written to it."""
    for target in targets:
        want = expected.get(target.instance_id or "")
        if want is None or (target.line is not None and target.line["Outcome"] in ("Failed", "Protected")):
            continue
        record = current.get(target.instance_id or "")
        if record is None:
            target.request, target.line = None, line(target, "Drifted", Changed={"Instance": "not found"})
            continue
        changed = {
            name: {"Planned": value, "Now": record.get(name)}
            for name, value in want.items()
            if to_the_second(record.get(name)) != to_the_second(value)  # times read to the minute or the second
        }
        if changed:
            target.request, target.line = None, line(target, "Drifted", Changed=changed)


def save_plan(ctx: RunContext, targets: list[dict[str, Any]]) -> dict[str, Any]:
    """Keep a DryRun's plan for ``{"Apply": PlanId}``: its targets, the event's RateControl and owner, who
    asked, until when. A plan that cannot be kept is answered all the same, without a PlanId."""
    assert ctx.runs is not None
    batch = ctx.invocation.batch
    assert batch is not None
    plan_id, now = uuid.uuid4().hex, time.time()
    expires = now + ctx.settings.plan_ttl_seconds
    head = {
        "Action": ctx.action.name,
        "Event": {  # what produced it (at most an event's 64 KiB: the item holds 400 KB)
            **batch.shared,
            batch.named_by: batch.select.to_dict() if batch.select else list(batch.originals),
            "Since": batch.since,
        },
        "Owner": owner_of(batch.shared),
        "RateControl": batch.rate_control.to_dict(),
        "Origin": ctx.origin,
        "CreatedAt": iso_utc(now),
        "Writes": len(targets),
        **({"Undo": ctx.invocation.ask[1]} if ctx.invocation.ask else {}),
    }
    try:
        ctx.runs.put_plan(plan_id, head, targets, expires, ctx.deadline)
    except AlibabaCloudError as error:
        return {"PlanStored": False, "PlanError": error.message}
    return {"PlanId": plan_id, "PlanExpiresAt": iso_utc(expires)}


def iso_utc(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def plan_targets(targets: Sequence[Target]) -> list[dict[str, Any]]:
    """What a plan keeps of the targets it would write: the instance, the parameters, the fields read."""
    return [
        {"InstanceId": t.instance_id, "Parameters": t.line["Parameters"], "Expect": t.state or {}}
        for t in targets
        if t.line is not None and t.line["Outcome"] == "WouldChange"
    ]


def changes(action: Action, targets: Sequence[Target], lines: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """A record of each write that succeeded."""
    at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    fleet = action.fleet
    changed = fleet.changed if fleet is not None else ()
    return [
        change_of(action, item["Parameters"], item.get("RequestId"), target.before, changed, at)
        for target, item in zip(targets, lines, strict=True)
        if item["Outcome"] == "Succeeded"
    ]
