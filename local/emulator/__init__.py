"""A local Alibaba Cloud RPC gateway for ECS and R-kvstore, on 127.0.0.1.

It answers the product's actions the way Alibaba's gateway does, so the product can run and be
tested with no cloud, split by job: :mod:`.server` answers HTTP and records every request;
:mod:`.gateway` checks signatures, timestamps, nonces and parameters; :mod:`.faults` misbehaves
when told to; :mod:`.control` is the API that steers it (``/_emulator/...``); :mod:`.ecs` and
:mod:`.r_kvstore` apply each product's rules to the instances :mod:`.state` keeps (with tags,
charge types and creation times), Describe paging included.

Run it: ``python -m local.emulator --port 8080`` (see ``--help``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from .gateway import server_signature, server_string_to_sign
from .server import EmulatorServer
from .state import ApiError, EmulatorState, Fault, Instance, Received

DEMO_ACCESS_KEY_ID = "LTAI5tDemoEmulatorKey"
DEMO_ACCESS_KEY_SECRET = "demo-emulator-secret"
DEMO_TAGS = {"env": "dev", "team": "platform"}


def seed_demo(server: EmulatorServer) -> None:
    """The credentials and instances ``make demo`` and ``make serve`` use, a tagged fleet among them."""
    server.add_credentials(DEMO_ACCESS_KEY_ID, DEMO_ACCESS_KEY_SECRET)
    server.add_instance("r-bp1zxszhcgatnx2demo", "R-kvstore")
    server.add_instance("i-bp1env7nl3mijm2demo", "Ecs")
    server.add_instance("i-bp1subscription2demo", "Ecs", InstanceChargeType="PrePaid")
    # the placeholders of template.yaml's example schedules, so `make serve` can fire them as they are
    server.add_instance("r-bp1zxszhcgatnx****", "R-kvstore")
    server.add_instance("i-bp1env7nl3mijm2t****", "Ecs")
    seed_tagged_fleet(server)


def seed_tagged_fleet(server: EmulatorServer, now: datetime | None = None) -> None:
    """Ephemeral dev instances for the TTL-by-tag example: created over the last hours, each with a
    ``ttl`` tag; one subscription instance (never written), one whose ``ttl`` is not a duration, and
    one with release protection on (never given a release time)."""
    now = now or datetime.now(UTC)
    created = lambda hours: (now - timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")  # noqa: E731
    for n, (age, ttl) in enumerate([(1, "PT8H"), (2, "PT8H"), (3, "PT12H"), (5, "P1D"), (6, "PT8H")]):
        server.add_instance(f"i-bp1devfleet0{n}demo", "Ecs", Tags={**DEMO_TAGS, "ttl": ttl}, CreationTime=created(age))
    server.add_instance(
        "i-bp1devreserved0demo",
        "Ecs",
        InstanceChargeType="PrePaid",
        Tags={**DEMO_TAGS, "ttl": "PT8H"},
        CreationTime=created(30),
    )
    server.add_instance(
        "i-bp1devbadttl00demo", "Ecs", Tags={**DEMO_TAGS, "ttl": "eight hours"}, CreationTime=created(2)
    )
    server.add_instance(
        "i-bp1devprotect0demo",
        "Ecs",
        DeletionProtection=True,
        Tags={**DEMO_TAGS, "ttl": "PT8H"},
        CreationTime=created(4),
    )
    for n, zone in enumerate(["Asia/Shanghai", "Europe/London", "America/New_York"]):
        server.add_instance(
            f"r-bp1devcache0{n}demo", "R-kvstore", Tags={**DEMO_TAGS, "tz": zone}, CreationTime=created(48)
        )


__all__ = [
    "DEMO_ACCESS_KEY_ID",
    "DEMO_ACCESS_KEY_SECRET",
    "ApiError",
    "EmulatorServer",
    "EmulatorState",
    "Fault",
    "Instance",
    "Received",
    "seed_demo",
    "seed_tagged_fleet",
    "server_signature",
    "server_string_to_sign",
]
