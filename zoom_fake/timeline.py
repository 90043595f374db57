"""The meetings and webinars of a generated account, laid out on a timeline.

The timeline spans ``history_days`` before the account's anchor and
``future_days`` after it. A series (one scheduled meeting or webinar) has
instances at fixed start times. Whether an instance has ended is decided by the
caller against the emulator's clock, so advancing the clock reveals new
instances and changes nothing already revealed. Plans, instances and
participant rows are rebuilt on request from the seed and their position.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from zoom_fake.ids import AffineCodec, Draw, UuidCodec, shape_uuid, subkey, timestamp
from zoom_fake.people import AGENDAS, FIRST_NAMES, LAST_NAMES, TOPICS, WEBINAR_TOPICS

if TYPE_CHECKING:
    from zoom_fake.account import Account

MEETING = "meeting"
WEBINAR = "webinar"

# Meeting and webinar ids are 11-digit numbers above 2**32, as Zoom's are. Each
# range size is 2**a * 5**b so that AffineCodec can invert its multiplier, and
# the ranges do not overlap each other or the PMIs.
_MEETING_ID_LOW, _MEETING_ID_RANGE = 80_000_000_000, 20_000_000_000
_WEBINAR_ID_LOW, _WEBINAR_ID_RANGE = 70_000_000_000, 10_000_000_000

# The owner's first two meetings are weekly series with four instances before
# the anchor. The first instances of series 0 have the three UUID forms Zoom's
# double-encoding rule distinguishes. In series 1 only the first instance has
# participants; the host was alone in the others.
UUID_SHOWCASE = 0
SPARSE_SHOWCASE = 1
_SHOWCASE_PAST_WEEKS = 4
_UUID_FORMS = ("leading_slash", "double_slash", "plain")

# Share of meeting instances the host attended alone; their participant
# report is empty.
_ALONE_SHARE = 0.08
_REJOIN_SHARE = 0.15
_MEETING_GUEST_SHARE = 0.35
_WEBINAR_GUEST_SHARE = 0.8
_RECURRING_WEBINAR_INSTANCES = 4

# Features an instance may have used, with the share of instances that did.
_FEATURES = (
    ("has_video", 0.85), ("has_voip", 0.9), ("has_screen_share", 0.6),
    ("has_chat", 0.5), ("has_pstn", 0.1), ("has_sip", 0.03),
    ("has_3rd_party_audio", 0.02), ("has_archiving", 0.05),
    ("has_manual_captions", 0.03), ("has_automated_captions", 0.2),
    ("has_poll", 0.1), ("has_qa", 0.05), ("has_survey", 0.04),
    ("has_meeting_summary", 0.1),
)  # fmt: skip
_QUALITIES = ("good", "good", "good", "fair", "poor", "bad")


@dataclass(frozen=True)
class MeetingPlan:
    """One scheduled meeting or webinar series and the start of each instance.

    Attributes:
        kind: "meeting" or "webinar".
        user: Index of the host.
        number: Position of the series among all series of its kind.
        id: The numeric meeting or webinar id.
        type: Zoom's type: 2, 3 or 8 for meetings, 5 or 9 for webinars.
        topic: Topic.
        agenda: Agenda; may be empty.
        duration: Scheduled length in minutes.
        created_at: Creation time.
        starts: Scheduled start of every instance, oldest first.
        start_time: The start the meeting list shows at the anchor: the next
            occurrence, the last one for a series that is over, or None for a
            series with no fixed time (type 3).
        past_count: How many instances were scheduled before the anchor.
    """

    kind: str
    user: int
    number: int
    id: int
    type: int
    topic: str
    agenda: str
    duration: int
    created_at: datetime
    starts: tuple[datetime, ...]
    start_time: datetime | None
    past_count: int


@dataclass(frozen=True)
class Instance:
    """One occurrence of a series.

    Attributes:
        plan: The series.
        index: Position among the series' instances, oldest first.
        uuid: The instance's UUID.
        start: Actual start time.
        end: Actual end time.
        duration: Length in whole minutes.
        people: Unique participants, the host included. Below 2 the
            participant report is empty.
        total_minutes: Sum of every participant's minutes.
        recorded: Whether a cloud recording was made.
        features: Names of the features used, e.g. "has_screen_share".
        quality: Audio, video and screen share quality score.
    """

    plan: MeetingPlan
    index: int
    uuid: str
    start: datetime
    end: datetime
    duration: int
    people: int
    total_minutes: int
    recorded: bool
    features: frozenset[str]
    quality: str

    def has_ended(self, now: datetime) -> bool:
        """Tell whether the instance had ended at ``now``."""
        return self.end <= now


@dataclass(frozen=True)
class Timing:
    """When an instance ran and how many attended; see :class:`Instance`."""

    start: datetime
    end: datetime
    duration: int
    people: int
    total_minutes: int


@dataclass(frozen=True)
class _Attendee:
    """One person in an instance: an account user, or a guest with only a name."""

    user: int | None
    name: str
    forced_rejoin: bool = False


class Timeline:
    """Series, instances and participant rows of one account.

    Args:
        account: The account whose users host and attend.
    """

    def __init__(self, account: Account) -> None:
        self._account = account
        self._spec = account.spec
        self._seed = account.spec.seed
        self.anchor = account.anchor
        key = account.key
        self._ids = {
            MEETING: AffineCodec(
                _MEETING_ID_LOW, _MEETING_ID_RANGE, subkey(key, b"meeting-id")
            ),
            WEBINAR: AffineCodec(
                _WEBINAR_ID_LOW, _WEBINAR_ID_RANGE, subkey(key, b"webinar-id")
            ),
        }
        self._uuids = {
            MEETING: UuidCodec(subkey(key, b"uuid")),
            WEBINAR: UuidCodec(subkey(key, b"webinar-uuid")),
        }
        # Routes rebuild the same plans and instances across a sequence of
        # requests, so they are cached. The caches are bounded so that large
        # accounts stay small.
        self._plan = functools.lru_cache(maxsize=4096)(self._make_plan)
        self._instance = functools.lru_cache(maxsize=4096)(self.build_instance)
        self._recorded = functools.lru_cache(maxsize=4096)(self._pick_recorded)

    def cache_info(self) -> dict[str, Any]:
        """Return the ``functools`` cache statistics of each bounded cache, by name."""
        return {
            "plans": self._plan.cache_info(),
            "instances": self._instance.cache_info(),
            "recordings": self._recorded.cache_info(),
        }

    # Series

    def plans(self, kind: str, user: int) -> list[MeetingPlan]:
        """Return a user's series of one kind, in listing order."""
        if not self._hosts(kind, user):
            return []
        per_user = self._per_user(kind)
        return [self._plan(kind, user * per_user + p) for p in range(per_user)]

    def plan(self, kind: str, number: int) -> MeetingPlan | None:
        """Return the series at ``number``, or None when no such series exists."""
        per_user = self._per_user(kind)
        if per_user == 0 or number < 0:
            return None
        user = number // per_user
        if user >= self._account.user_count or not self._hosts(kind, user):
            return None
        return self._plan(kind, number)

    def plan_by_id(self, kind: str, series_id: int) -> MeetingPlan | None:
        """Return the series with this numeric meeting or webinar id, or None."""
        number = self._ids[kind].decode(series_id)
        return None if number is None else self.plan(kind, number)

    def iter_plans(self, kind: str) -> Iterator[MeetingPlan]:
        """Yield every series of one kind, host by host."""
        for user in range(self._account.user_count):
            yield from self.plans(kind, user)

    # Instances

    def uuid(self, kind: str, number: int, index: int) -> str:
        """Return the UUID of instance ``index`` of series ``number``."""
        uuid = self._uuids[kind].encode(number, index)
        if kind == MEETING and number == UUID_SHOWCASE and index < len(_UUID_FORMS):
            return shape_uuid(uuid, _UUID_FORMS[index])
        return uuid

    def instance(self, plan: MeetingPlan, index: int) -> Instance:
        """Return instance ``index`` of a series, from a bounded cache."""
        return self._instance(plan, index)

    def instances(self, plan: MeetingPlan) -> list[Instance]:
        """Return every instance of a series, oldest first, ended or not."""
        return [self.instance(plan, index) for index in range(len(plan.starts))]

    def find(self, kind: str, uuid: str) -> Instance | None:
        """Return the instance with this UUID, ended or not, or None."""
        location = self._uuids[kind].decode(uuid)
        if location is None and kind == MEETING:
            location = self._showcase_location(uuid)
        if location is None:
            return None
        number, index = location
        plan = self.plan(kind, number)
        if plan is None or index >= len(plan.starts):
            return None
        # A reshaped showcase UUID also has an unshaped twin that decodes; only
        # the published form names the instance.
        if self.uuid(kind, number, index) != uuid:
            return None
        return self.instance(plan, index)

    def build_instance(
        self, plan: MeetingPlan, index: int, recorded: bool | None = None
    ) -> Instance:
        """Build instance ``index`` of a series without the cache.

        Args:
            plan: The series.
            index: Position among the series' instances.
            recorded: Whether the instance has a cloud recording, if the
                caller has it at hand. None looks it up, which builds every
                series of the host unless the host's recordings are cached.
        """
        draw = self._instance_draw(plan, index)
        timing = self._draw_timing(draw, plan, index)
        features = frozenset(name for name, share in _FEATURES if draw.chance(share))
        if recorded is None:
            recorded = self.is_recorded(plan, index)
        return Instance(
            plan=plan,
            index=index,
            uuid=self.uuid(plan.kind, plan.number, index),
            start=timing.start,
            end=timing.end,
            duration=timing.duration,
            people=timing.people,
            total_minutes=timing.total_minutes,
            recorded=recorded,
            features=features,
            quality=draw.pick(_QUALITIES),
        )

    def timing(self, plan: MeetingPlan, index: int) -> Timing:
        """Return the times and attendance of an instance, cheaper than building it."""
        return self._draw_timing(self._instance_draw(plan, index), plan, index)

    def _instance_draw(self, plan: MeetingPlan, index: int) -> Draw:
        return Draw("zoom-fake", self._seed, "instance", plan.kind, plan.number, index)

    def _draw_timing(self, draw: Draw, plan: MeetingPlan, index: int) -> Timing:
        start = plan.starts[index] + timedelta(seconds=draw.below(300))
        duration = max(1, plan.duration + draw.between(-15, 15))
        end = start + timedelta(minutes=duration, seconds=draw.below(60))
        people = self._people(draw, plan, index)
        attended = people * duration * draw.between(60, 100) // 100
        return Timing(start, end, duration, people, max(attended, duration))

    def ended(self, plan: MeetingPlan, now: datetime) -> list[Instance]:
        """Return the instances of a series that had ended at ``now``."""
        return [item for item in self.instances(plan) if item.has_ended(now)]

    # Participants

    def participants(self, instance: Instance) -> list[dict[str, Any]]:
        """Return the participant rows of an instance, by join time.

        A person who leaves and rejoins has one row per join, each with its own
        ``user_id``. Guests have ``id`` and ``user_email`` "". An instance with
        fewer than two people has no rows.
        """
        if instance.people < 2:
            return []
        plan = instance.plan
        draw = Draw(
            "zoom-fake", self._seed, "participants", plan.kind, plan.number,
            instance.index,
        )  # fmt: skip
        joins: list[tuple[datetime, int, int, _Attendee, datetime]] = []
        for slot, attendee in enumerate(self._attendees(draw, instance)):
            segments = self._segments(draw, instance, slot, attendee)
            for part, (joined, left) in enumerate(segments):
                joins.append((joined, slot, part, attendee, left))
        joins.sort(key=lambda join: join[:3])
        first_id = draw.between(16_000_000, 90_000_000)
        return [
            self._participant_row(plan, attendee, joined, left, first_id + position)
            for position, (joined, _, _, attendee, left) in enumerate(joins)
        ]

    def is_sparse_showcase(self, kind: str, number: int) -> bool:
        """Tell whether a series is the owner's series with one attended instance.

        It exists only when the owner has at least two meetings.
        """
        return (
            kind == MEETING
            and number == SPARSE_SHOWCASE
            and self._spec.meetings_per_user > SPARSE_SHOWCASE
        )

    # Helpers

    def _per_user(self, kind: str) -> int:
        spec = self._spec
        return spec.meetings_per_user if kind == MEETING else spec.webinars_per_user

    def _hosts(self, kind: str, user: int) -> bool:
        if kind == MEETING:
            return self._account.hosts_meetings(user)
        return self._account.has_webinar_plan(user)

    def _make_plan(self, kind: str, number: int) -> MeetingPlan:
        user, position = divmod(number, self._per_user(kind))
        draw = Draw("zoom-fake", self._seed, kind, user, position)
        topics: tuple[str, ...]
        if kind == MEETING:
            series_type, starts = self._meeting_starts(draw, number)
            topics = TOPICS
        else:
            series_type, starts = self._webinar_starts(draw)
            topics = WEBINAR_TOPICS
        dept = self._account.person(user).dept
        created = starts[0] - timedelta(days=draw.between(1, 30), hours=draw.below(12))
        past_count = sum(1 for start in starts if start < self.anchor)
        return MeetingPlan(
            kind=kind,
            user=user,
            number=number,
            id=self._ids[kind].encode(number),
            type=series_type,
            topic=f"{dept} {draw.pick(topics).lower()}",
            agenda=draw.pick(AGENDAS),
            duration=draw.pick((30, 45, 60, 60, 90)),
            created_at=created,
            starts=starts,
            start_time=_listed_start(series_type, starts, past_count),
            past_count=past_count,
        )

    def _meeting_starts(
        self, draw: Draw, number: int
    ) -> tuple[int, tuple[datetime, ...]]:
        """Return the type and instance starts of meeting series ``number``."""
        spec = self._spec
        time_of_day = timedelta(hours=draw.between(13, 22), minutes=draw.pick((0, 30)))
        if number == UUID_SHOWCASE or self.is_sparse_showcase(MEETING, number):
            count = max(spec.instances_per_recurring_meeting, _SHOWCASE_PAST_WEEKS + 1)
            first = self.anchor - timedelta(weeks=_SHOWCASE_PAST_WEEKS) + time_of_day
            return 8, _weekly(first, count)
        meeting_type = _pick_meeting_type(draw)
        window_start = self.anchor - timedelta(days=spec.history_days) + time_of_day
        window_days = spec.history_days + spec.future_days
        if meeting_type == 2:
            return 2, (window_start + timedelta(days=draw.below(window_days)),)
        if meeting_type == 8:
            count = spec.instances_per_recurring_meeting
            span = (count - 1) * 7
            offset = timedelta(days=draw.below(max(1, window_days - span)))
            return 8, _weekly(window_start + offset, count)
        count = draw.between(1, max(1, min(3, spec.instances_per_recurring_meeting)))
        days = sorted({draw.below(window_days) for _ in range(count)})
        return 3, tuple(window_start + timedelta(days=day) for day in days)

    def _webinar_starts(self, draw: Draw) -> tuple[int, tuple[datetime, ...]]:
        spec = self._spec
        time_of_day = timedelta(hours=draw.between(14, 20))
        window_start = self.anchor - timedelta(days=spec.history_days) + time_of_day
        window_days = spec.history_days + spec.future_days
        if draw.chance(0.6):
            return 5, (window_start + timedelta(days=draw.below(window_days)),)
        count = min(spec.instances_per_recurring_meeting, _RECURRING_WEBINAR_INSTANCES)
        span = (count - 1) * 7
        offset = timedelta(days=draw.below(max(1, window_days - span)))
        return 9, _weekly(window_start + offset, count)

    def _people(self, draw: Draw, plan: MeetingPlan, index: int) -> int:
        """Return the number of unique participants of an instance."""
        most = self._spec.participants_per_instance
        if self.is_sparse_showcase(plan.kind, plan.number):
            return max(4, most) if index == 0 else 1
        if most <= 1:
            return 1
        if plan.kind == WEBINAR:
            return draw.between(3, max(3, 3 * most))
        if draw.chance(_ALONE_SHARE):
            return 1
        return draw.between(2, max(2, 2 * most - 2))

    def is_recorded(self, plan: MeetingPlan, index: int) -> bool:
        """Tell whether instance ``index`` of a series has a cloud recording.

        Only meetings have recordings; webinars never do.
        """
        if plan.kind != MEETING:
            return False
        return (plan.number, index) in self._recorded(plan.user)

    def _pick_recorded(self, user: int) -> frozenset[tuple[int, int]]:
        """Return the recorded meeting instances of a host as (series, index).

        Each host has ``recordings_per_user`` recordings, spread over the
        instances of all their meetings.
        """
        locations = [
            (plan.number, index)
            for plan in self.plans(MEETING, user)
            for index in range(len(plan.starts))
        ]
        draw = Draw("zoom-fake", self._seed, "recordings", user)
        chosen: set[tuple[int, int]] = set()
        # A partial Fisher-Yates shuffle picks distinct instances.
        for position in range(min(self._spec.recordings_per_user, len(locations))):
            swap = position + draw.below(len(locations) - position)
            locations[position], locations[swap] = locations[swap], locations[position]
            chosen.add(locations[position])
        return frozenset(chosen)

    def _attendees(self, draw: Draw, instance: Instance) -> list[_Attendee]:
        plan = instance.plan
        host = self._account.person(plan.user)
        attendees = [_Attendee(plan.user, host.display_name)]
        pool = self._spec.active_users + self._spec.inactive_users
        taken = {plan.user}
        guest_share = (
            _WEBINAR_GUEST_SHARE if plan.kind == WEBINAR else (_MEETING_GUEST_SHARE)
        )
        showcase = self.is_sparse_showcase(plan.kind, plan.number)
        for slot in range(1, instance.people):
            user: int | None = None
            if showcase and slot == 1:
                user = next((u for u in range(pool) if u not in taken), None)
            elif not (showcase and slot == 2) and not draw.chance(guest_share):
                user = draw.below(pool)
            forced = showcase and slot in (1, 2)
            if user is None or user in taken:
                name = f"{draw.pick(FIRST_NAMES)} {draw.pick(LAST_NAMES)}"
                attendees.append(_Attendee(None, name, forced_rejoin=forced))
                continue
            taken.add(user)
            name = self._account.person(user).display_name
            attendees.append(_Attendee(user, name, forced_rejoin=forced))
        return attendees

    def _segments(
        self, draw: Draw, instance: Instance, slot: int, attendee: _Attendee
    ) -> list[tuple[datetime, datetime]]:
        """Return the (join, leave) times of one person; two when they rejoin."""
        length = int((instance.end - instance.start).total_seconds())
        if slot == 0:
            return [(instance.start, instance.end)]
        joined = instance.start + timedelta(seconds=draw.below(max(1, length // 3)))
        left = instance.end
        leaves_early = draw.chance(0.3) and not attendee.forced_rejoin
        if leaves_early:
            stay = int((left - joined).total_seconds())
            left = joined + timedelta(seconds=draw.between(min(60, stay), stay))
        stay = int((left - joined).total_seconds())
        rejoins = draw.chance(_REJOIN_SHARE) or attendee.forced_rejoin
        if not rejoins or stay < 240:
            return [(joined, left)]
        first_leave = joined + timedelta(seconds=draw.between(60, stay // 2))
        second_join = first_leave + timedelta(seconds=draw.between(15, 90))
        return [(joined, first_leave), (second_join, left)]

    def _participant_row(
        self,
        plan: MeetingPlan,
        attendee: _Attendee,
        joined: datetime,
        left: datetime,
        join_id: int,
    ) -> dict[str, Any]:
        user_id = ""
        email = ""
        if attendee.user is not None:
            person = self._account.person(attendee.user)
            user_id, email = person.id, person.email
        registrant = ""
        if plan.kind == WEBINAR and attendee.user is None:
            registrant = self._account.opaque_id(b"registrant", join_id)
        return {
            "id": user_id,
            "user_id": str(join_id),
            "name": attendee.name,
            "user_email": email,
            "join_time": timestamp(joined),
            "leave_time": timestamp(left),
            "duration": int((left - joined).total_seconds()),
            "failover": False,
            "status": "in_meeting",
            "participant_user_id": user_id,
            "registrant_id": registrant,
        }

    def _showcase_location(self, uuid: str) -> tuple[int, int] | None:
        for index in range(len(_UUID_FORMS)):
            if self.uuid(MEETING, UUID_SHOWCASE, index) == uuid:
                return UUID_SHOWCASE, index
        return None


def _pick_meeting_type(draw: Draw) -> int:
    """Return 2 (one-time), 8 (recurring, fixed time) or 3 (no fixed time)."""
    roll = draw.below(10)
    if roll < 6:
        return 2
    if roll < 9:
        return 8
    return 3


def _weekly(first: datetime, count: int) -> tuple[datetime, ...]:
    return tuple(first + timedelta(weeks=week) for week in range(count))


def _listed_start(
    series_type: int, starts: tuple[datetime, ...], past_count: int
) -> datetime | None:
    if series_type == 3:
        return None
    return starts[min(past_count, len(starts) - 1)]
