"""Chains end to end on the local cloud: template.yaml's routes, schedules, bus and rules, over HTTP.

Cron chains go schedule -> function -> OnSuccess destination -> bus -> the next function's
EventBridgeRule (InputPath) -> function; webhook chains go function -> signed delivery to
NotifyUrls -> a CI receiver and/or another function's route. Loops end at the hop limit.
"""

from __future__ import annotations

import json
import socket
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from standardwebhooks import Webhook

from alibaba_cloud.delivery.standard_webhooks import decode_secret, sign_headers
from alibaba_cloud.errors import AlibabaCloudError
from helpers import (
    ACCESS_KEY_ID,
    ACCESS_KEY_SECRET,
    ECS_ID,
    PREPAID_ID,
    REDIS_ID,
    WEBHOOK_SECRET,
    closed_port,
    in_future,
)
from local.cloud import LocalCloud, input_path, matches
from local.http_api import GatewayServer
from local.runtime import environment

RELEASE_FN = "ModifyInstanceAutoReleaseTimeFunction"
MAINTAIN_FN = "ModifyInstanceMaintainTimeFunction"


def hop(start="04:00Z", end="05:00Z", **extra):
    return {
        "Action": "ModifyInstanceMaintainTime",
        "Parameters": {"InstanceId": REDIS_ID, "MaintainStartTime": start, "MaintainEndTime": end},
        **extra,
    }


def cloud_for(emulator, schedule_input=None, env=None, parameters=None):
    """The template's functions, with these Parameter values (the template's settings win over the environment)."""
    overrides = {"AutoReleaseTimeInput": json.dumps(schedule_input)} if schedule_input else {}
    overrides |= parameters or {}
    with environment({"ALIBABA_CLOUD_RETRY_BASE_DELAY": "0.01", **(env or {})}):
        return LocalCloud(emulator.url, WEBHOOK_SECRET, overrides, (ACCESS_KEY_ID, ACCESS_KEY_SECRET))


@pytest.fixture
def local_cloud(emulator):
    gateway = GatewayServer(cloud_for(emulator)).start()
    yield gateway
    gateway.stop()


class Receiver(ThreadingHTTPServer):
    """A CI pipeline's endpoint: verifies deliveries with the reference library and answers as scripted."""

    def __init__(self, statuses=()):
        self.statuses, self.received = list(statuses), []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                payload = Webhook(WEBHOOK_SECRET).verify(body, dict(self.headers))
                outer.received.append((self.headers["webhook-id"], payload))
                status = outer.statuses.pop(0) if outer.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server_address[1]}/hooks/alibaba"

    def close(self):
        self.shutdown()
        self.server_close()


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


def post_signed(url, body):
    raw = json.dumps(body).encode()
    headers = {"content-type": "application/json", **sign_headers(decode_secret(WEBHOOK_SECRET), "msg_test", raw)}
    return requests.post(url, data=raw, headers=headers, timeout=30)


def test_other_methods_reach_the_function_and_get_405(emulator, local_cloud):
    answer = requests.get(local_cloud.url + "/redis/maintain-time", timeout=10)
    assert (answer.status_code, answer.json()["Code"], answer.headers["Allow"]) == (405, "MethodNotAllowed", "POST")
    assert requests.get(local_cloud.url + "/nowhere", timeout=10).status_code == 404


def test_routes_are_served_over_http(emulator, local_cloud):
    answer = post_signed(
        local_cloud.url + "/redis/maintain-time",
        {"InstanceId": REDIS_ID, "MaintainStartTime": "08:00Z", "MaintainEndTime": "09:00Z"},
    )
    assert answer.status_code == 200
    assert answer.json()["Outcome"] == "Succeeded"
    assert emulator.state.instances[REDIS_ID].MaintainStartTime == "08:00Z"
    assert requests.post(local_cloud.url + "/elsewhere", data=b"{}", timeout=5).status_code == 404
    assert requests.get(local_cloud.url + "/redis/maintain-time", timeout=5).status_code == 405
    assert post_signed(local_cloud.url + "/ecs/auto-release-time", {"InstanceId": PREPAID_ID}).status_code == 403


