"""The first jobs and the store, called directly against the emulator."""

from __future__ import annotations

import json
import os
import stat
import threading
from pathlib import Path

import pytest

from jobs import store
from jobs.base import JobContext
from jobs.config import JOB_NAMES, Config, ConfigError, JobSettings, ZoomSettings
from jobs.lock import RunLock
from jobs.meetings import meeting_row, meetings
from jobs.runner import JOBS, build_session, exit_code, run_job, run_jobs
from jobs.users import users, users_me
from tests.conftest import emulator_settings, make_session
from zoom_auth import TransientError
from zoom_fake import AccountSpec, FakeZoom, Fault

SPEC = AccountSpec(
    seed=11,
    active_users=12,
    inactive_users=3,
    pending_users=2,
    meetings_per_user=4,
    no_host_users=1,
    vanished_users=1,
)


@pytest.fixture
def account():
    with FakeZoom(account=SPEC) as server:
        yield server


def make_config(fake: FakeZoom, database: Path) -> Config:
    zoom = emulator_settings(fake)
    jobs = {name: JobSettings(name) for name in JOB_NAMES}
    return Config(zoom=zoom, database=database, jobs=jobs)


def context(fake: FakeZoom, tmp_path: Path) -> JobContext:
    config = make_config(fake, tmp_path / "zoom.db")
    return JobContext(store.open_database(config.database), make_session(fake), config)


def expected_users(fake: FakeZoom, status: str) -> list[dict]:
    return [u for u in fake.account.users if u["status"] == status]


def test_job_registry_matches_config():
    assert list(JOBS) == list(JOB_NAMES)


def test_users_me_saves_owner(account, tmp_path):
    ctx = context(account, tmp_path)

    users_me(ctx)

    row = ctx.db["users"].get(account.account.owner["id"])
    assert row["email"] == account.account.owner["email"]
    assert ctx.result.rows == 1


def test_users_every_status(account, tmp_path):
    ctx = context(account, tmp_path)

    users(ctx)

    rows = {r["id"]: r for r in ctx.db["users"].rows}
    listed = expected_users(account, "active") + expected_users(account, "inactive")
    assert set(rows) == {u["id"] for u in listed}
    assert {r["status"] for r in rows.values()} == {"active", "inactive"}
    pending = {r["email"] for r in ctx.db["pending_users"].rows}
    assert pending == {u["email"] for u in expected_users(account, "pending")}
    assert ctx.result.rows == len(listed) + len(pending)


def test_users_row_keeps_nested_json(account, tmp_path):
    ctx = context(account, tmp_path)

    users(ctx)

    user = next(u for u in account.account.users if u.get("group_ids"))
    row = ctx.db["users"].get(user["id"])
    assert json.loads(row["group_ids"]) == user["group_ids"]


def test_meetings_skip_3161_and_1001(account, tmp_path):
    ctx = context(account, tmp_path)

    meetings(ctx)

    assert ctx.result.skips == 2
    assert ctx.result.failures == []
    hosts = {r["host_id"] for r in ctx.db["meetings"].rows}
    assert len(hosts) == 12 + 3 - 2
    expected = sum(len(account.account.meetings_for(h)) for h in hosts)
    assert ctx.db["meetings"].count == expected


def test_meeting_ids_are_integers(account, tmp_path):
    ctx = context(account, tmp_path)

    meetings(ctx)

    columns = {c.name: c.type for c in ctx.db["meetings"].columns}
    assert columns["id"] == "INTEGER"
    (kind,) = ctx.db.execute("select distinct typeof(id) from meetings").fetchone()
    assert kind == "integer"
    assert max(r["id"] for r in ctx.db["meetings"].rows) > 2**32


def test_meetings_transient_user_makes_partial(account, tmp_path):
    ctx = context(account, tmp_path)
    victim = expected_users(account, "active")[3]["id"]
    path = f"/v2/users/{victim}/meetings"
    account.add_fault(Fault(path=path, status=502, times=20))

    meetings(ctx)

    assert len(ctx.result.failures) == 1
    assert victim in ctx.result.failures[0]
    assert ctx.db["meetings"].count > 0


