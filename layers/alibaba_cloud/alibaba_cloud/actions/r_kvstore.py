"""ApsaraDB for Redis, R-kvstore (API 2015-01-01): maintenance windows, and the inventory that selects instances."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..rpc.endpoints import R_KVSTORE
from . import validation as v
from .declaring import (
    OWNER_PARAMETERS,
    Action,
    ByIds,
    Convenience,
    Fleet,
    Listing,
    Parameter,
    Record,
    item_tags,
    tag_parameters,
    tags_convenience,
)

MAX_TAGS = 5  # the model: up to 5 tag pairs a request
# The API document lists 30, 50 or 100; the official model says at most 50. 50 is valid under both.
PAGE_SIZE = 50
# The model: InstanceIds, up to 30 separated by commas. Its tag filter sets no limit on how many
# resources it matches (ECS's does), so a selection reads DescribeInstances by tags directly.
MAX_IDS = 30


def instance_record(item: Mapping[str, Any], region: str) -> Record:
    return {
        "InstanceId": item.get("InstanceId"),
        "RegionId": item.get("RegionId") or region,
        "Status": item.get("InstanceStatus"),
        "ChargeType": item.get("ChargeType"),
        "CreationTime": item.get("CreateTime"),
        "Tags": item_tags(item, "Key", "Value"),
    }


DESCRIBE_INSTANCES = Action(
    product=R_KVSTORE,
    name="DescribeInstances",
    parameters=(
        Parameter("RegionId", check=v.region_id),
        Parameter("PageNumber", check=v.whole_number(range(1, 1_000_000))),
        Parameter("PageSize", check=v.whole_number((30, 50, 100))),
        Parameter("InstanceIds", check=v.instance_ids(MAX_IDS, ","), max_length=MAX_IDS * 65),
        *tag_parameters(MAX_TAGS),
        *OWNER_PARAMETERS,
    ),
    conveniences=(tags_convenience(MAX_TAGS),),
    listing=Listing(
        ("Instances", "KVStoreInstance"),
        "number",
        "PageSize",
        PAGE_SIZE,
        instance_record,
        max_tags=MAX_TAGS,
        by_ids=ByIds("InstanceIds", MAX_IDS, ",".join),
    ),
)

MODIFY_INSTANCE_MAINTAIN_TIME = Action(
    product=R_KVSTORE,
    name="ModifyInstanceMaintainTime",
    parameters=(
        Parameter("InstanceId", required=True, check=v.instance_id),
        Parameter("RegionId", check=v.region_id),  # sent by the official core SDK; picks the host
        Parameter(
            "MaintainStartTime",
            required=True,
            check=v.hh_mm_z("InvalidStartTime.Format", "Specified start time is not valid."),
        ),
        Parameter(
            "MaintainEndTime",
            required=True,
            check=v.hh_mm_z("InvalidEndTime.Format", "Specified end time is not valid."),
        ),
        *OWNER_PARAMETERS,
    ),
    rules=(v.one_hour_window,),
    conveniences=(Convenience(("TimeZone",), v.local_window),),
    # DescribeInstances does not tell the window, and reading it (DescribeInstanceAttribute) costs one
    # call per instance, as much as the write, which sets the same value again harmlessly: always write.
    # (its window is not read, so a change's Before is unknown and it has no undo)
    fleet=Fleet(DESCRIBE_INSTANCES, watched=("ChargeType", "Tags"), changed=("MaintainStartTime", "MaintainEndTime")),
)
