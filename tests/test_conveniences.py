"""Cron conveniences: AutoReleaseAfter against the schedule's own time, and windows in local time.

Across month and year ends, leap days, and daylight-saving changes in both directions.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from alibaba_cloud.actions.ecs import MODIFY_INSTANCE_AUTO_RELEASE_TIME as RELEASE_ACTION
from alibaba_cloud.actions.r_kvstore import MODIFY_INSTANCE_MAINTAIN_TIME as MAINTAIN_ACTION
from alibaba_cloud.actions.validation import ValidationContext, parse_duration
from alibaba_cloud.errors import AlibabaCloudError
from helpers import ECS_ID, REDIS_ID

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def release(after, scheduled=None, **extra):
    ctx = ValidationContext(now=NOW, scheduled_time=at(scheduled) if scheduled else None)
    return RELEASE_ACTION.validate({"InstanceId": ECS_ID, "AutoReleaseAfter": after, **extra}, ctx)


@pytest.mark.parametrize(
    ("after", "scheduled", "expected"),
    [
        ("PT4H", "2026-11-22T12:00:00Z", "2026-11-22T16:00:00Z"),
        ("PT4H", None, "2026-11-22T16:00:00Z"),  # no ScheduledTime: counted from now
        ("P1D", "2027-01-31T22:30:00Z", "2027-02-01T22:30:00Z"),  # month end
        ("PT3H", "2026-12-31T23:00:00Z", "2027-01-01T02:00:00Z"),  # year end
        ("P1D", "2028-02-28T12:00:00Z", "2028-02-29T12:00:00Z"),  # leap day
        ("P1W", "2027-02-25T00:00:00Z", "2027-03-04T00:00:00Z"),
        ("P1DT12H30M", "2026-11-22T12:00:00Z", "2026-11-24T00:30:00Z"),
        ("PT90M", "2026-11-22T12:00:00Z", "2026-11-22T13:30:00Z"),
        ("PT3600S", "2026-11-22T12:00:00Z", "2026-11-22T13:00:00Z"),
        ("PT4H", "2026-11-22T20:00:00+08:00", "2026-11-22T16:00:00Z"),  # the schedule's time in another offset
    ],
)
def test_auto_release_after(after, scheduled, expected):
    assert release(after, scheduled)["AutoReleaseTime"] == expected


@pytest.mark.parametrize("after", ["P1Y", "P1M", "PT", "P", "4h", "PT4.5H", "P1H", "-PT1H", 4, ["PT1H"], "PT1H "])
def test_auto_release_after_must_be_a_fixed_duration(after):
    with pytest.raises(AlibabaCloudError) as raised:
        release(after)
    assert raised.value.code == "InvalidAutoReleaseAfter.Malformed"


def test_auto_release_after_is_validated_like_auto_release_time():
    with pytest.raises(AlibabaCloudError, match="TooEarly"):
        release("PT10M")
    with pytest.raises(AlibabaCloudError, match="TooLate"):
        release("P1200D")
    with pytest.raises(AlibabaCloudError, match="InvalidParameter: Give AutoReleaseTime or AutoReleaseAfter"):
        release("PT4H", AutoReleaseTime="2026-11-23T00:00:00Z")


def test_duration_parts():
    assert parse_duration("P2W3DT4H5M6S").total_seconds() == ((14 + 3) * 24 + 4) * 3600 + 5 * 60 + 6


def window(start, end, zone, scheduled):
    ctx = ValidationContext(now=NOW, scheduled_time=at(scheduled))
    params = MAINTAIN_ACTION.validate(
        {"InstanceId": REDIS_ID, "MaintainStartTime": start, "MaintainEndTime": end, "TimeZone": zone}, ctx
    )
    return params["MaintainStartTime"], params["MaintainEndTime"]


@pytest.mark.parametrize(
    ("zone", "start", "end", "scheduled", "expected"),
    [
        ("Asia/Shanghai", "10:00", "11:00", "2026-11-22T00:00:00Z", ("02:00Z", "03:00Z")),
        ("Asia/Tokyo", "08:30", "09:30", "2026-11-22T00:00:00Z", ("23:30Z", "00:30Z")),  # across midnight
        ("UTC", "02:00", "03:00", "2026-11-22T00:00:00Z", ("02:00Z", "03:00Z")),
        # New York: EST (-5) until 8 March 2026 02:00, EDT (-4) until 1 November 2026 02:00
        ("America/New_York", "02:00", "03:00", "2026-03-07T12:00:00Z", ("07:00Z", "08:00Z")),
        ("America/New_York", "02:00", "03:00", "2026-03-09T12:00:00Z", ("06:00Z", "07:00Z")),
        (
            "America/New_York",
            "02:30",
            "03:30",
            "2026-03-08T12:00:00Z",
            ("07:30Z", "08:30Z"),
        ),  # 02:30 does not exist that day
        (
            "America/New_York",
            "01:30",
            "02:30",
            "2026-11-01T12:00:00Z",
            ("05:30Z", "06:30Z"),
        ),  # 01:30 happens twice: the first
        ("America/New_York", "01:30", "02:30", "2026-11-02T12:00:00Z", ("06:30Z", "07:30Z")),
        # London: GMT until 29 March 2026, BST after; the schedule's local date decides
        ("Europe/London", "00:30", "01:30", "2026-03-28T23:30:00Z", ("00:30Z", "01:30Z")),
        ("Europe/London", "00:30", "01:30", "2026-03-29T23:30:00Z", ("23:30Z", "00:30Z")),
        # Lord Howe Island: half-hour daylight saving (+10:30 / +11)
        ("Australia/Lord_Howe", "10:00", "11:00", "2026-07-01T00:00:00Z", ("23:30Z", "00:30Z")),
        ("Australia/Lord_Howe", "10:00", "11:00", "2026-12-01T00:00:00Z", ("23:00Z", "00:00Z")),
        # Auckland ends daylight saving on 5 April 2026; 31 March is still +13, month end included
        ("Pacific/Auckland", "03:00", "04:00", "2026-03-31T11:00:00Z", ("14:00Z", "15:00Z")),
        ("Pacific/Auckland", "03:00", "04:00", "2026-04-30T11:00:00Z", ("15:00Z", "16:00Z")),
    ],
)
def test_local_window_is_converted_with_the_offset_of_the_day(zone, start, end, scheduled, expected):
    assert window(start, end, zone, scheduled) == expected


@pytest.mark.parametrize(
    ("given", "code"),
    [
        (
            {"MaintainStartTime": "02:00", "MaintainEndTime": "03:00", "TimeZone": "Mars/Olympus_Mons"},
            "InvalidTimeZone",
        ),
        ({"MaintainStartTime": "02:00", "MaintainEndTime": "03:00", "TimeZone": "../../etc/passwd"}, "InvalidTimeZone"),
        ({"MaintainStartTime": "02:00", "MaintainEndTime": "03:00", "TimeZone": 8}, "InvalidTimeZone"),
        (
            {"MaintainStartTime": "02:00Z", "MaintainEndTime": "03:00", "TimeZone": "Asia/Shanghai"},
            "InvalidStartTime.Format",
        ),
        (
            {"MaintainStartTime": "02:00", "MaintainEndTime": "3:00", "TimeZone": "Asia/Shanghai"},
            "InvalidEndTime.Format",
        ),
        (
            {"MaintainStartTime": "02:00", "MaintainEndTime": "04:00", "TimeZone": "Asia/Shanghai"},
            "InvalidEndTime.Format",
        ),
        ({"MaintainEndTime": "04:00", "TimeZone": "Asia/Shanghai"}, "MissingParameter"),
    ],
)
def test_local_window_errors(given, code):
    with pytest.raises(AlibabaCloudError) as raised:
        MAINTAIN_ACTION.validate({"InstanceId": REDIS_ID, **given}, ValidationContext(now=NOW))
    assert raised.value.code == code


def test_scheduler_input_end_to_end(emulator, maintain, release, context):
    """What EventBridge Scheduler sends once it has filled in its context attribute."""
    scheduled = datetime.now(UTC).replace(microsecond=0)
    stamp = scheduled.strftime("%Y-%m-%dT%H:%M:%SZ")
    result = release.lambda_handler({"InstanceId": ECS_ID, "AutoReleaseAfter": "PT4H", "ScheduledTime": stamp}, context)
    whole_minute = scheduled.replace(second=0) + timedelta(minutes=1 if scheduled.second else 0)  # rounded up
    expected = (whole_minute + (at("2000-01-01T04:00:00Z") - at("2000-01-01T00:00:00Z"))).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert result["Parameters"]["AutoReleaseTime"] == expected == emulator.state.instances[ECS_ID].AutoReleaseTime
    maintain.lambda_handler(
        {
            "InstanceId": REDIS_ID,
            "MaintainStartTime": "10:00",
            "MaintainEndTime": "11:00",
            "TimeZone": "Asia/Shanghai",
            "ScheduledTime": stamp,
        },
        context,
    )
    assert emulator.state.instances[REDIS_ID].MaintainStartTime == "02:00Z"


def test_unfilled_placeholder_is_a_clear_error(emulator, release, context):
    with pytest.raises(AlibabaCloudError, match="^InvalidParameter: ScheduledTime must be an ISO 8601"):
        release.lambda_handler(
            {"InstanceId": ECS_ID, "AutoReleaseAfter": "PT4H", "ScheduledTime": "<aws.scheduler.scheduled-time>"},
            context,
        )
    assert emulator.state.received == []


def test_window_errors_with_a_time_zone_quote_the_local_times_sent(emulator, maintain, context):
    with pytest.raises(AlibabaCloudError) as raised:
        maintain.lambda_handler(
            {
                "InstanceId": REDIS_ID,
                "MaintainStartTime": "10:00",
                "MaintainEndTime": "12:00",
                "TimeZone": "Asia/Shanghai",
            },
            context,
        )
    message = raised.value.message
    assert raised.value.code == "InvalidEndTime.Format"
    assert "10:00-12:00 (Asia/Shanghai)" in message
    assert "the end is 11:00." in message
    assert "Z" not in message.split("window")[1]
    assert emulator.state.received == []
