"""A generated Zoom account: users, groups, meetings, webinars and their history.

Every value is a pure function of an :class:`AccountSpec` and the account's
anchor date. Records are built on request from the seed and their position, so
an account of thousands of users costs little memory. The stored indexes map
user ids and emails to users, groups to members, and, once a daily report or
dashboard needs it, hold a few numbers per meeting instance (see
:mod:`zoom_fake.usage`). Sign-in and operation logs are drawn one day at a time
into a bounded cache (see :mod:`zoom_fake.activity`).
Meeting ids and meeting UUIDs encode their position and decode back without a
table.

The account's history is laid out around the anchor. The emulator serves only
what has happened by its clock. An instance appears in reports once it has
ended, a recording once its meeting has ended, and a log entry once its time
has passed.
"""

from __future__ import annotations

import functools
import hashlib
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

from zoom_fake import records
from zoom_fake.activity import EventLog
from zoom_fake.dates import DateRange, date_range, midnight
from zoom_fake.ids import AffineCodec, Draw, opaque_id, subkey, timestamp
from zoom_fake.people import (
    CLIENT_VERSIONS,
    CLUSTER,
    COMPANY,
    DEPARTMENTS,
    FIRST_NAMES,
    JOB_TITLES,
    LAST_NAMES,
    LOCATIONS,
    ROLES,
    TIMEZONES,
    WEB_HOST,
    Person,
)
from zoom_fake.spec import AccountSpec
from zoom_fake.timeline import (
    MEETING,
    SPARSE_SHOWCASE,
    WEBINAR,
    Instance,
    MeetingPlan,
    Timeline,
)
from zoom_fake.usage import Usage

__all__ = ["REPORT_RETENTION", "Account", "AccountSpec", "MeetingPlan", "PastMeetings"]

_IM_GROUP_COUNT = 4
# Zoom lets reports and participant lists reach back one year (code 12702).
REPORT_RETENTION = timedelta(days=365)

# PMIs are 11-digit numbers above 2**32, as Zoom's are. The range size is
# 2**a * 5**b so that AffineCodec can invert its multiplier.
_PMI_LOW, _PMI_RANGE = 30_000_000_000, 40_000_000_000


