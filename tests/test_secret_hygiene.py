"""Secrets never appear in logs, errors or results, at any log level, on any path.

Every path a secret could leak through is driven once with everything captured at DEBUG
(Powertools' own debug output included), then the capture is searched for each secret in the
forms it could take.
"""

from __future__ import annotations

import base64
import json

import pytest

from alibaba_cloud.errors import AlibabaCloudError
from alibaba_cloud.rpc.credentials import mask
from helpers import (
    ACCESS_KEY_ID,
    ACCESS_KEY_SECRET,
    GOOD,
    MAINTAIN,
    RELEASE,
    SESSION_TOKEN,
    WEBHOOK_SECRET,
    FakeExtension,
    in_future,
    webhook_event,
)
from local.runtime import environment, load_function

TOKEN = "CAIS/token+with/odd=chars=="


def forms(secret: str) -> set[str]:
    from urllib.parse import quote

    once = quote(secret, safe="~")
    return {secret, once, quote(once, safe="~"), json.dumps(secret)[1:-1]}


@pytest.mark.filterwarnings("ignore:POWERTOOLS_DEBUG")
def test_no_secret_anywhere_at_debug(emulator, function_env, context, capsys, caplog):
    caplog.set_level("DEBUG")
    emulator.add_credentials("STS.NUhygieneKey", ACCESS_KEY_SECRET, TOKEN)
    extension = FakeExtension(
        {
            "creds": json.dumps(
                {"AccessKeyId": "STS.NUhygieneKey", "AccessKeySecret": ACCESS_KEY_SECRET, "SecurityToken": TOKEN}
            ),
            "hook": WEBHOOK_SECRET,
        }
    )
    seen: list[str] = []
    env = {
        "POWERTOOLS_LOG_LEVEL": "DEBUG",
        "POWERTOOLS_DEBUG": "true",
        "ALIBABA_CLOUD_RETRY_BASE_DELAY": "0.01",
        "ALIBABA_CLOUD_ACCESS_KEY_ID": None,
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET": None,
        "WEBHOOK_SECRET": None,
        "ALIBABA_CLOUD_CREDENTIALS_SECRET_ID": "creds",
        "WEBHOOK_SECRET_ID": "hook",
        "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": str(extension.server_address[1]),
        "AWS_SESSION_TOKEN": SESSION_TOKEN,
    }
    try:
        with environment(env):
            maintain, release = load_function(MAINTAIN), load_function(RELEASE)
            seen.append(json.dumps(maintain.lambda_handler(GOOD, context)))
            seen.append(
                json.dumps(
                    release.lambda_handler(
                        webhook_event(
                            RELEASE, {"InstanceId": "i-bp1env7nl3mijm2test", "AutoReleaseTime": in_future(hours=2)}
                        ),
                        context,
                    )
                )
            )
            seen.append(
                json.dumps(
                    maintain.lambda_handler(
                        webhook_event(MAINTAIN, GOOD, secret="whsec_d3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy1rZXkhISE="),
                        context,
                    )
                )
            )
            emulator.inject("internal", 2)
            seen.append(json.dumps(maintain.lambda_handler(GOOD, context)))
            for event in ({**GOOD, "InstanceId": "r-unknown"}, {**GOOD, "MaintainEndTime": "09:00Z"}):
                with pytest.raises(AlibabaCloudError) as raised:
                    maintain.lambda_handler(event, context)
                seen += [str(raised.value), repr(raised.value), json.dumps(raised.value.to_dict())]
            emulator.state.credentials["STS.NUhygieneKey"] = ("another-secret", TOKEN)  # now the signature fails
            with pytest.raises(AlibabaCloudError) as raised:
                maintain.lambda_handler(GOOD, context)
            assert raised.value.code == "SignatureDoesNotMatch"
            seen += [str(raised.value), repr(raised.value)]
            seen.append(json.dumps(maintain.lambda_handler(webhook_event(MAINTAIN, GOOD), context)))
    finally:
        extension.close()
    seen += [capsys.readouterr().out, capsys.readouterr().err, caplog.text]
    seen += [json.dumps(record.__dict__, default=str) for record in caplog.records]
    everything = "\n".join(seen)
    assert "Call succeeded" in everything
    assert "SignatureDoesNotMatch" in everything
    key_text = base64.b64decode(WEBHOOK_SECRET.removeprefix("whsec_")).decode()
    for secret in (
        ACCESS_KEY_SECRET,
        TOKEN,
        SESSION_TOKEN,
        WEBHOOK_SECRET,
        WEBHOOK_SECRET.removeprefix("whsec_"),
        key_text,
    ):
        for form in forms(secret):
            assert form not in everything, f"a secret leaked in the form {form[:4]}…"
    assert "STS.NUhygieneKey" not in everything
    assert mask("STS.NUhygieneKey") in everything
    assert ACCESS_KEY_ID not in everything


def _spelled(secret: str) -> dict[str, str]:
    import base64
    import html
    import re
    from urllib.parse import quote

    once = quote(secret, safe="~")
    return {
        "raw": secret,
        "%XX": once,
        "%25XX": quote(once, safe="~"),
        "%xx": re.sub(r"%[0-9A-F]{2}", lambda m: m[0].lower(), once),
        "%25xx": re.sub(r"%[0-9A-F]{2}", lambda m: m[0].lower(), quote(once, safe="~")),
        "/ left as is": quote(secret, safe="/~"),
        "base64": base64.b64encode(secret.encode()).decode(),
        "base64 unpadded": base64.b64encode(secret.encode()).decode().rstrip("="),
        "HTML entities": "".join(f"&#{ord(c)};" for c in secret),
        "HTML hex entities": "".join(f"&#x{ord(c):x};" for c in secret),
        "HTML escape": html.escape(secret),
        "JSON \\u escapes": "".join(f"\\u{ord(c):04x}" for c in secret),
        "a 40-character prefix": secret[:40],
        "a run in the middle": secret[10:30],
    }


@pytest.mark.parametrize("spelling", list(_spelled("x")))
def test_every_spelling_an_upstream_may_echo_a_secret_in_is_scrubbed(spelling):
    from alibaba_cloud.rpc.credentials import Credentials

    token = "CAIS+token/with=odd&chars" + "Q" * 10 + "zZ9/+" * 30
    secret = "tEsT-sEcReT/with+odd=chars&%-long-enough"
    credentials = Credentials("LTAI5tTestAccessKey01", secret, token)
    for value in (token, secret):
        echoed = _spelled(value)[spelling]
        scrubbed = credentials.scrub(f"upstream said: <{echoed}> and more")
        assert echoed not in scrubbed
        assert "***" in scrubbed
        assert scrubbed.startswith("upstream said: <")
