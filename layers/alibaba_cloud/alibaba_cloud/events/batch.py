"""What a fleet event asks for, as values: its targets, its ``RateControl``, its ``Select``, values from tags.

No threads and no I/O here: the event reader builds these, and :mod:`alibaba_cloud.paths.fleet`
runs them. ``RateControl`` is modelled on Alibaba's Operation Orchestration Service: ``Concurrency``
targets at a time, at most ``MaxRequestsPerSecond`` requests (retries included), and once more
than ``MaxErrors`` (a number, or a percentage of the targets) have failed, no new target is started.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import bad_request, invalid
from ..rpc.endpoints import REGION_ID, region_refusal
from .keys import (
    MAX_CONCURRENCY,
    MAX_REQUESTS_PER_SECOND,
    MAX_SELECT_TAGS,
    MAX_TAG_TEXT,
    RATE_CONTROL_KEYS,
    SELECT_KEYS,
)

PERCENT = re.compile(r"(\d{1,3})%")


@dataclass(frozen=True)
class RateControl:
    concurrency: int = 10
    max_errors: int | str = 0
    max_requests_per_second: float | None = 10.0
    max_changes: int | str | None = None  # None: the configured ceiling (MAX_CHANGES)

    @classmethod
    def parse(cls, value: object) -> RateControl:
        if value is None:
            return cls()
        if not isinstance(value, dict) or set(value) - set(RATE_CONTROL_KEYS):
            raise bad_request("RateControl takes Concurrency, MaxErrors, MaxRequestsPerSecond and MaxChanges.")
        concurrency = value.get("Concurrency", cls.concurrency)
        if not isinstance(concurrency, int) or isinstance(concurrency, bool) or not 1 <= concurrency <= MAX_CONCURRENCY:
            raise bad_request(f"RateControl.Concurrency must be a whole number from 1 to {MAX_CONCURRENCY}.")
        max_errors = value.get("MaxErrors", cls.max_errors)
        if not _count_or_percent(max_errors):
            raise bad_request('RateControl.MaxErrors must be a whole number from 0, or a percentage such as "10%".')
        max_changes = value.get("MaxChanges")
        if max_changes is not None and not _count_or_percent(max_changes):
            raise bad_request('RateControl.MaxChanges must be a whole number from 0, or a percentage such as "10%".')
        rate = value.get("MaxRequestsPerSecond", cls.max_requests_per_second)
        if rate is not None and (
            not isinstance(rate, (int, float)) or isinstance(rate, bool) or not 0 < rate <= MAX_REQUESTS_PER_SECOND
        ):
            raise bad_request(
                f"RateControl.MaxRequestsPerSecond must be a number above 0 and at most {MAX_REQUESTS_PER_SECOND}."
            )
        return cls(concurrency, max_errors, None if rate is None else float(rate), max_changes)

    def error_limit(self, total: int) -> int:
        """How many failures are tolerated before no new target is started."""
        return _of(self.max_errors, total)

    def change_limit(self, selected: int, ceiling: int) -> int:
        """How many of ``selected`` targets one run may change: the event's, never above the configured ceiling."""
        return ceiling if self.max_changes is None else min(ceiling, _of(self.max_changes, selected))

    def to_dict(self) -> dict[str, Any]:
        return {
            "Concurrency": self.concurrency,
            "MaxErrors": self.max_errors,
            "MaxRequestsPerSecond": self.max_requests_per_second,
            **({"MaxChanges": self.max_changes} if self.max_changes is not None else {}),
        }


def _count_or_percent(value: object) -> bool:
    if isinstance(value, int) and not isinstance(value, bool):
        return value >= 0
    return isinstance(value, str) and bool(m := PERCENT.fullmatch(value)) and int(m[1]) <= 100


def _of(limit: int | str, total: int) -> int:
    """A count, or a percentage (``"10%"``) of ``total``, rounded down."""
    return math.floor(total * int(limit[:-1]) / 100) if isinstance(limit, str) else limit


