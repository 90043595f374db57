"""The ``daily_usage`` job: the account's daily usage report, one row per date.

``GET /report/daily`` returns one calendar month, and only "a month that
falls within the recent 6 months". Each run reads from the month of the
cursor minus the lookback up to the current month, which is read again on
every run because its days fill in as they pass.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from typing import Any

from jobs import state, store
from jobs.base import JobContext
from jobs.plan import JOB_ENDING_ERRORS, fail_resource, run_plan_gated
from jobs.sync import sync_start
from jobs.windows import months_back, utc_date
from zoom_auth import APIError, TransientError, ZoomSession

DAILY_USAGE_JOB = "daily_usage"

# Zoom serves the daily report for the recent six months only.
REPORT_MONTHS = 6


def fetch_daily_usage(session: ZoomSession, month: date) -> list[dict[str, Any]]:
    """Return the per-date usage records of one calendar month.

    Raises:
        TransientError: the response has no ``dates`` list.
    """
    params = {"year": month.year, "month": month.month}
    body = session.get("/report/daily", params)
    records = body.get("dates")
    if not isinstance(records, list):
        msg = f"GET /report/daily?year={month.year}&month={month.month} has no dates"
        raise TransientError(msg)
    return records


def usage_row(record: dict[str, Any]) -> dict[str, Any]:
    """Turn a daily usage record into a row keyed by its ``date`` (yyyy-mm-dd)."""
    return dict(record)


def month_starts(first: date, last: date) -> Iterator[date]:
    """Yield the first day of every month from ``first``'s to ``last``'s."""
    index = first.year * 12 + first.month - 1
    end = last.year * 12 + last.month - 1
    while index <= end:
        yield date(index // 12, index % 12 + 1, 1)
        index += 1


def next_month(month: date) -> date:
    """Return the first day of the month after ``month``."""
    index = month.year * 12 + month.month
    return date(index // 12, index % 12 + 1, 1)


def daily_usage(ctx: JobContext) -> None:
    """Save the daily usage report for each month from the cursor to now.

    The cursor moves to the end of each month once its rows are committed,
    and no further than the run's start. A month that fails stops the job for
    this run, so the next run starts from that month.
    """
    run_plan_gated(ctx, DAILY_USAGE_JOB, _sync_daily_usage)


def _sync_daily_usage(ctx: JobContext) -> None:
    today = utc_date(ctx.started_at)
    start = sync_start(ctx, DAILY_USAGE_JOB, months_back(today, REPORT_MONTHS))
    for month in month_starts(utc_date(start), today):
        resource = f"report/daily?year={month.year}&month={month.month}"
        try:
            records = fetch_daily_usage(ctx.session, month)
        except JOB_ENDING_ERRORS:
            raise
        except (TransientError, APIError) as exc:
            fail_resource(ctx, resource, exc)
            return
        ctx.result.succeed()
        rows = [usage_row(r) for r in records if r.get("date")]
        ctx.result.rows += store.upsert(ctx.db, "daily_usage", rows, pk="date")
        month_end = datetime.combine(next_month(month), time(), tzinfo=UTC)
        state.advance_cursor(ctx.db, DAILY_USAGE_JOB, min(month_end, ctx.started_at))
