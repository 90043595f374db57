"""The meeting_instances and participants jobs against the emulator."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from jobs import state, store
from jobs.base import JobContext
from jobs.config import Config, SyncSettings
from jobs.instances import (
    INSTANCES_JOB,
    PARTICIPANT_KEY,
    PARTICIPANTS_JOB,
    duration_seconds,
    meeting_instances,
    participants,
)
from jobs.runner import build_session, exit_code, run_jobs
from tests.conftest import Clock, emulator_context
from tests.conftest import emulator_config as make_config
from zoom_auth import encode_uuid
from zoom_fake import AccountSpec, FakeZoom, Fault

ANCHOR = datetime(2026, 6, 10, tzinfo=UTC)
SPEC = AccountSpec(
    seed=61,
    active_users=4,
    inactive_users=1,
    meetings_per_user=3,
    history_days=100,
    anchor=ANCHOR,
)


@pytest.fixture
def clock():
    return Clock(ANCHOR.timestamp() + 6 * 3600)


@pytest.fixture
def account(clock):
    with FakeZoom(account=SPEC, clock=clock) as server:
        yield server


def context(fake: FakeZoom, clock: Clock, database: Path, **kwargs) -> JobContext:
    return emulator_context(fake, clock, database, **kwargs)


def hosts(fake: FakeZoom) -> list[str]:
    return [u["id"] for u in fake.account.users if u["status"] != "pending"]


def expected_instances(fake: FakeZoom) -> dict[str, dict]:
    return {i["uuid"]: i for h in hosts(fake) for i in fake.account.instances_for(h)}


def report_requests(fake: FakeZoom) -> list:
    return [r for r in fake.requests if r.path.startswith("/v2/report/users/")]


def active_hosts(fake: FakeZoom, first: date, now: datetime) -> list[str]:
    """Hosts with an instance that started on ``first`` or later and has ended."""
    return [
        host
        for host in hosts(fake)
        if any(
            state.parse_utc(i["start_time"]).date() >= first
            and state.parse_utc(i["end_time"]) <= now
            for i in fake.account.instances_for(host)
        )
    ]


def participant_requests(fake: FakeZoom) -> list:
    return [r for r in fake.requests if r.path.startswith("/v2/report/meetings/")]


def test_instances_keyed_by_uuid(account, clock, tmp_path):
    ctx = context(account, clock, tmp_path / "zoom.db")

    meeting_instances(ctx)

    rows = {r["uuid"]: r for r in ctx.db["meeting_instances"].rows}
    expected = expected_instances(account)
    assert set(rows) == set(expected)
    assert ctx.result.failures == []
    series = account.account.first_only_attended_series()
    for uuid in series["uuids"]:
        assert rows[uuid]["id"] == series["id"]
        assert rows[uuid]["host_id"] == series["host_id"]
    assert len({rows[u]["id"] for u in series["uuids"]}) == 1
    assert all(r["start_time"].endswith("Z") for r in rows.values())


def test_recurring_series_participants(account, clock, tmp_path):
    ctx = context(account, clock, tmp_path / "zoom.db")
    meeting_instances(ctx)

    participants(ctx)

    series = account.account.first_only_attended_series()
    first, *others = series["uuids"]
    stored = list(
        ctx.db.execute(
            "select count(*) from participants where meeting_uuid = ?", [first]
        )
    )[0][0]
    assert stored == len(account.account.participants_for(first))
    assert stored > 0
    for uuid in others:
        (count,) = ctx.db.execute(
            "select count(*) from participants where meeting_uuid = ?", [uuid]
        ).fetchone()
        assert count == 0
        assert ctx.db["meeting_instances"].get(uuid)["uuid"] == uuid


def test_rejoins_and_guests_kept(account, clock, tmp_path):
    ctx = context(account, clock, tmp_path / "zoom.db")
    meeting_instances(ctx)

    participants(ctx)

    first = account.account.first_only_attended_series()["uuids"][0]
    rows = list(ctx.db["participants"].rows_where("meeting_uuid = ?", [first]))
    expected = account.account.participants_for(first)
    assert len(rows) == len(expected)
    guests = [r for r in rows if not r["id"] and not r["user_email"]]
    assert guests
    joins: dict[str, int] = {}
    for row in rows:
        if row["id"]:
            joins[row["id"]] = joins.get(row["id"], 0) + 1
    assert max(joins.values()) >= 2
    attendance = {
        r["person"]: r
        for r in ctx.db.execute(
            "select person, joins, total_seconds from attendance where meeting_uuid = ?",
            [first],
        ).fetchall()
        for r in [dict(zip(("person", "joins", "total_seconds"), r, strict=True))]
    }
    rejoiner = max(joins, key=joins.get)
    assert attendance[rejoiner]["joins"] == joins[rejoiner]
    seconds = sum(r["duration"] for r in rows if r["id"] == rejoiner)
    assert attendance[rejoiner]["total_seconds"] == seconds


def sorted_rows(ctx: JobContext) -> dict[str, list[dict]]:
    keys = {"meeting_instances": "uuid", "participants": ", ".join(PARTICIPANT_KEY)}
    return {
        table: list(ctx.db[table].rows_where(order_by=key))
        for table, key in keys.items()
    }


def test_second_run_changes_nothing(account, clock, tmp_path):
    database = tmp_path / "zoom.db"
    for _ in range(2):
        ctx = context(account, clock, database)
        meeting_instances(ctx)
        participants(ctx)
        if _ == 0:
            first = sorted_rows(ctx)

    second = sorted_rows(ctx)
    assert second == first
    assert len(first["meeting_instances"]) > 0


def test_later_run_fetches_lookback_only(account, clock, tmp_path):
    database = tmp_path / "zoom.db"
    ctx = context(account, clock, database)
    meeting_instances(ctx)
    participants(ctx)
    first_reports = len(report_requests(account))
    first_start = datetime.fromtimestamp(clock.now, UTC)
    account.clear_requests()
    upcoming = account.account.next_ending_meeting()
    clock.now = state.parse_utc(upcoming["end_time"]).timestamp() + 60

    ctx = context(account, clock, database)
    meeting_instances(ctx)
    participants(ctx)

    reports = report_requests(account)
    # Only hosts the active-hosts report lists for the lookback are asked.
    now = datetime.fromtimestamp(clock.now, UTC)
    active = active_hosts(account, (first_start - timedelta(days=2)).date(), now)
    assert 0 < len(active) < len(hosts(account))
    assert sorted(r.path for r in reports) == sorted(
        f"/v2/report/users/{host}/meetings" for host in active
    )
    assert len(reports) < first_reports
    assert (
        ctx.db["meeting_instances"].get(upcoming["uuid"])["host_id"]
        == upcoming["host_id"]
    )
    lookback_start = datetime.fromtimestamp(clock.now, UTC) - timedelta(days=3)
    fetched = {r.path for r in participant_requests(account)}
    in_lookback = ctx.db.execute(
        "select count(*) from meeting_instances where end_time >= ?",
        [state.format_utc(lookback_start)],
    ).fetchone()[0]
    assert len(fetched) <= in_lookback


def test_failed_window_resumes(account, clock, tmp_path):
    database = tmp_path / "zoom.db"
    owner = account.account.owner["id"]
    path = f"/v2/report/users/{owner}/meetings"
    account.add_fault(Fault(path=path, nth=2, status=503, times=20))

    ctx = context(account, clock, database)
    meeting_instances(ctx)
    cursor = state.get_cursor(ctx.db, INSTANCES_JOB, owner)
    account.clear_faults()
    account.clear_requests()
    ctx = context(account, clock, database)
    meeting_instances(ctx)

    assert cursor is not None
    assert cursor < datetime.fromtimestamp(clock.now, UTC)
    resumed = [r.query["from"] for r in report_requests(account) if r.path == path]
    assert resumed[0] <= cursor.date().isoformat()
    assert state.get_cursor(ctx.db, INSTANCES_JOB, owner) > cursor
    stored = {r["uuid"] for r in ctx.db["meeting_instances"].rows}
    assert stored == set(expected_instances(account))


def test_since_refetches_one_job(account, clock, tmp_path):
    database = tmp_path / "zoom.db"
    ctx = context(account, clock, database)
    meeting_instances(ctx)
    participants(ctx)
    participants_cursor = state.get_cursor(ctx.db, PARTICIPANTS_JOB)
    account.clear_requests()
    since = datetime(2026, 5, 1, tzinfo=UTC)

    ctx = context(account, clock, database, since=since)
    meeting_instances(ctx)

    froms = {r.query["from"] for r in report_requests(account)}
    assert froms == {"2026-05-01", "2026-06-01"}
    assert state.get_cursor(ctx.db, PARTICIPANTS_JOB) == participants_cursor


def test_missing_scope_fails_one_job(clock, tmp_path):
    scopes = [
        "user:read:user:admin",
        "user:read:list_users:admin",
        "meeting:read:list_meetings:admin",
    ]
    with FakeZoom(account=SPEC, clock=clock, scopes=scopes) as fake:
        config = make_config(fake, tmp_path / "zoom.db")
        names = ["users", "meeting_instances", "meetings"]

        outcomes = run_jobs(names, config, build_session(config))

    statuses = {o.job: o.status for o in outcomes}
    assert statuses == {"users": "ok", "meeting_instances": "failed", "meetings": "ok"}
    failed = next(o for o in outcomes if o.job == "meeting_instances")
    assert "report:read" in failed.error
    assert exit_code(outcomes) == 78


def dashboard_config(fake: FakeZoom, database: Path) -> Config:
    config = make_config(fake, database)
    return Config(
        zoom=config.zoom,
        database=database,
        jobs=config.jobs,
        sync=SyncSettings(dashboards=True),
    )


def test_dashboard_source_durations_in_seconds(clock, tmp_path):
    with FakeZoom(account=SPEC, clock=clock, dashboards=True) as fake:
        database = tmp_path / "zoom.db"
        config = dashboard_config(fake, database)
        session = build_session(config)
        run_jobs(["users", "meeting_instances"], config, session)
        sent = [r for r in fake.requests if r.path == "/v2/metrics/meetings"]

    db = store.open_database(database)
    rows = list(db["meeting_instances"].rows)
    assert rows
    assert sent
    assert all(r.query["type"] == "past" for r in sent)
    assert all(isinstance(r["duration"], int) for r in rows)
    assert all(r["host_id"] for r in rows)
    assert not report_requests(fake)


def test_dashboard_disabled_skips_job(clock, tmp_path):
    with FakeZoom(account=SPEC, clock=clock, dashboards=False) as fake:
        config = dashboard_config(fake, tmp_path / "zoom.db")

        (outcome,) = run_jobs(["meeting_instances"], config, build_session(config))

    assert outcome.status == "skipped"
    assert "Dashboard" in outcome.error
    assert exit_code([outcome]) == 0


def test_duration_text_to_seconds():
    assert duration_seconds("01:02:03") == 3723
    assert duration_seconds("56:07") == 3367
    assert duration_seconds("") is None


def test_year_old_instance_skipped(account, clock, tmp_path):
    ctx = context(account, clock, tmp_path / "zoom.db")
    meeting_instances(ctx)
    uuid = account.account.first_only_attended_series()["uuids"][0]
    body = {"code": 12702, "message": "Can not access meeting a year ago."}
    path = "/v2/report/meetings/" + encode_uuid(uuid) + "/participants"
    account.add_fault(Fault(path=re.escape(path), status=400, body=body))

    participants(ctx)

    assert any(r.code == 12702 for r in account.requests)
    assert ctx.result.failures == []
    assert ctx.result.skips >= 1
    fetched = ctx.db["_participants_fetched"].get(uuid)
    assert fetched["meeting_uuid"] == uuid


def test_instances_past_a_year_not_requested(account, clock, tmp_path):
    database = tmp_path / "zoom.db"
    ctx = context(account, clock, database)
    meeting_instances(ctx)
    account.clear_requests()
    clock.advance(400 * 86_400)

    ctx = context(account, clock, database)
    participants(ctx)

    assert participant_requests(account) == []
    assert ctx.result.failures == []


def test_idle_hosts_skipped_with_cursor_moved(account, clock, tmp_path):
    database = tmp_path / "zoom.db"
    meeting_instances(context(account, clock, database))
    account.clear_requests()
    clock.advance(3 * 86_400)

    ctx = context(account, clock, database)
    meeting_instances(ctx)

    asked = {r.path.split("/")[4] for r in report_requests(account)}
    idle = set(hosts(account)) - asked
    assert idle
    for host in idle:
        cursor = state.get_cursor(ctx.db, INSTANCES_JOB, host)
        assert cursor == datetime.fromtimestamp(clock.now, UTC)


def test_unreadable_active_hosts_report_reads_every_host(account, clock, tmp_path):
    database = tmp_path / "zoom.db"
    meeting_instances(context(account, clock, database))
    account.clear_requests()
    clock.advance(3 * 86_400)
    account.add_fault(Fault(path=r"/v2/report/users", times=None, status=500))

    ctx = context(account, clock, database)
    meeting_instances(ctx)

    assert ctx.result.failures == []
    assert len(report_requests(account)) == len(hosts(account))
