"""The sizes, seed and anchor date that define a generated account.

:data:`ACCOUNT_SIZES` names three presets: "small" is the default
``AccountSpec()``, and "large" and "xlarge" are accounts for benchmarks.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, NamedTuple

_COUNT_FIELDS = (
    "active_users", "inactive_users", "pending_users", "meetings_per_user",
    "no_host_users", "vanished_users", "history_days", "future_days",
    "instances_per_recurring_meeting", "participants_per_instance",
    "webinar_users", "webinars_per_user", "recordings_per_user", "groups",
    "activity_logs_per_user", "operation_logs_per_user",
)  # fmt: skip
# Instance numbers are packed into 16 bits of a UUID.
_MAX_INSTANCES = 65_535


@dataclass(frozen=True)
class AccountSpec:
    """Sizes, seed and anchor date of a generated account.

    Attributes:
        seed: Every generated value is a pure function of the seed, the sizes
            and the anchor.
        active_users: Active users; the first is the account owner.
        inactive_users: Deactivated users.
        pending_users: Invited users who have not activated; Zoom gives them no id.
        meetings_per_user: Scheduled meetings per active or inactive user.
        no_host_users: Active users that may not host meetings, so listing their
            meetings fails with code 3161. Taken from the end of the active users.
        vanished_users: Active users that ``GET /users`` lists but that return 404
            code 1001 when fetched, like users deleted during a sync. Taken from the
            active users just before the no-host users.
        anchor: The account's reference moment, an aware datetime. Generated
            history ends around it and the future begins. None means the
            emulator's clock when the account is built, truncated to 00:00
            UTC. Pass one to get the same data on every run.
        history_days: Days of generated activity before the anchor.
        future_days: Days of scheduled activity after the anchor, revealed as
            the emulator's clock advances.
        instances_per_recurring_meeting: Weekly instances of a recurring
            meeting.
        participants_per_instance: Average unique participants of a meeting
            instance, the host included; webinars have about three times as
            many. Each person who rejoins adds a row.
        webinar_users: Users with the webinar add-on: the first active users
            that may host, at most all of them.
        webinars_per_user: Scheduled webinars per user with the add-on.
        recordings_per_user: Cloud recordings per host, over the whole
            timeline.
        groups: Groups in the account; users belong to up to two.
        activity_logs_per_user: Sign-in and sign-out events per user over the
            whole timeline.
        operation_logs_per_user: Operation log entries per user over the whole
            timeline.
    """

    seed: int = 1
    active_users: int = 8
    inactive_users: int = 2
    pending_users: int = 2
    meetings_per_user: int = 3
    no_host_users: int = 0
    vanished_users: int = 0
    anchor: datetime | None = None
    history_days: int = 200
    future_days: int = 30
    instances_per_recurring_meeting: int = 8
    participants_per_instance: int = 10
    webinar_users: int = 2
    webinars_per_user: int = 2
    recordings_per_user: int = 2
    groups: int = 4
    activity_logs_per_user: int = 20
    operation_logs_per_user: int = 10

    @classmethod
    def sized(cls, size: str, **changes: Any) -> AccountSpec:
        """Return the preset of a named size, with some fields changed.

        Args:
            size: A key of :data:`ACCOUNT_SIZES`: "small", "large" or "xlarge".
            **changes: Fields to override, such as ``seed`` or ``anchor``.

        Raises:
            ValueError: ``size`` names no preset, or a change is invalid.
        """
        preset = ACCOUNT_SIZES.get(size)
        if preset is None:
            message = (
                f"account size {size!r} is unknown; use one of "
                f"{', '.join(ACCOUNT_SIZES)}"
            )
            raise ValueError(message)
        return dataclasses.replace(preset, **changes)

    def __post_init__(self) -> None:
        for name in _COUNT_FIELDS:
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                message = f"{name} must be an integer of at least 0; got {value!r}"
                raise ValueError(message)
        if self.active_users < 1:
            message = (
                "active_users must be at least 1 because the first active user is "
                f"the account owner; got {self.active_users}"
            )
            raise ValueError(message)
        special = self.no_host_users + self.vanished_users
        if special > self.active_users - 1:
            message = (
                f"no_host_users + vanished_users is {special} but only "
                f"{self.active_users - 1} active users besides the owner exist; "
                "raise active_users or lower them"
            )
            raise ValueError(message)
        self._check_timeline()

    def _check_timeline(self) -> None:
        count = self.instances_per_recurring_meeting
        if not 1 <= count <= _MAX_INSTANCES:
            message = (
                "instances_per_recurring_meeting must be from 1 to "
                f"{_MAX_INSTANCES}; got {count}"
            )
            raise ValueError(message)
        if self.participants_per_instance < 1:
            message = (
                "participants_per_instance must be at least 1 because the host "
                f"attends; got {self.participants_per_instance}"
            )
            raise ValueError(message)
        anchor = self.anchor
        if anchor is None:
            return
        if not isinstance(anchor, datetime) or anchor.utcoffset() is None:
            message = (
                "anchor must be an aware datetime, e.g. with tzinfo=UTC; "
                f"got {anchor!r}"
            )
            raise ValueError(message)
        object.__setattr__(self, "anchor", anchor.astimezone(UTC))


# A large account has 2,000 users of whom 1,980 host meetings. Its ended
# meeting instances and participant rows in the six months that Zoom's
# per-user meeting report covers dominate everything else. The other per-user
# counts are low, and groups and webinar hosts stay a small share of the users.
_LARGE = AccountSpec(
    active_users=1_880,
    inactive_users=100,
    pending_users=20,
    meetings_per_user=4,
    history_days=183,
    future_days=40,
    instances_per_recurring_meeting=7,
    participants_per_instance=10,
    webinar_users=20,
    webinars_per_user=2,
    recordings_per_user=2,
    groups=20,
    activity_logs_per_user=4,
    operation_logs_per_user=1,
)

ACCOUNT_SIZES: Mapping[str, AccountSpec] = MappingProxyType(
    {
        "small": AccountSpec(),
        "large": _LARGE,
        # Ten times the users, groups and webinar hosts of "large", with the
        # same counts per user.
        "xlarge": dataclasses.replace(
            _LARGE,
            active_users=18_800,
            inactive_users=1_000,
            pending_users=200,
            webinar_users=200,
            groups=200,
        ),
    }
)
"""Named account presets; see :meth:`AccountSpec.sized` and ``--size``."""


class SizeCounts(NamedTuple):
    """What an account of one size serves, counted through the Account model.

    The counts cover the recent six months that Zoom's per-user meeting report
    reaches back: from the first day of the sixth month before the clock up to
    the clock. They were taken with the anchor at 2026-03-15 and the clock 12
    hours later. A clock days past the anchor also counts the scheduled
    instances that have ended since. The "large" and "xlarge" histories (183
    days) fit within six months, so other anchors change their counts by
    under 1%. The "small" history (200 days) does not, and its counts vary by
    about 5%.

    Attributes:
        users: Users of every status.
        instances: Ended meeting instances, each occurrence of a recurring
            meeting counted once, rounded.
        participant_rows: Rows of the instances' participant reports, rounded.
    """

    users: int
    instances: int
    participant_rows: int


SIZE_COUNTS: Mapping[str, SizeCounts] = MappingProxyType(
    {
        "small": SizeCounts(users=12, instances=82, participant_rows=840),
        "large": SizeCounts(users=2_000, instances=20_200, participant_rows=210_000),
        "xlarge": SizeCounts(
            users=20_000, instances=201_000, participant_rows=2_100_000
        ),
    }
)


def describe_size(size: str) -> str:
    """Return one sentence with the counts of a preset, for help text."""
    counts = SIZE_COUNTS[size]
    return (
        f"{size}: {counts.users:,} users; about {counts.instances:,} meeting "
        "instances ended in the recent six months, with "
        f"{counts.participant_rows:,} participant rows."
    )
