"""Fan-out jobs on the thread pool: same rows as one worker, errors keep their meaning."""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
import structlog

from jobs import state, store
from jobs.base import JobContext
from jobs.config import Config, SyncSettings
from jobs.fanout import Emit, auto_workers, fan_out
from jobs.instances import (
    INSTANCES_JOB,
    PARTICIPANTS_JOB,
)
from jobs.runner import build_session, run_jobs
from tests.conftest import Clock, emulator_config
from zoom_auth import ConfigurationError, Pacer, TransientError
from zoom_fake import AccountSpec, FakeZoom, Fault

ANCHOR = datetime(2026, 6, 10, tzinfo=UTC)
SPEC = AccountSpec(
    seed=83,
    active_users=14,
    inactive_users=2,
    meetings_per_user=3,
    no_host_users=1,
    vanished_users=1,
    history_days=120,
    anchor=ANCHOR,
)
FANOUT_JOBS = ("meetings", "meeting_instances", "participants")

# Every stored table a fan-out job writes, with the columns that order it.
TABLES = {
    "meetings": "id",
    "meeting_instances": "uuid",
    "participants": "meeting_uuid, participant_key, join_time",
    "_participants_fetched": "meeting_uuid",
}


@pytest.fixture
def clock():
    return Clock(ANCHOR.timestamp() + 6 * 3600)


@pytest.fixture
def account(clock):
    # Jitter makes workers finish in a different order from the items'.
    with FakeZoom(
        account=SPEC, clock=clock, latency=0.001, latency_jitter=0.01
    ) as server:
        yield server


def config(fake: FakeZoom, database: Path, **sync: object) -> Config:
    return emulator_config(fake, database, sync=SyncSettings(**sync))


def run(fake: FakeZoom, database: Path, **sync: object) -> list:
    cfg = config(fake, database, **sync)
    session = build_session(cfg)
    # Runs start at the emulator's time, which only the test moves.
    started = fake.account.now()
    try:
        return run_jobs(FANOUT_JOBS, cfg, session, clock=lambda: started)
    finally:
        session.close()


def table_rows(database: Path) -> dict[str, list[tuple]]:
    db = store.open_database(database)
    try:
        return {
            table: db.execute(f"select * from {table} order by {order}").fetchall()
            for table, order in TABLES.items()
        }
    finally:
        db.close()


def cursors(database: Path) -> dict[tuple[str, str], str]:
    db = store.open_database(database)
    try:
        rows = db.execute("select job, partition, cursor from _state").fetchall()
    finally:
        db.close()
    return {(job, partition): cursor for job, partition, cursor in rows}


def test_concurrent_rows_equal_sequential_rows(account, tmp_path):
    one = run(account, tmp_path / "one.db", workers=1)
    many = run(account, tmp_path / "many.db", workers=8)

    sequential = table_rows(tmp_path / "one.db")
    concurrent = table_rows(tmp_path / "many.db")
    for table in TABLES:
        assert concurrent[table] == sequential[table], table
    assert all(sequential[table] for table in TABLES)
    assert cursors(tmp_path / "many.db") == cursors(tmp_path / "one.db")
    assert [(o.status, o.result.rows, o.result.skips) for o in many] == [
        (o.status, o.result.rows, o.result.skips) for o in one
    ]


def test_skips_stay_skips_under_concurrency(account, tmp_path):
    outcomes = {o.job: o for o in run(account, tmp_path / "zoom.db", workers=6)}

    # One user may not host (3161) and one vanished (1001): both are skips.
    assert outcomes["meetings"].status == "ok"
    assert outcomes["meetings"].result.skips == 2
    assert outcomes["meeting_instances"].result.failures == []


def test_failed_partition_marks_run_partial_and_keeps_cursor(account, tmp_path):
    hosts = [u["id"] for u in account.account.users if u["status"] == "active"]
    failing = hosts[3]
    account.add_fault(
        Fault(path=rf"/v2/report/users/{failing}/meetings", times=None, status=500)
    )

    outcomes = {o.job: o for o in run(account, tmp_path / "zoom.db", workers=6)}

    result = outcomes["meeting_instances"]
    assert result.status == "partial"
    assert result.exit_code == 75
    assert [f.split(":")[0] for f in result.result.failures] == [
        f"report/users/{failing}/meetings"
    ]
    saved = cursors(tmp_path / "zoom.db")
    assert (INSTANCES_JOB, failing) not in saved
    assert (INSTANCES_JOB, hosts[0]) in saved


def test_failed_instance_holds_participants_cursor(account, clock, tmp_path):
    database = tmp_path / "zoom.db"
    run(account, database, workers=4)
    db = store.open_database(database)
    # An instance inside the lookback, whose participants are read again.
    uuid, end_time = db.execute(
        "select uuid, end_time from meeting_instances order by end_time desc limit 1"
    ).fetchone()
    db.close()
    encoded = uuid.replace("/", "%2F").replace("+", "%2B").replace("=", "%3D")
    account.add_fault(
        Fault(
            path=rf"/v2/report/meetings/({re.escape(uuid)}|{re.escape(encoded)})"
            r"/participants",
            times=None,
            status=500,
        )
    )
    key = (PARTICIPANTS_JOB, state.WHOLE_JOB)
    first_cursor = cursors(database)[key]
    clock.advance(86_400)

    outcomes = {o.job: o for o in run(account, database, workers=4)}

    assert outcomes["participants"].status == "partial"
    # The cursor may not pass the failed instance, which ended before it.
    assert state.parse_utc(end_time) < state.parse_utc(first_cursor)
    assert cursors(database)[key] == first_cursor

    account.clear_faults()
    clock.advance(3600)
    outcomes = {o.job: o for o in run(account, database, workers=4)}

    assert outcomes["participants"].status == "ok"
    assert state.parse_utc(cursors(database)[key]) == account.account.now()
    db = store.open_database(database)
    (count,) = db.execute(
        "select count(*) from participants where meeting_uuid = ?", [uuid]
    ).fetchone()
    db.close()
    assert count == len(account.account.participants_for(uuid))


