"""The events a function takes and the one event it gives back.

A function takes any of three shapes, directly, from a schedule, from an EventBridge rule or as a
webhook body:

* the action's **parameter object**, e.g. ``{"InstanceId": ..., "AutoReleaseTime": ...}``;
* a **hop** ``{"Action": ..., "Parameters": {...}}``, which is how one action names the next;
* a previous function's **result** (delivered by a webhook chain), whose ``Next`` hop is run.

Beside the parameters, any of them may carry the chain keys ``CorrelationId``, ``Hop``, ``Next``,
``NotifyUrls`` and ``ScheduledTime`` (a schedule's ``<aws.scheduler.scheduled-time>``).

A parameter object may also name many targets: ``Targets`` (parameter objects) or
``InstanceIds``, the other parameters shared by all, with an optional ``RateControl``
(see :mod:`alibaba_cloud.batch`).

What it gives back, returns to its caller, sends to Lambda destinations and to ``NotifyUrls``
is a result event::

    {"Action", "Product", "Parameters", "RequestId", "Outcome": "Succeeded" | "Failed",
     "ErrorCode"?, "ErrorMessage"?, "CorrelationId", "Hop", "Next"?}

where ``Next`` (on success only) is the hop to run next, its ``Hop`` one more than this one's.
A batch's result has ``Summary``, ``Targets`` (one outcome each) and ``Rerun`` instead of
``Parameters``, ``RequestId`` and the error fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from .errors import AlibabaCloudError

if TYPE_CHECKING:  # the batch module (and its thread pool) is imported only by batches
    from .batch import RateControl

CHAIN_KEYS = ("CorrelationId", "Hop", "Next", "NotifyUrls", "ScheduledTime")
BATCH_KEYS = ("Targets", "InstanceIds", "RateControl")
MAX_NOTIFY_URLS = 10
MAX_TARGETS = 5000


def invalid(code: str, message: str) -> AlibabaCloudError:
    return AlibabaCloudError(code, message, http_status=400)


@dataclass(frozen=True)
class Invocation:
    """One run of an action: its (not yet validated) parameters and where it stands in a chain."""

    parameters: dict[str, Any]
    correlation_id: str | None
    hop: int = 0
    next: dict[str, Any] | None = None
    notify_urls: tuple[str, ...] = ()
    scheduled_time: datetime | None = field(default=None)
    targets: tuple[Any, ...] | None = None  # a batch: each target's parameters (shared ones merged in)
    rate_control: RateControl | None = None


def read_invocation(event: object, action_name: str, correlation_id: str | None, max_hops: int) -> Invocation:
    """The invocation an event asks for, or the error that says why it asks for none."""
    if not isinstance(event, dict):
        raise invalid("InvalidParameter", f"The event must be a JSON object of {action_name} parameters.")
    if "Outcome" in event:
        event = _next_of_result(event)
    if "Action" in event or "Parameters" in event:
        if event.get("Action") != action_name:
            raise invalid("Chain.WrongAction", f"This function runs {action_name}, not {event.get('Action')!r}.")
        parameters = event.get("Parameters")
        if not isinstance(parameters, dict):
            raise invalid("InvalidParameter", "A hop's Parameters must be a JSON object.")
        controls = {k: v for k, v in event.items() if k not in ("Action", "Parameters")}
        unknown = sorted(set(controls) - set(CHAIN_KEYS))
        if unknown:
            raise invalid("UnsupportedParameter", f"A hop takes Action, Parameters and {', '.join(CHAIN_KEYS)}; not {', '.join(unknown)}.")
    else:
        parameters = {k: v for k, v in event.items() if k not in CHAIN_KEYS}
        controls = {k: v for k, v in event.items() if k in CHAIN_KEYS}
    parameters, targets, rate_control = _batch(parameters)
    hop = controls.get("Hop", 0)
    if not isinstance(hop, int) or isinstance(hop, bool) or hop < 0:
        raise invalid("InvalidParameter", "Hop must be a whole number from 0.")
    if hop > max_hops:
        raise invalid("Chain.HopLimitExceeded", f"Hop {hop} is over the limit of {max_hops}: the chain may be looping.")
    return Invocation(
        parameters=parameters,
        correlation_id=_correlation_id(controls.get("CorrelationId"), correlation_id),
        hop=hop,
        next=_hop(controls.get("Next")),
        notify_urls=_urls(controls.get("NotifyUrls")),
        scheduled_time=_scheduled_time(controls.get("ScheduledTime")),
        targets=targets,
        rate_control=rate_control,
    )


def _batch(parameters: dict[str, Any]) -> tuple[dict[str, Any], tuple[Any, ...] | None, RateControl | None]:
    """``Targets`` (parameter objects) or ``InstanceIds``, with the other parameters shared by all."""
    shared = {k: v for k, v in parameters.items() if k not in BATCH_KEYS}
    targets, instance_ids, rate_control = (parameters.get(k) for k in BATCH_KEYS)
    if targets is None and instance_ids is None:
        if rate_control is not None:
            raise invalid("InvalidParameter", "RateControl goes with Targets or InstanceIds.")
        return shared, None, None
    if targets is not None and instance_ids is not None:
        raise invalid("InvalidParameter", "Give Targets or InstanceIds, not both.")
    listed = targets if targets is not None else instance_ids
    name = "Targets" if targets is not None else "InstanceIds"
    if not isinstance(listed, list) or not listed:
        raise invalid("InvalidParameter", f"{name} must be a non-empty list.")
    if len(listed) > MAX_TARGETS:
        raise invalid("Batch.TooManyTargets", f"At most {MAX_TARGETS} targets an invocation; fan larger fleets out in chunks (see the README).")
    from .batch import RateControl

    control = RateControl.parse(rate_control)
    if instance_ids is not None:
        if "InstanceId" in shared:
            raise invalid("InvalidParameter", "With InstanceIds, give no InstanceId.")
        return shared, tuple({**shared, "InstanceId": i} for i in instance_ids), control
    # a target that is not an object stays as it is, and fails on its own
    return shared, tuple({**shared, **t} if isinstance(t, dict) else t for t in targets), control


def _next_of_result(result: Mapping[str, Any]) -> dict[str, Any]:
    if result.get("Outcome") != "Succeeded":
        raise invalid("Chain.PreviousFailed", f"The previous action {result.get('Action')!r} did not succeed; nothing to run.")
    hop = result.get("Next")
    if not isinstance(hop, dict):
        raise invalid("Chain.NoNextHop", "The result names no Next hop to run.")
    return hop


def _correlation_id(value: object, default: str | None) -> str | None:
    if value is None:
        return default
    if not isinstance(value, str) or not 0 < len(value) <= 128 or not value.isprintable():
        raise invalid("InvalidParameter", "CorrelationId must be printable text of at most 128 characters.")
    return value


def _hop(value: object) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("Action"), str) or not isinstance(value.get("Parameters"), dict):
        raise invalid("InvalidParameter", 'Next must be a hop: {"Action": ..., "Parameters": {...}}.')
    return value


def _urls(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or len(value) > MAX_NOTIFY_URLS or not all(isinstance(u, str) and len(u) <= 2048 for u in value):
        raise invalid("InvalidParameter", f"NotifyUrls must be a list of at most {MAX_NOTIFY_URLS} URLs.")
    return tuple(value)


def _scheduled_time(value: object) -> datetime | None:
    if value is None:
        return None
    try:
        if not isinstance(value, str):
            raise ValueError(value)
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if moment.tzinfo is None:
            raise ValueError(value)
    except ValueError:
        raise invalid("InvalidParameter", "ScheduledTime must be an ISO 8601 time with its offset, e.g. 2026-11-22T02:00:00Z.") from None
    return moment.astimezone(timezone.utc)


def result_event(
    *,
    action: str,
    product: str,
    parameters: Mapping[str, Any],
    invocation: Invocation,
    request_id: str | None = None,
    error: AlibabaCloudError | None = None,
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "Action": action,
        "Product": product,
        "Parameters": dict(parameters),
        "RequestId": request_id if error is None else error.request_id,
        "Outcome": "Succeeded" if error is None else "Failed",
        "CorrelationId": invocation.correlation_id,
        "Hop": invocation.hop,
    }
    if error is not None:
        event["ErrorCode"], event["ErrorMessage"] = error.code, error.message
    elif invocation.next is not None:
        event["Next"] = {**invocation.next, "Hop": invocation.hop + 1, "CorrelationId": invocation.correlation_id}
    return event


def batch_result_event(
    *, action: str, product: str, invocation: Invocation, outcomes: list[dict[str, Any]]
) -> dict[str, Any]:
    """A batch's result: every target's outcome, a summary, and a ready ``Rerun`` of what is left."""
    from .batch import summary

    counts = summary(outcomes)
    control = invocation.rate_control.to_dict() if invocation.rate_control else {}
    event: dict[str, Any] = {
        "Action": action,
        "Product": product,
        "Outcome": "Succeeded" if counts["Succeeded"] == counts["Total"] else "Failed",
        "Summary": counts,
        "Targets": outcomes,
        "RateControl": control,
        "CorrelationId": invocation.correlation_id,
        "Hop": invocation.hop,
    }
    left = [outcome["Parameters"] for outcome in outcomes if outcome["Outcome"] != "Succeeded"]
    if left:
        event["Rerun"] = {"Targets": left, "RateControl": control}
    elif invocation.next is not None:
        event["Next"] = {**invocation.next, "Hop": invocation.hop + 1, "CorrelationId": invocation.correlation_id}
    return event
