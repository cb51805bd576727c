"""Hosts: the layer picks, for every region and network, the host Alibaba's official Tea client picks.

The official clients are test-only oracles. A new SDK release that moves a region shows up here
at ``make lock``, with the region named.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from importlib import resources

import pytest
from alibabacloud_ecs20140526.client import Client as EcsClient
from alibabacloud_r_kvstore20150101.client import Client as KvClient
from alibabacloud_tea_openapi.models import Config

from alibaba_cloud.actions.ecs import MODIFY_INSTANCE_AUTO_RELEASE_TIME
from alibaba_cloud.actions.r_kvstore import MODIFY_INSTANCE_MAINTAIN_TIME
from alibaba_cloud.actions.validation import REGION_ID, ValidationContext
from alibaba_cloud.config import Settings
from alibaba_cloud.errors import AlibabaCloudError
from alibaba_cloud.rpc.endpoints import ECS, R_KVSTORE

# Alibaba's public regions today (the regions page of both products), then finance and gov regions.
PUBLIC = (
    "cn-qingdao cn-beijing cn-zhangjiakou cn-huhehaote cn-wulanchabu cn-hangzhou cn-shanghai cn-nanjing "
    "cn-fuzhou cn-wuhan-lr cn-shenzhen cn-heyuan cn-guangzhou cn-chengdu cn-hongkong ap-northeast-1 "
    "ap-northeast-2 ap-southeast-1 ap-southeast-3 ap-southeast-5 ap-southeast-6 ap-southeast-7 us-east-1 "
    "us-west-1 na-south-1 eu-west-1 eu-central-1 me-east-1 me-central-1"
).split()
FINANCE_AND_GOV = (
    "cn-shanghai-finance-1 cn-shenzhen-finance-1 cn-beijing-finance-1 cn-hangzhou-finance "
    "cn-north-2-gov-1 cn-beijing-gov-1"
).split()


def core_sdk_regions() -> list[str]:
    """Every region aliyun-python-sdk-core's endpoint data lists."""
    data = resources.files("aliyunsdkcore").joinpath("data/endpoints.json").read_text()
    return json.loads(data)["regions"]


def official_regions() -> list[str]:
    mapped = {
        **EcsClient(Config(region_id="cn-beijing"))._endpoint_map,
        **KvClient(Config(region_id="cn-beijing"))._endpoint_map,
    }
    return sorted(set(PUBLIC) | set(FINANCE_AND_GOV) | set(core_sdk_regions()) | set(mapped))


REGIONS = official_regions()


def test_the_region_list_covers_public_finance_and_gov_regions():
    assert len(REGIONS) > 60
    assert {"cn-hangzhou", "cn-shanghai-finance-1", "cn-shenzhen-finance-1", "cn-north-2-gov-1"} <= set(REGIONS)


@pytest.mark.parametrize("network", ["public", "vpc"])
@pytest.mark.parametrize(
    ("product", "client_class"), [(ECS, EcsClient), (R_KVSTORE, KvClient)], ids=["ecs", "r-kvstore"]
)
def test_every_region_gets_the_official_host(product, client_class, network):
    settings = Settings.from_env({"ALIBABA_CLOUD_NETWORK": network})
    differences = {}
    for region in REGIONS:
        official = client_class(Config(region_id=region, network=None if network == "public" else network))._endpoint
        ours = product.base_url(region, settings)
        if ours != f"https://{official}":
            differences[region] = (ours, official)
    assert differences == {}


@pytest.mark.parametrize(
    ("product", "region", "network", "host"),
    [
        (ECS, "cn-hangzhou", "public", "ecs-cn-hangzhou.aliyuncs.com"),
        (ECS, "cn-hangzhou", "vpc", "ecs-cn-hangzhou.aliyuncs.com"),  # the map wins over the network
        (ECS, "cn-shanghai-finance-1", "public", "ecs-cn-hangzhou.aliyuncs.com"),
        (ECS, "cn-shenzhen-finance-1", "public", "ecs-cn-hangzhou.aliyuncs.com"),
        (ECS, "cn-north-2-gov-1", "public", "ecs.aliyuncs.com"),
        (ECS, "ap-southeast-1", "public", "ecs.ap-southeast-1.aliyuncs.com"),
        (ECS, "ap-southeast-1", "vpc", "ecs-vpc.ap-southeast-1.aliyuncs.com"),
        (R_KVSTORE, "cn-hangzhou", "public", "r-kvstore.aliyuncs.com"),
        (R_KVSTORE, "cn-hongkong", "public", "r-kvstore.cn-hongkong.aliyuncs.com"),
        (R_KVSTORE, "cn-hongkong", "vpc", "r-kvstore-vpc.cn-hongkong.aliyuncs.com"),
    ],
)
def test_hosts_the_issue_names(product, region, network, host):
    assert product.host(region, network) == host


