"""The ``webinars`` job: webinars, their ended instances and who attended.

Webinars need a paid add-on that Zoom grants per user. For a user without
it, Zoom returns code 200 "Webinar plan is missing", so that user is skipped
and counted, with one warning per run. When no user has the add-on, or Zoom
returns "Only available for paid account", the job is disabled for the run
and ``_runs.error`` records why.

This module also contains what the other report jobs share: the plan checks
and the errors that end a job.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import structlog
from sqlite_utils import Database

from jobs import state, store
from jobs.base import JobContext
from jobs.fanout import Emit, Step, fan_out, skip_or_fail
from jobs.meetings import fetch_user_ids
from jobs.plan import (
    PLAN_CODE,
    disable_job,
    fail_resource,
    run_plan_gated,
)
from jobs.sync import join_row, normalise_timestamps, sync_start, without_passcodes
from jobs.windows import months_back, utc_date
from zoom_auth import (
    APIError,
    SkippableError,
    TransientError,
    ZoomError,
    ZoomSession,
)
from zoom_auth.endpoints import endpoint

log = structlog.get_logger(__name__)

WEBINARS_JOB = "webinars"

# Primary key of ``webinar_participants``: one row per join, as in ``participants``.
PARTICIPANT_KEY = ("webinar_uuid", "participant_key", "join_time")

_WEBINAR_PLAN_TEXT = "webinar plan"

# 400 code 12702: "Can not access a webinar a year ago."
YEAR_OLD_CODE = 12702

# Zoom's webinar participant reports reach back one year.
REPORT_MONTHS = 12

# Webinar type 5 is a one-time webinar. Types 6 and 9 are recurring.
ONE_TIME_WEBINAR = 5

_NOT_ENDED_TEXT = "not ended"


def is_webinar_plan_missing(error: ZoomError) -> bool:
    """Return whether Zoom rejected a request because the user lacks the add-on."""
    return (
        isinstance(error, APIError)
        and error.code == PLAN_CODE
        and _WEBINAR_PLAN_TEXT in error.zoom_message.lower()
    )


def fetch_webinars(
    session: ZoomSession, user_id: str
) -> Iterator[list[dict[str, Any]]]:
    """Yield pages of one user's webinars."""
    pages = session.paginate("/users/{userId}/webinars", "webinars", userId=user_id)
    for page in pages:
        yield page.records


def fetch_instances(session: ZoomSession, webinar_id: int) -> list[dict[str, Any]]:
    """Return a webinar's ended instances, each with ``uuid`` and ``start_time``."""
    body = session.get("/past_webinars/{webinarId}/instances", webinarId=webinar_id)
    records = body.get("webinars")
    if records is None:
        # NOTE: Zoom does not document the body for a webinar that has no ended
        # instance; one without the list is read as no instances.
        return []
    if not isinstance(records, list):
        msg = f"GET /past_webinars/{webinar_id}/instances returned no 'webinars' list"
        raise TransientError(msg)
    return records


def fetch_webinar_participants(session: ZoomSession, uuid: str) -> list[dict[str, Any]]:
    """Return every participant row of one webinar instance."""
    rows: list[dict[str, Any]] = []
    pages = session.paginate(
        "/report/webinars/{webinarId}/participants", "participants", webinarId=uuid
    )
    for page in pages:
        rows.extend(page.records)
    return rows


def webinar_row(record: dict[str, Any], user_id: str) -> dict[str, Any]:
    """Turn an API webinar record into a row, with ``host_id`` always set."""
    row = normalise_timestamps(without_passcodes(record))
    row["host_id"] = record.get("host_id") or user_id
    return row


def instance_row(record: dict[str, Any], webinar_id: int) -> dict[str, Any]:
    """Turn a past webinar instance into a ``webinar_instances`` row."""
    row = normalise_timestamps(record)
    row["webinar_id"] = webinar_id
    return row


def webinar_participant_row(record: dict[str, Any], uuid: str) -> dict[str, Any]:
    """Turn a webinar participant record into a row, one per join."""
    return join_row(record, "webinar_uuid", uuid)


