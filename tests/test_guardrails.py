"""Guardrails for a tool that releases instances: Alibaba's documented tag limits held (ECS reads a
tag selection through ListTagResources), protected instances never given a release time, and a cap
on how much one run may change. Every test runs the real functions against the emulator."""

from __future__ import annotations

import functools
import json
from datetime import UTC, datetime, timedelta

import pytest

import helpers
from alibaba_cloud.errors import AlibabaCloudError
from helpers import ECS_ID, MAINTAIN, REDIS_ID, RELEASE, WINDOW, answer_of, in_future, webhook_event
from local.emulator import ecs as emulated_ecs
from local.emulator import r_kvstore as emulated_kv
from local.emulator.state import ApiError
from local.runtime import environment, load_function

DEV = {"env": "dev"}
PROTECT = "lifecycle-protect"


add_fleet = functools.partial(helpers.add_fleet, prefix="i-guard")


def writes(emulator) -> list[str]:
    return [r.Parameters["InstanceId"] for r in emulator.state.writes]


def actions(emulator) -> list[str]:
    return [r.Action for r in emulator.state.received]


@pytest.fixture
def describe_ecs(function_env):
    return load_function("describe_ecs_instances")


# 1. Alibaba's documented limits, in the emulator


def test_the_emulator_holds_describe_instances_tag_filter_to_1000_resources(emulator):
    add_fleet(emulator, 1200)
    seen, token = 0, None
    for _ in range(20):
        params = {"RegionId": "cn-hangzhou", "Tag.1.Key": "env", "Tag.1.Value": "dev", "MaxResults": "100"}
        answer = emulated_ecs.describe_instances(emulator.state, {**params, **({"NextToken": token} if token else {})})
        seen += len(answer["Instances"]["Instance"])
        token = answer["NextToken"]
        if not token:
            break
    assert seen == 1000  # the first 1,000, as if they were all: the worst the documentation leaves open


@pytest.mark.parametrize(
    ("run", "params"),
    [
        (emulated_ecs.describe_instances, {"InstanceIds": json.dumps([f"i-{n}" for n in range(101)])}),
        (emulated_ecs.describe_instances, {f"Tag.{n}.Key": f"k{n}" for n in range(1, 22)}),
        (emulated_kv.describe_instances, {"InstanceIds": ",".join(f"r-{n}" for n in range(31))}),
        (emulated_kv.describe_instances, {f"Tag.{n}.Key": f"k{n}" for n in range(1, 7)}),
        (emulated_ecs.describe_instances, {"Tag.1.Key": "k" * 129}),
        (emulated_kv.describe_instances, {"Tag.1.Key": "env", "Tag.1.Value": "v" * 129}),
        (emulated_ecs.list_tag_resources, {"ResourceType": "instance"}),  # neither Tag.N nor ResourceId.N
        (emulated_ecs.list_tag_resources, {"ResourceType": "disk", "Tag.1.Key": "env"}),
    ],
)
def test_the_emulator_refuses_what_the_models_do_not_allow(emulator, run, params):
    with pytest.raises(ApiError):
        run(emulator.state, {"RegionId": "cn-hangzhou", **params})


def test_the_emulator_lists_tag_resources_50_rows_a_page(emulator):
    add_fleet(emulator, 120)
    rows, token, pages = [], None, 0
    while pages < 10:
        params = {"RegionId": "cn-hangzhou", "ResourceType": "instance", "Tag.1.Key": "env"}
        answer = emulated_ecs.list_tag_resources(emulator.state, {**params, **({"NextToken": token} if token else {})})
        rows += answer["TagResources"]["TagResource"]
        pages += 1
        token = answer["NextToken"]
        if not token:
            break
    assert (pages, len(rows)) == (3, 120)
    assert rows[0] == {"ResourceId": "i-guard00000", "ResourceType": "instance", "TagKey": "env", "TagValue": "dev"}


# 1. Selections that hold at those limits


def test_a_selection_of_3000_instances_reads_every_one_through_list_tag_resources(emulator, release, context):
    """DescribeInstances' tag filter would give 1,000 of them; ListTagResources then InstanceIds give all."""
    ids = add_fleet(emulator, 3000)
    result = release.lambda_handler({"Select": {"Tags": DEV}, "AutoReleaseAfter": "P1D", "DryRun": True}, context)
    assert result["Summary"]["WouldChange"] == 3000
    assert result["Selection"]["Read"] == 3000
    assert result["Selection"]["Complete"] is True
    described = [r for r in emulator.state.received if r.Action == "DescribeInstances"]
    listed = [r for r in emulator.state.received if r.Action == "ListTagResources"]
    assert (len(listed), len(described)) == (60, 60)  # 50 IDs a page, each page described in one call
    assert all("Tag.1.Key" not in r.Parameters for r in described)  # no tag filter past its limit
    assert sorted(i for r in described for i in json.loads(r.Parameters["InstanceIds"])) == ids


