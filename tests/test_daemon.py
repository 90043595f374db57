"""The daemon: scheduling, token renewal, signals, reload, overlap, systemd."""

from __future__ import annotations

import io
import json
import signal
import socket
import subprocess
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils
import structlog
import yaml

from jobs import logs
from jobs.config import JOB_NAMES, load_config
from jobs.daemon import RENEWAL_JOB_ID, Daemon, build_scheduler, schedule_jobs
from jobs.notify import Notifier
from tests.conftest import cli_env, zoom_etl_command
from tests.daemon_process import DaemonProcess
from zoom_fake import AccountSpec, FakeZoom, Fault

SPEC = AccountSpec(seed=31, active_users=6, inactive_users=1, meetings_per_user=2)

# Credentials for tests that build a scheduler but send no request.
OFFLINE_ENV = {
    "ZOOM_TOKEN_URL": "https://zoom.us/oauth/token",
    "ZOOM_ACCOUNT_ID": "account",
    "ZOOM_CLIENT_ID": "client",
    "ZOOM_CLIENT_SECRET": "offline-secret",
}


@pytest.fixture
def account():
    with FakeZoom(account=SPEC) as server:
        yield server


def write_config(
    folder: Path,
    jobs: dict[str, Any],
    *,
    scheduler: dict[str, Any] | None = None,
    zoom: dict[str, Any] | None = None,
) -> Path:
    document = {
        "zoom": {
            "account_id": "${ZOOM_ACCOUNT_ID}",
            "client_id": "${ZOOM_CLIENT_ID}",
            "client_secret": "${ZOOM_CLIENT_SECRET}",
            "token_url": "${ZOOM_TOKEN_URL}",
            "backoff_base": 0.01,
            "backoff_max": 0.05,
            "read_timeout": 5,
            **(zoom or {}),
        },
        "database": "zoom.db",
        "scheduler": {"stop_timeout": 20, **(scheduler or {})},
        "jobs": {name: jobs.get(name, {"enabled": False}) for name in JOB_NAMES},
    }
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def runs(folder: Path, job: str | None = None) -> list[dict[str, Any]]:
    db = sqlite_utils.Database(folder / "zoom.db")
    rows = list(db["_runs"].rows)
    return [r for r in rows if job is None or r["job"] == job]


def test_job_defaults_on_every_job(tmp_path):
    config_path = write_config(
        tmp_path,
        {name: {"schedule": {"minutes": 5}} for name in JOB_NAMES},
        scheduler={"misfire_grace_time": 123},
    )
    config = load_config(config_path, env=OFFLINE_ENV)
    scheduler = build_scheduler(config)

    schedule_jobs(scheduler, config, lambda name: None)
    scheduler.start(paused=True)
    try:
        jobs = scheduler.get_jobs()
    finally:
        scheduler.shutdown(wait=False)

    assert sorted(job.id for job in jobs) == sorted(JOB_NAMES)
    for job in jobs:
        assert job.misfire_grace_time == 123
        assert job.coalesce is True
        assert job.max_instances == 1
    assert scheduler.timezone == UTC


def test_disabled_job_not_scheduled(tmp_path):
    config_path = write_config(tmp_path, {"users": {"schedule": "*/5 * * * *"}})
    config = load_config(config_path, env=OFFLINE_ENV)
    scheduler = build_scheduler(config)

    names = schedule_jobs(scheduler, config, print)

    assert names == ["users"]
    assert [job.id for job in scheduler.get_jobs()] == ["users"]


