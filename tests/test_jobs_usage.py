"""The daily_usage job against the emulator, with its clock injected."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlite_utils

from jobs import state, store
from jobs.base import JobContext
from jobs.runner import build_session, exit_code, run_job, run_jobs
from jobs.usage import DAILY_USAGE_JOB, daily_usage
from jobs.windows import months_back
from tests.conftest import (
    Clock,
    emulator_context,
    run_example_config,
)
from tests.conftest import (
    emulator_config as make_config,
)
from zoom_fake import AccountSpec, FakeZoom, Fault

# Mid-month, so the lookback of a later run stays within the same month.
ANCHOR = datetime(2026, 6, 15, tzinfo=UTC)
SPEC = AccountSpec(seed=41, active_users=6, anchor=ANCHOR)
# The months the first run reads: the recent six months and the current one.
FIRST_RUN_MONTHS = [(2025, 12), (2026, 1), (2026, 2), (2026, 3), (2026, 4), (2026, 5)]
FIRST_RUN_MONTHS.append((2026, 6))


@pytest.fixture
def clock():
    return Clock(ANCHOR.timestamp() + 12 * 3600)


@pytest.fixture
def account(clock):
    with FakeZoom(account=SPEC, clock=clock) as server:
        yield server


def run(fake: FakeZoom, clock: Clock, database: Path) -> JobContext:
    ctx = emulator_context(fake, clock, database)
    daily_usage(ctx)
    return ctx


def months_requested(fake: FakeZoom) -> list[tuple[int, int]]:
    return [
        (int(r.query["year"]), int(r.query["month"]))
        for r in fake.requests
        if r.path == "/v2/report/daily" and r.status == 200
    ]


def expected_rows(fake: FakeZoom) -> dict[str, dict]:
    rows = {}
    for year, month in FIRST_RUN_MONTHS:
        for record in fake.account.daily_report(year, month)["dates"]:
            rows[record["date"]] = record
    return rows


def stored_rows(db: sqlite_utils.Database) -> dict[str, dict]:
    return {row["date"]: row for row in db["daily_usage"].rows}


def test_rows_match_daily_report(account, clock, tmp_path):
    ctx = run(account, clock, tmp_path / "zoom.db")

    assert stored_rows(ctx.db) == expected_rows(account)
    assert min(stored_rows(ctx.db)) == "2025-12-01"
    assert max(stored_rows(ctx.db)) == "2026-06-15"
    assert months_requested(account) == FIRST_RUN_MONTHS
    assert ctx.result.rows == ctx.db["daily_usage"].count
    assert state.get_cursor(ctx.db, DAILY_USAGE_JOB) == ctx.started_at


def test_date_is_primary_key(account, clock, tmp_path):
    ctx = run(account, clock, tmp_path / "zoom.db")

    assert ctx.db["daily_usage"].pks == ["date"]
    columns = {c.name: c.type for c in ctx.db["daily_usage"].columns}
    assert columns["meeting_minutes"] == "INTEGER"


def test_second_run_changes_nothing(account, clock, tmp_path):
    path = tmp_path / "zoom.db"
    first = stored_rows(run(account, clock, path).db)
    account.clear_requests()

    ctx = run(account, clock, path)

    assert stored_rows(ctx.db) == first
    assert months_requested(account) == [(2026, 6)]


def test_later_run_reads_current_month(account, clock, tmp_path):
    path = tmp_path / "zoom.db"
    run(account, clock, path)
    clock.advance(3 * 86_400)
    account.clear_requests()

    ctx = run(account, clock, path)

    assert months_requested(account) == [(2026, 6)]
    rows = stored_rows(ctx.db)
    assert max(rows) == "2026-06-18"
    june = account.account.daily_report(2026, 6)["dates"]
    assert [rows[r["date"]] for r in june] == june


def test_failed_month_resumes_next_run(account, clock, tmp_path):
    path = tmp_path / "zoom.db"
    # The third month (February) fails on every attempt of the session.
    account.add_fault(Fault(path="/v2/report/daily", nth=3, status=503, times=5))

    first = run(account, clock, path)

    assert len(first.result.failures) == 1
    assert "month=2" in first.result.failures[0]
    assert max(stored_rows(first.db)) == "2026-01-31"
    cursor = state.get_cursor(first.db, DAILY_USAGE_JOB)
    assert cursor == datetime(2026, 2, 1, tzinfo=UTC)
    account.clear_requests()

    second = run(account, clock, path)

    assert second.result.failures == []
    # The lookback reaches back into January, then every later month follows.
    assert months_requested(account) == FIRST_RUN_MONTHS[1:]
    assert stored_rows(second.db) == expected_rows(account)


def test_free_plan_run_skipped(tmp_path):
    with FakeZoom(account=AccountSpec(seed=42), plan="free") as fake:
        config = make_config(fake, tmp_path / "zoom.db")

        outcome = run_job(DAILY_USAGE_JOB, config, build_session(config))

    db = store.open_database(config.database)
    row = db["_runs"].get(outcome.run_id)
    assert outcome.exit_code == 0
    assert row["status"] == "skipped"
    assert "paid account" in row["error"]
    assert "jobs.daily_usage.enabled" in row["error"]
    assert db["daily_usage"].count == 0


def test_missing_scope_fails_only_daily_usage(tmp_path):
    scopes = [s for s in FakeZoom.default_scopes() if s != "report:read:admin"]
    with FakeZoom(account=AccountSpec(seed=43), scopes=scopes) as fake:
        config = make_config(fake, tmp_path / "zoom.db")
        names = ["users", DAILY_USAGE_JOB, "groups"]

        outcomes = run_jobs(names, config, build_session(config))

    statuses = {o.job: o.status for o in outcomes}
    assert statuses == {"users": "ok", DAILY_USAGE_JOB: "failed", "groups": "ok"}
    failed = next(o for o in outcomes if o.job == DAILY_USAGE_JOB)
    assert "report:read:admin" in failed.error
    assert exit_code(outcomes) == 78


def test_cli_runs_daily_usage(tmp_path):
    with FakeZoom(account=AccountSpec(seed=44)) as fake:
        done = run_example_config(fake, tmp_path, "--job", DAILY_USAGE_JOB)

    assert done.returncode == 0, done.stderr
    db = sqlite_utils.Database(tmp_path / "zoom.db")
    assert [r["status"] for r in db["_runs"].rows] == ["ok"]
    today = datetime.now(UTC).date()
    first = months_back(today, 6)
    dates = {r["date"] for r in db["daily_usage"].rows}
    assert len(dates) == (today - first).days + 1
    assert min(dates) == first.isoformat()
    assert max(dates) == today.isoformat()
