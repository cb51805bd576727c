"""The emulator's state: instances, credentials, nonces, queued faults, and what it received."""

from __future__ import annotations

import base64
import re
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

TAG_PARAMETER = re.compile(r"Tag\.([1-9]\d*)\.(Key|Value)")
RESOURCE_ID_PARAMETER = re.compile(r"ResourceId\.[1-9]\d*")
TAG_PAGE = 50  # ListTagResources: rows a page, both products


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.status, self.code, self.message = status, code, message


@dataclass
class Instance:
    InstanceId: str
    Product: str  # "Ecs" or "R-kvstore"
    RegionId: str = "cn-hangzhou"
    InstanceChargeType: str = "PostPaid"  # "PrePaid" is a subscription instance
    AutoReleaseTime: str | None = None
    MaintainStartTime: str | None = "18:00Z"
    MaintainEndTime: str | None = "19:00Z"
    Tags: dict[str, str] = field(default_factory=dict)
    DeletionProtection: bool = False  # ECS release protection: it guards against a manual release only
    CreationTime: str = field(default_factory=lambda: datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
    Status: str = "Running"


@dataclass
class Fault:
    """One way to misbehave, for the next ``Times`` requests (optionally only for one ``Action``).

    Kinds: ``throttle`` (400 Throttling.User with x-acs-retry-after), ``internal`` (500
    InternalError), ``unavailable`` (503 ServiceUnavailable), ``nonce_used`` (400
    SignatureNonceUsed), ``latency`` (sleep ``Seconds`` then answer normally), ``drop`` (close the
    connection without an answer), ``reset`` (abort it with a TCP reset), ``html`` (a 502 HTML
    page), ``truncated`` (half a JSON body), ``text`` (200 with a text/plain body), ``denied`` (403
    Forbidden.RAM with an ``AccessDeniedDetail``), ``xml`` (500 InternalError as a text/xml body).
    """

    Kind: str
    Times: int = 1
    Seconds: float = 0.0
    Action: str | None = None
    RetryAfterMs: int = 100

    KINDS = (
        "throttle",
        "internal",
        "unavailable",
        "nonce_used",
        "latency",
        "drop",
        "reset",
        "html",
        "truncated",
        "text",
        "denied",
        "xml",
    )

    def __post_init__(self) -> None:  # a misspelt kind is refused when queued, not when a request meets it
        if self.Kind not in self.KINDS:
            raise ValueError(f"unknown fault kind {self.Kind!r}; the kinds are {', '.join(self.KINDS)}")
        if not isinstance(self.Times, int) or self.Times < 1:
            raise ValueError("Times must be a whole number from 1")


@dataclass
class Received:
    Action: str | None
    Parameters: dict[str, str]
    Status: int = 0
    Code: str | None = None
    Nonce: str | None = None
    RequestId: str | None = None
    Arrived: float = 0.0  # time.monotonic() when the request came in
    ClientPort: int = 0  # the client's source port: one per pooled connection
    Signature: str = ""  # "V2" or "V3"
    Headers: dict[str, str] = field(default_factory=dict)  # the ones that say who called: User-Agent, Accept
    AccessKeyId: str | None = None  # whose key signed it (None: an anonymous call)


@dataclass
class EmulatorState:
    credentials: dict[str, tuple[str, str | None]] = field(default_factory=dict)  # id -> (secret, token)
    instances: dict[str, Instance] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    expiry: dict[str, datetime] = field(default_factory=dict)  # STS credentials: id -> when they stop working
    oidc_providers: dict[str, Any] = field(default_factory=dict)  # RAM OIDC providers by ARN (sts.OidcProvider)
    assumable: set[str] = field(default_factory=set)  # role ARNs AssumeRole may take, signed by any known key
    nonces: set[str] = field(default_factory=set)
    window_rule: str = "exactly-one-hour"
    clock_skew: timedelta = timedelta(0)
    in_flight: int = 0
    max_in_flight: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.clock_skew

    @property
    def writes(self) -> list[Received]:
        """What was received but the reads (Describe*, List*) and the credentials asked of STS (Assume*)."""
        return [r for r in self.received if not (r.Action or "").startswith(("Describe", "List", "Assume"))]

    def take_fault(self, action: str | None) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.Action in (None, action) and fault.Times > 0:
                    fault.Times -= 1
                    if fault.Times == 0:
                        self.faults.remove(fault)
                    return fault
        return None


def require_instance(state: EmulatorState, params: dict[str, str], product: str) -> Instance:
    instance_id = params.get("InstanceId")
    if not instance_id:
        raise ApiError(400, "MissingParameter", "InstanceId should not be null.")
    instance = state.instances.get(instance_id)
    if instance is None or instance.Product != product:
        raise ApiError(404, "NoSuchResource", "The specified resource is not found.")
    return instance


def tag_filter(params: dict[str, str], limit: int) -> dict[str, str | None]:
    """``Tag.N.Key``/``Tag.N.Value`` as ``{key: value or None}``; a value without its key is refused."""
    keys: dict[int, str] = {}
    values: dict[int, str] = {}
    for name, value in params.items():
        match = TAG_PARAMETER.fullmatch(name)
        if match:
            n = int(match[1])
            if n > limit:
                raise ApiError(400, "InvalidParameter", f"Tag.N: N must be at most {limit}.")
            (keys if match[2] == "Key" else values)[n] = value
    if set(values) - set(keys):
        raise ApiError(400, "InvalidTagKey.Malformed", "A Tag.N.Value was given without its Tag.N.Key.")
    if not all(1 <= len(k) <= 128 for k in keys.values()):
        raise ApiError(400, "InvalidTagKey.Malformed", "A Tag.N.Key must be 1 to 128 characters.")
    if not all(len(v) <= 128 for v in values.values()):
        raise ApiError(400, "InvalidTagValue.Malformed", "A Tag.N.Value must be at most 128 characters.")
    return {key: values.get(n) for n, key in keys.items()}


def selected(
    state: EmulatorState, product: str, region: str, tags: dict[str, str | None], ids: list[str] | None = None
) -> list[Instance]:
    """The product's instances in the region whose tags match (a key without value matches any), and
    whose ID is among ``ids`` when given, by ID."""
    wanted = None if ids is None else set(ids)
    return sorted(
        (
            i
            for i in state.instances.values()
            if i.Product == product
            and i.RegionId == region
            and (wanted is None or i.InstanceId in wanted)
            and all(k in i.Tags and (v is None or i.Tags[k] == v) for k, v in tags.items())
        ),
        key=lambda i: i.InstanceId,
    )


def tag_index(
    state: EmulatorState, params: dict[str, str], product: str, kind: str, max_tags: int, max_ids: int | None = None
) -> dict:
    """``ListTagResources`` of either product: ``ResourceType`` (``kind``) and ``Tag.N`` or ``ResourceId.N``,
    at least one of them; 50 rows a page."""
    region = params.get("RegionId")
    if not region:
        raise ApiError(400, "MissingParameter", "RegionId should not be null.")
    if params.get("ResourceType") != kind:
        raise ApiError(400, "InvalidResourceType.NotFound", "The specified ResourceType is not found.")
    tags = tag_filter(params, max_tags)
    ids = [v for k, v in params.items() if RESOURCE_ID_PARAMETER.fullmatch(k)]
    if max_ids is not None and len(ids) > max_ids:
        raise ApiError(400, "InvalidParameter", f"ResourceId.N: N must be at most {max_ids}.")
    if not tags and not ids:
        raise ApiError(400, "MissingParameter", "Tag or ResourceId should not be null.")
    found = selected(state, product, region, tags, ids or None)
    return tag_rows(found, tags, kind, token_offset(params.get("NextToken")), TAG_PAGE)


def tag_rows(found: list[Instance], tags: dict[str, str | None], kind: str, start: int, size: int) -> dict:
    """``ListTagResources``'s page: a row per resource and tag asked for (every tag of the resource when
    none is), ``size`` rows a page after ``start``, then an opaque ``NextToken``."""
    rows = [
        {"ResourceId": i.InstanceId, "ResourceType": kind, "TagKey": k, "TagValue": i.Tags[k]}
        for i in found
        for k in (tags or sorted(i.Tags))
        if k in i.Tags
    ]
    more = start + size < len(rows)
    return {
        "NextToken": offset_token(start + size) if more else "",
        "TagResources": {"TagResource": rows[start : start + size]},
    }


def offset_token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()


def token_offset(token: str | None) -> int:
    if not token:
        return 0
    try:
        kind, _, offset = base64.urlsafe_b64decode(token.encode()).decode().partition(":")
        if kind != "offset":
            raise ValueError(token)
        return int(offset)
    except ValueError:
        raise ApiError(400, "InvalidNextToken.Malformed", "The specified NextToken is not valid.") from None