def webinars(ctx: JobContext) -> None:
    """Save every user's webinars, their ended instances and their participants.

    The webinar and instance listings are read in full on each run. The
    participants of an instance are read once, and again while the instance
    started after the job's cursor minus the lookback, because Zoom may still
    complete its report. The rows of one instance are replaced in one
    transaction. The cursor moves to the run's start, or to just before the
    earliest instance whose participants failed.
    """
    run_plan_gated(ctx, WEBINARS_JOB, _sync_webinars)


def _sync_webinars(ctx: JobContext) -> None:
    listed = _save_webinars(ctx)
    if ctx.result.skipped_reason:
        return
    # NOTE: only webinars that Zoom still lists get their instances read, so
    # an occurrence that ends after its series left the listing is missed.
    _save_instances(
        ctx,
        [
            wid
            for wid, webinar in listed
            if _may_have_instances(webinar, ctx.started_at)
        ],
    )
    _save_participants(ctx)


def _save_webinars(ctx: JobContext) -> list[tuple[int, dict[str, Any]]]:
    """Save each host's webinars, read on the fan-out pool, and return them by ID.

    Sets ``skipped_reason`` when Zoom returned "Webinar plan is missing" for
    every user.
    """
    listed: dict[int, dict[str, Any]] = {}
    counts = {"hosts": 0, "plan_missing": 0}

    def fetch(user_id: str, emit: Emit) -> None:
        for records in fetch_webinars(ctx.session, user_id):
            rows = [webinar_row(r, user_id) for r in records]
            emit(_listing_step(rows, listed))

    def on_error(user_id: str, error: ZoomError) -> None:
        if isinstance(error, APIError) and is_webinar_plan_missing(error):
            counts["plan_missing"] += 1
            _skip_without_add_on(ctx, user_id, error)
            ctx.result.succeed()
        elif isinstance(error, SkippableError):
            ctx.result.skip(f"users/{user_id}/webinars", error)
        else:
            fail_resource(ctx, f"users/{user_id}/webinars", error)

    def on_done(user_id: str) -> None:
        counts["hosts"] += 1

    fan_out(
        ctx,
        fetch_user_ids(ctx.session),
        fetch,
        category=endpoint("/users/{userId}/webinars").category,
        on_error=on_error,
        on_done=on_done,
    )
    if counts["hosts"] == 0 and counts["plan_missing"]:
        reason = (
            "no user has the webinar add-on: Zoom returned code 200 (Webinar "
            f"plan is missing) for all {counts['plan_missing']} users; subscribe "
            f"to the webinar plan or set jobs.{WEBINARS_JOB}.enabled to false"
        )
        disable_job(ctx, reason)
    return list(listed.items())


def _listing_step(
    rows: list[dict[str, Any]], listed: dict[int, dict[str, Any]]
) -> Step:
    """Return a step that upserts webinars and notes them in ``listed``."""

    def step(db: Database) -> int:
        if rows:
            store.write_rows(db, "webinars", rows, "id")
        listed.update((row["id"], row) for row in rows)
        return len(rows)

    return step


def _skip_without_add_on(ctx: JobContext, user_id: str, error: APIError) -> None:
    """Count a user without the webinar add-on; only the first gets a warning."""
    ctx.result.skips += 1
    if ctx.result.note_once("webinar_plan_missing"):
        log.warning(
            "webinar_plan_missing",
            user_id=user_id,
            reason=error.zoom_message,
            note="further users without the add-on are counted in skips only",
        )


def _may_have_instances(webinar: dict[str, Any], now: datetime) -> bool:
    """Return False for a one-time webinar that starts after ``now``, else True."""
    if webinar.get("type") != ONE_TIME_WEBINAR or not webinar.get("start_time"):
        return True
    return state.parse_utc(webinar["start_time"]) <= now


def _save_instances(ctx: JobContext, webinar_ids: list[int]) -> None:
    """Save the ended instances of each webinar, read on the fan-out pool."""

    def fetch(webinar_id: int, emit: Emit) -> None:
        records = fetch_instances(ctx.session, webinar_id)
        rows = [instance_row(r, webinar_id) for r in records if r.get("uuid")]
        emit(store.upsert_step("webinar_instances", rows, pk="uuid"))

    fan_out(
        ctx,
        webinar_ids,
        fetch,
        category=endpoint("/past_webinars/{webinarId}/instances").category,
        on_error=skip_or_fail(ctx, lambda wid: f"past_webinars/{wid}/instances"),
    )


