"""The ``recordings`` job: cloud recording metadata of every host.

Only metadata is stored, and no file is downloaded. ``download_url`` works
only with the caller's access token, and some Zoom URLs carry a token or
passcode in their query string, so those fields are dropped before a row is
written.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from sqlite_utils import Database

from jobs import state, store
from jobs.base import JobContext
from jobs.fanout import Emit, Step, fan_out, skip_or_fail
from jobs.meetings import fetch_user_ids
from jobs.plan import run_plan_gated
from jobs.sync import (
    SECRET_FIELDS,
    SECRET_QUERY_NAMES,
    normalise_timestamps,
    sync_start,
)
from jobs.windows import Window, day_windows, months_back, utc_date
from zoom_auth import APIError, Page, ZoomError
from zoom_auth.endpoints import endpoint

RECORDINGS_JOB = "recordings"

# Zoom accepts at most "a month" per request and shortens a longer range
# without an error. Thirty days fit in every reading of "a month".
WINDOW_DAYS = 30

# Recordings have no documented look-back limit. Without sync.start_date, the
# first run of a host reads this many months back.
DEFAULT_MONTHS = 6

# No cloud recording predates Zoom, founded in 2011, so an older start moves here.
EARLIEST_RECORDING = date(2011, 1, 1)

# 404 code 3301: "There is no recording for this session."
NO_RECORDING_CODE = 3301

# Fields that grant access to a recording rather than describe it.
DROPPED_FIELDS = SECRET_FIELDS | {"download_url"}


class RangeShortenedError(ZoomError):
    """Zoom returned recordings of a shorter date range than the one requested."""


def fetch_recordings(
    ctx: JobContext, user_id: str, window: Window
) -> Iterator[list[dict[str, Any]]]:
    """Yield pages of one host's recordings in a window.

    Raises:
        RangeShortenedError: the ``from`` or ``to`` that Zoom echoes differs
            from the one sent. A missing echo is accepted.
    """
    pages = ctx.session.paginate(
        "/users/{userId}/recordings", "meetings", window.params, userId=user_id
    )
    for page in pages:
        check_echoed_range(page, user_id, window)
        yield page.records


def check_echoed_range(page: Page, user_id: str, window: Window) -> None:
    """Raise :class:`RangeShortenedError` unless Zoom echoes the window sent."""
    sent = window.params
    echoed = {name: page.body.get(name) for name in ("from", "to")}
    if all(_same_date(echoed[name], sent[name]) for name in sent):
        return
    msg = (
        f"GET /users/{user_id}/recordings was sent from={sent['from']} "
        f"to={sent['to']} but answered for from={echoed['from']} "
        f"to={echoed['to']}; the rows of this window were not saved and the "
        "user's cursor stays, so the next run asks again"
    )
    raise RangeShortenedError(msg)


def _same_date(echoed: object, sent: str) -> bool:
    if echoed is None:
        return True
    return isinstance(echoed, str) and echoed[:10] == sent


def strip_secrets(value: Any) -> Any:
    """Return a copy without fields or URLs that grant access to a recording.

    Dicts and lists are copied recursively: :data:`DROPPED_FIELDS` go, and so
    does every URL whose query string names a token or passcode.
    """
    if isinstance(value, dict):
        return {
            key: strip_secrets(item)
            for key, item in value.items()
            if key not in DROPPED_FIELDS and not _is_secret_url(item)
        }
    if isinstance(value, list):
        return [strip_secrets(item) for item in value if not _is_secret_url(item)]
    return value


def _is_secret_url(value: Any) -> bool:
    if not isinstance(value, str) or "://" not in value:
        return False
    parts = urlsplit(value)
    names = {name.lower() for name, _ in parse_qsl(parts.query, keep_blank_values=True)}
    return bool(names & SECRET_QUERY_NAMES)


def recording_row(record: dict[str, Any]) -> dict[str, Any]:
    """Turn a recording into a ``recordings`` row; its files go to their own table."""
    row = normalise_timestamps(strip_secrets(record))
    row.pop("recording_files", None)
    return row


def file_rows(record: dict[str, Any]) -> list[dict[str, Any]]:
    """Turn a recording's files into ``recording_files`` rows.

    ``meeting_id`` stays as Zoom sends it (the recording's UUID). A file
    without ``id`` is keyed by the recording UUID, type and start instead.
    """
    rows = []
    for item in record.get("recording_files") or []:
        row = normalise_timestamps(strip_secrets(item))
        row["recording_uuid"] = record["uuid"]
        if not row.get("id"):
            parts = (record["uuid"], row.get("file_type"), row.get("recording_start"))
            row["id"] = ":".join(str(part or "") for part in parts)
        rows.append(row)
    return rows


def page_step(records: list[dict[str, Any]]) -> Step:
    """Return a write step that upserts one page of recordings and their files.

    The step returns the number of rows written.
    """
    recordings = [recording_row(r) for r in records if r.get("uuid")]
    files = [f for r in records if r.get("uuid") for f in file_rows(r)]

    def step(db: Database) -> int:
        if not recordings:
            return 0
        store.write_rows(db, "recordings", recordings, "uuid")
        if files:
            store.write_rows(db, "recording_files", files, "id")
        return len(recordings) + len(files)

    return step


def recordings(ctx: JobContext) -> None:
    """Save the cloud recordings of every active and inactive host.

    Each host has its own cursor and is read in windows of at most
    :data:`WINDOW_DAYS` UTC dates. A window's rows are committed before the
    cursor moves to its end. When Zoom returns a shorter range than a window
    requested, the host fails for this run, so no day is lost.
    """
    run_plan_gated(ctx, RECORDINGS_JOB, _sync_recordings)


def _sync_recordings(ctx: JobContext) -> None:
    today = utc_date(ctx.started_at)

    def hosts() -> Iterator[tuple[str, datetime]]:
        for user_id in fetch_user_ids(ctx.session):
            yield user_id, _host_start(ctx, user_id, today)

    def fetch(host: tuple[str, datetime], emit: Emit) -> None:
        user_id, start = host
        for window in day_windows(utc_date(start), today, WINDOW_DAYS):
            try:
                for records in fetch_recordings(ctx, user_id, window):
                    emit(page_step(records))
            except APIError as exc:
                if exc.code != NO_RECORDING_CODE:
                    raise
            reached = min(window.end, ctx.started_at)
            emit(state.cursor_step(RECORDINGS_JOB, reached, partition=user_id))

    fan_out(
        ctx,
        hosts(),
        fetch,
        category=endpoint("/users/{userId}/recordings").category,
        on_error=skip_or_fail(ctx, lambda host: f"users/{host[0]}/recordings"),
    )


def _host_start(ctx: JobContext, user_id: str, today: date) -> datetime:
    """Return where a host's recordings are read from on this run."""
    first_run = (
        ctx.since is None
        and ctx.config.sync.start_date is None
        and state.get_cursor(ctx.db, RECORDINGS_JOB, user_id) is None
    )
    if first_run:
        default = months_back(today, DEFAULT_MONTHS)
        return datetime.combine(default, time(), tzinfo=UTC)
    return sync_start(ctx, RECORDINGS_JOB, EARLIEST_RECORDING, partition=user_id)
