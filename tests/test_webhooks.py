"""Standard Webhooks verification against the reference library, and redeliveries answered once."""

from __future__ import annotations

import base64
import json
import time
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from standardwebhooks import Webhook, WebhookVerificationError

from alibaba_cloud.delivery.standard_webhooks import WebhookVerifier, decode_secret, sign_headers, signature
from alibaba_cloud.errors import AlibabaCloudError
from helpers import GOOD, MAINTAIN, WEBHOOK_SECRET, answer_of, webhook_event
from local.runtime import environment, load_function

KEYS = st.binary(min_size=1, max_size=64)
IDS = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=40)
BODIES = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=200)


def secret_of(key: bytes) -> str:
    return "whsec_" + base64.b64encode(key).decode()


@given(KEYS, IDS, st.integers(0, 2**33), BODIES)
def test_signature_equals_the_reference_library(key, webhook_id, timestamp, body):
    theirs = Webhook(secret_of(key)).sign(webhook_id, datetime.fromtimestamp(timestamp, tz=UTC), body)
    assert signature(key, webhook_id, str(timestamp), body.encode()) == theirs


def both_verify(key: bytes, headers: dict, body: str) -> tuple[bool, bool]:
    try:
        Webhook(secret_of(key)).verify(body.encode(), headers, json_parse=False)
        theirs = True
    except WebhookVerificationError:
        theirs = False
    try:
        WebhookVerifier((key,)).verify(headers, body.encode())
        ours = True
    except AlibabaCloudError as error:
        assert error.http_status == 401
        ours = False
    return ours, theirs


VARIANTS = st.sampled_from(
    [
        "valid",
        "other-key",
        "tampered",
        "stale",
        "future",
        "near-edge",
        "several",
        "v2-only",
        "upper-case",
        "missing-id",
        "missing-signature",
        "missing-timestamp",
    ]
)


@given(KEYS, KEYS, IDS.filter(lambda s: s.isprintable()), BODIES, VARIANTS)
def test_verification_agrees_with_the_reference_library(key, other_key, webhook_id, body, variant):
    now = int(time.time())
    stamp = {"stale": now - 400, "future": now + 400, "near-edge": now - 280}.get(variant, now)
    sig = signature(
        other_key if variant == "other-key" and other_key != key else key, webhook_id, str(stamp), body.encode()
    )
    headers = {"webhook-id": webhook_id, "webhook-timestamp": str(stamp), "webhook-signature": sig}
    if variant == "tampered":
        body += " "
    elif variant == "several":
        headers["webhook-signature"] = f"v1,{base64.b64encode(b'x' * 32).decode()} v1a,abc {sig}"
    elif variant == "v2-only":
        headers["webhook-signature"] = sig.replace("v1,", "v2,")
    elif variant == "upper-case":
        headers = {k.upper(): v for k, v in headers.items()}
    elif variant.startswith("missing-"):
        del headers["webhook-" + variant.removeprefix("missing-")]
    ours, theirs = both_verify(key, headers, body)
    assert ours == theirs
    assert ours == (
        variant in ("valid", "near-edge", "several", "upper-case") or (variant == "other-key" and other_key == key)
    )


def test_secret_without_padding_is_the_same_key():
    key = b"a thirty-two byte key, not less"
    padded = base64.b64encode(key).decode()
    assert padded.endswith("=")
    assert decode_secret("whsec_" + padded) == decode_secret("whsec_" + padded.rstrip("=")) == key


@pytest.mark.parametrize(
    "secret",
    [
        base64.b64encode(
            b"a thirty-two byte key, not less"
        ).decode(),  # no whsec_: perhaps a secret's name or a password
        "whsec_" + base64.b64encode(b"only twenty-three bytes").decode(),
        "whsec_",
        "whsec_not base64!",
    ],
)
def test_a_weak_or_malformed_webhook_secret_stops_the_cold_start(function_env, secret):
    from alibaba_cloud.config import ConfigurationError

    with environment({"WEBHOOK_SECRET": secret}), pytest.raises(ConfigurationError):
        load_function(MAINTAIN)


# Redeliveries


def test_a_redelivery_gets_the_first_answer_and_runs_nothing(emulator, maintain, context):
    event = webhook_event(MAINTAIN, GOOD)
    first = maintain.lambda_handler(event, context)
    replay = maintain.lambda_handler(json.loads(json.dumps(event)), context)
    assert answer_of(first)[0] == 200
    assert answer_of(replay) == answer_of(first)
    assert replay["headers"]["Webhook-Replayed"] == "true"
    assert "Webhook-Replayed" not in first["headers"]
    assert len(emulator.state.writes) == 1


def test_final_failure_is_not_run_again(emulator, maintain, context):
    event = webhook_event(MAINTAIN, {**GOOD, "InstanceId": "r-unknown"})
    first = maintain.lambda_handler(event, context)
    assert answer_of(first)[0] == 404
    replay = maintain.lambda_handler(event, context)
    assert answer_of(replay) == answer_of(first)  # the same 404, Alibaba not asked again
    assert replay["headers"]["Webhook-Replayed"] == "true"
    assert len(emulator.state.writes) == 1


def test_transient_failure_is_not_remembered(emulator, function_env, context):
    with environment({"ALIBABA_CLOUD_MAX_ATTEMPTS": "1"}):
        maintain = load_function(MAINTAIN)
    emulator.inject("unavailable", Action="ModifyInstanceMaintainTime")
    event = webhook_event(MAINTAIN, GOOD)
    assert answer_of(maintain.lambda_handler(event, context))[0] == 503
    assert answer_of(maintain.lambda_handler(event, context))[0] == 200  # the sender's retry runs again
    assert len(emulator.state.writes) == 2


def signed_as(webhook_id: str, body: dict) -> dict:
    event = webhook_event(MAINTAIN, body)
    event["headers"].update(sign_headers(decode_secret(WEBHOOK_SECRET), webhook_id, event["body"].encode()))
    return event


def test_reused_id_with_another_body_is_409(emulator, maintain, context):
    assert answer_of(maintain.lambda_handler(signed_as("msg_fixed", GOOD), context))[0] == 200
    other = signed_as("msg_fixed", {**GOOD, "MaintainStartTime": "05:00Z", "MaintainEndTime": "06:00Z"})
    status, body = answer_of(maintain.lambda_handler(other, context))
    assert (status, body["Code"]) == (409, "Webhook.IdReused")
    assert len(emulator.state.writes) == 1


def test_replay_after_the_tolerance_is_refused(emulator, maintain, context):
    status, body = answer_of(
        maintain.lambda_handler(webhook_event(MAINTAIN, GOOD, timestamp=int(time.time()) - 400), context)
    )
    assert (status, body["Code"]) == (401, "Webhook.TimestampExpired")
    assert emulator.state.writes == []
