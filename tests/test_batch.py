"""Batch targets: every target accounted for, under the concurrency bound, the rate cap, the error
budget and the deadline, against the emulator over HTTP."""

from __future__ import annotations

import time

import pytest

from alibaba_cloud.errors import AlibabaCloudError
from alibaba_cloud.events.batch import RateControl
from alibaba_cloud.paths.fleet.pool import BatchRunner, RateLimiter
from helpers import ECS_ID, MAINTAIN, PREPAID_ID, WINDOW, answer_of, emf, in_future, sqs_event, webhook_event
from local.runtime import LambdaContext, environment, load_function


@pytest.fixture
def fleet(emulator):
    ids = [f"r-fleet{i:04d}" for i in range(12)]
    for instance_id in ids:
        emulator.add_instance(instance_id, "R-kvstore")
    return ids


def outcomes(result):
    return [t["Outcome"] for t in result["Targets"]]


def test_instance_ids_share_the_other_parameters(emulator, maintain, context, fleet):
    result = maintain.lambda_handler({"InstanceIds": fleet, **WINDOW, "RateControl": {"Concurrency": 4}}, context)
    assert result["Outcome"] == "Succeeded"
    assert result["Summary"] == {
        "Total": 12,
        "Succeeded": 12,
        "Failed": 0,
        "NotAttempted": 0,
        "Unchanged": 0,
        "WouldChange": 0,
        "Protected": 0,
        "Skipped": 0,
        "Drifted": 0,
    }
    assert [t["Parameters"]["InstanceId"] for t in result["Targets"]] == fleet  # in the order given
    assert all(t["RequestId"] for t in result["Targets"])
    assert "Rerun" not in result
    assert {emulator.state.instances[i].MaintainStartTime for i in fleet} == {"02:00Z"}
    assert len(emulator.state.writes) == 12


def test_targets_fail_alone_and_are_listed_for_a_rerun(emulator, release, context):
    targets = [
        {"InstanceId": ECS_ID, "AutoReleaseTime": in_future(hours=2)},
        {"InstanceId": PREPAID_ID},
        {"InstanceId": ECS_ID, "AutoReleaseTime": "tomorrow"},
        "not an object",
        {"InstanceId": "i-unknown"},
    ]
    result = release.lambda_handler(
        {"Targets": targets, "RateControl": {"MaxErrors": "100%", "Concurrency": 1}}, context
    )
    assert outcomes(result) == ["Succeeded", "Skipped", "Failed", "Failed", "Failed"]
    assert result["Targets"][1]["Reason"] == "SubscriptionInstance"  # read first: no failing write
    assert [t.get("ErrorCode") for t in result["Targets"]] == [
        None,
        None,
        "InvalidAutoReleaseTime.Malformed",
        "InvalidParameter",
        "NoSuchResource",
    ]
    assert result["Targets"][4]["RequestId"]  # Alibaba's answer: the read did not find it, the write says so
    assert result["Outcome"] == "Failed"
    # sent again, only what could change: not the subscription instance, not the missing one
    assert result["Rerun"]["Targets"] == targets[2:4]
    assert len(emulator.state.writes) == 2  # the malformed targets never left the function, nor the skipped one


def test_error_budget_stops_new_targets(emulator, maintain, context, fleet):
    targets = [{"InstanceId": "r-unknown"}] + [{"InstanceId": i} for i in fleet[:5]]
    result = maintain.lambda_handler(
        {"Targets": targets, **WINDOW, "RateControl": {"Concurrency": 1}}, context
    )  # MaxErrors 0
    assert outcomes(result) == ["Failed"] + ["NotAttempted"] * 5
    assert {t["Reason"] for t in result["Targets"][1:]} == {"MaxErrorsExceeded"}
    assert len(emulator.state.writes) == 1
    assert result["Rerun"]["Targets"] == targets[1:]  # the missing instance is not sent again
    rerun = maintain.lambda_handler({**result["Rerun"], "RateControl": {"MaxErrors": 1, "Concurrency": 1}}, context)
    assert outcomes(rerun) == ["Succeeded"] * 5  # the re-run takes up exactly what was left


