"""Fleets named by tags: the Describe functions (every page, projected, within the size rule) and
``Select`` in both modify functions (values from tags, Since, Unchanged, DryRun), against the emulator."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest

from alibaba_cloud.errors import AlibabaCloudError
from alibaba_cloud.events.keys import ASYNC_LIMIT, ENVELOPE
from helpers import RELEASE, add_fleet, answer_of, emf, webhook_event
from local.runtime import LambdaContext, load_function

DEV = {"env": "dev"}


def created(hours_ago: float) -> str:
    return (datetime.now(UTC) - timedelta(hours=hours_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def minute(text: str) -> datetime:
    return datetime.strptime(text[:16], "%Y-%m-%dT%H:%M").replace(tzinfo=UTC)


def writes(emulator, action: str) -> int:
    return sum(r.Action == action for r in emulator.state.received)


def reads(emulator) -> int:
    return sum(r.Action in ("DescribeInstances", "ListTagResources") for r in emulator.state.received)


@pytest.fixture
def describe_ecs(function_env):
    return load_function("describe_ecs_instances")


@pytest.fixture
def describe_redis(function_env):
    return load_function("describe_redis_instances")


# Inventories


def test_ecs_inventory_reads_every_page(emulator, describe_ecs, context):
    ids = add_fleet(emulator, 250, CreationTime="2026-11-22T03:04:05Z")
    add_fleet(emulator, 3, prefix="i-untagged", Tags={"env": "prod"})
    result = describe_ecs.lambda_handler({"Tags": DEV}, context)
    assert result["Outcome"] == "Succeeded"
    # by tags, ECS reads the IDs through ListTagResources (50 a page), then describes them by InstanceIds:
    # its DescribeInstances tag filter may not match more than 1,000 resources
    assert result["Inventory"] == {"Read": 250, "TotalCount": None, "Pages": 5, "Reads": 10, "Complete": True}
    assert [r["InstanceId"] for r in result["Instances"]] == ids
    assert reads(emulator) == 10
    assert result["Instances"][0] == {
        "InstanceId": ids[0],
        "RegionId": "cn-hangzhou",
        "Status": "Running",
        "ChargeType": "PostPaid",
        "CreationTime": "2026-11-22T03:04:00Z",  # ECS reads it back to the minute; given to the second
        "AutoReleaseTime": None,
        "Tags": DEV,
        "DeletionProtection": False,
    }
    sent = [(r.Action, r.Parameters) for r in emulator.state.received]
    assert [action for action, _ in sent[:4]] == ["ListTagResources", "DescribeInstances"] * 2
    assert sent[0][1]["ResourceType"] == "instance"
    assert "NextToken" not in sent[0][1]
    assert sent[2][1]["NextToken"]
    assert len(json.loads(sent[1][1]["InstanceIds"])) == 50


def test_redis_inventory_pages_by_number_until_total_count(emulator, describe_redis, context):
    add_fleet(emulator, 120, product="R-kvstore", prefix="r-tagged", Tags={**DEV, "tz": "Asia/Shanghai"})
    result = describe_redis.lambda_handler({"Tags": {"env": "dev", "tz": None}}, context)
    assert result["Inventory"] == {"Read": 120, "TotalCount": 120, "Pages": 3, "Complete": True}
    assert [r.Parameters["PageNumber"] for r in emulator.state.received] == ["1", "2", "3"]
    assert {r.Parameters["PageSize"] for r in emulator.state.received} == {"50"}
    assert result["Instances"][0]["Tags"] == {"env": "dev", "tz": "Asia/Shanghai"}
    sent = emulator.state.received[0].Parameters
    assert (sent["Tag.1.Key"], sent["Tag.2.Key"], "Tag.2.Value" in sent) == ("env", "tz", False)  # null: any value


def test_inventory_stops_within_the_size_rule_and_resumes(emulator, describe_ecs, context):
    add_fleet(emulator, 1500, Tags={**DEV, "owner": "x" * 100})
    first = describe_ecs.lambda_handler({"Tags": DEV}, context)
    assert first["Outcome"] == "Failed"
    assert first["ErrorCode"] == "Inventory.Incomplete"
    assert first["Inventory"]["Reason"] == "SizeLimit"
    assert first["Inventory"]["Pages"] < 30  # of ListTagResources: 1,500 instances are 30 pages
    assert len(json.dumps(first)) + len(json.dumps({"Tags": DEV})) <= ASYNC_LIMIT - ENVELOPE
    seen = [r["InstanceId"] for r in first["Instances"]]
    resume = first["Resume"]
    while resume is not None:
        page = describe_ecs.lambda_handler(resume, context)
        seen += [r["InstanceId"] for r in page["Instances"]]
        resume = page.get("Resume")
    assert len(seen) == len(set(seen)) == 1500  # nothing read twice, nothing lost


def test_inventory_near_the_deadline_says_so(emulator, describe_ecs):
    add_fleet(emulator, 20)
    result = describe_ecs.lambda_handler({"Tags": DEV}, LambdaContext(remaining_ms=1500))
    assert result["ErrorCode"] == "Inventory.Incomplete"
    assert result["Inventory"]["Reason"] == "DeadlineNear"
    assert result["Resume"] == {"Tags": DEV}
    assert reads(emulator) == 0


def test_inventory_by_webhook(emulator, function_env, context):
    describe = load_function("describe_redis_instances")
    add_fleet(emulator, 2, product="R-kvstore", prefix="r-hooked")
    status, body = answer_of(describe.lambda_handler(webhook_event("describe_redis_instances", {"Tags": DEV}), context))
    assert status == 200
    assert [r["InstanceId"] for r in body["Instances"]] == ["r-hooked00000", "r-hooked00001"]


@pytest.mark.parametrize(
    ("event", "code"),
    [
        ({"Tags": {}}, "InvalidParameter"),
        ({"Tags": {"env": 1}}, "InvalidParameter"),
        ({"Tags": {f"k{n}": "v" for n in range(21)}}, "InvalidParameter"),
        ({"Tags": DEV, "Tag.1.Key": "env"}, "UnsupportedParameter"),  # tags only through Tags
        ({"Tags": DEV, "MaxResults": "500"}, "InvalidParameter"),
        ({"InstanceIds": ["i-1"]}, "InvalidParameter"),
        ({"Tags": DEV, "SkipOnPage": -1}, "InvalidParameter"),
        ({"Tags": DEV, "SkipOnPage": "3"}, "InvalidParameter"),
    ],
)
def test_inventory_refuses_malformed_selections(emulator, describe_ecs, context, event, code):
    with pytest.raises(AlibabaCloudError, match=f"^{re.escape(code)}: "):
        describe_ecs.lambda_handler(event, context)
    assert reads(emulator) == 0


# Select: TTL by tag


TTL_POLICY = {
    "Select": {"Tags": {"env": "dev", "ttl": None}},
    "AutoReleaseAfter": {"Tag": "ttl"},
    "Since": "CreationTime",
}


@pytest.fixture
def ttl_fleet(emulator):
    emulator.add_instance("i-ttl8h", "Ecs", Tags={**DEV, "ttl": "PT8H"}, CreationTime=created(2))
    emulator.add_instance("i-ttl1d", "Ecs", Tags={**DEV, "ttl": "P1D"}, CreationTime=created(5))
    emulator.add_instance(
        "i-ttlsub", "Ecs", InstanceChargeType="PrePaid", Tags={**DEV, "ttl": "PT8H"}, CreationTime=created(1)
    )
    emulator.add_instance("i-ttlbad", "Ecs", Tags={**DEV, "ttl": "eight hours"}, CreationTime=created(1))
    emulator.add_instance("i-ttlprod", "Ecs", Tags={"env": "prod", "ttl": "PT1H"}, CreationTime=created(9))
    emulator.add_instance("i-ttlnone", "Ecs", Tags=dict(DEV), CreationTime=created(9))
    return emulator


def test_ttl_by_tag_plan_apply_then_nothing_to_do(ttl_fleet, release, context):
    emulator = ttl_fleet
    plan = release.lambda_handler({**TTL_POLICY, "DryRun": True}, context)
    assert writes(emulator, "ModifyInstanceAutoReleaseTime") == 0
    assert plan["DryRun"] is True
    assert plan["Summary"] == {
        "Total": 3,
        "Succeeded": 0,
        "Failed": 1,
        "NotAttempted": 0,
        "Unchanged": 0,
        "WouldChange": 2,
        "Protected": 0,
        "Skipped": 0,
        "Drifted": 0,
    }
    assert plan["Selection"]["Skipped"] == {"SubscriptionInstance": 1}
    assert plan["Selection"]["Complete"] is True
    would = {
        t["InstanceId"]: t["Parameters"]["AutoReleaseTime"] for t in plan["Targets"] if t["Outcome"] == "WouldChange"
    }
    instances = emulator.state.instances
    assert minute(would["i-ttl8h"]) == minute(instances["i-ttl8h"].CreationTime) + timedelta(hours=8)
    assert minute(would["i-ttl1d"]) == minute(instances["i-ttl1d"].CreationTime) + timedelta(days=1)
    assert plan["NotSucceeded"] == [
        {
            "Outcome": "Failed",
            "ErrorCode": "InvalidAutoReleaseAfter.Malformed",
            "ErrorMessage": plan["NotSucceeded"][0]["ErrorMessage"],
            "InstanceIds": ["i-ttlbad"],
        }
    ]

    applied = release.lambda_handler(TTL_POLICY, context)
    assert applied["Summary"]["Succeeded"] == 2
    assert writes(emulator, "ModifyInstanceAutoReleaseTime") == 2
    assert {i: instances[i].AutoReleaseTime for i in would} == {
        i: minute(t).strftime("%Y-%m-%dT%H:%M:%SZ") for i, t in would.items()
    }
    assert instances["i-ttlsub"].AutoReleaseTime is None
    assert instances["i-ttlprod"].AutoReleaseTime is None
    assert applied["Rerun"]["Select"] == TTL_POLICY["Select"]
    assert applied["Rerun"]["Since"] == "CreationTime"

    again = release.lambda_handler(TTL_POLICY, context)
    assert again["Summary"]["Unchanged"] == 2
    assert again["Summary"]["Succeeded"] == 0
    assert writes(emulator, "ModifyInstanceAutoReleaseTime") == 2  # the stable fleet costs reads only


def test_an_instance_without_the_tag_fails_alone(ttl_fleet, release, context):
    result = release.lambda_handler(
        {"Select": {"Tags": DEV}, "AutoReleaseAfter": {"Tag": "ttl"}, "Since": "CreationTime"}, context
    )
    failed = {g["ErrorCode"]: g["InstanceIds"] for g in result["NotSucceeded"]}
    assert failed == {"InvalidAutoReleaseAfter.Malformed": ["i-ttlbad"], "Tag.Missing": ["i-ttlnone"]}
    assert result["Summary"]["Succeeded"] == 2
    assert result["Outcome"] == "Failed"


def test_an_overdue_instance_gets_the_earliest_time_once(emulator, release, context):
    emulator.add_instance("i-overdue", "Ecs", Tags={**DEV, "ttl": "PT1H"}, CreationTime=created(3))
    first = release.lambda_handler(TTL_POLICY, context)
    (line,) = first["Targets"]
    earliest = datetime.now(UTC) + timedelta(minutes=30)
    assert line["Outcome"] == "Succeeded"
    assert earliest < minute(line["Parameters"]["AutoReleaseTime"]) <= earliest + timedelta(minutes=3)
    second = release.lambda_handler(TTL_POLICY, context)  # a later run does not push the release back
    assert second["Targets"][0]["Outcome"] == "Unchanged"
    assert writes(emulator, "ModifyInstanceAutoReleaseTime") == 1


def test_a_changed_ttl_is_written_again(ttl_fleet, release, context):
    release.lambda_handler(TTL_POLICY, context)
    ttl_fleet.state.instances["i-ttl8h"].Tags["ttl"] = "PT10H"
    result = release.lambda_handler(TTL_POLICY, context)
    assert {t["InstanceId"]: t["Outcome"] for t in result["Targets"]} == {
        "i-ttl8h": "Succeeded",
        "i-ttl1d": "Unchanged",
        "i-ttlbad": "Failed",
    }


def test_cancel_by_tag_is_unchanged_where_nothing_is_set(ttl_fleet, release, context):
    ttl_fleet.state.instances["i-ttl1d"].AutoReleaseTime = "2027-01-01T00:00:00Z"
    result = release.lambda_handler({"Select": {"Tags": {"ttl": "P1D"}}}, context)  # no AutoReleaseTime: cancel
    assert [(t["InstanceId"], t["Outcome"]) for t in result["Targets"]] == [("i-ttl1d", "Succeeded")]
    assert ttl_fleet.state.instances["i-ttl1d"].AutoReleaseTime is None
    again = release.lambda_handler({"Select": {"Tags": {"ttl": "P1D"}}}, context)
    assert again["Targets"][0]["Outcome"] == "Unchanged"


def test_selection_names_its_region(emulator, release, context):
    emulator.add_instance("i-beijing", "Ecs", RegionId="cn-beijing", Tags=dict(DEV))
    emulator.add_instance("i-hangzhou", "Ecs", Tags=dict(DEV))
    result = release.lambda_handler({"Select": {"RegionId": "cn-beijing", "Tags": DEV}}, context)
    assert [t["InstanceId"] for t in result["Targets"]] == ["i-beijing"]
    assert result["Targets"][0]["Parameters"]["RegionId"] == "cn-beijing"
    assert {r.Parameters.get("RegionId") for r in emulator.state.received} == {"cn-beijing"}


def test_a_selection_reads_for_the_owner_it_writes_for(emulator, release, context):
    emulator.add_instance("i-owned", "Ecs", Tags=dict(DEV))
    owner = {"OwnerId": "1234567890", "ResourceOwnerAccount": "prod@example.com"}
    result = release.lambda_handler({"Select": {"Tags": DEV}, "AutoReleaseAfter": "P1D", **owner}, context)
    assert result["Summary"]["Succeeded"] == 1
    assert [(r.Action, owner.items() <= r.Parameters.items()) for r in emulator.state.received] == [
        ("ListTagResources", True),
        ("DescribeInstances", True),
        ("ModifyInstanceAutoReleaseTime", True),
    ]


# Select: Redis windows by tag


def test_redis_windows_from_each_instances_time_zone(emulator, maintain, context):
    emulator.add_instance("r-shanghai", "R-kvstore", Tags={**DEV, "tz": "Asia/Shanghai"})
    emulator.add_instance("r-london", "R-kvstore", Tags={**DEV, "tz": "Europe/London"})
    emulator.add_instance("r-nozone", "R-kvstore", Tags=dict(DEV))
    event = {
        "Select": {"Tags": DEV},
        "MaintainStartTime": "03:00",
        "MaintainEndTime": "04:00",
        "TimeZone": {"Tag": "tz"},
        "ScheduledTime": "2026-07-01T00:00:00Z",
    }
    result = maintain.lambda_handler(event, context)
    instances = emulator.state.instances
    assert (instances["r-shanghai"].MaintainStartTime, instances["r-london"].MaintainStartTime) == ("19:00Z", "02:00Z")
    assert result["NotSucceeded"][0]["ErrorCode"] == "Tag.Missing"
    assert result["NotSucceeded"][0]["InstanceIds"] == ["r-nozone"]
    # DescribeInstances does not tell the window: every selected instance is written, never compared
    assert maintain.lambda_handler(event, context)["Summary"]["Succeeded"] == 2


# Refusals and limits


@pytest.mark.parametrize(
    ("event", "code"),
    [
        ({"InstanceIds": ["i-1"], "AutoReleaseAfter": {"Tag": "ttl"}}, "InvalidParameter"),  # tag values need Select
        ({"InstanceIds": ["i-1"], "Since": "CreationTime"}, "InvalidParameter"),
        ({"Select": {"Tags": DEV}, "Since": "LaunchTime"}, "InvalidParameter"),
        ({"Select": {"Tags": DEV}, "DryRun": "yes"}, "InvalidParameter"),
        ({"Select": {"Tags": DEV}, "InstanceIds": ["i-1"]}, "InvalidParameter"),
        ({"Select": {"Tags": DEV}, "InstanceId": "i-1"}, "InvalidParameter"),
        ({"Select": {"Tags": {}}}, "InvalidParameter"),
        ({"Select": {"Region": "cn-beijing", "Tags": DEV}}, "InvalidParameter"),
        ({"Select": {"Tags": DEV}, "AutoReleaseAfter": {"Tag": 3}}, "InvalidParameter"),
        ({"Select": {"Tags": DEV}, "Detail": "Full"}, "InvalidParameter"),  # every line only for webhook callers
        ({"DryRun": True}, "UnsupportedParameter"),  # a plan of nothing
        ({"Select": {"Tags": DEV}, "AutoReleaseAftr": "PT8H"}, "UnsupportedParameter"),  # refused before any read
        ({"Select": {"RegionId": "cn-beijing", "Tags": DEV}, "RegionId": "cn-hangzhou"}, "InvalidParameter"),
    ],
)
def test_malformed_selections_are_refused_before_any_call(emulator, release, context, event, code):
    with pytest.raises(AlibabaCloudError, match=f"^{re.escape(code)}: "):
        release.lambda_handler(event, context)
    assert emulator.state.received == []


def test_a_selection_too_large_to_act_on_writes_nothing(emulator, release, context, monkeypatch):
    monkeypatch.setattr("alibaba_cloud.paths.fleet.selection.MAX_TARGETS", 5)
    add_fleet(emulator, 6)
    with pytest.raises(AlibabaCloudError, match=r"^Select\.TooManyTargets: "):
        release.lambda_handler({"Select": {"Tags": DEV}, "AutoReleaseAfter": "PT8H"}, context)
    assert writes(emulator, "ModifyInstanceAutoReleaseTime") == 0


def test_largest_selection_result_fits_with_its_request(emulator, release, context):
    """5,000 selected targets, all failing: every one named, the Rerun ready, all under 256 KB."""
    add_fleet(emulator, 5000, prefix="i-bp1env7nl3mijm", Tags={**DEV, "ttl": "never"})
    event = {**TTL_POLICY, "ScheduledTime": "2026-11-23T06:00:00Z"}
    result = release.lambda_handler(event, context)
    assert result["Summary"]["Failed"] == 5000
    assert len(result["NotSucceeded"][0]["InstanceIds"]) == 5000
    assert result["Rerun"]["Select"] == TTL_POLICY["Select"]
    assert "Truncated" not in result
    record = {"requestPayload": event, "responsePayload": result}
    assert len(json.dumps(record).encode()) <= ASYNC_LIMIT - ENVELOPE
    assert result["TargetsListed"] < 5000  # lines fill what is left, the rest are counted


def test_largest_listed_batch_result_fits_with_its_request(emulator, release, context):
    ids = [f"i-bp1env7nl3mij{n:07d}" for n in range(2500)]
    event = {"InstanceIds": ids, "AutoReleaseTime": "not a time"}
    assert len(json.dumps(event)) < 64 * 1024
    result = release.lambda_handler(event, context)
    assert result["Summary"]["Failed"] == 2500
    assert result["Rerun"]["InstanceIds"] == ids
    assert len(json.dumps({"requestPayload": event, "responsePayload": result}).encode()) <= ASYNC_LIMIT - ENVELOPE


def test_an_event_over_64_kb_is_refused(emulator, release, context):
    with pytest.raises(AlibabaCloudError, match="^PayloadTooLarge: "):
        release.lambda_handler({"InstanceIds": [f"i-{n:030d}" for n in range(3000)]}, context)


def test_webhook_callers_may_ask_for_every_line(emulator, function_env, context):
    release = load_function(RELEASE)
    add_fleet(emulator, 3000, Tags={**DEV, "ttl": "PT8H"}, CreationTime=created(1))
    body = {**TTL_POLICY, "DryRun": True, "Detail": "Full"}
    status, answer = answer_of(release.lambda_handler(webhook_event(RELEASE, body), context))
    assert status == 200
    assert len(answer["Targets"]) == 3000
    assert "TargetsListed" not in answer
    assert {t["Outcome"] for t in answer["Targets"]} == {"WouldChange"}
    status, summary = answer_of(release.lambda_handler(webhook_event(RELEASE, {**body, "Detail": "Summary"}), context))
    assert summary["TargetsListed"] < 3000
    assert summary["Summary"]["WouldChange"] == 3000
    assert writes(emulator, "ModifyInstanceAutoReleaseTime") == 0


def test_inventory_of_heavily_tagged_instances_fits_and_resumes(emulator, describe_ecs, context):
    """A page of 100 instances with 20 long tags each is larger than 256 KB: the answer stops inside the page."""
    heavy = {f"key-{n:02d}-" + "k" * 120: "v" * 128 for n in range(19)}
    ids = add_fleet(emulator, 150, Tags={**DEV, **heavy})
    event = {"Tags": {**DEV, **{k: None for k in list(heavy)[:10]}}}
    seen, pages = [], 0
    while event is not None and pages < 20:
        result = describe_ecs.lambda_handler(event, context)
        assert (
            len(json.dumps({"requestPayload": event, "responsePayload": result}, ensure_ascii=False).encode())
            <= ASYNC_LIMIT - ENVELOPE
        )
        seen += [r["InstanceId"] for r in result["Instances"]]
        event, pages = result.get("Resume"), pages + 1
    assert seen == ids  # in order, nothing read twice, nothing lost
    assert pages > 1
    assert result["Outcome"] == "Succeeded"


def test_a_refused_batch_is_counted_once(emulator, release, context, capsys):
    with pytest.raises(AlibabaCloudError, match="^InvalidParameter: "):
        release.lambda_handler({"Select": {"Tags": DEV}, "Detail": "Full"}, context)
    metrics = emf(capsys.readouterr().out)
    assert [m["Rejected"] for m in metrics if m.get("ErrorCode") == "InvalidParameter"] == [[1.0]]


def test_a_plan_for_one_instance_answers_as_every_plan_does(emulator, release, context):
    from helpers import ECS_ID

    result = release.lambda_handler({"InstanceId": ECS_ID, "AutoReleaseAfter": "PT8H", "DryRun": True}, context)
    assert result["DryRun"] is True
    assert result["Summary"]["WouldChange"] == 1
    assert result["Targets"][0]["InstanceId"] == ECS_ID
    assert emulator.state.writes == []  # read, not written


def test_dry_run_false_for_one_instance_is_the_one_call(emulator, release, context):
    from helpers import ECS_ID

    result = release.lambda_handler({"InstanceId": ECS_ID, "AutoReleaseAfter": "PT8H", "DryRun": False}, context)
    assert result["Outcome"] == "Succeeded"
    assert result["Parameters"]["InstanceId"] == ECS_ID  # a single call's result, written
    assert [r.Action for r in emulator.state.received] == ["DescribeInstances", "ModifyInstanceAutoReleaseTime"]


def test_a_plan_is_never_refused_for_its_size(emulator, release, context, monkeypatch):
    monkeypatch.setattr("alibaba_cloud.paths.fleet.selection.MAX_TARGETS", 5)
    add_fleet(emulator, 6)
    result = release.lambda_handler({"Select": {"Tags": DEV}, "AutoReleaseAfter": "PT8H", "DryRun": True}, context)
    assert result["Summary"]["WouldChange"] == 6
    assert writes(emulator, "ModifyInstanceAutoReleaseTime") == 0


def test_a_region_beside_a_select_is_the_selections(emulator, release, context):
    add_fleet(emulator, 2)
    result = release.lambda_handler(
        {"Select": {"Tags": DEV}, "RegionId": "cn-hangzhou", "AutoReleaseAfter": "PT8H", "DryRun": True}, context
    )
    assert result["Selection"]["RegionId"] == "cn-hangzhou"
    assert result["Summary"]["WouldChange"] == 2


def test_a_selection_stops_reading_once_it_is_known_to_be_too_large(emulator, release, context, monkeypatch):
    """250 instances to change, over five pages of IDs, and room for five: the first page tells, so the
    read stops there (that page's IDs listed and described), nothing kept of the rest and nothing written."""
    monkeypatch.setattr("alibaba_cloud.paths.fleet.selection.MAX_TARGETS", 5)
    add_fleet(emulator, 250)
    with pytest.raises(AlibabaCloudError, match=r"^Select\.TooManyTargets: More than 5 "):
        release.lambda_handler({"Select": {"Tags": DEV}, "AutoReleaseAfter": "PT8H"}, context)
    assert reads(emulator) == 2
    assert writes(emulator, "ModifyInstanceAutoReleaseTime") == 0
