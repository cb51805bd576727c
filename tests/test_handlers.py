"""Both functions, both triggers, end to end against the emulator over real HTTP on 127.0.0.1."""

from __future__ import annotations

import json

import pytest

from alibaba_cloud.errors import AlibabaCloudError
from helpers import (
    ECS_ID,
    GOOD,
    MAINTAIN,
    PREPAID_ID,
    REDIS_ID,
    RELEASE,
    WEBHOOK_SECRET,
    answer_of,
    emf,
    in_future,
    webhook_event,
)
from local.runtime import environment, load_function, sample_event

# Direct and scheduled invocations


def test_scheduled_event_sets_the_maintenance_window(emulator, maintain, context):
    event = sample_event(MAINTAIN, "schedule")
    emulator.add_instance(event["InstanceId"], "R-kvstore")
    result = maintain.lambda_handler(event, context)
    assert result == {
        "Action": "ModifyInstanceMaintainTime",
        "Product": "R-kvstore",
        "Parameters": {**event, "RegionId": "cn-hangzhou"},  # the configured region, sent as the core SDK does
        "RequestId": emulator.state.writes[-1].RequestId,
        "Outcome": "Succeeded",
        "CorrelationId": context.aws_request_id,
        "Hop": 0,
    }
    state = emulator.state.instances[event["InstanceId"]]
    assert (state.MaintainStartTime, state.MaintainEndTime) == ("02:00Z", "03:00Z")


def test_unknown_instance_fails_with_upstream_code_and_request_id(emulator, maintain, context):
    with pytest.raises(AlibabaCloudError) as raised:
        maintain.lambda_handler(
            {"InstanceId": "r-doesnotexist", "MaintainStartTime": "02:00Z", "MaintainEndTime": "03:00Z"}, context
        )
    message = str(raised.value)
    assert message.startswith("NoSuchResource: The specified resource is not found.")
    assert raised.value.request_id
    assert f"RequestId: {raised.value.request_id}" in message
    assert raised.value.http_status == 404


def test_release_time_is_set_with_seconds_zeroed(emulator, release, context):
    when = in_future(hours=3)
    result = release.lambda_handler({"InstanceId": ECS_ID, "AutoReleaseTime": when}, context)
    sent = when[:-3] + "00Z"
    assert result["Parameters"] == {"InstanceId": ECS_ID, "AutoReleaseTime": sent, "RegionId": "cn-hangzhou"}
    assert emulator.state.instances[ECS_ID].AutoReleaseTime == sent


def test_no_release_time_cancels_the_release(emulator, release, context):
    emulator.state.instances[ECS_ID].AutoReleaseTime = in_future(days=1)
    release.lambda_handler({"InstanceId": ECS_ID}, context)
    assert emulator.state.instances[ECS_ID].AutoReleaseTime is None


def test_subscription_instance_is_refused(emulator, release, context):
    with pytest.raises(
        AlibabaCloudError, match=r"^ChargeTypeViolation: .*\(RequestId: [0-9A-F-]{36}\) Recommend: https://"
    ) as raised:
        release.lambda_handler({"InstanceId": PREPAID_ID, "AutoReleaseTime": in_future(hours=2)}, context)
    assert raised.value.http_status == 403


def test_region_of_the_event_is_sent_and_checked_upstream(emulator, release, context):
    with pytest.raises(AlibabaCloudError, match="^NoSuchResource"):
        release.lambda_handler({"InstanceId": ECS_ID, "RegionId": "cn-shanghai"}, context)
    assert emulator.state.writes[-1].Parameters["RegionId"] == "cn-shanghai"


@pytest.mark.parametrize(
    "event",
    [
        {"InstanceId": REDIS_ID, "MaintainStartTime": "02:00Z", "MaintainEndTime": "04:00Z"},
        {"InstanceId": REDIS_ID, "MaintainStartTime": "2:00Z", "MaintainEndTime": "03:00Z"},
        {"MaintainStartTime": "02:00Z", "MaintainEndTime": "03:00Z"},
        {"InstanceId": REDIS_ID, "MaintainStartTime": "02:00Z", "MaintainEndTime": "03:00Z", "Extra": "1"},
        [],
        "text",
        None,
        42,
    ],
)
def test_bad_direct_events_fail_before_any_call(emulator, maintain, context, event):
    with pytest.raises(AlibabaCloudError) as raised:
        maintain.lambda_handler(event, context)
    assert raised.value.http_status == 400
    assert str(raised.value).startswith(raised.value.code + ": ")
    assert emulator.state.writes == []


# Webhooks


