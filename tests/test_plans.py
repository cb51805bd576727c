"""Plans a person approves, changes they can undo: a DryRun's PlanId, its exact apply (Drifted where an
instance changed since), a record of every change, Undo, History and a run's status, against moto's
DynamoDB (RUNS_TABLE) and the emulator."""

from __future__ import annotations

import functools
import time
from datetime import UTC, datetime

import pytest

from alibaba_cloud.errors import AlibabaCloudError
from helpers import ECS_ID, MAINTAIN, REDIS_ID, RELEASE, WINDOW, add_fleet, answer_of, in_future, webhook_event
from local.runtime import environment, load_function

DEV = {"env": "dev"}


@pytest.fixture
def runs(function_env, aws):
    with environment(aws.environment()):
        yield aws


fleet = functools.partial(add_fleet, prefix="i-plan")


def release_times(emulator, ids) -> list[str | None]:
    return [emulator.state.instances[i].AutoReleaseTime for i in ids]


def test_a_dry_run_answers_a_plan_id_and_its_apply_writes_exactly_that_plan(emulator, runs, context):
    ids = fleet(emulator, 3)
    release = load_function(RELEASE)
    plan = release.lambda_handler({"Select": {"Tags": DEV}, "AutoReleaseAfter": "P1D", "DryRun": True}, context)
    assert len(plan["PlanId"]) == 32
    planned = {t["InstanceId"]: t["Parameters"]["AutoReleaseTime"] for t in plan["Targets"]}
    assert emulator.state.writes == []
    emulator.add_instance("i-plan-late", "Ecs", Tags=dict(DEV))  # tagged after the plan: not in it
    applied = load_function(RELEASE).lambda_handler({"Apply": plan["PlanId"]}, context)  # another container
    assert applied["Summary"]["Succeeded"] == 3
    assert applied["PlanId"] == plan["PlanId"]
    assert {i: emulator.state.instances[i].AutoReleaseTime for i in ids} == planned  # the plan's values, not new ones
    assert emulator.state.instances["i-plan-late"].AutoReleaseTime is None
    again = release.lambda_handler({"Apply": plan["PlanId"]}, context)
    assert again["Replayed"] is True
    assert again["Summary"] == applied["Summary"]  # the first result, nothing written again
    assert len(emulator.state.writes) == 3


def test_an_instance_changed_since_the_plan_is_drifted_not_written(emulator, runs, context):
    ids = fleet(emulator, 4)
    release = load_function(RELEASE)
    plan = release.lambda_handler({"InstanceIds": ids, "AutoReleaseAfter": "P1D", "DryRun": True}, context)
    emulator.state.instances[ids[0]].Tags["owner"] = "someone"  # tagged between plan and apply
    emulator.state.instances[ids[1]].AutoReleaseTime = in_future(hours=9)[:17] + "00Z"  # set by someone else
    emulator.state.instances[ids[3]].DeletionProtection = True  # the guardrails hold at the apply too
    applied = release.lambda_handler({"Apply": plan["PlanId"]}, context)
    outcomes = {t["InstanceId"]: t["Outcome"] for t in applied["Targets"]}
    assert outcomes == {ids[0]: "Drifted", ids[1]: "Drifted", ids[2]: "Succeeded", ids[3]: "Protected"}
    changed = next(t["Changed"] for t in applied["Targets"] if t["InstanceId"] == ids[0])
    assert changed == {"Tags": {"Planned": DEV, "Now": {**DEV, "owner": "someone"}}}
    assert [r.Parameters["InstanceId"] for r in emulator.state.writes] == [ids[2]]


@pytest.mark.parametrize(
    ("event", "code"),
    [
        ({"Apply": "0" * 32}, "Plan.NotFound"),
        ({"Apply": "not-a-plan"}, "InvalidParameter"),
        ({"Apply": "0" * 32, "DryRun": True}, "UnsupportedParameter"),
        ({"Undo": "no-such-run"}, "Run.NotFound"),
        ({"Run": "no-such-run"}, "Run.NotFound"),
    ],
)
def test_unknown_plans_and_runs_are_refused_with_a_code(emulator, runs, context, event, code):
    with pytest.raises(AlibabaCloudError, match=f"^{code}: "):
        load_function(RELEASE).lambda_handler(event, context)
    assert emulator.state.received == []


