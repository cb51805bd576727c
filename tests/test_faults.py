"""The fault matrix: what the layer does when Alibaba throttles, fails or the network breaks.

Each row asserts the number of attempts the emulator received, the final outcome, and what the
caller sees: a direct invocation's exception starts with the final code and carries the RequestId;
a webhook answers with the status and a JSON body carrying both.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from alibaba_cloud.errors import AlibabaCloudError
from helpers import GOOD, MAINTAIN, answer_of, webhook_event
from local.runtime import LambdaContext, environment, load_function

FOREVER = 100

# (fault kind, times, attempts seen, final code or None for success, final HTTP status, carries RequestId)
MATRIX = [
    ("throttle", 2, 3, None, 200, True),
    ("throttle", FOREVER, 4, "Throttling.User", 400, True),
    ("internal", 1, 2, None, 200, True),
    ("internal", FOREVER, 4, "InternalError", 500, True),
    ("unavailable", 1, 2, None, 200, True),
    ("unavailable", FOREVER, 4, "ServiceUnavailable", 503, True),
    ("nonce_used", 1, 2, None, 200, True),
    ("drop", 1, 2, None, 200, True),
    ("drop", FOREVER, 4, "NetworkError.ConnectionFailed", 502, False),
    ("reset", 1, 2, None, 200, True),
    ("reset", FOREVER, 4, "NetworkError.ConnectionFailed", 502, False),
    ("html", 1, 2, None, 200, True),
    ("html", FOREVER, 4, "InvalidResponse", 502, False),
    ("truncated", 1, 1, "InvalidResponse", 502, False),
    ("text", 1, 1, "InvalidResponse", 502, False),
]


@pytest.fixture
def fast_retries(function_env):
    with environment({"ALIBABA_CLOUD_RETRY_BASE_DELAY": "0.02", "ALIBABA_CLOUD_RETRY_MAX_DELAY": "0.1"}):
        yield


def invoke(function, trigger, context):
    """(status, code, request id, message) as the caller of that trigger sees them."""
    if trigger == "webhook":
        status, body = answer_of(function.lambda_handler(webhook_event(MAINTAIN, GOOD), context))
        return status, body.get("Code"), body["RequestId"], body.get("Message", "")
    try:
        result = function.lambda_handler(GOOD, context)
    except AlibabaCloudError as error:
        return error.http_status, error.code, error.request_id, str(error)
    return 200, None, result["RequestId"], ""


@pytest.mark.parametrize("trigger", ["direct", "webhook"])
@pytest.mark.parametrize(
    ("kind", "times", "attempts", "code", "status", "has_request_id"), MATRIX, ids=[f"{r[0]}x{r[1]}" for r in MATRIX]
)
def test_fault_matrix(emulator, fast_retries, context, trigger, kind, times, attempts, code, status, has_request_id):
    maintain = load_function(MAINTAIN)
    emulator.inject(kind, times, RetryAfterMs=20, Action="ModifyInstanceMaintainTime")
    got_status, got_code, request_id, message = invoke(maintain, trigger, context)
    received = emulator.state.writes
    assert len(received) == attempts
    assert (got_status, got_code) == (status, code)
    assert len({r.Nonce for r in received}) == attempts  # every attempt signed anew
    if has_request_id:
        assert request_id == received[-1].RequestId
    if code and trigger == "direct":
        assert message.startswith(f"{code}: ")
        if has_request_id:
            assert f"(RequestId: {request_id})" in message
        if attempts > 1:
            assert f"after {attempts} attempts" in message


def test_throttling_waits_as_long_as_the_gateway_asks(emulator, function_env, context):
    maintain = load_function(MAINTAIN)
    emulator.inject("throttle", 2, RetryAfterMs=300, Action="ModifyInstanceMaintainTime")
    started = time.monotonic()
    assert maintain.lambda_handler(GOOD, context)["Outcome"] == "Succeeded"
    assert time.monotonic() - started >= 0.6


def test_read_timeout_is_retried_with_a_fresh_signature(emulator, fast_retries, context):
    emulator.inject("latency", 1, Seconds=1.0, Action="ModifyInstanceMaintainTime")
    with environment({"ALIBABA_CLOUD_READ_TIMEOUT": "0.3"}):
        maintain = load_function(MAINTAIN)
    assert maintain.lambda_handler(GOOD, context)["Outcome"] == "Succeeded"
    assert len(emulator.state.writes) == 2


def test_slow_answer_near_the_deadline_is_reported_in_time(emulator, fast_retries):
    """1.5 s left and a 1 s margin: one attempt of at most 0.5 s, then the failure is reported."""
    emulator.inject("latency", FOREVER, Seconds=3.0, Action="ModifyInstanceMaintainTime")
    maintain = load_function(MAINTAIN)
    with pytest.raises(AlibabaCloudError) as raised:
        maintain.lambda_handler(GOOD, LambdaContext(remaining_ms=1500))
    assert raised.value.code == "DeadlineExceeded"
    assert "may have been applied" in raised.value.message
    assert len(emulator.state.writes) == 1


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


class SlowFailingTransport:
    """Every attempt takes ``seconds`` of the fake clock and fails in a way worth another attempt."""

    def __init__(self, clock: FakeClock, seconds: float) -> None:
        self.clock, self.seconds, self.attempts = clock, seconds, 0

    def post(self, url, signed, deadline):
        self.attempts += 1
        self.clock.sleep(self.seconds)
        raise AlibabaCloudError("NetworkError.ReadTimeout", "No answer in time.", http_status=504, retryable=True)


@pytest.mark.parametrize(("left", "attempts"), [(1.5, 1), (2.4, 3), (60.0, 4)])
def test_attempts_stop_while_the_failure_can_still_be_reported(left, attempts):
    """Attempts of 0.5 s each, a 1 s margin: another starts only while 0.2 s is left before the margin (at 0,
    0.5 and 1.0 s of 2.4 s), and never past the attempts allowed (4)."""
    from alibaba_cloud.actions.r_kvstore import MODIFY_INSTANCE_MAINTAIN_TIME
    from alibaba_cloud.actions.validation import ValidationContext
    from alibaba_cloud.config import Settings
    from alibaba_cloud.rpc.client import RpcClient
    from alibaba_cloud.rpc.credentials import CredentialsProvider

    settings = Settings(region_id="cn-hangzhou", retry_base_delay=0.0, retry_max_delay=0.0)
    clock = FakeClock()
    transport = SlowFailingTransport(clock, 0.5)
    credentials = CredentialsProvider(
        None,
        str,
        environ={"ALIBABA_CLOUD_ACCESS_KEY_ID": "LTAI5tFakeClockKey0", "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "secret"},
    )
    client = RpcClient(settings, transport, credentials, sleep=clock.sleep, clock=clock)  # type: ignore[arg-type]
    request = MODIFY_INSTANCE_MAINTAIN_TIME.request(GOOD, ValidationContext(now=datetime.now(UTC)), settings)
    with pytest.raises(AlibabaCloudError, match="^NetworkError.ReadTimeout: "):
        client.call(request, deadline=left)
    assert transport.attempts == attempts


def test_no_time_left_means_no_call(emulator, function_env):
    maintain = load_function(MAINTAIN)
    with pytest.raises(AlibabaCloudError, match="^DeadlineExceeded: "):
        maintain.lambda_handler(GOOD, LambdaContext(remaining_ms=900))
    assert emulator.state.writes == []


@pytest.mark.parametrize("trigger", ["direct", "webhook"])
def test_clock_skew_is_said_plainly_and_not_retried(emulator, function_env, context, trigger):
    emulator.state.clock_skew = timedelta(minutes=20)
    status, code, request_id, message = invoke(load_function(MAINTAIN), trigger, context)
    assert (status, code) == (400, "InvalidTimeStamp.Expired")
    assert request_id
    assert "clock" in message
    assert len(emulator.state.received) == 1  # the protection read, refused: no write follows


@pytest.mark.parametrize("trigger", ["direct", "webhook"])
def test_signature_mismatch_is_final(emulator, function_env, context, trigger):
    with environment({"ALIBABA_CLOUD_ACCESS_KEY_SECRET": "wrong"}):
        status, code, request_id, _ = invoke(load_function(MAINTAIN), trigger, context)
    assert (status, code) == (400, "SignatureDoesNotMatch")
    assert request_id
    assert len(emulator.state.received) == 1  # the protection read, refused: no write follows


def test_other_client_errors_are_never_retried(emulator, function_env, context):
    maintain = load_function(MAINTAIN)
    with pytest.raises(AlibabaCloudError, match="^NoSuchResource"):
        maintain.lambda_handler({**GOOD, "InstanceId": "r-unknown"}, context)
    assert len(emulator.state.writes) == 1


def test_attempts_are_bounded_by_the_setting(emulator, fast_retries, context):
    emulator.inject("internal", FOREVER, Action="ModifyInstanceMaintainTime")
    with environment({"ALIBABA_CLOUD_MAX_ATTEMPTS": "2"}):
        maintain = load_function(MAINTAIN)
    with pytest.raises(
        AlibabaCloudError,
        match=r"^InternalError: .*\[after 2 attempts; RequestIds: [0-9A-F-]{36}, [0-9A-F-]{36}\] Recommend: https://\S+$",
    ):
        maintain.lambda_handler(GOOD, context)
