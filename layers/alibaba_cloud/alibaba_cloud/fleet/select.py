"""Fleets named by tags: ``Select`` read through DescribeInstances, every page, and values taken from tags.

A selection is read whole before anything is written: every page, until the answer gives no
``NextToken`` (ECS) or ``TotalCount`` instances are read (R-kvstore), or the invocation's deadline
is near, which the result then says. Each instance the answer lists is checked against the
selection again here: nothing is written to an instance whose tags do not match.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from ..config import Settings
from ..errors import AlibabaCloudError
from ..rpc.client import RpcClient

if TYPE_CHECKING:
    from ..actions.declaring import Action
    from ..actions.validation import ValidationContext

SINCE = ("ScheduledTime", "CreationTime")
MAX_PAGES = 10_000  # a bound on any answer that keeps handing out pages
CREATION_TIME = "%Y-%m-%dT%H:%MZ"


def invalid(code: str, message: str) -> AlibabaCloudError:
    return AlibabaCloudError(code, message, http_status=400)


@dataclass(frozen=True)
class Selection:
    """``{"RegionId": ..., "Tags": {"env": "dev", "ttl": null}}``: every tag must match, null matching any value."""

    region_id: str | None
    tags: dict[str, str | None]

    @classmethod
    def parse(cls, value: object) -> Selection:
        if not isinstance(value, dict) or set(value) - {"RegionId", "Tags"}:
            raise invalid("InvalidParameter", 'Select takes RegionId and Tags: {"RegionId": "cn-hangzhou", "Tags": {"env": "dev"}}.')
        region, tags = value.get("RegionId"), value.get("Tags")
        if region is not None and not isinstance(region, str):
            raise invalid("InvalidParameter", "Select.RegionId must be a region ID.")
        if not isinstance(tags, dict) or not tags:
            raise invalid("InvalidParameter", "Select.Tags must name at least one tag: {\"env\": \"dev\"} (null matches any value).")
        if not all(v is None or isinstance(v, str) for v in tags.values()):
            raise invalid("InvalidParameter", "A Select tag's value must be text, or null for any value.")
        return cls(region, dict(tags))

    def matches(self, record: Mapping[str, Any]) -> bool:
        tags = record.get("Tags") or {}
        return all(key in tags and (want is None or tags[key] == want) for key, want in self.tags.items())

    def describe_parameters(self) -> dict[str, Any]:
        given: dict[str, Any] = {"Tags": self.tags}
        if self.region_id is not None:
            given["RegionId"] = self.region_id
        return given

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in (("RegionId", self.region_id), ("Tags", self.tags)) if v is not None}


@dataclass
class Inventory:
    """What a Describe read: the records, and whether that is all of it (else why not, and where to go on)."""

    records: list[dict[str, Any]] = field(default_factory=list)
    total_count: int | None = None
    pages: int = 0
    complete: bool = False
    reason: str | None = None  # DeadlineNear or SizeLimit
    resume: dict[str, Any] | None = None  # the parameters that read on from where this stopped

    def summary(self) -> dict[str, Any]:
        summary: dict[str, Any] = {"Read": len(self.records), "TotalCount": self.total_count, "Pages": self.pages,
                                   "Complete": self.complete}
        if not self.complete:
            summary["Reason"] = self.reason
        return summary


class InventoryReader:
    """Reads every page of a Describe action, within the deadline (and a size budget, when given)."""

    def __init__(self, client: RpcClient, settings: Settings) -> None:
        self.client = client
        self.settings = settings

    def read(
        self,
        describe: Action,
        given: Mapping[str, Any],
        ctx: ValidationContext,
        deadline: float | None,
        size_budget: int | None = None,
    ) -> Inventory:
        listing = describe.listing
        assert listing is not None, describe.name
        params = {listing.page_size_parameter: str(listing.page_size), **given}
        if listing.paging == "number":
            params.setdefault("PageNumber", "1")
        inventory, size, largest_page = Inventory(), 0, 0
        seen_tokens: set[str] = set()
        while inventory.pages < MAX_PAGES:
            if deadline is not None and time.monotonic() > deadline - self.settings.deadline_margin - 1.0:
                return self._stopped(inventory, "DeadlineNear", params)
            if size_budget is not None and inventory.pages and size + largest_page > size_budget:
                return self._stopped(inventory, "SizeLimit", params)
            request = describe.request(params, ctx, self.settings)
            body = self.client.call(request, deadline).body
            items = _dig(body, listing.items)
            region = request.region_id or ""
            page = [listing.record(item, region) for item in items if isinstance(item, dict)]
            inventory.pages += 1
            inventory.records.extend(page)
            if size_budget is not None:
                page_size = len(json.dumps(page, ensure_ascii=False))
                size, largest_page = size + page_size, max(largest_page, page_size)
            if isinstance(body.get("TotalCount"), int):
                inventory.total_count = body["TotalCount"]
            if listing.paging == "token":
                token = body.get("NextToken")
                if not token:
                    break
                if token in seen_tokens:
                    raise AlibabaCloudError("InvalidResponse", f"{describe.name} handed out the same NextToken twice.", http_status=502)
                seen_tokens.add(token)
                params["NextToken"] = token
            else:
                if not items or inventory.total_count is None or len(inventory.records) >= inventory.total_count:
                    break
                params["PageNumber"] = str(int(params["PageNumber"]) + 1)
        else:
            raise AlibabaCloudError("InvalidResponse", f"{describe.name} gave more than {MAX_PAGES} pages.", http_status=502)
        inventory.complete = True
        return inventory

    @staticmethod
    def _stopped(inventory: Inventory, reason: str, params: Mapping[str, Any]) -> Inventory:
        inventory.reason, inventory.resume = reason, dict(params)
        return inventory


def _dig(body: Mapping[str, Any], path: tuple[str, ...]) -> list[Any]:
    value: Any = body
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value if isinstance(value, list) else []


# Values from tags: {"Tag": "ttl"} in place of a parameter's value


def is_tag_value(value: object) -> bool:
    return isinstance(value, dict) and set(value) == {"Tag"}


def tag_values_in(parameters: Mapping[str, Any]) -> list[str]:
    """The names of the parameters whose value is to come from a tag; refuses a malformed ``{"Tag": ...}``."""
    names = []
    for name, value in parameters.items():
        if isinstance(value, dict) and "Tag" in value:
            if not is_tag_value(value) or not isinstance(value["Tag"], str) or not value["Tag"]:
                raise invalid("InvalidParameter", f'{name} from a tag is written {{"Tag": "<tag key>"}}.')
            names.append(name)
    return names


class TagValueError(AlibabaCloudError):
    pass


def with_tag_values(parameters: Mapping[str, Any], record: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters with each ``{"Tag": key}`` replaced by the instance's value of that tag."""
    resolved = {}
    tags = record.get("Tags") or {}
    for name, value in parameters.items():
        if is_tag_value(value):
            key = value["Tag"]
            if key not in tags:
                raise TagValueError("Tag.Missing", f"The instance has no tag {key!r} to take {name} from.", http_status=400)
            value = tags[key]
        resolved[name] = value
    return resolved


def creation_time(record: Mapping[str, Any]) -> datetime:
    """The record's creation time: ECS reads it to the minute (``2026-11-22T03:04Z``), R-kvstore to the second."""
    text = record.get("CreationTime")
    for pattern in (CREATION_TIME, "%Y-%m-%dT%H:%M:%SZ"):
        try:
            return datetime.strptime(text, pattern).replace(tzinfo=timezone.utc)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            continue
    raise TagValueError("InvalidCreationTime", f"The instance's CreationTime {text!r} cannot be read.", http_status=400)

