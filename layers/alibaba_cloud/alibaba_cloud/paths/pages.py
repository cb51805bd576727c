"""Reading every page of a Describe action, within the deadline and, when given, a size budget.

Both an inventory answer and a fleet's ``Select`` read this way: every page, until the answer
gives no ``NextToken`` (ECS) or ``TotalCount`` instances are read (R-kvstore), or the invocation's
deadline is near, which the :class:`Inventory` then says.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..actions.declaring import Action, Record
from ..actions.validation import ValidationContext
from ..config import Settings
from ..errors import invalid_response
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
    complete: bool = False
    reason: str | None = None  # DeadlineNear or SizeLimit
    resume: dict[str, Any] | None = None  # the parameters (and SkipOnPage) that read on from where this stopped

    def summary(self) -> dict[str, Any]:
        summary: dict[str, Any] = {
            "Read": len(self.records) + self.read,
            "TotalCount": self.total_count,
            "Pages": self.pages,
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
    ) -> Inventory:
        """Every page from ``given``'s position on; with ``size_budget``, records are kept while their
        JSON fits in it, and a stop inside a page resumes on that page after the records kept
        (``SkipOnPage``), so no answer lists an instance twice or leaves one out. With ``each``, no
        record is kept: each is handed to it as it is read (a fleet plans it and keeps only that), and
        it may stop the read by raising."""
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
            call = self.client.call(request, deadline)
            body = call.body
            inventory.throttled += call.throttled
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
                if each is not None:
                    each(record)
                    inventory.read += 1
                else:
                    inventory.records.append(record)
            skip_on_page = 0
            if listing.paging == "token":
                token = body.get("NextToken")
                if not token:
                    break
                if token in seen_tokens:
                    raise invalid_response(f"{describe.name} handed out the same NextToken twice.")
                seen_tokens.add(token)
                params["NextToken"] = token
            else:
                number = int(params["PageNumber"])
                if (
                    not items
                    or inventory.total_count is None
                    or number * int(params[listing.page_size_parameter]) >= inventory.total_count
                ):
                    break
                params["PageNumber"] = str(number + 1)
        else:
            raise invalid_response(f"{describe.name} gave more than {MAX_PAGES} pages.")
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