def test_cron_chain_through_destination_bus_and_rule(emulator):
    schedule_input = {
        "InstanceId": ECS_ID,
        "AutoReleaseAfter": "PT4H",
        "ScheduledTime": "<aws.scheduler.scheduled-time>",
        "Next": hop("06:00Z", "07:00Z"),
    }
    invocations, dead = fire_release_schedule(emulator, schedule_input)
    assert dead == []
    assert [i["Function"] for i in invocations] == [RELEASE_FN, MAINTAIN_FN]
    first, second = (i["Outcome"] for i in invocations)
    assert first["Outcome"] == second["Outcome"] == "Succeeded"
    assert (first["Hop"], second["Hop"]) == (0, 1)
    assert first["CorrelationId"] == second["CorrelationId"]
    assert invocations[1]["Event"] == first["Next"]  # what the rule's InputPath handed over
    assert emulator.state.instances[ECS_ID].AutoReleaseTime is not None
    assert emulator.state.instances[REDIS_ID].MaintainStartTime == "06:00Z"


def fire_release_schedule(emulator, schedule_input, parameters=None):
    """Fire the ECS schedule with this Input; what ran, and what reached the dead letters."""
    gateway = GatewayServer(cloud_for(emulator, schedule_input, parameters=parameters)).start()
    try:
        assert requests.post(f"{gateway.url}/_local/schedules/{RELEASE_FN}/Schedule", timeout=30).status_code == 200
        invocations = requests.get(gateway.url + "/_local/invocations", timeout=5).json()
        dead = requests.get(gateway.url + "/_local/dead-letters", timeout=5).json()
    finally:
        gateway.stop()
    return invocations, dead


def test_failed_scheduled_invocation_goes_once_to_the_dead_letters(emulator):
    invocations, dead = fire_release_schedule(
        emulator, {"InstanceId": PREPAID_ID, "AutoReleaseAfter": "PT4H", "Next": hop()}
    )
    assert len(dead) == 1
    assert len(invocations) == 1
    message = dead[0]["responsePayload"]["errorMessage"]
    assert message.startswith("ChargeTypeViolation: ")
    assert "(RequestId: " in message
    assert dead[0]["requestPayload"]["InstanceId"] == PREPAID_ID


def test_hop_limit_ends_a_runaway_chain(emulator):
    chain = hop()
    for _ in range(1):  # maintain -> maintain: within the limit, runs hop by hop
        chain = hop(Next=chain)
    invocations, dead = fire_release_schedule(emulator, {"InstanceId": ECS_ID, "Next": chain}, {"ChainMaxHops": "3"})
    assert [i["Outcome"].get("Hop") for i in invocations] == [0, 1, 2]
    assert dead == []
    assert [i["Outcome"]["Next"]["Hop"] for i in invocations[:2]] == [1, 2]


def test_a_fanning_chain_spends_one_budget_across_all_its_branches(emulator, maintain, context):
    """Fan-out 4 at each of 4 levels would be 341 runs; one budget of 32 bounds the whole tree.

    Each result is handed to as many runs as it has places to go (its caller, and each URL), as
    deliveries to function routes would; each receiving run gets its own copy (distinct webhook ids).
    """
    urls = [
        f"https://hooks{n}.invalid/redis" for n in range(4)
    ]  # refused at once: this test counts runs, not deliveries
    chain = hop(NotifyUrls=urls)
    for _ in range(3):
        chain = hop(NotifyUrls=urls, Next=chain)
    pending, runs, refusals = [{**chain["Parameters"], "NotifyUrls": urls, "Next": chain}], 0, []
    for _ in range(1000):  # bounded: the tree is at most 341
        if not pending:
            break
        event = pending.pop()
        try:
            result = maintain.lambda_handler(event, context)
        except AlibabaCloudError as error:
            refusals.append(error.code)
            continue
        runs += 1
        if "Next" in result:
            pending += [result] * (1 + len(result["Deliveries"]))
    assert pending == []
    assert 1 < runs <= 32
    assert len(emulator.state.writes) == runs
    assert refusals
    assert set(refusals) == {"Chain.BudgetExhausted"}


def test_a_result_shaped_next_cannot_restart_the_hop_count(emulator, maintain, context):
    sneaky = {**hop(), "Outcome": "Succeeded", "Next": {**hop(), "Hop": 0}}
    with pytest.raises(AlibabaCloudError) as raised:
        maintain.lambda_handler({**hop(), "Next": sneaky}, context)
    assert raised.value.code == "UnsupportedParameter"
    assert "Outcome" in raised.value.message
    # a delivered result's Next is one hop deeper than the result, whatever the Next says
    with environment({"CHAIN_MAX_HOPS": "2"}):
        from local.runtime import load_function

        bounded = load_function("modify_instance_maintain_time")
    with pytest.raises(AlibabaCloudError) as raised:
        bounded.lambda_handler(
            {"Outcome": "Succeeded", "Action": "ModifyInstanceAutoReleaseTime", "Hop": 2, "Next": {**hop(), "Hop": 0}},
            context,
        )
    assert raised.value.code == "Chain.HopLimitExceeded"
    assert emulator.state.writes == []


