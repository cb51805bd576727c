"""The rules of the action documents, checked before any request leaves the function.

Each check raises :class:`AlibabaCloudError` with the code and HTTP status Alibaba itself would
answer, so a bad schedule or webhook fails the same way whether we or the gateway catch it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ..config import AT_LEAST_ONE_HOUR, EXACTLY_ONE_HOUR
from ..errors import invalid
from ..events.keys import INSTANCE_ID_PATTERN
from ..rpc.endpoints import REGION_ID, region_refusal

MAX_VALUE_LENGTH = 256
HH_MM_Z = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])Z")
ISO_UTC_SECONDS = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})Z")
INSTANCE_ID = re.compile(INSTANCE_ID_PATTERN)
MIN_RELEASE_DELAY = timedelta(minutes=30)
MAX_RELEASE_YEARS = 3


@dataclass(frozen=True)
class ValidationContext:
    """What a rule may depend on besides the parameters: the time now, the schedule's own time
    (EventBridge Scheduler's ``<aws.scheduler.scheduled-time>``, when the event carries it), and
    the window rule."""

    now: datetime
    maintain_window: str = EXACTLY_ONE_HOUR
    scheduled_time: datetime | None = None
    # a time counted from an instance's creation may be past: it becomes the earliest the API allows
    overdue_to_earliest: bool = False

    @property
    def reference_time(self) -> datetime:
        """What relative times are counted from: the schedule's time, else now."""
        return self.scheduled_time or self.now


# Checks of one value: (name, value, context) -> the value to send.


def any_text(name: str, value: str, ctx: ValidationContext) -> str:
    return value


def instance_id(name: str, value: str, ctx: ValidationContext) -> str:
    if not INSTANCE_ID.fullmatch(value):
        raise invalid("InvalidParameter", f"The specified parameter {name} is not valid.")
    return value


def instance_ids(most: int, separator: str | None):
    """A check for a list of at most ``most`` instance IDs: a JSON array (``separator`` None: ECS) or IDs
    separated by ``separator`` (R-kvstore's commas)."""

    def check(name: str, value: str, ctx: ValidationContext) -> str:
        try:
            ids = json.loads(value) if separator is None else value.split(separator)
        except ValueError:
            ids = None
        if (
            not isinstance(ids, list)
            or not 0 < len(ids) <= most
            or not all(isinstance(i, str) and INSTANCE_ID.fullmatch(i) for i in ids)
        ):
            shape = "a JSON array" if separator is None else f"a {separator!r}-separated list"
            raise invalid("InvalidParameter", f"The parameter {name} must be {shape} of 1 to {most} instance IDs.")
        return value

    return check


def one_of(*allowed: str):
    def check(name: str, value: str, ctx: ValidationContext) -> str:
        if value not in allowed:
            raise invalid("InvalidParameter", f"The parameter {name} must be one of {', '.join(allowed)}.")
        return value

    return check


def region_id(name: str, value: str, ctx: ValidationContext) -> str:
    # The region becomes part of the endpoint's host name: nothing but a region may pass.
    if not REGION_ID.fullmatch(value):
        raise invalid("InvalidParameter", f"The specified parameter {name} is not a region ID.")
    refusal = region_refusal(value)
    if refusal:
        raise invalid("InvalidRegionId.NotFound", f"The specified {name}: {refusal}")
    return value


def tag_text(name: str, value: str, ctx: ValidationContext) -> str:
    """A tag key (1 to 128 characters) or value (up to 128, empty allowed)."""
    shortest = 1 if name.endswith("Key") else 0
    if not shortest <= len(value) <= 128 or not value.isprintable():
        raise invalid(
            "InvalidParameter", f"The parameter {name} must be printable text of {shortest} to 128 characters."
        )
    return value


def page_token(name: str, value: str, ctx: ValidationContext) -> str:
    if not value.isprintable():
        raise invalid("InvalidParameter", f"The parameter {name} is not a page token.")
    return value


def whole_number(allowed):
    """A check for a whole number in ``allowed``: a range, or the values an API lists."""
    shown = (
        f"a whole number from {allowed.start} to {allowed.stop - 1}"
        if isinstance(allowed, range)
        else "one of " + ", ".join(map(str, allowed))
    )

    def check(name: str, value: str, ctx: ValidationContext) -> str:
        if not (value.isascii() and value.isdigit() and int(value) in allowed):
            raise invalid("InvalidParameter", f"The parameter {name} must be {shown}.")
        return value

    return check


def hh_mm_z(code: str, message: str):
    """A check for an ``HH:mmZ`` time that fails with the given code."""

    def check(name: str, value: str, ctx: ValidationContext) -> str:
        if not HH_MM_Z.fullmatch(value):
            raise invalid(code, f"{message} {name} must be in the HH:mmZ format, e.g. 02:00Z.")
        return value

    return check


def _add_years(moment: datetime, years: int) -> datetime:
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:  # 29 February in a year that has none
        return moment.replace(year=moment.year + years, day=28)


def auto_release_time(name: str, value: str, ctx: ValidationContext) -> str:
    """``yyyy-MM-ddTHH:mm:ssZ`` in UTC, 30 minutes to 3 years ahead; seconds become ``00``."""
    match = ISO_UTC_SECONDS.fullmatch(value)
    try:
        if not match:
            raise ValueError
        moment = datetime(*map(int, match.groups()), tzinfo=UTC)
    except ValueError:
        raise invalid(
            "InvalidAutoReleaseTime.Malformed",
            f"The specified parameter {name} is not valid. Specify the time in UTC in the yyyy-MM-ddTHH:mm:ssZ format.",
        ) from None
    moment = moment.replace(second=0)  # the API takes the start of the minute
    earliest = ctx.now + MIN_RELEASE_DELAY
    if moment < earliest and ctx.overdue_to_earliest:
        moment = earliest_release(ctx.now)
    if moment < earliest:
        raise invalid(
            "InvalidAutoReleaseTime.TooEarly",
            f"The specified parameter {name} must be at least 30 minutes later than the current "
            f"time ({_iso(ctx.now)}).",
        )
    if moment > _add_years(ctx.now, MAX_RELEASE_YEARS):
        raise invalid(
            "InvalidAutoReleaseTime.TooLate",
            f"The specified parameter {name} must be at most three years from the current time ({_iso(ctx.now)}).",
        )
    return _iso(moment)


def earliest_release(now: datetime) -> datetime:
    """The earliest release time worth sending: 30 minutes ahead, a minute's margin, on a whole minute."""
    moment = now + MIN_RELEASE_DELAY + timedelta(minutes=1)
    return moment.replace(second=0, microsecond=0) + (
        timedelta(minutes=1) if moment.second or moment.microsecond else timedelta(0)
    )


RELEASE_MOMENT = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?Z")


def release_moment(text: object) -> datetime | None:
    """A release time as sent (with seconds) or as DescribeInstances reads it back (without), to the minute."""
    match = RELEASE_MOMENT.fullmatch(text) if isinstance(text, str) else None
    if not match:
        return None
    try:
        return datetime(*map(int, match.groups()[:5]), tzinfo=UTC)
    except ValueError:
        return None


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# Rules across values: (parameters, context) -> None.


def _minutes(hh_mm: str) -> int:
    return int(hh_mm[:2]) * 60 + int(hh_mm[3:5])


def one_hour_window(params: Mapping[str, str], ctx: ValidationContext) -> None:
    """The maintenance window lasts one hour (or at least one hour, by setting), across midnight too."""
    _window_length(
        _minutes(params["MaintainStartTime"]),
        _minutes(params["MaintainEndTime"]),
        ctx.maintain_window,
        lambda minutes: f"{minutes // 60:02d}:{minutes % 60:02d}Z",
    )


def _window_length(start: int, end: int, rule: str, shown: Callable[[int], str], zone: str = "") -> None:
    """The window rule on minutes of the day, its message in the caller's own notation (UTC, or local with its zone)."""
    length = (end - start) % (24 * 60)
    window = f"{shown(start)}-{shown(end)}{zone}"
    if rule == AT_LEAST_ONE_HOUR:
        if length < 60:
            raise invalid(
                "InvalidEndTime.Format",
                f"Specified end time is not valid. The window {window} must last at least one hour.",
            )
    elif length != 60:
        raise invalid(
            "InvalidEndTime.Format",
            f"Specified end time is not valid. The window {window} must last one hour: "
            f"for a start of {shown(start)} the end is {shown((start + 60) % 1440)}.",
        )


# Conveniences: keys a fixed schedule Input can carry, turned into the action's own parameters
# before the rules run. (given, context) -> the parameters with the convenience keys resolved.

DURATION = re.compile(r"P(?!$)(?:(\d+)W)?(?:(\d+)D)?(?:T(?=\d)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?")
LOCAL_HH_MM = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")


def parse_duration(text: str) -> timedelta:
    """An ISO 8601 duration of fixed length: ``PnWnDTnHnMnS`` (any part may be left out)."""
    match = DURATION.fullmatch(text)
    if not match:
        raise ValueError(text)
    weeks, days, hours, minutes, seconds = (int(part or 0) for part in match.groups())
    return timedelta(weeks=weeks, days=days, hours=hours, minutes=minutes, seconds=seconds)


def release_after(given: Mapping[str, object], ctx: ValidationContext) -> dict[str, object]:
    """``AutoReleaseAfter`` (e.g. ``PT4H``) becomes ``AutoReleaseTime``, counted from the schedule's time."""
    resolved = dict(given)
    after = resolved.pop("AutoReleaseAfter", None)
    if after is None:
        return resolved
    if resolved.get("AutoReleaseTime") is not None:
        raise invalid("InvalidParameter", "Give AutoReleaseTime or AutoReleaseAfter, not both.")
    try:
        if not isinstance(after, str):
            raise ValueError(after)
        delta = parse_duration(after)
    except (ValueError, OverflowError):
        raise invalid(
            "InvalidAutoReleaseAfter.Malformed",
            "AutoReleaseAfter must be an ISO 8601 duration of weeks, days, hours, minutes and seconds, "
            "e.g. PT4H or P1DT12H (years and months have no fixed length).",
        ) from None
    try:
        moment = ctx.reference_time + delta
        if moment.second or moment.microsecond:  # up to the next whole minute: the API drops seconds, which
            moment = moment.replace(second=0, microsecond=0) + timedelta(minutes=1)  # would make PT30M too early
        resolved["AutoReleaseTime"] = _iso(moment)
    except OverflowError:
        raise invalid("InvalidAutoReleaseTime.TooLate", "AutoReleaseAfter reaches beyond any valid date.") from None
    return resolved


def releasing_within(value: object, now: datetime) -> Callable[[Mapping[str, object]], bool]:
    """``ReleasingWithin`` (e.g. ``PT24H``): keep the records whose release time falls before now plus that."""
    try:
        if not isinstance(value, str):
            raise ValueError(value)
        until = now + parse_duration(value)
    except (ValueError, OverflowError):
        raise invalid(
            "InvalidReleasingWithin.Malformed",
            "ReleasingWithin must be an ISO 8601 duration of weeks, days, hours, minutes and seconds, e.g. PT24H.",
        ) from None

    def keep(record: Mapping[str, object]) -> bool:
        moment = release_moment(record.get("AutoReleaseTime"))
        return moment is not None and moment <= until

    return keep


def tags_filter(given: Mapping[str, object], ctx: ValidationContext, limit: int) -> dict[str, object]:
    """``Tags`` (``{"env": "dev", "ttl": null}``; null matches any value) becomes ``Tag.N.Key``/``Tag.N.Value``."""
    resolved = dict(given)
    tags = resolved.pop("Tags", None)
    if tags is None:
        return resolved
    if not isinstance(tags, dict) or not 0 < len(tags) <= limit:
        raise invalid(
            "InvalidParameter", f"Tags must be an object of 1 to {limit} tag keys and values (null: any value)."
        )
    for n, (key, value) in enumerate(sorted(tags.items()), start=1):
        if value is not None and not isinstance(value, str):
            raise invalid("InvalidParameter", f"The value of tag {key!r} must be text or null (any value).")
        resolved[f"Tag.{n}.Key"] = key
        if value is not None:
            resolved[f"Tag.{n}.Value"] = value
    return resolved


def local_window(given: Mapping[str, object], ctx: ValidationContext) -> dict[str, object]:
    """With ``TimeZone`` (an IANA name), the window is given in local ``HH:mm`` and sent as ``HH:mmZ``.

    Both ends use the zone's UTC offset at the window's start on the schedule's date (today if the
    event has no ``ScheduledTime``), so a schedule that runs after a daylight-saving change moves
    the window with it. A start that does not exist that day (in the gap of a change to summer
    time) is read with the offset before the change.
    """
    resolved = dict(given)
    zone_name = resolved.pop("TimeZone", None)
    if zone_name is None:
        return resolved
    from zoneinfo import ZoneInfo  # only schedules that name a zone pay for it

    try:
        if not isinstance(zone_name, str) or len(zone_name) > 64:
            raise ValueError(zone_name)
        zone = ZoneInfo(zone_name)
    except Exception:  # ZoneInfoNotFoundError, ValueError for malformed keys, OSError for odd paths
        raise invalid("InvalidTimeZone", "TimeZone must be an IANA time zone name, e.g. Asia/Shanghai.") from None
    local = {}
    for name, code in (("MaintainStartTime", "InvalidStartTime.Format"), ("MaintainEndTime", "InvalidEndTime.Format")):
        value = resolved.get(name)
        if value is None:
            continue  # the required-parameter check reports it
        match = LOCAL_HH_MM.fullmatch(value) if isinstance(value, str) else None
        if not match:
            raise invalid(code, f"With TimeZone, {name} is a local time in the HH:mm format, e.g. 02:00.")
        local[name] = int(match[1]) * 60 + int(match[2])
    if len(local) == 2:  # checked here, where the caller's local times can be quoted (the offset keeps the length)
        _window_length(
            local["MaintainStartTime"],
            local["MaintainEndTime"],
            ctx.maintain_window,
            lambda minutes: f"{minutes // 60:02d}:{minutes % 60:02d}",
            f" ({zone_name})",
        )
    if "MaintainStartTime" in local:
        day = ctx.reference_time.astimezone(zone).date()
        start = datetime(
            day.year, day.month, day.day, local["MaintainStartTime"] // 60, local["MaintainStartTime"] % 60, tzinfo=zone
        )
        offset = int(start.utcoffset().total_seconds() // 60)  # type: ignore[union-attr]
        for name, minutes in local.items():
            utc = (minutes - offset) % (24 * 60)
            resolved[name] = f"{utc // 60:02d}:{utc % 60:02d}Z"
    return resolved
