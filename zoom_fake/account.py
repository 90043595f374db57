"""A generated Zoom account: users, scheduled meetings and past meeting instances.

Every value is a pure function of an :class:`AccountSpec`. Records are built on
request from the seed and the user's index, so an account of thousands of users
costs little memory: the only stored index maps user ids and emails to indexes.
Meeting ids and meeting UUIDs encode their owner's position and decode back
without a table.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import random
import struct
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

# The account's present moment. Past meeting instances end before it and upcoming
# meetings start after it. It is fixed so that the same seed always yields the
# same records.
# NOTE: report and dashboard routes that accept only recent dates will need this
# to follow the emulator's clock instead.
REFERENCE_TIME = datetime(2026, 1, 5, tzinfo=UTC)

_T = TypeVar("_T")

_FIRST_NAMES = (
    "Ava", "Ben", "Chloe", "Diego", "Elena", "Farah", "Gabriel", "Hana", "Ivan",
    "Jill", "Kenji", "Laura", "Mateo", "Nadia", "Omar", "Priya", "Quinn", "Rosa",
    "Samir", "Tess", "Umar", "Vera", "Wei", "Ximena", "Yusuf", "Zoe",
)  # fmt: skip
_LAST_NAMES = (
    "Adams", "Brown", "Chen", "Diaz", "Evans", "Fischer", "Garcia", "Hughes",
    "Ito", "Jones", "Kowalski", "Lopez", "Martin", "Nguyen", "Okafor", "Patel",
    "Quinto", "Rossi", "Silva", "Tanaka", "Usman", "Varga", "Walsh", "Yilmaz",
)  # fmt: skip
_DEPARTMENTS = (
    "Engineering", "Sales", "Marketing", "Support", "Finance", "Operations",
    "Legal", "People",
)  # fmt: skip
_JOB_TITLES = ("Engineer", "Manager", "Analyst", "Specialist", "Director", "Lead")
_LOCATIONS = ("New York", "Chicago", "Denver", "San Francisco", "London", "Berlin")
_TIMEZONES = (
    "America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles",
    "Europe/London", "Europe/Berlin", "Asia/Tokyo", "Asia/Kolkata",
    "Australia/Sydney", "Asia/Singapore",
)  # fmt: skip
_CLIENT_VERSIONS = (
    "6.3.11.60501(mac)", "6.2.7.55318(win)", "6.1.1.44021(android)",
    "6.3.5.58114(ios)", "5.17.11.34827(win)",
)  # fmt: skip
_TOPICS = (
    "Weekly sync", "Sprint planning", "1:1", "Customer call", "All hands",
    "Design review", "Quarterly business review", "Interview", "Stand-up",
    "Training",
)  # fmt: skip
_AGENDAS = (
    "", "", "Status updates and blockers.", "Review the open action items.",
    "Walk through the proposal and agree on next steps.",
)  # fmt: skip

_ROLES = {"0": "Owner", "1": "Admin", "2": "Member"}
_GROUP_COUNT = 4
_COMPANY = "Example Corp"
_CLUSTER = "us06"
_JOIN_HOST = "https://us06web.zoom.us"

# Meeting ids and PMIs are 11-digit numbers above 2**32, as Zoom's are. Each range
# size is 2**a * 5**b so that _AffineCodec can invert its multiplier.
_MEETING_ID_LOW, _MEETING_ID_RANGE = 80_000_000_000, 20_000_000_000
_PMI_LOW, _PMI_RANGE = 30_000_000_000, 40_000_000_000

# The owner's first meeting is a recurring series whose first three past instances
# have the UUID forms Zoom's double-encoding rule distinguishes.
_SHOWCASE_WEEKS = 4
_UUID_FORMS = ("leading_slash", "double_slash", "plain")


@dataclass(frozen=True)
class AccountSpec:
    """Sizes and seed of a generated account.

    Attributes:
        seed: Every generated value is a pure function of the seed and the sizes.
        active_users: Active users; the first is the account owner.
        inactive_users: Deactivated users.
        pending_users: Invited users who have not activated; Zoom gives them no id.
        meetings_per_user: Scheduled meetings per active or inactive user.
        no_host_users: Active users that may not host meetings, so listing their
            meetings fails with code 3161. Taken from the end of the active users.
        vanished_users: Active users that ``GET /users`` lists but that return 404
            code 1001 when fetched, like users deleted during a sync. Taken from the
            active users just before the no-host users.
    """

    seed: int = 1
    active_users: int = 8
    inactive_users: int = 2
    pending_users: int = 2
    meetings_per_user: int = 3
    no_host_users: int = 0
    vanished_users: int = 0

    def __post_init__(self) -> None:
        for name in (
            "active_users", "inactive_users", "pending_users", "meetings_per_user",
            "no_host_users", "vanished_users",
        ):  # fmt: skip
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


class _Draw:
    """Deterministic draws from a key, stable across Python versions.

    Only ``random.Random.random()`` is used: Python keeps its sequence for a
    given string seed stable between versions, unlike ``choice`` or ``randint``.
    """

    def __init__(self, *key: object) -> None:
        self._random = random.Random(":".join(str(part) for part in key))

    def below(self, limit: int) -> int:
        return int(self._random.random() * limit)

    def between(self, low: int, high: int) -> int:
        return low + self.below(high - low + 1)

    def pick(self, items: Sequence[_T]) -> _T:
        return items[self.below(len(items))]

    def chance(self, probability: float) -> bool:
        return self._random.random() < probability


class _AffineCodec:
    """A bijection from ``0..size-1`` onto ``low..low+size-1`` that looks random.

    ``size`` must be ``2**a * 5**b``: every odd multiplier not divisible by 5 is
    then invertible modulo ``size``.
    """

    def __init__(self, low: int, size: int, key: bytes) -> None:
        multiplier = int.from_bytes(key[:8], "big") % size | 1
        while multiplier % 5 == 0:
            multiplier += 2
        self._low = low
        self._size = size
        self._multiplier = multiplier
        self._inverse = pow(multiplier, -1, size)
        self._shift = int.from_bytes(key[8:16], "big") % size

    def encode(self, number: int) -> int:
        return self._low + (self._multiplier * number + self._shift) % self._size

    def decode(self, value: int) -> int | None:
        if not self._low <= value < self._low + self._size:
            return None
        return (value - self._low - self._shift) * self._inverse % self._size


class _UuidCodec:
    """Encodes (meeting number, instance) as a 24-character base64 meeting UUID.

    The 16 bytes are an 8-byte keyed tag of the location followed by the location
    masked with a keystream derived from the tag, so a UUID decodes back without
    a table and a made-up UUID fails the tag check.
    """

    def __init__(self, key: bytes) -> None:
        self._key = key

    def encode(self, number: int, instance: int) -> str:
        location = struct.pack(">IHH", number, instance, 0)
        tag = self._tag(location)
        masked = bytes(a ^ b for a, b in zip(location, self._mask(tag), strict=True))
        return base64.b64encode(tag + masked).decode("ascii")

    def decode(self, uuid: str) -> tuple[int, int] | None:
        raw = _uuid_bytes(uuid)
        if raw is None:
            return None
        tag, masked = raw[:8], raw[8:]
        location = bytes(a ^ b for a, b in zip(masked, self._mask(tag), strict=True))
        if not hmac.compare_digest(tag, self._tag(location)):
            return None
        number, instance, _ = struct.unpack(">IHH", location)
        return number, instance

    def _tag(self, location: bytes) -> bytes:
        return hashlib.blake2b(
            location, key=self._key, person=b"uuid-tag", digest_size=8
        ).digest()

    def _mask(self, tag: bytes) -> bytes:
        return hashlib.blake2b(
            tag, key=self._key, person=b"uuid-mask", digest_size=8
        ).digest()


def _uuid_bytes(uuid: str) -> bytes | None:
    if len(uuid) != 24 or not uuid.endswith("=="):
        return None
    try:
        raw = base64.b64decode(uuid, validate=True)
    except ValueError:
        return None
    return raw if len(raw) == 16 else None


def _char_top_bit(position: int) -> int:
    """Return the highest bit of base64 character ``position`` of a 128-bit value."""
    return 1 << (127 - 6 * position)


def _char_mask(position: int) -> int:
    """Return the six bits of base64 character ``position`` of a 128-bit value."""
    return 0b111111 << (122 - 6 * position)


def _shape_uuid(uuid: str, form: str) -> str:
    """Force a UUID into one of the forms of Zoom's double-encoding rule.

    Args:
        uuid: A UUID from _UuidCodec.
        form: "leading_slash" (starts with "/"), "double_slash" (contains "//"
            but does not start with "/") or "plain" (neither).

    Returns:
        The reshaped UUID, still 16 bytes of base64.
    """
    value = int.from_bytes(base64.b64decode(uuid), "big")
    if form == "leading_slash":
        value |= _char_mask(0)
    elif form == "double_slash":
        value |= _char_mask(10) | _char_mask(11)
    # Clearing a character's top bit turns a "/" (63) into another character and
    # never creates a new "/", so this loop ends after at most 22 passes.
    while True:
        text = base64.b64encode(value.to_bytes(16, "big")).decode("ascii")
        if form != "leading_slash" and text.startswith("/"):
            value &= ~_char_top_bit(0)
        elif form == "plain" and "//" in text:
            value &= ~_char_top_bit(text.index("//") + 1)
        else:
            return text


def _pick_meeting_type(draw: _Draw) -> int:
    """Return 2 (one-time), 8 (recurring, fixed time) or 3 (no fixed time)."""
    roll = draw.below(10)
    if roll < 6:
        return 2
    if roll < 9:
        return 8
    return 3


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class _Person:
    index: int
    status: str
    id: str
    first_name: str
    last_name: str
    email: str
    type: int
    role_id: str
    pmi: int
    timezone: str
    dept: str
    job_title: str
    location: str
    client_version: str
    user_created_at: datetime
    last_login_time: datetime
    group_ids: tuple[str, ...]
    im_group_ids: tuple[str, ...]


@dataclass(frozen=True)
class MeetingPlan:
    """One scheduled meeting and the start times of its past instances.

    ``start_time`` is the next occurrence, or None for a recurring meeting with no
    fixed time (type 3). ``instance_starts`` lists past instances, oldest first.
    """

    user: int
    number: int
    id: int
    type: int
    topic: str
    agenda: str
    duration: int
    created_at: datetime
    start_time: datetime | None
    instance_starts: tuple[datetime, ...]


class Account:
    """The users, meetings and past meetings of one generated Zoom account.

    Users are ordered active first (the owner at index 0), then inactive, then
    pending. Record dicts are new objects on every call, so callers may change
    them freely.
    """

    def __init__(self, spec: AccountSpec, account_id: str) -> None:
        self.spec = spec
        self.account_id = account_id
        key = hashlib.blake2b(f"zoom-fake:{spec.seed}".encode(), digest_size=32)
        self._key = key.digest()
        self._meeting_ids = _AffineCodec(
            _MEETING_ID_LOW, _MEETING_ID_RANGE, self._subkey(b"meeting-id")
        )
        self._pmis = _AffineCodec(_PMI_LOW, _PMI_RANGE, self._subkey(b"pmi"))
        self._uuids = _UuidCodec(self._subkey(b"uuid"))
        key_number = int.from_bytes(self._key[:4], "big")
        self.account_number = 10_000_000 + key_number % 90_000_000
        # Person records are immutable and cheap, but every meeting and past
        # meeting record needs its host's; the cache spares rebuilding them.
        self._person = functools.lru_cache(maxsize=4096)(self._make_person)
        self._index_lock = threading.Lock()
        self._user_index: dict[str, int] | None = None
        self._past_meeting_count: int | None = None

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
        for status in ("active", "inactive", "pending"):
            if index in self.user_indexes(status):
                return status
        raise IndexError(index)

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

    def find_user(self, id_or_email: str) -> int | None:
        """Return the index of the user with this id or email, or None."""
        with self._index_lock:
            if self._user_index is None:
                self._user_index = self._build_user_index()
            index = self._user_index
        return index.get(id_or_email, index.get(id_or_email.lower()))

    def user(self, index: int) -> dict[str, Any]:
        """Return the user at ``index`` as ``GET /users`` lists it."""
        person = self._person(index)
        record: dict[str, Any] = {}
        if person.status != "pending":
            record["id"] = person.id
        record.update(
            first_name=person.first_name,
            last_name=person.last_name,
            display_name=f"{person.first_name} {person.last_name}",
            email=person.email,
            type=person.type,
        )
        if person.status != "pending":
            record["pmi"] = person.pmi
        record.update(
            timezone=person.timezone,
            verified=0 if person.status == "pending" else 1,
            dept=person.dept,
            created_at=_timestamp(person.user_created_at),
            user_created_at=_timestamp(person.user_created_at),
        )
        if person.status != "pending":
            record["last_login_time"] = _timestamp(person.last_login_time)
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
            role_name=_ROLES[person.role_id],
            use_pmi=False,
            language="en-US",
            job_title=person.job_title,
            location=person.location,
            company=_COMPANY,
            cluster=_CLUSTER,
            login_types=[100],
        )
        if person.status != "pending":
            record["personal_meeting_url"] = f"{_JOIN_HOST}/j/{person.pmi}"
            record["jid"] = f"{person.id.lower()}@xmpp.zoom.us"
        return record

    def _make_person(self, index: int) -> _Person:
        if not 0 <= index < self.user_count:
            raise IndexError(index)
        draw = _Draw("zoom-fake", self.spec.seed, "user", index)
        first_name = draw.pick(_FIRST_NAMES)
        last_name = draw.pick(_LAST_NAMES)
        if index == 0:
            role_id = "0"
        else:
            role_id = "1" if draw.chance(0.1) else "2"
        created = REFERENCE_TIME - timedelta(
            days=draw.between(60, 1500), seconds=draw.below(86_400)
        )
        last_login = REFERENCE_TIME - timedelta(
            days=draw.between(0, 30), seconds=draw.below(86_400)
        )
        return _Person(
            index=index,
            status=self.status_of(index),
            id=self._user_id(index),
            first_name=first_name,
            last_name=last_name,
            email=f"{first_name}.{last_name}{index}@example.com".lower(),
            type=2 if index == 0 or draw.chance(0.7) else 1,
            role_id=role_id,
            pmi=self._pmis.encode(index),
            timezone=draw.pick(_TIMEZONES),
            dept=draw.pick(_DEPARTMENTS),
            job_title=draw.pick(_JOB_TITLES),
            location=draw.pick(_LOCATIONS),
            client_version=draw.pick(_CLIENT_VERSIONS),
            user_created_at=created,
            last_login_time=max(last_login, created),
            group_ids=self._pick_groups(draw, index, b"group"),
            im_group_ids=self._pick_groups(draw, index, b"im-group"),
        )

    def _pick_groups(self, draw: _Draw, index: int, kind: bytes) -> tuple[str, ...]:
        """Return the ids of the groups a user belongs to; the owner is in one."""
        if self.status_of(index) == "pending":
            return ()
        count = 1 if index == 0 else draw.pick((0, 0, 1, 1, 2))
        first = draw.below(_GROUP_COUNT)
        positions = sorted({(first + step) % _GROUP_COUNT for step in range(count)})
        return tuple(self._opaque_id(kind, position) for position in positions)

    def _user_id(self, index: int) -> str:
        return self._opaque_id(b"user-id", index)

    def _opaque_id(self, kind: bytes, index: int) -> str:
        """Return a 22-character id in Zoom's style, e.g. "KDcuGIm1QgePTO8WbOqwIQ"."""
        digest = hashlib.blake2b(
            index.to_bytes(8, "big"), key=self._key, person=kind, digest_size=16
        ).digest()
        return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")

    def _build_user_index(self) -> dict[str, int]:
        index: dict[str, int] = {}
        for position in range(self.user_count):
            person = self._person(position)
            if person.status != "pending":
                index[person.id] = position
            index[person.email] = position
        return index

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
        index = self.find_user(user_id)
        if index is None:
            raise KeyError(user_id)
        return [self.meeting_record(plan) for plan in self.meeting_plans(index)]

    def meeting_plans(self, index: int) -> list[MeetingPlan]:
        """Return the plans of the user's scheduled meetings, in listing order."""
        if not self.hosts_meetings(index):
            return []
        return [
            self._plan_meeting(index, position)
            for position in range(self.spec.meetings_per_user)
        ]

    def meeting_record(self, plan: MeetingPlan) -> dict[str, Any]:
        """Return a meeting as ``GET /users/{userId}/meetings`` lists it."""
        person = self._person(plan.user)
        count = len(plan.instance_starts)
        # A one-time meeting that took place keeps its instance's UUID; a series
        # shows the UUID of its next instance.
        current = count - 1 if plan.type == 2 and count else count
        record: dict[str, Any] = {
            "uuid": self.instance_uuid(plan.number, current),
            "id": plan.id,
            "host_id": person.id,
            "topic": plan.topic,
            "type": plan.type,
        }
        if plan.start_time is not None:
            record["start_time"] = _timestamp(plan.start_time)
        record.update(duration=plan.duration, timezone=person.timezone)
        if plan.agenda:
            record["agenda"] = plan.agenda
        record.update(
            created_at=_timestamp(plan.created_at),
            join_url=f"{_JOIN_HOST}/j/{plan.id}",
        )
        return record

    def _plan_meeting(self, user: int, position: int) -> MeetingPlan:
        draw = _Draw("zoom-fake", self.spec.seed, "meeting", user, position)
        number = user * self.spec.meetings_per_user + position
        showcase = number == 0
        meeting_type = 8 if showcase else _pick_meeting_type(draw)
        time_of_day = timedelta(hours=draw.between(13, 22), minutes=draw.pick((0, 30)))
        start: datetime | None
        if meeting_type == 2:
            start = REFERENCE_TIME + timedelta(days=draw.between(-45, 20)) + time_of_day
            starts = (start,) if start < REFERENCE_TIME else ()
        elif meeting_type == 8:
            weeks = _SHOWCASE_WEEKS if showcase else draw.between(1, 6)
            first = REFERENCE_TIME - timedelta(weeks=weeks) + time_of_day
            starts = tuple(first + timedelta(weeks=week) for week in range(weeks))
            start = first + timedelta(weeks=weeks)
        else:
            days = sorted({draw.between(1, 60) for _ in range(draw.between(1, 3))})
            starts = tuple(
                REFERENCE_TIME - timedelta(days=day) + time_of_day
                for day in reversed(days)
            )
            start = None
        earliest = starts[0] if starts else REFERENCE_TIME
        created = earliest - timedelta(days=draw.between(1, 30), hours=draw.below(12))
        return MeetingPlan(
            user=user,
            number=number,
            id=self._meeting_ids.encode(number),
            type=meeting_type,
            topic=f"{self._person(user).dept} {draw.pick(_TOPICS).lower()}",
            agenda=draw.pick(_AGENDAS),
            duration=draw.pick((30, 45, 60, 60, 90)),
            created_at=created,
            start_time=start,
            instance_starts=starts,
        )

    def _plan_by_number(self, number: int) -> MeetingPlan | None:
        per_user = self.spec.meetings_per_user
        if per_user == 0:
            return None
        user, position = divmod(number, per_user)
        if user >= self.user_count or not self.hosts_meetings(user):
            return None
        return self._plan_meeting(user, position)

    # Past meetings

    @property
    def past_meetings(self) -> PastMeetings:
        """Past meeting instances by UUID, built on access."""
        return PastMeetings(self)

    def instance_uuid(self, number: int, instance: int) -> str:
        """Return the UUID of instance ``instance`` of meeting ``number``."""
        uuid = self._uuids.encode(number, instance)
        if number == 0 and instance < len(_UUID_FORMS):
            return _shape_uuid(uuid, _UUID_FORMS[instance])
        return uuid

    def past_meeting(self, uuid: str) -> dict[str, Any] | None:
        """Return the past meeting instance with this UUID, or None."""
        location = self._uuids.decode(uuid)
        if location is None:
            location = self._showcase_location(uuid)
        if location is None:
            return None
        number, instance = location
        plan = self._plan_by_number(number)
        if plan is None or instance >= len(plan.instance_starts):
            return None
        # A reshaped showcase UUID also has an unshaped twin that decodes; only the
        # published form names the instance.
        if self.instance_uuid(number, instance) != uuid:
            return None
        return self.past_meeting_record(plan, instance)

    def latest_past_meeting(self, meeting_id: int) -> dict[str, Any] | None:
        """Return the latest past instance of the meeting with this numeric id."""
        number = self._meeting_ids.decode(meeting_id)
        plan = None if number is None else self._plan_by_number(number)
        if plan is None or not plan.instance_starts:
            return None
        return self.past_meeting_record(plan, len(plan.instance_starts) - 1)

    def past_meeting_record(self, plan: MeetingPlan, instance: int) -> dict[str, Any]:
        """Return a past instance as ``GET /past_meetings/{meetingId}`` returns it."""
        person = self._person(plan.user)
        draw = _Draw(
            "zoom-fake", self.spec.seed, "instance", plan.user, plan.number, instance
        )
        start = plan.instance_starts[instance] + timedelta(seconds=draw.below(300))
        duration = max(1, plan.duration + draw.between(-15, 15))
        participants = 1 if draw.chance(0.05) else draw.between(2, 25)
        attended = participants * duration * draw.between(60, 100) // 100
        return {
            "uuid": self.instance_uuid(plan.number, instance),
            "id": plan.id,
            "host_id": person.id,
            "type": plan.type,
            "topic": plan.topic,
            "user_name": f"{person.first_name} {person.last_name}",
            "user_email": person.email,
            "start_time": _timestamp(start),
            "end_time": _timestamp(start + timedelta(minutes=duration)),
            "duration": duration,
            "total_minutes": max(attended, duration),
            "participants_count": participants,
            "dept": person.dept,
            "source": "Zoom",
            "has_meeting_summary": draw.chance(0.1),
        }

    def iter_past_meeting_uuids(self) -> Iterator[str]:
        """Yield the UUID of every past instance, host by host."""
        for user in range(self.user_count):
            for plan in self.meeting_plans(user):
                for instance in range(len(plan.instance_starts)):
                    yield self.instance_uuid(plan.number, instance)

    def past_meeting_count(self) -> int:
        """Return the number of past instances in the account."""
        with self._index_lock:
            if self._past_meeting_count is None:
                self._past_meeting_count = sum(
                    1 for _ in self.iter_past_meeting_uuids()
                )
            return self._past_meeting_count

    def _showcase_location(self, uuid: str) -> tuple[int, int] | None:
        for instance in range(len(_UUID_FORMS)):
            if self.instance_uuid(0, instance) == uuid:
                return 0, instance
        return None

    def _subkey(self, purpose: bytes) -> bytes:
        return hashlib.blake2b(purpose, key=self._key, digest_size=32).digest()


class PastMeetings(Mapping[str, dict[str, Any]]):
    """A read-only mapping of past meeting UUID to record, built on access."""

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
