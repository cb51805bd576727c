"""The events a function takes and the one event it gives back.

A function takes any of three shapes, directly, from a schedule, from an EventBridge rule or as a
webhook body:

* the action's **parameter object**, e.g. ``{"InstanceId": ..., "AutoReleaseTime": ...}``;
* a **hop** ``{"Action": ..., "Parameters": {...}}``, which is how one action names the next;
* a previous function's **result** (delivered by a webhook chain), whose ``Next`` hop is run.

Beside the parameters, any of them may carry the chain keys ``CorrelationId``, ``Hop``, ``Budget``,
``Next``, ``NotifyUrls`` and ``ScheduledTime`` (a schedule's ``<aws.scheduler.scheduled-time>``).

A chain is bounded twice: ``Hop`` counts its depth (only ever up) and ``Budget`` the invocations
its whole tree may still make, this one included. A result splits what is left of its budget
among the places it goes (its caller or destination, and each notify URL), so however a chain
fans out, it makes at most ``CHAIN_MAX_INVOCATIONS`` invocations.

A parameter object may also name many targets: ``Targets`` (parameter objects), ``InstanceIds``
or ``Select`` (instances by tags), the other parameters shared by all, with an optional
``RateControl`` (see :mod:`alibaba_cloud.fleet`), ``DryRun``, ``Since`` and ``Detail``.

What it gives back, returns to its caller, sends to Lambda destinations and to ``NotifyUrls``
is a result event::

    {"Action", "Product", "Parameters", "RequestId", "Outcome": "Succeeded" | "Failed",
     "ErrorCode"?, "ErrorMessage"?, "CorrelationId", "Hop", "Next"?}

where ``Next`` (on success only) is the hop to run next, its ``Hop`` one more than this one's.
A batch's result (:mod:`alibaba_cloud.fleet.report`) has ``Summary``, ``NotSucceeded``,
``Targets`` and ``Rerun`` instead of ``Parameters``, ``RequestId`` and the error fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from ..errors import AlibabaCloudError

if TYPE_CHECKING:  # the fleet modules (and the thread pool) are imported only by batches
    from ..fleet.batch import RateControl
    from ..fleet.select import Selection

CHAIN_KEYS = ("CorrelationId", "Hop", "Budget", "Next", "NotifyUrls", "ScheduledTime")
HOP_KEYS = frozenset(("Action", "Parameters", *CHAIN_KEYS))
BATCH_KEYS = ("Targets", "InstanceIds", "Select", "RateControl", "DryRun", "Since", "Detail")
DETAIL = ("Summary", "Full")
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
    batch: Batch | None = None  # many targets
    budget: int = 1  # invocations the chain may still make, this one included
    branches: int = 1  # where the result goes: the caller or destination, and each notify URL

    @property
    def next_budget(self) -> int:
        """What each branch's next hop may spend: this invocation's budget less itself, shared."""
        return max(0, self.budget - 1) // self.branches


@dataclass(frozen=True)
class Batch:
    """A batch: its targets, how the event named them (for the result and the rerun), what it asks of the run."""

    shared: dict[str, Any]  # the parameters every target shares
    rate_control: RateControl
    named_by: str = "Targets"  # Targets, InstanceIds or Select
    originals: tuple[Any, ...] = ()  # the targets as the event listed them (none for a Select)
    targets: tuple[Any, ...] = ()  # each listed target's parameters, the shared ones merged in
    select: Selection | None = None
    since: str = "ScheduledTime"
    dry_run: bool = False
    detail: str = "Summary"


def read_invocation(
    event: object, action_name: str, correlation_id: str | None, max_hops: int,
    max_invocations: int = 32, configured_urls: int = 0,
) -> Invocation:
    """The invocation an event asks for, or the error that says why it asks for none.

    ``max_invocations`` caps any ``Budget`` an event claims; ``configured_urls`` is how many
    ``NOTIFY_URLS`` every result goes to, beside the event's own.
    """
    if not isinstance(event, dict):
        raise invalid("InvalidParameter", f"The event must be a JSON object of {action_name} parameters.")
    check_json(event)
    floor = 0  # a result's Next is one hop deeper than the result, whatever it says
    if "Outcome" in event:
        floor = _whole(event.get("Hop", 0), "Hop") + 1
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
    parameters, batch = _batch(parameters)
    hop = max(_whole(controls.get("Hop", 0), "Hop"), floor)
    if hop > max_hops:
        raise invalid("Chain.HopLimitExceeded", f"Hop {hop} is over the limit of {max_hops}: the chain may be looping.")
    budget = min(_whole(controls.get("Budget", max_invocations), "Budget"), max_invocations)
    if budget < 1:
        raise invalid("Chain.BudgetExhausted", "The chain has made all the invocations its Budget allowed "
                      f"(at most {max_invocations}, shared among its branches): this hop is not run.")
    _check_next(controls.get("Next"), max_hops - hop)
    urls = _urls(controls.get("NotifyUrls"))
    return Invocation(
        parameters=parameters,
        correlation_id=_correlation_id(controls.get("CorrelationId"), correlation_id),
        hop=hop,
        next=_hop(controls.get("Next")),
        notify_urls=urls,
        scheduled_time=_scheduled_time(controls.get("ScheduledTime")),
        batch=batch,
        budget=budget,
        branches=1 + configured_urls + len(urls),
    )


MAX_DEPTH = 32


def check_json(value: object) -> None:
    """Strict JSON, nested at most ``MAX_DEPTH`` deep: no NaN or Infinity (Python reads them; a result
    echoing them would not be JSON). Walked without recursion, so no depth can exhaust the stack."""
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, float) and (item != item or item in (float("inf"), float("-inf"))):
            raise invalid("InvalidParameter", "The event must be strict JSON: NaN and Infinity are not numbers it can carry.")
        if isinstance(item, (dict, list)):
            if depth > MAX_DEPTH:
                raise invalid("InvalidParameter", f"The event is nested more than {MAX_DEPTH} deep.")
            pending.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))


def _whole(value: object, name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise invalid("InvalidParameter", f"{name} must be a whole number from 0.")
    return value


def _check_next(value: object, hops_left: int) -> None:
    """Every nested ``Next`` a hop and nothing else (a result-shaped one would restart the count), no
    deeper than the hops left: a chain that cannot finish is refused before its first call."""
    depth = 0
    while value is not None:
        hop = _hop(value)
        unknown = sorted(set(hop) - HOP_KEYS)
        if unknown:
            raise invalid("UnsupportedParameter", f"A Next hop takes Action, Parameters and {', '.join(CHAIN_KEYS)}; not {', '.join(unknown)}.")
        depth += 1
        if depth > hops_left:
            raise invalid("Chain.HopLimitExceeded", f"The chain's Next hops go deeper than the {hops_left} hops left.")
        value = hop.get("Next")


def _batch(parameters: dict[str, Any]) -> tuple[dict[str, Any], Batch | None]:
    """``Targets`` (parameter objects), ``InstanceIds`` or ``Select``, with the other parameters shared by all."""
    shared = {k: v for k, v in parameters.items() if k not in BATCH_KEYS}
    named = [k for k in ("Targets", "InstanceIds", "Select") if parameters.get(k) is not None]
    if not named:
        given = sorted(k for k in BATCH_KEYS if k in parameters)
        if given:
            raise invalid("UnsupportedParameter", f"{', '.join(given)}: only with Targets, InstanceIds or Select.")
        return shared, None
    if len(named) > 1:
        raise invalid("InvalidParameter", "Give one of Targets, InstanceIds or Select, not several.")
    from ..fleet.batch import RateControl
    from ..fleet.select import SINCE, Selection, tag_values_in

    name = named[0]
    control = RateControl.parse(parameters.get("RateControl"))
    dry_run, since, detail = parameters.get("DryRun", False), parameters.get("Since", "ScheduledTime"), parameters.get("Detail", "Summary")
    if not isinstance(dry_run, bool):
        raise invalid("InvalidParameter", "DryRun must be true or false.")
    if since not in SINCE:
        raise invalid("InvalidParameter", f"Since must be {' or '.join(SINCE)}.")
    if detail not in DETAIL:
        raise invalid("InvalidParameter", f"Detail must be {' or '.join(DETAIL)}.")
    tagged = tag_values_in(shared)
    if name == "Select":
        if "InstanceId" in shared:
            raise invalid("InvalidParameter", "With Select, give no InstanceId: the selection names the instances.")
        return shared, Batch(shared, control, name, select=Selection.parse(parameters["Select"]), since=since,
                             dry_run=dry_run, detail=detail)
    if tagged:
        raise invalid("InvalidParameter", f"Values from tags ({', '.join(tagged)}) need Select: the tags are read with the instances.")
    if since != "ScheduledTime":
        raise invalid("InvalidParameter", "Since: CreationTime needs Select: creation times are read with the instances.")
    listed = parameters[name]
    if not isinstance(listed, list) or not listed:
        raise invalid("InvalidParameter", f"{name} must be a non-empty list.")
    if len(listed) > MAX_TARGETS:
        raise invalid("Batch.TooManyTargets", f"At most {MAX_TARGETS} targets an invocation; fan larger fleets out in chunks (see the README).")
    if name == "InstanceIds":
        if "InstanceId" in shared:
            raise invalid("InvalidParameter", "With InstanceIds, give no InstanceId.")
        targets = tuple({**shared, "InstanceId": i} for i in listed)
    else:  # a target that is not an object stays as it is, and fails on its own
        targets = tuple({**shared, **t} if isinstance(t, dict) else t for t in listed)
    return shared, Batch(shared, control, name, tuple(listed), targets, dry_run=dry_run, detail=detail)


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
    }
    if error is not None:
        event["ErrorCode"], event["ErrorMessage"] = error.code, error.message
        event.update(error.details())
    return with_next(event, invocation)


def with_next(event: dict[str, Any], invocation: Invocation) -> dict[str, Any]:
    """The chain's fields on a result; ``Next`` only on success, its ``Hop`` one more than this one's."""
    event["CorrelationId"], event["Hop"] = invocation.correlation_id, invocation.hop
    if event["Outcome"] == "Succeeded" and invocation.next is not None:
        event["Next"] = {**invocation.next, "Hop": invocation.hop + 1, "Budget": invocation.next_budget,
                         "CorrelationId": invocation.correlation_id}
    return event
