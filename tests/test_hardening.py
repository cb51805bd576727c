"""Replays refused across containers (a DynamoDB stand-in on 127.0.0.1), and the smaller holes:
secrets scrubbed before any cut, strict JSON, malformed events answered 400, retry headers that do
not make final answers retryable, null values, PT30M, and queued events that can never succeed."""

from __future__ import annotations

import hashlib
import json
import time
from datetime import UTC, datetime, timedelta

import pytest

from alibaba_cloud.config import Settings
from alibaba_cloud.errors import AlibabaCloudError
from alibaba_cloud.http.fetch import Answer
from alibaba_cloud.rpc.credentials import Credentials
from alibaba_cloud.rpc.transport import parse_answer
from alibaba_cloud.triggers.replay import DynamoReplayStore
from alibaba_cloud.triggers.webhook import replay_store
from helpers import (
    ECS_ID,
    GOOD,
    MAINTAIN,
    REDIS_ID,
    RELEASE,
    answer_of,
    closed_port,
    in_future,
    sqs_event,
    webhook_event,
)
from local.runtime import LambdaContext, environment, load_function


@pytest.fixture
def shared_store(function_env, aws):
    with environment(aws.environment()):
        yield aws


def cold_start(function: str):
    return load_function(function)  # a new container: nothing kept in memory from another


# 5. Replays refused across containers


def test_one_delivery_sent_to_two_cold_starts_calls_alibaba_once(emulator, shared_store, context):
    event = webhook_event(MAINTAIN, GOOD)
    first = cold_start(MAINTAIN).lambda_handler(event, context)
    replay = cold_start(MAINTAIN).lambda_handler(json.loads(json.dumps(event)), context)
    assert answer_of(first)[0] == 200
    assert answer_of(replay) == answer_of(first)  # the first answer, status and body
    assert replay["headers"]["Webhook-Replayed"] == "true"
    assert len(emulator.state.writes) == 1


def test_an_old_cancel_replayed_elsewhere_cannot_undo_a_later_set(emulator, shared_store, context):
    cancel = webhook_event(RELEASE, {"InstanceId": ECS_ID})
    later = in_future(hours=5)[:17] + "00Z"
    assert answer_of(cold_start(RELEASE).lambda_handler(cancel, context))[0] == 200
    assert (
        answer_of(
            cold_start(RELEASE).lambda_handler(
                webhook_event(RELEASE, {"InstanceId": ECS_ID, "AutoReleaseTime": later}), context
            )
        )[0]
        == 200
    )
    replay = cold_start(RELEASE).lambda_handler(json.loads(json.dumps(cancel)), context)
    assert replay["headers"]["Webhook-Replayed"] == "true"  # answered again, not run again
    assert [r.Parameters.get("AutoReleaseTime") for r in emulator.state.writes] == [None, later]  # cancel, set
    assert emulator.state.instances[ECS_ID].AutoReleaseTime == later


def test_an_id_reused_with_another_body_in_another_container_is_409(emulator, shared_store, context):
    from alibaba_cloud.delivery.standard_webhooks import decode_secret, sign_headers
    from helpers import WEBHOOK_SECRET

    def signed(body):
        event = webhook_event(MAINTAIN, body)
        event["headers"].update(sign_headers(decode_secret(WEBHOOK_SECRET), "msg_shared_id", event["body"].encode()))
        return event

    assert answer_of(cold_start(MAINTAIN).lambda_handler(signed(GOOD), context))[0] == 200
    status, body = answer_of(
        cold_start(MAINTAIN).lambda_handler(
            signed({**GOOD, "MaintainStartTime": "05:00Z", "MaintainEndTime": "06:00Z"}), context
        )
    )
    assert (status, body["Code"]) == (409, "Webhook.IdReused")
    assert len(emulator.state.writes) == 1


def test_a_transient_failure_is_forgotten_so_the_retry_runs_in_any_container(emulator, shared_store, context):
    emulator.inject("unavailable", Action="ModifyInstanceMaintainTime")
    event = webhook_event(MAINTAIN, GOOD)
    with environment({"ALIBABA_CLOUD_MAX_ATTEMPTS": "1"}):
        assert answer_of(cold_start(MAINTAIN).lambda_handler(event, context))[0] == 503
    assert answer_of(cold_start(MAINTAIN).lambda_handler(json.loads(json.dumps(event)), context))[0] == 200
    assert len(emulator.state.writes) == 2


def test_an_unreachable_store_fails_closed_with_503(emulator, function_env, context):
    closed = closed_port()
    with environment(
        {
            "WEBHOOK_REPLAY_TABLE": "webhook-ids",
            "AWS_ENDPOINT_URL_DYNAMODB": f"http://127.0.0.1:{closed}",
            "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
            "AWS_SECRET_ACCESS_KEY": "x" * 40,
        }
    ):
        maintain = cold_start(MAINTAIN)
    status, body = answer_of(maintain.lambda_handler(webhook_event(MAINTAIN, GOOD), context))
    assert (status, body["Code"]) == (503, "Webhook.ReplayStoreUnavailable")
    assert "send it again" in body["Message"]
    assert emulator.state.writes == []


