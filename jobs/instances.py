"""The ``meeting_instances`` and ``participants`` jobs: ended meetings and who attended.

A recurring meeting keeps one numeric ID for the whole series, and asking Zoom
for that ID returns only the latest occurrence. Each ended occurrence has its
own UUID, so instances are read from the per-user meeting report, one window
at a time, and keyed by UUID.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

import structlog

from jobs import state, store
from jobs.base import JobContext
from jobs.fanout import Emit, Step, fan_out, skip_or_fail
from jobs.meetings import fetch_user_ids
from jobs.plan import fail_resource, run_plan_gated
from jobs.sync import (
    join_row,
    midnight,
    normalise_timestamps,
    sync_start,
    without_passcodes,
)
from jobs.windows import month_windows, months_back, utc_date
from zoom_auth import (
    APIError,
    AuthenticationError,
    DailyLimitError,
    SkippableError,
    StopRequested,
    TransientError,
    ZoomError,
    ZoomSession,
)
from zoom_auth.endpoints import endpoint

log = structlog.get_logger(__name__)

INSTANCES_JOB = "meeting_instances"

# Primary key of ``participants``: one row per join of a person to an instance.
PARTICIPANT_KEY = ("meeting_uuid", "participant_key", "join_time")
PARTICIPANTS_JOB = "participants"

# Instances read from the database at a time.
INSTANCE_CHUNK = 1000

# 400 code 12702: Zoom no longer reports on a meeting more than a year old.
YEAR_OLD_CODE = 12702

# Zoom's meeting reports cover the recent six months.
REPORT_MONTHS = 6


def fetch_report_meetings(
    session: ZoomSession, user_id: str, params: dict[str, str]
) -> Iterator[list[dict[str, Any]]]:
    """Yield pages of one host's ended meeting instances in a date window."""
    pages = session.paginate(
        "/report/users/{userId}/meetings",
        "meetings",
        {"type": "past", **params},
        userId=user_id,
    )
    for page in pages:
        yield page.records


def fetch_participants(session: ZoomSession, uuid: str) -> list[dict[str, Any]]:
    """Return every participant row of one meeting instance."""
    rows: list[dict[str, Any]] = []
    pages = session.paginate(
        "/report/meetings/{meetingId}/participants", "participants", meetingId=uuid
    )
    for page in pages:
        rows.extend(page.records)
    return rows


def instance_row(record: dict[str, Any], host_id: str) -> dict[str, Any]:
    """Turn a report record into a ``meeting_instances`` row."""
    row = normalise_timestamps(without_passcodes(record))
    row["host_id"] = host_id
    return row


def participant_row(record: dict[str, Any], meeting_uuid: str) -> dict[str, Any]:
    """Turn a meeting participant record into a row, one per join."""
    return join_row(record, "meeting_uuid", meeting_uuid)


def duration_seconds(text: object) -> int | None:
    """Convert a dashboard duration such as "01:02:03" or "56:07" to seconds."""
    if not isinstance(text, str) or not text:
        return None
    seconds = 0
    for part in text.split(":"):
        seconds = seconds * 60 + int(part)
    return seconds


def meeting_instances(ctx: JobContext) -> None:
    """Save every ended meeting instance of every active and inactive host.

    Each host has its own cursor. A window's rows are committed before the
    host's cursor moves to the window's end, so a failed window is fetched
    again by the next run. With ``sync.dashboards`` the instances come from
    the account-wide dashboard instead, with one cursor.
    """
    if ctx.config.sync.dashboards:
        run_plan_gated(ctx, INSTANCES_JOB, _instances_from_dashboard)
    else:
        run_plan_gated(ctx, INSTANCES_JOB, _instances_from_reports)


