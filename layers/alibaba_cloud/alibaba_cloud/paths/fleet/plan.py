"""From a batch's targets to what will be written: validate each, compare with what the instance has.

Every target becomes a :class:`Target`: either a validated request to send, or an outcome decided
before any write (``Protected`` for an instance this product does not write, ``Skipped`` for one the
action cannot apply to, ``Failed`` for a value the rules refuse, ``Unchanged`` where the instance
already has the value, ``WouldChange`` in a dry run). Planning failures are data problems of one target:
they do not spend ``MaxErrors``, which guards against failing calls.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from ...actions.declaring import Action
from ...actions.validation import ValidationContext
from ...config import Settings
from ...errors import AlibabaCloudError, bad_request
from ...events.batch import Selection, is_tag_value
from ...rpc.client import RpcRequest


@dataclass
class Target:
    """One target: what the event gave (for a rerun), its instance, and its request or decided outcome."""

    given: Any
    instance_id: str | None
    request: RpcRequest | None = None
    line: dict[str, Any] | None = None
    state: dict[str, Any] | None = None  # the watched fields as read (a plan's apply checks them for drift)
    before: dict[str, Any] | None = None  # the values the write replaces, as read

    @property
    def params(self) -> dict[str, str] | None:
        return None if self.request is None else self.request.params


def line(target: Target, outcome: str, **fields: Any) -> dict[str, Any]:
    return {"InstanceId": target.instance_id, "Outcome": outcome, **fields}


def failed(target: Target, error: AlibabaCloudError, parameters: Any = None) -> dict[str, Any]:
    fields = {"Parameters": parameters} if parameters is not None else {}
    return line(
        target,
        "Failed",
        **fields,
        ErrorCode=error.code,
        ErrorMessage=error.message,
        RequestId=error.request_id,
        **error.details(),
    )


def not_attempted(target: Target, reason: str) -> dict[str, Any]:
    return line(target, "NotAttempted", Reason=reason)


class Planner:
    """Plans one batch of an action; ``dry_run`` plans without writing anything."""

    def __init__(self, action: Action, settings: Settings, ctx: ValidationContext, dry_run: bool) -> None:
        self.action = action
        self.settings = settings
        self.ctx = ctx
        self.dry_run = dry_run

    def explicit(
        self, targets: tuple[Any, ...], originals: tuple[Any, ...], current: Mapping[str, dict[str, Any]] | None = None
    ) -> list[Target]:
        """Targets the event listed (``Targets`` or ``InstanceIds``), judged by their instances' ``current``
        records where they were read (an instance the read did not find is written, and Alibaba answers)."""
        planned = []
        fleet = self.action.fleet
        for given, original in zip(targets, originals, strict=True):
            instance_id = given.get("InstanceId") if isinstance(given, dict) else None
            target = Target(original, instance_id if isinstance(instance_id, str) else None)
            record = (current or {}).get(target.instance_id or "")
            if not isinstance(given, dict):
                target.line = failed(target, bad_request("A target must be a JSON object of parameters."))
            elif record is not None and fleet is not None and (reason := fleet.skip(record)):
                target.line = line(target, "Skipped", Reason=reason)
            else:
                self._decide(target, given, self.ctx, current=record)
            planned.append(target)
        return planned

    def select(self, selection: Selection, record: dict[str, Any], shared: dict[str, Any], since: str) -> Target | str:
        """One instance of a selection as it is read: its target, with its values from tags, or why it
        is skipped. Only what the plan needs is kept, not the record."""
        fleet = self.action.fleet
        assert fleet is not None
        if not selection.matches(record):
            return "TagsDoNotMatch"
        reason = fleet.skip(record)
        if reason:
            return reason
        target = Target(record["InstanceId"], record["InstanceId"])
        try:
            # the instance's region: its parameter and its host (a fleet action takes RegionId)
            given = {
                **with_tag_values(shared, record),
                "InstanceId": record["InstanceId"],
                "RegionId": record["RegionId"],
            }
            ctx = self.ctx
            if since == "CreationTime":
                ctx = replace(ctx, scheduled_time=creation_time(record), overdue_to_earliest=True)
        except InstanceValueError as error:
            target.line = failed(target, error)
        else:
            self._decide(target, given, ctx, current=record)
        return target

    def _decide(
        self, target: Target, given: dict[str, Any], ctx: ValidationContext, current: dict[str, Any] | None
    ) -> None:
        fleet, protect_tag = self.action.fleet, self.settings.protect_tag_key
        if current is not None and fleet is not None:
            target.state = {name: current.get(name) for name in fleet.watched}
            target.before = fleet.before(current)
        if current is not None and fleet is not None and fleet.protection(None, current, protect_tag):
            target.line = line(target, "Protected", Reason="ProtectTag")  # whatever it would write
            return
        try:
            request = self.action.request(given, ctx, self.settings)
        except AlibabaCloudError as error:
            target.line = failed(target, error, given)
            return
        if current is not None and fleet is not None and fleet.protection(request.params, current, protect_tag):
            target.line = line(target, "Protected", Reason="DeletionProtection", Parameters=request.params)
            return
        unchanged: Callable[..., bool] | None = fleet.unchanged if fleet else None
        if current is not None and unchanged is not None and unchanged(request.params, current, ctx.now):
            target.line = line(target, "Unchanged", Parameters=request.params)
        elif self.dry_run:
            target.line = line(target, "WouldChange", Parameters=request.params)
        else:
            target.request = request


# Values an instance gives: its tags' values, its creation time


class InstanceValueError(AlibabaCloudError):
    """A value a selected instance cannot give (a tag it lacks, a creation time that does not read): it fails alone."""


def with_tag_values(parameters: Mapping[str, Any], record: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters with each ``{"Tag": key}`` replaced by the instance's value of that tag."""
    resolved = {}
    tags = record.get("Tags") or {}
    for name, value in parameters.items():
        if is_tag_value(value):
            key = value["Tag"]
            if key not in tags:
                raise InstanceValueError(
                    "Tag.Missing", f"The instance has no tag {key!r} to take {name} from.", http_status=400, local=True
                )
            value = tags[key]
        resolved[name] = value
    return resolved


def creation_time(record: Mapping[str, Any]) -> datetime:
    """The record's creation time: ECS reads it to the minute (``2026-11-22T03:04Z``), R-kvstore to the second."""
    text = record.get("CreationTime")
    for pattern in ("%Y-%m-%dT%H:%MZ", "%Y-%m-%dT%H:%M:%SZ"):
        try:
            return datetime.strptime(text, pattern).replace(tzinfo=UTC)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            continue
    raise InstanceValueError(
        "InvalidCreationTime", f"The instance's CreationTime {text!r} cannot be read.", http_status=400, local=True
    )