def test_a_budget_cannot_be_raised_by_the_event(emulator, maintain, context):
    result = maintain.lambda_handler({**hop(), "Budget": 10**9, "Next": hop()}, context)
    assert result["Next"]["Budget"] == 31
    with pytest.raises(AlibabaCloudError) as raised:
        maintain.lambda_handler({**hop(), "Budget": 0}, context)
    assert raised.value.code == "Chain.BudgetExhausted"
    assert len(emulator.state.writes) == 1


def test_a_chain_deeper_than_the_limit_is_refused_before_its_first_call(emulator):
    chain = hop()
    for _ in range(6):  # maintain -> maintain -> ... seven hops, with three allowed
        chain = hop(Next=chain)
    invocations, dead = fire_release_schedule(emulator, {"InstanceId": ECS_ID, "Next": chain}, {"ChainMaxHops": "3"})
    assert len(invocations) == 1
    assert emulator.state.writes == []
    assert dead[-1]["responsePayload"]["errorMessage"].startswith(
        "Chain.HopLimitExceeded: The chain's Next hops go deeper"
    )


def test_webhook_chain_to_a_ci_receiver_and_another_function(emulator, local_cloud, receiver):
    body = {
        "InstanceId": ECS_ID,
        "AutoReleaseTime": in_future(hours=3),
        "Next": hop("10:00Z", "11:00Z"),
        "NotifyUrls": [receiver.url, local_cloud.url + "/redis/maintain-time"],
    }
    answer = post_signed(local_cloud.url + "/ecs/auto-release-time", body)
    assert answer.status_code == 200
    ((webhook_id, delivered),) = receiver.received
    result = answer.json()  # the caller also learns how each delivery went
    assert [d["Delivered"] for d in result.pop("Deliveries")] == [True, True]
    assert delivered == result  # the CI pipeline gets the outcome, verified as a Standard Webhook
    assert delivered["Next"]["Hop"] == 1
    assert webhook_id.startswith("msg_")
    assert ACCESS_KEY_SECRET not in json.dumps(delivered)
    assert ACCESS_KEY_ID not in json.dumps(delivered)
    assert emulator.state.instances[REDIS_ID].MaintainStartTime == "10:00Z"  # the next function ran the Next hop
    invocations = local_cloud.cloud.invocations
    assert [i["Function"] for i in invocations] == [MAINTAIN_FN, RELEASE_FN]  # the inner call finishes first
    assert json.loads(invocations[0]["Outcome"]["body"])["CorrelationId"] == delivered["CorrelationId"]


def test_failures_are_delivered_too(emulator, local_cloud, receiver):
    answer = post_signed(
        local_cloud.url + "/ecs/auto-release-time", {"InstanceId": PREPAID_ID, "NotifyUrls": [receiver.url]}
    )
    assert answer.status_code == 403
    ((_, delivered),) = receiver.received
    assert (delivered["Outcome"], delivered["ErrorCode"]) == ("Failed", "ChargeTypeViolation")
    assert delivered["RequestId"]


def deliveries_answered(local_cloud, statuses):
    """The webhook-ids a receiver saw for one result when it answered with these statuses."""
    receiver = Receiver(statuses)
    try:
        post_signed(
            local_cloud.url + "/redis/maintain-time",
            {
                "InstanceId": REDIS_ID,
                "MaintainStartTime": "01:00Z",
                "MaintainEndTime": "02:00Z",
                "NotifyUrls": [receiver.url],
            },
        )
    finally:
        receiver.close()
    return [webhook_id for webhook_id, _ in receiver.received]


def test_deliveries_are_retried_with_one_webhook_id(emulator, local_cloud):
    ids = deliveries_answered(local_cloud, [503, 502])
    assert len(ids) == 3
    assert len(set(ids)) == 1


def test_refused_delivery_is_not_retried(emulator, local_cloud):
    assert len(deliveries_answered(local_cloud, [400])) == 1


