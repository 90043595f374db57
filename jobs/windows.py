"""Date windows for Zoom's ranged endpoints, computed in UTC.

Zoom's report and recording endpoints take ``from`` and ``to`` dates, both
inclusive, and reject (or silently shorten) a range longer than about a month.
A sync range is split into contiguous windows that never overlap, so every day
is requested once per pass.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta


@dataclass(frozen=True)
class Window:
    """An inclusive range of UTC dates, as Zoom's ``from`` and ``to`` take it."""

    first: date
    last: date

    @property
    def params(self) -> dict[str, str]:
        """The ``from`` and ``to`` query parameters."""
        return {"from": self.first.isoformat(), "to": self.last.isoformat()}

    @property
    def end(self) -> datetime:
        """The first moment after the window: 00:00 UTC of the next day."""
        return datetime.combine(self.last + timedelta(days=1), time(), tzinfo=UTC)


def month_windows(first: date, last: date) -> list[Window]:
    """Split ``first..last`` at calendar-month boundaries.

    Each window lies within one month, so it satisfies "at most one month"
    however Zoom counts a month.
    """
    windows = []
    start = first
    while start <= last:
        month_end = start.replace(day=calendar.monthrange(start.year, start.month)[1])
        end = min(month_end, last)
        windows.append(Window(start, end))
        start = end + timedelta(days=1)
    return windows


def day_windows(first: date, last: date, days: int) -> list[Window]:
    """Split ``first..last`` into windows of at most ``days`` days."""
    windows = []
    start = first
    while start <= last:
        end = min(start + timedelta(days=days - 1), last)
        windows.append(Window(start, end))
        start = end + timedelta(days=1)
    return windows


def utc_date(moment: datetime) -> date:
    """Return the UTC calendar date of an aware datetime."""
    if moment.tzinfo is None:
        msg = f"datetime {moment.isoformat()} has no time zone; pass an aware one"
        raise ValueError(msg)
    return moment.astimezone(UTC).date()


def months_back(today: date, months: int) -> date:
    """Return the first day of the month ``months`` before ``today``'s month.

    Zoom's reports accept a month "within the recent six months", which this
    gives as ``months_back(today, 6)``.
    """
    index = today.year * 12 + today.month - 1 - months
    return date(index // 12, index % 12 + 1, 1)
