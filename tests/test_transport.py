"""What the caller sees when the network or the gateway misbehaves, and that secrets never leak."""

from __future__ import annotations

import json
import socket

import pytest

from alibaba_cloud.errors import AlibabaCloudError
from alibaba_cloud.rpc.credentials import mask
from helpers import GOOD, MAINTAIN, REDIS_ID, answer_of, closed_port, webhook_event
from local.runtime import environment, load_function


def call(function, context):
    with pytest.raises(AlibabaCloudError) as raised:
        function.lambda_handler(GOOD, context)
    return raised.value


def test_upstream_request_id_reaches_the_operator(emulator, maintain, context):
    emulator.inject("internal", 100, Action="ModifyInstanceMaintainTime")
    error = call(maintain, context)
    assert error.request_id == emulator.state.writes[-1].RequestId
    assert f"(RequestId: {error.request_id})" in str(error)


def test_html_error_page_is_described_not_crashed_on(emulator, maintain, context):
    emulator.inject("html", 100)
    error = call(maintain, context)
    assert "text/html" in error.message
    assert "502 Bad Gateway" in error.message


def test_read_timeout_says_the_change_may_have_happened(emulator, function_env, context):
    emulator.inject("latency", 100, Seconds=1.0, Action="ModifyInstanceMaintainTime")
    with environment({"ALIBABA_CLOUD_READ_TIMEOUT": "0.2", "ALIBABA_CLOUD_MAX_ATTEMPTS": "1"}):
        maintain = load_function(MAINTAIN)
    error = call(maintain, context)
    assert error.code == "NetworkError.ReadTimeout"
    assert "may have been applied" in error.message
    assert error.http_status == 504


def test_nothing_listening_is_a_connection_failure(function_env, context):
    closed = closed_port()
    with environment({"ALIBABA_CLOUD_ENDPOINT": f"http://127.0.0.1:{closed}"}):
        maintain = load_function(MAINTAIN)
    assert call(maintain, context).code == "NetworkError.ConnectionFailed"


def test_webhook_sees_status_and_json_for_gateway_faults(emulator, maintain, context):
    emulator.inject("unavailable", 100, Action="ModifyInstanceMaintainTime")
    status, body = answer_of(maintain.lambda_handler(webhook_event(MAINTAIN, GOOD), context))
    assert (status, body["Code"]) == (503, "ServiceUnavailable")
    assert body["RequestId"]


def test_wrong_secret_is_signature_does_not_match(emulator, function_env, context):
    with environment({"ALIBABA_CLOUD_ACCESS_KEY_SECRET": "not-the-secret"}):
        maintain = load_function(MAINTAIN)
        assert call(maintain, context).code == "SignatureDoesNotMatch"


def test_unknown_access_key(emulator, function_env, context):
    with environment({"ALIBABA_CLOUD_ACCESS_KEY_ID": "LTAI5tUnknownKey00000"}):
        maintain = load_function(MAINTAIN)
        error = call(maintain, context)
    assert (error.code, error.http_status) == ("InvalidAccessKeyId.NotFound", 404)


def test_sts_credentials_send_the_token(emulator, function_env, context):
    emulator.add_credentials("STS.NUtestTemporaryKey", "sts-secret", "sts-token/+=value")
    with environment(
        {
            "ALIBABA_CLOUD_ACCESS_KEY_ID": "STS.NUtestTemporaryKey",
            "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "sts-secret",
            "ALIBABA_CLOUD_SECURITY_TOKEN": "sts-token/+=value",
        }
    ):
        maintain = load_function(MAINTAIN)
        assert maintain.lambda_handler(GOOD, context)["Outcome"] == "Succeeded"


