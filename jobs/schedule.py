"""Job schedules: a cron expression or a fixed interval, and their triggers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.combining import OrTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

# Units an interval schedule accepts, as IntervalTrigger names them.
INTERVAL_UNITS = ("weeks", "days", "hours", "minutes", "seconds")

# Day names in crontab numbering, where 0 and 7 are Sunday. APScheduler 3
# numbers weekdays from Monday = 0, so numbers are translated to names.
_CRON_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


class ScheduleError(ValueError):
    """A schedule or time zone that cannot be used; the message gives the reason."""


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
        trigger = schedule.trigger(UTC)
        if trigger.get_next_fire_time(None, datetime.now(UTC)) is None:
            raise ScheduleError(f"never fires: {raw!r}; check the day and month")
        return schedule

    def trigger(self, timezone: tzinfo) -> BaseTrigger:
        """Return the APScheduler trigger for this schedule in a time zone.

        Raises:
            ScheduleError: the crontab expression is invalid.
        """
        if self.cron is not None:
            return _cron_trigger(self.cron, timezone)
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


def _cron_trigger(expression: str, timezone: tzinfo) -> BaseTrigger:
    """Build a trigger from a five-field crontab expression, as cron reads it.

    Cron numbers weekdays from Sunday = 0, and when both day of month and day
    of week are restricted it fires when either matches. APScheduler's
    CronTrigger counts Monday = 0 and requires both, so weekdays are passed
    as names and the two restrictions become two triggers joined by OR.

    Raises:
        ScheduleError: the expression is invalid.
    """
    fields = expression.split()
    try:
        if len(fields) != 5:
            msg = f"has {len(fields)} fields, not 5"
            raise ValueError(msg)
        minute, hour, day, month, weekdays = fields
        names = _cron_weekdays(weekdays)
        common = dict(minute=minute, hour=hour, month=month, timezone=timezone)
        if day != "*" and weekdays != "*":
            return OrTrigger(
                [
                    CronTrigger(day=day, day_of_week="*", **common),
                    CronTrigger(day="*", day_of_week=names, **common),
                ]
            )
        return CronTrigger(day=day, day_of_week=names, **common)
    except ValueError as exc:
        msg = f"is not a valid crontab expression: {expression!r} ({exc})"
        raise ScheduleError(msg) from None


def _cron_weekdays(field: str) -> str:
    """Rewrite a crontab day-of-week field as the list of day names it selects."""
    if field == "*":
        return field
    days: set[int] = set()
    for item in field.split(","):
        days.update(_weekday_item(item.lower()))
    return ",".join(_CRON_DAYS[day] for day in sorted(days))


def _weekday_item(item: str) -> set[int]:
    span, _, step_text = item.partition("/")
    step = int(step_text) if step_text else 1
    if step < 1:
        msg = f"step {step} in day of week {item!r} must be 1 or more"
        raise ValueError(msg)
    if span == "*":
        first, last = 0, 6
    else:
        start, _, end = span.partition("-")
        first = _weekday_number(start)
        if end:
            last = _weekday_number(end)
        elif step_text:
            last = 6
        else:
            last = first
    if end_is_seven := (last == 0 and first > 0):
        last = 7
    if last < first and not end_is_seven:
        msg = f"day of week range {item!r} runs backwards"
        raise ValueError(msg)
    return {day % 7 for day in range(first, last + 1, step)}


def _weekday_number(text: str) -> int:
    if text in _CRON_DAYS:
        return _CRON_DAYS.index(text)
    if text.isdigit() and int(text) <= 7:
        return int(text)
    msg = f"{text!r} is not a day of week (0-7 or sun-sat)"
    raise ValueError(msg)


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