# 6. Smaller holes


def test_secrets_are_scrubbed_before_an_error_page_is_cut():
    token = "CAIS" + "Zm9vYmFyYmF6" * 8 + "/+=="
    credentials = Credentials("STS.NUscrubBeforeCut", "secret-value-xyz", token)
    encoded = __import__("urllib.parse").parse.quote(token, safe="~")
    for offset in range(60, 125, 5):  # wherever the cut at 120 characters would fall inside the token
        page = ("<html>" + "x" * offset + encoded + " STS.NUscrubBeforeCut</html>").encode()
        with pytest.raises(AlibabaCloudError) as raised:
            parse_answer(Answer(502, {"Content-Type": "text/html"}, page), credentials.scrub)
        message = raised.value.message
        assert not any(encoded[:n] in message for n in range(8, len(encoded) + 1)), offset
        assert "STS.NUsc" not in message


@pytest.mark.parametrize(
    "body", ['{"InstanceId": NaN}', '{"InstanceId": "r-1", "x": Infinity}', "[" * 30000 + "]" * 30000]
)
def test_webhook_bodies_must_be_strict_shallow_json(emulator, maintain, context, body):
    status, answer = answer_of(maintain.lambda_handler(webhook_event(MAINTAIN, body), context))
    assert (status, answer["Code"]) == (400, "InvalidParameter")
    assert emulator.state.writes == []


def test_direct_events_must_be_strict_shallow_json(emulator, maintain, context):
    deep: dict = {}
    cursor = deep
    for _ in range(30000):
        cursor["Next"] = {}
        cursor = cursor["Next"]
    for event in ({**GOOD, "Hop": float("nan")}, {**GOOD, "RateControl": {"MaxRequestsPerSecond": float("inf")}}, deep):
        with pytest.raises(AlibabaCloudError) as raised:
            maintain.lambda_handler(event, context)
        assert raised.value.code == "InvalidParameter"
        assert raised.value.http_status == 400
    assert emulator.state.writes == []


def test_a_request_context_http_that_is_not_an_object_is_400(emulator, maintain, context):
    event = webhook_event(MAINTAIN, GOOD)
    event["requestContext"]["http"] = "POST"
    status, body = answer_of(maintain.lambda_handler(event, context))
    assert (status, body["Code"]) == (400, "InvalidParameter")


@pytest.mark.parametrize("stamp", ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z"])
@pytest.mark.parametrize(
    "function,event",
    [
        (
            MAINTAIN,
            {
                "InstanceId": REDIS_ID,
                "MaintainStartTime": "23:30",
                "MaintainEndTime": "00:30",
                "TimeZone": "Pacific/Kiritimati",
            },
        ),
        (RELEASE, {"InstanceId": ECS_ID, "AutoReleaseAfter": "P7D"}),
    ],
)
def test_a_scheduled_time_at_the_ends_of_the_calendar_is_400_not_500(
    emulator, function_env, context, stamp, function, event
):
    status, body = answer_of(
        load_function(function).lambda_handler(webhook_event(function, {**event, "ScheduledTime": stamp}), context)
    )
    assert status == 400, body
    assert body["Code"].startswith("Invalid"), body
    assert emulator.state.writes == []


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (400, b'{"Code": "InvalidParameter", "Message": "bad", "RequestId": "R1"}'),
        (404, b'{"Code": "NoSuchResource", "Message": "gone", "RequestId": "R2"}'),
        (200, b"not json at all"),
    ],
)
def test_a_retry_after_header_does_not_make_a_final_answer_retryable(status, body):
    with pytest.raises(AlibabaCloudError) as raised:
        parse_answer(Answer(status, {"x-acs-retry-after": "200", "Content-Type": "application/json"}, body))
    assert raised.value.retryable is False


def test_a_throttle_with_retry_after_is_retried_after_that_pause():
    with pytest.raises(AlibabaCloudError) as raised:
        parse_answer(Answer(400, {"x-acs-retry-after": "1500"}, b'{"Code": "Throttling.User", "Message": "slow down"}'))
    assert raised.value.retryable
    assert raised.value.retry_after == 1.5


