"""Job schedules: a cron expression or a fixed interval, and their triggers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

# Units an interval schedule accepts, as IntervalTrigger names them.
INTERVAL_UNITS = ("weeks", "days", "hours", "minutes", "seconds")


class ScheduleError(ValueError):
    """A schedule or time zone that cannot be used; the message says why."""


@dataclass(frozen=True)
class Schedule:
    """When a job runs: either ``cron`` or ``interval`` is set.

    Attributes:
        cron: a five-field crontab expression, such as ``*/30 * * * *``.
        interval: (unit, amount) pairs, such as ``(("minutes", 30),)``.
    """

    cron: str | None = None
    interval: tuple[tuple[str, float], ...] | None = None

    @classmethod
    def parse(cls, raw: object) -> Schedule:
        """Build a schedule from a crontab string or a mapping of units.

        Raises:
            ScheduleError: the value is neither, or does not describe a time.
        """
        if isinstance(raw, str):
            schedule = cls(cron=raw.strip())
        elif isinstance(raw, dict):
            schedule = cls(interval=_parse_interval(raw))
        else:
            msg = (
                f'must be a crontab string such as "*/30 * * * *" or a mapping '
                f"such as {{minutes: 30}}, not {raw!r}"
            )
            raise ScheduleError(msg)
        schedule.trigger(UTC)
        return schedule

    def trigger(self, timezone: tzinfo) -> BaseTrigger:
        """Return the APScheduler trigger for this schedule in a time zone.

        Raises:
            ScheduleError: the crontab expression is invalid.
        """
        if self.cron is not None:
            try:
                return CronTrigger.from_crontab(self.cron, timezone=timezone)
            except ValueError as exc:
                msg = f"is not a valid crontab expression: {self.cron!r} ({exc})"
                raise ScheduleError(msg) from None
        return IntervalTrigger(timezone=timezone, **dict(self.interval or ()))

    def period(self, timezone: tzinfo, now: datetime | None = None) -> timedelta:
        """Return the time between two consecutive runs after ``now``.

        For a cron schedule this is the gap between its next two fire times,
        which varies for irregular expressions such as ``0 9 * * 1-5``.
        """
        if self.interval is not None:
            return timedelta(**dict(self.interval))
        trigger = self.trigger(timezone)
        start = now or datetime.now(UTC)
        first = trigger.get_next_fire_time(None, start)
        second = trigger.get_next_fire_time(first, first + timedelta(seconds=1))
        return second - first

    def describe(self) -> str:
        """Return the schedule as config.yaml writes it."""
        if self.cron is not None:
            return f"cron {self.cron!r}"
        parts = ", ".join(f"{amount:g} {unit}" for unit, amount in self.interval or ())
        return f"every {parts}"


def _parse_interval(raw: dict[object, object]) -> tuple[tuple[str, float], ...]:
    pairs = []
    for unit, amount in raw.items():
        if unit not in INTERVAL_UNITS:
            known = ", ".join(INTERVAL_UNITS)
            raise ScheduleError(f"has an unknown interval unit {unit!r}; use {known}")
        number_types = (int, float)
        if isinstance(amount, bool) or not isinstance(amount, number_types):
            raise ScheduleError(f"needs a number of {unit}, not {amount!r}")
        if amount < 0:
            raise ScheduleError(f"needs a positive number of {unit}, not {amount!r}")
        pairs.append((str(unit), float(amount)))
    if not pairs or sum(timedelta(**{u: a}).total_seconds() for u, a in pairs) <= 0:
        raise ScheduleError("must last more than 0 seconds, such as {minutes: 30}")
    return tuple(pairs)


def parse_timezone(name: str) -> tzinfo:
    """Return the time zone with an IANA name; "UTC" needs no tz database.

    Raises:
        ScheduleError: the name is not a known time zone.
    """
    if name.upper() in ("UTC", "Z", "ETC/UTC"):
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        msg = f"is not a known IANA time zone: {name!r}; use a name such as UTC"
        raise ScheduleError(msg) from None