def test_event_controlled_urls_are_restricted(emulator, function_env, context, receiver):
    from helpers import MAINTAIN
    from local.runtime import load_function

    with environment({"NOTIFY_ALLOWED_HOSTS": "hooks.example.com"}):  # and http not allowed
        maintain = load_function(MAINTAIN)
    maintain.lambda_handler(
        {
            "InstanceId": REDIS_ID,
            "MaintainStartTime": "01:00Z",
            "MaintainEndTime": "02:00Z",
            "NotifyUrls": [receiver.url, "https://elsewhere.example.org/x"],
        },
        context,
    )
    assert receiver.received == []
    with environment(
        {"NOTIFY_URLS": receiver.url, "NOTIFY_ALLOW_HTTP": "true", "NOTIFY_ALLOWED_HOSTS": "hooks.example.com"}
    ):
        maintain = load_function(MAINTAIN)
    maintain.lambda_handler(
        {"InstanceId": REDIS_ID, "MaintainStartTime": "01:00Z", "MaintainEndTime": "02:00Z"}, context
    )
    assert len(receiver.received) == 1  # configured URLs are the operator's choice


@pytest.mark.parametrize(
    ("event", "code"),
    [
        ({"Action": "ModifyInstanceAutoReleaseTime", "Parameters": {"InstanceId": ECS_ID}}, "Chain.WrongAction"),
        ({"Outcome": "Failed", "Action": "ModifyInstanceAutoReleaseTime"}, "Chain.PreviousFailed"),
        ({"Outcome": "Succeeded", "Action": "ModifyInstanceAutoReleaseTime"}, "Chain.NoNextHop"),
        ({**hop(), "Hop": 9}, "Chain.HopLimitExceeded"),
        ({**hop(), "Hop": -1}, "InvalidParameter"),
        ({**hop(), "Hop": True}, "InvalidParameter"),
        ({**hop(), "Surprise": 1}, "UnsupportedParameter"),
        ({"Action": "ModifyInstanceMaintainTime", "Parameters": "InstanceId=r-1"}, "InvalidParameter"),
        (
            {
                "InstanceId": REDIS_ID,
                "MaintainStartTime": "01:00Z",
                "MaintainEndTime": "02:00Z",
                "Next": {"Action": "X"},
            },
            "InvalidParameter",
        ),
        (
            {
                "InstanceId": REDIS_ID,
                "MaintainStartTime": "01:00Z",
                "MaintainEndTime": "02:00Z",
                "NotifyUrls": "https://x",
            },
            "InvalidParameter",
        ),
        (
            {
                "InstanceId": REDIS_ID,
                "MaintainStartTime": "01:00Z",
                "MaintainEndTime": "02:00Z",
                "CorrelationId": "x" * 200,
            },
            "InvalidParameter",
        ),
    ],
)
def test_malformed_chain_events_are_refused(emulator, maintain, context, event, code):
    from alibaba_cloud.errors import AlibabaCloudError

    with pytest.raises(AlibabaCloudError) as raised:
        maintain.lambda_handler(event, context)
    assert raised.value.code == code
    assert raised.value.http_status == 400
    assert emulator.state.writes == []


def test_hop_envelope_and_correlation_id_are_honoured(emulator, maintain, context):
    result = maintain.lambda_handler(
        {
            **hop(),
            "Hop": 2,
            "CorrelationId": "change-1234",
            "Next": {"Action": "ModifyInstanceAutoReleaseTime", "Parameters": {"InstanceId": ECS_ID}},
        },
        context,
    )
    assert (result["Hop"], result["CorrelationId"]) == (2, "change-1234")
    assert result["Next"] == {
        "Action": "ModifyInstanceAutoReleaseTime",
        "Parameters": {"InstanceId": ECS_ID},
        "Hop": 3,
        "Budget": 31,
        "CorrelationId": "change-1234",
    }  # 32, less this one


def test_event_pattern_matching_and_input_path():
    envelope = {"source": "lambda", "detail": {"responsePayload": {"Next": {"Action": "A", "Parameters": {}}}}}
    assert matches({"source": ["lambda"], "detail": {"responsePayload": {"Next": {"Action": ["A", "B"]}}}}, envelope)
    assert not matches({"detail": {"responsePayload": {"Next": {"Action": ["C"]}}}}, envelope)
    assert not matches({"detail": {"missing": ["x"]}}, envelope)
    assert input_path(envelope, "$.detail.responsePayload.Next") == {"Action": "A", "Parameters": {}}


