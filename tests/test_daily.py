"""Daily limits and the per-run budget: Heavy jobs stop, the others go on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from jobs import state, store
from jobs.config import Config, SyncSettings
from jobs.instances import INSTANCES_JOB
from jobs.runner import build_session, exit_code, run_jobs
from jobs.status import format_table, read_status
from tests.conftest import Clock, emulator_config, make_session
from zoom_auth import BudgetReached, DailyLimitError, DailyQuota, Pacer
from zoom_auth.daily import next_utc_midnight, parse_retry_after
from zoom_fake import AccountSpec, FakeZoom, Fault

ANCHOR = datetime(2026, 6, 10, tzinfo=UTC)
SPEC = AccountSpec(
    seed=29,
    active_users=6,
    inactive_users=1,
    meetings_per_user=3,
    history_days=120,
    anchor=ANCHOR,
)
JOBS = ("users", "meetings", "meeting_instances", "participants", "groups")
DAILY_MESSAGE = (
    "You have reached the maximum daily rate limit for this API. Refer to the "
    "response header for details on when you can make another request."
)


@pytest.fixture
def clock():
    return Clock(ANCHOR.timestamp() + 6 * 3600)


@pytest.fixture
def account(clock):
    with FakeZoom(account=SPEC, clock=clock) as server:
        yield server


def tomorrow() -> str:
    return next_utc_midnight(datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")


def daily_limit_fault(path: str) -> Fault:
    headers = {
        "X-RateLimit-Category": "Heavy",
        "X-RateLimit-Type": "Daily-limit",
        "X-RateLimit-Limit": "30000",
        "X-RateLimit-Remaining": "0",
        "Retry-After": tomorrow(),
    }
    body = {"code": 429, "message": DAILY_MESSAGE}
    return Fault(path=path, times=None, status=429, body=body, headers=headers)


def run(fake: FakeZoom, database: Path, jobs=JOBS, **sync: object) -> dict:
    config: Config = emulator_config(fake, database, sync=SyncSettings(**sync))
    session = build_session(config)
    started = fake.account.now()
    try:
        outcomes = run_jobs(jobs, config, session, clock=lambda: started)
    finally:
        session.close()
    return {o.job: o for o in outcomes}


def heavy_requests(fake: FakeZoom) -> list:
    return [r for r in fake.requests if r.path.startswith("/v2/report/")]


def test_daily_limit_stops_heavy_jobs_only(account, clock, tmp_path):
    run(account, tmp_path / "zoom.db")
    clock.advance(86_400)
    account.add_fault(daily_limit_fault(r"/v2/report/.*"))
    account.clear_requests()

    outcomes = run(account, tmp_path / "zoom.db", workers=3)

    assert outcomes["users"].status == "ok"
    assert outcomes["meetings"].status == "ok"
    assert outcomes["groups"].status == "ok"
    assert outcomes["meeting_instances"].status == "failed"
    assert "daily" in outcomes["meeting_instances"].error
    assert outcomes["participants"].status == "failed"
    assert exit_code(list(outcomes.values())) == 75
    # Only the requests already in flight when the first 429 came back were
    # sent; participants, a later Heavy job, sent none.
    assert 1 <= len(heavy_requests(account)) <= 3
    assert not [r for r in heavy_requests(account) if "/meetings/" in r.path]


def test_next_invocation_keeps_daily_limit(account, clock, tmp_path):
    run(account, tmp_path / "zoom.db")
    clock.advance(86_400)
    account.add_fault(daily_limit_fault(r"/v2/report/.*"))
    run(account, tmp_path / "zoom.db", jobs=("meeting_instances",), workers=1)
    account.clear_faults()
    before = len(heavy_requests(account))

    outcomes = run(account, tmp_path / "zoom.db", jobs=("users", "participants"))

    assert outcomes["users"].status == "ok"
    assert outcomes["participants"].status == "failed"
    assert "not sent" in outcomes["participants"].error
    assert len(heavy_requests(account)) == before
    db = store.open_database(tmp_path / "zoom.db")
    limited = store.exhausted_categories(db, state.format_utc(datetime.now(UTC)))
    db.close()
    assert set(limited) == {"Heavy", "Resource-intensive"}


def test_nothing_remaining_stops_before_a_429(account, tmp_path):
    headers = {"X-RateLimit-Limit": "30000", "X-RateLimit-Remaining": "0"}
    account.add_fault(Fault(path=r"/v2/report/users/.*", status=None, headers=headers))

    outcomes = run(
        account, tmp_path / "zoom.db", jobs=("meeting_instances",), workers=1
    )

    assert outcomes["meeting_instances"].status == "failed"
    per_host = [r for r in heavy_requests(account) if r.path.endswith("/meetings")]
    assert len(per_host) == 1
    assert 429 not in {r.code for r in account.requests}


def test_budget_stops_job_with_cursor_kept(account, tmp_path):
    database = tmp_path / "zoom.db"

    outcomes = run(
        account, database, jobs=("meeting_instances",), workers=2, request_budget=9
    )

    result = outcomes["meeting_instances"]
    assert result.status == "partial"
    assert result.exit_code == 75
    assert "sync.request_budget" in result.error
    assert len(heavy_requests(account)) == 9
    db = store.open_database(database)
    saved = {
        partition: state.parse_utc(cursor)
        for partition, cursor in db.execute(
            "select partition, cursor from _state where job = ?", [INSTANCES_JOB]
        )
    }
    kept = db["meeting_instances"].count
    counted = db.execute(
        "select sum(requests) from _rate_limits where category = 'Heavy'"
    ).fetchone()[0]
    db.close()
    assert saved
    assert min(saved.values()) < account.account.now() - timedelta(days=1)
    assert counted == 9

    outcomes = run(account, database, jobs=("meeting_instances",), workers=2)

    assert outcomes["meeting_instances"].status == "ok"
    db = store.open_database(database)
    assert db["meeting_instances"].count >= kept
    db.close()
    fresh = run(account, tmp_path / "fresh.db", jobs=("meeting_instances",))
    assert fresh["meeting_instances"].status == "ok"
    assert store.open_database(tmp_path / "fresh.db")["meeting_instances"].count == (
        store.open_database(database)["meeting_instances"].count
    )


def test_requests_counted_per_day_and_category(account, tmp_path):
    run(account, tmp_path / "zoom.db", jobs=("users", "meeting_instances"))

    db = store.open_database(tmp_path / "zoom.db")
    counts = dict(
        db.execute("select category, sum(requests) from _rate_limits group by 1")
    )
    db.close()
    assert counts["Heavy"] == len(heavy_requests(account))
    assert counts["Medium"] == len(
        [r for r in account.requests if r.path == "/v2/users"]
    )


def test_quota_shares_the_heavy_daily_limit():
    now = datetime(2026, 3, 1, 12, tzinfo=UTC)
    quota = DailyQuota(now=lambda: now)

    quota.mark_exhausted("Resource-intensive", next_utc_midnight(now))

    with pytest.raises(DailyLimitError, match="until 2026-03-02T00:00:00Z"):
        quota.take("Heavy", "/report/daily")
    quota.take("Medium", "/users")
    assert quota.counts() == {"Medium": 1}


def test_quota_reopens_after_the_limit_ends():
    moments = [datetime(2026, 3, 1, 23, 59, tzinfo=UTC)]
    quota = DailyQuota(now=lambda: moments[0])
    quota.observe("Heavy", remaining=0)
    with pytest.raises(DailyLimitError):
        quota.take("Heavy", "/report/daily")

    moments[0] = datetime(2026, 3, 2, 0, 0, 1, tzinfo=UTC)

    quota.take("Heavy", "/report/daily")
    assert quota.counts() == {"Heavy": 1}


def test_budget_counts_heavy_and_resource_intensive_only():
    quota = DailyQuota()
    quota.set_budget(2)
    quota.take("Heavy", "/report/daily")
    quota.take("Light", "/users/me")
    quota.take("Resource-intensive", "/metrics/meetings")

    with pytest.raises(BudgetReached, match="budget of 2"):
        quota.take("Heavy", "/report/daily")
    quota.take("Medium", "/users")


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("2026-03-02T00:00:00Z", datetime(2026, 3, 2, tzinfo=UTC)),
        ("2026-03-01T18:30:00+00:00", datetime(2026, 3, 1, 18, 30, tzinfo=UTC)),
        ("soon", datetime(2026, 3, 2, tzinfo=UTC)),
        (None, datetime(2026, 3, 2, tzinfo=UTC)),
        ("2026-02-01T00:00:00Z", datetime(2026, 3, 2, tzinfo=UTC)),
    ],
    ids=["iso-z", "iso-offset", "garbage", "absent", "in-the-past"],
)
def test_retry_after_read_as_a_time(header, expected):
    now = datetime(2026, 3, 1, 12, tzinfo=UTC)

    assert parse_retry_after(header, now) == expected


def test_status_shows_todays_requests_and_limit(account, clock, tmp_path):
    database = tmp_path / "zoom.db"
    run(account, database)
    clock.advance(86_400)
    account.add_fault(daily_limit_fault(r"/v2/report/.*"))
    run(account, database, jobs=("meeting_instances",), workers=1)
    config = emulator_config(account, database)

    report = read_status(database, config, datetime.now(UTC))

    heavy = report.requests_today["Heavy"]
    assert heavy["requests"] == len(heavy_requests(account))
    assert heavy["limited_until"] == tomorrow()
    table = format_table(report)
    assert "requests today (UTC): " in table
    assert f"Heavy: daily limit reached, no request before {tomorrow()}" in table


def test_budget_runs_progress_through_backlog(account, tmp_path):
    database = tmp_path / "zoom.db"
    run(account, database, jobs=("meeting_instances",))
    db = store.open_database(database)
    total = db["meeting_instances"].count
    db.close()
    budget = total // 3 + 1
    fetched = []

    for _ in range(4):
        outcome = run(account, database, jobs=("participants",), request_budget=budget)[
            "participants"
        ]
        db = store.open_database(database)
        fetched.append(db["_participants_fetched"].count)
        db.close()
        if outcome.status == "ok":
            break

    # Every stopped run adds instances; none is read twice before the end.
    assert fetched == sorted(set(fetched))
    assert fetched[-1] == total
    assert outcome.status == "ok"


def test_daily_limit_met_while_waiting_for_pace(account):
    quota = DailyQuota()
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        # Another thread meets the daily limit while this one waits its turn.
        waits.append(seconds)
        quota.mark_exhausted("Heavy", next_utc_midnight(datetime.now(UTC)))

    pacer = Pacer("free", 1.0, sleep=sleep)
    session = make_session(account, pacer=pacer, quota=quota)
    today = ANCHOR.date().isoformat()
    params = {"from": today, "to": today}
    host = account.account.owner["id"]

    session.get("/report/users/{userId}/meetings", params, userId=host)
    with pytest.raises(DailyLimitError, match="was not sent"):
        session.get("/report/users/{userId}/meetings", params, userId=host)

    assert waits
    assert len(heavy_requests(account)) == 1
    session.close()