def test_job_ending_error_keeps_committed_rows(account, tmp_path):
    database = tmp_path / "zoom.db"
    cfg = config(account, database, workers=4)
    session = build_session(cfg)
    session.stop = threading.Event()
    db = store.open_database(database)
    ctx = JobContext(db, session, cfg)
    seen: list[str] = []

    def fetch(item: int, emit: Emit) -> None:
        if item == 20:
            session.stop.set()
        session.get("/users/{userId}", userId="me")
        seen.append(str(item))
        emit(store.upsert_step("probe", [{"id": item}], pk="id"))

    with pytest.raises(TransientError, match="shutting down"):
        fan_out(ctx, range(1000), fetch, category="Light", on_error=_never)

    stored = {row[0] for row in db.execute("select id from probe")}
    db.close()
    session.close()
    # Every item fetched before the stop is committed; the rest never start.
    assert stored == {int(item) for item in seen}
    assert 0 < len(stored) < 100


def test_workers_carry_the_log_context(account, tmp_path):
    cfg = config(account, tmp_path / "zoom.db", workers=3)
    db = store.open_database(tmp_path / "zoom.db")
    ctx = JobContext(db, build_session(cfg), cfg)
    structlog.contextvars.bind_contextvars(run_id="r-1")
    bound: list[object] = []

    def fetch(item: int, emit: Emit) -> None:
        bound.append(structlog.contextvars.get_contextvars().get("run_id"))
        emit(lambda db: 0)

    try:
        fan_out(ctx, range(12), fetch, category="Light", on_error=_never)
    finally:
        structlog.contextvars.unbind_contextvars("run_id")
        db.close()
    assert bound == ["r-1"] * 12


def test_no_connection_pool_warnings(account, tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="urllib3")

    outcomes = run(account, tmp_path / "zoom.db", workers=24)

    assert {o.status for o in outcomes} == {"ok"}
    assert not [r for r in caplog.records if "pool is full" in r.getMessage()]


def test_participants_read_past_one_chunk(account, tmp_path, monkeypatch):
    from jobs import instances

    monkeypatch.setattr(instances, "INSTANCE_CHUNK", 7)
    database = tmp_path / "zoom.db"

    run(account, database, workers=3)

    db = store.open_database(database)
    fetched = db.execute("select count(*) from _participants_fetched").fetchone()[0]
    total = db.execute("select count(*) from meeting_instances").fetchone()[0]
    db.close()
    assert total > 7 * 3
    assert fetched == total


def test_auto_workers_follow_rate_and_latency(account, tmp_path):
    cfg = config(account, tmp_path / "zoom.db")
    session = build_session(cfg)
    session.pacer = Pacer("business", 0.8)
    session.latency = 0.2

    # 32 Heavy requests a second at 0.2 s each keep 6.4 in flight.
    assert auto_workers(session, "Heavy") == 11
    session.latency = 5.0
    assert auto_workers(session, "Heavy") == 32
    session.pacer = None
    assert auto_workers(session, "Heavy") == 8
    session.close()


def test_sync_workers_setting_is_used(account, tmp_path):
    cfg = config(account, tmp_path / "zoom.db", workers=2)
    cfg = replace(cfg, sync=replace(cfg.sync, workers=2))
    session = build_session(cfg)
    db = store.open_database(tmp_path / "zoom.db")
    ctx = JobContext(db, session, cfg)
    threads: set[str] = set()

    def fetch(item: int, emit: Emit) -> None:
        threads.add(threading.current_thread().name)
        session.get("/users/{userId}", userId="me")

    fan_out(ctx, range(30), fetch, category="Light", on_error=_never)
    db.close()
    session.close()
    assert len(threads) == 2


def _never(item: object, error: Exception) -> None:
    raise AssertionError(f"item {item} failed: {error}")


def test_ending_job_cancels_pacing_waits(account, tmp_path):
    cfg = config(account, tmp_path / "zoom.db", workers=4)
    session = build_session(cfg)
    # Light requests 25 s apart (1.25 s once the emulator's headers have
    # raised the pace): three workers wait for their slots.
    session.pacer = Pacer("free", 0.01)
    db = store.open_database(tmp_path / "zoom.db")
    ctx = JobContext(db, session, cfg)
    account.clear_requests()

    def fetch(item: int, emit: Emit) -> None:
        session.get("/users/{userId}", userId="me")
        if item == 0:
            raise ConfigurationError("the job ends here")

    with pytest.raises(ConfigurationError, match="the job ends here"):
        fan_out(ctx, range(4), fetch, category="Light", on_error=_never)

    db.close()
    session.close()
    # Only the first request had its slot; the waiting ones were never sent.
    sent = [r for r in account.requests if r.path.startswith("/v2/users/")]
    assert len(sent) == 1
