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

from ..actions.validation import invalid
from ..config import Settings
from ..errors import AlibabaCloudError
from ..rpc.client import RpcClient

if TYPE_CHECKING:
    from ..actions.declaring import Action
    from ..actions.validation import ValidationContext

SINCE = ("ScheduledTime", "CreationTime")
MAX_PAGES = 10_000  # a bound on any answer that keeps handing out pages
CREATION_TIME = "%Y-%m-%dT%H:%MZ"


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
    resume: dict[str, Any] | None = None  # the parameters (and SkipOnPage) that read on from where this stopped

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
        skip_on_page: int = 0,
    ) -> Inventory:
        """Every page from ``given``'s position on; with ``size_budget``, records are kept while their
        JSON fits in it, and a stop inside a page resumes on that page after the records kept
        (``SkipOnPage``), so no answer lists an instance twice or leaves one out."""
        listing = describe.listing
        assert listing is not None, describe.name
        params = {listing.page_size_parameter: str(listing.page_size), **given}
        if listing.paging == "number":
            params.setdefault("PageNumber", "1")
        inventory, size = Inventory(), 0
        seen_tokens: set[str] = set()
        while inventory.pages < MAX_PAGES:
            if deadline is not None and time.monotonic() > deadline - self.settings.deadline_margin - 1.0:
                return self._stopped(inventory, "DeadlineNear", params, skip_on_page)
            request = describe.request(params, ctx, self.settings)
            body = self.client.call(request, deadline).body
            items = [item for item in _dig(body, listing.items) if isinstance(item, dict)]
            region = request.region_id or ""
            inventory.pages += 1
            if isinstance(body.get("TotalCount"), int):
                inventory.total_count = body["TotalCount"]
            for index in range(skip_on_page, len(items)):
                record = listing.record(items[index], region)
                if size_budget is not None:
                    size += len(json.dumps(record, ensure_ascii=False).encode()) + 2  # and the ", " between records
                    if size > size_budget:
                        return self._stopped(inventory, "SizeLimit", params, index)
                inventory.records.append(record)
            skip_on_page = 0
            if listing.paging == "token":
                token = body.get("NextToken")
                if not token:
                    break
                if token in seen_tokens:
                    raise AlibabaCloudError("InvalidResponse", f"{describe.name} handed out the same NextToken twice.", http_status=502)
                seen_tokens.add(token)
                params["NextToken"] = token
            else:
                number = int(params["PageNumber"])
                if not items or inventory.total_count is None or number * int(params[listing.page_size_parameter]) >= inventory.total_count:
                    break
                params["PageNumber"] = str(number + 1)
        else:
            raise AlibabaCloudError("InvalidResponse", f"{describe.name} gave more than {MAX_PAGES} pages.", http_status=502)
        inventory.complete = True
        return inventory

    @staticmethod
    def _stopped(inventory: Inventory, reason: str, params: Mapping[str, Any], skip_on_page: int) -> Inventory:
        inventory.reason, inventory.resume = reason, dict(params)
        if skip_on_page:
            inventory.resume["SkipOnPage"] = skip_on_page
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


class InstanceValueError(AlibabaCloudError):
    """A value a selected instance cannot give (a tag it lacks, a creation time that does not read): it fails alone."""


def with_tag_values(parameters: Mapping[str, Any], record: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters with each ``{"Tag": key}`` replaced by the instance's value of that tag."""
    resolved = {}
    tags = record.get("Tags") or {}
    for name, value in parameters.items():
        if is_tag_value(value):
            key = value["Tag"]
            if key not in tags:
                raise InstanceValueError("Tag.Missing", f"The instance has no tag {key!r} to take {name} from.", http_status=400)
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
    raise InstanceValueError("InvalidCreationTime", f"The instance's CreationTime {text!r} cannot be read.", http_status=400)

