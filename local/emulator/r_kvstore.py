"""R-kvstore (2015-01-01) in the emulator: ModifyInstanceMaintainTime, DescribeInstances and
ListTagResources, with their documented limits (its model sets no resource limit on the tag filter).

Written apart from the layer's declarations, so each checks the other.
"""

from __future__ import annotations

import re

from .state import (
    RESOURCE_ID_PARAMETER,
    TAG_PARAMETER,
    ApiError,
    EmulatorState,
    require_instance,
    selected,
    tag_filter,
    tag_index,
)

VERSION = "2015-01-01"
HH_MM_Z = re.compile(r"(?:[01]\d|2[0-3]):[0-5]\dZ")
MAX_TAGS = 5
PAGE_SIZES = ("30", "50", "100")
MAX_IDS = 30  # InstanceIds: at most 30, separated by commas


def modify_instance_maintain_time(state: EmulatorState, params: dict[str, str]) -> None:
    instance = require_instance(state, params, "R-kvstore")
    region = params.get("RegionId")
    if region is not None and region != instance.RegionId:
        raise ApiError(404, "NoSuchResource", "The specified resource is not found.")
    start, end = params.get("MaintainStartTime"), params.get("MaintainEndTime")
    if not start:
        raise ApiError(400, "MissingParameter", "MaintainStartTime should not be null.")
    if not end:
        raise ApiError(400, "MissingParameter", "MaintainEndTime should not be null.")
    if not HH_MM_Z.fullmatch(start):
        raise ApiError(400, "InvalidStartTime.Format", "Specified start time is not valid.")
    if not HH_MM_Z.fullmatch(end):
        raise ApiError(400, "InvalidEndTime.Format", "Specified end time is not valid.")
    minutes = lambda t: int(t[0:2]) * 60 + int(t[3:5])  # noqa: E731
    length = (minutes(end) - minutes(start) + 1440) % 1440
    if length != 60 and not (state.window_rule == "at-least-one-hour" and length > 60):
        raise ApiError(400, "InvalidEndTime.Format", "Specified end time is not valid.")
    instance.MaintainStartTime, instance.MaintainEndTime = start, end


def describe_instances(state: EmulatorState, params: dict[str, str]) -> dict:
    """Number paging: ``PageNumber`` from 1 and ``PageSize`` of 30, 50 or 100; ``TotalCount`` says when to stop."""
    region = params.get("RegionId")
    if not region:
        raise ApiError(400, "MissingParameter", "RegionId should not be null.")
    number, size = params.get("PageNumber", "1"), params.get("PageSize", "30")
    if not number.isdigit() or int(number) < 1:
        raise ApiError(400, "InvalidParameter", "The specified parameter PageNumber is not valid.")
    if size not in PAGE_SIZES:
        raise ApiError(400, "InvalidParameter", "The specified parameter PageSize is not valid.")
    ids = params.get("InstanceIds")
    wanted = None if ids is None else ids.split(",")
    if wanted is not None and (len(wanted) > MAX_IDS or not all(wanted)):
        raise ApiError(400, "InvalidParameter", "The specified parameter InstanceIds is not valid.")
    found = selected(state, "R-kvstore", region, tag_filter(params, MAX_TAGS), wanted)
    start = (int(number) - 1) * int(size)
    return {
        "TotalCount": len(found),
        "PageNumber": int(number),
        "PageSize": int(size),
        "Instances": {
            "KVStoreInstance": [
                {
                    "InstanceId": i.InstanceId,
                    "RegionId": i.RegionId,
                    "InstanceStatus": i.Status,
                    "ChargeType": i.InstanceChargeType,
                    "CreateTime": i.CreationTime,
                    "Tags": {"Tag": [{"Key": k, "Value": v} for k, v in sorted(i.Tags.items())]},
                }
                for i in found[start : start + int(size)]
            ]
        },
    }


def list_tag_resources(state: EmulatorState, params: dict[str, str]) -> dict:
    """``ResourceType=INSTANCE``, ``Tag.N`` (at most 5) or ``ResourceId.N``."""
    return tag_index(state, params, "R-kvstore", "INSTANCE", MAX_TAGS)


ACTIONS = {
    (VERSION, "ModifyInstanceMaintainTime"): (
        lambda name: name in {"InstanceId", "MaintainStartTime", "MaintainEndTime"},
        modify_instance_maintain_time,
    ),
    (VERSION, "DescribeInstances"): (
        lambda name: name in {"PageNumber", "PageSize", "InstanceIds"} or bool(TAG_PARAMETER.fullmatch(name)),
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
