"""Incremental sync state: one cursor per job, or per partition of a job.

A cursor is the moment up to which a job (or one user's share of it) has
committed every record. It moves only forward, only after the rows it covers
are committed, and never past the start of the run that moves it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlite_utils import Database

from jobs import store

# Partition of a job that keeps a single cursor.
WHOLE_JOB = ""


def get_cursor(db: Database, job: str, partition: str = WHOLE_JOB) -> datetime | None:
    """Return a cursor as an aware UTC datetime, or None before the first run."""
    row = db.execute(
        "select cursor from _state where job = ? and partition = ?", [job, partition]
    ).fetchone()
    return parse_utc(row[0]) if row and row[0] else None


def advance_cursor(
    db: Database, job: str, moment: datetime, partition: str = WHOLE_JOB
) -> datetime:
    """Move a cursor forward to ``moment``; an earlier moment leaves it alone.

    Returns:
        The cursor after the call.
    """
    with store.transaction(db):
        return write_cursor(db, job, moment, partition)


def write_cursor(
    db: Database, job: str, moment: datetime, partition: str = WHOLE_JOB
) -> datetime:
    """Move a cursor forward inside the caller's transaction; see :func:`advance_cursor`."""
    current = get_cursor(db, job, partition)
    if current is not None and current >= moment:
        return current
    row = {
        "job": job,
        "partition": partition,
        "cursor": format_utc(moment),
        "updated_at": format_utc(datetime.now(UTC)),
    }
    db["_state"].upsert(row, pk=("job", "partition"))
    return moment


def cursor_step(
    job: str, moment: datetime, partition: str = WHOLE_JOB
) -> Callable[[Database], int]:
    """Return a write step that moves a cursor forward; it writes no data rows."""

    def step(db: Database) -> int:
        write_cursor(db, job, moment, partition)
        return 0

    return step


def format_utc(moment: datetime) -> str:
    """Format an aware datetime as ISO-8601 UTC with a "Z" suffix."""
    text = moment.astimezone(UTC).isoformat(timespec="seconds")
    return text.replace("+00:00", "Z")


def parse_utc(text: str) -> datetime:
    """Parse an ISO-8601 timestamp; a value without offset is taken as UTC."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
