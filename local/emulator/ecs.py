"""ECS (2014-05-26) in the emulator: ModifyInstanceAutoReleaseTime and DescribeInstances, with their rules.

Written apart from the layer's declarations, so each checks the other.
"""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime, timedelta

from .state import TAG_PARAMETER, ApiError, EmulatorState, require_instance, selected, tag_filter

VERSION = "2014-05-26"
RELEASE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
MAX_TAGS = 20


def modify_instance_auto_release_time(state: EmulatorState, params: dict[str, str]) -> None:
    instance = require_instance(state, params, "Ecs")
    region = params.get("RegionId")
    if region is not None and region != instance.RegionId:
        raise ApiError(404, "NoSuchResource", "The specified resource is not found.")
    if instance.InstanceChargeType != "PostPaid":
        raise ApiError(403, "ChargeTypeViolation", "The operation is not permitted due to charge type of the instance.")
    text = params.get("AutoReleaseTime")
    if text is None:
        instance.AutoReleaseTime = None
        return
    try:
        if not RELEASE_TIME.fullmatch(text):
            raise ValueError(text)
        when = datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC, second=0)
    except ValueError:
        raise ApiError(
            400, "InvalidAutoReleaseTime.Malformed", "The specified parameter autoReleaseTime is not valid."
        ) from None
    now = state.now()
    if when - now < timedelta(minutes=30):
        raise ApiError(
            400,
            "InvalidAutoReleaseTime.TooEarly",
            "The release time must be at least 30 minutes later than the current time.",
        )
    try:
        latest = now.replace(year=now.year + 3)
    except ValueError:
        latest = now.replace(year=now.year + 3, day=28)
    if when > latest:
        raise ApiError(
            400, "InvalidAutoReleaseTime.TooLate", "The release time must be at most three years from the current time."
        )
    instance.AutoReleaseTime = when.strftime("%Y-%m-%dT%H:%M:%SZ")


def describe_instances(state: EmulatorState, params: dict[str, str]) -> dict:
    """Token paging: ``MaxResults`` (at most 100; less than 10 reads as 10) and an opaque ``NextToken``."""
    region = params.get("RegionId")
    if not region:
        raise ApiError(400, "MissingParameter", "RegionId should not be null.")
    size = _whole(params.get("MaxResults", "10"), "MaxResults")
    size = min(max(size, 10), 100)
    start = _offset(params.get("NextToken"))
    found = selected(state, "Ecs", region, tag_filter(params, MAX_TAGS))
    page = found[start : start + size]
    more = start + size < len(found)
    return {
        "TotalCount": len(found),
        "NextToken": base64.urlsafe_b64encode(f"offset:{start + size}".encode()).decode() if more else "",
        "Instances": {
            "Instance": [
                {
                    "InstanceId": i.InstanceId,
                    "RegionId": i.RegionId,
                    "Status": i.Status,
                    "InstanceChargeType": i.InstanceChargeType,
                    "CreationTime": i.CreationTime[:16] + "Z",  # read back to the minute
                    "AutoReleaseTime": i.AutoReleaseTime[:16] + "Z" if i.AutoReleaseTime else "",
                    "Tags": {"Tag": [{"TagKey": k, "TagValue": v} for k, v in sorted(i.Tags.items())]},
                }
                for i in page
            ]
        },
    }


def _whole(text: str, name: str) -> int:
    if not text.isdigit():
        raise ApiError(400, "InvalidParameter", f"The specified parameter {name} is not valid.")
    return int(text)


def _offset(token: str | None) -> int:
    if not token:
        return 0
    try:
        kind, _, offset = base64.urlsafe_b64decode(token.encode()).decode().partition(":")
        if kind != "offset":
            raise ValueError(token)
        return int(offset)
    except ValueError:
        raise ApiError(400, "InvalidNextToken.Malformed", "The specified NextToken is not valid.") from None


ACTIONS = {
    (VERSION, "ModifyInstanceAutoReleaseTime"): (
        lambda name: name in {"InstanceId", "AutoReleaseTime"},
        modify_instance_auto_release_time,
    ),
    (VERSION, "DescribeInstances"): (
        lambda name: name in {"MaxResults", "NextToken"} or bool(TAG_PARAMETER.fullmatch(name)),
        describe_instances,
    ),
}
