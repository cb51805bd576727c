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

from alibaba_cloud.rpc.signing import (
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
    [
        ("a b", "a%20b"),
        ("*", "%2A"),
        ("~", "~"),
        ("+", "%2B"),
        ("/", "%2F"),
        ("=", "%3D"),
        ("&", "%26"),
        ("%", "%25"),
        ("", ""),
        ("中", "%E4%B8%AD"),
        ("-_.", "-_."),
        ("😀", "%F0%9F%98%80"),
    ],
)
def test_percent_encoding_is_rfc3986(text, encoded):
    assert percent_encode(text) == encoded


def test_absent_values_are_left_out_and_empty_ones_kept():
    assert canonical_query({"B": "", "A": None, "C": "x"}) == "B=&C=x"


# Any text UTF-8 can carry: names and values with spaces, reserved characters, unicode, empties.
TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
NAMES = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=20)
PARAMS = st.dictionaries(
    NAMES, TEXT | st.sampled_from(["*~+/=&% ", "", "a b+c", "中文", "2026-11-22T10:00:00Z"]), max_size=12
)
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
    base = dict(
        method="POST",
        action="ModifyInstanceMaintainTime",
        version="2015-01-01",
        params={"InstanceId": "r-1", "MaintainStartTime": "02:00Z", "MaintainEndTime": "03:00Z"},
        access_key_id="LTAIkey",
        access_key_secret="s3cret",
    )
    base.update(overrides)
    return sign_request(**base)


def test_sign_request_sends_every_common_parameter_and_a_valid_signature():
    signed = _signed()
    assert {
        k: signed[k] for k in ("Action", "Version", "Format", "AccessKeyId", "SignatureMethod", "SignatureVersion")
    } == {
        "Action": "ModifyInstanceMaintainTime",
        "Version": "2015-01-01",
        "Format": "JSON",
        "AccessKeyId": "LTAIkey",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureVersion": "1.0",
    }
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


# ACS3-HMAC-SHA256 ("V3")

from types import SimpleNamespace  # noqa: E402

from alibaba_cloud.rpc.signing import sign_v3, v3_authorization, v3_canonical_request  # noqa: E402

V3_QUERY = {"ImageId": "win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd", "RegionId": "cn-shanghai"}
V3_HEADERS = {
    "host": "ecs.cn-shanghai.aliyuncs.com",
    "x-acs-action": "RunInstances",
    "x-acs-content-sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "x-acs-date": "2023-10-26T10:22:32Z",
    "x-acs-signature-nonce": "3156853299f313e23d1673dc12e1703d",
    "x-acs-version": "2014-05-26",
}
EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def test_v3_documentation_vector():
    authorization = v3_authorization(
        "POST", V3_QUERY, V3_HEADERS, EMPTY_SHA256, "YourAccessKeyId", "YourAccessKeySecret"
    )
    assert authorization == (
        "ACS3-HMAC-SHA256 Credential=YourAccessKeyId,"
        "SignedHeaders=host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version,"
        "Signature=06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0"
    )
    assert v3_canonical_request("POST", V3_QUERY, V3_HEADERS, EMPTY_SHA256).startswith(
        "POST\n/\nImageId=win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd&RegionId=cn-shanghai\nhost:ecs.cn-shanghai.aliyuncs.com\n"
    )


def oracle_v3(method, query, headers, payload, key_id, secret):
    request = SimpleNamespace(method=method, pathname="/", query=dict(query), headers=dict(headers))
    return OpenApiUtil.get_authorization(request, "ACS3-HMAC-SHA256", payload, key_id, secret)


# Parameter names are [A-Za-z0-9._-] in every Alibaba API; the util leaves names unencoded, we encode
# them (as Alibaba's V3 page says), which is the same text for such names. Values may be anything.
PARAM_NAMES = st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-", min_size=1, max_size=20)
HEADER_NAMES = st.text("abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=12).map(lambda n: "x-acs-" + n)
HEADER_VALUES = st.text(st.characters(exclude_categories=("Cs", "Cc")), max_size=30)


@settings(max_examples=2000, deadline=None)
@given(
    st.dictionaries(PARAM_NAMES, TEXT, max_size=10),
    st.dictionaries(HEADER_NAMES, HEADER_VALUES, min_size=1, max_size=6),
    METHODS,
    TEXT,
    TEXT,
)
def test_v3_authorization_equals_openapi_util(query, headers, method, key_id, secret):
    ours = v3_authorization(method, query, headers, EMPTY_SHA256, key_id, secret)
    assert ours == oracle_v3(method, query, headers, EMPTY_SHA256, key_id, secret)


def test_sign_v3_signs_its_own_headers_and_sends_the_parameters_in_the_query():
    signed = sign_v3(
        method="POST",
        host="r-kvstore.cn-hangzhou.aliyuncs.com",
        action="ModifyInstanceMaintainTime",
        version="2015-01-01",
        params={"InstanceId": "r-1", "MaintainStartTime": "02:00Z"},
        access_key_id="STS.key",
        access_key_secret="s3cret",
        security_token="tok",
    )
    assert signed.query == "InstanceId=r-1&MaintainStartTime=02%3A00Z"
    assert signed.body == b""
    headers = {k: v for k, v in signed.headers.items() if k != "Authorization"}
    assert headers["x-acs-security-token"] == "tok"
    assert headers["x-acs-content-sha256"] == EMPTY_SHA256
    assert headers["x-acs-accesskey-id"] == "STS.key"  # beside the token, as the official client sends it
    expected = oracle_v3(
        "POST", {"InstanceId": "r-1", "MaintainStartTime": "02:00Z"}, headers, EMPTY_SHA256, "STS.key", "s3cret"
    )
    assert signed.headers["Authorization"] == expected
    assert (
        "SignedHeaders=host;x-acs-accesskey-id;x-acs-action;x-acs-content-sha256;x-acs-date;"
        "x-acs-security-token;x-acs-signature-nonce;x-acs-version,"
    ) in expected
