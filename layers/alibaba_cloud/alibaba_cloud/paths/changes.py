"""A change as it is recorded: the instance, the value before (as read), the value after, Alibaba's RequestId."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from ..actions.declaring import Action


def change_of(
    action: Action,
    params: Mapping[str, Any],
    request_id: str | None,
    before: Mapping[str, Any] | None,
    changed: Sequence[str],
    at: str | None = None,
) -> dict[str, Any]:
    return {
        "InstanceId": params.get("InstanceId"),
        "RegionId": params.get("RegionId"),
        "Action": action.name,
        "Before": dict(before) if before is not None else None,  # None: not read, so no undo
        "After": {name: params.get(name) for name in changed},
        "RequestId": request_id,
        "At": at or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
    }
