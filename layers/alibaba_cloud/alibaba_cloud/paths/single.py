"""One call: the event's parameters validated, its instance's protection read, signed, sent, and its result."""

from __future__ import annotations

from ..actions.declaring import Record, owner_of
from ..errors import AlibabaCloudError, protected
from ..events.result import result_event
from ..rpc.client import RpcRequest
from .changes import change_of
from .context import Ran, RunContext
from .pages import Inventory, InventoryReader, described


def run_single(ctx: RunContext) -> Ran:
    action, invocation = ctx.action, ctx.invocation
    common = {"action": action.name, "product": action.product.code, "invocation": invocation}
    reads, record = Inventory(), None
    try:
        request = action.request(invocation.parameters, ctx.validation(), ctx.settings)
        if action.fleet is not None:
            record = check_protection(ctx, request, reads)
        if action.listing is None:
            ctx.before_write()
        call = ctx.client.call(request, ctx.deadline)
    except AlibabaCloudError as error:
        failed = result_event(parameters=invocation.parameters, error=error, **common)
        return Ran(failed, error, throttled=error.throttled + reads.throttled)
    done = result_event(parameters=call.parameters, request_id=call.request_id, **common)
    written = ()
    if action.fleet is not None:
        before = action.fleet.before(record) if record is not None else None
        written = (change_of(action, call.parameters, call.request_id, before, action.fleet.changed),)
    return Ran(done, call=call, throttled=call.throttled + reads.throttled, changes=written)


def check_protection(ctx: RunContext, request: RpcRequest, reads: Inventory) -> Record | None:
    """Refuse, before any write, an instance this product must not write: one carrying the protection tag
    (always), or one whose release protection the write would lift (unless ``OverrideProtection``).
    An instance the read does not find is written all the same: Alibaba's answer says what it is."""
    fleet = ctx.action.fleet
    assert fleet is not None
    instance_id = request.params.get("InstanceId", "")
    records = described(
        InventoryReader(ctx.client, ctx.settings),
        fleet.describe,
        [instance_id],
        request.region_id or "",
        owner_of(request.params),
        ctx.validation(),
        ctx.deadline,
        reads,
    )
    if not records:
        return None
    reason = fleet.protection(request.params, records[0], ctx.settings.protect_tag_key)
    if reason == "ProtectTag":
        raise protected(
            f"The instance {instance_id} carries the tag {ctx.settings.protect_tag_key!r} (PROTECT_TAG_KEY): this "
            "product never writes it. Remove the tag to manage the instance here."
        )
    if reason == "DeletionProtection" and not ctx.invocation.override_protection:
        raise protected(
            f"The instance {instance_id} has release protection on (DeletionProtection), which does not stop an "
            "automatic release: this product gives it no release time. Send OverrideProtection: true to set one anyway."
        )
    return records[0]
