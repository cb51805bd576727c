"""One call: the event's parameters validated, signed, sent, and its result."""

from __future__ import annotations

from ..errors import AlibabaCloudError
from ..events.result import result_event
from .context import Ran, RunContext


def run_single(ctx: RunContext) -> Ran:
    action, invocation = ctx.action, ctx.invocation
    common = {"action": action.name, "product": action.product.code, "invocation": invocation}
    try:
        request = action.request(invocation.parameters, ctx.validation(), ctx.settings)
        if action.listing is None:
            ctx.before_write()
        call = ctx.client.call(request, ctx.deadline)
    except AlibabaCloudError as error:
        failed = result_event(parameters=invocation.parameters, error=error, **common)
        return Ran(failed, error, throttled=error.throttled)
    done = result_event(parameters=call.parameters, request_id=call.request_id, **common)
    return Ran(done, call=call, throttled=call.throttled)