def test_signed_webhook_sets_the_release_time(emulator, release, context):
    when = in_future(hours=5)
    status, body = answer_of(
        release.lambda_handler(webhook_event(RELEASE, {"InstanceId": ECS_ID, "AutoReleaseTime": when}), context)
    )
    assert status == 200
    assert body["RequestId"]
    assert body["Outcome"] == "Succeeded"
    assert emulator.state.instances[ECS_ID].AutoReleaseTime == when[:-3] + "00Z"


def test_signed_webhook_sets_the_maintenance_window(emulator, maintain, context):
    event = webhook_event(
        MAINTAIN, {"InstanceId": REDIS_ID, "MaintainStartTime": "04:00Z", "MaintainEndTime": "05:00Z"}
    )
    status, body = answer_of(maintain.lambda_handler(event, context))
    assert status == 200
    assert body["Action"] == "ModifyInstanceMaintainTime"
    assert body["CorrelationId"] == context.aws_request_id  # a UUID, as every trigger's
    assert emulator.state.instances[REDIS_ID].MaintainStartTime == "04:00Z"


def test_base64_body_is_decoded(emulator, maintain, context):
    event = webhook_event(
        MAINTAIN, {"InstanceId": REDIS_ID, "MaintainStartTime": "05:00Z", "MaintainEndTime": "06:00Z"}, base64_body=True
    )
    status, _ = answer_of(maintain.lambda_handler(event, context))
    assert status == 200
    assert emulator.state.instances[REDIS_ID].MaintainStartTime == "05:00Z"


OTHER_SECRET = "whsec_b3RoZXIta2V5LW5vdC1vdXJzLTAxMjM0NTY3ODlhYmM="


def _now():
    import time

    return int(time.time())


@pytest.mark.parametrize(
    ("make", "code"),
    [
        (lambda: _strip(webhook_event(MAINTAIN, GOOD), "webhook-signature"), "Webhook.MissingSignature"),
        (lambda: _strip(webhook_event(MAINTAIN, GOOD), "webhook-id"), "Webhook.MissingSignature"),
        (lambda: _strip(webhook_event(MAINTAIN, GOOD), "webhook-timestamp"), "Webhook.MissingSignature"),
        (lambda: webhook_event(MAINTAIN, GOOD, secret=OTHER_SECRET), "Webhook.InvalidSignature"),
        (lambda: webhook_event(MAINTAIN, GOOD, timestamp=_now() - 301), "Webhook.TimestampExpired"),
        (lambda: webhook_event(MAINTAIN, GOOD, timestamp=_now() + 301), "Webhook.TimestampExpired"),
        (lambda: webhook_event(MAINTAIN, GOOD, headers={"webhook-timestamp": "soon"}), "Webhook.InvalidTimestamp"),
        (lambda: _tamper(webhook_event(MAINTAIN, GOOD)), "Webhook.InvalidSignature"),
        (lambda: webhook_event(MAINTAIN, GOOD, headers={"webhook-signature": "v1,AAAA"}), "Webhook.InvalidSignature"),
        (lambda: webhook_event(MAINTAIN, GOOD, headers={"webhook-id": "msg_other"}), "Webhook.InvalidSignature"),
    ],
)
def test_unauthenticated_webhooks_are_refused_with_401(emulator, maintain, context, make, code):
    status, body = answer_of(maintain.lambda_handler(make(), context))
    assert (status, body["Code"]) == (401, code)
    assert emulator.state.writes == []


def test_signature_may_be_one_of_several(emulator, maintain, context):
    event = webhook_event(MAINTAIN, GOOD)
    event["headers"]["webhook-signature"] = "v1,bm90IGl0 " + event["headers"]["webhook-signature"]
    assert answer_of(maintain.lambda_handler(event, context))[0] == 200


def test_webhook_within_tolerance_is_accepted(emulator, maintain, context):
    assert answer_of(maintain.lambda_handler(webhook_event(MAINTAIN, GOOD, timestamp=_now() - 290), context))[0] == 200


def _strip(event, header):
    del event["headers"][header]
    return event


def _tamper(event):
    event["body"] = event["body"].replace("02:00Z", "12:00Z").replace("03:00Z", "13:00Z")
    return event


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ("not json", 400, "InvalidParameter"),
        ("[1, 2]", 400, "InvalidParameter"),
        ('"text"', 400, "InvalidParameter"),
        ("", 400, "InvalidParameter"),
        (json.dumps({**GOOD, "MaintainEndTime": "09:00Z"}), 400, "InvalidEndTime.Format"),
        (json.dumps({**GOOD, "MaintainStartTime": "9am"}), 400, "InvalidStartTime.Format"),
        (json.dumps({"MaintainStartTime": "02:00Z", "MaintainEndTime": "03:00Z"}), 400, "MissingParameter"),
        (json.dumps({**GOOD, "DryRun": "yes"}), 400, "InvalidParameter"),
        (json.dumps({**GOOD, "InstanceId": "r-unknown"}), 404, "NoSuchResource"),
        ("x" * 70_000, 413, "PayloadTooLarge"),
    ],
)
def test_webhook_errors_answer_with_alibaba_status_and_json(emulator, maintain, context, body, status, code):
    got_status, got = answer_of(maintain.lambda_handler(webhook_event(MAINTAIN, body), context))
    assert (got_status, got["Code"]) == (status, code)
    upstream = code == "NoSuchResource"  # Alibaba's own answer carries its diagnosis; local refusals have none
    assert set(got) == {"Code", "Message", "RequestId"} | ({"HostId", "Recommend"} if upstream else set())
    assert got["Message"]
    assert (got["RequestId"] is not None) == upstream