def test_make_serve_says_in_one_line_when_its_port_is_taken():
    import subprocess
    import sys
    from pathlib import Path

    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            emulator_port = probe.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "local.serve", "--port", str(port), "--emulator-port", str(emulator_port)],
            cwd=Path(__file__).resolve().parent.parent,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode != 0
    assert (
        result.stderr.strip().splitlines()[-1]
        == f"Port {port} is taken: pick another with SERVE_ARGS='--port {port + 1}'."
    )


@pytest.fixture
def cloud_with_aws(emulator, aws):
    """The local cloud as make serve runs it: the webhook ids in DynamoDB (moto), named only in each
    function's own environment, as Lambda gives it."""
    with environment({"ALIBABA_CLOUD_RETRY_BASE_DELAY": "0.01"}):
        cloud = LocalCloud(emulator.url, WEBHOOK_SECRET, None, (ACCESS_KEY_ID, ACCESS_KEY_SECRET), aws.environment())
    gateway = GatewayServer(cloud).start()
    yield gateway
    gateway.stop()


def test_a_sender_that_lost_its_answer_retries_and_stops_on_the_replayed_answer(emulator, cloud_with_aws, aws):
    """A Standard Webhooks sender (the reference library signs each attempt anew, same id and body) gives
    up on its first attempt before the answer comes, retries on its schedule, and stops at the first 2xx:
    the first answer, replayed from the shared table, with Alibaba called once."""
    local_cloud = cloud_with_aws
    emulator.inject(
        "latency", 1, Seconds=1.0, Action="ModifyInstanceMaintainTime"
    )  # the first answer comes after the sender stopped waiting
    body = json.dumps({"InstanceId": REDIS_ID, "MaintainStartTime": "02:00Z", "MaintainEndTime": "03:00Z"})
    sender, webhook_id = Webhook(WEBHOOK_SECRET), "msg_2pK1lostanswer"
    seen: list[object] = []
    answer = None
    for pause in (0.0, 0.3, 0.6, 1.2, 2.4):  # a bounded retry schedule, as senders have
        threading.Event().wait(pause)
        now = datetime.now(UTC)
        headers = {
            "webhook-id": webhook_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": sender.sign(webhook_id, now, body),
            "Content-Type": "application/json",
        }
        try:
            answer = requests.post(local_cloud.url + "/redis/maintain-time", data=body, headers=headers, timeout=0.4)
        except requests.Timeout:
            seen.append("lost")
            continue
        seen.append(answer.status_code)
        if 200 <= answer.status_code < 300:
            break
    assert seen[0] == "lost"
    assert seen[-1] == 200
    assert set(seen[1:-1]) <= {409}  # meanwhile the first delivery was still running
    assert answer is not None
    assert answer.headers["Webhook-Replayed"] == "true"
    assert answer.json()["Outcome"] == "Succeeded"
    assert [r.Action for r in emulator.state.writes] == ["ModifyInstanceMaintainTime"]
    assert answer.json()["RequestId"] == emulator.state.writes[0].RequestId
    table = aws.client("dynamodb", "DynamoDB_20120810").call("Scan", {"TableName": "lifecycle-webhook-ids"}, None)
    assert [item["WebhookId"]["S"] for item in table["Items"]] == [webhook_id]  # kept where every container sees it


# Fleets that outlive a webhook


def test_a_webhook_fleet_too_long_for_its_caller_is_answered_202_and_goes_on(emulator, receiver):
    """Ten writes at 4 a second take longer than the caller waits (3 s here, 25 s deployed): the answer
    is 202 at once with the run's id, and the run goes on asynchronously, its result delivered as any
    asynchronous run's (the notify URLs, the lifecycle bus)."""
    ids = [f"r-bp1deferred{n:05d}" for n in range(10)]
    for instance_id in ids:
        emulator.add_instance(instance_id, "R-kvstore")
    gateway = GatewayServer(cloud_for(emulator, env={"WEBHOOK_SYNC_SECONDS": "3"})).start()
    try:
        event = {
            "InstanceIds": ids,
            "MaintainStartTime": "04:00Z",
            "MaintainEndTime": "05:00Z",
            "RateControl": {"MaxRequestsPerSecond": 4},
            "NotifyUrls": [receiver.url],
        }
        answer = post_signed(gateway.url + "/redis/maintain-time", event)
        assert answer.status_code == 202
        accepted = answer.json()
        assert accepted["Outcome"] == "Accepted"
        assert accepted["Planned"]["Writes"] == 10
        assert accepted["EstimatedSeconds"] == 2  # ten writes at four a second
        for _ in range(100):  # the asynchronous run: at most 10 s
            if receiver.received:
                break
            threading.Event().wait(0.1)
        ((webhook_id, delivered),) = receiver.received
        assert delivered["CorrelationId"] == accepted["RunId"]
        assert delivered["Summary"]["Succeeded"] == 10
        assert {emulator.state.instances[i].MaintainStartTime for i in ids} == {"04:00Z"}
        runs = [r for r in gateway.cloud.invocations if r["InvocationType"] == "Event"]
        assert [r["Outcome"]["Summary"]["Succeeded"] for r in runs] == [10]  # one run, to its destination
    finally:
        gateway.stop()


