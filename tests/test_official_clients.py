"""Alibaba's official clients against the emulator, and the layer against them, for both modify actions.

The Tea clients (V3, their default, and V2) and aliyun-python-sdk-core, each with an AccessKey and
with an STS token, call the emulator: it must accept exactly what they send and answer in shapes
they parse, errors included. Then the layer, given the same call, must send the same parameter
names, and read the same error fields the official clients read.
"""

from __future__ import annotations

import json

import pytest
from alibabacloud_ecs20140526 import models as ecs_models
from alibabacloud_ecs20140526.client import Client as EcsClient
from alibabacloud_r_kvstore20150101 import models as kv_models
from alibabacloud_r_kvstore20150101.client import Client as KvClient
from alibabacloud_tea_openapi.exceptions import ClientException
from alibabacloud_tea_openapi.models import Config
from aliyunsdkcore.acs_exception.exceptions import ServerException
from aliyunsdkcore.auth.credentials import AccessKeyCredential, StsTokenCredential
from aliyunsdkcore.client import AcsClient
from aliyunsdkcore.request import CommonRequest

from alibaba_cloud import __version__
from helpers import ECS_ID, REDIS_ID, in_future
from local.runtime import LambdaContext, environment, load_function

STS_KEY, STS_SECRET, STS_TOKEN = "STS.NUofficialClient", "sts-secret/for+tests=", "CAIS-official-token/+=="
AK_KEY, AK_SECRET = "LTAI5tOfficialClient1", "ak-secret/for+tests&%"
OWNER = {
    "OwnerId": "1234567890123456",
    "OwnerAccount": "ops@example.com",
    "ResourceOwnerAccount": "prod@example.com",
    "ResourceOwnerId": "6543210987654321",
}


@pytest.fixture
def official(emulator):
    emulator.add_credentials(AK_KEY, AK_SECRET)
    emulator.add_credentials(STS_KEY, STS_SECRET, STS_TOKEN)
    return emulator


def credentials(kind: str) -> dict[str, str]:
    if kind == "sts":
        return {"access_key_id": STS_KEY, "access_key_secret": STS_SECRET, "security_token": STS_TOKEN}
    return {"access_key_id": AK_KEY, "access_key_secret": AK_SECRET}


def owner_fields() -> dict[str, object]:
    return {
        "owner_id": int(OWNER["OwnerId"]),
        "owner_account": OWNER["OwnerAccount"],
        "resource_owner_account": OWNER["ResourceOwnerAccount"],
        "resource_owner_id": int(OWNER["ResourceOwnerId"]),
    }


def tea_call(emulator, kind: str, algorithm: str | None, product: str, params: dict[str, str]) -> str:
    """One modify call through the official Tea client: the RequestId its model parsed."""
    config = Config(endpoint=emulator.url.split("//")[1], protocol="http", region_id="cn-hangzhou", **credentials(kind))
    if algorithm:
        config.signature_algorithm = algorithm
    if product == "Ecs":
        request = ecs_models.ModifyInstanceAutoReleaseTimeRequest(
            region_id="cn-hangzhou",
            instance_id=params["InstanceId"],
            auto_release_time=params.get("AutoReleaseTime"),
            **owner_fields(),
        )
        return EcsClient(config).modify_instance_auto_release_time(request).body.request_id
    request = kv_models.ModifyInstanceMaintainTimeRequest(
        instance_id=params["InstanceId"],
        maintain_start_time=params["MaintainStartTime"],
        maintain_end_time=params["MaintainEndTime"],
        **owner_fields(),
    )
    return KvClient(config).modify_instance_maintain_time(request).body.request_id


def core_call(emulator, kind: str, algorithm: str | None, product: str, params: dict[str, str]) -> str:
    """The same call through aliyun-python-sdk-core's CommonRequest (HMAC-SHA1, RegionId with every call)."""
    keys = credentials(kind)
    credential = (
        StsTokenCredential(keys["access_key_id"], keys["access_key_secret"], keys["security_token"])
        if kind == "sts"
        else AccessKeyCredential(keys["access_key_id"], keys["access_key_secret"])
    )
    client = AcsClient(region_id="cn-hangzhou", credential=credential, timeout=5, connect_timeout=5, auto_retry=False)
    request = CommonRequest(
        domain=emulator.url.split("//")[1],
        version="2014-05-26" if product == "Ecs" else "2015-01-01",
        action_name="ModifyInstanceAutoReleaseTime" if product == "Ecs" else "ModifyInstanceMaintainTime",
    )
    request.set_method("POST")
    request.set_protocol_type("http")
    for name, value in {**params, **OWNER}.items():
        request.add_query_param(name, value)
    return json.loads(client.do_action_with_exception(request))["RequestId"]