class Account:
    """The users, groups, meetings, webinars and history of one generated account.

    Users are ordered active first (the owner at index 0), then inactive, then
    pending. Record dicts are new objects on every call, so callers may change
    them freely.

    Args:
        spec: Sizes, seed and anchor.
        account_id: The account id records carry.
        clock: Wall clock in seconds since the epoch. It sets the default
            anchor and decides which instances, recordings and log entries have
            happened.
    """

    def __init__(
        self,
        spec: AccountSpec,
        account_id: str,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.spec = spec
        self.account_id = account_id
        self._clock = clock
        self.anchor = spec.anchor or _day_start(clock())
        key = hashlib.blake2b(f"zoom-fake:{spec.seed}".encode(), digest_size=32)
        self.key = key.digest()
        self._pmis = AffineCodec(_PMI_LOW, _PMI_RANGE, subkey(self.key, b"pmi"))
        key_number = int.from_bytes(self.key[:4], "big")
        self.account_number = 10_000_000 + key_number % 90_000_000
        # Person records are immutable and cheap, but every meeting and past
        # meeting record needs its host's; the cache spares rebuilding them.
        self._person = functools.lru_cache(maxsize=4096)(self._make_person)
        self._index_lock = threading.Lock()
        self._user_index: dict[str, int] | None = None
        self._members: dict[str, list[int]] | None = None
        self.timeline = Timeline(self)
        self.usage = Usage(self)
        self.logs = EventLog(self)

    def now(self) -> datetime:
        """Return the emulator's current time as an aware UTC datetime."""
        return datetime.fromtimestamp(self._clock(), tz=UTC)

    # Users

    @property
    def user_count(self) -> int:
        """The number of users of every status."""
        spec = self.spec
        return spec.active_users + spec.inactive_users + spec.pending_users

    @property
    def owner(self) -> dict[str, Any]:
        """The account owner as ``GET /users/me`` returns it."""
        return self.user_detail(0)

    @property
    def users(self) -> list[dict[str, Any]]:
        """Every user in ``GET /users`` shape; pending users have no "id"."""
        return [self.user(index) for index in range(self.user_count)]

    def user_indexes(self, status: str) -> range:
        """Return the indexes of the users with ``status``, in listing order."""
        active = self.spec.active_users
        inactive_end = active + self.spec.inactive_users
        ranges = {
            "active": range(0, active),
            "inactive": range(active, inactive_end),
            "pending": range(inactive_end, self.user_count),
        }
        return ranges[status]

    def status_of(self, index: int) -> str:
        """Return "active", "inactive" or "pending" for the user at ``index``."""
        if not 0 <= index < self.user_count:
            raise IndexError(index)
        if index < self.spec.active_users:
            return "active"
        if index < self.spec.active_users + self.spec.inactive_users:
            return "inactive"
        return "pending"

    def is_vanished(self, index: int) -> bool:
        """Tell whether the user is listed but returns 404 code 1001 when fetched."""
        spec = self.spec
        end = spec.active_users - spec.no_host_users
        return end - spec.vanished_users <= index < end

    def can_host(self, index: int) -> bool:
        """Tell whether the user may host meetings (no code 3161)."""
        spec = self.spec
        return not spec.active_users - spec.no_host_users <= index < spec.active_users

    def hosts_meetings(self, index: int) -> bool:
        """Tell whether the user has meetings: active or inactive, present, a host."""
        return (
            self.status_of(index) != "pending"
            and not self.is_vanished(index)
            and self.can_host(index)
        )

    def has_webinar_plan(self, index: int) -> bool:
        """Tell whether the user has the webinar add-on."""
        spec = self.spec
        hosts = spec.active_users - spec.no_host_users - spec.vanished_users
        return 0 <= index < min(spec.webinar_users, hosts)

    @property
    def webinar_users(self) -> list[str]:
        """Ids of the users with the webinar add-on; the others get code 200."""
        return [
            self.person(index).id
            for index in range(self.spec.active_users)
            if self.has_webinar_plan(index)
        ]

    def find_user(self, id_or_email: str) -> int | None:
        """Return the index of the user with this id or email, or None."""
        index = self._users_by_key()
        return index.get(id_or_email, index.get(id_or_email.lower()))

    def cache_info(self) -> dict[str, Any]:
        """Return the statistics of the account's bounded caches, by name.

        Each value is a ``functools`` cache info tuple of hits, misses, maxsize
        and currsize, for people, plans, instances, recordings and log days.
        """
        return {
            "people": self._person.cache_info(),
            **self.timeline.cache_info(),
            "log_days": self.logs.cache_info(),
        }

    def build_indexes(self) -> None:
        """Build every index now rather than on the first request that needs it.

        The indexes map user ids and emails to users and groups to their
        members. For the daily report and the dashboard they also hold the
        timing of every meeting instance and the number of users created each
        day. Building them takes time in proportion to the account's size, so
        a server that calls this before it listens keeps that time out of its
        first responses.
        """
        self._users_by_key()
        self._group_members()
        self.usage.build_indexes()

    def person(self, index: int) -> Person:
        """Return the user at ``index`` with every generated attribute."""
        return self._person(index)

    def opaque_id(self, kind: bytes, index: int) -> str:
        """Return the 22-character id of item ``index`` of a kind of object."""
        return opaque_id(self.key, kind, index)

    def admin_emails(self) -> list[str]:
        """Return the emails of the owner and the admins among the first users."""
        first = range(min(self.user_count, 50))
        return [
            self.person(index).email
            for index in first
            if self.person(index).role_id in ("0", "1")
        ]

    def user(self, index: int) -> dict[str, Any]:
        """Return the user at ``index`` as ``GET /users`` lists it."""
        person = self._person(index)
        record: dict[str, Any] = {}
        if person.status != "pending":
            record["id"] = person.id
        record.update(
            first_name=person.first_name,
            last_name=person.last_name,
            display_name=person.display_name,
            email=person.email,
            type=person.type,
        )
        if person.status != "pending":
            record["pmi"] = person.pmi
        record.update(
            timezone=person.timezone,
            verified=0 if person.status == "pending" else 1,
            dept=person.dept,
            created_at=timestamp(person.user_created_at),
            user_created_at=timestamp(person.user_created_at),
        )
        if person.status != "pending":
            record["last_login_time"] = timestamp(person.last_login_time)
            record["last_client_version"] = person.client_version
        record.update(
            group_ids=list(person.group_ids),
            im_group_ids=list(person.im_group_ids),
            role_id=person.role_id,
            status=person.status,
        )
        return record

    def user_detail(self, index: int) -> dict[str, Any]:
        """Return the user at ``index`` as ``GET /users/{userId}`` returns it."""
        person = self._person(index)
        record = self.user(index)
        record.update(
            account_id=self.account_id,
            account_number=self.account_number,
            role_name=ROLES[person.role_id],
            use_pmi=False,
            language="en-US",
            job_title=person.job_title,
            location=person.location,
            company=COMPANY,
            cluster=CLUSTER,
            login_types=[100],
        )
        if person.status != "pending":
            record["personal_meeting_url"] = f"{WEB_HOST}/j/{person.pmi}"
            record["jid"] = f"{person.id.lower()}@xmpp.zoom.us"
        return record

    def _make_person(self, index: int) -> Person:
        if not 0 <= index < self.user_count:
            raise IndexError(index)
        draw = Draw("zoom-fake", self.spec.seed, "user", index)
        first_name = draw.pick(FIRST_NAMES)
        last_name = draw.pick(LAST_NAMES)
        if index == 0:
            role_id = "0"
        else:
            role_id = "1" if draw.chance(0.1) else "2"
        created = self.anchor - timedelta(
            days=draw.between(60, 1500), seconds=draw.below(86_400)
        )
        last_login = self.anchor - timedelta(
            days=draw.between(0, 30), seconds=draw.below(86_400)
        )
        return Person(
            index=index,
            status=self.status_of(index),
            id=self._user_id(index),
            first_name=first_name,
            last_name=last_name,
            email=f"{first_name}.{last_name}{index}@example.com".lower(),
            type=2 if index == 0 or draw.chance(0.7) else 1,
            role_id=role_id,
            pmi=self._pmis.encode(index),
            timezone=draw.pick(TIMEZONES),
            dept=draw.pick(DEPARTMENTS),
            job_title=draw.pick(JOB_TITLES),
            location=draw.pick(LOCATIONS),
            client_version=draw.pick(CLIENT_VERSIONS),
            user_created_at=created,
            last_login_time=max(last_login, created),
            group_ids=self._pick_groups(draw, index, b"group", self.spec.groups),
            im_group_ids=self._pick_groups(draw, index, b"im-group", _IM_GROUP_COUNT),
        )

    def _pick_groups(
        self, draw: Draw, index: int, kind: bytes, total: int
    ) -> tuple[str, ...]:
        """Return the ids of the groups a user belongs to; the owner is in one."""
        if self.status_of(index) == "pending":
            return ()
        count = 1 if index == 0 else draw.pick((0, 0, 1, 1, 2))
        first = draw.below(total)
        if total == 0:
            return ()
        positions = sorted({(first + step) % total for step in range(count)})
        return tuple(self.opaque_id(kind, position) for position in positions)

    def _user_id(self, index: int) -> str:
        return self.opaque_id(b"user-id", index)

    def _users_by_key(self) -> dict[str, int]:
        with self._index_lock:
            if self._user_index is None:
                self._user_index = self._build_user_index()
            return self._user_index

    def _build_user_index(self) -> dict[str, int]:
        index: dict[str, int] = {}
        for position in range(self.user_count):
            person = self._person(position)
            if person.status != "pending":
                index[person.id] = position
            index[person.email] = position
        return index

    # Groups

    @property
    def groups(self) -> list[dict[str, Any]]:
        """Every group as ``GET /groups`` lists it, with its member count."""
        members = self._group_members()
        return [
            {
                "id": group_id,
                "name": _group_name(position),
                "total_members": len(members[group_id]),
            }
            for position, group_id in enumerate(members)
        ]

    def group_members(self, group_id: str) -> list[dict[str, Any]] | None:
        """Return a group's members as ``GET /groups/{groupId}/members`` lists them.

        Members are the users whose ``group_ids`` name the group, in user
        order. Returns None when no group has this id.
        """
        indexes = self.group_member_indexes(group_id)
        if indexes is None:
            return None
        return [self.member_record(index) for index in indexes]

    def group_member_indexes(self, group_id: str) -> list[int] | None:
        """Return the user indexes of a group's members, or None for no group."""
        return self._group_members().get(group_id)

    def member_record(self, index: int) -> dict[str, Any]:
        """Return a user as ``GET /groups/{groupId}/members`` lists it."""
        person = self.person(index)
        return {
            "id": person.id,
            "email": person.email,
            "first_name": person.first_name,
            "last_name": person.last_name,
            "type": person.type,
        }

    def _group_members(self) -> dict[str, list[int]]:
        with self._index_lock:
            if self._members is None:
                members: dict[str, list[int]] = {
                    self.opaque_id(b"group", position): []
                    for position in range(self.spec.groups)
                }
                for index in range(self.user_count):
                    for group_id in self.person(index).group_ids:
                        members[group_id].append(index)
                self._members = members
            return self._members

    # Meetings

    def meetings_for(self, user_id: str) -> list[dict[str, Any]]:
        """Return the meetings ``GET /users/{userId}/meetings`` lists for a user.

        Args:
            user_id: A user's id or email.

        Returns:
            Meeting dicts in Zoom's shape; empty for pending, vanished and
            no-host users.

        Raises:
            KeyError: No user has this id or email.
        """
        index = self._index_of(user_id)
        return [self.meeting_record(plan) for plan in self.meeting_plans(index)]

    def meeting_plans(self, index: int) -> list[MeetingPlan]:
        """Return the plans of the user's scheduled meetings, in listing order."""
        return self.timeline.plans(MEETING, index)

    def meeting_record(self, plan: MeetingPlan) -> dict[str, Any]:
        """Return a meeting as ``GET /users/{userId}/meetings`` lists it."""
        return records.meeting_record(self, plan)

    def webinars_for(self, user_id: str) -> list[dict[str, Any]]:
        """Return the webinars ``GET /users/{userId}/webinars`` lists for a user.

        Raises:
            KeyError: No user has this id or email.
        """
        index = self._index_of(user_id)
        plans = self.timeline.plans(WEBINAR, index)
        return [records.webinar_record(self, plan) for plan in plans]

    # Past meetings

    @property
    def past_meetings(self) -> PastMeetings:
        """Ended meeting instances by UUID, built on access."""
        return PastMeetings(self)

    def instance_uuid(self, number: int, instance: int) -> str:
        """Return the UUID of instance ``instance`` of meeting ``number``."""
        return self.timeline.uuid(MEETING, number, instance)

    def past_meeting(self, uuid: str) -> dict[str, Any] | None:
        """Return the ended meeting instance with this UUID, or None."""
        found = self.timeline.find(MEETING, uuid)
        if found is None or not found.has_ended(self.now()):
            return None
        return records.past_meeting_record(self, found)

    def latest_past_meeting(self, meeting_id: int) -> dict[str, Any] | None:
        """Return the latest ended instance of the meeting with this numeric id."""
        plan = self.timeline.plan_by_id(MEETING, meeting_id)
        ended = [] if plan is None else self.timeline.ended(plan, self.now())
        return records.past_meeting_record(self, ended[-1]) if ended else None

    def iter_past_meeting_uuids(self) -> Iterator[str]:
        """Yield the UUID of every ended meeting instance, host by host."""
        now = self.now()
        timeline = self.timeline
        for plan in timeline.iter_plans(MEETING):
            for index in range(len(plan.starts)):
                if timeline.timing(plan, index).end <= now:
                    yield timeline.uuid(MEETING, plan.number, index)

    def past_meeting_count(self) -> int:
        """Return the number of ended meeting instances in the account."""
        return sum(1 for _ in self.iter_past_meeting_uuids())

    # Helpers for tests: what the report and recording routes serve

    def instances_for(self, user_id: str) -> list[dict[str, Any]]:
        """Return a host's ended meeting instances, oldest first.

        The records have the shape ``GET /report/users/{userId}/meetings``
        lists, with no date filter applied.

        Raises:
            KeyError: No user has this id or email.
        """
        index = self._index_of(user_id)
        now = self.now()
        ended = [
            instance
            for plan in self.meeting_plans(index)
            for instance in self.timeline.ended(plan, now)
        ]
        ended.sort(key=lambda instance: (instance.start, instance.uuid))
        return [records.report_meeting_record(self, item) for item in ended]

    def participants_for(self, uuid: str) -> list[dict[str, Any]]:
        """Return the participant rows of an ended meeting or webinar instance.

        The rows have the shape of ``GET /report/meetings/{meetingId}/participants``
        without ``registrant_id``, ordered by join time. An instance the host
        attended alone has none.

        Raises:
            KeyError: No ended instance has this UUID.
        """
        instance = self.ended_instance(uuid)
        if instance is None:
            raise KeyError(uuid)
        rows = self.timeline.participants(instance)
        for row in rows:
            del row["registrant_id"]
        return rows

    def ended_instance(self, uuid: str) -> Instance | None:
        """Return the ended meeting or webinar instance with this UUID, or None."""
        for kind in (MEETING, WEBINAR):
            found = self.timeline.find(kind, uuid)
            if found is not None:
                return found if found.has_ended(self.now()) else None
        return None

    def recordings_for(self, user_id: str) -> list[dict[str, Any]]:
        """Return a host's cloud recordings of ended meetings, newest first.

        The records have the shape ``GET /users/{userId}/recordings`` lists,
        with no date filter applied.

        Raises:
            KeyError: No user has this id or email.
        """
        index = self._index_of(user_id)
        return [
            records.recording_record(self, instance)
            for instance in self.recorded_instances(index, None)
        ]

    def recorded_instances(
        self, index: int, window: DateRange | None
    ) -> list[Instance]:
        """Return the user's recorded ended instances, newest first.

        Args:
            index: The host's index.
            window: Keep only instances that ended within it; None keeps all.
        """
        now = self.now()
        found = [
            instance
            for plan in self.meeting_plans(index)
            for instance in self.timeline.ended(plan, now)
            if instance.recorded and (window is None or window.contains(instance.end))
        ]
        found.sort(key=lambda instance: (instance.start, instance.uuid), reverse=True)
        return found

    def first_only_attended_series(self) -> dict[str, Any]:
        """Return the owner's weekly meeting whose first instance alone had guests.

        Its four instances before the anchor have all ended. The first has
        participants, among them an account user who rejoins and a guest. In
        the others the host was alone, so their participant reports are empty.

        Returns:
            ``{"id": meeting id, "host_id": owner id, "uuids": [...]}`` with the
            UUIDs of the ended instances, oldest first.

        Raises:
            LookupError: ``meetings_per_user`` is below 2, so the series does
                not exist.
        """
        plan = self.timeline.plan(MEETING, SPARSE_SHOWCASE)
        if plan is None or not self.timeline.is_sparse_showcase(MEETING, plan.number):
            message = (
                "The account has no such series; set meetings_per_user to 2 or more"
            )
            raise LookupError(message)
        ended = self.timeline.ended(plan, self.now())
        return {
            "id": plan.id,
            "host_id": self.person(plan.user).id,
            "uuids": [instance.uuid for instance in ended],
        }

    def past_instances(
        self, series_id: int, kind: str = MEETING
    ) -> list[dict[str, Any]]:
        """Return the ended instances of a meeting or webinar series, oldest first.

        Args:
            series_id: The numeric meeting or webinar id.
            kind: "meeting" or "webinar".

        Returns:
            ``{"uuid", "start_time"}`` dicts, as ``GET /past_meetings/{id}/instances``
            lists them without its 15-month limit.

        Raises:
            KeyError: No series of this kind has this id.
        """
        plan = self.timeline.plan_by_id(kind, series_id)
        if plan is None:
            raise KeyError(series_id)
        ended = self.timeline.ended(plan, self.now())
        return [records.instance_summary(instance) for instance in ended]

    def next_ending_meeting(self) -> dict[str, Any] | None:
        """Return the meeting instance that ends next after the current time.

        Advancing the clock to its end reveals it in the reports. Returns None
        when no instance ends later.

        Returns:
            ``{"uuid", "host_id", "end_time"}``, the time as ISO 8601 UTC.
        """
        now = self.now()
        pending = [
            instance
            for plan in self.timeline.iter_plans(MEETING)
            for instance in self.timeline.instances(plan)
            if not instance.has_ended(now)
        ]
        if not pending:
            return None
        instance = min(pending, key=lambda item: (item.end, item.uuid))
        return {
            "uuid": instance.uuid,
            "host_id": self.person(instance.plan.user).id,
            "end_time": timestamp(instance.end),
        }

    def activity_logs(self, first: date, last: date) -> list[dict[str, Any]]:
        """Return the sign-in and sign-out events of ``first``..``last``.

        Events after the current time are left out; the newest come first, and
        events of one second keep a fixed order.
        """
        listing = self.logs.sign_ins(date_range(first, last))
        return listing.records(0, listing.total)

    def operation_logs(
        self, first: date, last: date, category: str = "all"
    ) -> list[dict[str, Any]]:
        """Return the operation logs of ``first``..``last``, newest first.

        Args:
            first: First UTC date.
            last: Last UTC date.
            category: A ``category_type``, or "all".
        """
        listing = self.logs.operations(date_range(first, last), category)
        return listing.records(0, listing.total)

    def daily_report(
        self, year: int, month: int, group_id: str | None = None
    ) -> dict[str, Any]:
        """Return ``GET /report/daily`` for a month, days up to today only.

        The month is not checked against the six-month window the route
        enforces. See :meth:`Usage.daily_report`.
        """
        return self.usage.daily_report(year, month, group_id)

    def report_instances(
        self, index: int, window: DateRange, kind: str = "past"
    ) -> list[Instance]:
        """Return a host's ended instances that started within ``window``.

        Args:
            index: The host's index.
            window: Dates the start must fall on.
            kind: "past" for all, "pastOne" for those the host attended alone.
        """
        now = self.now()
        found = [
            instance
            for plan in self.meeting_plans(index)
            for instance in self.timeline.ended(plan, now)
            if window.contains(instance.start)
            and (kind != "pastOne" or instance.people == 1)
        ]
        found.sort(key=lambda instance: (instance.start, instance.uuid))
        return found

    def _index_of(self, user_id: str) -> int:
        index = self.find_user(user_id)
        if index is None:
            raise KeyError(user_id)
        return index


class PastMeetings(Mapping[str, dict[str, Any]]):
    """A read-only mapping of ended meeting UUID to record, built on access."""

    def __init__(self, account: Account) -> None:
        self._account = account

    def __getitem__(self, uuid: str) -> dict[str, Any]:
        record = self._account.past_meeting(uuid)
        if record is None:
            raise KeyError(uuid)
        return record

    def __iter__(self) -> Iterator[str]:
        return self._account.iter_past_meeting_uuids()

    def __len__(self) -> int:
        return self._account.past_meeting_count()


def _group_name(position: int) -> str:
    name = DEPARTMENTS[position % len(DEPARTMENTS)]
    cycle = position // len(DEPARTMENTS)
    return name if cycle == 0 else f"{name} {cycle + 1}"


def _day_start(seconds: float) -> datetime:
    moment = datetime.fromtimestamp(seconds, tz=UTC)
    return midnight(moment.date())
