"""The SQLite store: opening the file, upserting rows, recording runs.

Every write commits inside its own transaction and returns, so no transaction
stays open while a job waits on the network. A failure part-way through a job
therefore leaves every earlier page committed and intact.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from jobs import schema
from jobs.config import ConfigError
from zoom_auth import TransientError

# Seconds a write waits for another connection's write lock (SQLite's busy
# timeout) before it fails.
BUSY_TIMEOUT = 30.0

# Error text for a run that was still "running" when its process ended.
ABANDONED = "the process ended before the run finished"


def open_database(path: Path) -> Database:
    """Open (creating it with mode 0600) the SQLite file and update its schema.

    The database runs in WAL mode, so readers such as Datasette never block a
    job that writes. The connection belongs to the calling thread.

    Raises:
        ConfigError: the folder is missing, or the file cannot be created or is
            not a SQLite database.
        TransientError: another connection kept the database locked.
    """
    if not path.parent.is_dir():
        msg = f"folder {path.parent} does not exist; create it or set another path"
        raise ConfigError(msg, key="database")
    try:
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    except OSError as exc:
        msg = f"cannot open {path}: {exc.strerror}; check the path and permissions"
        raise ConfigError(msg, key="database") from exc
    db = Database(sqlite3.connect(path, timeout=BUSY_TIMEOUT))
    try:
        db.enable_wal()
        if schema.migrations.pending(db):
            # The write lock is taken up front, because two connections that
            # migrate one new file at once would otherwise fail at once.
            with transaction(db):
                schema.apply(db)
    except sqlite3.OperationalError as exc:
        db.close()
        msg = f"cannot update {path}: {exc}; retry when the other writer is done"
        raise TransientError(msg) from exc
    except sqlite3.DatabaseError as exc:
        db.close()
        msg = f"{path} is not a SQLite database ({exc}); point it at another file"
        raise ConfigError(msg, key="database") from exc
    return db


@contextmanager
def transaction(db: Database) -> Iterator[Database]:
    """Run a block in one write transaction, committed at its end.

    ``BEGIN IMMEDIATE`` takes SQLite's write lock at the start, waiting up to
    :data:`BUSY_TIMEOUT` for another writer. A deferred ``BEGIN`` would fail at
    once with "database is locked" when it meets a concurrent write in WAL mode.
    """
    db.conn.execute("BEGIN IMMEDIATE")
    try:
        with db.atomic():
            yield db
    except BaseException:
        db.conn.rollback()
        raise
    db.conn.commit()


def upsert(db: Database, table: str, rows: Iterable[Mapping[str, Any]], pk: str) -> int:
    """Insert or update rows by primary key in one transaction.

    A field not yet in the table becomes a new column; lists and objects are
    stored as JSON text. Columns a row does not mention keep their values.

    Returns:
        The number of rows written.
    """
    batch = [dict(row) for row in rows]
    if not batch:
        return 0
    with transaction(db):
        db[table].upsert_all(batch, pk=pk, alter=True)
    return len(batch)


def upsert_step(
    table: str, rows: Iterable[Mapping[str, Any]], pk: str | tuple[str, ...]
) -> Callable[[Database], int]:
    """Return a write step that upserts ``rows`` inside the caller's transaction.

    The step returns the number of rows written. See :func:`upsert`.
    """
    batch = [dict(row) for row in rows]

    def step(db: Database) -> int:
        if batch:
            db[table].upsert_all(batch, pk=pk, alter=True)
        return len(batch)

    return step


def start_run(db: Database, run_id: str, job: str, started_at: str) -> None:
    """Record that a job run started; its status stays "running" until it ends."""
    row = {"run_id": run_id, "job": job, "started_at": started_at}
    with transaction(db):
        db["_runs"].insert({**row, "status": "running"})


def finish_run(db: Database, run_id: str, **fields: Any) -> None:
    """Complete a run's row with its outcome (status, rows, requests, ...)."""
    with transaction(db):
        db["_runs"].update(run_id, fields)


def close_abandoned_runs(db: Database, finished_at: str) -> int:
    """Mark runs left "running" by a process that died as failed.

    Call it only while holding the database's run lock, when no other process
    can be running a job on this file.

    Returns:
        The number of runs marked.
    """
    with transaction(db):
        cursor = db.conn.execute(
            "update _runs set status = 'failed', finished_at = ?, error = ? "
            "where status = 'running'",
            [finished_at, ABANDONED],
        )
    return cursor.rowcount


def add_requests(
    db: Database,
    day: str,
    sent: Mapping[str, int],
    remaining: Mapping[str, int],
    exhausted_until: Mapping[str, str],
) -> None:
    """Add one run's requests per category to a UTC day's counts in ``_rate_limits``.

    ``remaining`` and ``exhausted_until`` replace the stored figures of the
    categories they name.
    """
    categories = set(sent) | set(remaining) | set(exhausted_until)
    with transaction(db):
        for category in sorted(categories):
            db.execute(
                "insert into _rate_limits (day, category, requests) values (?, ?, 0) "
                "on conflict (day, category) do nothing",
                [day, category],
            )
            db.execute(
                "update _rate_limits set requests = requests + ?, "
                "remaining = coalesce(?, remaining), "
                "exhausted_until = coalesce(?, exhausted_until) "
                "where day = ? and category = ?",
                [
                    sent.get(category, 0),
                    remaining.get(category),
                    exhausted_until.get(category),
                    day,
                    category,
                ],
            )


def exhausted_categories(db: Database, now: str) -> dict[str, str]:
    """Return the categories whose daily limit is used up after ``now``, with
    the time each may be called again."""
    rows = db.execute(
        "select category, max(exhausted_until) from _rate_limits "
        "where exhausted_until > ? group by category",
        [now],
    ).fetchall()
    return dict(rows)


def table_counts(db: Database) -> dict[str, int]:
    """Return the row count of every table, ``_runs`` included.

    The migrations table of sqlite-utils is left out.
    """
    names = [n for n in db.table_names() if not n.startswith("_sqlite")]
    return {name: db[name].count for name in sorted(names)}
