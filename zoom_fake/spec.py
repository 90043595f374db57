"""The sizes, seed and anchor date that define a generated account."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

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
