"""Account-wide usage: the daily report and the dashboard's meeting list.

Both need every meeting instance of a date range, for all hosts, so they share
one :class:`InstanceIndex` of the account's meeting instances. It is built
once, on the first request that needs it or by :meth:`Usage.build_indexes`, and
keeps seven integers per instance in arrays rather than records: 49 bytes per
instance, about 11 MB for the 230,000 instances of the "xlarge" preset.
Dashboard pages build the records of their own instances only.
"""

from __future__ import annotations

import calendar
import threading
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Collection, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from zoom_fake.dates import DateRange, midnight
from zoom_fake.timeline import MEETING, Instance, Timeline

if TYPE_CHECKING:
    from zoom_fake.account import Account

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def _micros(moment: datetime) -> int:
    """Return an aware datetime as whole microseconds since the epoch."""
    return (moment - _EPOCH) // _MICROSECOND


class InstanceIndex:
    """Every meeting instance of an account, ordered by start time, then UUID.

    This is the order of ``GET /metrics/meetings``. Position ``i`` of every
    array describes the same instance. Times are microseconds since the epoch,
    so comparing them is exact.

    Args:
        timeline: The timeline whose meeting instances are indexed.
    """

    def __init__(self, timeline: Timeline) -> None:
        columns = _timing_columns(timeline)
        starts = columns[0]
        order = sorted(range(len(starts)), key=starts.__getitem__)
        _order_ties_by_uuid(order, columns, timeline)
        starts, ends, numbers, indexes, people, minutes, recorded = (
            array(column.typecode, (column[position] for position in order))
            for column in columns
        )
        self.starts = starts
        self.ends = ends
        self.numbers = numbers
        self.indexes = indexes
        self.people = people
        self.minutes = minutes
        # 1 for an instance with a cloud recording. Finding that out otherwise
        # builds every series of the host.
        self.recorded = recorded
        # The maximum instance length in microseconds. An instance that ends at
        # some moment started at most this long before it.
        self.max_length = max(
            (end - start for start, end in zip(starts, ends)), default=0
        )

    def __len__(self) -> int:
        return len(self.starts)

    def starting_between(self, start: datetime, end: datetime) -> range:
        """Return the positions of the instances that start in ``start``..``end``.

        ``end`` is excluded.
        """
        low = bisect_left(self.starts, _micros(start))
        return range(low, bisect_left(self.starts, _micros(end), low))


def _timing_columns(timeline: Timeline) -> tuple[array[int], ...]:
    """Return the columns of every instance, in :class:`InstanceIndex` order.

    The columns are start, end, series, instance, people, minutes and
    recorded. The instances come series by series, each oldest first.
    """
    columns = (*(array("q") for _ in range(6)), array("b"))
    starts, ends, numbers, indexes, people, minutes, recorded = columns
    for plan in timeline.iter_plans(MEETING):
        for index in range(len(plan.starts)):
            timing = timeline.timing(plan, index)
            starts.append(_micros(timing.start))
            ends.append(_micros(timing.end))
            numbers.append(plan.number)
            indexes.append(index)
            people.append(timing.people)
            minutes.append(timing.total_minutes)
            recorded.append(timeline.is_recorded(plan, index))
    return columns


def _order_ties_by_uuid(
    order: list[int], columns: tuple[array[int], ...], timeline: Timeline
) -> None:
    """Sort each run of ``order`` whose instances start in the same microsecond.

    The runs are sorted by UUID, in place.
    """
    starts, _, numbers, indexes = columns[:4]
    first = 0
    while first < len(order):
        last = first + 1
        while last < len(order) and starts[order[last]] == starts[order[first]]:
            last += 1
        if last - first > 1:
            order[first:last] = sorted(
                order[first:last],
                key=lambda position: timeline.uuid(
                    MEETING, numbers[position], indexes[position]
                ),
            )
        first = last