@dataclass(frozen=True)
class Selection:
    """``{"RegionId": ..., "Tags": {"env": "dev", "ttl": null}}``: every tag must match, null matching any value."""

    region_id: str | None
    tags: dict[str, str | None]

    @classmethod
    def parse(cls, value: object) -> Selection:
        if not isinstance(value, dict) or set(value) - set(SELECT_KEYS):
            raise bad_request('Select takes RegionId and Tags: {"RegionId": "cn-hangzhou", "Tags": {"env": "dev"}}.')
        region, tags = value.get("RegionId"), value.get("Tags")
        if region is not None and (not isinstance(region, str) or not REGION_ID.fullmatch(region)):
            raise bad_request("Select.RegionId must be a region ID.")
        refusal = region_refusal(region) if region is not None else None
        if refusal:  # refused before anything is read
            raise invalid("InvalidRegionId.NotFound", f"The specified Select.RegionId: {refusal}")
        if not isinstance(tags, dict) or not tags:
            raise bad_request('Select.Tags must name at least one tag: {"env": "dev"} (null matches any value).')
        if not all(v is None or isinstance(v, str) for v in tags.values()):
            raise bad_request("A Select tag's value must be text, or null for any value.")
        if len(tags) > MAX_SELECT_TAGS:
            raise invalid(
                "Select.TooManyTags",
                f"Select.Tags names {len(tags)} tags; a selection takes at most {MAX_SELECT_TAGS}.",
            )
        for key, want in tags.items():
            if not 1 <= len(key) <= MAX_TAG_TEXT or not key.isprintable():
                raise invalid(
                    "Select.InvalidTag", f"A Select tag key must be printable text of 1 to {MAX_TAG_TEXT} characters."
                )
            if want is not None and (len(want) > MAX_TAG_TEXT or not want.isprintable()):
                raise invalid(
                    "Select.InvalidTag",
                    f"The Select tag {key!r}: a value must be printable text of at most {MAX_TAG_TEXT} characters.",
                )
        return cls(region, dict(tags))

    def matches(self, record: Mapping[str, Any]) -> bool:
        tags = record.get("Tags") or {}
        return all(key in tags and (want is None or tags[key] == want) for key, want in self.tags.items())

    def describe_parameters(self, max_tags: int) -> dict[str, Any]:
        """What the read sends: at most ``max_tags`` of the tags (those with a value first, an empty value
        as the key alone); the instances read are matched against every tag all the same."""
        ordered = sorted(self.tags.items(), key=lambda kv: (not kv[1], kv[0]))[:max_tags]
        given: dict[str, Any] = {"Tags": {key: want or None for key, want in ordered}}
        if self.region_id is not None:
            given["RegionId"] = self.region_id
        return given

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in (("RegionId", self.region_id), ("Tags", self.tags)) if v is not None}


@dataclass(frozen=True)
class Batch:
    """A batch: its targets, how the event named them (for the result and the rerun), what it asks of the run."""

    shared: dict[str, Any]  # the parameters every target shares
    rate_control: RateControl
    named_by: str = "Targets"  # Targets, InstanceIds or Select
    originals: tuple[Any, ...] = ()  # the targets as the event listed them (none for a Select)
    targets: tuple[Any, ...] = ()  # each listed target's parameters, the shared ones merged in
    select: Selection | None = None
    since: str = "ScheduledTime"
    dry_run: bool = False
    detail: str = "Summary"


# Values from tags: {"Tag": "ttl"} in place of a parameter's value


def is_tag_value(value: object) -> bool:
    return isinstance(value, dict) and set(value) == {"Tag"}


def tag_values_in(parameters: Mapping[str, Any]) -> list[str]:
    """The names of the parameters whose value is to come from a tag; refuses a malformed ``{"Tag": ...}``."""
    names = []
    for name, value in parameters.items():
        if isinstance(value, dict) and "Tag" in value:
            if not is_tag_value(value) or not isinstance(value["Tag"], str) or not value["Tag"]:
                raise bad_request(f'{name} from a tag is written {{"Tag": "<tag key>"}}.')
            names.append(name)
    return names
