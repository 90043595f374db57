"""Date parameters of Zoom's report, recording and dashboard routes.

Zoom takes ``from`` and ``to`` as inclusive UTC dates. Reports cover at most one
month per request and only the recent six months: the earliest ``from`` is the
first day of the month six months before the current one.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from zoom_fake.base import ApiError
from zoom_fake.paging import validation_failed

# NOTE: Zoom documents the limit only as "one month" and the exact rule is not
# known. Thirty days after ``from`` (31 dates) admits every calendar month.
MAX_RANGE_DAYS = 30
RETENTION_MONTHS = 6

_DATE_FORMAT = "%Y-%m-%d"
_DATETIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M")


@dataclass(frozen=True)
class DateRange:
    """An inclusive range of UTC dates and the text each end was given as.

    Attributes:
        first: First date of the range.
        last: Last date of the range.
        first_text: ``from`` as the envelope echoes it.
        last_text: ``to`` as the envelope echoes it.
        start: First moment covered; 00:00 UTC of ``first`` unless a time was
            given.
        end: First moment after the range; 00:00 UTC after ``last`` unless a
            time was given.
    """

    first: date
    last: date
    first_text: str
    last_text: str
    start: datetime
    end: datetime

    def contains(self, moment: datetime) -> bool:
        """Tell whether ``moment`` falls within the range."""
        return self.start <= moment < self.end


def add_months(day: date, months: int) -> date:
    """Return ``day`` moved by whole months, clamped to the end of short months."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def earliest_report_date(today: date) -> date:
    """Return the first day of the month six months before ``today``'s month."""
    return add_months(today.replace(day=1), -RETENTION_MONTHS)


def midnight(day: date) -> datetime:
    """Return 00:00 UTC of ``day``."""
    return datetime.combine(day, time(), tzinfo=UTC)


def report_range(
    query: Mapping[str, str], today: date, *, allow_time: bool = False
) -> DateRange:
    """Return the required ``from``..``to`` range of a report request.

    Args:
        query: The request's query parameters.
        today: The current UTC date.
        allow_time: Accept "yyyy-MM-dd HH:mm[:ss]" as well as "yyyy-mm-dd".

    Raises:
        ApiError: Code 300 when either date is missing or malformed, ``to`` is
            before ``from``, the range is longer than one month, or ``from`` is
            before the first day of the month six months back.
    """
    start, first_text = _required_moment(query, "from", allow_time)
    end_moment, last_text = _required_moment(query, "to", allow_time)
    first, last = start.date(), end_moment.date()
    check_order(first, last)
    if (last - first).days > MAX_RANGE_DAYS:
        message = (
            f"The date range {first} to {last} is longer than one month; "
            f"query at most {MAX_RANGE_DAYS + 1} days at a time."
        )
        raise ApiError(400, 300, message)
    check_retention(first, today)
    end = midnight(last + timedelta(days=1)) if _is_date(last_text) else end_moment
    return DateRange(first, last, first_text, last_text, start, end)


def check_order(first: date, last: date) -> None:
    """Raise code 300 when ``last`` is before ``first``."""
    if last < first:
        message = f"The to date {last} is before the from date {first}."
        raise ApiError(400, 300, message)


def check_retention(first: date, today: date) -> None:
    """Raise code 300 when ``first`` is before the six-month report window."""
    earliest = earliest_report_date(today)
    if first < earliest:
        message = (
            f"The from date {first} is outside the recent six months; "
            f"use {earliest} or later."
        )
        raise ApiError(400, 300, message)


def parse_date(field: str, text: str) -> date:
    """Parse a "yyyy-mm-dd" query value.

    Raises:
        ApiError: Code 300 "Validation Failed." naming the field.
    """
    try:
        return datetime.strptime(text, _DATE_FORMAT).date()
    except ValueError:
        message = f"must be a date in yyyy-mm-dd format; got {text!r}"
        raise validation_failed(field, message) from None


def date_range(first: date, last: date) -> DateRange:
    """Return the range of whole days ``first``..``last``, echoed as dates."""
    return DateRange(
        first,
        last,
        first.isoformat(),
        last.isoformat(),
        midnight(first),
        midnight(last + timedelta(days=1)),
    )


def _required_moment(
    query: Mapping[str, str], field: str, allow_time: bool
) -> tuple[datetime, str]:
    text = query.get(field, "")
    if not text:
        raise validation_failed(field, "is required; give a date as yyyy-mm-dd")
    if not allow_time or _is_date(text):
        return midnight(parse_date(field, text)), text
    for pattern in _DATETIME_FORMATS:
        try:
            return datetime.strptime(text, pattern).replace(tzinfo=UTC), text
        except ValueError:
            continue
    message = f"must be yyyy-MM-dd or yyyy-MM-dd HH:mm:ss; got {text!r}"
    raise validation_failed(field, message)


def _is_date(text: str) -> bool:
    return len(text) == len("yyyy-mm-dd")
