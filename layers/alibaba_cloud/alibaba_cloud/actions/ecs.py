"""ECS (API 2014-05-26): automatic release of pay-as-you-go instances, and the inventory that selects them."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ..rpc.endpoints import ECS
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
    TagIndex,
    item_tags,
    tag_parameters,
    tags_convenience,
    to_the_second,
)

MAX_TAGS = 20  # Tag.N, N from 1 to 20
PAGE_SIZE = 100  # MaxResults: at most 100
MAX_IDS = 100  # InstanceIds: a JSON array of at most 100


def instance_record(item: Mapping[str, Any], region: str) -> Record:
    return {
        "InstanceId": item.get("InstanceId"),
        "RegionId": item.get("RegionId") or region,
        "Status": item.get("Status"),
        "ChargeType": item.get("InstanceChargeType"),
        "CreationTime": to_the_second(item.get("CreationTime")),
        "AutoReleaseTime": item.get("AutoReleaseTime") or None,
        "Tags": item_tags(item, "TagKey", "TagValue"),
        "DeletionProtection": item.get("DeletionProtection") is True,
    }


def resource_record(item: Mapping[str, Any], region: str) -> Record:
    return {"InstanceId": item.get("ResourceId")}


def release_protected(params: Mapping[str, str], record: Record) -> bool:
    """Release protection guards against a manual release only: an automatic release time would still
    release the instance. Setting or moving one is refused; cancelling one makes the instance safer."""
    return bool(record.get("DeletionProtection")) and bool(params.get("AutoReleaseTime"))


def not_pay_as_you_go(record: Record) -> str | None:
    # PostPaid covers pay-as-you-go and spot; a subscription (PrePaid) instance has no release time
    return None if record.get("ChargeType") == "PostPaid" else "SubscriptionInstance"


def release_time_unchanged(params: Mapping[str, str], record: Record, now: datetime) -> bool:
    """Whether the described ``AutoReleaseTime`` (read back without seconds) is the one to set.

    An overdue instance is set to the earliest time the API allows; one already due by then is left.
    """
    want, have = v.release_moment(params.get("AutoReleaseTime")), v.release_moment(record.get("AutoReleaseTime"))
    if want == have:
        return True
    return want is not None and have is not None and have <= want <= v.earliest_release(now)


# DescribeInstances' tag filter may match at most 1,000 resources (the official model): beyond, the
# IDs with the tags are listed here, 50 rows a page, and described by InstanceIds
LIST_TAG_RESOURCES = Action(
    product=ECS,
    name="ListTagResources",
    parameters=(
        Parameter("RegionId", check=v.region_id),
        Parameter("ResourceType", required=True, check=v.one_of("instance")),
        Parameter("NextToken", check=v.page_token),
        *tag_parameters(MAX_TAGS),
        *OWNER_PARAMETERS,
    ),
    conveniences=(tags_convenience(MAX_TAGS),),
    listing=Listing(("TagResources", "TagResource"), "token", None, 50, resource_record),
)


def put_back(before: Mapping[str, Any]) -> dict[str, Any] | None:
    """A release time as it was before a change (to the second, as the API takes it), or none."""
    if "AutoReleaseTime" not in before:
        return None
    was = before["AutoReleaseTime"]
    return {"AutoReleaseTime": to_the_second(was)} if was else {}


DESCRIBE_INSTANCES = Action(
    product=ECS,
    name="DescribeInstances",
    parameters=(
        Parameter("RegionId", check=v.region_id),
        Parameter("NextToken", check=v.page_token),
        Parameter("MaxResults", check=v.whole_number(range(1, PAGE_SIZE + 1))),
        Parameter("InstanceIds", check=v.instance_ids(MAX_IDS, None), max_length=MAX_IDS * 70),
        *tag_parameters(MAX_TAGS),
        *OWNER_PARAMETERS,
    ),
    conveniences=(tags_convenience(MAX_TAGS),),
    listing=Listing(
        ("Instances", "Instance"),
        "token",
        "MaxResults",
        PAGE_SIZE,
        instance_record,
        max_tags=MAX_TAGS,
        by_ids=ByIds("InstanceIds", MAX_IDS, lambda ids: json.dumps(list(ids), separators=(",", ":"))),
        tag_index=TagIndex(LIST_TAG_RESOURCES, {"ResourceType": "instance"}),
        filters={"ReleasingWithin": v.releasing_within},
    ),
)

MODIFY_INSTANCE_AUTO_RELEASE_TIME = Action(
    product=ECS,
    name="ModifyInstanceAutoReleaseTime",
    parameters=(
        Parameter("InstanceId", required=True, check=v.instance_id),
        Parameter("RegionId", check=v.region_id),
        Parameter("AutoReleaseTime", check=v.auto_release_time),
        *OWNER_PARAMETERS,
    ),
    conveniences=(Convenience(("AutoReleaseAfter",), v.release_after),),
    fleet=Fleet(
        DESCRIBE_INSTANCES,
        skip=not_pay_as_you_go,
        unchanged=release_time_unchanged,
        protected=release_protected,
        watched=("AutoReleaseTime", "DeletionProtection", "ChargeType", "Tags"),
        changed=("AutoReleaseTime",),
        undo=put_back,
        safer=lambda params: not params.get("AutoReleaseTime"),  # a cancel: nothing is released
    ),
)