def test_pt30m_is_rounded_up_to_the_next_whole_minute_and_works(emulator, release, context):
    result = release.lambda_handler({"InstanceId": ECS_ID, "AutoReleaseAfter": "PT30M"}, context)
    moment = datetime.strptime(result["Parameters"]["AutoReleaseTime"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    now = datetime.now(UTC)
    assert moment.second == 0
    assert now + timedelta(minutes=29) < moment <= now + timedelta(minutes=31)
    assert emulator.state.instances[ECS_ID].AutoReleaseTime == result["Parameters"]["AutoReleaseTime"]


def test_a_queued_event_that_can_never_succeed_goes_to_the_dead_letters_at_once(emulator, shared_store, context):

    maintain = cold_start(MAINTAIN)
    answer = maintain.lambda_handler(sqs_event(GOOD, {**GOOD, "MaintainEndTime": "09:00Z"}, "not json"), context)
    assert answer == {"batchItemFailures": []}  # nothing left for SQS to deliver again
    dead = shared_store.dead_letters()
    codes = sorted(m["MessageAttributes"]["ErrorCode"]["StringValue"] for m in dead)
    assert codes == ["InvalidEndTime.Format", "InvalidParameter"]
    assert "not json" in [m["Body"] for m in dead]


def test_a_queued_transient_failure_is_still_delivered_again(emulator, shared_store, context):
    emulator.inject("unavailable", 1, Action="ModifyInstanceMaintainTime")
    with environment({"ALIBABA_CLOUD_MAX_ATTEMPTS": "1"}):
        maintain = cold_start(MAINTAIN)

    answer = maintain.lambda_handler(sqs_event(GOOD, GOOD), context)
    assert answer == {"batchItemFailures": [{"itemIdentifier": "m-0"}]}  # SQS delivers it again, later
    assert shared_store.dead_letters() == []


def test_a_first_run_killed_at_its_deadline_does_not_hold_its_id(emulator, shared_store, context):
    """Lambda kills an invocation at its timeout, before it can answer; the sender's retry after that runs."""
    event = webhook_event(MAINTAIN, GOOD)
    store = replay_store(Settings.from_env())
    assert isinstance(store, DynamoReplayStore)
    digest = hashlib.sha256(event["body"].encode()).hexdigest()
    assert store.claim(event["headers"]["webhook-id"], digest, time.monotonic() + 0.2) is None  # a run never to answer
    status, body = answer_of(cold_start(MAINTAIN).lambda_handler(json.loads(json.dumps(event)), context))
    assert (status, body["Code"]) == (409, "Webhook.InProgress")  # while it might still answer
    time.sleep(1.5)  # its invocation's deadline, and the second of grace, are past
    assert answer_of(cold_start(MAINTAIN).lambda_handler(json.loads(json.dumps(event)), context))[0] == 200
    assert len(emulator.state.writes) == 1


def test_a_run_whose_answer_could_not_be_stored_is_not_run_again(emulator, shared_store, context, monkeypatch):
    """It reached Alibaba: its id stays held for the whole window, past its invocation's deadline."""
    from alibaba_cloud.triggers import replay

    def settle_fails(*args, **kwargs):
        raise replay.unavailable("ProvisionedThroughputExceededException")

    event = webhook_event(MAINTAIN, GOOD)
    first = cold_start(MAINTAIN)
    monkeypatch.setattr(replay.DynamoReplayStore, "settle", settle_fails)
    assert answer_of(first.lambda_handler(event, LambdaContext("maintain", remaining_ms=2500)))[0] == 200
    monkeypatch.undo()
    time.sleep(2.5)  # the first invocation's deadline, and its second of grace, are past
    status, body = answer_of(cold_start(MAINTAIN).lambda_handler(json.loads(json.dumps(event)), context))
    assert (status, body["Code"]) == (409, "Webhook.InProgress")
    assert len(emulator.state.writes) == 1


def test_a_request_that_went_out_unanswered_is_kept_not_run_again(emulator, shared_store, context):
    """A connection broken after the request was sent: it may have been applied, so its answer is kept."""
    emulator.inject("reset", Action="ModifyInstanceMaintainTime")
    event = webhook_event(MAINTAIN, GOOD)
    with environment({"ALIBABA_CLOUD_MAX_ATTEMPTS": "1"}):
        first = answer_of(cold_start(MAINTAIN).lambda_handler(event, context))
    assert first[0] == 502
    assert "may have been applied" in first[1]["Message"]
    replay = cold_start(MAINTAIN).lambda_handler(json.loads(json.dumps(event)), context)
    assert answer_of(replay) == first
    assert replay["headers"]["Webhook-Replayed"] == "true"


def test_a_store_that_cannot_hold_the_id_stops_the_run_before_anything_is_sent(
    emulator, shared_store, context, monkeypatch
):
    from alibaba_cloud.triggers import replay

    def hold_fails(*args, **kwargs):
        raise replay.unavailable("InternalServerError")

    event = webhook_event(RELEASE, {"InstanceIds": [ECS_ID], "AutoReleaseTime": in_future(hours=5)})
    first = cold_start(RELEASE)
    monkeypatch.setattr(replay.DynamoReplayStore, "hold", hold_fails)
    status, body = answer_of(first.lambda_handler(event, context))
    assert (status, body["Code"]) == (503, "Webhook.ReplayStoreUnavailable")
    assert emulator.state.writes == []
    monkeypatch.undo()
    assert answer_of(cold_start(RELEASE).lambda_handler(json.loads(json.dumps(event)), context))[0] == 200
    assert len(emulator.state.writes) == 1


@pytest.mark.parametrize("text", ["\ud800", "a\x07b", "line\nbreak"])
def test_text_that_cannot_be_signed_or_shown_is_a_400_not_a_500(emulator, maintain, context, text):
    body = json.dumps({**GOOD, "OwnerAccount": text})  # a lone surrogate is legal in JSON
    status, answer = answer_of(maintain.lambda_handler(webhook_event(MAINTAIN, body), context))
    assert status == 400
    assert answer["Code"] == "InvalidParameter"
    assert "OwnerAccount" in answer["Message"]
    assert emulator.state.writes == []
