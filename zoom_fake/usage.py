"""Account-wide usage: the daily report and the dashboard's meeting list.

Both need every meeting instance of a date, for all hosts, so they share an
index of instances by start date. It is built once, on the first request that
needs it, and stores a few numbers per instance rather than whole records.
"""

from __future__ import annotations

import calendar
import threading
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from zoom_fake.dates import DateRange
from zoom_fake.timeline import MEETING, Instance

if TYPE_CHECKING:
    from zoom_fake.account import Account


@dataclass(frozen=True)
class _DayEntry:
    """The numbers of one meeting instance that daily reports and dashboards use."""

    start: datetime
    end: datetime
    user: int
    number: int
    index: int
    people: int
    minutes: int


class Usage:
    """Daily totals and dashboard listings of one account.

    Args:
        account: The account whose meetings are counted.
    """

    def __init__(self, account: Account) -> None:
        self._account = account
        self._lock = threading.Lock()
        self._new_users: dict[date, int] | None = None
        self._day_index: dict[date, list[_DayEntry]] | None = None

    def daily_report(
        self, year: int, month: int, group_id: str | None = None
    ) -> dict[str, Any]:
        """Return ``GET /report/daily`` for a month, days up to today only.

        Args:
            year: Year of the month.
            month: Month, 1 to 12.
            group_id: Count only users and meetings hosted by this group's
                members; None counts everyone.
        """
        account = self._account
        now = account.now()
        members = None
        if group_id is not None:
            members = set(account.group_member_indexes(group_id) or ())
        first = date(year, month, 1)
        last = min(first.replace(day=calendar.monthrange(year, month)[1]), now.date())
        dates = [
            self._daily_totals(first + timedelta(days=offset), now, members)
            for offset in range((last - first).days + 1)
        ]
        return {"year": year, "month": month, "dates": dates}

    def dashboard_instances(
        self, window: DateRange, kind: str, by_end: bool = False
    ) -> list[Instance]:
        """Return the meeting instances ``GET /metrics/meetings`` lists, by start.

        Args:
            window: Instances must start, or with ``by_end`` end, within it.
            kind: "past" (ended), "pastOne" (ended, host alone) or "live" (in
                progress now).
            by_end: Filter on end time instead of start time.
        """
        timeline = self._account.timeline
        now = self._account.now()
        found = []
        day = window.first - timedelta(days=1)
        while day <= window.last:
            for entry in self._day_entries(day):
                moment = entry.end if by_end else entry.start
                if not window.contains(moment) or not _dashboard_match(
                    entry, kind, now
                ):
                    continue
                plan = timeline.plan(MEETING, entry.number)
                if plan is not None:
                    found.append(timeline.instance(plan, entry.index))
            day += timedelta(days=1)
        found.sort(key=lambda instance: (instance.start, instance.uuid))
        return found

    def _daily_totals(
        self, day: date, now: datetime, members: set[int] | None
    ) -> dict[str, Any]:
        entries = [
            entry
            for entry in self._day_entries(day)
            if entry.end <= now and (members is None or entry.user in members)
        ]
        return {
            "date": day.isoformat(),
            "new_users": self._new_user_count(day, members),
            "meetings": len(entries),
            "participants": sum(entry.people for entry in entries),
            "meeting_minutes": sum(entry.minutes for entry in entries),
        }

    def _new_user_count(self, day: date, members: set[int] | None) -> int:
        account = self._account
        if members is not None:
            return sum(
                1
                for index in members
                if account.person(index).user_created_at.date() == day
            )
        with self._lock:
            if self._new_users is None:
                counts: dict[date, int] = {}
                for index in range(account.user_count):
                    created = account.person(index).user_created_at.date()
                    counts[created] = counts.get(created, 0) + 1
                self._new_users = counts
            return self._new_users.get(day, 0)

    def _day_entries(self, day: date) -> list[_DayEntry]:
        """Return the meeting instances that start on ``day``, by start time."""
        with self._lock:
            if self._day_index is None:
                self._day_index = self._build_day_index()
            return self._day_index.get(day, [])

    def _build_day_index(self) -> dict[date, list[_DayEntry]]:
        timeline = self._account.timeline
        days: dict[date, list[_DayEntry]] = {}
        for plan in timeline.iter_plans(MEETING):
            for index in range(len(plan.starts)):
                timing = timeline.timing(plan, index)
                entry = _DayEntry(
                    start=timing.start,
                    end=timing.end,
                    user=plan.user,
                    number=plan.number,
                    index=index,
                    people=timing.people,
                    minutes=timing.total_minutes,
                )
                days.setdefault(timing.start.date(), []).append(entry)
        for entries in days.values():
            entries.sort(key=lambda entry: (entry.start, entry.number, entry.index))
        return days


def _dashboard_match(entry: _DayEntry, kind: str, now: datetime) -> bool:
    if kind == "live":
        return entry.start <= now < entry.end
    if entry.end > now:
        return False
    return kind != "pastOne" or entry.people == 1
