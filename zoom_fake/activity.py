"""Sign-in and sign-out events and operation logs, generated one day at a time.

Each day's events are drawn from the seed and the date alone. Events come in
bursts that share one second, as when a client signs out and another signs in,
or an admin changes several users at once. :class:`EventLog` keeps the days it
drew in a bounded cache and builds only the records of the requested page,
so serving one page of a month costs little more than the page.
"""

from __future__ import annotations

import functools
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, NamedTuple

from zoom_fake.dates import DateRange, midnight
from zoom_fake.ids import Draw, timestamp

if TYPE_CHECKING:
    from zoom_fake.account import Account

# Events per burst; most bursts share their second with another event.
_BURST_SIZES = (1, 2, 2, 3, 4)
_CLIENTS = (
    ("Browser", "6.3.11"), ("Windows", "6.2.7.55318"), ("Mac", "6.3.11.60501"),
    ("iOS", "6.3.5.58114"), ("Android", "6.1.1.44021"),
)  # fmt: skip
# (category_type, action, operation_detail template) as the report shows them.
_OPERATIONS = (
    ("user", "add", "add user - {email}"),
    ("user", "update", "update user - {email}"),
    ("user", "delete", "delete user - {email}"),
    ("user_settings", "update", "update user settings - {email}"),
    ("account", "update", "update account settings - Recording"),
    ("recording", "delete", "delete recording - {email}"),
    ("role", "update", "update role members - Admin"),
    ("webinar", "update", "update webinar settings - {email}"),
)
OPERATION_CATEGORIES = (
    "all", "user", "user_settings", "account", "billing", "im", "recording",
    "phone_contacts", "webinar", "sub_account", "role", "zoom_rooms",
)  # fmt: skip
SIGN_INS = "sign_ins"
OPERATIONS = "operations"
# Cached days of events: a 31-day report of each kind fits. The "xlarge" preset
# draws about 330 sign-in events a day, so a full cache contains about
# 20,000 events of about 110 bytes each.
DAY_CACHE_SIZE = 64


class _SignIn(NamedTuple):
    """The draws of one sign-in or sign-out event."""

    time: int  # seconds since the epoch
    user: int
    client: int  # position in _CLIENTS
    signs_in: bool
    address: int  # last octet of the IPv4 address


class _Operation(NamedTuple):
    """The draws of one operation log entry."""

    time: int  # seconds since the epoch
    operation: int  # position in _OPERATIONS
    subject: int  # index of the user the entry names
    operator: int  # position in the operator emails


_Event = _SignIn | _Operation


@dataclass(frozen=True)
class _Day:
    """One UTC day's events of one kind, newest first, before the clock hides any.

    Attributes:
        events: The draws of each event; records are built from them per page.
        keys: Each event's time, negated so that the tuple ascends and
            :mod:`bisect` can search it.
    """

    events: tuple[_Event, ...]
    keys: tuple[int, ...]


@dataclass(frozen=True)
class LogListing:
    """The events a log report lists, newest first, as slices of cached days.

    Attributes:
        parts: ``(events, low, high)`` per day, newest day first. The day's
            events from ``low`` up to ``high`` are listed.
        total: Number of events listed.
        render: Builds the record of one event.
    """

    parts: tuple[tuple[tuple[_Event, ...], int, int], ...]
    total: int
    render: Callable[[Any], dict[str, Any]]

    def records(self, start: int, stop: int) -> list[dict[str, Any]]:
        """Return the records of the listed events from ``start`` up to ``stop``."""
        page: list[dict[str, Any]] = []
        offset = 0
        for events, low, high in self.parts:
            if offset >= stop:
                break
            first = low + max(start - offset, 0)
            last = low + min(stop - offset, high - low)
            page.extend(self.render(event) for event in events[first:last])
            offset += high - low
        return page