def test_subscription_instance_webhook_is_403(emulator, release, context):
    status, body = answer_of(release.lambda_handler(webhook_event(RELEASE, {"InstanceId": PREPAID_ID}), context))
    assert (status, body["Code"]) == (403, "ChargeTypeViolation")
    assert body["RequestId"]


def test_only_post_is_accepted(emulator, maintain, context):
    event = webhook_event(MAINTAIN, GOOD)
    event["requestContext"]["http"]["method"] = "GET"
    assert answer_of(maintain.lambda_handler(event, context))[0] == 405


def test_invalid_base64_body_is_400(emulator, maintain, context):
    event = webhook_event(MAINTAIN, GOOD)
    event["isBase64Encoded"] = True
    event["body"] = "%%%not base64%%%"
    assert answer_of(maintain.lambda_handler(event, context))[0] == 400


def test_webhook_without_a_configured_secret_refuses_everything(emulator, function_env, context):
    with environment({"WEBHOOK_SECRET": None}):
        maintain = load_function(MAINTAIN)
        status, body = answer_of(maintain.lambda_handler(webhook_event(MAINTAIN, GOOD), context))
    assert (status, body["Code"]) == (500, "Webhook.NotConfigured")
    assert emulator.state.writes == []


def test_rotation_accepts_either_configured_secret(emulator, function_env, context):
    with environment({"WEBHOOK_SECRET": f"{OTHER_SECRET} {WEBHOOK_SECRET}"}):
        maintain = load_function(MAINTAIN)
        for secret in (OTHER_SECRET, WEBHOOK_SECRET):
            assert answer_of(maintain.lambda_handler(webhook_event(MAINTAIN, GOOD, secret=secret), context))[0] == 200


def test_unexpected_failure_is_a_500_without_a_traceback(emulator, maintain, context, monkeypatch):
    def explode(*args, **kwargs):
        raise RuntimeError("internal detail that must not reach the caller")

    monkeypatch.setattr(maintain.handler.client, "call", explode)
    status, body = answer_of(maintain.lambda_handler(webhook_event(MAINTAIN, GOOD), context))
    assert (status, body["Code"]) == (500, "InternalError")
    assert "internal detail" not in json.dumps(body)
    assert "Traceback" not in json.dumps(body)
    with pytest.raises(AlibabaCloudError, match="^InternalError: ") as raised:
        maintain.lambda_handler(GOOD, context)
    assert "internal detail" not in str(raised.value)


def test_missing_credentials_is_a_clear_error(emulator, function_env, context):
    with environment({"ALIBABA_CLOUD_ACCESS_KEY_ID": None, "ALIBABA_CLOUD_ACCESS_KEY_SECRET": None}):
        maintain = load_function(MAINTAIN)
        with pytest.raises(AlibabaCloudError, match="^MissingCredentials: "):
            maintain.lambda_handler(GOOD, context)
    assert emulator.state.writes == []


def test_logs_carry_correlation_id_and_metrics_count_by_code(emulator, maintain, context, capsys, caplog):
    with pytest.raises(AlibabaCloudError):
        maintain.lambda_handler({**GOOD, "InstanceId": "r-unknown"}, context)
    failure_log = next(r for r in caplog.records if r.getMessage() == "Call failed")
    assert failure_log.error_code == "NoSuchResource"
    assert failure_log.request_id
    assert maintain.logger.get_correlation_id() == context.aws_request_id
    metrics = emf(capsys.readouterr().out)
    by_code = next(line for line in metrics if line.get("ErrorCode") == "NoSuchResource")
    assert by_code["Failures"] == [1.0]
    assert by_code["Action"] == "ModifyInstanceMaintainTime"
    totals = next(line for line in metrics if "Calls" in line)
    assert totals["Calls"] == [1.0]
    assert totals["Failures"] == [1.0]
    assert totals["Action"] == "ModifyInstanceMaintainTime"


