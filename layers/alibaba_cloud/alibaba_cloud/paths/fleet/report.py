"""A fleet's result, shaped to fit where it goes.

Lambda destinations, EventBridge and SQS take 256 KB, and a destination record carries the request
and the result together. So a batch's result always holds the summary, every target that did not
succeed (grouped by outcome and code, each instance named once) and a ready ``Rerun``; one line per
target follows while it fits in what the request leaves of 256 KB, and ``TargetsListed`` says how
many did when not all. A webhook caller may ask for every line (``"Detail": "Full"``), within the
6 MB of a synchronous answer.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from typing import Any

from ...events.batch import Batch
from ..context import RunContext
from .plan import Target

OUTCOMES = ("Succeeded", "Failed", "NotAttempted", "Unchanged", "WouldChange", "Protected", "Skipped", "Drifted")
NOT_SUCCEEDED = ("Failed", "NotAttempted")
# Failures no rerun can change: the instance has no release time to set, or is not there at all.
FINAL_FOR_THE_INSTANCE = frozenset({"ChargeTypeViolation", "NoSuchResource", "InvalidInstanceId.NotFound"})


def rerunnable(line: dict[str, Any]) -> bool:
    """Whether sending the target again could change its outcome."""
    return line["Outcome"] in NOT_SUCCEEDED and line.get("ErrorCode") not in FINAL_FOR_THE_INSTANCE


DIAGNOSIS = ("Recommend", "AccessDeniedDetail")  # kept with each group of failures: the fix is in them


def size(value: object) -> int:
    return len(json.dumps(value, ensure_ascii=False).encode())


def summary(lines: Sequence[dict[str, Any]]) -> dict[str, int]:
    counts = {"Total": len(lines), **{outcome: 0 for outcome in OUTCOMES}}
    for line in lines:
        counts[line["Outcome"]] += 1
    return counts


def name_of(line: dict[str, Any], index: int) -> str:
    """A target's name in the grouped listing: its InstanceId, or ``#<position>`` if it has none."""
    instance_id = line.get("InstanceId")
    return instance_id if isinstance(instance_id, str) else f"#{index}"


def not_succeeded(lines: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Failed targets grouped by code (with the first message), not attempted ones by reason."""
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for index, line in enumerate(lines):
        outcome = line["Outcome"]
        if outcome not in NOT_SUCCEEDED:
            continue
        key = (outcome, line.get("ErrorCode") or line.get("Reason") or "")
        group = groups.get(key)
        if group is None:
            group = {"Outcome": outcome}
            if outcome == "Failed":
                group.update(ErrorCode=line.get("ErrorCode"), ErrorMessage=line.get("ErrorMessage"))
                group.update((k, line[k]) for k in DIAGNOSIS if k in line)  # a RAM denial is fixed from this alone
            else:
                group["Reason"] = line.get("Reason")
            group["InstanceIds"] = []
            groups[key] = group
        group["InstanceIds"].append(name_of(line, index))
    return list(groups.values())


def fit(result: dict[str, Any], lines: Sequence[dict[str, Any]], limit: int) -> dict[str, Any]:
    """``result`` (the parts it must carry) plus as many target lines as fit within ``limit`` bytes."""
    used = size(result)
    if used > limit:  # only with instance names far longer than Alibaba's: keep the counts, say so
        _cut_groups(result, used - limit)
        used = size(result)
    listed: list[dict[str, Any]] = []
    room = limit - used - len(', "Targets": [], "TargetsListed": 00000')
    for line in lines:
        cost = size(line) + 2
        if cost > room:
            break
        listed.append(line)
        room -= cost
    result["Targets"] = listed
    if len(listed) < len(lines):
        result["TargetsListed"] = len(listed)
    return result


def _cut_groups(result: dict[str, Any], excess: int) -> None:
    for group in reversed(result.get("NotSucceeded", [])):
        ids = group["InstanceIds"]
        while ids and excess > 0:
            excess -= len(json.dumps(ids.pop(), ensure_ascii=False)) + 2
            group["More"] = group.get("More", 0) + 1
        if excess <= 0:
            break
    result["Truncated"] = True


def rerun_event(batch: Batch, given: Sequence[Any], lines: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """What to send to take up exactly what is left: a selection is read again (the instances already
    done are then ``Unchanged``); listed targets (``given``, as the event listed them) are listed
    again, only those a rerun could change."""
    rerun: dict[str, Any] = dict(batch.shared)
    if batch.select is not None:
        rerun["Select"] = batch.select.to_dict()
        if batch.since != "ScheduledTime":
            rerun["Since"] = batch.since
    else:
        left = [target for target, done in zip(given, lines, strict=True) if rerunnable(done)]
        if not left:  # what did not succeed cannot, sent again (a subscription instance, a missing one)
            return None
        rerun[batch.named_by] = left
    rerun["RateControl"] = batch.rate_control.to_dict()
    if batch.dry_run:
        rerun["DryRun"] = True
    return rerun


def accepted(ctx: RunContext, targets: Sequence[Target], writes: int, seconds: float, inventory: Any) -> dict[str, Any]:
    """What a waiting caller is told when the writes go on in an asynchronous run: the plan's counts."""
    action, invocation, batch = ctx.action, ctx.invocation, ctx.invocation.batch
    assert batch is not None
    planned = Counter(t.line["Outcome"] for t in targets if t.line is not None)
    result: dict[str, Any] = {
        "Action": action.name,
        "Product": action.product.code,
        "Outcome": "Accepted",
        "RunId": invocation.correlation_id,
        "Message": f"{writes} writes take about {seconds:.0f} s at this RateControl, longer than a webhook's "
        "caller can wait: they go on in an asynchronous run, whose result goes to the notify URLs and the "
        "lifecycle bus with this CorrelationId.",
        "Planned": {"Total": len(targets), "Writes": writes, **dict(planned)},
        "EstimatedSeconds": round(seconds),
        "RateControl": batch.rate_control.to_dict(),
    }
    if inventory is not None and batch.select is not None:
        result["Selection"] = {**batch.select.to_dict(), **inventory.summary()}
    result["CorrelationId"], result["Hop"] = invocation.correlation_id, invocation.hop
    return result