def rows_by_key(db, table: str) -> list[dict]:
    """Rows in primary-key order, which a delete and re-insert does not change."""
    return list(db[table].rows_where(order_by=", ".join(db[table].pks)))


def test_second_run_same_counts(account, tmp_path):
    config = make_config(account, tmp_path / "zoom.db")
    session = build_session(config)

    run_jobs(list(JOB_NAMES), config, session)
    db = store.open_database(config.database)
    first = {k: v for k, v in store.table_counts(db).items() if not k.startswith("_")}
    snapshot = {t: rows_by_key(db, t) for t in first}
    db.close()
    run_jobs(list(JOB_NAMES), config, session)
    db = store.open_database(config.database)
    second = {k: v for k, v in store.table_counts(db).items() if not k.startswith("_")}

    assert first == second
    assert first["users"] > 0
    assert first["meetings"] > 0
    assert {t: rows_by_key(db, t) for t in second} == snapshot


def test_runs_table_records_outcome(account, tmp_path):
    config = make_config(account, tmp_path / "zoom.db")
    session = build_session(config)

    outcome = run_job("meetings", config, session)

    db = store.open_database(config.database)
    row = db["_runs"].get(outcome.run_id)
    assert row["job"] == "meetings"
    assert row["status"] == "ok"
    assert row["skips"] == 2
    assert row["rows"] == db["meetings"].count
    assert row["requests"] >= 1 + 2 + 15
    assert row["started_at"].endswith("Z")
    assert row["finished_at"] >= row["started_at"]
    assert row["error"] is None


def test_failure_midway_keeps_committed_pages(tmp_path):
    spec = AccountSpec(seed=5, active_users=3, meetings_per_user=700)
    with FakeZoom(account=spec) as fake:
        config = make_config(fake, tmp_path / "zoom.db")
        owner = fake.account.owner["id"]
        path = f"/v2/users/{owner}/meetings"
        fake.add_fault(Fault(path=path, nth=3, status=503, times=20))
        session = build_session(config)

        outcome = run_job("meetings", config, session)

    db = store.open_database(config.database)
    assert outcome.status == "partial"
    assert outcome.exit_code == 75
    assert (
        db.execute(
            "select count(*) from meetings where host_id = ?", [owner]
        ).fetchone()[0]
        == 600
    )
    assert db["_runs"].get(outcome.run_id)["status"] == "partial"
    assert db.execute("pragma integrity_check").fetchone()[0] == "ok"


def test_auth_failure_stops_run(account, tmp_path):
    config = make_config(account, tmp_path / "zoom.db")
    bad = ZoomSettings(**{**config.zoom.__dict__, "client_secret": "not-the-secret"})
    config = Config(zoom=bad, database=config.database, jobs=config.jobs)

    outcomes = run_jobs(list(JOB_NAMES), config, build_session(config))

    assert [o.status for o in outcomes] == ["failed"]
    assert exit_code(outcomes) == 77


def test_database_wal_and_private(tmp_path):
    path = tmp_path / "zoom.db"

    db = store.open_database(path)

    assert db.journal_mode == "wal"
    assert stat.S_IMODE(os.stat(path).st_mode) & 0o077 == 0
    store.open_database(path).close()
    assert set(db.table_names()) >= {"_runs", "users", "pending_users", "meetings"}


def test_database_folder_missing(tmp_path):
    with pytest.raises(ConfigError) as caught:
        store.open_database(tmp_path / "absent" / "zoom.db")

    assert "absent" in str(caught.value)
    assert caught.value.exit_code == 78


def test_new_api_field_adds_column(tmp_path):
    db = store.open_database(tmp_path / "zoom.db")
    store.upsert(db, "users", [{"id": "u1", "email": "a@example.com"}], pk="id")

    store.upsert(db, "users", [{"id": "u1", "brand_new": {"x": 1}}], pk="id")

    row = db["users"].get("u1")
    assert json.loads(row["brand_new"]) == {"x": 1}
    assert row["email"] == "a@example.com"