def _instances_from_reports(ctx: JobContext) -> None:
    """Read each host's report on the fan-out pool, window after window.

    Only hosts that the active-hosts report lists for the dates to read are
    asked; the cursors of the others move to the run's start. A window's rows
    and the host's cursor move commit in order, so a host's cursor never
    passes a window whose rows are not committed.
    """
    today = utc_date(ctx.started_at)
    retention = months_back(today, REPORT_MONTHS)
    hosts = [
        (user_id, sync_start(ctx, INSTANCES_JOB, retention, partition=user_id))
        for user_id in fetch_user_ids(ctx.session)
    ]
    if hosts:
        first = min(start for _, start in hosts)
        active = fetch_active_hosts(ctx, utc_date(first), today)
        if active is not None:
            idle = [user_id for user_id, _ in hosts if user_id not in active]
            with store.transaction(ctx.db):
                for user_id in idle:
                    state.write_cursor(ctx.db, INSTANCES_JOB, ctx.started_at, user_id)
            hosts = [host for host in hosts if host[0] in active]

    def fetch(host: tuple[str, datetime], emit: Emit) -> None:
        user_id, start = host
        for window in month_windows(utc_date(start), today):
            for records in fetch_report_meetings(ctx.session, user_id, window.params):
                rows = [instance_row(r, user_id) for r in records]
                emit(store.upsert_step("meeting_instances", rows, pk="uuid"))
            reached = min(window.end, ctx.started_at)
            emit(state.cursor_step(INSTANCES_JOB, reached, partition=user_id))

    fan_out(
        ctx,
        hosts,
        fetch,
        category=endpoint("/report/users/{userId}/meetings").category,
        on_error=skip_or_fail(ctx, lambda host: f"report/users/{host[0]}/meetings"),
    )


def fetch_active_hosts(ctx: JobContext, first: date, last: date) -> set[str] | None:
    """Return the IDs of users who hosted a meeting from ``first`` to ``last``.

    The active-hosts report covers the whole account in a few pages per
    month, so an hourly run requests the per-user report only for hosts who had
    a meeting. When the report cannot be read (a missing scope, a plan without
    it, a failure after retries), None is returned and every host is read.

    NOTE: this relies on Zoom's active-hosts report listing every host whose
    ended meetings the per-user report shows for the same dates. A host it
    lists late is still read while the meeting is within the lookback.
    """
    active: set[str] = set()
    try:
        for window in month_windows(first, last):
            pages = ctx.session.paginate(
                "/report/users", "users", {"type": "active", **window.params}
            )
            for page in pages:
                active.update(str(r["id"]) for r in page.records if r.get("id"))
    except (DailyLimitError, StopRequested, AuthenticationError):
        raise
    except (APIError, TransientError) as exc:
        log.warning(
            "active_hosts_unavailable",
            error=str(exc),
            consequence="every host's meeting report is read",
        )
        return None
    return active


def _instances_from_dashboard(ctx: JobContext) -> None:
    """Save ended instances from GET /metrics/meetings?type=past, month by month.

    The dashboard gives the host's email rather than an ID, and its
    ``duration`` is an "hh:mm:ss" string, stored in seconds.
    """
    today = utc_date(ctx.started_at)
    start = sync_start(ctx, INSTANCES_JOB, months_back(today, REPORT_MONTHS))
    host_ids = dict(ctx.db.execute("select lower(email), id from users").fetchall())
    for window in month_windows(utc_date(start), today):
        pages = ctx.session.paginate(
            "/metrics/meetings", "meetings", {"type": "past", **window.params}
        )
        for page in pages:
            rows = []
            for record in page.records:
                row = normalise_timestamps(record)
                row["duration"] = duration_seconds(record.get("duration"))
                email = str(record.get("email") or "").lower()
                row["host_id"] = host_ids.get(email)
                rows.append(row)
            ctx.result.rows += store.upsert(
                ctx.db, "meeting_instances", rows, pk="uuid"
            )
        reached = min(window.end, ctx.started_at)
        state.advance_cursor(ctx.db, INSTANCES_JOB, reached)


def participants(ctx: JobContext) -> None:
    """Save the participants of each stored meeting instance that needs them."""
    run_plan_gated(ctx, PARTICIPANTS_JOB, _sync_participants)


