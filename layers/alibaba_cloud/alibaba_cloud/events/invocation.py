"""Reading an event into an :class:`Invocation`: every check that needs no I/O happens here.

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
``RateControl`` (see :mod:`.batch`), ``DryRun``, ``Since`` and ``Detail``.

What an action allows beside its parameters (a batch, a ``Select``, paging) comes from its
declaration as :class:`EventRules`, so a key the action cannot use is refused before anything is
read or written. What it gives back (:mod:`.result`), returns to its caller, sends to Lambda
destinations and to ``NotifyUrls``
is a result event::

    {"Action", "Product", "Parameters", "RequestId", "Outcome": "Succeeded" | "Failed",
     "ErrorCode"?, "ErrorMessage"?, "CorrelationId", "Hop", "Next"?}

where ``Next`` (on success only) is the hop to run next, its ``Hop`` one more than this one's.
A batch's result (:mod:`alibaba_cloud.paths.fleet.report`) has ``Summary``, ``NotSucceeded``,
``Targets`` and ``Rerun`` instead of ``Parameters``, ``RequestId`` and the error fields.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ..errors import bad_request, invalid
from .keys import (
    ACCOUNT,
    ASK_KEYS,
    BATCH_KEYS,
    CHAIN_KEYS,
    DETAIL,
    HOP_KEYS,
    INSTANCE_ID_PATTERN,
    MAX_CORRELATION_ID,
    MAX_DEPTH,
    MAX_NOTIFY_URLS,
    MAX_SKIP_ON_PAGE,
    MAX_TARGETS,
    MAX_URL_LENGTH,
    OVERRIDE_PROTECTION,
    SINCE,
    SKIP_ON_PAGE,
    TARGET_KEYS,
)

if TYPE_CHECKING:
    from .batch import Batch


@dataclass(frozen=True)
class EventRules:
    """What one function's events may ask for, from its action's declaration and its settings."""

    action: str
    batches: bool = True  # Targets and InstanceIds: a modify action
    selects: bool = False  # Select: a modify action with a fleet declaration
    pages: bool = False  # a Describe action, read page by page (SkipOnPage resumes inside one)
    max_hops: int = 8
    max_invocations: int = 32  # caps any Budget an event claims
    configured_urls: int = 0  # NOTIFY_URLS: every result goes to them, beside the event's own
    accounts: frozenset[str] = frozenset()  # the names ALIBABA_CLOUD_ROLES configures
    # the action's own keys, and the sentence that refuses others: a fleet's shared parameters are
    # checked before any target is read, so a typo fails the event, not every target
    parameters: frozenset[str] = frozenset()
    unsupported: Callable[[list[str]], str] = lambda names: f"Unsupported: {', '.join(names)}."


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
    skip_on_page: int = 0  # a Describe's resume point inside its first page
    override_protection: bool = False  # one named instance: its release protection does not stop the write
    ask: tuple[str, str] | None = None  # Apply, Undo, History or Run, and its plan, run or instance
    account: str | None = None  # the configured Alibaba account it acts in (None: the function's own)

    @property
    def next_budget(self) -> int:
        """What each branch's next hop may spend: this invocation's budget less itself, shared."""
        return max(0, self.budget - 1) // self.branches


def read_invocation(
    event: object, rules: EventRules, correlation_id: str | None, synchronous: bool = False
) -> Invocation:
    """The invocation an event asks for, or the error that says why it asks for none.

    ``synchronous``: the caller waits for the answer (a webhook), which may then be up to 6 MB.
    """
    action_name = rules.action
    if not isinstance(event, dict):
        raise bad_request(f"The event must be a JSON object of {action_name} parameters.")
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
            raise bad_request("A hop's Parameters must be a JSON object.")
        controls = {k: v for k, v in event.items() if k not in ("Action", "Parameters")}
        unknown = sorted(set(controls) - set(CHAIN_KEYS))
        if unknown:
            raise invalid(
                "UnsupportedParameter",
                f"A hop takes Action, Parameters and {', '.join(CHAIN_KEYS)}; not {', '.join(unknown)}.",
            )
    else:
        parameters = {k: v for k, v in event.items() if k not in CHAIN_KEYS}
        controls = {k: v for k, v in event.items() if k in CHAIN_KEYS}
    parameters, account = _pop(parameters, ACCOUNT)
    if account is not None and (not isinstance(account, str) or account not in rules.accounts):
        configured = ", ".join(sorted(rules.accounts)) or "none"
        raise invalid(
            "Account.NotConfigured",
            f"Account must name an account ALIBABA_CLOUD_ROLES configures (configured: {configured}); an event "
            "never gives a role of its own.",
        )
    ask = _ask(parameters, rules)
    override = None
    if ask is not None:
        parameters, batch = _pop(parameters, ask[0])[0], None
    else:
        if rules.selects:
            parameters, override = _pop(parameters, OVERRIDE_PROTECTION)
            if override is not None and not isinstance(override, bool):
                raise bad_request(f"{OVERRIDE_PROTECTION} must be true or false.")
        parameters, batch = _batch(parameters, rules, synchronous)
        if override and batch is not None:
            raise invalid(
                "OverrideProtection.NotForFleets",
                f"{OVERRIDE_PROTECTION} lifts release protection for the one instance an InstanceId names; "
                "a Select or a batch never lifts it: name the instance alone.",
            )
    skip_on_page = _skip_on_page(parameters) if rules.pages else 0
    hop = max(_whole(controls.get("Hop", 0), "Hop"), floor)
    if hop > rules.max_hops:
        raise invalid(
            "Chain.HopLimitExceeded", f"Hop {hop} is over the limit of {rules.max_hops}: the chain may be looping."
        )
    budget = min(_whole(controls.get("Budget", rules.max_invocations), "Budget"), rules.max_invocations)
    if budget < 1:
        raise invalid(
            "Chain.BudgetExhausted",
            "The chain has made all the invocations its Budget allowed "
            f"(at most {rules.max_invocations}, shared among its branches): this hop is not run.",
        )
    _check_next(controls.get("Next"), rules.max_hops - hop)
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
        branches=1 + rules.configured_urls + len(urls),
        skip_on_page=skip_on_page,
        override_protection=bool(override),
        ask=ask,
        account=account,
    )


def _pop(parameters: dict[str, Any], key: str) -> tuple[dict[str, Any], Any]:
    """The parameters without ``key`` (a copy: the event is not changed), and its value (None: not given)."""
    if key not in parameters:
        return parameters, None
    rest = dict(parameters)
    return rest, rest.pop(key)


PLAN_ID = re.compile(r"[0-9a-f]{32}")
INSTANCE_ID = re.compile(INSTANCE_ID_PATTERN)


def _ask(parameters: Mapping[str, Any], rules: EventRules) -> tuple[str, str] | None:
    """``{"Apply": plan}``, ``{"Undo": run}``, ``{"History": instance}`` or ``{"Run": run}``: each alone
    (an Undo may carry ``DryRun`` and ``RateControl``), for the functions that can answer it."""
    asked = [k for k in ASK_KEYS if k in parameters]
    if not asked:
        return None
    kind, value = asked[0], parameters[asked[0]]
    allowed = {"Undo": {"Undo", "DryRun", "RateControl"}}.get(kind, {kind})
    extra = sorted(set(parameters) - allowed)
    if len(asked) > 1 or extra:
        raise invalid(
            "UnsupportedParameter", f"{kind} stands alone: not with {', '.join(sorted(set(asked[1:]) | set(extra)))}."
        )
    if kind in ("Apply", "Undo") and not rules.selects:
        raise bad_request(f"{rules.action} makes no changes to {kind.lower()}: send {kind} to a modify function.")
    if kind == "History" and not rules.pages:
        raise bad_request(f"History is answered by the Describe functions, not {rules.action}.")
    shapes = {
        "Apply": (PLAN_ID, "a PlanId (32 hexadecimal characters)"),
        "History": (INSTANCE_ID, "an instance ID"),
    }
    pattern, shown = shapes.get(kind, (None, "a run's CorrelationId"))
    if pattern is None:
        valid = is_correlation_id(value)
    else:
        valid = isinstance(value, str) and bool(pattern.fullmatch(value))
    if not valid:
        raise bad_request(f"{kind} must be {shown}.")
    if kind == "Undo":
        from .batch import RateControl

        RateControl.parse(parameters.get("RateControl"))
        if not isinstance(parameters.get("DryRun", False), bool):
            raise bad_request("DryRun must be true or false.")
    return kind, value


def check_json(value: object) -> None:
    """Strict JSON, nested at most ``MAX_DEPTH`` deep: no NaN or Infinity (Python reads them; a result
    echoing them would not be JSON). Walked without recursion, so no depth can exhaust the stack."""
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, float) and (item != item or item in (float("inf"), float("-inf"))):
            raise bad_request("The event must be strict JSON: NaN and Infinity are not numbers it can carry.")
        if isinstance(item, (dict, list)):
            if depth > MAX_DEPTH:
                raise bad_request(f"The event is nested more than {MAX_DEPTH} deep.")
            pending.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))


def _whole(value: object, name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise bad_request(f"{name} must be a whole number from 0.")
    return value


def _check_next(value: object, hops_left: int) -> None:
    """Every nested ``Next`` a hop and nothing else (a result-shaped one would restart the count), no
    deeper than the hops left: a chain that cannot finish is refused before its first call."""
    depth = 0
    while value is not None:
        hop = _hop(value)
        unknown = sorted(set(hop) - HOP_KEYS)
        if unknown:
            raise invalid(
                "UnsupportedParameter",
                f"A Next hop takes Action, Parameters and {', '.join(CHAIN_KEYS)}; not {', '.join(unknown)}.",
            )
        depth += 1
        if depth > hops_left:
            raise invalid("Chain.HopLimitExceeded", f"The chain's Next hops go deeper than the {hops_left} hops left.")
        value = hop.get("Next")


def _batch(parameters: dict[str, Any], rules: EventRules, synchronous: bool) -> tuple[dict[str, Any], Batch | None]:
    """``Targets`` (parameter objects), ``InstanceIds`` or ``Select``, with the other parameters shared by all."""
    shared = {k: v for k, v in parameters.items() if k not in BATCH_KEYS}
    named = [k for k in TARGET_KEYS if parameters.get(k) is not None]
    if not named and "DryRun" in parameters and rules.batches and "InstanceId" in shared:
        if not isinstance(parameters["DryRun"], bool):
            raise bad_request("DryRun must be true or false.")
        if not parameters["DryRun"]:  # not a plan: the one call it names
            return _batch({k: v for k, v in parameters.items() if k != "DryRun"}, rules, synchronous)
        # a plan for one instance: the batch of one it would be, so it answers as every plan does
        parameters = {
            **{k: v for k, v in parameters.items() if k != "InstanceId"},
            "InstanceIds": [shared["InstanceId"]],
        }
        shared.pop("InstanceId")
        named = ["InstanceIds"]
    if not named:
        given = sorted(k for k in BATCH_KEYS if k in parameters)
        if given:
            raise invalid("UnsupportedParameter", f"{', '.join(given)}: only with Targets, InstanceIds or Select.")
        return shared, None
    if len(named) > 1:
        raise bad_request("Give one of Targets, InstanceIds or Select, not several.")
    if not rules.batches:
        raise bad_request(f"{rules.action} reads every page itself: give RegionId and Tags, no batch keys.")
    from .batch import Batch, RateControl, Selection, tag_values_in  # only a batch pays for its values

    name = named[0]
    unknown = sorted(k for k in shared if k not in rules.parameters) if rules.parameters else []
    if unknown:
        raise invalid("UnsupportedParameter", rules.unsupported(unknown))
    control = RateControl.parse(parameters.get("RateControl"))
    dry_run, since, detail = (
        parameters.get("DryRun", False),
        parameters.get("Since", "ScheduledTime"),
        parameters.get("Detail", "Summary"),
    )
    if not isinstance(dry_run, bool):
        raise bad_request("DryRun must be true or false.")
    if since not in SINCE:
        raise bad_request(f"Since must be {' or '.join(SINCE)}.")
    if detail not in DETAIL:
        raise bad_request(f"Detail must be {' or '.join(DETAIL)}.")
    tagged = tag_values_in(shared)
    if name == "Select":
        if "InstanceId" in shared:
            raise bad_request("With Select, give no InstanceId: the selection names the instances.")
        select = Selection.parse(parameters["Select"])
        region = shared.get("RegionId")
        if region is not None and select.region_id not in (None, region):
            raise bad_request(
                f"RegionId {region!r} and Select.RegionId {select.region_id!r} name different "
                "regions: a Select acts in one region; give it once."
            )
        if select.region_id is None and isinstance(region, str):
            select = Selection(region, select.tags)  # the event's region is the selection's
        _check_detail(detail, synchronous)
        if not rules.selects:
            raise bad_request(f"{rules.action} cannot act on a Select.")
        return shared, Batch(shared, control, name, select=select, since=since, dry_run=dry_run, detail=detail)
    if tagged:
        raise bad_request(f"Values from tags ({', '.join(tagged)}) need Select: the tags are read with the instances.")
    if since != "ScheduledTime":
        raise bad_request("Since: CreationTime needs Select: creation times are read with the instances.")
    listed = parameters[name]
    if not isinstance(listed, list) or not listed:
        raise bad_request(f"{name} must be a non-empty list.")
    if len(listed) > MAX_TARGETS:
        raise invalid(
            "Batch.TooManyTargets",
            f"At most {MAX_TARGETS} targets an invocation; fan larger fleets out in chunks (see the README).",
        )
    if name == "InstanceIds":
        if "InstanceId" in shared:
            raise bad_request("With InstanceIds, give no InstanceId.")
        targets = tuple({**shared, "InstanceId": i} for i in listed)
    else:  # a target that is not an object stays as it is, and fails on its own
        targets = tuple({**shared, **t} if isinstance(t, dict) else t for t in listed)
    _check_detail(detail, synchronous)
    return shared, Batch(shared, control, name, tuple(listed), targets, dry_run=dry_run, detail=detail)


def _check_detail(detail: str, synchronous: bool) -> None:
    if detail == "Full" and not synchronous:
        raise bad_request('Detail "Full" is for webhook callers: other results must fit in 256 KB.')


def _skip_on_page(parameters: Mapping[str, Any]) -> int:
    """``SkipOnPage`` (from a ``Resume``): the records of the first page already answered."""
    skip = parameters.get(SKIP_ON_PAGE, 0)
    if not isinstance(skip, int) or isinstance(skip, bool) or not 0 <= skip <= MAX_SKIP_ON_PAGE:
        raise bad_request(f"SkipOnPage must be a whole number from 0 to {MAX_SKIP_ON_PAGE} (from a Resume).")
    return skip


def _next_of_result(result: Mapping[str, Any]) -> dict[str, Any]:
    if result.get("Outcome") != "Succeeded":
        raise invalid(
            "Chain.PreviousFailed", f"The previous action {result.get('Action')!r} did not succeed; nothing to run."
        )
    hop = result.get("Next")
    if not isinstance(hop, dict):
        raise invalid("Chain.NoNextHop", "The result names no Next hop to run.")
    return hop


def is_correlation_id(value: object) -> bool:
    return isinstance(value, str) and 0 < len(value) <= MAX_CORRELATION_ID and value.isprintable()


def _correlation_id(value: object, default: str | None) -> str | None:
    if value is None:
        return default
    if not is_correlation_id(value):
        raise bad_request(f"CorrelationId must be printable text of at most {MAX_CORRELATION_ID} characters.")
    return value


def _hop(value: object) -> dict[str, Any] | None:
    if value is None:
        return None
    if (
        not isinstance(value, dict)
        or not isinstance(value.get("Action"), str)
        or not isinstance(value.get("Parameters"), dict)
    ):
        raise bad_request('Next must be a hop: {"Action": ..., "Parameters": {...}}.')
    return value


def _urls(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if (
        not isinstance(value, list)
        or len(value) > MAX_NOTIFY_URLS
        or not all(isinstance(u, str) and len(u) <= MAX_URL_LENGTH for u in value)
    ):
        raise bad_request(f"NotifyUrls must be a list of at most {MAX_NOTIFY_URLS} URLs.")
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
        raise bad_request(
            "ScheduledTime must be an ISO 8601 time with its offset, e.g. 2026-11-22T02:00:00Z."
        ) from None
    return moment.astimezone(UTC)