def test_job_in_worker_thread(account, tmp_path):
    config = make_config(account, tmp_path / "zoom.db")
    session = build_session(config)
    outcomes = []

    thread = threading.Thread(
        target=lambda: outcomes.append(run_job("users", config, session))
    )
    thread.start()
    thread.join(30)

    assert [o.status for o in outcomes] == ["ok"]


def test_generic_api_error_fails_one_user(account, tmp_path):
    ctx = context(account, tmp_path)
    victim = expected_users(account, "active")[2]["id"]
    body = {"code": 200, "message": "No permission."}
    account.add_fault(Fault(path=f"/v2/users/{victim}/meetings", status=400, body=body))

    meetings(ctx)

    assert len(ctx.result.failures) == 1
    assert "No permission" in ctx.result.failures[0]
    assert ctx.db["meetings"].count > 0


def test_consecutive_failures_stop_job(account, tmp_path):
    ctx = context(account, tmp_path)
    account.add_fault(Fault(path=r"/v2/users/[^/]+/meetings", status=503, times=None))

    with pytest.raises(TransientError) as caught:
        meetings(ctx)

    assert "5 resources failed in a row" in str(caught.value)
    assert len(ctx.result.failures) == 5


def test_page_without_list_fails(account, tmp_path):
    ctx = context(account, tmp_path)
    account.add_fault(Fault(path="/v2/users", status=200, body={"page_size": 2000}))

    with pytest.raises(TransientError) as caught:
        users(ctx)

    assert "'users'" in str(caught.value)


def test_abandoned_run_marked_failed(account, tmp_path):
    config = make_config(account, tmp_path / "zoom.db")
    db = store.open_database(config.database)
    store.start_run(db, "dead-run", "users", "2026-01-01T00:00:00Z")
    db.close()

    run_job("users", config, build_session(config))

    db = store.open_database(config.database)
    row = db["_runs"].get("dead-run")
    assert row["status"] == "failed"
    assert row["error"] == store.ABANDONED
    assert row["finished_at"] is not None


def test_lock_held_fails_fast(account, tmp_path):
    config = make_config(account, tmp_path / "zoom.db")
    session = build_session(config)

    with RunLock(config.database):
        outcome = run_job("users", config, session)

    assert outcome.status == "failed"
    assert outcome.exit_code == 75
    assert "--wait" in outcome.error
    assert str(os.getpid()) in outcome.error


def test_not_sqlite_file_is_config_error(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("these are notes, not a database\n" * 100)

    with pytest.raises(ConfigError) as caught:
        store.open_database(path)

    assert "notes.txt" in str(caught.value)
    assert "not a SQLite database" in str(caught.value)


def test_error_text_redacted_in_runs(account, tmp_path):
    config = make_config(account, tmp_path / "zoom.db")
    body = {"code": 999, "message": f"echo {account.client_secret}"}
    account.add_fault(Fault(path="/v2/users/me", status=400, body=body))

    outcome = run_job("users_me", config, build_session(config))

    db = store.open_database(config.database)
    stored = db["_runs"].get(outcome.run_id)["error"]
    assert account.client_secret not in stored
    assert account.client_secret not in outcome.error
    assert "[REDACTED]" in stored


def test_passcodes_not_stored():
    record = {
        "id": 85746065432,
        "join_url": "https://zoom.us/j/85746065432?pwd=c2VjcmV0&lang=en",
        "password": "123456",
        "encrypted_password": "c2VjcmV0",
        "topic": "Weekly",
    }

    row = meeting_row(record, "u1")

    assert row["join_url"] == "https://zoom.us/j/85746065432?lang=en"
    assert "password" not in row
    assert "encrypted_password" not in row
    assert row["topic"] == "Weekly"
    assert row["host_id"] == "u1"
