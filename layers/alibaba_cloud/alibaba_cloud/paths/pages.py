"""Reading every page of a Describe action, within the deadline and, when given, a size budget.

Both an inventory answer and a fleet's ``Select`` read this way: every page, until the answer
gives no ``NextToken`` (ECS) or ``TotalCount`` instances are read (R-kvstore), or the invocation's
deadline is near, which the :class:`Inventory` then says.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..actions.declaring import Action, Record, TagIndex, owner_of
from ..actions.validation import INSTANCE_ID, ValidationContext
from ..config import Settings
from ..errors import deadline_exceeded, invalid_response
from ..events.keys import SKIP_ON_PAGE
from ..rpc.client import RpcClient

MAX_PAGES = 10_000  # a bound on any answer that keeps handing out pages


@dataclass
class Inventory:
    """What a Describe read: the records, and whether that is all of it (else why not, and where to go on)."""

    records: list[dict[str, Any]] = field(default_factory=list)
    total_count: int | None = None
    pages: int = 0
    throttled: int = 0  # attempts Alibaba throttled along the way
    read: int = 0  # records handed on as they were read, not kept
    reads: int = 0  # further reads, beside the pages: the instances a tag index listed, described
    complete: bool = False
    reason: str | None = None  # DeadlineNear or SizeLimit
    resume: dict[str, Any] | None = None  # the parameters (and SkipOnPage) that read on from where this stopped

    def summary(self) -> dict[str, Any]:
        summary: dict[str, Any] = {
            "Read": len(self.records) + self.read,
            "TotalCount": self.total_count,
            "Pages": self.pages,
            **({"Reads": self.pages + self.reads} if self.reads else {}),
            "Complete": self.complete,
        }
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
        each: Callable[[Record], None] | None = None,
        keep: Callable[[Record], bool] | None = None,
        reserve: float = 1.0,
    ) -> Inventory:
        """Every page from ``given``'s position on; with ``size_budget``, records are kept while their
        JSON fits in it, and a stop inside a page resumes on that page after the records kept
        (``SkipOnPage``), so no answer lists an instance twice or leaves one out. With ``each``, no
        record is kept: each is handed to it as it is read (a fleet plans it and keeps only that), and
        it may stop the read by raising. ``keep`` drops the records it refuses (an event's filter).
        No page is started with less than the deadline margin and ``reserve`` seconds left.

        Tags on an action with a :class:`TagIndex` are read through it: a page of IDs with the tags,
        then those IDs described, so no tag filter is trusted beyond its documented limit."""
        listing = describe.listing
        assert listing is not None, describe.name
        index = listing.tag_index if "Tags" in given else None
        source = describe if index is None else index.action
        paging = source.listing
        assert paging is not None, source.name
        params = {**({paging.page_size_parameter: str(paging.page_size)} if paging.page_size_parameter else {})}
        if index is None:
            params.update(given)
        else:
            params.update(index.fixed, **self._indexed(describe, index, given, ctx))
            keep = _all_tags(given["Tags"], keep)
            owner = owner_of(given)
        if paging.paging == "number":
            params.setdefault("PageNumber", "1")
        inventory, size = Inventory(), 0
        seen_tokens: set[str] = set()
        seen_ids: set[str] = set()  # a resource listed once per tag it matched is described once
        while inventory.pages < MAX_PAGES:
            if deadline is not None and time.monotonic() > deadline - self.settings.deadline_margin - reserve:
                return self._stopped(inventory, "DeadlineNear", self._resume(params, index, given), skip_on_page)
            request = source.request(params, ctx, self.settings)
            call = self.client.call(request, deadline)
            body = call.body
            inventory.throttled += call.throttled
            items = [item for item in _dig(body, paging.items) if isinstance(item, dict)]
            region = request.region_id or ""
            inventory.pages += 1
            if index is None:
                records = [listing.record(item, region) for item in items]
                if isinstance(body.get("TotalCount"), int):
                    inventory.total_count = body["TotalCount"]
            else:
                ids = [i for i in (paging.record(item, region)["InstanceId"] for item in items) if isinstance(i, str)]
                fresh = [i for i in dict.fromkeys(ids) if i not in seen_ids]
                seen_ids.update(fresh)
                records = described(self, describe, fresh, region, owner, ctx, deadline, inventory)
            for position in range(skip_on_page, len(records)):
                record = records[position]
                if keep is not None and not keep(record):
                    continue
                if size_budget is not None:
                    size += len(json.dumps(record, ensure_ascii=False).encode()) + 2  # and the ", " between records
                    if size > size_budget:
                        return self._stopped(inventory, "SizeLimit", self._resume(params, index, given), position)
                if each is not None:
                    each(record)
                    inventory.read += 1
                else:
                    inventory.records.append(record)
            skip_on_page = 0
            if paging.paging == "token":
                token = body.get("NextToken")
                if not token:
                    break
                if token in seen_tokens:
                    raise invalid_response(f"{source.name} handed out the same NextToken twice.")
                seen_tokens.add(token)
                params["NextToken"] = token
            else:
                number = int(params["PageNumber"])
                page_size = paging.page_size_parameter
                if (
                    not items
                    or inventory.total_count is None
                    or page_size is None
                    or number * int(params[page_size]) >= inventory.total_count
                ):
                    break
                params["PageNumber"] = str(number + 1)
        else:
            raise invalid_response(f"{source.name} gave more than {MAX_PAGES} pages.")
        inventory.complete = True
        return inventory

    @staticmethod
    def _indexed(describe: Action, index: TagIndex, given: Mapping[str, Any], ctx: ValidationContext) -> dict[str, Any]:
        """What the tag index is asked: the event's parameters, checked as the Describe action's (no I/O),
        and one tag of them (one with a value first), so each instance is one row of the index's pages
        and a resume point inside a page stays exact; the other tags are matched on the records read."""
        describe.validate({k: v for k, v in given.items() if k not in (SKIP_ON_PAGE,)}, ctx)
        tags = given["Tags"] if isinstance(given["Tags"], dict) else {}
        first = sorted(tags.items(), key=lambda kv: (kv[1] is None, kv[0]))[:1]
        taken = index.action.accepted_names
        return {**{k: v for k, v in given.items() if k in taken}, "Tags": dict(first)}

    @staticmethod
    def _resume(params: Mapping[str, Any], index: TagIndex | None, given: Mapping[str, Any]) -> dict[str, Any]:
        """The Describe action's parameters that read on: a tag index's own are its, not the event's."""
        if index is None:
            return dict(params)
        return {**{k: v for k, v in params.items() if k not in index.fixed}, "Tags": given["Tags"]}

    @staticmethod
    def _stopped(inventory: Inventory, reason: str, params: Mapping[str, Any], skip_on_page: int) -> Inventory:
        inventory.reason, inventory.resume = reason, dict(params)
        if skip_on_page:
            inventory.resume["SkipOnPage"] = skip_on_page
        return inventory


def described(
    reader: InventoryReader,
    describe: Action,
    ids: Sequence[str],
    region: str,
    owner: Mapping[str, Any],
    ctx: ValidationContext,
    deadline: float | None,
    inventory: Inventory | None = None,
) -> list[Record]:
    """The records of ``ids`` in ``region``, read as many a call as the action takes; an ID the
    answer does not list has no record (it is not there, or not this account's)."""
    listing = describe.listing
    by_ids = listing.by_ids if listing is not None else None
    assert by_ids is not None, describe.name
    records: list[Record] = []
    for start in range(0, len(ids), by_ids.most):
        chunk = ids[start : start + by_ids.most]
        given = {**owner, by_ids.parameter: by_ids.encode(chunk), **({"RegionId": region} if region else {})}
        read = reader.read(describe, given, ctx, deadline, reserve=0.0)  # the client's own deadline rule holds
        if inventory is not None:
            inventory.throttled += read.throttled
            inventory.reads += read.pages
        if not read.complete:  # the deadline came while reading them
            raise deadline_exceeded(f"The invocation's deadline came while {describe.name} read instances.")
        records += read.records
    return records


def listed(
    reader: InventoryReader,
    describe: Action,
    targets: Sequence[Any],
    default_region: str | None,
    owner: Mapping[str, Any],
    ctx: ValidationContext,
    deadline: float | None,
    inventory: Inventory,
) -> dict[str, Record]:
    """The records of the instances a list of targets names, by ID, read region by region; targets
    that name no valid instance or region are left to fail on their own."""
    by_region: dict[str, list[str]] = {}
    for given in targets:
        if not isinstance(given, dict):
            continue
        instance_id, region = given.get("InstanceId"), given.get("RegionId") or default_region
        if isinstance(instance_id, str) and INSTANCE_ID.fullmatch(instance_id) and isinstance(region, str):
            by_region.setdefault(region, []).append(instance_id)
    current = {}
    for region, ids in by_region.items():
        for record in described(reader, describe, list(dict.fromkeys(ids)), region, owner, ctx, deadline, inventory):
            current[record["InstanceId"]] = record
    return current


def _all_tags(tags: Mapping[str, Any], keep: Callable[[Record], bool] | None) -> Callable[[Record], bool]:
    """``keep``, and every tag matched on the record read, as a selection matches them (null: any value)."""
    from ..events.batch import Selection  # only a read through a tag index pays for it

    selection = Selection(None, dict(tags))
    return lambda record: selection.matches(record) and (keep is None or keep(record))


def _dig(body: Mapping[str, Any], path: tuple[str, ...]) -> list[Any]:
    value: Any = body
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value if isinstance(value, list) else []