def test_an_ecs_inventory_by_tags_lists_every_instance_beyond_1000(emulator, describe_ecs, context):
    ids = add_fleet(emulator, 1100)
    seen, event = [], {"Tags": DEV}
    for _ in range(10):  # the answer's size rule may cut it: its Resume reads on
        result = describe_ecs.lambda_handler(event, context)
        seen += [r["InstanceId"] for r in result["Instances"]]
        if "Resume" not in result:
            break
        event = result["Resume"]
    assert seen == ids


def test_a_select_with_more_tags_than_the_api_takes_filters_the_rest_itself(emulator, function_env, context):
    """R-kvstore filters on at most 5 tag pairs: the sixth is matched on the instances read."""
    tags = {f"t{n}": "x" for n in range(6)}
    emulator.add_instance("r-guardall", "R-kvstore", Tags=dict(tags))
    emulator.add_instance("r-guardfive", "R-kvstore", Tags={k: v for k, v in tags.items() if k != "t5"})
    maintain = load_function(MAINTAIN)
    result = maintain.lambda_handler({"Select": {"Tags": tags}, **WINDOW, "Detail": "Summary"}, context)
    assert writes(emulator) == ["r-guardall"]
    assert result["Selection"]["Skipped"] == {"TagsDoNotMatch": 1}
    read = next(r for r in emulator.state.received if r.Action == "DescribeInstances")
    assert sum(name.endswith(".Key") for name in read.Parameters) == 5


@pytest.mark.parametrize(
    ("tags", "code"),
    [
        ({f"k{n}": "v" for n in range(21)}, "Select.TooManyTags"),
        ({"k" * 129: "v"}, "Select.InvalidTag"),
        ({"env": "v" * 129}, "Select.InvalidTag"),
        ({"": "v"}, "Select.InvalidTag"),
    ],
)
def test_a_select_beyond_the_products_limits_is_refused_before_any_call(emulator, release, context, tags, code):
    with pytest.raises(AlibabaCloudError, match=f"^{code}: "):
        release.lambda_handler({"Select": {"Tags": tags}, "AutoReleaseAfter": "P1D"}, context)
    assert emulator.state.received == []


# 2. Protected instances are never given a release time


def test_a_selection_never_gives_a_protected_instance_a_release_time(emulator, release, context):
    emulator.add_instance("i-guardplain", "Ecs", Tags=dict(DEV))
    emulator.add_instance("i-guardlocked", "Ecs", Tags=dict(DEV), DeletionProtection=True)
    emulator.add_instance("i-guardtagged", "Ecs", Tags={**DEV, PROTECT: ""})
    result = release.lambda_handler({"Select": {"Tags": DEV}, "AutoReleaseAfter": "P1D", "Detail": "Summary"}, context)
    assert writes(emulator) == ["i-guardplain"]
    assert (result["Summary"]["Succeeded"], result["Summary"]["Protected"]) == (1, 2)
    reasons = {t["InstanceId"]: t.get("Reason") for t in result["Targets"] if t["Outcome"] == "Protected"}
    assert reasons == {"i-guardlocked": "DeletionProtection", "i-guardtagged": "ProtectTag"}
    assert result["Outcome"] == "Succeeded"  # nothing failed: protection is the plan, not an error


def test_cancelling_a_release_time_is_allowed_under_release_protection_not_under_the_tag(emulator, release, context):
    emulator.add_instance(
        "i-guardlocked", "Ecs", Tags=dict(DEV), DeletionProtection=True, AutoReleaseTime=in_future(hours=5)
    )
    emulator.add_instance("i-guardtagged", "Ecs", Tags={**DEV, PROTECT: "yes"}, AutoReleaseTime=in_future(hours=5))
    result = release.lambda_handler({"Select": {"Tags": DEV}}, context)  # no AutoReleaseTime: cancel
    assert writes(emulator) == ["i-guardlocked"]
    assert emulator.state.instances["i-guardlocked"].AutoReleaseTime is None
    assert result["Summary"]["Protected"] == 1