def _sync_participants(ctx: JobContext) -> None:
    """Save the participants of each stored meeting instance that needs them.

    That is every instance not fetched yet, plus those read less than
    ``sync.lookback_days`` after they ended, whose reports Zoom may still have
    completed since. With ``--since``, every instance that ended after it.
    Instances are read on the fan-out pool, and the rows of one instance are
    replaced in one transaction. The cursor moves to the run's start, or to
    the end of the earliest instance that failed, so failed instances are
    fetched again.
    """
    retention = months_back(utc_date(ctx.started_at), 12)
    start = sync_start(ctx, PARTICIPANTS_JOB, retention)
    oldest = state.format_utc(midnight(retention))
    failed_ends: list[datetime] = []
    fetched_at = state.format_utc(ctx.started_at)

    def fetch(instance: tuple[str, str], emit: Emit) -> None:
        uuid = instance[0]
        rows = [participant_row(r, uuid) for r in fetch_participants(ctx.session, uuid)]
        emit(_replace_participants(uuid, rows, fetched_at))

    def on_error(instance: tuple[str, str], error: ZoomError) -> None:
        uuid, end_time = instance
        resource = f"report/meetings/{uuid}/participants"
        if _is_skip(error):
            ctx.result.skip(resource, error)
            with store.transaction(ctx.db):
                _replace_participants(uuid, None, fetched_at)(ctx.db)
            return
        failed_ends.append(state.parse_utc(end_time) if end_time else ctx.started_at)
        fail_resource(ctx, resource, error)

    fan_out(
        ctx,
        _instances_to_fetch(ctx, start, oldest),
        fetch,
        category=endpoint("/report/meetings/{meetingId}/participants").category,
        on_error=on_error,
    )
    reached = ctx.started_at
    if failed_ends:
        reached = min(reached, min(failed_ends) - timedelta(seconds=1))
    state.advance_cursor(ctx.db, PARTICIPANTS_JOB, reached)


def _replace_participants(
    uuid: str, rows: list[dict[str, Any]] | None, fetched_at: str
) -> Step:
    """Return a step that replaces an instance's participants and marks it fetched.

    ``rows`` None marks the instance fetched and keeps any rows it has.
    """
    return store.replace_step("participants", PARTICIPANT_KEY, uuid, rows, fetched_at)


def _is_skip(error: Exception) -> bool:
    """Return whether a participants error means "nothing to read here".

    That is a gone meeting or user (3001, 1001, 1010), a meeting that has not
    ended, or 12702 for a meeting Zoom no longer reports on.
    """
    if isinstance(error, SkippableError):
        return True
    return isinstance(error, APIError) and error.code == YEAR_OLD_CODE


def _instances_to_fetch(
    ctx: JobContext, start: datetime, oldest: str
) -> Iterator[tuple[str, str]]:
    """Yield the instances to read, newest first, none older than ``oldest``.

    Newest first, so a run of failures among old instances cannot keep newer
    ones from being read. They are read in chunks, so the list never sits in
    memory whole. An instance read in an earlier run that stopped early (at
    its request budget, say) is not read again unless it was read within the
    lookback of its end, so every run makes progress.
    """
    # Without --since no end_time reaches this, so the clause selects nothing.
    since = state.format_utc(start) if ctx.since is not None else "9999"
    query = (
        "select i.uuid, i.end_time from meeting_instances i "
        "left join _participants_fetched f on f.meeting_uuid = i.uuid "
        "where i.end_time >= ? and (f.meeting_uuid is null or i.end_time >= ? "
        "or julianday(f.fetched_at) < julianday(i.end_time) + ?)"
    )
    params: list[object] = [oldest, since, ctx.config.sync.lookback_days]
    order = " order by i.end_time desc, i.uuid desc limit ?"
    rows = ctx.db.execute(query + order, [*params, INSTANCE_CHUNK]).fetchall()
    while rows:
        yield from rows
        last_uuid, last_end = rows[-1]
        after = " and (i.end_time < ? or (i.end_time = ? and i.uuid < ?))"
        page = [*params, last_end, last_end, last_uuid, INSTANCE_CHUNK]
        rows = ctx.db.execute(query + after + order, page).fetchall()
