"""Where a product's requests go: regional hosts, or the one base URL the settings name."""

from __future__ import annotations

from dataclasses import dataclass

from ..config import Settings


@dataclass(frozen=True)
class Product:
    """An Alibaba Cloud product's RPC API: its code, version and host patterns.

    Hosts are regional (``{region}`` is the region ID): Alibaba's central hosts no longer answer
    for every region, the regional ones always do.
    """

    code: str
    version: str
    host: str
    vpc_host: str | None = None

    def base_url(self, region_id: str, settings: Settings) -> str:
        if settings.endpoint:
            return settings.endpoint
        pattern = self.vpc_host if settings.network == "vpc" and self.vpc_host else self.host
        return "https://" + pattern.format(region=region_id)


ECS = Product("Ecs", "2014-05-26", "ecs.{region}.aliyuncs.com", vpc_host="ecs-vpc.{region}.aliyuncs.com")
R_KVSTORE = Product("R-kvstore", "2015-01-01", "r-kvstore.{region}.aliyuncs.com")