def test_the_protection_tag_guards_redis_instances_too(emulator, maintain, context):
    emulator.state.instances[REDIS_ID].Tags[PROTECT] = "prod"
    with pytest.raises(AlibabaCloudError, match=r"^Instance\.Protected: .*lifecycle-protect"):
        maintain.lambda_handler({"InstanceId": REDIS_ID, **WINDOW}, context)
    result = maintain.lambda_handler({"InstanceIds": [REDIS_ID], **WINDOW}, context)
    assert result["Targets"][0]["Outcome"] == "Protected"
    assert emulator.state.writes == []


def test_the_protection_tag_key_is_configured(emulator, function_env, context):
    emulator.state.instances[REDIS_ID].Tags["do-not-touch"] = ""
    with environment({"PROTECT_TAG_KEY": "do-not-touch"}):
        maintain = load_function(MAINTAIN)
    with pytest.raises(AlibabaCloudError, match=r"^Instance\.Protected: "):
        maintain.lambda_handler({"InstanceId": REDIS_ID, **WINDOW}, context)


def test_a_batch_by_ids_reads_its_instances_first(emulator, release, context):
    """Protected, Unchanged and subscription instances in a list: decided before any write, none failing."""
    later = in_future(hours=6)[:17] + "00Z"
    emulator.add_instance("i-guardlocked", "Ecs", DeletionProtection=True)
    emulator.add_instance("i-guarddone", "Ecs", AutoReleaseTime=later)
    emulator.add_instance("i-guardprepaid", "Ecs", InstanceChargeType="PrePaid")
    listed = [ECS_ID, "i-guardlocked", "i-guarddone", "i-guardprepaid"]
    result = release.lambda_handler({"InstanceIds": listed, "AutoReleaseTime": later}, context)
    assert [t["Outcome"] for t in result["Targets"]] == ["Succeeded", "Protected", "Unchanged", "Skipped"]
    assert result["Targets"][3]["Reason"] == "SubscriptionInstance"
    assert writes(emulator) == [ECS_ID]
    assert actions(emulator) == ["DescribeInstances", "ModifyInstanceAutoReleaseTime"]  # one read for the list


def test_one_protected_instance_is_refused_unless_the_event_overrides_release_protection(emulator, release, context):
    emulator.state.instances[ECS_ID].DeletionProtection = True
    when = in_future(hours=5)
    with pytest.raises(AlibabaCloudError, match=r"^Instance\.Protected: .*OverrideProtection") as raised:
        release.lambda_handler({"InstanceId": ECS_ID, "AutoReleaseTime": when}, context)
    assert raised.value.http_status == 403
    assert emulator.state.writes == []
    result = release.lambda_handler(
        {"InstanceId": ECS_ID, "AutoReleaseTime": when, "OverrideProtection": True}, context
    )
    assert result["Outcome"] == "Succeeded"
    assert writes(emulator) == [ECS_ID]


def test_the_override_never_lifts_the_protection_tag(emulator, release, context):
    emulator.state.instances[ECS_ID].Tags[PROTECT] = ""
    with pytest.raises(AlibabaCloudError, match=r"^Instance\.Protected: .*Remove the tag"):
        release.lambda_handler(
            {"InstanceId": ECS_ID, "AutoReleaseTime": in_future(hours=5), "OverrideProtection": True}, context
        )
    assert emulator.state.writes == []


@pytest.mark.parametrize(
    ("event", "code"),
    [
        (
            {"Select": {"Tags": DEV}, "AutoReleaseAfter": "P1D", "OverrideProtection": True},
            "OverrideProtection.NotForFleets",
        ),
        ({"InstanceIds": [ECS_ID], "OverrideProtection": True}, "OverrideProtection.NotForFleets"),
        ({"InstanceId": ECS_ID, "OverrideProtection": "yes"}, "InvalidParameter"),
    ],
)
def test_the_override_is_for_one_named_instance_only(emulator, release, context, event, code):
    with pytest.raises(AlibabaCloudError, match=f"^{code}: "):
        release.lambda_handler(event, context)
    assert emulator.state.received == []


# 3. A cap on how much one run may change


@pytest.fixture
def capped_at_3(function_env):
    """The auto-release function deployed with MAX_CHANGES=3."""
    with environment({"MAX_CHANGES": "3"}):
        return load_function(RELEASE)