@pytest.mark.parametrize(
    ("max_errors", "total", "limit"), [(0, 10, 0), (3, 10, 3), ("10%", 10, 1), ("25%", 10, 2), ("100%", 7, 7)]
)
def test_error_limit(max_errors, total, limit):
    assert RateControl.parse({"MaxErrors": max_errors}).error_limit(total) == limit


def test_concurrency_is_bounded(emulator, maintain, context, fleet):
    emulator.inject("latency", 1000, Seconds=0.15, Action="ModifyInstanceMaintainTime")
    started = time.monotonic()
    result = maintain.lambda_handler(
        {"InstanceIds": fleet[:8], **WINDOW, "RateControl": {"Concurrency": 3, "MaxRequestsPerSecond": None}}, context
    )
    assert result["Summary"]["Succeeded"] == 8
    assert 2 <= emulator.state.max_in_flight <= 3  # in parallel, never past the bound
    assert time.monotonic() - started >= 3 * 0.15  # at least ceil(8 / 3) rounds of 0.15 s
    assert len({r.ClientPort for r in emulator.state.writes}) <= 3  # pooled connections reused


def test_request_rate_is_capped(emulator, maintain, context, fleet):
    result = maintain.lambda_handler(
        {"InstanceIds": fleet[:11], **WINDOW, "RateControl": {"Concurrency": 11, "MaxRequestsPerSecond": 20}}, context
    )
    assert result["Summary"]["Succeeded"] == 11
    arrivals = sorted(r.Arrived for r in emulator.state.writes)
    assert arrivals[-1] - arrivals[0] >= 10 / 20 * 0.9  # 11 requests at 20 a second span 0.5 s


def test_rate_cap_covers_retries(emulator, maintain, context, fleet):
    emulator.inject("throttle", 4, RetryAfterMs=1, Action="ModifyInstanceMaintainTime")
    maintain.lambda_handler(
        {"InstanceIds": fleet[:3], **WINDOW, "RateControl": {"Concurrency": 3, "MaxRequestsPerSecond": 10}}, context
    )
    arrivals = sorted(r.Arrived for r in emulator.state.writes)
    assert len(arrivals) == 7
    assert arrivals[-1] - arrivals[0] >= 6 / 10 * 0.9


def test_deadline_stops_new_targets_and_accounts_for_all(emulator, maintain, fleet):
    emulator.inject("latency", 1000, Seconds=0.3, Action="ModifyInstanceMaintainTime")
    result = maintain.lambda_handler(
        {"InstanceIds": fleet, **WINDOW, "RateControl": {"Concurrency": 1}}, LambdaContext(remaining_ms=3000)
    )  # no new target after 1 s (1 s margin, 1 s reserve)
    summary = result["Summary"]
    assert summary["Total"] == 12
    assert summary["Succeeded"] + summary["NotAttempted"] == 12
    assert 2 <= summary["Succeeded"] <= 5
    assert summary["NotAttempted"] >= 7
    assert {t["Reason"] for t in result["Targets"] if t["Outcome"] == "NotAttempted"} == {"DeadlineNear"}
    assert len(emulator.state.writes) == summary["Succeeded"]


class FakeClock:
    """A monotonic clock that moves only when told to, or when something sleeps on it."""

    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_no_target_starts_after_the_latest_start():
    """3 s left, 2 s kept in reserve: targets of 0.3 s each start at 0, 0.3, 0.6 and 0.9 s, and no later."""
    clock = FakeClock()
    pool = BatchRunner(RateControl(concurrency=1, max_requests_per_second=None), 3.0, 2.0, clock, clock.sleep)

    def run_one(target, pace):
        clock.sleep(0.3)
        return {"Target": target, "Outcome": "Succeeded"}

    lines = pool.run(
        list(range(12)), run_one, lambda target, reason: {"Target": target, "Outcome": "NotAttempted", "Reason": reason}
    )
    assert [line["Outcome"] for line in lines] == ["Succeeded"] * 4 + ["NotAttempted"] * 8
    assert {line["Reason"] for line in lines[4:]} == {"DeadlineNear"}
    assert [line["Target"] for line in lines] == list(range(12))  # every target accounted for, in order


