"""The recordings job against the emulator, with its clock injected."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import sqlite_utils

from jobs import state, store
from jobs.base import JobContext
from jobs.recordings import RECORDINGS_JOB, recordings, strip_secrets
from jobs.runner import build_session, exit_code, run_job, run_jobs
from tests.conftest import (
    Clock,
    emulator_context,
    run_example_config,
)
from tests.conftest import (
    emulator_config as make_config,
)
from zoom_fake import AccountSpec, FakeZoom, Fault

ANCHOR = datetime(2026, 6, 10, tzinfo=UTC)
# Four months of history, so the first run's six months cover every recording.
SPEC = AccountSpec(
    seed=51,
    active_users=5,
    inactive_users=1,
    vanished_users=1,
    history_days=120,
    recordings_per_user=6,
    anchor=ANCHOR,
)
# The first run starts six months back: 2025-12-01 to 2026-06-10 in 30-day windows.
FIRST_RUN_WINDOWS = 7


@pytest.fixture
def clock():
    return Clock(ANCHOR.timestamp() + 12 * 3600)


@pytest.fixture
def account(clock):
    with FakeZoom(account=SPEC, clock=clock) as server:
        yield server


def now(clock: Clock) -> datetime:
    return datetime.fromtimestamp(clock.now, UTC)


def run(fake: FakeZoom, clock: Clock, database: Path) -> JobContext:
    ctx = emulator_context(fake, clock, database)
    recordings(ctx)
    return ctx


def host_ids(fake: FakeZoom) -> list[str]:
    return [u["id"] for u in fake.account.users if u["status"] != "pending"]


def vanished_id(fake: FakeZoom) -> str:
    active = [u["id"] for u in fake.account.users if u["status"] == "active"]
    return active[-1]


def expected_recordings(fake: FakeZoom) -> dict[str, dict]:
    hosts = [h for h in host_ids(fake) if h != vanished_id(fake)]
    return {r["uuid"]: r for h in hosts for r in fake.account.recordings_for(h)}


def windows_requested(fake: FakeZoom, user_id: str) -> list[tuple[date, date]]:
    path = f"/v2/users/{user_id}/recordings"
    return [
        (date.fromisoformat(r.query["from"]), date.fromisoformat(r.query["to"]))
        for r in fake.requests
        if r.path == path and r.status == 200
    ]


def snapshot(db: sqlite_utils.Database) -> dict[str, list[dict]]:
    return {
        table: list(db[table].rows_where(order_by="rowid"))
        for table in ("recordings", "recording_files")
    }


def test_rows_match_account(account, clock, tmp_path):
    ctx = run(account, clock, tmp_path / "zoom.db")

    expected = expected_recordings(account)
    rows = {r["uuid"]: r for r in ctx.db["recordings"].rows}
    assert len(expected) > 10
    assert set(rows) == set(expected)
    for uuid, record in expected.items():
        assert rows[uuid]["host_id"] == record["host_id"]
        assert rows[uuid]["id"] == record["id"]
        assert rows[uuid]["start_time"] == record["start_time"]
    files = {f["id"]: f for f in ctx.db["recording_files"].rows}
    sent = {f["id"]: f for r in expected.values() for f in r["recording_files"]}
    assert set(files) == set(sent)
    for file_id, item in sent.items():
        assert files[file_id]["meeting_id"] == item["meeting_id"]
        assert files[file_id]["recording_uuid"] == item["meeting_id"]
        assert files[file_id]["play_url"] == item["play_url"]
    assert ctx.result.rows == len(rows) + len(files)


def test_download_urls_not_stored(account, clock, tmp_path):
    path = tmp_path / "zoom.db"

    ctx = run(account, clock, path)

    columns = {c.name for c in ctx.db["recording_files"].columns}
    assert "download_url" not in columns
    assert "play_url" in columns
    assert "recording_files" not in {c.name for c in ctx.db["recordings"].columns}
    ctx.db.close()
    assert b"/rec/download/" not in path.read_bytes()


def test_first_run_windows(account, clock, tmp_path):
    ctx = run(account, clock, tmp_path / "zoom.db")

    owner = host_ids(account)[0]
    windows = windows_requested(account, owner)
    assert len(windows) == FIRST_RUN_WINDOWS
    assert windows[0][0] == date(2025, 12, 1)
    assert windows[-1][1] == date(2026, 6, 10)
    for first, last in windows:
        assert (last - first).days <= 29
    for before, after in zip(windows, windows[1:], strict=False):
        assert after[0] == before[1] + timedelta(days=1)
    assert state.get_cursor(ctx.db, RECORDINGS_JOB, owner) == now(clock)


def test_vanished_host_skipped(account, clock, tmp_path):
    ctx = run(account, clock, tmp_path / "zoom.db")

    assert ctx.result.skips == 1
    assert ctx.result.failures == []
    assert state.get_cursor(ctx.db, RECORDINGS_JOB, vanished_id(account)) is None


def test_second_run_changes_nothing(account, clock, tmp_path):
    path = tmp_path / "zoom.db"
    first = snapshot(run(account, clock, path).db)
    account.clear_requests()

    ctx = run(account, clock, path)

    assert snapshot(ctx.db) == first
    owner = host_ids(account)[0]
    assert windows_requested(account, owner) == [(date(2026, 6, 8), date(2026, 6, 10))]


def test_later_run_reads_lookback_only(account, clock, tmp_path):
    path = tmp_path / "zoom.db"
    before = run(account, clock, path).db["recordings"].count
    clock.advance(10 * 86_400)
    account.clear_requests()

    ctx = run(account, clock, path)

    expected = expected_recordings(account)
    assert len(expected) > before
    assert {r["uuid"] for r in ctx.db["recordings"].rows} == set(expected)
    window = (date(2026, 6, 8), date(2026, 6, 20))
    for host in host_ids(account):
        if host != vanished_id(account):
            assert windows_requested(account, host) == [window]


def test_failed_window_resumes_next_run(account, clock, tmp_path):
    path = tmp_path / "zoom.db"
    owner = host_ids(account)[0]
    owner_path = f"/v2/users/{owner}/recordings"
    # The owner's third window fails on every attempt of the session.
    account.add_fault(Fault(path=owner_path, nth=3, status=503, times=5))

    first = run(account, clock, path)

    assert len(first.result.failures) == 1
    assert owner in first.result.failures[0]
    cursor = state.get_cursor(first.db, RECORDINGS_JOB, owner)
    assert cursor == datetime(2026, 1, 30, tzinfo=UTC)
    account.clear_requests()

    second = run(account, clock, path)

    assert second.result.failures == []
    windows = windows_requested(account, owner)
    assert windows[0][0] == date(2026, 1, 28)
    assert windows[-1][1] == date(2026, 6, 10)
    stored = {r["uuid"] for r in second.db["recordings"].rows}
    assert stored == set(expected_recordings(account))


def test_shortened_range_fails_host(account, clock, tmp_path):
    path = tmp_path / "zoom.db"
    owner = host_ids(account)[0]
    shortened = {
        "from": "2026-01-15",
        "to": "2026-01-29",
        "page_size": 300,
        "total_records": 0,
        "next_page_token": "",
        "meetings": [],
    }
    owner_path = f"/v2/users/{owner}/recordings"
    # Zoom returns the second window as if a shorter range had been requested.
    account.add_fault(Fault(path=owner_path, nth=2, status=200, body=shortened))

    first = run(account, clock, path)

    assert len(first.result.failures) == 1
    assert "from=2026-01-15" in first.result.failures[0]
    assert "from=2025-12-31" in first.result.failures[0]
    cursor = state.get_cursor(first.db, RECORDINGS_JOB, owner)
    assert cursor == datetime(2025, 12, 31, tzinfo=UTC)
    second = run(account, clock, path)
    assert state.get_cursor(second.db, RECORDINGS_JOB, owner) == now(clock)


def test_strip_secrets_drops_token_urls():
    record = {
        "uuid": "abc==",
        "download_url": "https://example.zoom.us/rec/download/x",
        "recording_play_passcode": "pass",
        "share_url": "https://example.zoom.us/rec/share/x?pwd=secret",
        "files": [
            {"play_url": "https://example.zoom.us/rec/play/x?access_token=t"},
            {"play_url": "https://example.zoom.us/rec/play/y"},
        ],
    }

    stripped = strip_secrets(record)

    assert stripped == {
        "uuid": "abc==",
        "files": [{}, {"play_url": "https://example.zoom.us/rec/play/y"}],
    }


def test_free_plan_run_skipped(tmp_path):
    with FakeZoom(account=AccountSpec(seed=52), plan="free") as fake:
        config = make_config(fake, tmp_path / "zoom.db")

        outcome = run_job(RECORDINGS_JOB, config, build_session(config))

    db = store.open_database(config.database)
    row = db["_runs"].get(outcome.run_id)
    assert outcome.exit_code == 0
    assert row["status"] == "skipped"
    assert "paid account" in row["error"]
    assert "jobs.recordings.enabled" in row["error"]


def test_missing_scope_fails_only_recordings(tmp_path):
    missing = "cloud_recording:read:list_user_recordings:admin"
    scopes = [s for s in FakeZoom.default_scopes() if s != missing]
    with FakeZoom(account=AccountSpec(seed=53), scopes=scopes) as fake:
        config = make_config(fake, tmp_path / "zoom.db")
        names = ["users", RECORDINGS_JOB, "groups"]

        outcomes = run_jobs(names, config, build_session(config))

    statuses = {o.job: o.status for o in outcomes}
    assert statuses == {"users": "ok", RECORDINGS_JOB: "failed", "groups": "ok"}
    failed = next(o for o in outcomes if o.job == RECORDINGS_JOB)
    assert missing in failed.error
    assert exit_code(outcomes) == 78


def test_cli_runs_recordings(tmp_path):
    with FakeZoom(account=AccountSpec(seed=54, recordings_per_user=4)) as fake:
        done = run_example_config(fake, tmp_path, "--job", RECORDINGS_JOB)

    assert done.returncode == 0, done.stderr
    db = sqlite_utils.Database(tmp_path / "zoom.db")
    assert [r["status"] for r in db["_runs"].rows] == ["ok"]
    assert db["recordings"].count > 0
    assert db["recording_files"].count >= db["recordings"].count
