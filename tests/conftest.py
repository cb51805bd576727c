"""Fixtures: the emulator on 127.0.0.1, the environment of a deployed function, cold starts, a context."""

from __future__ import annotations

import pytest

from helpers import (
    ACCESS_KEY_ID,
    ACCESS_KEY_SECRET,
    CLEAN_ENV,
    ECS_ID,
    MAINTAIN,
    PREPAID_ID,
    REDIS_ID,
    RELEASE,
    WEBHOOK_SECRET,
)
from local.emulator import EmulatorServer
from local.runtime import LambdaContext, environment, load_function


@pytest.fixture
def emulator():
    with EmulatorServer() as server:
        server.add_credentials(ACCESS_KEY_ID, ACCESS_KEY_SECRET)
        server.add_instance(REDIS_ID, "R-kvstore")
        server.add_instance(ECS_ID, "Ecs")
        server.add_instance(PREPAID_ID, "Ecs", InstanceChargeType="PrePaid")
        yield server


@pytest.fixture(scope="session")
def aws_server():
    """moto's server as DynamoDB and SQS, one for the whole run (it takes a second to start)."""
    from local.aws import AwsStandIn

    with AwsStandIn() as stand_in:
        yield stand_in


@pytest.fixture
def aws(aws_server):
    """The AWS stand-in, emptied, with the replay table and the dead-letter queue made again."""
    aws_server.reset()
    return aws_server


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
        NOTIFY_ALLOWED_HOSTS="127.0.0.1:*",  # URLs carried in events may only reach this machine in tests, any port
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
