"""Shared fixtures: the emulator on 127.0.0.1, function cold starts, real-shaped events."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from alibaba_cloud.delivery.standard_webhooks import decode_secret, sign_headers
from local.emulator import EmulatorServer
from local.runtime import LambdaContext, environment, load_function, sample_event

ROOT = Path(__file__).resolve().parent.parent

ACCESS_KEY_ID = "LTAI5tTestAccessKey01"
ACCESS_KEY_SECRET = "tEsT-sEcReT/with+odd=chars&%"
WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"webhook-key-for-tests-0123456789").decode()
REDIS_ID = "r-bp1zxszhcgatnx1test"
ECS_ID = "i-bp1env7nl3mijm2test"
PREPAID_ID = "i-bp1subscription1test"
MAINTAIN = "modify_instance_maintain_time"
RELEASE = "modify_instance_auto_release_time"

# Settings that a developer's shell might carry must not leak into the tests.
CLEAN_ENV = {
    name: None
    for name in (
        "ALIBABA_CLOUD_ENDPOINT",
        "ALIBABA_CLOUD_REGION_ID",
        "ALIBABA_CLOUD_ACCESS_KEY_ID",
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
        "ALIBABA_CLOUD_SECURITY_TOKEN",
        "ALIBABA_CLOUD_CREDENTIALS_SECRET_ID",
        "ALIBABA_CLOUD_NETWORK",
        "ALIBABA_CLOUD_READ_TIMEOUT",
        "ALIBABA_CLOUD_CONNECT_TIMEOUT",
        "WEBHOOK_SECRET",
        "WEBHOOK_SECRET_ID",
        "MAINTAIN_WINDOW_RULE",
        "POWERTOOLS_METRICS_DISABLED",
        "NOTIFY_URLS",
        "NOTIFY_ALLOW_HTTP",
        "NOTIFY_ALLOWED_HOSTS",
        "NOTIFY_ALLOWED_NETWORKS",
        "CHAIN_MAX_HOPS",
        "CHAIN_MAX_INVOCATIONS",
        "ALIBABA_CLOUD_SIGNATURE_VERSION",
        "ALIBABA_CLOUD_MAX_ATTEMPTS",
        "ALIBABA_CLOUD_RETRY_BASE_DELAY",
        "ALIBABA_CLOUD_RETRY_MAX_DELAY",
        "ALIBABA_CLOUD_DEADLINE_MARGIN",
        "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT",
        "AWS_SESSION_TOKEN",
    )
}


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def in_future(**delta: float) -> str:
    return iso(datetime.now(UTC) + timedelta(**delta))


@pytest.fixture
def emulator():
    with EmulatorServer() as server:
        server.add_credentials(ACCESS_KEY_ID, ACCESS_KEY_SECRET)
        server.add_instance(REDIS_ID, "R-kvstore")
        server.add_instance(ECS_ID, "Ecs")
        server.add_instance(PREPAID_ID, "Ecs", InstanceChargeType="PrePaid")
        yield server


@pytest.fixture
def function_env(emulator):
    """The environment a deployed function would have, pointed at the emulator."""
    env = dict(
        CLEAN_ENV,
        ALIBABA_CLOUD_ENDPOINT=emulator.url,
        ALIBABA_CLOUD_REGION_ID="cn-hangzhou",
        ALIBABA_CLOUD_ACCESS_KEY_ID=ACCESS_KEY_ID,
        ALIBABA_CLOUD_ACCESS_KEY_SECRET=ACCESS_KEY_SECRET,
        WEBHOOK_SECRET=WEBHOOK_SECRET,
        POWERTOOLS_LOG_LEVEL="DEBUG",
        AWS_REGION="us-east-1",
        NOTIFY_ALLOWED_HOSTS="127.0.0.1",  # URLs carried in events may only reach this machine in tests
        NOTIFY_ALLOWED_NETWORKS="127.0.0.1/32",  # which is not a public address: allowed here, as make serve does
    )
    with environment(env):
        yield env


@pytest.fixture
def maintain(function_env):
    return load_function(MAINTAIN)


@pytest.fixture
def release(function_env):
    return load_function(RELEASE)


@pytest.fixture
def context():
    return LambdaContext("function-under-test")


def webhook_event(
    function: str,
    body: str | bytes | dict,
    *,
    secret: str = WEBHOOK_SECRET,
    timestamp: int | None = None,
    base64_body: bool = False,
    headers: dict | None = None,
) -> dict:
    """The function's sample API Gateway HTTP API event, with this body, signed now (or as told)."""
    raw = json.dumps(body).encode() if isinstance(body, dict) else body if isinstance(body, bytes) else body.encode()
    event = sample_event(function, "webhook")
    event["body"] = base64.b64encode(raw).decode() if base64_body else raw.decode()
    event["isBase64Encoded"] = base64_body
    event["headers"].update(sign_headers(decode_secret(secret), f"msg_{uuid.uuid4().hex}", raw, timestamp))
    event["headers"].update(headers or {})
    event["requestContext"]["requestId"] = uuid.uuid4().hex
    return event


def answer_of(response: dict) -> tuple[int, dict]:
    assert response["headers"]["Content-Type"] == "application/json"
    return response["statusCode"], json.loads(response["body"])


# `make fuzz` runs the property tests long; `make test` keeps them quick.
from hypothesis import HealthCheck, settings  # noqa: E402

settings.register_profile(
    "default",
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
settings.register_profile("fuzz", max_examples=12_000, deadline=None, suppress_health_check=list(HealthCheck))
settings.load_profile(__import__("os").environ.get("HYPOTHESIS_PROFILE", "default"))
