"""The status report: last runs from real databases, an injected clock, the CLI."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlite_utils

from jobs import store
from jobs.config import (
    JOB_NAMES,
    Config,
    ConfigError,
    JobSettings,
    SchedulerSettings,
    ZoomSettings,
)
from jobs.lock import RunLock
from jobs.runner import build_session, run_job, run_jobs
from jobs.schedule import Schedule
from jobs.status import (
    StatusError,
    format_duration,
    format_json,
    format_table,
    load_status_config,
    max_age,
    open_read_only,
    parse_time,
    read_status,
    shorten,
)
from tests.conftest import cli_env, emulator_settings, zoom_etl_command
from zoom_fake import AccountSpec, FakeZoom

# A Friday, 18:00 UTC.
NOW = datetime(2026, 12, 4, 18, 0, tzinfo=UTC)

SPEC = AccountSpec(
    seed=17, active_users=3, inactive_users=1, pending_users=1, meetings_per_user=2
)

CONFIG_YAML = """
zoom:
  account_id: ${ZOOM_ACCOUNT_ID}
  client_id: ${ZOOM_CLIENT_ID}
  client_secret_file: client-secret-not-present
database: zoom.db
jobs:
  users_me: {enabled: true, schedule: {hours: 24}}
  users: {enabled: true, schedule: "0 */6 * * *"}
  meetings: {enabled: true, schedule: {minutes: 30}}
  meeting_instances: {enabled: false}
  participants: {enabled: false}
  webinars: {enabled: false}
  recordings: {enabled: false}
  daily_usage: {enabled: false}
  activity_logs: {enabled: false}
  operation_logs: {enabled: false}
  groups: {enabled: false}
