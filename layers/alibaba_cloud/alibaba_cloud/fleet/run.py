"""A fleet in one invocation: its targets (listed, or selected by tags), planned, written under the
rate control, and reported within the size rule; and an inventory read for a Describe function."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from ..actions.declaring import owner_of
from ..chain.events import MAX_TARGETS, Invocation, invalid, result_event, with_next
from ..errors import AlibabaCloudError
from . import report
from .batch import BatchRunner
from .plan import Planner, Target, failed, line, not_attempted
from .select import Inventory, InventoryReader

if TYPE_CHECKING:
    from ..run import Outcome, Runner

RESULT_FIELDS = 2048  # an inventory answer's fields besides its records and the echoed parameters
MAX_SKIP_ON_PAGE = 1000


class FleetRun:
    """One batch: plan every target, write the ones that need it, account for each."""

    def __init__(self, runner: Runner, invocation: Invocation, deadline: float | None) -> None:
        assert invocation.batch is not None
        self.runner = runner
        self.invocation = invocation
        self.batch = invocation.batch
        self.rate_control = invocation.batch.rate_control
        self.deadline = deadline

    def run(self, request_size: int, synchronous: bool) -> Outcome:
        action, batch = self.runner.action, self.batch
        if batch.detail == "Full" and not synchronous:
            raise invalid("InvalidParameter", 'Detail "Full" is for webhook callers: other results must fit in 256 KB.')
        planner = Planner(action, self.runner.settings, self.runner.validation_context(self.invocation), batch.dry_run)
        inventory: Inventory | None = None
        skipped: Counter = Counter()
        if batch.select is not None:
            if action.fleet is None:
                raise invalid("InvalidParameter", f"{action.name} cannot act on a Select.")
            try:
                inventory = InventoryReader(self.runner.client, self.runner.settings).read(
                    action.fleet.describe, batch.select.describe_parameters() | owner_of(batch.shared), planner.ctx, self.deadline)
                targets, skipped = planner.selected(batch.select, inventory, batch.shared, batch.since)
                to_act = sum(t.line is None or t.line["Outcome"] != "Unchanged" for t in targets)
                if to_act > MAX_TARGETS:
                    raise AlibabaCloudError("Select.TooManyTargets", f"{to_act} selected instances need a change; at most "
                                            f"{MAX_TARGETS} an invocation: narrow the selection (see the README).")
            except AlibabaCloudError as error:
                self.runner.observer.call_failed(error)
                return self._report([], [], inventory, skipped, request_size, synchronous, error), error
        else:
            targets = planner.explicit(batch.targets, batch.originals)
        lines = self._write(targets)
        result = self._report(targets, lines, inventory, skipped, request_size, synchronous)
        self.runner.observer.batch_finished(lines, result, self.invocation.hop)
        return result, None

    def _write(self, targets: list[Target]) -> list[dict[str, Any]]:
        client, observer, deadline = self.runner.client, self.runner.observer, self.deadline
        # no new target when less than the margin and one second are left
        batch_runner = BatchRunner(self.rate_control, deadline, self.runner.settings.deadline_margin + 1.0)

        def run_one(target: Target, pace: Any) -> dict[str, Any]:
            assert target.request is not None
            try:
                call = client.call(target.request, deadline, pace)
            except AlibabaCloudError as error:
                observer.call_failed(error, counted=False)  # counted per batch, once
                return failed(target, error, target.request.params)
            return line(target, "Succeeded", Parameters=call.parameters, RequestId=call.request_id)

        sent = iter(batch_runner.run([t for t in targets if t.line is None], run_one, not_attempted))
        return [t.line if t.line is not None else next(sent) for t in targets]

    def _report(self, targets: list[Target], lines: list[dict[str, Any]], inventory: Inventory | None, skipped: Counter,
                request_size: int, synchronous: bool, error: AlibabaCloudError | None = None) -> dict[str, Any]:
        action, batch = self.runner.action, self.batch
        counts = report.summary(lines)
        complete = error is None and (inventory is None or inventory.complete)
        succeeded = complete and counts["Failed"] == counts["NotAttempted"] == 0
        result: dict[str, Any] = {"Action": action.name, "Product": action.product.code,
                                  "Outcome": "Succeeded" if succeeded else "Failed"}
        if error is not None:
            result.update(ErrorCode=error.code, ErrorMessage=error.message, RequestId=error.request_id, **error.details())
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
        rerun = self._rerun(targets, lines, succeeded)
        if rerun is not None:
            result["Rerun"] = rerun
        with_next(result, self.invocation)
        full = synchronous and batch.detail == "Full"
        return report.fit(result, lines, report.budget(request_size, full))

    def _rerun(self, targets: list[Target], lines: list[dict[str, Any]], succeeded: bool) -> dict[str, Any] | None:
        """What to send to take up exactly what is left: a selection is read again (the instances
        already done are then ``Unchanged``); listed targets are listed again, only those left."""
        if succeeded:
            return None
        batch = self.batch
        rerun: dict[str, Any] = dict(batch.shared)
        if batch.select is not None:
            rerun["Select"] = batch.select.to_dict()
            if batch.since != "ScheduledTime":
                rerun["Since"] = batch.since
        else:
            rerun[batch.named_by] = [t.given for t, done in zip(targets, lines) if done["Outcome"] in report.NOT_SUCCEEDED]
        rerun["RateControl"] = self.rate_control.to_dict()
        if batch.dry_run:
            rerun["DryRun"] = True
        return rerun


def read_inventory(runner: Runner, invocation: Invocation, deadline: float | None, request_size: int,
                   synchronous: bool = False) -> Outcome:
    """A Describe function's answer: every page's instances, projected, within the size rule; an
    incomplete read says why and gives ``Resume``, the parameters that read on from there."""
    action, given = runner.action, dict(invocation.parameters)
    if invocation.batch is not None:
        raise invalid("InvalidParameter", f"{action.name} reads every page itself: give RegionId and Tags, no batch keys.")
    given, skip_on_page = _skip_on_page(given)
    runner.observer.count("Calls")
    # the answer echoes the parameters twice (Parameters, Resume) beside the request it answers
    records_budget = report.budget(request_size, synchronous) - 2 * request_size - RESULT_FIELDS
    try:
        inventory = InventoryReader(runner.client, runner.settings).read(
            action, given, runner.validation_context(invocation), deadline, records_budget, skip_on_page)
    except AlibabaCloudError as error:
        runner.observer.call_failed(error)
        return result_event(action=action.name, product=action.product.code, parameters=invocation.parameters,
                            invocation=invocation, error=error), error
    runner.observer.count("Successes")
    result: dict[str, Any] = {"Action": action.name, "Product": action.product.code, "Parameters": invocation.parameters,
                              "Outcome": "Succeeded" if inventory.complete else "Failed"}
    if not inventory.complete:
        result.update(ErrorCode="Inventory.Incomplete",
                      ErrorMessage=f"Read {len(inventory.records)} instances before stopping ({inventory.reason}); "
                                   "send Resume to read on.")
        paging = {k: v for k, v in (inventory.resume or {}).items() if k in ("NextToken", "PageNumber", "SkipOnPage")}
        result["Resume"] = {**given, **paging}
    result["Inventory"] = inventory.summary()
    result["Instances"] = inventory.records
    return with_next(result, invocation), None


def _skip_on_page(given: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """``SkipOnPage`` (from a ``Resume``): the records of the first page already answered."""
    skip = given.pop("SkipOnPage", 0)
    if not isinstance(skip, int) or isinstance(skip, bool) or not 0 <= skip <= MAX_SKIP_ON_PAGE:
        raise invalid("InvalidParameter", f"SkipOnPage must be a whole number from 0 to {MAX_SKIP_ON_PAGE} (from a Resume).")
    return given, skip