@pytest.mark.parametrize("trigger", ["direct", "webhook"])
def test_both_functions_work_with_signature_v3(emulator, function_env, context, trigger):
    emulator.add_credentials("STS.NUv3Key", "v3-secret", "v3-token/+=")
    with environment(
        {
            "ALIBABA_CLOUD_SIGNATURE_VERSION": "v3",
            "ALIBABA_CLOUD_ACCESS_KEY_ID": "STS.NUv3Key",
            "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "v3-secret",
            "ALIBABA_CLOUD_SECURITY_TOKEN": "v3-token/+=",
        }
    ):
        maintain, release = load_function(MAINTAIN), load_function(RELEASE)
    when = in_future(hours=6)
    window = {"InstanceId": REDIS_ID, "MaintainStartTime": "10:00Z", "MaintainEndTime": "11:00Z"}
    if trigger == "direct":
        maintain.lambda_handler(window, context)
        release.lambda_handler({"InstanceId": ECS_ID, "AutoReleaseTime": when}, context)
    else:
        assert answer_of(maintain.lambda_handler(webhook_event(MAINTAIN, window), context))[0] == 200
        assert (
            answer_of(
                release.lambda_handler(webhook_event(RELEASE, {"InstanceId": ECS_ID, "AutoReleaseTime": when}), context)
            )[0]
            == 200
        )
    assert emulator.state.instances[REDIS_ID].MaintainStartTime == "10:00Z"
    assert emulator.state.instances[ECS_ID].AutoReleaseTime == when[:-3] + "00Z"
    assert [r.Status for r in emulator.state.writes] == [200, 200]


def test_signature_v3_mismatch_is_scrubbed(emulator, function_env, context):
    emulator.add_credentials("STS.NUv3Key", "v3-secret", "v3-token-value")
    with environment(
        {
            "ALIBABA_CLOUD_SIGNATURE_VERSION": "v3",
            "ALIBABA_CLOUD_ACCESS_KEY_ID": "STS.NUv3Key",
            "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "wrong",
            "ALIBABA_CLOUD_SECURITY_TOKEN": "v3-token-value",
        }
    ):
        maintain = load_function(MAINTAIN)
    with pytest.raises(AlibabaCloudError, match="^SignatureDoesNotMatch") as raised:
        maintain.lambda_handler(GOOD, context)
    assert "x-acs-security-token:***" in str(raised.value)
    assert "v3-token-value" not in str(raised.value)


def test_sign_helper_makes_headers_the_function_accepts(emulator, maintain, context, capsys):
    from local.sign import main as sign

    body = json.dumps(GOOD)
    assert sign(["--secret", WEBHOOK_SECRET, "--body", body]) == 0
    headers = dict(line.split(": ", 1) for line in capsys.readouterr().out.splitlines())
    event = webhook_event(MAINTAIN, body)
    event["headers"].update(headers)
    assert answer_of(maintain.lambda_handler(event, context))[0] == 200
    capsys.readouterr()  # the invocation's own log lines
    assert (
        sign(["--secret", WEBHOOK_SECRET, "--body", body, "--curl", "https://example.invalid/redis/maintain-time"]) == 0
    )
    assert capsys.readouterr().out.startswith("curl -sS -X POST https://example.invalid/redis/maintain-time -H ")


def test_a_rejected_webhook_is_counted_once(emulator, maintain, context, capsys):
    maintain.lambda_handler(webhook_event(MAINTAIN, {**GOOD, "Hop": -1}), context)
    maintain.lambda_handler(webhook_event(MAINTAIN, GOOD, secret=OTHER_SECRET), context)
    lines = emf(capsys.readouterr().out)
    by_code = [line for line in lines if "ErrorCode" in line]
    assert sorted((line["ErrorCode"], line["Rejected"]) for line in by_code) == [
        ("InvalidParameter", [1.0]),
        ("Webhook.InvalidSignature", [1.0]),
    ]


def test_a_call_refused_before_sending_is_rejected_not_failed(emulator, maintain, context, capsys):
    with pytest.raises(AlibabaCloudError, match=r"^InvalidEndTime\.Format: "):
        maintain.lambda_handler({**GOOD, "MaintainEndTime": "09:00Z"}, context)
    metrics = emf(capsys.readouterr().out)
    (rejected,) = [m for m in metrics if m.get("ErrorCode") == "InvalidEndTime.Format"]
    assert rejected["Rejected"] == [1.0]
    assert not [m for m in metrics if "Failures" in m or "Calls" in m]  # no call was sent, none failed
    assert emulator.state.writes == []


def test_a_malformed_direct_event_is_counted_as_rejected(emulator, maintain, context, capsys):
    with pytest.raises(AlibabaCloudError, match="^InvalidParameter: "):
        maintain.lambda_handler({**GOOD, "Hop": float("nan")}, context)
    (rejected,) = [m for m in emf(capsys.readouterr().out) if m.get("ErrorCode") == "InvalidParameter"]
    assert rejected["Rejected"] == [1.0]
