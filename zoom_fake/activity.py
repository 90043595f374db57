"""Sign-in and sign-out events and operation logs, generated one day at a time.

Each day's events are drawn from the seed and the date alone, so a month costs
one pass over its days. Events come in bursts that share one second, as when
a client signs out and another signs in, or an admin changes several users at
once.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from zoom_fake.dates import midnight
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


def sign_in_events(account: Account, day: date, now: datetime) -> list[dict[str, Any]]:
    """Return the sign-in and sign-out events of one UTC day up to ``now``.

    Events are ordered newest first.
    """
    spec = account.spec
    draw = Draw("zoom-fake", spec.seed, "activity", day.isoformat())
    pool = spec.active_users + spec.inactive_users
    events = []
    for moment in _burst_times(account, draw, day, spec.activity_logs_per_user):
        person = account.person(draw.below(pool))
        client, version = draw.pick(_CLIENTS)
        events.append(
            {
                "email": person.email,
                "time": moment,
                "type": "Sign in" if draw.chance(0.55) else "Sign out",
                "ip_address": f"198.51.100.{draw.between(1, 254)}",
                "client_type": client,
                "version": version,
            }
        )
    return _newest_first(events, now)


def operation_events(
    account: Account, day: date, now: datetime
) -> list[dict[str, Any]]:
    """Return the operation logs of one UTC day up to ``now``, newest first."""
    spec = account.spec
    draw = Draw("zoom-fake", spec.seed, "operations", day.isoformat())
    pool = spec.active_users + spec.inactive_users
    operators = account.admin_emails()
    events = []
    for moment in _burst_times(account, draw, day, spec.operation_logs_per_user):
        category, action, detail = draw.pick(_OPERATIONS)
        subject = account.person(draw.below(pool)).email
        events.append(
            {
                "time": moment,
                "operator": draw.pick(operators),
                "category_type": category,
                "action": action,
                "operation_detail": detail.format(email=subject),
            }
        )
    return _newest_first(events, now)


def _burst_times(
    account: Account, draw: Draw, day: date, per_user: int
) -> list[datetime]:
    """Return the event times of one day: bursts of events sharing a second.

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
    times: list[datetime] = []
    for _ in range(count):
        # Office hours in UTC, 06:00 to 22:00.
        second = draw.between(6 * 3600, 22 * 3600)
        moment = midnight(day) + timedelta(seconds=second)
        times.extend([moment] * draw.pick(_BURST_SIZES))
    return times


def _newest_first(events: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    """Drop events after ``now``, sort newest first and format the times.

    Events of the same second keep the order they were drawn in.
    """
    happened = [event for event in events if event["time"] <= now]
    ordered = sorted(happened, key=lambda event: event["time"], reverse=True)
    for event in ordered:
        event["time"] = timestamp(event["time"])
    return ordered
