"""Bad input, generated: every event either succeeds or ends in a clear error with a code.

Properties for both triggers: no uncaught exception, webhook answers are JSON with a 4xx status
(the emulator is healthy, so no 5xx), and nothing the layer let through was refused by the
emulator's own validation: Alibaba is never called with unvalidated parameters.
``make fuzz`` runs these with tens of thousands of cases (HYPOTHESIS_PROFILE=fuzz).
"""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alibaba_cloud.errors import AlibabaCloudError
from helpers import ECS_ID, MAINTAIN, REDIS_ID, RELEASE, in_future, webhook_event

VALIDATION_CODES = {
    "MissingParameter",
    "UnsupportedParameter",
    "InvalidParameter",
    "InvalidStartTime.Format",
    "InvalidEndTime.Format",
    "InvalidAutoReleaseTime.Malformed",
    "InvalidAutoReleaseTime.TooEarly",
    "InvalidAutoReleaseTime.TooLate",
}
NAMES = ["InstanceId", "MaintainStartTime", "MaintainEndTime", "AutoReleaseTime", "RegionId"]
ODD_TEXT = st.text(st.characters(codec="utf-8"), max_size=30) | st.text(st.characters(max_codepoint=0x1F), max_size=5)
PLAUSIBLE = st.sampled_from(
    [
        REDIS_ID,
        ECS_ID,
        "02:00Z",
        "03:00Z",
        "23:00Z",
        "00:00Z",
        "cn-hangzhou",
        "cn-shanghai",
        in_future(hours=2),
        in_future(minutes=10),
        "",
        " ",
        "2:00Z",
        "r-unknown",
        "PT4H",
        "P1D",
        "Asia/Shanghai",
        "02:00",
        "ModifyInstanceMaintainTime",
        "ModifyInstanceAutoReleaseTime",
        "Succeeded",
        "2026-11-22T02:00:00Z",
        0,
        1,
        99,
        # refused before any connection: not https, or not an allowed host
        ["https://example.invalid/hook"],
        ["ftp://127.0.0.1/x"],
        ["not a url"],
    ]
)
HUGE = st.integers(300, 100_000).map(lambda n: "x" * n)
JSON_LEAF = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | ODD_TEXT | PLAUSIBLE | HUGE
JSON_VALUE = st.recursive(
    JSON_LEAF, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(ODD_TEXT, inner, max_size=3), max_leaves=6
)
CHAIN = [
    "Next",
    "Hop",
    "NotifyUrls",
    "CorrelationId",
    "ScheduledTime",
    "AutoReleaseAfter",
    "TimeZone",
    "Parameters",
    "Outcome",
    "Targets",
    "InstanceIds",
    "RateControl",
]
KEYS = (
    st.sampled_from(NAMES)
    | st.sampled_from(["instanceid", "INSTANCEID", "Action", "Signature", "DryRun", ""])
    | st.sampled_from(CHAIN)
    | ODD_TEXT
)
PARAMETER_OBJECTS = st.dictionaries(KEYS, JSON_VALUE | PLAUSIBLE, max_size=6)
DIRECT_EVENTS = PARAMETER_OBJECTS | JSON_VALUE


def assert_nothing_unvalidated_reached(emulator):
    refused = [r for r in emulator.state.received if r.Code in VALIDATION_CODES]
    assert not refused, refused


@pytest.mark.parametrize("function", [MAINTAIN, RELEASE])
def test_direct_events_succeed_or_fail_clearly(emulator, function_env, context, function):
    from local.runtime import load_function

    handler = load_function(function).lambda_handler

    @given(DIRECT_EVENTS)
    def check(event):
        try:
            result = handler(event, context)
        except AlibabaCloudError as error:
            assert error.code
            assert str(error).startswith(f"{error.code}: ")
            assert error.http_status in (400, 403, 404)
        else:
            assert_result(result)
        assert_nothing_unvalidated_reached(emulator)

    check()


def assert_result(result):
    """A success, or a batch whose every target has an outcome."""
    if "Summary" in result:
        assert result["Summary"]["Total"] == len(result["Targets"]) >= 1
        assert {t["Outcome"] for t in result["Targets"]} <= {"Succeeded", "Failed", "NotAttempted"}
        assert all(t.get("ErrorCode") for t in result["Targets"] if t["Outcome"] == "Failed")
    else:
        assert result["Outcome"] == "Succeeded"
        assert result["RequestId"]


BODIES = (
    PARAMETER_OBJECTS.map(lambda d: json.dumps(d, ensure_ascii=False).encode("utf-8", "surrogatepass"))
    | JSON_VALUE.map(lambda v: json.dumps(v).encode())
    | st.binary(max_size=200)
    | st.sampled_from([b"", b"{", b"null", b"{}", b'{"InstanceId": "' + REDIS_ID.encode() + b'"}'])
)
HEADER_NAMES = st.sampled_from(
    ["webhook-id", "Webhook-Id", "WEBHOOK-SIGNATURE", "webhook-timestamp", "content-type", "X-Odd"]
)


@st.composite
def webhook_events(draw, function):
    body = draw(BODIES)
    try:
        body.decode("utf-8")
        as_base64 = draw(st.booleans())
    except UnicodeDecodeError:
        as_base64 = True  # API Gateway sends bodies that are not UTF-8 as Base64
    event = webhook_event(function, body, base64_body=as_base64)
    signing = draw(st.sampled_from(["valid", "valid", "unsigned", "forged", "odd-case"]))
    headers = event["headers"]
    if signing == "unsigned":
        for name in ("webhook-id", "webhook-timestamp", "webhook-signature"):
            headers.pop(name)
    elif signing == "forged":
        headers["webhook-signature"] = "v1," + base64.b64encode(draw(st.binary(min_size=32, max_size=32))).decode()
    elif signing == "odd-case":
        for name in ("webhook-id", "webhook-timestamp", "webhook-signature"):
            headers[name.title()] = headers.pop(name)
    for name, value in draw(st.dictionaries(HEADER_NAMES, ODD_TEXT, max_size=2)).items():
        headers[name] = value
    event["requestContext"]["http"]["method"] = draw(st.sampled_from(["POST", "POST", "GET", "PUT", "DELETE", "post"]))
    event["rawPath"] = draw(st.sampled_from([event["rawPath"], "/", "/other", "/../etc/passwd"]))
    if draw(st.integers(0, 9)) == 0:  # now and then, an event mangled beyond what API Gateway sends
        field = draw(st.sampled_from(["body", "headers", "isBase64Encoded"]))
        event[field] = draw(JSON_VALUE)
    return event


@pytest.mark.parametrize("function", [MAINTAIN, RELEASE])
def test_webhook_events_always_get_a_clean_json_answer(emulator, function_env, context, function):
    from local.runtime import load_function

    handler = load_function(function).lambda_handler

    @given(webhook_events(function))
    def check(event):
        answer = handler(event, context)
        body = json.loads(answer["body"])
        assert answer["headers"]["Content-Type"] == "application/json"
        if answer["statusCode"] in (200, 207):
            assert_result(body)
        else:
            assert answer["statusCode"] in (400, 401, 403, 404, 405, 413)
            assert body["Code"]
            assert body["Message"]
            assert "Traceback" not in body["Message"]
        assert_nothing_unvalidated_reached(emulator)

    check()