@pytest.mark.parametrize(
    ("version", "echo"), [("v2", "server string to sign is"), ("v3", "server canonical request is")]
)
def test_secrets_never_appear_in_errors_results_or_logs(emulator, function_env, context, capsys, caplog, version, echo):
    """SignatureDoesNotMatch echoes what the server signed, token included: it must come back scrubbed."""
    token = "SECRET-sts-token/with+chars=="
    secret = "the-wrong-secret-value"
    emulator.add_credentials("STS.NUleakTest", "right-secret", token)
    caplog.set_level("DEBUG")
    with environment(
        {
            "ALIBABA_CLOUD_ACCESS_KEY_ID": "STS.NUleakTest",
            "ALIBABA_CLOUD_ACCESS_KEY_SECRET": secret,
            "ALIBABA_CLOUD_SECURITY_TOKEN": token,
            "POWERTOOLS_LOG_LEVEL": "DEBUG",
            "ALIBABA_CLOUD_SIGNATURE_VERSION": version,
        }
    ):
        maintain = load_function(MAINTAIN)
        error = call(maintain, context)
        answer = maintain.lambda_handler(webhook_event(MAINTAIN, GOOD), context)
    assert error.code == "SignatureDoesNotMatch"
    assert echo in error.message
    assert "***" in error.message  # the token was there, and was replaced
    seen = "\n".join(
        [
            str(error),
            repr(error),
            json.dumps(answer),
            capsys.readouterr().out,
            caplog.text,
            *(json.dumps(r.__dict__, default=str) for r in caplog.records),
        ]
    )
    for forbidden in (token, secret, "right-secret"):
        for form in (forbidden, forbidden.replace("/", "%2F").replace("+", "%2B").replace("=", "%3D")):
            assert form not in seen
    assert "STS.NUleakTest" not in seen
    assert mask("STS.NUleakTest") in error.message


# Every detail of an error: Recommend, HostId, AccessDeniedDetail; XML bodies; where the failure happened


def test_a_ram_denial_says_which_policy_denied_which_action_everywhere(emulator, maintain, context, caplog):
    emulator.inject("denied", 100, Action="ModifyInstanceMaintainTime")
    error = call(maintain, context)
    detail = error.access_denied_detail
    assert (error.code, error.http_status) == ("Forbidden.RAM", 403)
    assert detail["AuthAction"] == "kvstore:ModifyInstanceMaintainTime"
    assert detail["NoPermissionType"] == "ImplicitDeny"
    assert detail["PolicyType"] == "AccountLevelIdentityBasedPolicy"
    assert error.recommend.startswith("https://")
    assert '"AuthAction": "kvstore:ModifyInstanceMaintainTime"' in str(error)  # what an async failure's record shows
    logged = [r for r in caplog.records if r.getMessage() == "Call failed"]
    assert logged[-1].access_denied_detail == detail
    assert logged[-1].recommend == error.recommend

    status, body = answer_of(maintain.lambda_handler(webhook_event(MAINTAIN, GOOD), context))
    assert status == 403
    assert body["AccessDeniedDetail"] == detail
    assert body["Recommend"]
    assert body["HostId"]

    window = {k: v for k, v in GOOD.items() if k != "InstanceId"}
    batch = maintain.lambda_handler({**window, "InstanceIds": [REDIS_ID, "r-another00000001"]}, context)
    (group,) = batch["NotSucceeded"]
    assert group["ErrorCode"] == "Forbidden.RAM"
    assert group["AccessDeniedDetail"] == detail


def test_the_official_client_reads_the_same_denial(emulator, maintain, context):
    from alibabacloud_r_kvstore20150101 import models
    from alibabacloud_r_kvstore20150101.client import Client
    from alibabacloud_tea_openapi.exceptions import ClientException
    from alibabacloud_tea_openapi.models import Config

    from helpers import ACCESS_KEY_ID, ACCESS_KEY_SECRET

    emulator.inject("denied", 2, Action="ModifyInstanceMaintainTime")
    ours = call(maintain, context)
    client = Client(
        Config(
            access_key_id=ACCESS_KEY_ID,
            access_key_secret=ACCESS_KEY_SECRET,
            endpoint=emulator.url.split("//")[1],
            protocol="http",
            region_id="cn-hangzhou",
        )
    )
    with pytest.raises(ClientException) as raised:
        client.modify_instance_maintain_time(
            models.ModifyInstanceMaintainTimeRequest(
                instance_id=REDIS_ID, maintain_start_time="02:00Z", maintain_end_time="03:00Z"
            )
        )
    assert raised.value.access_denied_detail == ours.access_denied_detail
    assert raised.value.code == ours.code
    assert raised.value.data["Recommend"] == ours.recommend


