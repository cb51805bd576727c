"""The HMAC-SHA1 signer against Alibaba's published vectors and the official SDKs as oracles."""

from __future__ import annotations

import re

import pytest
from alibabacloud_openapi_util.client import Client as OpenApiUtil
from alibabacloud_tea_openapi.utils import Utils as TeaUtils
from aliyunsdkcore.auth.algorithm import sha_hmac1
from aliyunsdkcore.auth.composer import rpc_signature_composer
from hypothesis import given, settings
from hypothesis import strategies as st

from alibaba_cloud.signing import (
    canonical_query,
    encode_form,
    percent_encode,
    rpc_signature,
    sign_request,
    string_to_sign,
)

core_string_to_sign = getattr(rpc_signature_composer, "__compose_string_to_sign")

DOC_VECTOR = {
    "AccessKeyId": "testid",
    "Action": "DescribeRegions",
    "Format": "XML",
    "SignatureMethod": "HMAC-SHA1",
    "SignatureNonce": "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf",
    "SignatureVersion": "1.0",
    "Timestamp": "2016-02-23T12:46:24Z",
    "Version": "2014-05-26",
}


def test_alibaba_documentation_vector():
    assert rpc_signature("GET", DOC_VECTOR, "testsecret") == "OLeaidS1JvxuMvnyHOwuJ+uX5qY="
    assert string_to_sign("GET", DOC_VECTOR).startswith("GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeRegions")
    assert "%253A" in string_to_sign("GET", DOC_VECTOR)  # ':' encoded twice


def test_openapi_util_unit_test_vector():
    assert rpc_signature("GET", {"query": "test", "body": "test"}, "secret") == "XlUyV4sXjOuX5FnjUz9IF9tm5rU="


@pytest.mark.parametrize(
    ("text", "encoded"),
    [("a b", "a%20b"), ("*", "%2A"), ("~", "~"), ("+", "%2B"), ("/", "%2F"), ("=", "%3D"), ("&", "%26"),
     ("%", "%25"), ("", ""), ("中", "%E4%B8%AD"), ("-_.", "-_."), ("😀", "%F0%9F%98%80")],
)
def test_percent_encoding_is_rfc3986(text, encoded):
    assert percent_encode(text) == encoded


def test_absent_values_are_left_out_and_empty_ones_kept():
    assert canonical_query({"B": "", "A": None, "C": "x"}) == "B=&C=x"


# Any text UTF-8 can carry: names and values with spaces, reserved characters, unicode, empties.
TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
NAMES = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=20)
PARAMS = st.dictionaries(NAMES, TEXT | st.sampled_from(["*~+/=&% ", "", "a b+c", "中文", "2026-11-22T10:00:00Z"]), max_size=12)
METHODS = st.sampled_from(["GET", "POST"])


@settings(max_examples=2000, deadline=None)
@given(PARAMS, METHODS, TEXT)
def test_signature_equals_tea_sdk(params, method, secret):
    assert rpc_signature(method, params, secret) == TeaUtils.get_rpcsignature(params, method, secret)


@settings(max_examples=2000, deadline=None)
@given(PARAMS, METHODS, TEXT)
def test_signature_equals_openapi_util(params, method, secret):
    assert rpc_signature(method, params, secret) == OpenApiUtil.get_rpcsignature(params, method, secret)


@settings(max_examples=2000, deadline=None)
@given(PARAMS, METHODS, TEXT)
def test_string_to_sign_and_signature_equal_aliyun_python_sdk_core(params, method, secret):
    expected = core_string_to_sign(method, dict(params))
    assert string_to_sign(method, params) == expected
    assert rpc_signature(method, params, secret) == sha_hmac1.get_sign_string(expected, secret + "&")


def _signed(**overrides):
    base = dict(method="POST", action="ModifyInstanceMaintainTime", version="2015-01-01",
                params={"InstanceId": "r-1", "MaintainStartTime": "02:00Z", "MaintainEndTime": "03:00Z"},
                access_key_id="LTAIkey", access_key_secret="s3cret")
    base.update(overrides)
    return sign_request(**base)


def test_sign_request_sends_every_common_parameter_and_a_valid_signature():
    signed = _signed()
    assert {k: signed[k] for k in ("Action", "Version", "Format", "AccessKeyId", "SignatureMethod", "SignatureVersion")} == {
        "Action": "ModifyInstanceMaintainTime", "Version": "2015-01-01", "Format": "JSON",
        "AccessKeyId": "LTAIkey", "SignatureMethod": "HMAC-SHA1", "SignatureVersion": "1.0"}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", signed["Timestamp"])
    assert "SecurityToken" not in signed
    unsigned = {k: v for k, v in signed.items() if k != "Signature"}
    assert signed["Signature"] == TeaUtils.get_rpcsignature(unsigned, "POST", "s3cret")


def test_every_attempt_gets_a_fresh_nonce():
    nonces = {_signed()["SignatureNonce"] for _ in range(200)}
    assert len(nonces) == 200


def test_security_token_is_a_signed_parameter():
    signed = _signed(access_key_id="STS.NUxyz", security_token="token/with+chars==")
    assert signed["SecurityToken"] == "token/with+chars=="
    unsigned = {k: v for k, v in signed.items() if k != "Signature"}
    assert signed["Signature"] == TeaUtils.get_rpcsignature(unsigned, "POST", "s3cret")


def test_form_body_uses_the_signature_encoding():
    assert encode_form({"A": "a b", "B": "*~"}) == "A=a%20b&B=%2A~"
