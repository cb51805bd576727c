"""Where a product's requests go: the host Alibaba's official client picks, or the one base URL the settings name.

The official Tea clients (``alibabacloud_ecs20140526``, ``alibabacloud_r_kvstore20150101``) look a
region up in the product's endpoint map first and fall back to the regional rule
``<product>[-<network>].<region>.aliyuncs.com``. The map wins whatever the network, so an ECS
client in ``cn-hangzhou`` talks to ``ecs-cn-hangzhou.aliyuncs.com`` even on a VPC. Doing the same,
host for host, is what ``tests/test_endpoints.py`` checks against the official clients.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from ..config import Settings


def _by_host(hosts: Mapping[str, str]) -> dict[str, str]:
    """``{region: host}`` from ``{host: "region region ..."}``: the maps read shorter grouped by host."""
    return {region: host for host, regions in hosts.items() for region in regions.split()}


@dataclass(frozen=True)
class Product:
    """An Alibaba Cloud product's RPC API: its code, version, and how its host is found.

    ``endpoint_code`` is the product's name in host names; ``endpoint_map`` holds the regions the
    official client sends elsewhere than the regional rule says.
    """

    code: str
    version: str
    endpoint_code: str
    endpoint_map: Mapping[str, str] = field(default_factory=dict, repr=False)

    def host(self, region_id: str, network: str = "public") -> str:
        if region_id in self.endpoint_map:
            return self.endpoint_map[region_id]
        infix = "" if network == "public" else f"-{network}"
        return f"{self.endpoint_code}{infix}.{region_id}.aliyuncs.com"

    def base_url(self, region_id: str, settings: Settings) -> str:
        if settings.endpoint:
            return settings.endpoint
        return "https://" + self.host(region_id, settings.network)


# From alibabacloud_ecs20140526 7.11.8 (Client._endpoint_map).
ECS = Product(
    "Ecs",
    "2014-05-26",
    "ecs",
    _by_host(
        {
            "ecs-cn-hangzhou.aliyuncs.com": (
                "cn-hangzhou cn-shanghai-finance-1 cn-shenzhen-finance-1 cn-beijing-nu16-b01 cn-fujian "
                "cn-haidian-cm12-c01 cn-hangzhou-bj-b01 cn-hangzhou-internal-prod-1 cn-hangzhou-internal-test-1 "
                "cn-hangzhou-internal-test-2 cn-hangzhou-internal-test-3 cn-hangzhou-test-306 cn-shanghai-et15-b01 "
                "cn-shanghai-et2-b01 cn-shanghai-internal-test-1 cn-shenzhen-st4-d01 cn-shenzhen-su18-b01 "
                "cn-zhangbei-na61-b01"
            ),
            "ecs.aliyuncs.com": (
                "cn-north-2-gov-1 ap-northeast-2-pop cn-beijing-finance-pop cn-beijing-gov-1 cn-hangzhou-finance "
                "cn-hongkong-finance-pop cn-shanghai-inner cn-shenzhen-inner cn-wuhan cn-yushanfang cn-zhangbei "
                "rus-west-1-pop"
            ),
            "ecs.cn-qingdao-nebula.aliyuncs.com": "cn-edge-1 cn-huhehaote-nebula-1 cn-zhengzhou-nebula-1",
            "ecs.cn-zhangjiakou.aliyuncs.com": "cn-zhangjiakou-na62-a01",
            "ecs.cn-shenzhen-cloudstone.aliyuncs.com": "eu-west-1-oxs",
        }
    ),
)

# From alibabacloud_r_kvstore20150101 7.0.0 (Client._endpoint_map): every mapped region uses the central host.
R_KVSTORE = Product(
    "R-kvstore",
    "2015-01-01",
    "r-kvstore",
    _by_host(
        {
            "r-kvstore.aliyuncs.com": (
                "cn-hangzhou cn-hangzhou-finance ap-northeast-2-pop cn-beijing-finance-pop cn-beijing-gov-1 "
                "cn-beijing-nu16-b01 cn-edge-1 cn-fujian cn-haidian-cm12-c01 cn-hangzhou-bj-b01 "
                "cn-hangzhou-internal-prod-1 cn-hangzhou-internal-test-1 cn-hangzhou-internal-test-2 "
                "cn-hangzhou-internal-test-3 cn-hangzhou-test-306 cn-hongkong-finance-pop cn-qingdao-nebula "
                "cn-shanghai-et15-b01 cn-shanghai-et2-b01 cn-shanghai-inner cn-shanghai-internal-test-1 "
                "cn-shenzhen-inner cn-shenzhen-st4-d01 cn-shenzhen-su18-b01 cn-wuhan cn-yushanfang cn-zhangbei "
                "cn-zhangbei-na61-b01 cn-zhangjiakou-na62-a01 cn-zhengzhou-nebula-1 eu-west-1-oxs rus-west-1-pop"
            ),
        }
    ),
)


# A region ID's shape: it becomes part of a host name, so nothing but a region may pass.
REGION_ID = re.compile(r"[a-z]{2,}(-[a-z0-9]+){1,4}")

# The regions Alibaba Cloud has: the regions pages of both products (public, finance, gov), every
# region of the endpoint maps above, and every region aliyun-python-sdk-core 2.16.1's endpoint data
# lists. tests/test_endpoints.py keeps it a superset of what the official SDKs know.
PUBLIC_REGIONS = frozenset(
    (
        "cn-qingdao cn-beijing cn-zhangjiakou cn-huhehaote cn-wulanchabu cn-hangzhou cn-shanghai cn-nanjing "
        "cn-fuzhou cn-wuhan-lr cn-shenzhen cn-heyuan cn-guangzhou cn-chengdu cn-hongkong ap-northeast-1 "
        "ap-northeast-2 ap-southeast-1 ap-southeast-2 ap-southeast-3 ap-southeast-5 ap-southeast-6 ap-southeast-7 "
        "ap-south-1 us-east-1 us-west-1 na-south-1 eu-west-1 eu-central-1 me-east-1 me-central-1 "
        "cn-shanghai-finance-1 cn-shenzhen-finance-1 cn-beijing-finance-1 cn-hangzhou-finance cn-north-2-gov-1 "
        "cn-beijing-gov-1"
    ).split()
)
REGIONS = (
    PUBLIC_REGIONS
    | ECS.endpoint_map.keys()
    | R_KVSTORE.endpoint_map.keys()
    | frozenset(
        "cn-beijing-finance-pop cn-hongkong-finance-pop cn-qingdao-nebula cn-shanghai-inner cn-shenzhen-inner "
        "cn-wuhan cn-yushanfang eu-west-1-oxs rus-west-1-pop".split()
    )
)


def region_refusal(region: str) -> str | None:
    """Why ``region`` is not a region Alibaba Cloud has (naming the nearest one), or ``None``."""
    if region in REGIONS:
        return None
    from difflib import get_close_matches  # only a refusal pays for it

    nearest = get_close_matches(region, sorted(PUBLIC_REGIONS), n=1)
    hint = f"; did you mean {nearest[0]}?" if nearest else "."
    return f"{region} is not a region Alibaba Cloud has{hint}"