def test_a_small_fleet_is_still_answered_at_once(emulator, local_cloud):
    answer = post_signed(
        local_cloud.url + "/redis/maintain-time",
        {"InstanceIds": [REDIS_ID], "MaintainStartTime": "04:00Z", "MaintainEndTime": "05:00Z"},
    )
    assert answer.status_code == 200
    assert answer.json()["Summary"]["Succeeded"] == 1


def test_a_run_that_cannot_be_handed_on_writes_nothing_and_is_retried(emulator, function_env):
    from helpers import MAINTAIN, answer_of, webhook_event
    from local.runtime import LambdaContext, load_function

    nowhere = f"http://127.0.0.1:{closed_port()}"
    ids = [f"r-bp1nohandon{n:05d}" for n in range(10)]
    with environment(
        {
            "WEBHOOK_SYNC_SECONDS": "3",
            "AWS_LAMBDA_FUNCTION_NAME": "maintain",
            "AWS_ENDPOINT_URL_LAMBDA": nowhere,
            "AWS_ACCESS_KEY_ID": "AKIDTEST",
            "AWS_SECRET_ACCESS_KEY": "test-secret",
        }
    ):
        maintain = load_function(MAINTAIN)
    body = {
        "InstanceIds": ids,
        "MaintainStartTime": "04:00Z",
        "MaintainEndTime": "05:00Z",
        "RateControl": {"MaxRequestsPerSecond": 1},
    }
    status, answer = answer_of(maintain.lambda_handler(webhook_event(MAINTAIN, body), LambdaContext()))
    assert status == 503
    assert answer["Code"] == "Run.HandOnFailed"
    assert emulator.state.writes == []


@pytest.mark.parametrize(
    ("writes", "control", "seconds"),
    [
        (100, {}, 10.0),  # the default cap, 10 a second
        (100, {"MaxRequestsPerSecond": None, "Concurrency": 5}, 5.0),  # 5 at a time, 0.25 s each
        (30, {"MaxRequestsPerSecond": 2}, 15.0),
    ],
)
def test_how_long_writes_take_is_estimated_from_the_rate_control(writes, control, seconds):
    from alibaba_cloud.events.batch import RateControl
    from alibaba_cloud.paths.fleet.pool import estimated_seconds

    assert estimated_seconds(writes, RateControl.parse(control)) == seconds


def test_a_selection_too_large_to_read_while_the_caller_waits_goes_on_too(emulator):
    """Two pages of instances, the first answered after 1.5 s; the caller waits 3 s: the read cannot
    finish, so nothing is written here and the run goes on asynchronously, where it reads every page."""
    for n in range(60):  # R-kvstore pages by 50
        emulator.add_instance(f"r-bp1slowread{n:05d}", "R-kvstore", Tags={"env": "slow"})
    gateway = GatewayServer(cloud_for(emulator, env={"WEBHOOK_SYNC_SECONDS": "3"})).start()
    try:
        emulator.inject("latency", 1, Seconds=1.5, Action="DescribeInstances")
        event = {
            "Select": {"Tags": {"env": "slow"}},
            "MaintainStartTime": "04:00Z",
            "MaintainEndTime": "05:00Z",
            "RateControl": {"MaxRequestsPerSecond": 100, "Concurrency": 20},
        }
        answer = post_signed(gateway.url + "/redis/maintain-time", event)
        assert answer.status_code == 202
        assert answer.json()["Selection"]["Complete"] is False
        for _ in range(100):  # the asynchronous run: at most 10 s
            if any(r["InvocationType"] == "Event" for r in gateway.cloud.invocations):
                break
            threading.Event().wait(0.1)
        (run,) = [r for r in gateway.cloud.invocations if r["InvocationType"] == "Event"]
        assert run["Outcome"]["Summary"]["Succeeded"] == 60
    finally:
        gateway.stop()