def test_jobs_run_and_token_renewed_ahead(tmp_path):
    # Three token lifetimes of 3 s, renewed 1.5 s before expiry.
    with FakeZoom(account=SPEC, token_lifetime=3) as fake:
        config = write_config(
            tmp_path,
            {"users_me": {"schedule": {"seconds": 1}}},
            zoom={"token_renew_margin": 1.5},
        )
        with DaemonProcess(
            config, cli_env(fake, TZ="Invalid/Zone"), tmp_path
        ) as daemon:
            daemon.wait_for("daemon_started")
            first = daemon.wait_for("token_renewed")
            for _ in range(6):
                last = daemon.wait_for("token_renewed", timeout=10)
            code = daemon.stop()

        token_posts = [r for r in fake.requests if r.path == "/oauth/token"]
        codes = [r.code for r in fake.requests if r.path.startswith("/v2/")]

    assert code == 0
    assert 124 not in codes
    assert len(token_posts) >= 7
    assert len(daemon.named("token_renewal_scheduled")) >= 7
    span = datetime.fromisoformat(last["expires_at"]) - datetime.fromisoformat(
        first["expires_at"]
    )
    assert span.total_seconds() >= 3 * 3 - 1
    finished = [r for r in runs(tmp_path, "users_me") if r["status"] == "ok"]
    assert len(finished) >= 6
    expires = [e["expires_at"] for e in daemon.named("token_renewed")]
    assert len(set(expires)) == len(expires)


def test_run_now_runs_at_start(account, tmp_path):
    config = write_config(tmp_path, {"users": {"schedule": "0 0 1 1 *"}})

    with DaemonProcess(config, cli_env(account), tmp_path, "--run-now") as daemon:
        finished = daemon.wait_for("job_finished", lambda e: e["job"] == "users")
        code = daemon.stop()

    assert code == 0
    assert finished["status"] == "ok"
    assert sqlite_utils.Database(tmp_path / "zoom.db")["users"].count == 7


def test_sigterm_lets_job_finish(account, tmp_path):
    account.add_fault(
        Fault(path=r"/v2/users/[^/]+/meetings", delay=0.3, status=None, times=None)
    )
    config = write_config(tmp_path, {"meetings": {"schedule": {"hours": 1}}})

    with DaemonProcess(config, cli_env(account), tmp_path, "--run-now") as daemon:
        daemon.wait_for("job_started", lambda e: e["job"] == "meetings")
        code = daemon.stop(timeout=30)

    assert code == 0
    (run,) = runs(tmp_path, "meetings")
    assert run["status"] == "ok"
    meetings = sqlite_utils.Database(tmp_path / "zoom.db")["meetings"].count
    assert meetings == run["rows"]
    assert meetings == 7 * 2
    assert daemon.named("daemon_stopped")


def test_sigterm_after_bound_aborts_job(account, tmp_path):
    account.add_fault(
        Fault(path=r"/v2/users/[^/]+/meetings", delay=0.6, status=None, times=None)
    )
    config = write_config(
        tmp_path,
        {"meetings": {"schedule": {"hours": 1}}},
        scheduler={"stop_timeout": 1},
    )

    with DaemonProcess(config, cli_env(account), tmp_path, "--run-now") as daemon:
        daemon.wait_for("job_started", lambda e: e["job"] == "meetings")
        code = daemon.stop(timeout=30)

    assert code == 0
    (run,) = runs(tmp_path, "meetings")
    assert run["status"] == "failed"
    assert "shutting down" in run["error"]
    committed = sqlite_utils.Database(tmp_path / "zoom.db")["meetings"].count
    assert committed == run["rows"]
    assert committed < 7 * 2
    assert daemon.named("jobs_stopped")


def test_sighup_reloads_good_config(account, tmp_path):
    config = write_config(tmp_path, {"users": {"schedule": "0 0 1 1 *"}})

    with DaemonProcess(config, cli_env(account), tmp_path) as daemon:
        daemon.wait_for("daemon_started")
        write_config(tmp_path, {"users_me": {"schedule": {"seconds": 1}}})
        daemon.signal(signal.SIGHUP)
        reloaded = daemon.wait_for("config_reloaded")
        daemon.wait_for("job_finished", lambda e: e["job"] == "users_me")
        code = daemon.stop()

    assert code == 0
    assert reloaded["jobs"] == ["users_me"]
    schedule = {
        row["job"]: row
        for row in sqlite_utils.Database(tmp_path / "zoom.db")["_schedule"].rows
    }
    assert schedule["users_me"]["schedule"] == "every 1 seconds"


