"""One batch: its targets (listed, or selected by tags) planned, the ones that need it written under
the rate control, each accounted for, and the result shaped to fit where it goes."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Mapping
from typing import Any

from ...actions.declaring import owner_of
from ...errors import AlibabaCloudError, too_many_changes
from ...events.result import budget, error_fields, with_next
from ..context import Ran, RunContext
from ..pages import Inventory, InventoryReader, listed
from . import report
from .change import changes, drifted, plan_targets, save_plan
from .plan import Planner, Target, failed, line, not_attempted
from .pool import BatchRunner, estimated_seconds
from .selection import selected


def run_fleet(ctx: RunContext) -> Ran:
    return FleetRun(ctx).run()


class FleetRun:
    """Plan every target, write the ones that need it, account for each."""

    def __init__(self, ctx: RunContext, expected: Mapping[str, dict[str, Any]] | None = None) -> None:
        """``expected``: the fields each listed instance must still read (a plan's apply, an undo), else Drifted."""
        assert ctx.invocation.batch is not None
        self.ctx = ctx
        self.expected = expected
        self.batch = ctx.invocation.batch
        self.rate_control = self.batch.rate_control
        self.failed_calls: list[AlibabaCloudError] = []
        self.throttled: list[int] = []  # per call that met Throttling (list.append: the pool's threads share it)
        self.reads = Inventory()  # the listed instances' reads

    def run(self) -> Ran:
        ctx, batch = self.ctx, self.batch
        planner = Planner(ctx.action, ctx.settings, ctx.validation(), batch.dry_run)
        inventory: Inventory | None = None
        skipped: Counter = Counter()
        if batch.select is not None:
            try:
                targets, inventory = selected(ctx, planner, skipped)
            except AlibabaCloudError as error:
                return Ran(self._report([], [], None, skipped, error), error, lines=[], throttled=error.throttled)
        else:
            try:
                current = self._current(batch.targets)
            except AlibabaCloudError as error:  # nothing is written blind: every target is listed as not attempted
                targets = planner.explicit(batch.targets, batch.originals)
                lines = [t.line or not_attempted(t, "InstancesNotRead") for t in targets]
                return Ran(
                    self._report(targets, lines, None, skipped, error), error, lines=[], throttled=error.throttled
                )
            targets = planner.explicit(batch.targets, batch.originals, current)
            if self.expected is not None:
                drifted(targets, current, self.expected)
        writes = sum(t.line is None for t in targets)
        cap = self.rate_control.change_limit(len(targets), ctx.settings.max_changes)
        if writes > cap and not batch.dry_run and not self._safer(targets):  # a plan is never capped
            return Ran(self._capped(targets, inventory, skipped, writes, cap), too_many_changes(writes, cap), lines=[])
        seconds = estimated_seconds(writes, self.rate_control)
        unread = inventory is not None and inventory.reason == "DeadlineNear"  # a selection too large to read here
        late = writes and time.monotonic() + seconds > (ctx.defer_after or 0)
        if ctx.defer_after is not None and not batch.dry_run and (unread or late):
            return Ran(report.accepted(ctx, targets, writes, seconds, inventory), deferred=True)
        refused = tuple(t.line["ErrorCode"] for t in targets if t.line is not None and t.line["Outcome"] == "Failed")
        lines = self._write(targets)
        result = self._report(targets, lines, inventory, skipped)
        if batch.dry_run and ctx.runs is not None:
            result.update(save_plan(ctx, plan_targets(targets)))
        return Ran(
            result,
            lines=lines,
            changes=changes(ctx.action, targets, lines),
            failed_calls=self.failed_calls,
            refused_codes=refused,
            throttled=sum(self.throttled) + self.reads.throttled + (inventory.throttled if inventory else 0),
        )

    def _current(self, targets: tuple[Any, ...]) -> dict[str, dict[str, Any]]:
        """The listed instances as their Describe action reads them, so protection, skips and unchanged
        values apply to a list as they do to a selection."""
        ctx, fleet = self.ctx, self.ctx.action.fleet
        if fleet is None or fleet.describe.listing is None or fleet.describe.listing.by_ids is None:
            return {}
        reader, owner = InventoryReader(ctx.client, ctx.settings), owner_of(self.batch.shared)
        return listed(
            reader, fleet.describe, targets, ctx.settings.region_id, owner, ctx.validation(), ctx.deadline, self.reads
        )

    def _capped(
        self, targets: list[Target], inventory: Inventory | None, skipped: Counter, writes: int, cap: int
    ) -> dict[str, Any]:
        """The plan as a DryRun answers it, and the cap that refused it: the operator sees what would have happened."""
        lines = [t.line if t.line is not None else line(t, "WouldChange", Parameters=t.params) for t in targets]
        result = self._report(targets, lines, inventory, skipped, too_many_changes(writes, cap))
        result["MaxChanges"] = cap
        result.pop("Rerun", None)  # the same event would be refused again: it needs a narrower one, or a higher cap
        return result

    def _safer(self, targets: list[Target]) -> bool:
        """Whether every write only makes its instance safer (cancels a release): such a run is never capped."""
        fleet = self.ctx.action.fleet
        return fleet is not None and all(fleet.safer(t.params or {}) for t in targets if t.line is None)

    def _write(self, targets: list[Target]) -> list[dict[str, Any]]:
        ctx = self.ctx
        # no new target when less than the margin and one second are left
        batch_runner = BatchRunner(self.rate_control, ctx.deadline, ctx.settings.deadline_margin + 1.0)

        def run_one(target: Target, pace: Any) -> dict[str, Any]:
            assert target.request is not None
            try:
                call = ctx.client.call(target.request, ctx.deadline, pace)
            except AlibabaCloudError as error:
                self.failed_calls.append(error)  # list.append is atomic: the pool's threads share it
                if error.throttled:
                    self.throttled.append(error.throttled)
                return failed(target, error, target.request.params)
            if call.throttled:
                self.throttled.append(call.throttled)
            before = {"Before": target.before} if target.before is not None else {}  # the record's, where it fails
            return line(target, "Succeeded", Parameters=call.parameters, RequestId=call.request_id, **before)

        writes = [t for t in targets if t.line is None]
        if writes:
            ctx.before_write()
        sent = iter(batch_runner.run(writes, run_one, not_attempted))
        return [t.line if t.line is not None else next(sent) for t in targets]

    def _report(
        self,
        targets: list[Target],
        lines: list[dict[str, Any]],
        inventory: Inventory | None,
        skipped: Counter,
        error: AlibabaCloudError | None = None,
    ) -> dict[str, Any]:
        action, batch = self.ctx.action, self.batch
        counts = report.summary(lines)
        complete = error is None and (inventory is None or inventory.complete)
        succeeded = complete and counts["Failed"] == counts["NotAttempted"] == 0
        result: dict[str, Any] = {
            "Action": action.name,
            "Product": action.product.code,
            "Outcome": "Succeeded" if succeeded else "Failed",
        }
        if error is not None:
            result.update(error_fields(error), RequestId=error.request_id)
        if batch.dry_run:
            result["DryRun"] = True
        result["Summary"] = counts
        if batch.select is not None:
            read = inventory.summary() if inventory is not None else {}
            result["Selection"] = {**batch.select.to_dict(), **read, "Skipped": dict(skipped)}
            if batch.since != "ScheduledTime":
                result["Selection"]["Since"] = batch.since
        groups = report.not_succeeded(lines)
        if groups:
            result["NotSucceeded"] = groups
        result["RateControl"] = self.rate_control.to_dict()
        rerun = None if succeeded else report.rerun_event(batch, [t.given for t in targets], lines)
        if rerun is not None:
            result["Rerun"] = rerun
        with_next(result, self.ctx.invocation)
        full = self.ctx.synchronous and batch.detail == "Full"
        return report.fit(result, lines, budget(self.ctx.request_size, full))