def test_the_rate_cap_refuses_a_slot_past_the_latest_start():
    """At 2 requests a second, with 1 s to go before the latest start, 3 targets start and the rest do not."""
    clock = FakeClock()
    pool = BatchRunner(RateControl(concurrency=1, max_requests_per_second=2), 2.0, 1.0, clock, clock.sleep)
    lines = pool.run(
        list(range(6)),
        lambda target, pace: {"Outcome": "Succeeded"},
        lambda target, reason: {"Outcome": "NotAttempted", "Reason": reason},
    )
    assert [line["Outcome"] for line in lines] == ["Succeeded"] * 3 + ["NotAttempted"] * 3


def test_webhook_batch_is_multi_status_when_not_all_succeeded(emulator, maintain, context, fleet):
    status, body = answer_of(
        maintain.lambda_handler(webhook_event(MAINTAIN, {"InstanceIds": fleet[:2], **WINDOW}), context)
    )
    assert status == 200
    assert body["Summary"]["Succeeded"] == 2
    status, body = answer_of(
        maintain.lambda_handler(
            webhook_event(
                MAINTAIN, {"InstanceIds": ["r-unknown", fleet[0]], **WINDOW, "RateControl": {"Concurrency": 1}}
            ),
            context,
        )
    )
    assert status == 207
    assert outcomes(body) == ["Failed", "NotAttempted"]


def test_next_hop_only_after_a_complete_batch(emulator, maintain, context, fleet):
    following = {"Action": "ModifyInstanceAutoReleaseTime", "Parameters": {"InstanceId": ECS_ID}}
    done = maintain.lambda_handler({"InstanceIds": fleet[:2], **WINDOW, "Next": following}, context)
    assert done["Next"]["Hop"] == 1
    partial = maintain.lambda_handler({"InstanceIds": ["r-unknown"], **WINDOW, "Next": following}, context)
    assert "Next" not in partial
    assert "Rerun" not in partial  # a missing instance stays missing: nothing a rerun could change
    emulator.inject("internal", 100, Action="ModifyInstanceMaintainTime")  # a failure a later attempt may not meet
    with environment({"ALIBABA_CLOUD_RETRY_BASE_DELAY": "0.01", "ALIBABA_CLOUD_MAX_ATTEMPTS": "2"}):
        failing = load_function(MAINTAIN)
    transient = failing.lambda_handler({"InstanceIds": fleet[:1], **WINDOW, "Next": following}, context)
    assert "Next" not in transient
    assert transient["Rerun"]["InstanceIds"] == fleet[:1]


@pytest.mark.parametrize(
    ("event", "code"),
    [
        ({"Targets": [{"InstanceId": "r-1"}], "InstanceIds": ["r-1"]}, "InvalidParameter"),
        ({"InstanceIds": []}, "InvalidParameter"),
        ({"InstanceIds": "r-1"}, "InvalidParameter"),
        ({"InstanceIds": ["r-1"], "InstanceId": "r-2"}, "InvalidParameter"),
        ({"InstanceIds": ["r-1"] * 5001}, "Batch.TooManyTargets"),
        ({"InstanceIds": ["r-1"], "RateControl": {"Concurrency": 0}}, "InvalidParameter"),
        ({"InstanceIds": ["r-1"], "RateControl": {"Concurrency": 65}}, "InvalidParameter"),
        ({"InstanceIds": ["r-1"], "RateControl": {"MaxErrors": "ten"}}, "InvalidParameter"),
        ({"InstanceIds": ["r-1"], "RateControl": {"MaxErrors": "150%"}}, "InvalidParameter"),
        ({"InstanceIds": ["r-1"], "RateControl": {"MaxRequestsPerSecond": 0}}, "InvalidParameter"),
        ({"InstanceIds": ["r-1"], "RateControl": {"Speed": 1}}, "InvalidParameter"),
        ({"InstanceId": "r-1", "RateControl": {"Concurrency": 2}}, "UnsupportedParameter"),
    ],
)
def test_malformed_batches_are_refused_before_any_call(emulator, maintain, context, event, code):
    with pytest.raises(AlibabaCloudError) as raised:
        maintain.lambda_handler({**WINDOW, **event}, context)
    assert raised.value.code == code
    assert emulator.state.writes == []


