"""The start of an incremental job's range, and transforms its rows share.

The range runs from the job's cursor minus the lookback (or, on the first run,
from ``sync.start_date``, or from ``--since``) up to the start of the run. It
never starts before what the endpoint still keeps: an older start is moved
forward with one warning.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import structlog

from jobs import state
from jobs.base import JobContext

log = structlog.get_logger(__name__)

# Fields of Zoom records that hold a timestamp.
TIMESTAMP_FIELDS = (
    "start_time",
    "end_time",
    "join_time",
    "leave_time",
    "created_at",
    "time",
    "recording_start",
    "recording_end",
)


def sync_start(
    ctx: JobContext, job: str, retention_start: date, partition: str = state.WHOLE_JOB
) -> datetime:
    """Return where a job (or one partition of it) starts fetching this run.

    Args:
        ctx: the job's context, with the run's start time and ``--since``.
        job: the job name, which keys its cursor.
        retention_start: the first UTC date the endpoint still serves.
        partition: the partition whose cursor applies, such as a user ID.
    """
    if ctx.since is not None:
        start = ctx.since
    else:
        cursor = state.get_cursor(ctx.db, job, partition)
        if cursor is not None:
            start = cursor - timedelta(days=ctx.config.sync.lookback_days)
        else:
            start = ctx.config.sync.start_date or midnight(retention_start)
    earliest = midnight(retention_start)
    if start < earliest:
        if ctx.result.note_once(f"clamped:{job}"):
            log.warning(
                "start_clamped",
                requested=state.format_utc(start),
                start=state.format_utc(earliest),
                reason="older than the endpoint keeps",
            )
        start = earliest
    return start


def normalise_timestamps(record: dict[str, Any]) -> dict[str, Any]:
    """Rewrite the record's timestamp fields as ISO-8601 UTC with a "Z" suffix.

    Values that are not ISO-8601 (some report fields use local formats such as
    "12/22/2021 16:20") are kept as Zoom sent them.
    """
    row = dict(record)
    for name in TIMESTAMP_FIELDS:
        value = row.get(name)
        if isinstance(value, str) and value:
            try:
                row[name] = state.format_utc(state.parse_utc(value))
            except ValueError:
                pass
    return row


# Fields that hold a meeting's or recording's passcode, or a download token.
SECRET_FIELDS = frozenset(
    {
        "password",
        "encrypted_password",
        "h323_password",
        "pstn_password",
        "recording_play_passcode",
        "download_access_token",
    }
)

# Query parameters that make a URL a credential.
SECRET_QUERY_NAMES = frozenset(
    {"access_token", "download_access_token", "token", "tk", "jwt", "pwd", "passcode"}
)


def without_passcodes(record: dict[str, Any]) -> dict[str, Any]:
    """Return a copy without passcode fields, and with URLs' secret parameters cut.

    A join URL such as ``https://zoom.us/j/123?pwd=...`` keeps its path, so it
    still names the meeting, but no longer lets anyone in.
    """
    row = {}
    for key, value in record.items():
        if key in SECRET_FIELDS:
            continue
        row[key] = _without_secret_query(value) if isinstance(value, str) else value
    return row


def _without_secret_query(value: str) -> str:
    if "://" not in value or "?" not in value:
        return value
    parts = urlsplit(value)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    kept = [(k, v) for k, v in pairs if k.lower() not in SECRET_QUERY_NAMES]
    if len(kept) == len(pairs):
        return value
    return urlunsplit(parts._replace(query=urlencode(kept)))


def join_row(record: dict[str, Any], instance_key: str, uuid: str) -> dict[str, Any]:
    """Turn a participant record into a row with a key that keeps every join.

    Zoom gives each join its own ``user_id``, so a person who rejoins has one
    row per join. Guests can lack ``id`` and ``user_email``, so their key falls
    back to ID, email and name, with the join time beside it in the key.

    Args:
        record: a participant record of a meeting or webinar report.
        instance_key: the column that stores the instance UUID.
        uuid: the meeting or webinar instance's UUID.
    """
    row = normalise_timestamps(record)
    fallback = "|".join(
        str(row.get(name) or "") for name in ("id", "user_email", "name")
    )
    row[instance_key] = uuid
    row["participant_key"] = str(row.get("user_id") or "") or fallback
    row["join_time"] = row.get("join_time") or ""
    return row


def midnight(day: date) -> datetime:
    """Return 00:00 UTC of a date."""
    return datetime.combine(day, time(), tzinfo=UTC)
