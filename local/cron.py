"""EventBridge Scheduler expressions, evaluated minute by minute for the local cloud.

``cron(minutes hours day-of-month month day-of-week year)``, ``rate(n unit)`` and
``at(yyyy-mm-ddThh:mm:ss)``, in the schedule's time zone, with Scheduler's daylight-saving rules:
a time skipped when clocks go forward does not fire that day, a time repeated when they go back
fires once. Fields take ``*``, ``?``, lists,
ranges, ``/`` steps and month and day names; ``L``, ``W`` and ``#`` are refused, not guessed.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

MONTHS = {name: i for i, name in enumerate("JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC".split(), 1)}
DAYS = {name: i for i, name in enumerate("SUN MON TUE WED THU FRI SAT".split(), 1)}  # EventBridge: 1 = Sunday
FIELDS = ((0, 59, {}), (0, 23, {}), (1, 31, {}), (1, 12, MONTHS), (1, 7, DAYS), (1970, 2199, {}))


def _values(field: str, low: int, high: int, names: dict[str, int]) -> set[int] | None:
    """The values a field allows, or None for any (``*``, ``?``)."""
    if field in ("*", "?"):
        return None
    allowed: set[int] = set()
    for part in field.split(","):
        if re.search(r"[LW#]", part):
            raise ValueError(f"{part!r}: L, W and # are not supported locally")
        base, _, step = part.partition("/")
        if base == "*":
            start, end = low, high
        else:
            first, _, last = base.partition("-")
            start = names.get(first.upper()) or int(first)
            end = (names.get(last.upper()) or int(last)) if last else (high if step else start)
        allowed.update(range(start, end + 1, int(step) if step else 1))
    if not all(low <= v <= high for v in allowed):
        raise ValueError(f"{field!r} is out of range {low}-{high}")
    return allowed


class Schedule:
    def __init__(self, expression: str, zone: str | None = None, start: datetime | None = None) -> None:
        self.expression = expression.strip()
        self.zone = ZoneInfo(zone) if zone else UTC
        self.start = start or datetime.now(UTC).replace(second=0, microsecond=0)
        kind, _, body = self.expression.partition("(")
        body = body.rstrip(")")
        self.kind = kind
        if kind == "cron":
            parts = body.split()
            if len(parts) != 6:
                raise ValueError("cron() takes six fields: minutes hours day-of-month month day-of-week year")
            self.fields = [_values(f, lo, hi, names) for f, (lo, hi, names) in zip(parts, FIELDS, strict=True)]
        elif kind == "rate":
            amount, unit = body.split()
            seconds = {"minute": 60, "hour": 3600, "day": 86400}[unit.rstrip("s")]
            self.every = timedelta(seconds=int(amount) * seconds)
        elif kind == "at":
            self.when = datetime.fromisoformat(body).replace(tzinfo=self.zone)
        else:
            raise ValueError(f"unknown schedule expression {expression!r}")

    def due(self, minute: datetime) -> bool:
        """Whether the schedule fires in this (UTC) minute."""
        minute = minute.replace(second=0, microsecond=0)
        if self.kind == "rate":
            return minute >= self.start and (minute - self.start) % self.every == timedelta(0)
        local = minute.astimezone(self.zone)
        if local.fold:  # the repeated hour when clocks go back: Scheduler runs once, on the first pass
            return False
        if self.kind == "at":
            return local.replace(tzinfo=None) == self.when.replace(tzinfo=None, second=0)
        weekday = (local.isoweekday() % 7) + 1  # Monday=1..Sunday=7 -> Sunday=1..Saturday=7
        values = (local.minute, local.hour, local.day, local.month, weekday, local.year)
        return all(allowed is None or value in allowed for allowed, value in zip(self.fields, values, strict=True))

    def next_fire(self, after: datetime, within: timedelta = timedelta(days=8)) -> datetime | None:
        """The first minute after ``after`` the schedule fires in, looking at most ``within`` ahead."""
        minute = after.replace(second=0, microsecond=0) + timedelta(minutes=1)
        for _ in range(int(within.total_seconds() // 60)):
            if self.due(minute):
                return minute
            minute += timedelta(minutes=1)
        return None
