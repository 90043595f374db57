"""The activity_logs and operation_logs jobs against the emulator."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import sqlite_utils

from jobs import state, store
from jobs.activity import activity_logs, operation_logs
from jobs.base import JobContext
from jobs.runner import build_session, exit_code, run_job, run_jobs
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

ANCHOR = datetime(2026, 6, 15, tzinfo=UTC)
# About five events of each kind a day, so each month fits in one page of 300.
SPEC = AccountSpec(
    seed=61,
    active_users=5,
    inactive_users=1,
    anchor=ANCHOR,
    activity_logs_per_user=200,
    operation_logs_per_user=200,
)
# About 20 events of each kind a day: December takes three pages or more.
DENSE_SPEC = AccountSpec(
    seed=61,
    active_users=5,
    inactive_users=1,
    anchor=ANCHOR,
    activity_logs_per_user=800,
    operation_logs_per_user=800,
)
FIRST_DAY = date(2025, 12, 1)
PAGE_TOKEN_EXPIRED = {
    "code": 300,
    "message": "The next page token is invalid or expired.",
}


@dataclass(frozen=True)
class Report:
    job: str
    run: Callable[[JobContext], None]
    path: str
    key: str
    fields: tuple[str, ...]
    scopes: tuple[str, ...]

    def expected(self, fake: FakeZoom, first: date, last: date) -> list[dict]:
        return getattr(fake.account, self.job)(first, last)


ACTIVITY = Report(
    "activity_logs",
    activity_logs,
    "/v2/report/activities",
    "activity_logs",
    ("time", "email", "type", "ip_address", "client_type", "version"),
    ("report:read:admin", "report:read:user_activities:admin"),
)
OPERATIONS = Report(
    "operation_logs",
    operation_logs,
    "/v2/report/operationlogs",
    "operation_logs",
    ("time", "operator", "category_type", "action", "operation_detail"),
    ("report:read:admin", "report:read:operation_logs:admin"),
)


@pytest.fixture(params=[ACTIVITY, OPERATIONS], ids=lambda r: r.job)
def report(request):
    return request.param


@pytest.fixture
def clock():
    return Clock(ANCHOR.timestamp() + 12 * 3600)


@pytest.fixture
def account(clock):
    with FakeZoom(account=SPEC, clock=clock) as server:
        yield server


def run(fake: FakeZoom, clock: Clock, database: Path, report: Report) -> JobContext:
    ctx = emulator_context(fake, clock, database)
    report.run(ctx)
    return ctx


def events(rows: list[dict], report: Report) -> Counter:
    return Counter(tuple(row[name] for name in report.fields) for row in rows)


def windows_requested(fake: FakeZoom, report: Report) -> list[tuple[str, str]]:
    seen = [
        (r.query["from"], r.query["to"])
        for r in fake.requests
        if r.path == report.path and r.status == 200
    ]
    return list(dict.fromkeys(seen))


def test_rows_match_account(account, clock, tmp_path, report):
    ctx = run(account, clock, tmp_path / "zoom.db", report)

    expected = report.expected(account, FIRST_DAY, ANCHOR.date())
    rows = list(ctx.db[report.job].rows)
    assert len(expected) > 700
    assert events(rows, report) == events(expected, report)
    assert ctx.result.rows == len(expected)
    assert state.get_cursor(ctx.db, report.job) == ctx.started_at


def test_rows_sharing_a_second_all_kept(account, clock, tmp_path, report):
    ctx = run(account, clock, tmp_path / "zoom.db", report)

    times = Counter(row["time"] for row in ctx.db[report.job].rows)
    assert max(times.values()) >= 3
    assert ctx.db[report.job].pks == ["record_hash", "occurrence"]


def test_identical_rows_get_occurrences(account, clock, tmp_path, report):
    path = tmp_path / "zoom.db"
    run(account, clock, path, report)
    record = report.expected(account, ANCHOR.date(), ANCHOR.date())[0]
    person_field = report.fields[1]
    other = {**record, person_field: "someone.else@example.com"}
    body = {"page_size": 300, "next_page_token": "", report.key: [record] * 3}
    body[report.key].append(other)
    # For the lookback window of the next two runs, Zoom returns three
    # identical events and one that differs in a single field.
    account.add_fault(Fault(path=report.path, status=200, body=body, times=2))

    second = run(account, clock, path, report)
    count = second.db[report.job].count
    third = run(account, clock, path, report)

    rows = list(third.db[report.job].rows_where("time = ?", [record["time"]]))
    same = [r for r in rows if all(r[f] == record[f] for f in report.fields)]
    assert sorted(r["occurrence"] for r in same) == [0, 1, 2]
    assert len({r["record_hash"] for r in same}) == 1
    others = [r for r in rows if r[person_field] == "someone.else@example.com"]
    assert [r["occurrence"] for r in others] == [0]
    assert third.db[report.job].count == count


def test_second_run_changes_nothing(account, clock, tmp_path, report):
    path = tmp_path / "zoom.db"
    order = "record_hash, occurrence"
    first = list(
        run(account, clock, path, report).db[report.job].rows_where(order_by=order)
    )
    account.clear_requests()

    ctx = run(account, clock, path, report)

    assert list(ctx.db[report.job].rows_where(order_by=order)) == first
    assert windows_requested(account, report) == [("2026-06-13", "2026-06-15")]


def test_later_run_reads_lookback_only(account, clock, tmp_path, report):
    path = tmp_path / "zoom.db"
    before = run(account, clock, path, report).db[report.job].count
    clock.advance(3 * 86_400)
    account.clear_requests()

    ctx = run(account, clock, path, report)

    assert windows_requested(account, report) == [("2026-06-13", "2026-06-18")]
    expected = report.expected(account, FIRST_DAY, date(2026, 6, 18))
    assert len(expected) > before
    assert events(list(ctx.db[report.job].rows), report) == events(expected, report)


def test_failed_window_resumes_next_run(account, clock, tmp_path, report):
    path = tmp_path / "zoom.db"
    # The third window (February) fails on every attempt of the session.
    account.add_fault(Fault(path=report.path, nth=3, status=503, times=5))

    first = run(account, clock, path, report)

    assert len(first.result.failures) == 1
    assert "from=2026-02-01" in first.result.failures[0]
    cursor = state.get_cursor(first.db, report.job)
    assert cursor == datetime(2026, 2, 1, tzinfo=UTC)
    account.clear_requests()

    second = run(account, clock, path, report)

    windows = windows_requested(account, report)
    assert windows[0] == ("2026-01-30", "2026-01-31")
    assert windows[1] == ("2026-02-01", "2026-02-28")
    expected = report.expected(account, FIRST_DAY, ANCHOR.date())
    rows = list(second.db[report.job].rows)
    assert events(rows, report) == events(expected, report)


def test_expired_page_token_restarts_window(clock, tmp_path, report):
    with FakeZoom(account=DENSE_SPEC, clock=clock) as fake:
        # The request for December's third page gets code 300.
        body = PAGE_TOKEN_EXPIRED
        fake.add_fault(Fault(path=report.path, nth=3, status=400, body=body))

        ctx = run(fake, clock, tmp_path / "zoom.db", report)

        december = [r for r in fake.requests if r.query.get("from") == "2025-12-01"]
        pages = -(-len(report.expected(fake, FIRST_DAY, date(2025, 12, 31))) // 300)
        expected = report.expected(fake, FIRST_DAY, ANCHOR.date())

    assert pages >= 3
    assert [r.status for r in december] == [200, 200, 400] + [200] * pages
    assert "next_page_token" not in december[3].query
    assert ctx.result.failures == []
    rows = list(ctx.db[report.job].rows)
    assert len(rows) == len(expected)
    assert events(rows, report) == events(expected, report)


def test_free_plan_run_skipped(tmp_path, report):
    with FakeZoom(account=AccountSpec(seed=62), plan="free") as fake:
        config = make_config(fake, tmp_path / "zoom.db")

        outcome = run_job(report.job, config, build_session(config))

    db = store.open_database(config.database)
    row = db["_runs"].get(outcome.run_id)
    assert outcome.exit_code == 0
    assert row["status"] == "skipped"
    assert "paid account" in row["error"]
    assert f"jobs.{report.job}.enabled" in row["error"]


def test_missing_scope_fails_only_that_job(tmp_path, report):
    scopes = [s for s in FakeZoom.default_scopes() if s not in report.scopes]
    with FakeZoom(account=AccountSpec(seed=63), scopes=scopes) as fake:
        config = make_config(fake, tmp_path / "zoom.db")
        names = ["users", report.job, "groups"]

        outcomes = run_jobs(names, config, build_session(config))

    statuses = {o.job: o.status for o in outcomes}
    assert statuses == {"users": "ok", report.job: "failed", "groups": "ok"}
    failed = next(o for o in outcomes if o.job == report.job)
    assert report.scopes[-1] in failed.error
    assert exit_code(outcomes) == 78


def test_cli_runs_both_log_jobs(tmp_path):
    with FakeZoom(account=AccountSpec(seed=64)) as fake:
        done = run_example_config(
            fake, tmp_path, "--job", "activity_logs", "--job", "operation_logs"
        )
        today = datetime.now(UTC).date()
        first = months_back(today, 6)
        expected = {
            "activity_logs": len(fake.account.activity_logs(first, today)),
            "operation_logs": len(fake.account.operation_logs(first, today)),
        }

    assert done.returncode == 0, done.stderr
    db = sqlite_utils.Database(tmp_path / "zoom.db")
    assert {r["job"]: r["status"] for r in db["_runs"].rows} == {
        "activity_logs": "ok",
        "operation_logs": "ok",
    }
    assert expected["activity_logs"] > 0
    for table, count in expected.items():
        assert db[table].count == count


def test_shifted_listing_corrected_next_run(account, clock, tmp_path, report):
    path = tmp_path / "zoom.db"
    ctx = run(account, clock, path, report)
    db = ctx.db
    # A row inside the window that the next run reads again (2026-06-13 on).
    where = "occurrence = 0 and time >= '2026-06-13'"
    row = next(iter(db[report.job].rows_where(where, limit=1)))
    repeated = {**row, "occurrence": 1}
    with store.transaction(db):
        db[report.job].insert(repeated)

    ctx = run(account, clock, path, report)

    keys = {(r["record_hash"], r["occurrence"]) for r in ctx.db[report.job].rows}
    assert (row["record_hash"], 1) not in keys
    assert (row["record_hash"], 0) in keys
