"""The emulator behaves as Alibaba's gateway on what the handler tests do not reach."""

from __future__ import annotations

import requests

from alibaba_cloud.rpc.signing import canonical_query, encode_form, sign_request
from helpers import ACCESS_KEY_ID, ACCESS_KEY_SECRET, REDIS_ID

PARAMS = {"InstanceId": REDIS_ID, "MaintainStartTime": "02:00Z", "MaintainEndTime": "03:00Z"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def signed(method="POST", **overrides):
    values = dict(
        method=method,
        action="ModifyInstanceMaintainTime",
        version="2015-01-01",
        params=PARAMS,
        access_key_id=ACCESS_KEY_ID,
        access_key_secret=ACCESS_KEY_SECRET,
    )
    values.update(overrides)
    return sign_request(**values)


def post(emulator, params):
    return requests.post(emulator.url + "/", data=encode_form(params), headers=FORM, timeout=5)


def test_get_with_everything_in_the_query(emulator):
    answer = requests.get(emulator.url + "/?" + canonical_query(signed("GET")), timeout=5)
    assert answer.status_code == 200
    assert answer.json()["RequestId"]


def test_method_is_part_of_the_signature(emulator):
    answer = requests.get(emulator.url + "/?" + canonical_query(signed("POST")), timeout=5)
    assert answer.json()["Code"] == "SignatureDoesNotMatch"


def test_reused_nonce_is_refused(emulator):
    params = signed()
    assert post(emulator, params).status_code == 200
    second = post(emulator, params)
    assert (second.status_code, second.json()["Code"]) == (400, "SignatureNonceUsed")


def test_changed_parameter_breaks_the_signature(emulator):
    params = signed()
    params["MaintainStartTime"] = "05:00Z"
    body = post(emulator, params).json()
    assert body["Code"] == "SignatureDoesNotMatch"
    assert "server string to sign is:POST&%2F&" in body["Message"]


def test_stale_and_malformed_timestamps(emulator):
    assert post(emulator, signed(timestamp="2020-01-01T00:00:00Z")).json()["Code"] == "InvalidTimeStamp.Expired"
    assert post(emulator, signed(timestamp="yesterday")).json()["Code"] == "InvalidTimeStamp.Format"


def test_missing_signature_is_incomplete(emulator):
    params = signed()
    del params["Signature"]
    assert post(emulator, params).json()["Code"] == "IncompleteSignature"


def test_unknown_action_and_version(emulator):
    assert post(emulator, signed(action="RebootInstance")).json()["Code"] == "InvalidAction.NotFound"
    assert post(emulator, signed(version="2014-05-26")).json()["Code"] == "InvalidAction.NotFound"


def test_faults_are_consumed_in_order_then_normal_service_resumes(emulator):
    emulator.inject("throttle", times=2, RetryAfterMs=250)
    first = post(emulator, signed())
    assert (first.status_code, first.json()["Code"], first.headers["x-acs-retry-after"]) == (
        400,
        "Throttling.User",
        "250",
    )
    assert post(emulator, signed()).json()["Code"] == "Throttling.User"
    assert post(emulator, signed()).status_code == 200
    assert [r.Status for r in emulator.state.received] == [400, 400, 200]


def test_faults_can_target_one_action(emulator):
    emulator.inject("internal", Action="ModifyInstanceAutoReleaseTime")
    assert post(emulator, signed()).status_code == 200


def test_state_and_faults_over_http(emulator):
    added = requests.post(
        emulator.url + "/_emulator/instances", json=[{"InstanceId": "r-fromhttp", "Product": "R-kvstore"}], timeout=5
    )
    assert added.json() == {"Added": 1}
    requests.post(emulator.url + "/_emulator/faults", json=[{"Kind": "unavailable"}], timeout=5)
    assert post(emulator, signed()).status_code == 503
    state = requests.get(emulator.url + "/_emulator/instances", timeout=5).json()
    assert state["r-fromhttp"]["MaintainStartTime"] == "18:00Z"
    received = requests.get(emulator.url + "/_emulator/requests", timeout=5).json()
    assert received[-1]["Code"] == "ServiceUnavailable"
    assert requests.post(emulator.url + "/_emulator/faults", json=[{"Nope": 1}], timeout=5).status_code == 400


# The same gateway checks for ACS3-HMAC-SHA256 requests

from alibaba_cloud.rpc.signing import sign_v3  # noqa: E402


def post_v3(emulator, mutate=None, **overrides):
    values = dict(
        method="POST",
        host=emulator.url.removeprefix("http://"),
        action="ModifyInstanceMaintainTime",
        version="2015-01-01",
        params=PARAMS,
        access_key_id=ACCESS_KEY_ID,
        access_key_secret=ACCESS_KEY_SECRET,
    )
    values.update(overrides)
    request = sign_v3(**values)
    query = request.query
    if mutate:
        query = mutate(query, request.headers)
    return requests.post(f"{emulator.url}/?{query}", data=request.body, headers=request.headers, timeout=5)


def test_v3_request_is_accepted_and_applied(emulator):
    answer = post_v3(emulator, params={**PARAMS, "MaintainStartTime": "07:00Z", "MaintainEndTime": "08:00Z"})
    assert answer.status_code == 200, answer.text
    assert emulator.state.instances[REDIS_ID].MaintainStartTime == "07:00Z"


def test_v3_changed_query_or_header_breaks_the_signature(emulator):
    tampered = post_v3(emulator, lambda q, h: q.replace("02%3A00Z", "05%3A00Z"))
    assert tampered.json()["Code"] == "SignatureDoesNotMatch"
    assert "server canonical request is:POST\n/\n" in tampered.json()["Message"]

    def other_action(query, headers):
        headers["x-acs-action"] = "ModifyInstanceAutoReleaseTime"
        return query

    assert post_v3(emulator, other_action).json()["Code"] == "SignatureDoesNotMatch"


def test_v3_wrong_secret_stale_date_and_reused_nonce(emulator):
    assert post_v3(emulator, access_key_secret="wrong").json()["Code"] == "SignatureDoesNotMatch"
    assert post_v3(emulator, timestamp="2020-01-01T00:00:00Z").json()["Code"] == "InvalidTimeStamp.Expired"
    assert post_v3(emulator, nonce="same-nonce").status_code == 200
    assert post_v3(emulator, nonce="same-nonce").json()["Code"] == "SignatureNonceUsed"


def test_v3_unsigned_required_header_is_incomplete(emulator):
    def unsign_host(query, headers):
        headers["Authorization"] = headers["Authorization"].replace("SignedHeaders=host;", "SignedHeaders=")
        return query

    assert post_v3(emulator, unsign_host).json()["Code"] == "IncompleteSignature"


def test_the_fault_endpoint_refuses_unknown_kinds(emulator):
    import requests as http

    answer = http.post(emulator.url + "/_emulator/faults", json=[{"Kind": "thottle"}], timeout=5)
    assert answer.status_code == 400
    assert "thottle" in answer.json()["Message"]
    assert "throttle" in answer.json()["Message"]
    assert (
        http.post(emulator.url + "/_emulator/faults", json=[{"Kind": "throttle", "Times": 0}], timeout=5).status_code
        == 400
    )
    assert emulator.state.faults == []


def test_every_fault_kind_has_a_way_to_misbehave():
    from local.emulator.faults import MISBEHAVIOURS
    from local.emulator.state import Fault

    assert set(Fault.KINDS) == {*MISBEHAVIOURS, "latency"}  # latency delays a normal answer
