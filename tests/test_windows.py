"""Sync windows and cursors: contiguous UTC date ranges, forward-only cursors."""

from __future__ import annotations

import os
import time
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from jobs import state, store
from jobs.windows import Window, day_windows, month_windows, months_back, utc_date


@pytest.fixture
def new_york_local_time():
    """Run a test with the process's local time zone set to America/New_York."""
    saved = os.environ.get("TZ")
    os.environ["TZ"] = "America/New_York"
    time.tzset()
    yield
    if saved is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = saved
    time.tzset()


def assert_contiguous(windows: list[Window], first: date, last: date) -> None:
    assert windows[0].first == first
    assert windows[-1].last == last
    for before, after in zip(windows, windows[1:], strict=False):
        assert after.first == before.last + timedelta(days=1)
    for window in windows:
        assert window.first <= window.last


def test_three_month_windows():
    windows = month_windows(date(2024, 1, 1), date(2024, 3, 15))

    assert windows == [
        Window(date(2024, 1, 1), date(2024, 1, 31)),
        Window(date(2024, 2, 1), date(2024, 2, 29)),
        Window(date(2024, 3, 1), date(2024, 3, 15)),
    ]
    assert_contiguous(windows, date(2024, 1, 1), date(2024, 3, 15))


def test_windows_across_dst_in_local_zone(new_york_local_time):
    zone = ZoneInfo("America/New_York")
    start = datetime(2024, 1, 1, 0, 0, tzinfo=UTC).astimezone(zone)
    end = datetime(2024, 3, 15, 12, 0, tzinfo=UTC).astimezone(zone)

    windows = month_windows(utc_date(start), utc_date(end))

    assert time.localtime(end.timestamp()).tm_isdst == 1
    assert time.localtime(start.timestamp()).tm_isdst == 0
    assert [w.params for w in windows] == [
        {"from": "2024-01-01", "to": "2024-01-31"},
        {"from": "2024-02-01", "to": "2024-02-29"},
        {"from": "2024-03-01", "to": "2024-03-15"},
    ]
    assert windows[-1].end == datetime(2024, 3, 16, tzinfo=UTC)


def test_day_windows_at_most_thirty_days():
    windows = day_windows(date(2024, 1, 1), date(2024, 3, 15), 30)

    assert len(windows) == 3
    assert all((w.last - w.first).days < 30 for w in windows)
    assert_contiguous(windows, date(2024, 1, 1), date(2024, 3, 15))


def test_single_day_window():
    assert month_windows(date(2024, 5, 7), date(2024, 5, 7)) == [
        Window(date(2024, 5, 7), date(2024, 5, 7))
    ]
    assert month_windows(date(2024, 5, 8), date(2024, 5, 7)) == []


def test_naive_datetime_rejected():
    with pytest.raises(ValueError) as caught:
        utc_date(datetime(2024, 1, 1))

    assert "no time zone" in str(caught.value)


def test_months_back_crosses_year():
    assert months_back(date(2026, 3, 15), 6) == date(2025, 9, 1)
    assert months_back(date(2026, 12, 4), 6) == date(2026, 6, 1)


def test_cursor_moves_only_forward(tmp_path):
    db = store.open_database(tmp_path / "zoom.db")
    early = datetime(2024, 1, 1, tzinfo=UTC)
    late = datetime(2024, 2, 1, tzinfo=UTC)

    state.advance_cursor(db, "job", late, partition="u1")
    kept = state.advance_cursor(db, "job", early, partition="u1")

    assert kept == late
    assert state.get_cursor(db, "job", "u1") == late
    assert state.get_cursor(db, "job", "u2") is None
    assert state.get_cursor(db, "other") is None


def test_timestamps_normalised_to_utc():
    assert (
        state.format_utc(
            datetime(2024, 3, 10, 3, 30, tzinfo=ZoneInfo("America/New_York"))
        )
        == "2024-03-10T07:30:00Z"
    )
    assert state.parse_utc("2024-03-10T08:00:00Z") == datetime(
        2024, 3, 10, 8, tzinfo=UTC
    )
    assert state.parse_utc("2024-03-10T08:00:00") == datetime(
        2024, 3, 10, 8, tzinfo=UTC
    )
