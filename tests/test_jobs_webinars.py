"""The webinars job against the emulator, with its clock injected."""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlite_utils

from jobs import state, store
from jobs.base import JobContext
from jobs.runner import build_session, exit_code, run_job, run_jobs
from jobs.webinars import WEBINARS_JOB, webinars
from tests.conftest import (
    Clock,
    emulator_context,
    run_example_config,
)
from tests.conftest import (
    emulator_config as make_config,
)
from zoom_auth import encode_uuid
from zoom_fake import AccountSpec, FakeZoom, Fault

ANCHOR = datetime(2026, 6, 10, tzinfo=UTC)
# Users 0 and 1 have the webinar add-on. Of the other five hosts, one has
# vanished (code 1001) and four lack the add-on (code 200).
SPEC = AccountSpec(
    seed=81,
    active_users=6,
    inactive_users=1,
    vanished_users=1,
    no_host_users=1,
    webinar_users=2,
    webinars_per_user=3,
    history_days=120,
    participants_per_instance=4,
    anchor=ANCHOR,
)
WITHOUT_ADD_ON = 4
# A one-time webinar of user 1 that runs from 18:00 to 18:30 on this day.
NEXT_WEBINAR_END = datetime(2026, 6, 25, 19, 0, tzinfo=UTC)
PARTICIPANTS_PATH = "/v2/report/webinars/"


@pytest.fixture
def clock():
    return Clock(ANCHOR.timestamp() + 12 * 3600)


@pytest.fixture
def account(clock):
    with FakeZoom(account=SPEC, clock=clock) as server:
        yield server


def run(fake: FakeZoom, clock: Clock, database: Path) -> JobContext:
    ctx = emulator_context(fake, clock, database)
    webinars(ctx)
    return ctx


def expected_webinars(fake: FakeZoom) -> dict[int, dict]:
    account = fake.account
    return {w["id"]: w for u in account.webinar_users for w in account.webinars_for(u)}


def expected_instances(fake: FakeZoom) -> dict[str, dict]:
    found = {}
    for webinar_id in expected_webinars(fake):
        for item in fake.account.past_instances(webinar_id, "webinar"):
            found[item["uuid"]] = {**item, "webinar_id": webinar_id}
    return found


def start_time(instance: dict) -> datetime:
    return state.parse_utc(instance["start_time"])


def joins(rows: list[dict]) -> Counter:
    return Counter((r["user_id"], r["join_time"], r["id"], r["name"]) for r in rows)


def participants_requested(fake: FakeZoom) -> list[str]:
    return [r.path for r in fake.requests if r.path.startswith(PARTICIPANTS_PATH)]


def participants_path(uuid: str) -> str:
    return f"{PARTICIPANTS_PATH}{encode_uuid(uuid)}/participants"


def snapshot(db: sqlite_utils.Database) -> dict[str, list[dict]]:
    tables = ("webinars", "webinar_instances", "webinar_participants")
    return {t: list(db[t].rows_where(order_by="rowid")) for t in tables}


def test_rows_match_account(account, clock, tmp_path):
    ctx = run(account, clock, tmp_path / "zoom.db")

    webinar_rows = {r["id"]: r for r in ctx.db["webinars"].rows}
    expected = expected_webinars(account)
    assert set(webinar_rows) == set(expected)
    for webinar_id, record in expected.items():
        assert webinar_rows[webinar_id]["uuid"] == record["uuid"]
        assert webinar_rows[webinar_id]["host_id"] == record["host_id"]
    instances = {r["uuid"]: r for r in ctx.db["webinar_instances"].rows}
    assert instances == expected_instances(account)
    assert len(instances) >= 5


def test_participants_every_join(account, clock, tmp_path):
    ctx = run(account, clock, tmp_path / "zoom.db")

    guests = 0
    for uuid in expected_instances(account):
        table = ctx.db["webinar_participants"]
        rows = list(table.rows_where("webinar_uuid = ?", [uuid]))
        sent = account.account.participants_for(uuid)
        assert joins(rows) == joins(sent)
        guests += sum(1 for r in rows if r["id"] == "" and r["user_email"] == "")
    assert guests > 0
    assert ctx.db["webinar_participants"].pks == [
        "webinar_uuid",
        "participant_key",
        "join_time",
    ]


def test_users_without_add_on_skipped(account, clock, tmp_path):
    ctx = run(account, clock, tmp_path / "zoom.db")

    assert ctx.result.skips == WITHOUT_ADD_ON + 1
    assert ctx.result.failures == []
    assert ctx.result.skipped_reason is None
    assert state.get_cursor(ctx.db, WEBINARS_JOB) == ctx.started_at


def test_second_run_changes_nothing(account, clock, tmp_path):
    path = tmp_path / "zoom.db"
    first = snapshot(run(account, clock, path).db)
    account.clear_requests()

    ctx = run(account, clock, path)

    assert snapshot(ctx.db) == first
    # No instance started within the lookback, so no report is read again.
    assert participants_requested(account) == []