def test_an_apply_refused_by_the_cap_leaves_the_plan_to_apply(emulator, runs, context):
    ids = fleet(emulator, 3)
    release = load_function(RELEASE)
    plan = release.lambda_handler({"InstanceIds": ids, "AutoReleaseAfter": "P1D", "DryRun": True}, context)
    with environment({"MAX_CHANGES": "2"}):
        capped = load_function(RELEASE)
        with pytest.raises(AlibabaCloudError, match=r"^Fleet\.TooManyChanges: "):
            capped.lambda_handler({"Apply": plan["PlanId"]}, context)
    assert emulator.state.writes == []
    assert release.lambda_handler({"Apply": plan["PlanId"]}, context)["Summary"]["Succeeded"] == 3


def test_an_expired_plan_is_refused(emulator, runs, context):
    fleet(emulator, 1)
    with environment({"PLAN_TTL_HOURS": "0.0001"}):  # a third of a second
        release = load_function(RELEASE)
        plan = release.lambda_handler({"Select": {"Tags": DEV}, "AutoReleaseAfter": "P1D", "DryRun": True}, context)
        time.sleep(0.6)
        with pytest.raises(AlibabaCloudError, match=r"^Plan\.Expired: "):
            release.lambda_handler({"Apply": plan["PlanId"]}, context)
    assert emulator.state.writes == []


def test_a_plan_of_5000_targets_is_kept_in_six_writes_and_read_back_whole(emulator, runs, context):
    from alibaba_cloud.config import Settings
    from alibaba_cloud.runs.store import RunsStore

    store = RunsStore(runs.client("dynamodb", "DynamoDB_20120810"), Settings.from_env().runs_table or "")
    targets = [
        {"InstanceId": f"i-big{n:06d}", "Parameters": {"AutoReleaseTime": in_future(hours=5)}, "Expect": {"Tags": DEV}}
        for n in range(5000)
    ]
    store.put_plan(
        "f" * 32, {"Action": "ModifyInstanceAutoReleaseTime"}, targets, datetime.now(UTC).timestamp() + 60, None
    )
    assert store.writes == 6  # a head and five parts of 1,000: at most one write per 100 targets
    head, read = store.get_plan("f" * 32, None)
    assert read == targets
    assert head["Parts"] == 5


def test_a_plan_keeps_the_event_that_made_it_and_who_asked(emulator, runs, context):
    from alibaba_cloud.config import Settings
    from alibaba_cloud.runs.store import RunsStore

    fleet(emulator, 1)
    event = {"Select": {"Tags": DEV}, "AutoReleaseAfter": "P1D", "DryRun": True}
    answer = load_function(RELEASE).lambda_handler(webhook_event(RELEASE, event), context)
    plan_id = answer_of(answer)[1]["PlanId"]
    store = RunsStore(runs.client("dynamodb", "DynamoDB_20120810"), Settings.from_env().runs_table or "")
    head, targets = store.get_plan(plan_id, None)
    assert head["Event"]["Select"] == event["Select"]
    assert head["Origin"].startswith("webhook:msg_")
    assert targets[0]["Expect"]["Tags"] == DEV


def test_every_change_is_recorded_and_an_undo_puts_it_back(emulator, runs, context):
    earlier = in_future(hours=30)[:17] + "00Z"
    ids = fleet(emulator, 2)
    emulator.state.instances[ids[0]].AutoReleaseTime = earlier
    release = load_function(RELEASE)
    done = release.lambda_handler({"Select": {"Tags": DEV}, "AutoReleaseAfter": "P2D"}, context)
    assert done["Records"] == {"Stored": 2}
    run_id = done["CorrelationId"]
    before = {t["InstanceId"]: t["Before"]["AutoReleaseTime"] for t in done["Targets"]}
    assert before == {ids[0]: earlier[:16] + "Z", ids[1]: None}  # as DescribeInstances read them
    history = load_function("describe_ecs_instances").lambda_handler({"History": ids[0]}, context)
    assert [c["CorrelationId"] for c in history["Changes"]] == [run_id]
    assert history["Changes"][0]["After"]["AutoReleaseTime"] == emulator.state.instances[ids[0]].AutoReleaseTime

    plan = release.lambda_handler({"Undo": run_id, "DryRun": True}, context)  # an undo is a plan first
    assert plan["Summary"]["WouldChange"] == 2
    assert len(emulator.state.writes) == 2
    undone = release.lambda_handler({"Apply": plan["PlanId"]}, context)
    assert undone["Summary"]["Succeeded"] == 2
    assert release_times(emulator, ids) == [earlier, None]  # the time it had, and none where it had none


