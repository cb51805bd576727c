"""ECS (2014-05-26) in the emulator: ModifyInstanceAutoReleaseTime, DescribeInstances and
ListTagResources, with their documented limits.

Written apart from the layer's declarations, so each checks the other. The official model of
``DescribeInstances`` says a tag filter may not match more than 1,000 resources (use
``ListTagResources`` beyond), without saying what the API answers then; the emulator answers the
worst it could: the first 1,000, as if they were all, so a reader that trusts the filter beyond its
limit loses instances here as it would there.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

from .state import (
    RESOURCE_ID_PARAMETER,
    TAG_PARAMETER,
    ApiError,
    EmulatorState,
    offset_token,
    require_instance,
    selected,
    tag_filter,
    tag_index,
    token_offset,
)

VERSION = "2014-05-26"
RELEASE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
MAX_TAGS = 20
MAX_TAGGED = 1_000  # DescribeInstances' tag filter: at most this many resources
MAX_IDS = 100  # InstanceIds: a JSON array of at most 100


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
    start = token_offset(params.get("NextToken"))
    tags = tag_filter(params, MAX_TAGS)
    found = selected(state, "Ecs", region, tags, _instance_ids(params.get("InstanceIds")))
    if tags:
        found = found[:MAX_TAGGED]
    page = found[start : start + size]
    more = start + size < len(found)
    return {
        "TotalCount": len(found),
        "NextToken": offset_token(start + size) if more else "",
        "Instances": {
            "Instance": [
                {
                    "InstanceId": i.InstanceId,
                    "RegionId": i.RegionId,
                    "Status": i.Status,
                    "InstanceChargeType": i.InstanceChargeType,
                    "CreationTime": i.CreationTime[:16] + "Z",  # read back to the minute
                    "AutoReleaseTime": i.AutoReleaseTime[:16] + "Z" if i.AutoReleaseTime else "",
                    "DeletionProtection": i.DeletionProtection,
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


def _instance_ids(text: str | None) -> list[str] | None:
    if text is None:
        return None
    try:
        ids = json.loads(text)
    except ValueError:
        ids = None
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids) or len(ids) > MAX_IDS:
        raise ApiError(400, "InvalidParameter", "The specified parameter InstanceIds is not valid.")
    return ids


def list_tag_resources(state: EmulatorState, params: dict[str, str]) -> dict:
    """``ResourceType=instance``, ``Tag.N`` (at most 20) or ``ResourceId.N`` (at most 50)."""
    return tag_index(state, params, "Ecs", "instance", MAX_TAGS, max_ids=50)


ACTIONS = {
    (VERSION, "ModifyInstanceAutoReleaseTime"): (
        lambda name: name in {"InstanceId", "AutoReleaseTime"},
        modify_instance_auto_release_time,
    ),
    (VERSION, "DescribeInstances"): (
        lambda name: name in {"MaxResults", "NextToken", "InstanceIds"} or bool(TAG_PARAMETER.fullmatch(name)),
        describe_instances,
    ),
    (VERSION, "ListTagResources"): (
        lambda name: (
            name in {"ResourceType", "NextToken"}
            or bool(TAG_PARAMETER.fullmatch(name) or RESOURCE_ID_PARAMETER.fullmatch(name))
        ),
        list_tag_resources,
    ),
}