def test_xml_error_bodies_are_read_like_json_ones(emulator, function_env, context):
    emulator.inject("xml", 100, Action="ModifyInstanceMaintainTime")
    with environment({"ALIBABA_CLOUD_MAX_ATTEMPTS": "1"}):
        maintain = load_function(MAINTAIN)
    error = call(maintain, context)
    received = emulator.state.writes[-1]
    assert (error.code, error.http_status, error.request_id) == ("InternalError", 500, received.RequestId)
    assert error.message.startswith("The request processing has failed")
    assert error.retryable
    assert error.recommend == "https://api.aliyun.com/troubleshoot?q=InternalError"
    assert error.host_id


@pytest.mark.parametrize(
    "body",
    [
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
        b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>'
        b"<Error><Code>&d;</Code></Error>",
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><Error><Code>&e;</Code></Error>',
        b"<Error><Code>unclosed",
        b"<Other><Code>X</Code></Other>",
    ],
)
def test_hostile_or_broken_xml_is_an_invalid_response(body):
    from alibaba_cloud.rpc.transport import Answer, parse_answer

    with pytest.raises(AlibabaCloudError) as raised:
        parse_answer(Answer(500, {"Content-Type": "text/xml"}, body))
    error = raised.value  # never an entity's expansion, never a file's content
    assert len(str(error)) < 1000
    assert "root:" not in str(error)
    assert "aaaaaaaaaa" * 10 not in str(error)


def test_an_access_denied_detail_is_kept_flat_and_bounded():
    from alibaba_cloud.rpc.transport import Answer, parse_answer

    detail = {f"Field{n}": "x" * 5000 for n in range(40)} | {"Nested": {"a": 1}, "AuthAction": "ecs:Describe*"}
    body = json.dumps({"Code": "Forbidden.RAM", "Message": "no", "AccessDeniedDetail": detail}).encode()
    with pytest.raises(AlibabaCloudError) as raised:
        parse_answer(Answer(403, {"Content-Type": "application/json"}, body))
    kept = raised.value.access_denied_detail
    assert len(kept) <= 16
    assert all(isinstance(v, str) and len(v) <= 2048 for v in kept.values())
    assert "Nested" not in kept


def test_a_host_that_does_not_resolve_fails_at_once(function_env, context, monkeypatch):
    real = socket.getaddrinfo
    looked_up = []

    def resolver(host, *args, **kwargs):  # no query leaves the machine: this name is refused here
        if host == "ecs.nowhere-1.aliyuncs.com":
            looked_up.append(host)
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    with environment({"ALIBABA_CLOUD_ENDPOINT": "http://ecs.nowhere-1.aliyuncs.com:8080"}):
        maintain = load_function(MAINTAIN)
    error = call(maintain, context)
    assert (error.code, error.attempts, error.retryable) == ("NetworkError.NameResolution", 1, False)
    assert "ecs.nowhere-1.aliyuncs.com" in error.message
    assert "nothing was sent" in error.message
    assert "may have been applied" not in error.message
    assert looked_up == ["ecs.nowhere-1.aliyuncs.com"]


def test_a_refused_connection_says_nothing_was_sent(function_env, context):
    closed = closed_port()
    with environment({"ALIBABA_CLOUD_ENDPOINT": f"http://127.0.0.1:{closed}", "ALIBABA_CLOUD_MAX_ATTEMPTS": "1"}):
        maintain = load_function(MAINTAIN)
    error = call(maintain, context)
    assert error.code == "NetworkError.ConnectionFailed"
    assert error.retryable
    assert "nothing was sent" in error.message
    assert "may have been applied" not in error.message


def test_a_connection_broken_after_sending_may_have_been_applied(emulator, function_env, context):
    emulator.inject("reset", 100, Action="ModifyInstanceMaintainTime")
    with environment({"ALIBABA_CLOUD_MAX_ATTEMPTS": "1"}):
        maintain = load_function(MAINTAIN)
    error = call(maintain, context)
    assert error.code == "NetworkError.ConnectionFailed"
    assert "may have been applied" in error.message