def test_an_undo_skips_instances_changed_since(emulator, runs, context):
    ids = fleet(emulator, 2)
    release = load_function(RELEASE)
    done = release.lambda_handler({"InstanceIds": ids, "AutoReleaseAfter": "P1D"}, context)
    later = in_future(hours=50)[:17] + "00Z"
    emulator.state.instances[ids[1]].AutoReleaseTime = later  # someone set it again since
    undone = release.lambda_handler({"Undo": done["CorrelationId"]}, context)
    assert [t["Outcome"] for t in undone["Targets"]] == ["Succeeded", "Drifted"]
    assert release_times(emulator, ids) == [None, later]


def test_an_undo_that_only_cancels_releases_is_never_capped(emulator, runs, context):
    ids = fleet(emulator, 4)
    with environment({"MAX_CHANGES": "5"}):
        release = load_function(RELEASE)
        done = release.lambda_handler({"InstanceIds": ids, "AutoReleaseAfter": "P1D"}, context)
    with environment({"MAX_CHANGES": "1"}):
        release = load_function(RELEASE)
        undone = release.lambda_handler({"Undo": done["CorrelationId"]}, context)
    assert undone["Summary"]["Succeeded"] == 4
    assert release_times(emulator, ids) == [None] * 4


def test_a_redis_change_is_recorded_but_has_no_undo(emulator, runs, context):
    maintain = load_function(MAINTAIN)
    done = maintain.lambda_handler({"InstanceId": REDIS_ID, **WINDOW}, context)
    assert done["Records"] == {"Stored": 1}
    undone = maintain.lambda_handler({"Undo": done["CorrelationId"]}, context)
    assert undone["NotUndone"] == {"Reason": "PreviousValueUnknown", "InstanceIds": [REDIS_ID]}
    assert len(emulator.state.writes) == 1


def test_a_run_status_is_readable_from_the_function_that_ran_it(emulator, runs, context):
    fleet(emulator, 2)
    release = load_function(RELEASE)
    done = release.lambda_handler({"Select": {"Tags": DEV}, "AutoReleaseAfter": "P1D"}, context)
    status = release.lambda_handler({"Run": done["CorrelationId"]}, context)
    assert status["State"] == "Done"
    assert status["Result"]["Summary"] == done["Summary"]
    answer = release.lambda_handler(webhook_event(RELEASE, {"Run": done["CorrelationId"]}), context)
    assert answer_of(answer)[1]["Result"]["Summary"] == done["Summary"]


def test_a_change_that_cannot_be_recorded_is_not_lost(emulator, runs, context, monkeypatch, caplog):
    from alibaba_cloud.runs import store

    def fails(*args, **kwargs):
        raise store.unavailable("ProvisionedThroughputExceededException")

    monkeypatch.setattr(store.RunsStore, "record", fails)
    release = load_function(RELEASE)
    done = release.lambda_handler({"InstanceId": ECS_ID, "AutoReleaseTime": in_future(hours=5)}, context)
    assert done["Outcome"] == "Succeeded"
    assert done["Records"]["Stored"] is False
    lost = next(r for r in caplog.records if r.getMessage() == "Changes not recorded")
    assert lost.changes[0]["InstanceId"] == ECS_ID  # the log line carries it


def test_without_a_runs_table_plans_are_refused_plainly(emulator, release, context):
    with pytest.raises(AlibabaCloudError, match=r"^Runs\.NotConfigured: "):
        release.lambda_handler({"Apply": "0" * 32}, context)
    plan = release.lambda_handler({"InstanceIds": [ECS_ID], "DryRun": True}, context)
    assert "PlanId" not in plan
