"""What the caller sees when the network or the gateway misbehaves, and that secrets never leak."""

from __future__ import annotations

import json
import socket

import pytest
from conftest import MAINTAIN, REDIS_ID, answer_of, webhook_event
from local.runtime import environment, load_function

from alibaba_cloud.rpc.credentials import mask
from alibaba_cloud.errors import AlibabaCloudError

GOOD = {"InstanceId": REDIS_ID, "MaintainStartTime": "02:00Z", "MaintainEndTime": "03:00Z"}


def call(function, context):
    with pytest.raises(AlibabaCloudError) as raised:
        function.lambda_handler(GOOD, context)
    return raised.value


def test_upstream_request_id_reaches_the_operator(emulator, maintain, context):
    emulator.inject("internal", 100)
    error = call(maintain, context)
    assert error.request_id == emulator.state.received[-1].RequestId
    assert f"(RequestId: {error.request_id})" in str(error)


def test_html_error_page_is_described_not_crashed_on(emulator, maintain, context):
    emulator.inject("html", 100)
    error = call(maintain, context)
    assert "text/html" in error.message and "502 Bad Gateway" in error.message


def test_read_timeout_says_the_change_may_have_happened(emulator, function_env, context):
    emulator.inject("latency", 100, Seconds=1.0)
    with environment({"ALIBABA_CLOUD_READ_TIMEOUT": "0.2", "ALIBABA_CLOUD_MAX_ATTEMPTS": "1"}):
        maintain = load_function(MAINTAIN)
    error = call(maintain, context)
    assert error.code == "NetworkError.ReadTimeout" and "may have been applied" in error.message
    assert error.http_status == 504


def test_nothing_listening_is_a_connection_failure(function_env, context):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    with environment({"ALIBABA_CLOUD_ENDPOINT": f"http://127.0.0.1:{closed_port}"}):
        maintain = load_function(MAINTAIN)
    assert call(maintain, context).code == "NetworkError.ConnectionFailed"


def test_webhook_sees_status_and_json_for_gateway_faults(emulator, maintain, context):
    emulator.inject("unavailable", 100)
    status, body = answer_of(maintain.lambda_handler(webhook_event(MAINTAIN, GOOD), context))
    assert (status, body["Code"]) == (503, "ServiceUnavailable") and body["RequestId"]


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
    with environment({"ALIBABA_CLOUD_ACCESS_KEY_ID": "STS.NUtestTemporaryKey",
                      "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "sts-secret",
                      "ALIBABA_CLOUD_SECURITY_TOKEN": "sts-token/+=value"}):
        maintain = load_function(MAINTAIN)
        assert maintain.lambda_handler(GOOD, context)["Outcome"] == "Succeeded"


@pytest.mark.parametrize(("version", "echo"), [("v2", "server string to sign is"), ("v3", "server canonical request is")])
def test_secrets_never_appear_in_errors_results_or_logs(emulator, function_env, context, capsys, caplog, version, echo):
    """SignatureDoesNotMatch echoes what the server signed, token included: it must come back scrubbed."""
    token = "SECRET-sts-token/with+chars=="
    secret = "the-wrong-secret-value"
    emulator.add_credentials("STS.NUleakTest", "right-secret", token)
    caplog.set_level("DEBUG")
    with environment({"ALIBABA_CLOUD_ACCESS_KEY_ID": "STS.NUleakTest", "ALIBABA_CLOUD_ACCESS_KEY_SECRET": secret,
                      "ALIBABA_CLOUD_SECURITY_TOKEN": token, "POWERTOOLS_LOG_LEVEL": "DEBUG",
                      "ALIBABA_CLOUD_SIGNATURE_VERSION": version}):
        maintain = load_function(MAINTAIN)
        error = call(maintain, context)
        answer = maintain.lambda_handler(webhook_event(MAINTAIN, GOOD), context)
    assert error.code == "SignatureDoesNotMatch" and echo in error.message
    assert "***" in error.message  # the token was there, and was replaced
    seen = "\n".join([str(error), repr(error), json.dumps(answer), capsys.readouterr().out, caplog.text,
                      *(json.dumps(r.__dict__, default=str) for r in caplog.records)])
    for forbidden in (token, secret, "right-secret"):
        for form in (forbidden, forbidden.replace("/", "%2F").replace("+", "%2B").replace("=", "%3D")):
            assert form not in seen
    assert "STS.NUleakTest" not in seen and mask("STS.NUleakTest") in error.message