def test_every_official_region_passes_the_region_check():
    # the check keeps anything but a region out of host names; it must not refuse a real one
    assert [r for r in REGIONS if not REGION_ID.fullmatch(r)] == []


def test_the_endpoint_setting_overrides_every_host():
    settings = Settings.from_env({"ALIBABA_CLOUD_ENDPOINT": "http://127.0.0.1:9/", "ALIBABA_CLOUD_NETWORK": "vpc"})
    assert ECS.base_url("cn-hangzhou", settings) == R_KVSTORE.base_url("eu-central-1", settings) == "http://127.0.0.1:9"


@pytest.mark.parametrize(
    "action", [MODIFY_INSTANCE_MAINTAIN_TIME, MODIFY_INSTANCE_AUTO_RELEASE_TIME], ids=lambda a: a.name
)
def test_an_events_region_picks_the_host_and_is_sent(action):
    given = {
        "InstanceId": "r-bp1zxszhcgatnx1test" if action.product is R_KVSTORE else "i-bp1env7nl3mijm2test",
        "RegionId": "cn-beijing",
    }
    if action is MODIFY_INSTANCE_MAINTAIN_TIME:
        given |= {"MaintainStartTime": "02:00Z", "MaintainEndTime": "03:00Z"}
    request = action.request(given, ValidationContext(now=datetime.now(UTC)), Settings(region_id="cn-hangzhou"))
    assert request.params["RegionId"] == request.region_id == "cn-beijing"
    assert (
        action.product.base_url(request.region_id, Settings())
        == f"https://{action.product.endpoint_code}.cn-beijing.aliyuncs.com"
    )


def test_without_a_region_the_error_says_where_to_give_one():
    given = {"InstanceId": "r-bp1zxszhcgatnx1test", "MaintainStartTime": "02:00Z", "MaintainEndTime": "03:00Z"}
    with pytest.raises(AlibabaCloudError) as raised:
        MODIFY_INSTANCE_MAINTAIN_TIME.request(given, ValidationContext(now=datetime.now(UTC)), Settings())
    assert raised.value.code == "MissingParameter"
    assert "pass RegionId in the event or set ALIBABA_CLOUD_REGION_ID" in raised.value.message


def test_the_layer_knows_every_region_the_official_sdks_know():
    from alibaba_cloud.rpc.endpoints import REGIONS as KNOWN

    assert sorted(set(REGIONS) - KNOWN) == []


@pytest.mark.parametrize(
    "event",
    [
        {"InstanceId": "i-bp1env7nl3mijm2test", "RegionId": "cn-hangzhuo", "AutoReleaseAfter": "PT8H"},
        {"Select": {"RegionId": "cn-hangzhuo", "Tags": {"env": "dev"}}, "AutoReleaseAfter": "PT8H"},
    ],
)
def test_a_region_alibaba_does_not_have_is_refused_by_name_before_any_call(emulator, release, context, event):
    with pytest.raises(
        AlibabaCloudError, match=r"^InvalidRegionId\.NotFound: .*cn-hangzhuo .*did you mean cn-hangzhou\?"
    ):
        release.lambda_handler(event, context)
    assert emulator.state.received == []


def test_an_instance_that_is_not_found_is_named_with_its_region(emulator, release, context):
    with pytest.raises(AlibabaCloudError, match=r"^NoSuchResource: .*\(InstanceId i-bp1missing0000 in cn-hangzhou\)"):
        release.lambda_handler({"InstanceId": "i-bp1missing0000", "AutoReleaseAfter": "PT8H"}, context)
