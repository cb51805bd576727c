"""A ``Select``'s targets: each instance planned as it is read, only the plan kept, the read stopped as
soon as more instances need a change than one invocation may make."""

from __future__ import annotations

from collections import Counter
from typing import Any

from ...actions.declaring import owner_of
from ...errors import AlibabaCloudError
from ...events.keys import MAX_TARGETS
from ..context import RunContext
from ..pages import Inventory, InventoryReader
from .plan import Planner, Target


def selected(ctx: RunContext, planner: Planner, skipped: Counter) -> tuple[list[Target], Inventory]:
    """The selection's targets and how it was read; ``skipped`` counts why others were not taken."""
    batch, fleet = ctx.invocation.batch, ctx.action.fleet
    # the event reader refuses a Select for an action without a fleet
    assert batch is not None
    assert batch.select is not None
    assert fleet is not None
    assert fleet.describe.listing is not None
    select = batch.select
    targets: list[Target] = []
    acting = 0

    def take(record: dict[str, Any]) -> None:
        nonlocal acting
        planned = planner.select(select, record, batch.shared, batch.since)
        if isinstance(planned, str):
            skipped[planned] += 1
            return
        targets.append(planned)
        if planned.line is None or planned.line["Outcome"] != "Unchanged":
            acting += 1
            if acting > MAX_TARGETS and not batch.dry_run:  # a plan is never refused for its size
                raise AlibabaCloudError(
                    "Select.TooManyTargets",
                    f"More than {MAX_TARGETS} selected instances need a change; at most {MAX_TARGETS} an "
                    "invocation: narrow the selection (see the README). Nothing was written.",
                )

    inventory = InventoryReader(ctx.client, ctx.settings).read(
        fleet.describe,
        select.describe_parameters(fleet.describe.listing.max_tags) | owner_of(batch.shared),
        planner.ctx,
        ctx.deadline,
        each=take,
    )
    return targets, inventory