def test_a_plan_over_the_cap_writes_nothing_and_shows_the_plan(emulator, capped_at_3, context):
    add_fleet(emulator, 5)
    release = capped_at_3
    with pytest.raises(AlibabaCloudError, match=r"^Fleet\.TooManyChanges: The plan would change 5 .* at most 3"):
        release.lambda_handler({"Select": {"Tags": DEV}, "AutoReleaseAfter": "P1D"}, context)
    assert emulator.state.writes == []
    status, body = answer_of(
        release.lambda_handler(webhook_event(RELEASE, {"Select": {"Tags": DEV}, "AutoReleaseAfter": "P1D"}), context)
    )
    assert (status, body["Code"], body["MaxChanges"]) == (409, "Fleet.TooManyChanges", 3)
    assert body["Summary"]["WouldChange"] == 5  # what would have happened, as a DryRun says it
    assert "Rerun" not in body
    assert emulator.state.writes == []


@pytest.mark.parametrize(("max_changes", "cap"), [("50%", 2), (2, 2), (4, 3), (1000, 3)])
def test_an_event_lowers_the_cap_never_raises_it(emulator, capped_at_3, context, max_changes, cap):
    add_fleet(emulator, 4)
    release = capped_at_3
    event = {"Select": {"Tags": DEV}, "AutoReleaseAfter": "P1D", "RateControl": {"MaxChanges": max_changes}}
    with pytest.raises(AlibabaCloudError, match=rf"^Fleet\.TooManyChanges: .* at most {cap} "):
        release.lambda_handler(event, context)
    assert emulator.state.writes == []


def test_a_run_within_the_cap_writes_and_a_dry_run_is_never_capped(emulator, capped_at_3, context):
    add_fleet(emulator, 4)
    release = capped_at_3
    plan = release.lambda_handler({"Select": {"Tags": DEV}, "AutoReleaseAfter": "P1D", "DryRun": True}, context)
    assert plan["Summary"]["WouldChange"] == 4
    done = release.lambda_handler(
        {
            "InstanceIds": ["i-guard00000", "i-guard00001"],
            "AutoReleaseAfter": "P1D",
            "RateControl": {"MaxChanges": "100%"},
        },
        context,
    )
    assert done["Summary"]["Succeeded"] == 2


def test_unchanged_and_protected_instances_do_not_count_against_the_cap(emulator, function_env, context):
    later = in_future(hours=6)[:17] + "00Z"
    add_fleet(emulator, 3, AutoReleaseTime=later)
    add_fleet(emulator, 3, prefix="i-guardlocked", DeletionProtection=True)
    emulator.add_instance("i-guardnew", "Ecs", Tags=dict(DEV))
    with environment({"MAX_CHANGES": "1"}):
        release = load_function(RELEASE)
    result = release.lambda_handler({"Select": {"Tags": DEV}, "AutoReleaseTime": later}, context)
    assert {"Succeeded": 1, "Unchanged": 3, "Protected": 3}.items() <= result["Summary"].items()
    assert writes(emulator) == ["i-guardnew"]


@pytest.mark.parametrize("value", ["0", "5001", "ten"])
def test_a_cap_outside_its_range_is_a_configuration_error(function_env, value):
    from alibaba_cloud.config import ConfigurationError, Settings

    with pytest.raises(ConfigurationError, match="MAX_CHANGES"):
        Settings.from_env({"MAX_CHANGES": value})


# 4. Notice before a release


def test_releasing_within_answers_only_what_is_released_in_that_window(emulator, describe_ecs, context):
    soon = (datetime.now(UTC) + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M:00Z")
    later = (datetime.now(UTC) + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:00Z")
    emulator.add_instance("i-guardsoon", "Ecs", AutoReleaseTime=soon, Tags=dict(DEV))
    emulator.add_instance("i-guardlater", "Ecs", AutoReleaseTime=later, Tags=dict(DEV))
    emulator.add_instance("i-guardnever", "Ecs", Tags=dict(DEV))
    result = describe_ecs.lambda_handler({"RegionId": "cn-hangzhou", "ReleasingWithin": "PT24H"}, context)
    assert [r["InstanceId"] for r in result["Instances"]] == ["i-guardsoon"]
    assert "ReleasingWithin" not in emulator.state.received[0].Parameters  # applied here, never sent
    tagged = describe_ecs.lambda_handler({"Tags": DEV, "ReleasingWithin": "P7D"}, context)
    assert [r["InstanceId"] for r in tagged["Instances"]] == ["i-guardlater", "i-guardsoon"]


@pytest.mark.parametrize("value", ["24h", "P1M", 24])
def test_releasing_within_must_be_a_duration(emulator, describe_ecs, context, value):
    with pytest.raises(AlibabaCloudError, match=r"^InvalidReleasingWithin\.Malformed: "):
        describe_ecs.lambda_handler({"RegionId": "cn-hangzhou", "ReleasingWithin": value}, context)
    assert emulator.state.received == []
