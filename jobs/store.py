"""The SQLite store: opening the file, upserting rows, recording runs.

Every write commits inside its own transaction and returns, so no transaction
stays open while a job waits on the network. A failure part-way through a job
therefore leaves every earlier page committed and intact.
"""

from __future__ import annotations

import functools
import json
import operator
import os
import sqlite3
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlite_utils import Database
from sqlite_utils.db import quote_identifier

from jobs import schema
from jobs.config import ConfigError
from zoom_auth import TransientError

# Seconds a write waits for another connection's write lock (SQLite's busy
# timeout) before it fails.
BUSY_TIMEOUT = 30.0

# A primary key: one column, or several.
Key = str | tuple[str, ...]

# Column names of each table, per connection. Only this process changes the
# schema while it holds the run lock, and it drops an entry when it does.
_COLUMNS: weakref.WeakKeyDictionary[Database, dict[str, frozenset[str]]] = (
    weakref.WeakKeyDictionary()
)

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
    try:
        db.conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        msg = (
            f"cannot write the database ({exc}) after waiting {BUSY_TIMEOUT:.0f} s "
            "for another writer; the next run retries"
        )
        raise TransientError(msg) from exc
    try:
        with db.atomic():
            yield db
    except BaseException:
        db.conn.rollback()
        raise
    db.conn.commit()


def upsert(db: Database, table: str, rows: Iterable[Mapping[str, Any]], pk: Key) -> int:
    """Insert or update rows by primary key in one transaction.

    A field not yet in the table becomes a new column; lists and objects are
    stored as JSON text. Columns a row does not mention keep their values.

    Returns:
        The number of rows written.
    """
    batch = list(rows)
    if not batch:
        return 0
    with transaction(db):
        return write_rows(db, table, batch, pk)


def upsert_step(
    table: str, rows: Iterable[Mapping[str, Any]], pk: Key
) -> Callable[[Database], int]:
    """Return a write step that upserts ``rows`` inside the caller's transaction.

    The step returns the number of rows written. See :func:`upsert`.
    """
    batch = list(rows)
    return lambda db: write_rows(db, table, batch, pk)


def replace_step(
    table: str,
    pk: tuple[str, ...],
    parent: str,
    rows: Sequence[Mapping[str, Any]] | None,
    fetched_at: str,
) -> Callable[[Database], int]:
    """Return a write step that replaces one parent's rows and records the read.

    ``pk[0]`` is the column that names the parent, such as ``meeting_uuid``.
    The step deletes the parent's rows, writes ``rows`` and stores
    ``fetched_at`` in ``_<table>_fetched``. ``rows`` None only records the
    read and keeps the rows the parent has. The step returns the rows written.
    """
    column = pk[0]

    def step(db: Database) -> int:
        if rows is not None:
            db.execute(f"delete from [{table}] where [{column}] = ?", [parent])
            write_rows(db, table, rows, pk)
        mark = {column: parent, "fetched_at": fetched_at}
        write_rows(db, f"_{table}_fetched", [mark], column)
        return len(rows or ())

    return step


def write_rows(
    db: Database, table: str, rows: Sequence[Mapping[str, Any]], pk: Key
) -> int:
    """Upsert rows by primary key inside the caller's transaction.

    Every column that any of the rows names is set in each row, to NULL where
    a row lacks it, as sqlite-utils' ``upsert_all`` does. When the table has
    all those columns and every key is present, the rows go to SQLite in one
    ``executemany``. Otherwise ``upsert_all`` adds the columns (or creates the
    table) and reports a missing key.

    Returns:
        The number of rows written.
    """
    if not rows:
        return 0
    columns = _columns(rows)
    keys = (pk,) if isinstance(pk, str) else pk
    known = _table_columns(db, table)
    fast = known is not None and known.issuperset(columns)
    if fast and not any(None in key for key in _values(rows, list(keys))):
        sql = _upsert_sql(table, tuple(columns), keys)
        db.conn.executemany(sql, _values(rows, columns))
    else:
        db[table].upsert_all(rows, pk=pk, alter=True)
        _COLUMNS.get(db, {}).pop(table, None)
    return len(rows)


def _columns(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """Return every field the rows name, in the order first seen."""
    first = rows[0].keys()
    if all(row.keys() == first for row in rows):
        return list(first)
    return list(dict.fromkeys(name for row in rows for name in row))


def _values(rows: Sequence[Mapping[str, Any]], columns: list[str]) -> list[Any]:
    """Return each row's values in column order as sequences, None where a row
    lacks one."""
    if len(columns) > 1:
        try:
            return list(map(operator.itemgetter(*columns), rows))
        except KeyError:
            pass
    return [[row.get(c) for c in columns] for row in rows]


def _json_text(value: object) -> str:
    """Store a list or an object as sqlite-utils does: JSON text."""
    return json.dumps(value, default=repr, ensure_ascii=False)


# sqlite3 calls these only for values of these types, so the other values
# reach SQLite without a Python call each.
for _kind in (dict, list, tuple):
    sqlite3.register_adapter(_kind, _json_text)


def _table_columns(db: Database, table: str) -> frozenset[str] | None:
    """Return a table's column names, cached per connection; None if it is absent."""
    cached = _COLUMNS.setdefault(db, {})
    if table not in cached:
        query = "select name from pragma_table_info(?)"
        names = [name for (name,) in db.execute(query, [table])]
        if not names:
            return None
        cached[table] = frozenset(names)
    return cached[table]


@functools.lru_cache(maxsize=128)
def _upsert_sql(table: str, columns: tuple[str, ...], keys: tuple[str, ...]) -> str:
    quoted = {c: quote_identifier(c) for c in columns}
    names = ", ".join(quoted.values())
    marks = ", ".join("?" for _ in columns)
    updates = ", ".join(
        f"{quoted[c]} = excluded.{quoted[c]}" for c in columns if c not in keys
    )
    action = f"do update set {updates}" if updates else "do nothing"
    conflict = ", ".join(quote_identifier(k) for k in keys)
    return (
        f"insert into {quote_identifier(table)} ({names}) values ({marks}) "
        f"on conflict ({conflict}) {action}"
    )


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
