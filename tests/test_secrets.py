"""Credentials and webhook secrets from Secrets Manager, through a stand-in of the Parameters and Secrets extension."""

from __future__ import annotations

import json

import pytest

from alibaba_cloud.config import ConfigurationError, Settings
from alibaba_cloud.errors import AlibabaCloudError
from alibaba_cloud.rpc.credentials import Credentials, mask
from helpers import (
    ACCESS_KEY_ID,
    ACCESS_KEY_SECRET,
    GOOD,
    MAINTAIN,
    SESSION_TOKEN,
    WEBHOOK_SECRET,
    FakeExtension,
    answer_of,
    webhook_event,
)
from local.runtime import environment, load_function


@pytest.fixture
def extension(function_env):
    server = FakeExtension(
        {
            "creds": json.dumps({"AccessKeyId": ACCESS_KEY_ID, "AccessKeySecret": ACCESS_KEY_SECRET}),
            "creds-env-names": json.dumps(
                {"ALIBABA_CLOUD_ACCESS_KEY_ID": ACCESS_KEY_ID, "ALIBABA_CLOUD_ACCESS_KEY_SECRET": ACCESS_KEY_SECRET}
            ),
            "not-json": "plain text",
            "hook": WEBHOOK_SECRET,
        }
    )
    env = {
        "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": str(server.server_address[1]),
        "AWS_SESSION_TOKEN": SESSION_TOKEN,
        "ALIBABA_CLOUD_ACCESS_KEY_ID": None,
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET": None,
        "WEBHOOK_SECRET": None,
    }
    with environment(env):
        yield server
    server.close()


@pytest.mark.parametrize("secret_id", ["creds", "creds-env-names"])
def test_credentials_come_from_the_secret_and_are_cached(emulator, extension, context, secret_id):
    with environment({"ALIBABA_CLOUD_CREDENTIALS_SECRET_ID": secret_id}):
        maintain = load_function(MAINTAIN)
        for _ in range(3):
            assert maintain.lambda_handler(GOOD, context)["Outcome"] == "Succeeded"
    assert extension.requests == [secret_id]


def test_unreadable_secret_is_a_clear_error(emulator, extension, context):
    with environment({"ALIBABA_CLOUD_CREDENTIALS_SECRET_ID": "not-json"}):
        with pytest.raises(AlibabaCloudError, match="^InvalidCredentialsSecret: "):
            load_function(MAINTAIN).lambda_handler(GOOD, context)
    with environment({"ALIBABA_CLOUD_CREDENTIALS_SECRET_ID": "absent"}):
        with pytest.raises(AlibabaCloudError, match="^SecretUnavailable: .*HTTP 400"):
            load_function(MAINTAIN).lambda_handler(GOOD, context)
    assert emulator.state.received == []


def test_webhook_secret_comes_from_the_secret(emulator, extension, context):
    with environment({"ALIBABA_CLOUD_CREDENTIALS_SECRET_ID": "creds", "WEBHOOK_SECRET_ID": "hook"}):
        maintain = load_function(MAINTAIN)
        assert answer_of(maintain.lambda_handler(webhook_event(MAINTAIN, GOOD), context))[0] == 200
        assert (
            answer_of(
                maintain.lambda_handler(
                    webhook_event(MAINTAIN, GOOD, secret="whsec_d3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy1rZXkhISE="), context
                )
            )[0]
            == 401
        )
    assert extension.requests.count("hook") == 1


def test_credentials_never_print_their_secret():
    credentials = Credentials("LTAI5tAbcdefghijkl", "very-secret", "token")
    assert "very-secret" not in repr(credentials)
    assert "token" not in repr(credentials)
    assert mask("LTAI5tAbcdefghijkl") == "LTAI****jkl"


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"ALIBABA_CLOUD_ENDPOINT": "127.0.0.1:8080"}, "scheme"),
        ({"ALIBABA_CLOUD_READ_TIMEOUT": "soon"}, "number"),
        ({"ALIBABA_CLOUD_CONNECT_TIMEOUT": "-1"}, "positive"),
        ({"MAINTAIN_WINDOW_RULE": "two-hours"}, "exactly-one-hour"),
        ({"ALIBABA_CLOUD_NETWORK": "internal"}, "vpc"),
    ],
)
def test_bad_settings_fail_at_cold_start(env, fragment):
    with pytest.raises(ConfigurationError, match=fragment):
        Settings.from_env(env)


def test_settings_defaults_and_repr_hide_the_webhook_secret():
    settings = Settings.from_env({"WEBHOOK_SECRET": WEBHOOK_SECRET, "ALIBABA_CLOUD_ENDPOINT": "http://127.0.0.1:1/"})
    assert settings.endpoint == "http://127.0.0.1:1"
    assert (settings.connect_timeout, settings.read_timeout) == (5.0, 10.0)
    assert WEBHOOK_SECRET not in repr(settings)
