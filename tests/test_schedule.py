"""Schedules: crontab weekdays as cron counts them, intervals, time zones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from jobs.schedule import Schedule, ScheduleError, parse_timezone

# A Saturday.
SATURDAY = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("expression", "expected_day"),
    [
        ("0 9 * * 1-5", "Monday"),
        ("0 9 * * 0", "Sunday"),
        ("0 9 * * 7", "Sunday"),
        ("0 9 * * mon-fri", "Monday"),
        ("0 9 * * 5-7", "Sunday"),
        ("0 9 * * */2", "Sunday"),
        ("0 9 * * 3", "Wednesday"),
    ],
    ids=["1-5", "0", "7", "names", "5-7", "step", "3"],
)
def test_cron_weekdays_follow_crontab(expression, expected_day):
    trigger = Schedule.parse(expression).trigger(UTC)

    fire = trigger.get_next_fire_time(None, SATURDAY)

    assert fire.strftime("%A") == expected_day
    assert (fire.hour, fire.minute) == (9, 0)


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("0 0 30 2 *", "never fires"),
        ("0 9 * * 8", "not a day of week"),
        ("0 9 * * 5-2", "runs backwards"),
        ("* * *", "has 3 fields"),
        ("61 * * * *", "not a valid crontab expression"),
    ],
    ids=["feb-30", "day-8", "backwards", "three-fields", "minute-61"],
)
def test_bad_cron_rejected(expression, message):
    with pytest.raises(ScheduleError) as caught:
        Schedule.parse(expression)

    assert message in str(caught.value)


def test_interval_period_and_text():
    schedule = Schedule.parse({"hours": 1, "minutes": 30})

    assert schedule.period(UTC) == timedelta(minutes=90)
    assert schedule.describe() == "every 1 hours, 30 minutes"


def test_cron_period_in_zone():
    schedule = Schedule.parse("*/20 * * * *")

    assert schedule.period(ZoneInfo("Europe/Berlin"), SATURDAY) == timedelta(minutes=20)
    assert schedule.describe() == "cron '*/20 * * * *'"


def test_cron_read_in_scheduler_zone():
    trigger = Schedule.parse("0 9 * * *").trigger(ZoneInfo("America/New_York"))

    fire = trigger.get_next_fire_time(None, SATURDAY)

    assert fire.astimezone(UTC).hour == 14


def test_utc_needs_no_tz_database():
    assert parse_timezone("UTC") is UTC
    assert parse_timezone("Etc/UTC") is UTC


def test_unknown_zone_rejected():
    with pytest.raises(ScheduleError) as caught:
        parse_timezone("Mars/Olympus")

    assert "Mars/Olympus" in str(caught.value)


def test_day_and_weekday_either_matches():
    trigger = Schedule.parse("0 0 1 * 1").trigger(UTC)

    first = trigger.get_next_fire_time(None, SATURDAY)
    second = trigger.get_next_fire_time(first, first + timedelta(seconds=1))
    third = trigger.get_next_fire_time(second, second + timedelta(seconds=1))

    assert first == datetime(2026, 12, 7, tzinfo=UTC)
    assert second == datetime(2026, 12, 14, tzinfo=UTC)
    assert third == datetime(2026, 12, 21, tzinfo=UTC)
    after_month = trigger.get_next_fire_time(None, datetime(2026, 12, 29, tzinfo=UTC))
    assert after_month == datetime(2027, 1, 1, tzinfo=UTC)