class Usage:
    """Daily totals and dashboard listings of one account.

    Args:
        account: The account whose meetings are counted.
    """

    def __init__(self, account: Account) -> None:
        self._account = account
        self._lock = threading.Lock()
        self._index_lock = threading.Lock()
        self._new_users: dict[date, int] | None = None
        self._index: InstanceIndex | None = None

    def build_indexes(self) -> None:
        """Build the instance index and the new-user counts unless they exist.

        Both take time in proportion to the account's size, because they draw
        the timing of every meeting instance and the creation date of every
        user. Without this call the first request that needs them builds them.
        """
        self.instance_index()
        self._new_users_by_day()

    @property
    def index_built(self) -> bool:
        """Whether the instance index exists.

        Only the daily report, the dashboard and :meth:`build_indexes` build it.
        """
        return self._index is not None

    def instance_index(self) -> InstanceIndex:
        """Return the index of every meeting instance, built on the first call."""
        with self._index_lock:
            if self._index is None:
                self._index = InstanceIndex(self._account.timeline)
            return self._index

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

    def dashboard_positions(
        self,
        window: DateRange,
        kind: str,
        *,
        by_end: bool = False,
        hosts: Collection[int] | None = None,
    ) -> list[int]:
        """Return the index positions of the instances the dashboard lists.

        These are the instances of ``GET /metrics/meetings``. The positions
        ascend, so the instances are in the dashboard's order.

        Args:
            window: Instances must start, or with ``by_end`` end, within it.
            kind: "past" (ended), "pastOne" (ended, host alone) or "live" (in
                progress now).
            by_end: Filter on end time instead of start time.
            hosts: Keep only instances hosted by these user indexes. None keeps
                all of them.
        """
        index = self.instance_index()
        now = _micros(self._account.now())
        low, high = _micros(window.start), _micros(window.end)
        earliest = window.start
        if by_end:
            earliest -= index.max_length * _MICROSECOND
        candidates = index.starting_between(earliest, window.end)
        if by_end:
            ends = index.ends
            candidates = [p for p in candidates if low <= ends[p] < high]
        found = _match_kind(index, candidates, kind, now)
        if hosts is not None:
            found = [p for p in found if self._host(index, p) in hosts]
        return found

    def instances_at(self, positions: Sequence[int]) -> list[Instance]:
        """Return the instances at some index positions, in the order given."""
        index = self.instance_index()
        timeline = self._account.timeline
        found = []
        for position in positions:
            plan = timeline.plan(MEETING, index.numbers[position])
            if plan is None:
                message = f"index position {position} names no meeting series"
                raise LookupError(message)
            recorded = bool(index.recorded[position])
            found.append(
                timeline.build_instance(plan, index.indexes[position], recorded)
            )
        return found

    def _daily_totals(
        self, day: date, now: datetime, members: set[int] | None
    ) -> dict[str, Any]:
        index = self.instance_index()
        cutoff = _micros(now)
        next_day = day + timedelta(days=1)
        meetings = participants = minutes = 0
        for position in index.starting_between(midnight(day), midnight(next_day)):
            if index.ends[position] > cutoff:
                continue
            if members is not None and self._host(index, position) not in members:
                continue
            meetings += 1
            participants += index.people[position]
            minutes += index.minutes[position]
        return {
            "date": day.isoformat(),
            "new_users": self._new_user_count(day, members),
            "meetings": meetings,
            "participants": participants,
            "meeting_minutes": minutes,
        }

    def host_of(self, position: int) -> int:
        """Return the user index of the host of the instance at an index position."""
        return self._host(self.instance_index(), position)

    def _host(self, index: InstanceIndex, position: int) -> int:
        """Return the user index of the host of the instance at ``position``."""
        return index.numbers[position] // self._account.spec.meetings_per_user

    def _new_user_count(self, day: date, members: set[int] | None) -> int:
        account = self._account
        if members is not None:
            return sum(
                1
                for index in members
                if account.person(index).user_created_at.date() == day
            )
        return self._new_users_by_day().get(day, 0)

    def _new_users_by_day(self) -> dict[date, int]:
        account = self._account
        with self._lock:
            if self._new_users is None:
                counts: dict[date, int] = {}
                for index in range(account.user_count):
                    created = account.person(index).user_created_at.date()
                    counts[created] = counts.get(created, 0) + 1
                self._new_users = counts
            return self._new_users


def _match_kind(
    index: InstanceIndex, candidates: Sequence[int], kind: str, now: int
) -> list[int]:
    """Keep the candidates that are ``kind`` at ``now``, in microseconds."""
    starts, ends = index.starts, index.ends
    if kind == "live":
        recent = _started_recently(index, candidates, now)
        return [p for p in recent if starts[p] <= now < ends[p]]
    ended = _ended(index, candidates, now)
    if kind != "pastOne":
        return ended
    people = index.people
    return [p for p in ended if people[p] == 1]


# Positions ascend by start time and no instance lasts longer than max_length.
# So within a range of positions, those that started max_length or more before
# now have ended, and only those that started since then can be in progress.
# The two helpers below check only the instances in between one by one.


def _ended(index: InstanceIndex, candidates: Sequence[int], now: int) -> list[int]:
    ends = index.ends
    if not isinstance(candidates, range):
        return [p for p in candidates if ends[p] <= now]
    starts, first, stop = index.starts, candidates.start, candidates.stop
    done = bisect_right(starts, now - index.max_length, first, stop)
    started = bisect_right(starts, now, done, stop)
    unsure = range(done, started)
    return [*range(first, done), *(p for p in unsure if ends[p] <= now)]


def _started_recently(
    index: InstanceIndex, candidates: Sequence[int], now: int
) -> Sequence[int]:
    if not isinstance(candidates, range):
        return candidates
    starts, stop = index.starts, candidates.stop
    first = bisect_right(starts, now - index.max_length, candidates.start, stop)
    return range(first, bisect_right(starts, now, first, stop))
