"""The Describe actions against Alibaba's official SDK models (test-only oracles).

The official Tea clients call the emulator, which must accept what they send and answer in shapes
their models parse; the layer must send the same parameter names for the same selection and read
the same values from the answers as the official models do.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alibabacloud_ecs20140526 import models as ecs_models
from alibabacloud_ecs20140526.client import Client as EcsClient
from alibabacloud_r_kvstore20150101 import models as kv_models
from alibabacloud_r_kvstore20150101.client import Client as KvClient
from alibabacloud_tea_openapi.models import Config

from alibaba_cloud.actions import ecs, r_kvstore
from alibaba_cloud.actions.declaring import to_the_second
from alibaba_cloud.actions.validation import ValidationContext
from alibaba_cloud.config import Settings
from helpers import ACCESS_KEY_ID, ACCESS_KEY_SECRET
from local.emulator import ecs as emulated_ecs
from local.emulator import r_kvstore as emulated_kv
from local.runtime import LambdaContext, load_function

TAGS = {"env": "dev", "team": "platform"}


def official_config(emulator, algorithm: str | None) -> Config:
    config = Config(
        access_key_id=ACCESS_KEY_ID,
        access_key_secret=ACCESS_KEY_SECRET,
        endpoint=emulator.url.split("//")[1],
        protocol="http",
        region_id="cn-hangzhou",
    )
    if algorithm:
        config.signature_algorithm = algorithm
    return config


@pytest.fixture
def tagged(emulator):
    for n in range(25):
        emulator.add_instance(
            f"i-official{n:03d}",
            "Ecs",
            Tags=dict(TAGS),
            CreationTime="2026-11-22T03:04:05Z",
            AutoReleaseTime="2026-12-01T02:00:00Z" if n % 2 else None,
        )
        emulator.add_instance(f"r-official{n:03d}", "R-kvstore", Tags=dict(TAGS), CreationTime="2026-11-22T03:04:05Z")
    return emulator


@pytest.mark.parametrize("algorithm", [None, "v2"])
def test_official_ecs_client_pages_through_the_emulator(tagged, algorithm):
    client = EcsClient(official_config(tagged, algorithm))
    tags = [ecs_models.DescribeInstancesRequestTag(key=k, value=v) for k, v in TAGS.items()]
    seen, token = [], None
    for _ in range(10):
        body = client.describe_instances(
            ecs_models.DescribeInstancesRequest(region_id="cn-hangzhou", tag=tags, max_results=10, next_token=token)
        ).body
        seen += body.instances.instance
        token = body.next_token
        if not token:
            break
    assert body.total_count == 25
    assert len(seen) == 25
    official = {i.instance_id: i for i in seen}
    # the layer's projection reads what the official model parses
    for item in tagged_answer(tagged, "DescribeInstances", ecs.DESCRIBE_INSTANCES):
        record = ecs.instance_record(item, "cn-hangzhou")
        model = official[record["InstanceId"]]
        assert record == {
            "InstanceId": model.instance_id,
            "RegionId": model.region_id,
            "Status": model.status,
            "ChargeType": model.instance_charge_type,
            "CreationTime": to_the_second(model.creation_time),  # one format: ECS reads it back to the minute
            "AutoReleaseTime": model.auto_release_time or None,
            "Tags": {t.tag_key: t.tag_value for t in model.tags.tag},
            "DeletionProtection": model.deletion_protection,
        }
    assert official["i-official001"].auto_release_time == "2026-12-01T02:00Z"  # read back without seconds


@pytest.mark.parametrize("algorithm", [None, "v2"])
def test_official_redis_client_pages_through_the_emulator(tagged, algorithm):
    client = KvClient(official_config(tagged, algorithm))
    tags = [kv_models.DescribeInstancesRequestTag(key=k, value=v) for k, v in TAGS.items()]
    seen = []
    for number in range(1, 5):
        body = client.describe_instances(
            kv_models.DescribeInstancesRequest(region_id="cn-hangzhou", tag=tags, page_number=number, page_size=10 * 3)
        ).body
        seen += body.instances.kvstore_instance
        if len(seen) >= body.total_count:
            break
    assert body.total_count == 25
    assert len(seen) == 25
    official = {i.instance_id: i for i in seen}
    for item in tagged_answer(tagged, "DescribeInstances", r_kvstore.DESCRIBE_INSTANCES):
        record = r_kvstore.instance_record(item, "cn-hangzhou")
        model = official[record["InstanceId"]]
        assert record == {
            "InstanceId": model.instance_id,
            "RegionId": model.region_id,
            "Status": model.instance_status,
            "ChargeType": model.charge_type,
            "CreationTime": model.create_time,
            "Tags": {t.key: t.value for t in model.tags.tag},
        }


def tagged_answer(emulator, action_name, describe):
    """The emulator's own answer to the layer's request for the tagged instances (first page)."""
    listing = describe.listing
    params = describe.request(
        {listing.page_size_parameter: "100" if listing.paging == "token" else "50", "Tags": TAGS},
        ValidationContext(now=datetime.now(UTC)),
        Settings(region_id="cn-hangzhou"),
    ).params
    run = (emulated_ecs if describe.product.code == "Ecs" else emulated_kv).ACTIONS[
        (describe.product.version, action_name)
    ][1]
    answer = run(emulator.state, params)
    return answer["Instances"][listing.items[1]]


@pytest.mark.parametrize(
    ("describe", "client_class", "models", "extra"),
    [(r_kvstore.DESCRIBE_INSTANCES, KvClient, kv_models, {"page_size": 50, "page_number": 1})],
)
def test_layer_sends_the_parameter_names_the_official_client_sends(
    tagged, function_env, describe, client_class, models, extra
):
    tags = [models.DescribeInstancesRequestTag(key=k, value=v) for k, v in TAGS.items()]
    client_class(official_config(tagged, "v2")).describe_instances(
        models.DescribeInstancesRequest(region_id="cn-hangzhou", tag=tags, **extra)
    )
    official = set(tagged.state.received[-1].Parameters)
    function = load_function("describe_ecs_instances" if describe.product.code == "Ecs" else "describe_redis_instances")
    function.lambda_handler({"Tags": TAGS}, LambdaContext())
    assert set(tagged.state.received[-1].Parameters) == official


@pytest.mark.parametrize(
    ("action", "request_model", "only_core_sdk"),
    [
        (ecs.DESCRIBE_INSTANCES, ecs_models.DescribeInstancesRequest, set()),
        (ecs.MODIFY_INSTANCE_AUTO_RELEASE_TIME, ecs_models.ModifyInstanceAutoReleaseTimeRequest, set()),
        (r_kvstore.DESCRIBE_INSTANCES, kv_models.DescribeInstancesRequest, set()),
        # the Tea model leaves RegionId out; aliyun-python-sdk-core sends it with every call
        (r_kvstore.MODIFY_INSTANCE_MAINTAIN_TIME, kv_models.ModifyInstanceMaintainTimeRequest, {"RegionId"}),
    ],
)
def test_every_declared_parameter_is_in_the_official_model(action, request_model, only_core_sdk):
    names = {p.name.split(".")[0] for p in action.parameters}
    given = {name: [{"Key": "k", "Value": "v"}] if name == "Tag" else "x" for name in names}
    filled = request_model().from_map(given).to_map()
    assert names - set(filled) == only_core_sdk


@pytest.mark.parametrize(
    ("action", "request_model"),
    [
        (ecs.MODIFY_INSTANCE_AUTO_RELEASE_TIME, ecs_models.ModifyInstanceAutoReleaseTimeRequest),
        (r_kvstore.MODIFY_INSTANCE_MAINTAIN_TIME, kv_models.ModifyInstanceMaintainTimeRequest),
    ],
)
def test_modify_actions_take_every_parameter_of_the_official_model(action, request_model):
    import inspect

    fields = {
        name: 1 if p.annotation == "int" else "x"
        for name, p in inspect.signature(request_model.__init__).parameters.items()
        if name != "self"
    }
    official = set(request_model(**fields).to_map())
    # SecurityToken is a credential: the signature carries it, an event never does
    assert official - {"SecurityToken"} <= set(action.parameter_names)
    assert {"OwnerId", "OwnerAccount", "ResourceOwnerAccount", "ResourceOwnerId"} <= official


def test_an_ecs_selection_sends_the_names_the_official_client_sends(tagged, function_env):
    """By tags, ECS reads ListTagResources, then DescribeInstances by InstanceIds: both as the official client."""
    client = EcsClient(official_config(tagged, "v2"))
    first = sorted(TAGS.items())[0]
    client.list_tag_resources(
        ecs_models.ListTagResourcesRequest(
            region_id="cn-hangzhou",
            resource_type="instance",
            tag=[ecs_models.ListTagResourcesRequestTag(key=first[0], value=first[1])],
        )
    )
    client.describe_instances(
        ecs_models.DescribeInstancesRequest(region_id="cn-hangzhou", instance_ids='["i-official001"]', max_results=100)
    )
    official = [(r.Action, set(r.Parameters)) for r in tagged.state.received[-2:]]
    load_function("describe_ecs_instances").lambda_handler({"Tags": TAGS}, LambdaContext())
    layer = [(r.Action, set(r.Parameters)) for r in tagged.state.received if r.Action]
    assert layer[len(official) : len(official) + 2] == official
