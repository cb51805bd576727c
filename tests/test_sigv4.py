"""The layer's AWS Signature Version 4 against AWS's published test suite and against botocore.

Each suite case is checked stage by stage: the canonical request, the string to sign, the
Authorization header. Generated requests are then signed by both the layer and botocore (a
test-only oracle) and must agree to the byte.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from hypothesis import given, settings
from hypothesis import strategies as st

from alibaba_cloud.aws import sigv4

SUITE = json.loads((Path(__file__).parent / "data" / "aws-sig-v4-test-suite.json").read_text())
CONFIG = SUITE["config"]
CREDENTIALS = sigv4.AwsCredentials(CONFIG["accessKeyId"], CONFIG["secretAccessKey"])
# In the packaged suite, these two cases mix revisions of AWS's files: the canonical request and string
# to sign sign Content-Length, the signed request (.sreq) does not. The signed request is checked.
MIXED_REVISIONS = {"post-x-www-form-urlencoded", "post-x-www-form-urlencoded-parameters"}
# ... and the older revision's signature of the second was made with AWS's own Content-Type, "charset=utf8".
ORIGINAL_HEADERS = {
    "post-x-www-form-urlencoded-parameters": {"Content-Type": "application/x-www-form-urlencoded; charset=utf8"}
}


def signed_names(authz: str) -> list[str]:
    return authz.split("SignedHeaders=")[1].split(",")[0].split(";")


def sent_authorization(case) -> str:
    """The Authorization of the signed request file (``.sreq``): in the mixed cases, the one its ``.authz`` garbles."""
    return next(line for line in case["sreq"].split("\n") if line.startswith("Authorization: ")).split(": ", 1)[1]


@pytest.mark.parametrize("case", SUITE["tests"]["all"], ids=lambda c: c["name"])
def test_every_case_of_awss_suite(case):
    request = case["request"]
    headers = [tuple(h) for h in request["headers"]]
    amz_date = dict((n.lower(), v) for n, v in headers)["x-amz-date"]
    body = request["body"].encode()
    if case["name"] not in MIXED_REVISIONS:
        canonical, _ = sigv4.canonical_request(
            request["method"],
            request["path"],
            request["query"],
            headers,
            __import__("hashlib").sha256(body).hexdigest(),
        )
        assert canonical == case["creq"]
        assert (
            sigv4.string_to_sign(amz_date, sigv4.scope(amz_date, CONFIG["region"], CONFIG["service"]), canonical)
            == case["sts"]
        )
    # the headers the case's Authorization says were signed (after-the-fact headers such as a token added
    # after signing are sent, not signed)
    expected = sent_authorization(case)
    assert expected == case["authz"] or case["name"] in MIXED_REVISIONS
    original = ORIGINAL_HEADERS.get(case["name"], {})
    signed = [(n, original.get(n, v)) for n, v in headers if n.lower() in signed_names(expected)]
    assert (
        sigv4.authorization(
            request["method"],
            request["path"],
            request["query"],
            signed,
            body,
            CREDENTIALS,
            CONFIG["region"],
            CONFIG["service"],
            amz_date,
        )
        == expected
    )


def test_the_suite_is_all_there():
    assert len(SUITE["tests"]["all"]) == 28
    assert {c["name"] for c in SUITE["tests"]["sts"]} == {
        "post-sts-header-before",
        "post-sts-header-after",
    }


def test_a_session_token_is_sent_and_signed_as_the_suite_says():
    before = next(c for c in SUITE["tests"]["sts"] if c["name"] == "post-sts-header-before")
    credentials = sigv4.AwsCredentials(CONFIG["accessKeyId"], CONFIG["secretAccessKey"], SUITE["stsToken"])
    sent = sigv4.sign(
        "POST",
        "example.amazonaws.com",
        "/",
        "",
        {},
        b"",
        credentials,
        CONFIG["region"],
        CONFIG["service"],
        now=datetime(2015, 8, 30, 12, 36, tzinfo=UTC),
    )
    assert sent["X-Amz-Security-Token"] == SUITE["stsToken"]
    assert sent["Authorization"] == before["authz"]


def botocore_authorization(method, host, path, query, headers, body, credentials, now):
    from unittest import mock

    url = f"https://{host}{path}" + (f"?{query}" if query else "")
    request = AWSRequest(method=method, url=url, data=body, headers=dict(headers))
    auth = SigV4Auth(
        Credentials(credentials.access_key_id, credentials.secret_access_key, credentials.session_token),
        "dynamodb",
        "eu-west-1",
    )
    with mock.patch(
        "botocore.auth.get_current_datetime", lambda: now.replace(tzinfo=None)
    ):  # the oracle's clock, fixed
        auth.add_auth(request)
    return request.headers["Authorization"]


TEXT = st.text(st.characters(min_codepoint=32, max_codepoint=0x2FFF, exclude_characters="\x7f"), max_size=20)
SEGMENT = st.text(st.sampled_from("abcXYZ019-_.~ é%+="), min_size=1, max_size=8).filter(lambda s: s not in (".", ".."))


@settings(max_examples=300, deadline=None)
@given(
    method=st.sampled_from(["GET", "POST", "PUT"]),
    segments=st.lists(SEGMENT, max_size=3),
    query=st.dictionaries(
        st.text(st.sampled_from("abcAB12-_.~ é/="), min_size=1, max_size=6),
        st.text(st.sampled_from("abc12 é/=+"), max_size=6),
        max_size=3,
    ),
    headers=st.dictionaries(
        st.sampled_from(["X-Amz-Target", "Content-Type", "X-Custom", "My-Header"]),
        TEXT.map(str.strip).filter(bool),
        max_size=3,
    ),
    body=st.binary(max_size=64),
    token=st.none() | st.text(st.sampled_from("AQoD+/=xyz"), min_size=1, max_size=30),
)
def test_the_layer_signs_as_botocore_does(method, segments, query, headers, body, token):
    from urllib.parse import quote

    now = datetime(2026, 11, 23, 7, 30, 5, tzinfo=UTC)
    credentials = sigv4.AwsCredentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token)
    path = "/" + "/".join(quote(s, safe="") for s in segments)
    raw_query = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in query.items())
    host = "dynamodb.eu-west-1.amazonaws.com"
    ours = sigv4.sign(method, host, path, raw_query, dict(headers), body, credentials, "eu-west-1", "dynamodb", now=now)
    theirs = botocore_authorization(
        method,
        host,
        path,
        raw_query,
        {**headers, **({"X-Amz-Security-Token": token} if token else {})},
        body,
        credentials,
        now,
    )
    assert ours["Authorization"] == theirs
