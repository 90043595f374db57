"""The groups job against the emulator."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlite_utils

from jobs import store
from jobs.base import JobContext
from jobs.groups import GROUPS_JOB, groups
from jobs.runner import build_session, exit_code, run_job, run_jobs
from tests.conftest import (
    emulator_config as make_config,
)
from tests.conftest import (
    make_session,
    run_example_config,
)
from zoom_fake import AccountSpec, FakeZoom, Fault

SPEC = AccountSpec(seed=71, active_users=12, inactive_users=2, groups=5)


@pytest.fixture
def account():
    with FakeZoom(account=SPEC) as server:
        yield server


def run(fake: FakeZoom, database: Path) -> JobContext:
    config = make_config(fake, database)
    ctx = JobContext(store.open_database(database), make_session(fake), config)
    groups(ctx)
    return ctx


def members_by_group(db: sqlite_utils.Database) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for row in db["group_members"].rows:
        found.setdefault(row["group_id"], set()).add(row["id"])
    return found


def expected_members(fake: FakeZoom) -> dict[str, set[str]]:
    found = {}
    for group in fake.account.groups:
        members = {m["id"] for m in fake.account.group_members(group["id"])}
        if members:
            found[group["id"]] = members
    return found


def members_body(fake: FakeZoom, group_id: str, drop: str) -> dict:
    members = [m for m in fake.account.group_members(group_id) if m["id"] != drop]
    return {
        "page_count": 1,
        "page_number": 1,
        "page_size": 2000,
        "total_records": len(members),
        "next_page_token": "",
        "members": members,
    }


def largest_group(fake: FakeZoom) -> str:
    return max(fake.account.groups, key=lambda g: g["total_members"])["id"]


def test_rows_match_account(account, tmp_path):
    ctx = run(account, tmp_path / "zoom.db")

    assert list(ctx.db["groups"].rows) == account.account.groups
    assert members_by_group(ctx.db) == expected_members(account)
    assert ctx.db["group_members"].pks == ["group_id", "id"]
    group = largest_group(account)
    member = account.account.group_members(group)[0]
    row = ctx.db["group_members"].get((group, member["id"]))
    assert row == {**member, "group_id": group}


def test_second_run_changes_nothing(account, tmp_path):
    path = tmp_path / "zoom.db"
    first = run(account, path)
    groups_before = list(first.db["groups"].rows)
    members_before = list(first.db["group_members"].rows)
    account.clear_requests()

    second = run(account, path)

    assert list(second.db["groups"].rows) == groups_before
    assert list(second.db["group_members"].rows) == members_before
    paths = [r.path for r in account.requests if r.path.startswith("/v2/groups")]
    assert paths.count("/v2/groups") == 1
    assert len(paths) == 1 + len(account.account.groups)


def test_member_who_left_is_removed(account, tmp_path):
    path = tmp_path / "zoom.db"
    run(account, path)
    group = largest_group(account)
    leaver = account.account.group_members(group)[0]["id"]
    body = members_body(account, group, leaver)
    account.add_fault(Fault(path=f"/v2/groups/{group}/members", status=200, body=body))

    ctx = run(account, path)

    assert leaver not in members_by_group(ctx.db)[group]
    expected = expected_members(account)
    expected[group].discard(leaver)
    assert members_by_group(ctx.db) == expected


def test_group_no_longer_listed_loses_members(account, tmp_path):
    path = tmp_path / "zoom.db"
    run(account, path)
    group = largest_group(account)
    listed = [g for g in account.account.groups if g["id"] != group]
    body = {"total_records": len(listed), "next_page_token": "", "groups": listed}
    account.add_fault(Fault(path="/v2/groups", status=200, body=body))

    ctx = run(account, path)

    assert group not in members_by_group(ctx.db)
    assert ctx.db["groups"].get(group)["id"] == group
    assert ctx.result.failures == []


def test_deleted_group_skipped(account, tmp_path):
    path = tmp_path / "zoom.db"
    run(account, path)
    group = largest_group(account)
    body = {"code": 4130, "message": f"A group with this {group} does not exist."}
    account.add_fault(Fault(path=f"/v2/groups/{group}/members", status=404, body=body))

    ctx = run(account, path)

    assert ctx.result.skips == 1
    assert ctx.result.failures == []
    assert group not in members_by_group(ctx.db)


def test_failed_group_keeps_members_then_resumes(account, tmp_path):
    path = tmp_path / "zoom.db"
    run(account, path)
    group = largest_group(account)
    members_path = f"/v2/groups/{group}/members"
    account.add_fault(Fault(path=members_path, status=503, times=5))

    first = run(account, path)

    assert len(first.result.failures) == 1
    assert group in first.result.failures[0]
    assert members_by_group(first.db) == expected_members(account)
    account.clear_requests()
    second = run(account, path)
    assert second.result.failures == []
    assert members_path in {r.path for r in account.requests}


def test_free_plan_run_skipped(tmp_path):
    with FakeZoom(account=AccountSpec(seed=72), plan="free") as fake:
        config = make_config(fake, tmp_path / "zoom.db")

        outcome = run_job(GROUPS_JOB, config, build_session(config))

    db = store.open_database(config.database)
    row = db["_runs"].get(outcome.run_id)
    assert outcome.exit_code == 0
    assert row["status"] == "skipped"
    assert "paid account" in row["error"].lower()
    assert "jobs.groups.enabled" in row["error"]


def test_missing_scope_fails_only_groups(tmp_path):
    missing = "group:read:list_members:admin"
    scopes = [s for s in FakeZoom.default_scopes() if s != missing]
    with FakeZoom(account=AccountSpec(seed=73), scopes=scopes) as fake:
        config = make_config(fake, tmp_path / "zoom.db")
        names = ["users", "daily_usage", GROUPS_JOB]

        outcomes = run_jobs(names, config, build_session(config))

    statuses = {o.job: o.status for o in outcomes}
    assert statuses == {"users": "ok", "daily_usage": "ok", GROUPS_JOB: "failed"}
    failed = next(o for o in outcomes if o.job == GROUPS_JOB)
    assert missing in failed.error
    assert exit_code(outcomes) == 78


def test_cli_runs_groups(tmp_path):
    with FakeZoom(account=SPEC) as fake:
        done = run_example_config(fake, tmp_path, "--job", GROUPS_JOB)
        expected = expected_members(fake)

    assert done.returncode == 0, done.stderr
    db = sqlite_utils.Database(tmp_path / "zoom.db")
    assert [r["status"] for r in db["_runs"].rows] == ["ok"]
    assert members_by_group(db) == expected