"""


# The jobs these tests enable; the others stay disabled, so each test
# controls every enabled job's runs.
CORE_JOBS = ("users_me", "users", "meetings")


@pytest.fixture
def account():
    with FakeZoom(account=SPEC) as server:
        yield server


def make_config(
    database: Path,
    fake: FakeZoom | None = None,
    *,
    disabled: tuple[str, ...] = (),
    schedules: dict[str, Schedule] | None = None,
    timezone: str = "UTC",
) -> Config:
    if fake is None:
        zoom = ZoomSettings(account_id="a", client_id="b", client_secret="c")
    else:
        zoom = emulator_settings(fake)
    schedules = schedules or {}
    jobs = {
        name: JobSettings(
            name,
            enabled=name in CORE_JOBS and name not in disabled,
            schedule=schedules.get(name),
        )
        for name in JOB_NAMES
    }
    return Config(
        zoom=zoom,
        database=database,
        jobs=jobs,
        scheduler=SchedulerSettings(timezone=timezone),
    )


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def record_run(
    database: Path,
    job: str,
    started: datetime,
    *,
    duration: timedelta | None = timedelta(seconds=12),
    status: str = "ok",
    error: str | None = None,
) -> str:
    """Write one ``_runs`` row through the store; duration None leaves it running."""
    run_id = f"{job}-{iso(started)}-{status}"
    db = store.open_database(database)
    try:
        store.start_run(db, run_id, job, iso(started))
        if duration is not None:
            store.finish_run(
                db,
                run_id,
                finished_at=iso(started + duration),
                status=status,
                rows=7,
                requests=3,
                skips=1,
                error=error,
            )
    finally:
        db.close()
    return run_id


def record_all_ok(
    database: Path, started: datetime, *, skip: tuple[str, ...] = ()
) -> None:
    for name in CORE_JOBS:
        if name not in skip:
            record_run(database, name, started)


def by_job(report) -> dict:
    return {job.job: job for job in report.jobs}


def zoom_etl(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """Run the CLI with no Zoom credentials in its environment."""
    return subprocess.run(
        [*zoom_etl_command(), *args],
        env=cli_env(None),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def write_config(tmp_path: Path) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG_YAML)
    return path


# --- The report, on databases written by real runs --------------------------


def test_real_runs_are_healthy(account, tmp_path):
    config = make_config(tmp_path / "zoom.db", account)
    run_jobs(list(JOB_NAMES), config, build_session(config))
    with sqlite3.connect(config.database) as connection:
        query = "select max(started_at) from _runs"
        (last_start,) = connection.execute(query).fetchone()
    connection.close()

    report = read_status(config.database, config, parse_time(last_start))

    jobs = by_job(report)
    assert report.healthy
    assert list(jobs) == list(JOB_NAMES)
    for job in jobs.values():
        assert job.status == "ok"
        assert job.problem is None
        assert job.started_at.endswith("Z")
        assert job.duration_s is not None
        assert job.duration_s >= 0
        assert job.error is None
    assert jobs["users"].rows == SPEC.active_users + SPEC.inactive_users + 1
    assert jobs["meetings"].rows > 0


def test_failed_run_is_unhealthy(account, tmp_path):
    config = make_config(tmp_path / "zoom.db", account)
    run_jobs(list(JOB_NAMES), config, build_session(config))
    bad_zoom = replace(config.zoom, client_secret="not-the-secret")
    bad_config = replace(config, zoom=bad_zoom)
    outcome = run_job("users", bad_config, build_session(bad_config))
    assert outcome.status == "failed"
    started = parse_time(record_started_at(config.database, outcome.run_id))

    report = read_status(config.database, config, started + timedelta(minutes=1))

    users = by_job(report)["users"]
    assert not report.healthy
    assert users.status == "failed"
    assert "invalid_client" in users.error
    assert users.problem.startswith("last run failed at ")
    assert "invalid_client" in users.problem
    assert by_job(report)["meetings"].problem is None


def record_started_at(database: Path, run_id: str) -> str:
    with sqlite3.connect(database) as connection:
        row = connection.execute(
            "select started_at from _runs where run_id = ?", [run_id]
        ).fetchone()
    connection.close()
    return row[0]


def test_partial_run_is_unhealthy(tmp_path):
    database = tmp_path / "zoom.db"
    record_all_ok(database, NOW - timedelta(minutes=5))
    record_run(
        database,
        "meetings",
        NOW - timedelta(minutes=2),
        status="partial",
        error="2 failed: user u1: 503\nsecond line",
    )

    report = read_status(database, make_config(database), NOW)

    meetings = by_job(report)["meetings"]
    assert not report.healthy
    assert meetings.status == "partial"
    assert meetings.error == "2 failed: user u1: 503"
    assert meetings.problem == (
        "last run partial at 2026-12-04T17:58:00Z: 2 failed: user u1: 503"
    )


def test_last_run_is_latest_start(tmp_path):
    database = tmp_path / "zoom.db"
    record_all_ok(database, NOW - timedelta(minutes=40))
    record_run(database, "users", NOW - timedelta(minutes=10), status="failed")
    record_run(database, "users", NOW - timedelta(minutes=20))

    report = read_status(database, make_config(database), NOW)

    users = by_job(report)["users"]
    assert users.status == "failed"
    assert users.started_at == "2026-12-04T17:50:00Z"
    assert users.duration_s == 12.0
    assert users.rows == 7
    assert users.skips == 1


# --- Age against the schedule ------------------------------------------------


@pytest.mark.parametrize(
    ("age", "stale"),
    [
        (timedelta(minutes=59), False),
        (timedelta(minutes=60), False),
        (timedelta(minutes=61), True),
    ],
    ids=["59m", "60m", "61m"],
)
def test_interval_stale_after_twice_period(tmp_path, age, stale):
    database = tmp_path / "zoom.db"
    record_all_ok(database, NOW - timedelta(minutes=1), skip=("meetings",))
    record_run(database, "meetings", NOW - age)

    report = read_status(database, make_config(database), NOW)

    meetings = by_job(report)["meetings"]
    assert report.healthy is not stale
    assert meetings.status == "ok"
    if stale:
        assert meetings.problem == (
            "no run since 2026-12-04T16:59:00Z (1h 1m ago), over the 1h "
            "that every 30 minutes allows"
        )
    else:
        assert meetings.problem is None


def test_cron_stale_after_twice_period(tmp_path):
    database = tmp_path / "zoom.db"
    started = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
    record_all_ok(database, started)
    config = make_config(database)
    twelve_hours = started + timedelta(hours=12)

    before = read_status(database, config, twelve_hours)
    after = read_status(database, config, twelve_hours + timedelta(seconds=1))

    assert by_job(before)["users"].problem is None
    users_problem = by_job(after)["users"].problem
    assert "over the 12h that cron '0 */6 * * *' allows" in users_problem
    assert by_job(after)["meetings"].problem.startswith("no run since ")


def test_weekday_cron_spans_weekend(tmp_path):
    database = tmp_path / "zoom.db"
    friday = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
    record_all_ok(database, friday)
    weekdays = {"users": Schedule.parse("0 9 * * mon-fri")}
    disabled = ("users_me", "meetings")
    config = make_config(database, disabled=disabled, schedules=weekdays)

    monday = read_status(database, config, datetime(2026, 12, 7, 10, 0, tzinfo=UTC))
    tuesday = read_status(database, config, datetime(2026, 12, 8, 9, 0, 1, tzinfo=UTC))

    assert monday.healthy
    assert not tuesday.healthy
    assert by_job(tuesday)["users"].problem.startswith(
        "no run since 2026-12-04T09:00:00Z (4d ago)"
    )


def test_cron_period_uses_scheduler_zone(tmp_path):
    # 09:00 on a Friday in Auckland (UTC+13 in December) is Thursday 20:00 UTC,
    # so the next two weekday runs there are Sunday and Monday 20:00 UTC.
    database = tmp_path / "zoom.db"
    record_all_ok(database, datetime(2026, 12, 3, 20, 0, tzinfo=UTC))
    weekdays = {"users": Schedule.parse("0 9 * * mon-fri")}
    monday_noon = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
    options = dict(disabled=("users_me", "meetings"), schedules=weekdays)
    auckland = make_config(database, timezone="Pacific/Auckland", **options)
    utc = make_config(database, timezone="UTC", **options)

    assert read_status(database, auckland, monday_noon).healthy
    assert not read_status(database, utc, monday_noon).healthy


@pytest.mark.parametrize(
    ("expression", "started", "limit"),
    [
        ("*/30 * * * *", datetime(2026, 12, 4, 17, 30, tzinfo=UTC), timedelta(hours=1)),
        ("*/30 * * * *", datetime(2026, 12, 4, 17, 18, tzinfo=UTC), timedelta(hours=1)),
        (
            "0 */6 * * *",
            datetime(2026, 12, 4, 12, 0, 2, tzinfo=UTC),
            timedelta(hours=12),
        ),
        # Thursday 09:00: the runs after it are Friday and Monday 09:00.
        (
            "0 9 * * mon-fri",
            datetime(2026, 12, 3, 9, 0, tzinfo=UTC),
            timedelta(days=4),
        ),
        # Monday 09:00: the runs after it are Tuesday and Wednesday 09:00.
        (
            "0 9 * * mon-fri",
            datetime(2026, 12, 7, 9, 0, tzinfo=UTC),
            timedelta(days=2),
        ),
    ],
    ids=["on-grid", "off-grid", "late-start", "thursday", "monday"],
)
def test_max_age_cron(expression, started, limit):
    assert max_age(Schedule.parse(expression), UTC, started) == limit


def test_max_age_interval_is_twice_period():
    schedule = Schedule.parse({"hours": 1, "minutes": 30})

    assert max_age(schedule, UTC, NOW) == timedelta(hours=3)


def test_max_age_never_firing_cron():
    schedule = Schedule(cron="0 0 30 2 *")

    assert max_age(schedule, UTC, NOW) is None


def test_never_firing_cron_is_problem(tmp_path):
    database = tmp_path / "zoom.db"
    record_all_ok(database, NOW - timedelta(minutes=1))
    never = {"users": Schedule(cron="0 0 30 2 *")}

    report = read_status(database, make_config(database, schedules=never), NOW)

    assert by_job(report)["users"].problem == (
        "cron '0 0 30 2 *' never fires again; fix jobs.users.schedule"
    )


# --- Running, never run, disabled --------------------------------------------


def test_running_within_limit_is_healthy(tmp_path):
    database = tmp_path / "zoom.db"
    record_all_ok(database, NOW - timedelta(minutes=20), skip=("meetings",))
    record_run(database, "meetings", NOW - timedelta(minutes=10), duration=None)

    report = read_status(database, make_config(database), NOW)

    meetings = by_job(report)["meetings"]
    assert report.healthy
    assert meetings.status == "running"
    assert meetings.duration_s is None
    assert meetings.rows is None
    row = next(line for line in format_table(report).splitlines() if "meetings" in line)
    assert "running" in row.split()


def test_running_too_long_is_problem(tmp_path):
    database = tmp_path / "zoom.db"
    record_all_ok(database, NOW - timedelta(minutes=20), skip=("meetings",))
    record_run(database, "meetings", NOW - timedelta(minutes=65), duration=None)
    record_run(database, "meetings", NOW - timedelta(minutes=65, seconds=1))

    report = read_status(database, make_config(database), NOW)

    meetings = by_job(report)["meetings"]
    assert not report.healthy
    assert meetings.status == "running"
    assert meetings.problem == (
        "running since 2026-12-04T16:55:00Z (1h 5m ago), over the 1h that "
        "every 30 minutes allows; its process may have died"
    )


def test_never_run_is_problem(tmp_path):
    database = tmp_path / "zoom.db"
    record_run(database, "users", NOW - timedelta(minutes=5))
    record_run(database, "meetings", NOW - timedelta(minutes=5))

    report = read_status(database, make_config(database), NOW)

    users_me = by_job(report)["users_me"]
    assert not report.healthy
    assert users_me.status is None
    assert users_me.started_at is None
    assert users_me.problem == "enabled but never ran"
    assert [j.job for j in report.jobs if j.problem] == ["users_me"]


def test_disabled_jobs_never_unhealthy(tmp_path):
    database = tmp_path / "zoom.db"
    record_run(database, "users", NOW - timedelta(minutes=5))
    record_run(database, "meetings", NOW - timedelta(days=3), status="failed")
    config = make_config(database, disabled=("users_me", "meetings"))

    report = read_status(database, config, NOW)

    jobs = by_job(report)
    assert report.healthy
    assert list(jobs) == list(JOB_NAMES)
    assert jobs["users_me"].enabled is False
    assert jobs["users_me"].problem is None
    assert jobs["meetings"].enabled is False
    assert jobs["meetings"].status == "failed"
    assert jobs["meetings"].problem is None


def test_database_without_runs_table(tmp_path):
    database = tmp_path / "other.db"
    sqlite_utils.Database(database)["notes"].insert({"text": "not zoom-etl"})

    report = read_status(database, make_config(database), NOW)

    assert not report.healthy
    problems = {job.job: job.problem for job in report.jobs}
    assert {problems[name] for name in CORE_JOBS} == {"enabled but never ran"}


# --- The _schedule table -------------------------------------------------------


def test_next_run_from_schedule_table(tmp_path):
    database = tmp_path / "zoom.db"
    record_all_ok(database, NOW - timedelta(minutes=5))
    db = sqlite_utils.Database(database)
    db["_schedule"].insert_all(
        [
            {
                "job": "meetings",
                "schedule": "every 30 minutes",
                "next_run_at": "2026-12-04T18:25:00Z",
                "updated_at": "2026-12-04T17:55:00Z",
                "pid": os.getpid(),
            },
            {
                "job": "users",
                "schedule": "cron '0 */6 * * *'",
                "next_run_at": None,
                "updated_at": "2026-12-04T17:55:00Z",
                "pid": os.getpid(),
            },
        ]
    )
    db.close()

    report = read_status(database, make_config(database), NOW)

    jobs = by_job(report)
    assert jobs["meetings"].next_run_at == "2026-12-04T18:25:00Z"
    assert jobs["users"].next_run_at is None
    assert jobs["users_me"].next_run_at is None
    lines = format_table(report).splitlines()
    meetings_row = next(line for line in lines if line.startswith("meetings"))
    users_row = next(line for line in lines if line.startswith("users "))
    assert "2026-12-04T18:25:00Z" in meetings_row.split()
    assert users_row.split()[-2:] == ["-", "-"]
    assert json.loads(format_json(report))["jobs"][2]["next_run_at"] == (
        "2026-12-04T18:25:00Z"
    )


# --- Read-only access -----------------------------------------------------------


def test_missing_database_not_created(tmp_path):
    database = tmp_path / "zoom.db"

    with pytest.raises(StatusError) as error:
        read_status(database, make_config(database), NOW)

    assert str(error.value) == f"no database at {database}; run `zoom-etl run` first"
    assert list(tmp_path.iterdir()) == []


def test_connection_rejects_writes(tmp_path):
    database = tmp_path / "zoom.db"
    record_all_ok(database, NOW)

    connection = open_read_only(database)
    try:
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            connection.execute("delete from _runs")
    finally:
        connection.close()

    assert sqlite_utils.Database(database)["_runs"].count == len(CORE_JOBS)


def test_open_write_transaction_not_seen(tmp_path):
    database = tmp_path / "zoom.db"
    record_all_ok(database, NOW - timedelta(minutes=5))
    writer = store.open_database(database)
    writer.conn.execute("begin immediate")
    writer.conn.execute(
        "insert into _runs (run_id, job, started_at, status) values (?, ?, ?, ?)",
        ["uncommitted", "users", iso(NOW), "failed"],
    )

    try:
        report = read_status(database, make_config(database), NOW)
    finally:
        writer.conn.rollback()
        writer.close()

    assert report.healthy
    assert by_job(report)["users"].status == "ok"


def test_old_database_not_migrated(tmp_path):
    database = tmp_path / "zoom.db"
    with sqlite3.connect(database) as connection:
        connection.execute(
            "create table _runs (run_id text primary key, job text, "
            "started_at text, finished_at text, status text, rows integer, "
            "requests integer, skips integer, error text)"
        )
        connection.execute(
            "insert into _runs values ('r1', 'users', ?, ?, 'ok', 3, 1, 0, null)",
            [iso(NOW - timedelta(minutes=3)), iso(NOW - timedelta(minutes=2))],
        )
    connection.close()
    before = database.read_bytes()

    report = read_status(database, make_config(database), NOW)

    assert by_job(report)["users"].status == "ok"
    assert by_job(report)["users"].next_run_at is None
    assert database.read_bytes() == before
    assert sqlite_utils.Database(database).table_names() == ["_runs"]


def test_not_sqlite_file_is_error(tmp_path):
    database = tmp_path / "zoom.db"
    database.write_bytes(b"this is not a SQLite database, only text" * 50)

    with pytest.raises(StatusError) as error:
        read_status(database, make_config(database), NOW)

    assert str(database) in str(error.value)
    assert "file is not a database" in str(error.value)


def test_folder_as_database_is_error(tmp_path):
    with pytest.raises(StatusError) as error:
        read_status(tmp_path, make_config(tmp_path), NOW)

    assert str(error.value) == (
        f"database {tmp_path} is not a file; pass --db with the SQLite file"
    )


def test_naive_now_rejected(tmp_path):
    database = tmp_path / "zoom.db"
    record_all_ok(database, NOW)

    with pytest.raises(ValueError, match="aware datetime"):
        read_status(database, make_config(database), NOW.replace(tzinfo=None))


# --- Configuration ----------------------------------------------------------------


def test_config_loads_without_credentials(tmp_path):
    path = write_config(tmp_path)

    config = load_status_config(path, env={})

    assert config.database == tmp_path / "zoom.db"
    assert config.jobs["users"].schedule == Schedule(cron="0 */6 * * *")
    assert config.enabled_jobs() == list(CORE_JOBS)


def test_config_db_option_replaces_database(tmp_path):
    path = write_config(tmp_path)

    config = load_status_config(path, Path("elsewhere.db"), env={})

    assert config.database == Path("elsewhere.db").absolute()


def test_config_jobs_still_validated(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("zoom: {}\njobs:\n  meetingz: {enabled: true}\n")

    with pytest.raises(ConfigError) as error:
        load_status_config(path, env={})

    assert error.value.key == "jobs.meetingz"


# --- Formatting ---------------------------------------------------------------------


def test_table_columns_aligned(tmp_path):
    database = tmp_path / "zoom.db"
    record_all_ok(database, NOW - timedelta(minutes=5))
    record_run(
        database,
        "users",
        NOW - timedelta(minutes=1),
        duration=timedelta(seconds=125),
        status="failed",
        error="Zoom returned 500 " + "x" * 100,
    )

    lines = format_table(read_status(database, make_config(database), NOW)).splitlines()

    header, *rows = lines[: 1 + len(JOB_NAMES)]
    assert header.split() == [
        "job",
        "enabled",
        "schedule",
        "status",
        "started_at",
        "duration",
        "rows",
        "skips",
        "next_run_at",
        "error",
    ]
    status_column = header.index("status")
    statuses = [row[status_column:].split()[0] for row in rows]
    assert statuses[:3] == ["ok", "failed", "ok"]
    assert set(statuses[3:]) == {"-"}
    assert [row.split()[0] for row in rows] == list(JOB_NAMES)
    assert "125s" in rows[1].split()
    assert rows[1].endswith("x...")
    assert len(rows[1]) - rows[1].index("Zoom returned") == 50
    verdict = lines[1 + len(JOB_NAMES) :]
    assert verdict[0] == ""
    assert verdict[1].startswith("users: last run failed at 2026-12-04T17:59:00Z: ")
    assert verdict[2] == "unhealthy: 1 enabled job needs attention"


def test_json_keys_and_types(tmp_path):
    database = tmp_path / "zoom.db"
    record_all_ok(database, NOW - timedelta(minutes=5))

    data = json.loads(format_json(read_status(database, make_config(database), NOW)))

    assert data["healthy"] is True
    assert data["checked_at"] == "2026-12-04T18:00:00Z"
    assert data["database"] == str(database)
    assert [job["job"] for job in data["jobs"]] == list(JOB_NAMES)
    assert list(data["jobs"][0]) == [
        "job",
        "enabled",
        "schedule",
        "status",
        "started_at",
        "duration_s",
        "rows",
        "skips",
        "error",
        "next_run_at",
        "problem",
    ]
    assert data["jobs"][0]["duration_s"] == 12.0
    assert data["jobs"][0]["schedule"] == "every 24 hours"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (59, "59s"),
        (60, "1m"),
        (125, "2m 5s"),
        (3600, "1h"),
        (3660, "1h 1m"),
        (86400 * 2 + 3600 * 3 + 59, "2d 3h"),
    ],
)
def test_format_duration(seconds, text):
    assert format_duration(timedelta(seconds=seconds)) == text


def test_shorten_first_line():
    assert shorten("first  line\nsecond", 80) == "first line"
    assert shorten("abcdefghij", 8) == "abcde..."
    assert shorten("abcdefgh", 8) == "abcdefgh"
    assert shorten("  \n ", 8) == ""


# --- The command, as a subprocess ---------------------------------------------------


def test_cli_table_exit_0(account, tmp_path):
    config_path = write_config(tmp_path)
    config = make_config(tmp_path / "zoom.db", account)
    run_jobs(list(CORE_JOBS), config, build_session(config))

    done = zoom_etl("--config", str(config_path), "status", cwd=tmp_path)

    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split()[:4] == ["job", "enabled", "schedule", "status"]
    for name, line in zip(CORE_JOBS, lines[1:4], strict=True):
        assert line.split()[:2] == [name, "yes"]
        assert " ok " in line
    assert lines[-1] == "healthy: every enabled job ran on schedule"
    assert done.stderr == ""


def test_cli_json_failed_exit_1(tmp_path):
    config_path = write_config(tmp_path)
    database = tmp_path / "zoom.db"
    record_all_ok(database, datetime.now(UTC) - timedelta(minutes=5))
    record_run(
        database, "users", datetime.now(UTC), status="failed", error="boom happened"
    )

    done = zoom_etl("--config", str(config_path), "status", "--json", cwd=tmp_path)

    assert done.returncode == 1, done.stderr
    data = json.loads(done.stdout)
    assert data["healthy"] is False
    problems = {job["job"]: job["problem"] for job in data["jobs"]}
    assert problems["users_me"] is None
    assert problems["meetings"] is None
    assert problems["users"].startswith("last run failed at ")
    assert problems["users"].endswith(": boom happened")


def test_cli_stale_exit_1(tmp_path):
    config_path = write_config(tmp_path)
    database = tmp_path / "elsewhere.db"
    record_all_ok(database, datetime.now(UTC) - timedelta(days=3))

    done = zoom_etl(
        "--config", str(config_path), "--db", str(database), "status", cwd=tmp_path
    )

    assert done.returncode == 1, done.stderr
    problems = [line for line in done.stdout.splitlines() if "no run since" in line]
    assert [line.split(":")[0] for line in problems] == list(CORE_JOBS)
    assert done.stdout.splitlines()[-1] == "unhealthy: 3 enabled jobs need attention"


def test_cli_missing_database_exit_1(tmp_path):
    config_path = write_config(tmp_path)
    database = tmp_path / "data" / "zoom.db"
    database.parent.mkdir()

    done = zoom_etl(
        "--config", str(config_path), "--db", str(database), "status", cwd=tmp_path
    )

    assert done.returncode == 1
    assert done.stderr.strip() == (
        f"zoom-etl: no database at {database}; run `zoom-etl run` first"
    )
    assert done.stdout == ""
    assert list(database.parent.iterdir()) == []


def test_cli_ignores_run_lock(tmp_path):
    config_path = write_config(tmp_path)
    database = tmp_path / "zoom.db"
    record_all_ok(database, datetime.now(UTC) - timedelta(minutes=1))

    with RunLock(database):
        done = zoom_etl("--config", str(config_path), "status", cwd=tmp_path)

    assert done.returncode == 0, done.stderr
    assert "healthy" in done.stdout


def test_cli_bad_config_exit_78(tmp_path):
    config_path = tmp_path / "config.yaml"
    config_path.write_text("zoom: {}\ndatabase: [not, a, path]\n")

    done = zoom_etl("--config", str(config_path), "status", cwd=tmp_path)

    assert done.returncode == 78
    assert "database" in done.stderr


def test_cli_help_documents_exit_1(tmp_path):
    done = zoom_etl("status", "--help", cwd=tmp_path)

    assert done.returncode == 0
    text = " ".join(done.stdout.split())
    assert "--json" in text
    assert "exit code is 0 when every enabled job is healthy, and 1 when" in text


def test_next_run_hidden_when_daemon_gone(tmp_path):
    database = tmp_path / "zoom.db"
    record_all_ok(database, NOW - timedelta(minutes=5))
    db = sqlite_utils.Database(database)
    # Above Linux's largest process ID (2**22), so no process has it.
    row = {
        "job": "meetings",
        "schedule": "every 30 minutes",
        "next_run_at": "2026-12-04T18:25:00Z",
        "updated_at": "2026-12-04T17:55:00Z",
        "pid": 2**22 + 12345,
    }
    db["_schedule"].insert(row)
    db.close()

    report = read_status(database, make_config(database), NOW)

    assert by_job(report)["meetings"].next_run_at is None