def test_later_run_reads_new_instance_only(account, clock, tmp_path):
    path = tmp_path / "zoom.db"
    first = run(account, clock, path)
    before = {r["uuid"] for r in first.db["webinar_instances"].rows}
    clock.now = NEXT_WEBINAR_END.timestamp()
    account.clear_requests()

    ctx = run(account, clock, path)

    new = [uuid for uuid in expected_instances(account) if uuid not in before]
    assert len(new) == 1
    assert participants_requested(account) == [participants_path(new[0])]
    rows = list(ctx.db["webinar_participants"].rows_where("webinar_uuid = ?", new))
    assert joins(rows) == joins(account.account.participants_for(new[0]))


def test_failed_instance_resumes_next_run(account, clock, tmp_path):
    path = tmp_path / "zoom.db"
    ordered = sorted(expected_instances(account).values(), key=start_time)
    victim = ordered[2]
    fault_path = re.escape(participants_path(victim["uuid"]))
    account.add_fault(Fault(path=fault_path, status=503, times=5))

    first = run(account, clock, path)

    assert len(first.result.failures) == 1
    assert victim["uuid"] in first.result.failures[0]
    cursor = state.get_cursor(first.db, WEBINARS_JOB)
    assert cursor == start_time(victim) - timedelta(seconds=1)
    account.clear_requests()

    second = run(account, clock, path)

    assert second.result.failures == []
    # Read again: the failed instance, and those read within the two-day
    # lookback of their start, whose reports Zoom may have completed since.
    first_read = first.started_at - timedelta(days=2)
    again = {
        participants_path(i["uuid"])
        for i in ordered
        if i is victim or start_time(i) > first_read
    }
    assert len(again) < len(ordered)
    # Instances are read concurrently, so only the set of requests is fixed.
    assert sorted(participants_requested(account)) == sorted(again)
    table = second.db["webinar_participants"]
    rows = list(table.rows_where("webinar_uuid = ?", [victim["uuid"]]))
    assert joins(rows) == joins(account.account.participants_for(victim["uuid"]))


def test_old_and_unended_instances_skipped(account, clock, tmp_path):
    path = tmp_path / "zoom.db"
    ordered = sorted(expected_instances(account).values(), key=start_time)
    old, running = ordered[0]["uuid"], ordered[1]["uuid"]
    too_old = {"code": 12702, "message": "Can not access a webinar a year ago."}
    not_ended = {"code": 3001, "message": "Webinar has not ended"}
    old_path = re.escape(participants_path(old))
    account.add_fault(Fault(path=old_path, status=400, body=too_old))
    running_path = re.escape(participants_path(running))
    account.add_fault(Fault(path=running_path, status=404, body=not_ended))

    first = run(account, clock, path)

    assert first.result.skips == WITHOUT_ADD_ON + 1 + 2
    assert first.result.failures == []
    account.clear_requests()
    run(account, clock, path)
    assert participants_requested(account) == [participants_path(running)]


def test_no_add_on_disables_job(tmp_path):
    spec = AccountSpec(seed=82, active_users=4, inactive_users=1, webinar_users=0)
    with FakeZoom(account=spec) as fake:
        config = make_config(fake, tmp_path / "zoom.db")

        outcome = run_job(WEBINARS_JOB, config, build_session(config))

    db = store.open_database(config.database)
    row = db["_runs"].get(outcome.run_id)
    assert outcome.exit_code == 0
    assert row["status"] == "skipped"
    assert row["skips"] == 5
    assert "no user has the webinar add-on" in row["error"]
    assert "jobs.webinars.enabled" in row["error"]


def test_paid_only_answer_disables_job(account, clock, tmp_path):
    body = {"code": 200, "message": "Only available for paid account."}
    instances_path = r"/v2/past_webinars/\d+/instances"
    account.add_fault(Fault(path=instances_path, status=400, body=body))

    ctx = run(account, clock, tmp_path / "zoom.db")

    assert "paid account" in ctx.result.skipped_reason
    assert ctx.result.failures == []
    assert ctx.db["webinars"].count == len(expected_webinars(account))
    assert participants_requested(account) == []


def test_missing_scope_fails_only_webinars(tmp_path):
    missing = ("report:read:admin", "report:read:list_webinar_participants:admin")
    scopes = [s for s in FakeZoom.default_scopes() if s not in missing]
    with FakeZoom(account=AccountSpec(seed=83, history_days=60), scopes=scopes) as fake:
        config = make_config(fake, tmp_path / "zoom.db")
        names = ["users", WEBINARS_JOB, "groups"]

        outcomes = run_jobs(names, config, build_session(config))

    statuses = {o.job: o.status for o in outcomes}
    assert statuses == {"users": "ok", WEBINARS_JOB: "failed", "groups": "ok"}
    failed = next(o for o in outcomes if o.job == WEBINARS_JOB)
    assert missing[-1] in failed.error
    assert exit_code(outcomes) == 78


def test_cli_warns_once_for_missing_add_on(tmp_path):
    spec = AccountSpec(seed=84, active_users=6, webinar_users=1, history_days=60)
    with FakeZoom(account=spec) as fake:
        done = run_example_config(fake, tmp_path, "--job", WEBINARS_JOB)

    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    warned = [e for e in lines if e["event"] == "webinar_plan_missing"]
    assert len(warned) == 1
    db = sqlite_utils.Database(tmp_path / "zoom.db")
    run_row = next(db["_runs"].rows)
    assert run_row["status"] == "ok"
    assert run_row["skips"] == 5 + 2
    assert db["webinars"].count > 0
