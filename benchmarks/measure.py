"""The measuring child processes of the benchmark; each prints one JSON line.

``sync TOKEN_URL DB SPEEDUP OFFSET WORKERS DASHBOARDS`` runs the benchmark's
jobs with the project's runner. ``store SOURCE_DB FOLDER`` writes the
participant rows of a synced database through the store and through raw
``executemany``. Each runs in its own process, so its peak RSS is its own.
"""

from __future__ import annotations

import json
import resource
import sqlite3
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import structlog

from benchmarks.sync import JOBS, PLAN, RATE_SHARE
from jobs import store
from jobs.config import JOB_NAMES, Config, JobSettings, SyncSettings, ZoomSettings
from jobs.fanout import STEPS_PER_COMMIT
from jobs.instances import PARTICIPANT_KEY
from jobs.runner import build_session, run_jobs
from zoom_auth import Pacer
from zoom_fake import DEMO_ACCOUNT_ID, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET

# Rows per page, as the participants report returns them.
PAGE_ROWS = 300


def main(argv: list[str]) -> int:
    command, *arguments = argv
    if command == "sync":
        figures = sync(*arguments)
    elif command == "store":
        figures = store_throughput(Path(arguments[0]), Path(arguments[1]))
    else:
        raise SystemExit(f"unknown command {command!r}; use sync or store")
    figures["peak_rss_mb"] = round(peak_rss_mb(), 1)
    print(json.dumps(figures))
    return 0


def sync(
    token_url: str,
    database: str,
    speedup: str,
    offset: str,
    workers: str,
    dashboards: str,
) -> dict[str, Any]:
    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(40),
        cache_logger_on_first_use=True,
    )
    factor = float(speedup)
    config = Config(
        zoom=ZoomSettings(
            account_id=DEMO_ACCOUNT_ID,
            client_id=DEMO_CLIENT_ID,
            client_secret=DEMO_CLIENT_SECRET,
            token_url=token_url,
            plan=PLAN,
            rate_share=RATE_SHARE,
        ),
        database=Path(database),
        jobs={name: JobSettings(name) for name in JOB_NAMES},
        sync=SyncSettings(workers=int(workers) or None, dashboards=dashboards == "1"),
    )
    session = build_session(config)
    # The emulator counts its windows on time sped up by ``factor``, so the
    # pacer, and the latency that sizes the pool, run on the same time.
    session.pacer = Pacer(
        PLAN,
        RATE_SHARE,
        clock=lambda: time.monotonic() * factor,
        sleep=lambda seconds: time.sleep(seconds / factor),
    )
    now = datetime.now(UTC) + timedelta(seconds=float(offset))
    started = time.monotonic()
    outcomes = run_jobs(JOBS, config, session, clock=lambda: now)
    wall = time.monotonic() - started
    session.close()
    ids = [o.run_id for o in outcomes]
    db = store.open_database(Path(database))
    marks = ", ".join("?" for _ in ids)
    runs = db.execute(
        "select job, requests, (julianday(finished_at) - julianday(started_at)) "
        f"* 86400 from _runs where run_id in ({marks})",
        ids,
    ).fetchall()
    db.close()
    return {
        "requests_by_job": {job: requests for job, requests, _ in runs},
        "seconds_by_job": {job: round(seconds, 1) for job, _, seconds in runs},
        "wall_s": round(wall, 2),
        "statuses": {o.job: o.status for o in outcomes},
        "rows": sum(o.result.rows for o in outcomes),
        "failures": sum(len(o.result.failures) for o in outcomes),
        "errors": [o.error for o in outcomes if o.error],
        "workers": int(workers) or "auto",
        "latency_s": round(session.latency or 0, 3),
        "client_requests_by_category": session.quota.counts(),
    }


def store_throughput(source: Path, folder: Path) -> dict[str, Any]:
    """Write the participants of ``source`` twice and time both writers.

    Rows are read a transaction's worth at a time, so memory stays flat. The
    store gets them as the fan-out writer does: pages of 300 rows, up to
    :data:`STEPS_PER_COMMIT` pages per transaction. Raw ``executemany``
    inserts the same rows, as plain tuples, into a table with the same
    definition and indexes, with the same commits.
    """
    folder.mkdir(parents=True, exist_ok=True)
    reader = sqlite3.connect(source)
    reader.row_factory = sqlite3.Row
    ours = store.open_database(folder / "store.db")
    raw = sqlite3.connect(folder / "raw.db")
    raw.execute("pragma journal_mode = wal")
    definitions = reader.execute(
        "select sql from sqlite_master where tbl_name = 'participants' and sql "
        "is not null order by type desc"
    ).fetchall()
    for (definition,) in definitions:
        raw.execute(definition)
    raw.commit()
    columns = [row[1] for row in reader.execute("pragma table_info(participants)")]
    insert = (
        f"insert into participants ({', '.join(columns)}) "
        f"values ({', '.join('?' for _ in columns)})"
    )
    cursor = reader.execute("select * from participants")
    store_s = raw_s = 0.0
    count = 0
    while chunk := cursor.fetchmany(PAGE_ROWS * STEPS_PER_COMMIT):
        rows = [dict(row) for row in chunk]
        pages = [rows[i : i + PAGE_ROWS] for i in range(0, len(rows), PAGE_ROWS)]
        started = time.perf_counter()
        with store.transaction(ours):
            for page in pages:
                store.write_rows(ours, "participants", page, PARTICIPANT_KEY)
        store_s += time.perf_counter() - started
        tuples = [tuple(row) for row in chunk]
        started = time.perf_counter()
        raw.execute("begin immediate")
        raw.executemany(insert, tuples)
        raw.commit()
        raw_s += time.perf_counter() - started
        count += len(rows)
    for connection in (reader, raw, ours.conn):
        connection.close()
    return {
        "rows": count,
        "store_rows_per_s": round(count / store_s) if store_s else None,
        "raw_rows_per_s": round(count / raw_s) if raw_s else None,
        "slowdown": round(store_s / raw_s, 3) if raw_s else None,
    }


def peak_rss_mb() -> float:
    """Return this process's peak resident set size in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
