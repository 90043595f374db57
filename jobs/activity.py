"""The ``activity_logs`` and ``operation_logs`` jobs: account-wide audit reports.

Sign-in events and admin operations carry no ID, several can share one
second, and two can be identical in every field. Each row is therefore keyed
by a hash of its fields (``record_hash``) plus its occurrence number among
identical rows in the window's listing (``occurrence``). Identical rows share
their second and so their UTC date. Windows are whole dates, so a window that
contains one of them contains all of them, and a later run that reads the
same day again, in a window with other bounds, computes the same keys.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time
from typing import Any

import structlog

from jobs import state, store
from jobs.base import JobContext
from jobs.plan import JOB_ENDING_ERRORS, fail_resource, run_plan_gated
from jobs.sync import normalise_timestamps, sync_start
from jobs.windows import Window, month_windows, months_back, utc_date
from zoom_auth import (
    ENDPOINTS,
    APIError,
    PaginationError,
    TransientError,
    ZoomSession,
)
from zoom_auth.session import PAGE_TOKEN_INVALID_CODE

log = structlog.get_logger(__name__)

# Primary key of both log tables.
LOG_KEY = ("record_hash", "occurrence")

# Zoom's reports cover the recent six months.
REPORT_MONTHS = 6


@dataclass(frozen=True)
class LogReport:
    """A report endpoint that lists timed events between two dates.

    Attributes:
        job: the job name, which keys the cursor.
        template: the endpoint's path template.
        key: the name of the list in each page.
        table: the table the rows go to.
    """

    job: str
    template: str
    key: str
    table: str


ACTIVITY_LOGS = LogReport(
    "activity_logs", "/report/activities", "activity_logs", "activity_logs"
)
OPERATION_LOGS = LogReport(
    "operation_logs", "/report/operationlogs", "operation_logs", "operation_logs"
)


def record_hash(record: Mapping[str, Any]) -> str:
    """Return the SHA-256 hex digest of a record's fields, as Zoom sent them."""
    text = json.dumps(
        record, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def keyed_rows(
    records: list[dict[str, Any]], seen: Counter[str]
) -> list[dict[str, Any]]:
    """Turn records into rows keyed by hash and occurrence.

    Args:
        records: one page of the listing.
        seen: how often each hash occurred on earlier pages of the same
            listing; updated in place.
    """
    rows = []
    for record in records:
        digest = record_hash(record)
        row = normalise_timestamps(record)
        row["record_hash"] = digest
        row["occurrence"] = seen[digest]
        seen[digest] += 1
        rows.append(row)
    return rows


def iter_listing(
    session: ZoomSession, report: LogReport, params: Mapping[str, str]
) -> Iterator[tuple[bool, list[dict[str, Any]]]]:
    """Yield ``(restarted, records)`` for each page of one listing.

    ``restarted`` is True for the first page of a listing that began again
    because Zoom reported an expired page token (code 300). That happens at
    most once, and the caller must then forget the pages before it, because
    they are read again. ``ZoomSession.paginate`` restarts without telling
    its caller, which would count identical rows twice.

    Raises:
        PaginationError: a second page token expired, or Zoom repeated a
            page token.
        TransientError: a page has no list of records.
    """
    query = {**params, "page_size": ENDPOINTS[report.template].request_page_size}
    token, restarted, fresh = "", False, False
    while True:
        page_query = {**query, "next_page_token": token} if token else dict(query)
        try:
            body = session.get(report.template, page_query)
        except APIError as exc:
            if not token or exc.code != PAGE_TOKEN_INVALID_CODE:
                raise
            if restarted:
                msg = f"{exc}; the listing was already restarted once"
                raise PaginationError(msg) from exc
            log.warning("page_token_expired", path=exc.path)
            token, restarted, fresh = "", True, True
            continue
        yield fresh, _page_records(body, report)
        fresh = False
        next_token = body.get("next_page_token") or ""
        if not next_token:
            return
        if next_token == token:
            msg = f"GET {report.template} returned the same next_page_token twice"
            raise PaginationError(msg)
        token = next_token


def _page_records(body: dict[str, Any], report: LogReport) -> list[dict[str, Any]]:
    """Return a page's records; a page without them is accepted only when empty."""
    records = body.get(report.key)
    if isinstance(records, list):
        return records
    if records is None and body.get("total_records") == 0:
        return []
    msg = f"GET {report.template} returned a page without a {report.key!r} list"
    raise TransientError(msg)


def save_window(ctx: JobContext, report: LogReport, window: Window) -> None:
    """Read one window's whole listing, then replace the window's rows with it.

    Events that arrive while the pages are read shift the listing, so a
    page can repeat the tail of the one before it. Replacing the window in
    one transaction means a later read of the same window corrects such a
    listing instead of keeping its repeats.
    """
    seen: Counter[str] = Counter()
    rows: list[dict[str, Any]] = []
    for restarted, records in iter_listing(ctx.session, report, window.params):
        if restarted:
            seen.clear()
            rows.clear()
        rows.extend(keyed_rows(records, seen))
    first = state.format_utc(datetime.combine(window.first, time(), tzinfo=UTC))
    end = state.format_utc(window.end)
    with store.transaction(ctx.db):
        ctx.db.execute(
            f"delete from [{report.table}] where time >= ? and time < ?", [first, end]
        )
        if rows:
            ctx.db[report.table].upsert_all(rows, pk=LOG_KEY, alter=True)
    ctx.result.rows += len(rows)


def sync_log_report(ctx: JobContext, report: LogReport) -> None:
    """Save a report's events month window by month window, from the cursor on.

    The cursor moves to a window's end once the window is committed, and no
    further than the run's start. A window that fails stops the job for this
    run, so the next run starts from that window.
    """
    today = utc_date(ctx.started_at)
    start = sync_start(ctx, report.job, months_back(today, REPORT_MONTHS))
    for window in month_windows(utc_date(start), today):
        resource = f"{report.template.lstrip('/')}?from={window.first}&to={window.last}"
        try:
            save_window(ctx, report, window)
        except JOB_ENDING_ERRORS:
            raise
        except (TransientError, APIError) as exc:
            fail_resource(ctx, resource, exc)
            return
        ctx.result.succeed()
        reached = min(window.end, ctx.started_at)
        state.advance_cursor(ctx.db, report.job, reached)


def activity_logs(ctx: JobContext) -> None:
    """Save sign-in and sign-out events from ``GET /report/activities``."""
    run_plan_gated(ctx, ACTIVITY_LOGS.job, lambda c: sync_log_report(c, ACTIVITY_LOGS))


def operation_logs(ctx: JobContext) -> None:
    """Save admin and user operations from ``GET /report/operationlogs``."""
    run_plan_gated(
        ctx, OPERATION_LOGS.job, lambda c: sync_log_report(c, OPERATION_LOGS)
    )