class EventLog:
    """The sign-in events and operation logs of one account.

    Args:
        account: The account whose users sign in and are changed.
    """

    def __init__(self, account: Account) -> None:
        self._account = account
        self._day = functools.lru_cache(maxsize=DAY_CACHE_SIZE)(self._draw_day)

    def cache_info(self) -> Any:
        """Return the ``functools`` cache statistics of the cached days."""
        return self._day.cache_info()

    def sign_ins(self, window: DateRange) -> LogListing:
        """List the sign-in and sign-out events of ``window`` up to the current time."""
        return self._listing(SIGN_INS, window, "all")

    def operations(self, window: DateRange, category: str = "all") -> LogListing:
        """List the operation logs of ``window`` up to the current time.

        Args:
            window: Dates and times the events must fall within.
            category: A ``category_type``, or "all".
        """
        return self._listing(OPERATIONS, window, category)

    @functools.cached_property
    def _operators(self) -> list[str]:
        return self._account.admin_emails()

    def _listing(self, kind: str, window: DateRange, category: str) -> LogListing:
        # An event is listed when start <= time < end and time <= now. The keys
        # are negated times, so each bound flips.
        now = self._account.now().timestamp()
        start, end = window.start.timestamp(), window.end.timestamp()
        parts = []
        total = 0
        day = window.last
        while day >= window.first:
            cached = self._day(kind, day, category)
            low = max(bisect_right(cached.keys, -end), bisect_left(cached.keys, -now))
            high = bisect_right(cached.keys, -start)
            if low < high:
                parts.append((cached.events, low, high))
                total += high - low
            day -= timedelta(days=1)
        render = self._sign_in_record if kind == SIGN_INS else self._operation_record
        return LogListing(tuple(parts), total, render)

    def _draw_day(self, kind: str, day: date, category: str) -> _Day:
        if category != "all":
            everything = self._day(kind, day, "all")
            pairs = [
                (event, key)
                for event, key in zip(everything.events, everything.keys, strict=True)
                if _OPERATIONS[event.operation][0] == category
            ]
            return _Day(tuple(event for event, _ in pairs), tuple(k for _, k in pairs))
        events: list[_Event]
        if kind == SIGN_INS:
            events = list(_draw_sign_ins(self._account, day))
        else:
            operators = len(self._operators)
            events = list(_draw_operations(self._account, day, operators))
        # A stable sort, so events of one second keep the order they were drawn in.
        events.sort(key=lambda event: event.time, reverse=True)
        return _Day(tuple(events), tuple(-event.time for event in events))

    def _sign_in_record(self, event: _SignIn) -> dict[str, Any]:
        client, version = _CLIENTS[event.client]
        return {
            "email": self._account.person(event.user).email,
            "time": _format_time(event.time),
            "type": "Sign in" if event.signs_in else "Sign out",
            "ip_address": f"198.51.100.{event.address}",
            "client_type": client,
            "version": version,
        }

    def _operation_record(self, event: _Operation) -> dict[str, Any]:
        category, action, detail = _OPERATIONS[event.operation]
        subject = self._account.person(event.subject).email
        return {
            "time": _format_time(event.time),
            "operator": self._operators[event.operator],
            "category_type": category,
            "action": action,
            "operation_detail": detail.format(email=subject),
        }


def _draw_sign_ins(account: Account, day: date) -> Iterator[_SignIn]:
    """Yield the sign-in and sign-out events of one UTC day, in drawn order."""
    spec = account.spec
    draw = Draw("zoom-fake", spec.seed, "activity", day.isoformat())
    pool = spec.active_users + spec.inactive_users
    for moment in _burst_times(account, draw, day, spec.activity_logs_per_user):
        user = draw.below(pool)
        client = draw.below(len(_CLIENTS))
        signs_in = draw.chance(0.55)
        yield _SignIn(moment, user, client, signs_in, draw.between(1, 254))


def _draw_operations(
    account: Account, day: date, operators: int
) -> Iterator[_Operation]:
    """Yield the operation log entries of one UTC day, in drawn order.

    Args:
        account: The account.
        day: The UTC date.
        operators: Number of admins who may be an entry's operator.
    """
    spec = account.spec
    draw = Draw("zoom-fake", spec.seed, "operations", day.isoformat())
    pool = spec.active_users + spec.inactive_users
    for moment in _burst_times(account, draw, day, spec.operation_logs_per_user):
        operation = draw.below(len(_OPERATIONS))
        subject = draw.below(pool)
        yield _Operation(moment, operation, subject, draw.below(operators))


def _burst_times(account: Account, draw: Draw, day: date, per_user: int) -> list[int]:
    """Return the event times of one day, in seconds since the epoch.

    Events come in bursts that share one second.

    ``per_user`` events per user are spread over the whole timeline, so the
    expected count of one day scales with the account.
    """
    spec = account.spec
    first = (account.anchor - timedelta(days=spec.history_days)).date()
    last = (account.anchor + timedelta(days=spec.future_days)).date()
    if not first <= day <= last:
        return []
    users = spec.active_users + spec.inactive_users
    expected = users * per_user / (spec.history_days + spec.future_days + 1)
    bursts = expected / (sum(_BURST_SIZES) / len(_BURST_SIZES))
    count = int(bursts) + (1 if draw.chance(bursts - int(bursts)) else 0)
    times: list[int] = []
    day_start = int(midnight(day).timestamp())
    for _ in range(count):
        # Office hours in UTC, 06:00 to 22:00.
        moment = day_start + draw.between(6 * 3600, 22 * 3600)
        times.extend([moment] * draw.pick(_BURST_SIZES))
    return times


def _format_time(seconds: int) -> str:
    return timestamp(datetime.fromtimestamp(seconds, UTC))