def _save_participants(ctx: JobContext) -> None:
    """Replace each instance's participants, read on the fan-out pool."""
    retention = months_back(utc_date(ctx.started_at), REPORT_MONTHS)
    recent = sync_start(ctx, WEBINARS_JOB, retention)
    floor = min(_first_day(ctx, retention), recent)
    fetched_at = state.format_utc(ctx.started_at)
    failed_starts: list[datetime] = []

    def fetch(instance: tuple[str, str], emit: Emit) -> None:
        uuid = instance[0]
        records = fetch_webinar_participants(ctx.session, uuid)
        rows = [webinar_participant_row(r, uuid) for r in records]
        emit(_replace_participants(uuid, rows, fetched_at))

    def on_error(instance: tuple[str, str], error: ZoomError) -> None:
        uuid, start_time = instance
        resource = f"report/webinars/{uuid}/participants"
        if not _is_skippable_report_error(error):
            failed_starts.append(
                state.parse_utc(start_time) if start_time else ctx.started_at
            )
            fail_resource(ctx, resource, error)
            return
        ctx.result.skip(resource, error)
        if _NOT_ENDED_TEXT in str(error).lower():
            # Zoom fills the report in once the instance ends; ask again then.
            return
        with store.transaction(ctx.db):
            _replace_participants(uuid, None, fetched_at)(ctx.db)

    fan_out(
        ctx,
        _instances_to_fetch(ctx, floor, recent),
        fetch,
        category=endpoint("/report/webinars/{webinarId}/participants").category,
        on_error=on_error,
    )
    reached = ctx.started_at
    if failed_starts:
        reached = min(reached, min(failed_starts) - timedelta(seconds=1))
    state.advance_cursor(ctx.db, WEBINARS_JOB, reached)


def _first_day(ctx: JobContext, retention: date) -> datetime:
    """Return the earliest start of an instance whose participants are read."""
    first = datetime.combine(retention, time(), tzinfo=UTC)
    start_date = ctx.config.sync.start_date
    return max(first, start_date) if start_date else first


def _instances_to_fetch(
    ctx: JobContext, floor: datetime, recent: datetime
) -> list[tuple[str, str]]:
    """Return the instances from ``floor`` on whose participants are read.

    That is those never read, those read less than ``sync.lookback_days``
    after they started (Zoom may have completed the report since), and with
    ``--since`` every one that started after ``recent``. An instance read
    in a run that stopped early is not read again, so every run makes
    progress.
    """
    since = state.format_utc(recent) if ctx.since is not None else "9999"
    rows = ctx.db.execute(
        "select i.uuid, i.start_time from webinar_instances i "
        "left join _webinar_participants_fetched f on f.webinar_uuid = i.uuid "
        "where i.start_time >= ? and (f.webinar_uuid is null or i.start_time >= ? "
        "or julianday(f.fetched_at) < julianday(i.start_time) + ?) "
        "order by i.start_time",
        [state.format_utc(floor), since, ctx.config.sync.lookback_days],
    ).fetchall()
    return [(uuid, start_time) for uuid, start_time in rows]


def _replace_participants(
    uuid: str, rows: list[dict[str, Any]] | None, fetched_at: str
) -> Step:
    """Return a step that replaces an instance's participants and marks it fetched.

    ``rows`` None marks the instance fetched and keeps any rows it has.
    """
    return store.replace_step(
        "webinar_participants", PARTICIPANT_KEY, uuid, rows, fetched_at
    )


def _is_skippable_report_error(error: ZoomError) -> bool:
    """Return whether a participants report is out of reach rather than failing.

    That is an instance or user gone (3001, 1001, 1010), an instance more than
    a year old (12702), or one that has not ended.
    """
    if isinstance(error, SkippableError):
        return True
    return isinstance(error, APIError) and error.code == YEAR_OLD_CODE
