"""The one result shape every run gives back, its ``Next`` hop, and the room it may take where it goes.

A single call's result::

    {"Action", "Product", "Parameters", "RequestId", "Outcome": "Succeeded" | "Failed",
     "ErrorCode"?, "ErrorMessage"?, "HostId"?, "Recommend"?, "AccessDeniedDetail"?, "CorrelationId", "Hop", "Next"?}

A batch's (:mod:`alibaba_cloud.paths.fleet.report`) has ``Summary``, ``NotSucceeded``, ``Targets``
and ``Rerun`` instead of ``Parameters``, ``RequestId`` and the error fields; an inventory's has
``Inventory`` and ``Instances``. ``Next`` (on success only) is the hop to run next, its ``Hop`` one
more than this one's and its ``Budget`` this one's share of what the chain may still spend.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import AlibabaCloudError
from .invocation import Invocation
from .keys import ASYNC_LIMIT, DELIVERIES_ROOM, ENVELOPE, SYNC_LIMIT

Outcome = tuple[dict[str, Any], AlibabaCloudError | None]  # a result, and the error that failed the run, if any


def budget(request_size: int, synchronous: bool) -> int:
    """How many bytes a result may take beside the request it answers. A webhook answer's body is
    escaped once more inside Lambda's response, which at worst doubles it, hence half the
    synchronous limit; everything else goes through 256 KB services."""
    if synchronous:
        return SYNC_LIMIT // 2 - request_size - DELIVERIES_ROOM
    return ASYNC_LIMIT - ENVELOPE - request_size - DELIVERIES_ROOM


def error_fields(error: AlibabaCloudError) -> dict[str, Any]:
    """A failed result's fields: the code, the message and Alibaba's diagnosis, where it gave one."""
    return {"ErrorCode": error.code, "ErrorMessage": error.message, **error.details()}


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
        event.update(error_fields(error))
    return with_next(event, invocation)


def with_next(event: dict[str, Any], invocation: Invocation) -> dict[str, Any]:
    """The chain's fields on a result; ``Next`` only on success, its ``Hop`` one more than this one's."""
    event["CorrelationId"], event["Hop"] = invocation.correlation_id, invocation.hop
    if event["Outcome"] == "Succeeded" and invocation.next is not None:
        event["Next"] = {
            **invocation.next,
            "Hop": invocation.hop + 1,
            "Budget": invocation.next_budget,
            "CorrelationId": invocation.correlation_id,
        }
    return event
