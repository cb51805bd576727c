"""The rules of the action documents, checked before any request leaves the function.

Each check raises :class:`AlibabaCloudError` with the code and HTTP status Alibaba itself would
answer, so a bad schedule or webhook fails the same way whether we or the gateway catch it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from .config import AT_LEAST_ONE_HOUR, EXACTLY_ONE_HOUR
from .errors import AlibabaCloudError

MAX_VALUE_LENGTH = 256
HH_MM_Z = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])Z")
ISO_UTC_SECONDS = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})Z")
INSTANCE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9*._-]{0,63}")
REGION_ID = re.compile(r"[a-z]{2,}(-[a-z0-9]+){1,4}")
MIN_RELEASE_DELAY = timedelta(minutes=30)
MAX_RELEASE_YEARS = 3


@dataclass(frozen=True)
class ValidationContext:
    """What a rule may depend on besides the parameters: the time now, and the window rule."""

    now: datetime
    maintain_window: str = EXACTLY_ONE_HOUR


def invalid(code: str, message: str) -> AlibabaCloudError:
    return AlibabaCloudError(code, message, http_status=400)


# Checks of one value: (name, value, context) -> the value to send.


def any_text(name: str, value: str, ctx: ValidationContext) -> str:
    return value


def instance_id(name: str, value: str, ctx: ValidationContext) -> str:
    if not INSTANCE_ID.fullmatch(value):
        raise invalid("InvalidParameter", f"The specified parameter {name} is not valid.")
    return value


def region_id(name: str, value: str, ctx: ValidationContext) -> str:
    # The region becomes part of the endpoint's host name: nothing but a region may pass.
    if not REGION_ID.fullmatch(value):
        raise invalid("InvalidParameter", f"The specified parameter {name} is not a region ID.")
    return value


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
        moment = datetime(*map(int, match.groups()), tzinfo=timezone.utc)
    except ValueError:
        raise invalid(
            "InvalidAutoReleaseTime.Malformed",
            f"The specified parameter {name} is not valid. "
            "Specify the time in UTC in the yyyy-MM-ddTHH:mm:ssZ format.",
        ) from None
    moment = moment.replace(second=0)  # the API takes the start of the minute
    earliest = ctx.now + MIN_RELEASE_DELAY
    if moment < earliest:
        raise invalid(
            "InvalidAutoReleaseTime.TooEarly",
            f"The specified parameter {name} must be at least 30 minutes later than the current "
            f"time ({_iso(ctx.now)}).",
        )
    if moment > _add_years(ctx.now, MAX_RELEASE_YEARS):
        raise invalid(
            "InvalidAutoReleaseTime.TooLate",
            f"The specified parameter {name} must be at most three years from the current "
            f"time ({_iso(ctx.now)}).",
        )
    return _iso(moment)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


# Rules across values: (parameters, context) -> None.


def _minutes(hh_mm: str) -> int:
    return int(hh_mm[:2]) * 60 + int(hh_mm[3:5])


def one_hour_window(params: Mapping[str, str], ctx: ValidationContext) -> None:
    """The maintenance window lasts one hour (or at least one hour, by setting), across midnight too."""
    start, end = params["MaintainStartTime"], params["MaintainEndTime"]
    length = (_minutes(end) - _minutes(start)) % (24 * 60)
    if ctx.maintain_window == AT_LEAST_ONE_HOUR:
        if length < 60:
            raise invalid(
                "InvalidEndTime.Format",
                f"Specified end time is not valid. The window {start}-{end} must last at least one hour.",
            )
    elif length != 60:
        raise invalid(
            "InvalidEndTime.Format",
            f"Specified end time is not valid. The window {start}-{end} must last one hour: "
            f"for a start of {start} the end is {(_minutes(start) + 60) % 1440 // 60:02d}:{_minutes(start) % 60:02d}Z.",
        )