def test_sighup_broken_config_keeps_schedule(account, tmp_path):
    config = write_config(tmp_path, {"users_me": {"schedule": {"seconds": 1}}})

    with DaemonProcess(config, cli_env(account), tmp_path) as daemon:
        daemon.wait_for("daemon_started")
        text = config.read_text().replace("users_me:", "users_mee:")
        config.write_text(text)
        daemon.signal(signal.SIGHUP)
        failed = daemon.wait_for("config_reload_failed")
        before = len(runs(tmp_path, "users_me"))
        daemon.wait_for("job_finished", lambda e: e["job"] == "users_me")
        daemon.wait_for("job_finished", lambda e: e["job"] == "users_me")
        code = daemon.stop()

    assert code == 0
    assert failed["key"] == "jobs.users_mee"
    assert "users_mee" in failed["error"]
    assert len(runs(tmp_path, "users_me")) >= before + 2


def test_run_during_daemon_job_exits_75(account, tmp_path):
    account.add_fault(
        Fault(path=r"/v2/users/[^/]+/meetings", delay=0.4, status=None, times=None)
    )
    config = write_config(tmp_path, {"meetings": {"schedule": {"hours": 1}}})
    command = [*zoom_etl_command(), "--config", str(config), "run", "--job", "users"]

    with DaemonProcess(config, cli_env(account), tmp_path, "--run-now") as daemon:
        daemon.wait_for("job_started", lambda e: e["job"] == "meetings")
        busy = subprocess.run(
            command,
            env=cli_env(account),
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
        waited = subprocess.run(
            [*command, "--wait"],
            env=cli_env(account),
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
        code = daemon.stop()

    assert busy.returncode == 75
    assert "is in use by zoom-etl process" in busy.stderr
    assert waited.returncode == 0, waited.stderr
    assert [r["status"] for r in runs(tmp_path, "users")] == ["ok"]
    assert code == 0


def test_sd_notify_messages(account, tmp_path):
    address = str(tmp_path / "notify.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(address)
    listener.settimeout(20)
    config = write_config(tmp_path, {"users": {"schedule": "0 0 1 1 *"}})
    env = cli_env(account, NOTIFY_SOCKET=address, WATCHDOG_USEC="400000")

    try:
        with DaemonProcess(config, env, tmp_path) as daemon:
            received = [listener.recv(4096).decode()]
            while "READY=1" not in received[-1]:
                received.append(listener.recv(4096).decode())
            while received.count("WATCHDOG=1") < 2:
                received.append(listener.recv(4096).decode())
            code = daemon.stop()
            while "STOPPING=1" not in received[-1]:
                received.append(listener.recv(4096).decode())
    finally:
        listener.close()

    assert code == 0
    ready = next(i for i, m in enumerate(received) if "READY=1" in m)
    assert ready < received.index("WATCHDOG=1")
    assert daemon.named("daemon_started")


def test_context_cleared_between_runs(account, tmp_path):
    config_path = write_config(tmp_path, {"users_me": {}, "users": {}})
    env = cli_env(account)
    config = load_config(config_path, env=env)
    stream = io.StringIO()
    logs.configure_logging(level="INFO", json_output=True, stream=stream)
    daemon = Daemon(lambda: config, notifier=Notifier(env={}))

    try:
        with ThreadPoolExecutor(max_workers=1) as pool:
            pool.submit(structlog.contextvars.bind_contextvars, leaked="yes").result()
            pool.submit(daemon._run_job, "users_me").result()
            pool.submit(daemon._run_job, "users").result()
    finally:
        daemon.session.close()
        logging_reset()

    events = [json.loads(line) for line in stream.getvalue().splitlines()]
    started = {e["job"]: e["run_id"] for e in events if e["event"] == "job_started"}
    assert set(started) == {"users_me", "users"}
    for event in events:
        assert "leaked" not in event
        if "job" in event:
            assert event["run_id"] == started[event["job"]]


def logging_reset() -> None:
    logs.configure_logging(level="INFO", json_output=True)


def test_renewal_job_runs_even_if_late(account, tmp_path):
    config_path = write_config(tmp_path, {"users_me": {}})
    config = load_config(config_path, env=cli_env(account))
    daemon = Daemon(lambda: config, notifier=Notifier(env={}))
    daemon.scheduler.start(paused=True)
    try:
        token = daemon.session.provider.token()
        job = daemon.scheduler.get_job(RENEWAL_JOB_ID)
        daemon.session.provider.renew()
        jobs = [j for j in daemon.scheduler.get_jobs() if j.id == RENEWAL_JOB_ID]
    finally:
        daemon.scheduler.shutdown(wait=False)
        daemon.session.close()

    assert job is not None
    assert len(jobs) == 1
    assert job.misfire_grace_time is None
    expected = datetime.fromtimestamp(daemon.session.provider.renew_at(token), UTC)
    assert job.next_run_time == expected
    assert job.next_run_time.tzinfo is not None


def test_reload_keeps_unchanged_trigger(tmp_path):
    config_path = write_config(tmp_path, {"users": {"schedule": {"minutes": 10}}})
    config = load_config(config_path, env=OFFLINE_ENV)
    scheduler = build_scheduler(config)
    schedule_jobs(scheduler, config, print)
    scheduler.start(paused=True)
    try:
        before = scheduler.get_job("users").next_run_time
        schedule_jobs(scheduler, config, print, previous=config)
        kept = scheduler.get_job("users").next_run_time
        changed_path = write_config(tmp_path, {"users": {"schedule": {"minutes": 20}}})
        changed = load_config(changed_path, env=OFFLINE_ENV)
        schedule_jobs(scheduler, changed, print, previous=config)
        moved = scheduler.get_job("users").next_run_time
    finally:
        scheduler.shutdown(wait=False)

    assert kept == before
    assert moved > before


def test_stop_starts_no_queued_job(account, tmp_path):
    account.add_fault(Fault(path="/v2/users", delay=1.0, status=None, times=None))
    config = write_config(
        tmp_path,
        {"users": {"schedule": {"hours": 1}}, "meetings": {"schedule": {"hours": 1}}},
    )

    with DaemonProcess(config, cli_env(account), tmp_path, "--run-now") as daemon:
        daemon.wait_for("job_started", lambda e: e["job"] == "users")
        code = daemon.stop(timeout=60)

    assert code == 0
    assert [r["job"] for r in runs(tmp_path)] == ["users"]
    assert [r["status"] for r in runs(tmp_path)] == ["ok"]


def test_second_daemon_exits_75(account, tmp_path):
    config = write_config(tmp_path, {"users": {"schedule": "0 0 1 1 *"}})
    command = [*zoom_etl_command(), "--config", str(config), "daemon"]

    with DaemonProcess(config, cli_env(account), tmp_path) as daemon:
        daemon.wait_for("daemon_started")
        second = subprocess.run(
            command,
            env=cli_env(account),
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
        code = daemon.stop()

    assert second.returncode == 75
    assert "another zoom-etl daemon" in second.stderr
    assert code == 0


@pytest.mark.parametrize(
    ("jobs", "secret", "expected"),
    [
        ({}, None, 78),
        ({"users": {"schedule": "0 0 1 1 *"}}, "wrong-secret-value", 77),
    ],
    ids=["no-enabled-job", "rejected-secret"],
)
def test_daemon_fails_fast(account, tmp_path, jobs, secret, expected):
    config = write_config(tmp_path, jobs)
    env = cli_env(account)
    if secret:
        env["ZOOM_CLIENT_SECRET"] = secret
    command = [*zoom_etl_command(), "--config", str(config), "daemon"]

    done = subprocess.run(
        command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )

    assert done.returncode == expected
    assert "zoom-etl:" in done.stderr