def test_rate_limiter_spaces_slots_and_refuses_late_ones():
    now = [100.0]
    slept = []
    limiter = RateLimiter(4, clock=lambda: now[0], sleep=slept.append)
    assert all(limiter.acquire() for _ in range(3))
    assert slept == [0.25, 0.5]  # the first slot at once, then one every 0.25 s
    assert not limiter.acquire(not_after=100.5)  # the next slot (100.75) is too late
    assert limiter.acquire(not_after=101.0)


# Fan-out: chunks of targets as SQS messages, with partial batch responses


def test_sqs_chunks_report_only_failed_messages(emulator, maintain, context, fleet):
    answer = maintain.lambda_handler(
        sqs_event(
            {"InstanceIds": fleet[:4], **WINDOW},
            {"InstanceIds": [fleet[4], "r-unknown"], **WINDOW, "RateControl": {"MaxErrors": 1}},
            "not json",
            {"InstanceId": fleet[5], **WINDOW},
            {"InstanceId": fleet[6], "MaintainStartTime": "02:00Z", "MaintainEndTime": "09:00Z"},
        ),
        context,
    )
    assert answer == {
        "batchItemFailures": [{"itemIdentifier": "m-1"}, {"itemIdentifier": "m-2"}, {"itemIdentifier": "m-4"}]
    }
    assert {emulator.state.instances[i].MaintainStartTime for i in fleet[:6]} == {"02:00Z"}


def test_sample_sqs_event_is_processed(emulator, maintain, context):
    from local.runtime import sample_event

    emulator.add_instance("r-bp1zxszhcgatnx2demo", "R-kvstore")
    assert maintain.lambda_handler(sample_event(MAINTAIN, "sqs"), context) == {"batchItemFailures": []}
    assert emulator.state.instances["r-bp1zxszhcgatnx2demo"].MaintainStartTime == "04:00Z"


def test_batch_metrics_are_totals_per_batch(emulator, maintain, context, fleet, capsys):
    maintain.lambda_handler(
        {
            "Targets": [{"InstanceId": i} for i in fleet[:3]] + [{"InstanceId": "r-unknown"}] * 2 + ["x"],
            **WINDOW,
            "RateControl": {"MaxErrors": "100%", "Concurrency": 2},
        },
        context,
    )
    lines = emf(capsys.readouterr().out)
    totals = [line for line in lines if "Calls" in line]
    assert len(totals) == 1
    assert totals[0]["Calls"] == [5.0]  # the calls sent: the target that is not an object never was
    assert totals[0]["Successes"] == [3.0]
    assert totals[0]["Failures"] == [2.0]  # calls that failed
    assert totals[0]["Rejected"] == [1.0]  # the caller's mistake, apart
    failures = {line["ErrorCode"]: line["Failures"] for line in lines if "ErrorCode" in line and "Failures" in line}
    assert failures == {"NoSuchResource": [2.0]}
    rejected = {line["ErrorCode"]: line["Rejected"] for line in lines if "ErrorCode" in line and "Rejected" in line}
    assert rejected == {"InvalidParameter": [1.0]}
    assert "Incomplete" not in totals[0]  # every target was attempted


def test_a_batch_left_unfinished_is_incomplete_and_throttles_are_counted(emulator, maintain, context, fleet, capsys):
    emulator.inject("throttle", 1, RetryAfterMs=1, Action="ModifyInstanceMaintainTime")
    maintain.lambda_handler(
        {
            "Targets": [{"InstanceId": "r-unknown"}] + [{"InstanceId": i} for i in fleet[:3]],
            **WINDOW,
            "RateControl": {"Concurrency": 1},
        },
        context,
    )  # MaxErrors 0: the first failure stops the rest
    (totals,) = [line for line in emf(capsys.readouterr().out) if "Calls" in line]
    assert totals["Incomplete"] == [1.0]
    assert totals["NotAttempted"] == [3.0]
    assert totals["Throttled"] == [1.0]
