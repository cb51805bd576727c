"""Every rule of the two action documents, as one table checked twice: by the layer before sending,
and by the emulator's own implementation when the layer is bypassed. Both must answer alike."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import requests

from alibaba_cloud.actions.ecs import MODIFY_INSTANCE_AUTO_RELEASE_TIME as RELEASE
from alibaba_cloud.actions.r_kvstore import MODIFY_INSTANCE_MAINTAIN_TIME as MAINTAIN
from alibaba_cloud.actions.validation import ValidationContext
from alibaba_cloud.config import AT_LEAST_ONE_HOUR
from alibaba_cloud.errors import AlibabaCloudError
from alibaba_cloud.rpc.signing import encode_form, sign_request
from helpers import ACCESS_KEY_ID, ACCESS_KEY_SECRET, ECS_ID, REDIS_ID, iso


def window(start, end, **extra):
    return {"InstanceId": REDIS_ID, "MaintainStartTime": start, "MaintainEndTime": end, **extra}


def release(when=None, **extra):
    given = {"InstanceId": ECS_ID, **extra}
    if when is not None:
        given["AutoReleaseTime"] = when
    return given


def later(now, **delta):
    return iso(now + timedelta(**delta))


def three_years(now, days):
    return iso(now.replace(year=now.year + 3) + timedelta(days=days))


# (id, action, parameters as a function of now, expected error code or None)
RULES = [
    ("window one hour", MAINTAIN, lambda now: window("02:00Z", "03:00Z"), None),
    ("window across midnight", MAINTAIN, lambda now: window("23:00Z", "00:00Z"), None),
    ("window half past across midnight", MAINTAIN, lambda now: window("23:30Z", "00:30Z"), None),
    ("window two hours", MAINTAIN, lambda now: window("02:00Z", "04:00Z"), "InvalidEndTime.Format"),
    ("window empty", MAINTAIN, lambda now: window("02:00Z", "02:00Z"), "InvalidEndTime.Format"),
    ("window backwards", MAINTAIN, lambda now: window("03:00Z", "02:00Z"), "InvalidEndTime.Format"),
    ("window 59 minutes", MAINTAIN, lambda now: window("02:00Z", "02:59Z"), "InvalidEndTime.Format"),
    ("start one digit hour", MAINTAIN, lambda now: window("2:00Z", "03:00Z"), "InvalidStartTime.Format"),
    ("start hour 24", MAINTAIN, lambda now: window("24:00Z", "01:00Z"), "InvalidStartTime.Format"),
    ("start minute 60", MAINTAIN, lambda now: window("02:60Z", "03:00Z"), "InvalidStartTime.Format"),
    ("start without Z", MAINTAIN, lambda now: window("02:00", "03:00Z"), "InvalidStartTime.Format"),
    ("start with seconds", MAINTAIN, lambda now: window("02:00:00Z", "03:00Z"), "InvalidStartTime.Format"),
    ("end lower-case z", MAINTAIN, lambda now: window("02:00Z", "03:00z"), "InvalidEndTime.Format"),
    ("end with offset", MAINTAIN, lambda now: window("02:00Z", "03:00+08:00"), "InvalidEndTime.Format"),
    ("end empty", MAINTAIN, lambda now: window("02:00Z", ""), "MissingParameter"),
    (
        "window without instance",
        MAINTAIN,
        lambda now: {"MaintainStartTime": "02:00Z", "MaintainEndTime": "03:00Z"},
        "MissingParameter",
    ),
    ("window empty instance", MAINTAIN, lambda now: window("02:00Z", "03:00Z", InstanceId=""), "MissingParameter"),
    (
        "window without end",
        MAINTAIN,
        lambda now: {"InstanceId": REDIS_ID, "MaintainStartTime": "02:00Z"},
        "MissingParameter",
    ),
    (
        "window unknown parameter",
        MAINTAIN,
        lambda now: window("02:00Z", "03:00Z", Maintain="x"),
        "UnsupportedParameter",
    ),
    ("release in two hours", RELEASE, lambda now: release(later(now, hours=2)), None),
    ("release in 31 minutes", RELEASE, lambda now: release(later(now, minutes=31)), None),
    ("release cancelled", RELEASE, lambda now: release(), None),
    ("release with region", RELEASE, lambda now: release(later(now, days=1), RegionId="cn-hangzhou"), None),
    ("release in three years less a day", RELEASE, lambda now: release(three_years(now, -1)), None),
    ("release in 29 minutes", RELEASE, lambda now: release(later(now, minutes=29)), "InvalidAutoReleaseTime.TooEarly"),
    ("release in the past", RELEASE, lambda now: release(later(now, days=-1)), "InvalidAutoReleaseTime.TooEarly"),
    (
        "release in three years and a day",
        RELEASE,
        lambda now: release(three_years(now, 1)),
        "InvalidAutoReleaseTime.TooLate",
    ),
    ("release month 13", RELEASE, lambda now: release("2027-13-01T00:00:00Z"), "InvalidAutoReleaseTime.Malformed"),
    ("release 30 February", RELEASE, lambda now: release("2027-02-30T00:00:00Z"), "InvalidAutoReleaseTime.Malformed"),
    ("release space for T", RELEASE, lambda now: release("2027-01-01 00:00:00Z"), "InvalidAutoReleaseTime.Malformed"),
    ("release without Z", RELEASE, lambda now: release("2027-01-01T00:00:00"), "InvalidAutoReleaseTime.Malformed"),
    (
        "release with offset",
        RELEASE,
        lambda now: release("2027-01-01T00:00:00+08:00"),
        "InvalidAutoReleaseTime.Malformed",
    ),
    ("release without seconds", RELEASE, lambda now: release("2027-01-01T00:00Z"), "InvalidAutoReleaseTime.Malformed"),
    (
        "release with fractions",
        RELEASE,
        lambda now: release("2027-01-01T00:00:00.000Z"),
        "InvalidAutoReleaseTime.Malformed",
    ),
    ("release date only", RELEASE, lambda now: release("2027-01-01"), "InvalidAutoReleaseTime.Malformed"),
    ("release without instance", RELEASE, lambda now: {"AutoReleaseTime": later(now, hours=2)}, "MissingParameter"),
    ("release DryRun is not a parameter", RELEASE, lambda now: release(DryRun="true"), "UnsupportedParameter"),
    ("release ClientToken is not a parameter", RELEASE, lambda now: release(ClientToken="abc"), "UnsupportedParameter"),
    (
        "release for an owner",
        RELEASE,
        lambda now: release(
            later(now, days=1),
            OwnerId="1234567890",
            OwnerAccount="ops",
            ResourceOwnerAccount="prod",
            ResourceOwnerId="987",
        ),
        None,
    ),
    (
        "release OwnerId not a number",
        RELEASE,
        lambda now: release(later(now, days=1), OwnerId="ops"),
        "InvalidParameter",
    ),
    (
        "window for an owner",
        MAINTAIN,
        lambda now: window("02:00Z", "03:00Z", OwnerAccount="ops", ResourceOwnerId="987"),
        None,
    ),
    (
        "window ResourceOwnerId negative",
        MAINTAIN,
        lambda now: window("02:00Z", "03:00Z", ResourceOwnerId="-1"),
        "InvalidParameter",
    ),
]
STATUS = {None: 200}


@pytest.mark.parametrize(("action", "make", "code"), [r[1:] for r in RULES], ids=[r[0] for r in RULES])
def test_layer_applies_the_rule(action, make, code):
    now = datetime.now(UTC)
    given = make(now)
    if code is None:
        action.validate(given, ValidationContext(now=now))
    else:
        with pytest.raises(AlibabaCloudError) as raised:
            action.validate(given, ValidationContext(now=now))
        assert raised.value.code == code
        assert raised.value.http_status == 400
        assert str(raised.value).startswith(f"{code}: ")


@pytest.mark.parametrize(("action", "make", "code"), [r[1:] for r in RULES], ids=[r[0] for r in RULES])
def test_emulator_applies_the_rule(emulator, action, make, code):
    """The same row sent straight to the emulator, signed but not validated by the layer."""
    given = {k: v for k, v in make(datetime.now(UTC)).items() if v is not None}
    signed = sign_request(
        method="POST",
        action=action.name,
        version=action.product.version,
        params=given,
        access_key_id=ACCESS_KEY_ID,
        access_key_secret=ACCESS_KEY_SECRET,
    )
    answer = requests.post(
        emulator.url + "/",
        data=encode_form(signed),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        timeout=5,
    )
    body = answer.json()
    assert body.get("Code") == code, body
    assert answer.status_code == (200 if code is None else 400)


def test_seconds_are_set_to_the_start_of_the_minute():
    now = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
    params = RELEASE.validate(release("2026-11-22T12:34:56Z"), ValidationContext(now=now))
    assert params["AutoReleaseTime"] == "2026-11-22T12:34:00Z"


def test_truncated_seconds_are_what_the_30_minute_rule_sees():
    now = datetime(2026, 11, 22, 10, 0, 30, tzinfo=UTC)
    with pytest.raises(AlibabaCloudError, match="TooEarly"):  # 10:30:59 is sent as 10:30:00, 29.5 minutes away
        RELEASE.validate(release("2026-11-22T10:30:59Z"), ValidationContext(now=now))
    RELEASE.validate(release("2026-11-22T10:31:00Z"), ValidationContext(now=now))


def test_three_years_from_29_february():
    now = datetime(2028, 2, 29, 12, 0, tzinfo=UTC)
    RELEASE.validate(release("2031-02-28T12:00:00Z"), ValidationContext(now=now))
    with pytest.raises(AlibabaCloudError, match="TooLate"):
        RELEASE.validate(release("2031-02-28T12:01:00Z"), ValidationContext(now=now))


@pytest.mark.parametrize(
    ("start", "end", "ok"),
    [
        ("02:00Z", "03:00Z", True),
        ("02:00Z", "06:00Z", True),
        ("23:00Z", "01:00Z", True),
        ("02:00Z", "02:30Z", False),
        ("02:00Z", "02:00Z", False),
    ],
)
def test_at_least_one_hour_setting(start, end, ok):
    ctx = ValidationContext(now=datetime.now(UTC), maintain_window=AT_LEAST_ONE_HOUR)
    if ok:
        MAINTAIN.validate(window(start, end), ctx)
    else:
        with pytest.raises(AlibabaCloudError, match="InvalidEndTime.Format"):
            MAINTAIN.validate(window(start, end), ctx)


@pytest.mark.parametrize(
    ("given", "code"),
    [
        (window(2, "03:00Z"), "InvalidParameter"),
        (window("02:00Z", ["03:00Z"]), "InvalidParameter"),
        (window("02:00Z", "03:00Z", InstanceId={"id": "r-1"}), "InvalidParameter"),
        (window("02:00Z", "03:00Z", InstanceId="r-1 OR 1=1"), "InvalidParameter"),
        (window("02:00Z", "03:00Z", InstanceId="r-" + "a" * 300), "InvalidParameter"),
        (window("02:00Z", "03:00Z", InstanceId="r-1\n"), "InvalidParameter"),
        (window(None, "03:00Z"), "MissingParameter"),
        (release(True), "InvalidParameter"),
        (release(RegionId="cn-hangzhou.evil.example/"), "InvalidParameter"),
        (release(RegionId="CN-HANGZHOU"), "InvalidParameter"),
        # R-kvstore takes RegionId as the official core SDK sends it; it names a host, so it is checked
        (window("02:00Z", "03:00Z", RegionId="cn-hangzhou.evil.example/"), "InvalidParameter"),
    ],
)
def test_layer_refuses_values_that_are_not_well_formed_text(given, code):
    action = RELEASE if "MaintainEndTime" not in given else MAINTAIN
    with pytest.raises(AlibabaCloudError) as raised:
        action.validate(given, ValidationContext(now=datetime.now(UTC)))
    assert raised.value.code == code


@pytest.mark.parametrize("name", ["AutoReleaseTime", "AutoReleaseAfter"])
def test_a_null_release_time_is_refused_not_taken_for_a_cancel(name):
    # leaving the key out cancels the release; a null is more likely a template's empty value
    with pytest.raises(AlibabaCloudError) as raised:
        RELEASE.validate({"InstanceId": ECS_ID, name: None}, ValidationContext(now=datetime.now(UTC)))
    assert raised.value.code == "InvalidParameter"
    assert f"{name} is null" in raised.value.message
    assert RELEASE.validate({"InstanceId": ECS_ID}, ValidationContext(now=datetime.now(UTC))) == {"InstanceId": ECS_ID}


def test_emulator_answers_alibaba_error_shape(emulator):
    signed = sign_request(
        method="POST",
        action=MAINTAIN.name,
        version="2015-01-01",
        params=window("02:00Z", "05:00Z"),
        access_key_id=ACCESS_KEY_ID,
        access_key_secret=ACCESS_KEY_SECRET,
    )
    body = requests.post(emulator.url + "/", data=signed, timeout=5).json()
    assert set(body) == {"RequestId", "HostId", "Code", "Message", "Recommend"}
    assert body["Message"] == "Specified end time is not valid."


def test_unsupported_parameters_are_named_in_a_sentence_that_lists_every_key_an_event_may_carry():
    ctx = ValidationContext(now=datetime.now(UTC))
    with pytest.raises(AlibabaCloudError) as one:
        MAINTAIN.validate(window("02:00Z", "03:00Z", Maintain="x"), ctx)
    with pytest.raises(AlibabaCloudError) as several:
        MAINTAIN.validate(window("02:00Z", "03:00Z", Maintain="x", Zone="y"), ctx)
    assert one.value.message.startswith(
        "The parameter 'Maintain' is unsupported: ModifyInstanceMaintainTime takes InstanceId, "
    )
    assert several.value.message.startswith("The parameters 'Maintain', 'Zone' are unsupported: ")
    for key in (
        "TimeZone",
        "OwnerId",
        "ScheduledTime",
        "CorrelationId",
        "Hop",
        "Budget",
        "Next",
        "NotifyUrls",
        "Targets",
        "InstanceIds",
        "Select",
        "RateControl",
        "DryRun",
    ):
        assert key in several.value.message
