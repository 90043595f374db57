"""Zoom-shaped records of series, instances and recordings.

Each function returns a new dict in the shape of one API response item, with
only fields that the 200 schema of Zoom's OpenAPI files declares.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from zoom_fake.ids import Draw, timestamp
from zoom_fake.people import WEB_HOST
from zoom_fake.timeline import Instance, MeetingPlan

if TYPE_CHECKING:
    from zoom_fake.account import Account

# Recording files: (file_type, file_extension, recording_type, bytes per minute,
# share of recordings that have the file).
_RECORDING_FILES = (
    ("MP4", "MP4", "shared_screen_with_speaker_view", 9_000_000, 1.0),
    ("M4A", "M4A", "audio_only", 480_000, 1.0),
    ("TRANSCRIPT", "VTT", "audio_transcript", 12_000, 0.7),
    ("CHAT", "TXT", "chat_file", 2_000, 0.5),
    ("CC", "VTT", "closed_caption", 10_000, 0.2),
)
# Feature flags of a dashboard meeting, in the order the record lists them.
_METRIC_FLAGS = (
    "has_pstn", "has_voip", "has_3rd_party_audio", "has_video", "has_screen_share",
    "has_sip", "has_archiving", "has_manual_captions", "has_automated_captions",
    "has_poll", "has_qa", "has_survey",
)  # fmt: skip


def meeting_record(account: Account, plan: MeetingPlan) -> dict[str, Any]:
    """Return a meeting as ``GET /users/{userId}/meetings`` lists it."""
    person = account.person(plan.user)
    count = plan.past_count
    # A one-time meeting that took place keeps its instance's UUID; a series
    # shows the UUID of its next instance, or of its last when it is over.
    current = count - 1 if plan.type == 2 and count else count
    current = min(current, len(plan.starts) - 1)
    record: dict[str, Any] = {
        "uuid": account.timeline.uuid(plan.kind, plan.number, current),
        "id": plan.id,
        "host_id": person.id,
        "topic": plan.topic,
        "type": plan.type,
    }
    if plan.start_time is not None:
        record["start_time"] = timestamp(plan.start_time)
    record.update(duration=plan.duration, timezone=person.timezone)
    if plan.agenda:
        record["agenda"] = plan.agenda
    record.update(
        created_at=timestamp(plan.created_at),
        join_url=f"{WEB_HOST}/j/{plan.id}",
    )
    return record


def webinar_record(account: Account, plan: MeetingPlan) -> dict[str, Any]:
    """Return a webinar as ``GET /users/{userId}/webinars`` lists it."""
    record = meeting_record(account, plan)
    record["join_url"] = f"{WEB_HOST}/w/{plan.id}"
    record["is_simulive"] = False
    return record


def past_meeting_record(account: Account, instance: Instance) -> dict[str, Any]:
    """Return an ended instance as ``GET /past_meetings/{meetingId}`` returns it."""
    plan = instance.plan
    person = account.person(plan.user)
    return {
        "uuid": instance.uuid,
        "id": plan.id,
        "host_id": person.id,
        "type": plan.type,
        "topic": plan.topic,
        "user_name": person.display_name,
        "user_email": person.email,
        "start_time": timestamp(instance.start),
        "end_time": timestamp(instance.end),
        "duration": instance.duration,
        "total_minutes": instance.total_minutes,
        "participants_count": instance.people,
        "dept": person.dept,
        "source": "Zoom",
        "has_meeting_summary": "has_meeting_summary" in instance.features,
    }


def report_meeting_record(account: Account, instance: Instance) -> dict[str, Any]:
    """Return an ended instance as ``GET /report/users/{userId}/meetings`` lists it."""
    plan = instance.plan
    person = account.person(plan.user)
    return {
        "uuid": instance.uuid,
        "id": plan.id,
        "type": plan.type,
        "topic": plan.topic,
        "user_name": person.display_name,
        "user_email": person.email,
        "start_time": timestamp(instance.start),
        "end_time": timestamp(instance.end),
        "duration": instance.duration,
        "total_minutes": instance.total_minutes,
        "participants_count": instance.people,
        "source": "Zoom",
        "custom_keys": [],
        "has_screen_share": "has_screen_share" in instance.features,
        "has_recording": instance.recorded,
        "has_chat": "has_chat" in instance.features,
        "meeting_encryption_status": 2,
    }


def host_report_record(
    account: Account, index: int, totals: tuple[int, int, int] | None
) -> dict[str, Any]:
    """Return a user as ``GET /report/users`` lists a host.

    ``totals`` contains the host's meetings, participants and meeting minutes in
    the report's range; None for an inactive host.
    """
    person = account.person(index)
    meetings, participants, minutes = totals or (0, 0, 0)
    return {
        "id": person.id,
        "email": person.email,
        "user_name": person.display_name,
        "type": person.type,
        "dept": person.dept,
        "meetings": meetings,
        "participants": participants,
        "meeting_minutes": minutes,
        "custom_attributes": [],
    }


def instance_summary(instance: Instance) -> dict[str, Any]:
    """Return an instance as ``GET /past_meetings/{meetingId}/instances`` lists it."""
    return {"uuid": instance.uuid, "start_time": timestamp(instance.start)}


def recording_record(account: Account, instance: Instance) -> dict[str, Any]:
    """Return a recorded instance as ``GET /users/{userId}/recordings`` lists it."""
    plan = instance.plan
    files = recording_files(account, instance)
    return {
        "uuid": instance.uuid,
        "id": plan.id,
        "account_id": account.account_id,
        "host_id": account.person(plan.user).id,
        "topic": plan.topic,
        "type": str(plan.type),
        "start_time": timestamp(instance.start),
        "duration": instance.duration,
        "total_size": sum(int(file["file_size"]) for file in files),
        "recording_count": len(files),
        "recording_files": files,
    }


def recording_files(account: Account, instance: Instance) -> list[dict[str, Any]]:
    """Return the files of a recorded instance: always MP4 and M4A, often more."""
    plan = instance.plan
    draw = Draw(
        "zoom-fake", account.spec.seed, "recording-files", plan.number, instance.index
    )
    started = instance.start + timedelta(seconds=draw.between(1, 20))
    ended = instance.end - timedelta(seconds=draw.between(1, 20))
    files = []
    for position, spec in enumerate(_RECORDING_FILES):
        file_type, extension, recording_type, per_minute, share = spec
        if not draw.chance(share):
            continue
        token = _file_token(instance.uuid, position)
        size = per_minute * instance.duration * draw.between(80, 120) // 100
        files.append(
            {
                "id": _file_id(token),
                "meeting_id": instance.uuid,
                "recording_start": timestamp(started),
                "recording_end": timestamp(ended),
                "file_type": file_type,
                "file_extension": extension,
                "file_size": max(size, 1),
                "play_url": f"{WEB_HOST}/rec/play/{token}",
                "download_url": f"{WEB_HOST}/rec/download/{token}",
                "status": "completed",
                "recording_type": recording_type,
            }
        )
    return files


def metrics_meeting_record(
    account: Account, instance: Instance, now: datetime
) -> dict[str, Any]:
    """Return an instance as ``GET /metrics/meetings`` lists it.

    An instance still in progress at ``now`` has no end time, and its duration
    is the time since it started.
    """
    plan = instance.plan
    person = account.person(plan.user)
    ended = instance.has_ended(now)
    finish = instance.end if ended else now
    record: dict[str, Any] = {
        "uuid": instance.uuid,
        "id": plan.id,
        "topic": plan.topic,
        "host": person.display_name,
        "email": person.email,
        "user_type": "Licensed" if person.type == 2 else "Basic",
        "start_time": timestamp(instance.start),
    }
    if ended:
        record["end_time"] = timestamp(instance.end)
    record.update(
        duration=_clock_duration(finish - instance.start),
        participants=instance.people,
        dept=person.dept,
        has_recording=instance.recorded,
    )
    for name in _METRIC_FLAGS:
        record[name] = name in instance.features
    record.update(
        audio_quality=instance.quality,
        video_quality=instance.quality,
        screen_share_quality=instance.quality,
    )
    return record


def _clock_duration(length: timedelta) -> str:
    """Format a duration as "hh:mm:ss", as the dashboard does."""
    seconds = max(0, int(length.total_seconds()))
    hours, rest = divmod(seconds, 3600)
    return f"{hours:02d}:{rest // 60:02d}:{rest % 60:02d}"


def _file_token(uuid: str, position: int) -> str:
    digest = hashlib.blake2b(f"{uuid}:{position}".encode(), digest_size=24)
    return digest.hexdigest()


def _file_id(token: str) -> str:
    """Return a recording file id in Zoom's 8-4-4-4-12 hex form."""
    hexa = token[:32]
    return f"{hexa[:8]}-{hexa[8:12]}-{hexa[12:16]}-{hexa[16:20]}-{hexa[20:32]}"
