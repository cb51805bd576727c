"""A Describe function's answer: every page's instances, projected, within the size rule; an incomplete
read says why and gives ``Resume``, the parameters that read on from there."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..actions.declaring import Action, Record
from ..errors import AlibabaCloudError
from ..events.keys import SKIP_ON_PAGE
from ..events.result import budget, result_event, with_next
from .context import Ran, RunContext
from .pages import InventoryReader

RESULT_FIELDS = 2048  # an inventory answer's fields besides its records and the echoed parameters
PAGING = ("NextToken", "PageNumber", SKIP_ON_PAGE)


def record_filter(action: Action, given: dict[str, Any], ctx: RunContext) -> Callable[[Record], bool] | None:
    """The event's filters (``ReleasingWithin``), each checked before any call, as one test of a record."""
    declared = action.listing.filters if action.listing else {}
    tests = [declared[name](value, ctx.now) for name, value in given.items() if name in declared]
    return (lambda record: all(test(record) for test in tests)) if tests else None


def run_inventory(ctx: RunContext) -> Ran:
    action, invocation = ctx.action, ctx.invocation
    given = {k: v for k, v in invocation.parameters.items() if k != SKIP_ON_PAGE}
    # the answer echoes the parameters twice (Parameters, Resume) beside the request it answers
    records_budget = budget(ctx.request_size, ctx.synchronous) - 2 * ctx.request_size - RESULT_FIELDS
    try:
        keep = record_filter(action, given, ctx)
        inventory = InventoryReader(ctx.client, ctx.settings).read(
            action, given, ctx.validation(), ctx.deadline, records_budget, invocation.skip_on_page, keep=keep
        )
    except AlibabaCloudError as error:
        return Ran(
            result_event(
                action=action.name,
                product=action.product.code,
                parameters=invocation.parameters,
                invocation=invocation,
                error=error,
            ),
            error,
            throttled=error.throttled,
        )
    result: dict[str, Any] = {
        "Action": action.name,
        "Product": action.product.code,
        "Parameters": invocation.parameters,
        "Outcome": "Succeeded" if inventory.complete else "Failed",
    }
    if not inventory.complete:
        result.update(
            ErrorCode="Inventory.Incomplete",
            ErrorMessage=f"Read {len(inventory.records)} instances before stopping ({inventory.reason}); "
            "send Resume to read on.",
        )
        paging = {k: v for k, v in (inventory.resume or {}).items() if k in PAGING}
        result["Resume"] = {**given, **paging}
    result["Inventory"] = inventory.summary()
    result["Instances"] = inventory.records
    return Ran(with_next(result, invocation), throttled=inventory.throttled)