CLIENTS = [
    pytest.param(tea_call, None, id="tea-v3"),
    pytest.param(tea_call, "v2", id="tea-v2"),
    pytest.param(core_call, None, id="core"),
]


def release_params() -> dict[str, str]:
    return {"InstanceId": ECS_ID, "AutoReleaseTime": in_future(days=3)[:17] + "00Z"}  # Alibaba keeps whole minutes


MAINTAIN_PARAMS = {"InstanceId": REDIS_ID, "MaintainStartTime": "03:00Z", "MaintainEndTime": "04:00Z"}


@pytest.mark.parametrize("kind", ["ak", "sts"])
@pytest.mark.parametrize(("call", "algorithm"), CLIENTS)
def test_official_clients_set_a_release_time_through_the_emulator(official, call, algorithm, kind):
    params = release_params()
    request_id = call(official, kind, algorithm, "Ecs", params)
    received = official.state.received[-1]
    assert (received.Status, received.RequestId) == (200, request_id)
    assert official.state.instances[ECS_ID].AutoReleaseTime == params["AutoReleaseTime"]
    assert OWNER.items() <= received.Parameters.items()


@pytest.mark.parametrize("kind", ["ak", "sts"])
@pytest.mark.parametrize(("call", "algorithm"), CLIENTS)
def test_official_clients_set_a_maintenance_window_through_the_emulator(official, call, algorithm, kind):
    request_id = call(official, kind, algorithm, "R-kvstore", MAINTAIN_PARAMS)
    received = official.state.received[-1]
    assert (received.Status, received.RequestId) == (200, request_id)
    instance = official.state.instances[REDIS_ID]
    assert (instance.MaintainStartTime, instance.MaintainEndTime) == ("03:00Z", "04:00Z")
    assert OWNER.items() <= received.Parameters.items()


@pytest.mark.parametrize("kind", ["ak", "sts"])
@pytest.mark.parametrize(("call", "algorithm"), CLIENTS)
def test_official_clients_parse_the_emulators_errors(official, call, algorithm, kind):
    params = {**MAINTAIN_PARAMS, "InstanceId": "r-doesnotexist0000"}
    with pytest.raises((ClientException, ServerException)) as raised:
        call(official, kind, algorithm, "R-kvstore", params)
    error = raised.value
    code = error.code if isinstance(error, ClientException) else error.get_error_code()
    assert code == official.state.received[-1].Code == "NoSuchResource"
    if isinstance(error, ClientException):
        assert error.data["Recommend"].startswith("https://")
        assert error.data["HostId"]


@pytest.mark.parametrize("version", ["v3", "v2"])
@pytest.mark.parametrize("kind", ["ak", "sts"])
@pytest.mark.parametrize(
    ("function", "product", "params"),
    [
        ("modify_instance_auto_release_time", "Ecs", None),
        ("modify_instance_maintain_time", "R-kvstore", MAINTAIN_PARAMS),
    ],
)
def test_the_layer_sends_what_the_official_tea_client_sends(
    official, function_env, function, product, params, kind, version
):
    params = params or release_params()
    tea_call(official, kind, None if version == "v3" else "v2", product, params)
    theirs = official.state.received[-1]
    keys = credentials(kind)
    with environment(
        {
            "ALIBABA_CLOUD_ACCESS_KEY_ID": keys["access_key_id"],
            "ALIBABA_CLOUD_ACCESS_KEY_SECRET": keys["access_key_secret"],
            "ALIBABA_CLOUD_SECURITY_TOKEN": keys.get("security_token"),
            "ALIBABA_CLOUD_SIGNATURE_VERSION": version,
        }
    ):
        result = load_function(function).lambda_handler({**params, **OWNER, "RegionId": "cn-hangzhou"}, LambdaContext())
    ours = official.state.received[-1]
    assert result["RequestId"] == ours.RequestId
    assert ours.Status == 200
    # the Tea model leaves RegionId out of the R-kvstore call; the core SDK and the layer send it
    assert set(ours.Parameters) - {"RegionId"} == set(theirs.Parameters) - {"RegionId"}
    assert ours.Signature == theirs.Signature == version.upper()
    assert ours.Headers["accept"] == "application/json"  # the Tea client asks for JSON with V3; we always do
    assert theirs.Headers.get("accept") == ("application/json" if version == "v3" else None)
    assert ours.Headers["user-agent"].startswith(f"alibaba-cloud-lifecycle/{__version__} ")


def test_the_version_in_the_user_agent_is_the_projects():
    import tomllib

    from helpers import ROOT

    assert tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"] == __version__
