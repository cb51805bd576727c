"""The local cloud's reading of EventBridge Scheduler expressions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from local.cron import Schedule


def utc(text):
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def fires(expression, start, minutes, zone=None):
    schedule = Schedule(expression, zone, start=utc(start))
    return [
        m.strftime("%Y-%m-%d %H:%M %a")
        for m in (utc(start) + timedelta(minutes=i) for i in range(minutes))
        if schedule.due(m)
    ]


def test_daily_cron():
    assert fires("cron(0 2 * * ? *)", "2026-11-22T00:00", 3 * 1440) == [
        "2026-11-22 02:00 Sun",
        "2026-11-23 02:00 Mon",
        "2026-11-24 02:00 Tue",
    ]


def test_weekly_cron_counts_sunday_as_1():
    assert fires("cron(0 1 ? * SUN *)", "2026-11-16T00:00", 14 * 1440) == [
        "2026-11-22 01:00 Sun",
        "2026-11-29 01:00 Sun",
    ]
    assert fires("cron(30 9 ? * 2-6 *)", "2026-11-21T00:00", 3 * 1440) == ["2026-11-23 09:30 Mon"]


def test_lists_steps_and_month_names():
    assert fires("cron(0/20 8 1 JAN,DEC ? 2026-2027)", "2026-12-01T00:00", 1440) == [
        "2026-12-01 08:00 Tue",
        "2026-12-01 08:20 Tue",
        "2026-12-01 08:40 Tue",
    ]


def test_time_zone_follows_daylight_saving():
    # 02:00 in New York is 07:00Z before 8 March 2026 and 06:00Z after
    assert fires("cron(0 2 * * ? *)", "2026-03-07T00:00", 3 * 1440, "America/New_York") == [
        "2026-03-07 07:00 Sat",
        "2026-03-09 06:00 Mon",
    ]  # 8 March has no 02:00: skipped, as Scheduler does
    # 01:30 happens twice on 1 November 2026 (EDT, then EST): it fires once
    assert fires("cron(30 1 * * ? *)", "2026-10-31T00:00", 3 * 1440, "America/New_York") == [
        "2026-10-31 05:30 Sat",
        "2026-11-01 05:30 Sun",
        "2026-11-02 06:30 Mon",
    ]


def test_rate_and_at():
    assert fires("rate(6 hours)", "2026-11-22T00:00", 1440) == [
        "2026-11-22 00:00 Sun",
        "2026-11-22 06:00 Sun",
        "2026-11-22 12:00 Sun",
        "2026-11-22 18:00 Sun",
    ]
    assert fires("at(2026-11-22T10:15:00)", "2026-11-22T00:00", 1440) == ["2026-11-22 10:15 Sun"]


@pytest.mark.parametrize(
    ("expression", "says"),
    [
        ("cron(0 2 L * ? *)", "L, W and # are not supported"),
        ("cron(0 2 * *)", "six fields"),
        ("cron(0 25 * * ? *)", "out of range"),
        ("every(day)", "unknown schedule expression"),
    ],
)
def test_unsupported_or_malformed_expressions_are_refused(expression, says):
    with pytest.raises(ValueError, match=says):
        Schedule(expression)
