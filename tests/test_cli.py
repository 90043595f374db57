"""The zoom-etl command run as a subprocess against the emulator."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest
import sqlite_utils

from jobs.config import JOB_NAMES
from jobs.lock import RunLock
from tests.conftest import REPO_ROOT, cli_env, zoom_etl_command
from zoom_fake import AccountSpec, FakeZoom, Fault

SECRET = "sentinel-client-secret-6f1d2c"

# The committed config.yaml, writing to zoom.db in the test's folder.
EXAMPLE_ARGS = ("--config", str(REPO_ROOT / "config.yaml"), "--db", "zoom.db")


@pytest.fixture
def account():
    spec = AccountSpec(
        seed=21,
        active_users=6,
        inactive_users=2,
        pending_users=1,
        meetings_per_user=2,
        no_host_users=1,
    )
    with FakeZoom(account=spec, client_secret=SECRET) as server:
        yield server


def zoom_etl(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*zoom_etl_command(), *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def start(command: list[str], env: dict[str, str], cwd: Path) -> subprocess.Popen:
    return subprocess.Popen(
        command, env=env, cwd=cwd, stdout=subprocess.PIPE, text=True
    )


def events(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return path


def test_run_fills_database(account, tmp_path):
    config = REPO_ROOT / "config.yaml"

    done = zoom_etl(
        "--config",
        str(config),
        "--db",
        "zoom.db",
        "run",
        env=cli_env(account),
        cwd=tmp_path,
    )

    assert done.returncode == 0, done.stderr
    db = sqlite_utils.Database(tmp_path / "zoom.db")
    assert db["users"].count == 8
    assert db["pending_users"].count == 1
    assert db["meetings"].count > 0
    statuses = {r["job"]: r["status"] for r in db["_runs"].rows}
    assert statuses == {name: "ok" for name in JOB_NAMES}
    finished = [e for e in events(done.stdout) if e["event"] == "job_finished"]
    assert [e["job"] for e in finished] == list(JOB_NAMES)
    for event in finished:
        assert {"rows", "requests", "skips", "duration_s", "status", "run_id"} <= set(
            event
        )
        assert event["timestamp"].endswith("Z")


def test_run_single_job(account, tmp_path):
    done = zoom_etl(
        *EXAMPLE_ARGS,
        "run",
        "--job",
        "users",
        env=cli_env(account),
        cwd=tmp_path,
    )

    assert done.returncode == 0, done.stderr
    db = sqlite_utils.Database(tmp_path / "zoom.db")
    assert [r["job"] for r in db["_runs"].rows] == ["users"]


def test_secrets_never_leak(account, tmp_path):
    done = zoom_etl(
        *EXAMPLE_ARGS,
        "--log-level",
        "DEBUG",
        "run",
        env=cli_env(account),
        cwd=tmp_path,
    )

    tokens = {r.token for r in account.requests if r.token}
    assert done.returncode == 0, done.stderr
    assert tokens
    files = [p for p in tmp_path.iterdir() if p.name.startswith("zoom.db")]
    assert files
    for secret in tokens | {SECRET}:
        assert secret not in done.stdout
        assert secret not in done.stderr
        for path in files:
            assert secret.encode() not in path.read_bytes()


def test_invalid_client_exit_77(account, tmp_path):
    env = cli_env(account, ZOOM_CLIENT_SECRET="wrong-secret-0123456789")

    done = zoom_etl(
        *EXAMPLE_ARGS,
        "run",
        env=env,
        cwd=tmp_path,
    )

    assert done.returncode == 77
    assert sum(1 for r in account.requests if r.path == "/oauth/token") == 1
    assert account.client_id in done.stdout
    assert "wrong-secret-0123456789" not in done.stdout + done.stderr
    failed = [e for e in events(done.stdout) if e["event"] == "job_failed"]
    assert len(failed) == 1
    assert "invalid_client" in done.stderr
    assert "jobs not run: users, meetings" in done.stderr


def test_missing_env_var_exit_78(tmp_path):
    env = cli_env(None)

    done = zoom_etl(
        "--config", str(REPO_ROOT / "config.yaml"), "run", env=env, cwd=tmp_path
    )

    assert done.returncode == 78
    assert "ZOOM_ACCOUNT_ID" in done.stderr
    assert "zoom.account_id" in done.stderr


def test_unknown_job_in_config_exit_78(tmp_path):
    config = write_config(
        tmp_path,
        """
zoom: {account_id: a, client_id: b, client_secret: c}
jobs:
  meetingz: {enabled: true}
""",
    )

    done = zoom_etl("--config", str(config), "run", env=cli_env(None), cwd=tmp_path)

    assert done.returncode == 78
    assert "meetingz" in done.stderr


def test_malformed_yaml_exit_78(tmp_path):
    config = write_config(tmp_path, "zoom: [unclosed\n")

    done = zoom_etl("--config", str(config), "run", env=cli_env(None), cwd=tmp_path)

    assert done.returncode == 78
    assert "config.yaml" in done.stderr


def test_unreadable_secret_file_exit_78(tmp_path):
    config = write_config(
        tmp_path,
        """
zoom:
  account_id: a
  client_id: b
  client_secret_file: missing-secret
""",
    )

    done = zoom_etl("--config", str(config), "run", env=cli_env(None), cwd=tmp_path)

    assert done.returncode == 78
    assert "client_secret_file" in done.stderr
    assert "missing-secret" in done.stderr


def test_missing_config_file_exit_78(tmp_path):
    done = zoom_etl("run", env=cli_env(None), cwd=tmp_path)

    assert done.returncode == 78
    assert "config.yaml" in done.stderr


def test_unknown_job_option_exit_64(tmp_path):
    done = zoom_etl("run", "--job", "nosuch", env=cli_env(None), cwd=tmp_path)

    assert done.returncode == 64
    assert "nosuch" in done.stderr


def test_unknown_command_exit_64(tmp_path):
    done = zoom_etl("frobnicate", env=cli_env(None), cwd=tmp_path)

    assert done.returncode == 64


def test_check_prints_account(account, tmp_path):
    done = zoom_etl(
        "--config",
        str(REPO_ROOT / "config.yaml"),
        "check",
        env=cli_env(account),
        cwd=tmp_path,
    )

    assert done.returncode == 0, done.stderr
    assert account.account_id in done.stdout
    assert account.account.owner["email"] in done.stdout
    assert "user:read:list_users:admin" in done.stdout


def test_demo_prints_counts(tmp_path):
    done = zoom_etl("demo", env=cli_env(None), cwd=tmp_path)

    assert done.returncode == 0, done.stderr
    db = sqlite_utils.Database(tmp_path / "zoom-demo.db")
    for table in ("users", "meetings", "pending_users"):
        count = db[table].count
        assert count > 0
        assert any(
            line.split() == [table, str(count)] for line in done.stdout.splitlines()
        )


def test_help_lists_commands(tmp_path):
    done = zoom_etl("--help", env=cli_env(None), cwd=tmp_path)

    assert done.returncode == 0
    for command in ("run", "check", "demo"):
        assert command in done.stdout


def test_second_run_exits_75_while_locked(account, tmp_path):
    with RunLock(tmp_path / "zoom.db"):
        done = zoom_etl(
            *EXAMPLE_ARGS,
            "run",
            env=cli_env(account),
            cwd=tmp_path,
        )

    assert done.returncode == 75
    assert "is in use by zoom-etl process" in done.stderr
    assert "--wait" in done.stderr
    assert not [r for r in account.requests if r.path.startswith("/v2/")]


def test_wait_queues_behind_lock(account, tmp_path):
    lock = RunLock(tmp_path / "zoom.db")
    lock.acquire()
    command = [
        *zoom_etl_command(),
        *EXAMPLE_ARGS,
        "run",
        "--job",
        "users",
        "--wait",
    ]
    with start(command, cli_env(account), tmp_path) as process:
        for line in process.stdout:
            if json.loads(line)["event"] == "database_busy_waiting":
                break
        lock.release()
        rest = process.stdout.read()
        code = process.wait(60)

    assert code == 0
    assert "job_finished" in rest
    assert sqlite_utils.Database(tmp_path / "zoom.db")["users"].count == 8


def test_sigterm_marks_run_failed(account, tmp_path):
    account.add_fault(
        Fault(path=r"/v2/users/[^/]+/meetings", delay=0.5, status=None, times=None)
    )
    command = [
        *zoom_etl_command(),
        *EXAMPLE_ARGS,
        "run",
        "--job",
        "meetings",
    ]
    with start(command, cli_env(account), tmp_path) as process:
        for line in process.stdout:
            if json.loads(line)["event"] == "job_started":
                break
        process.send_signal(signal.SIGTERM)
        process.stdout.read()
        code = process.wait(60)

    assert code == 128 + signal.SIGTERM
    (row,) = sqlite_utils.Database(tmp_path / "zoom.db")["_runs"].rows
    assert row["status"] == "failed"
    assert row["error"] == "interrupted"


def test_second_sigterm_during_fan_out_exits(account, tmp_path):
    # One worker reads a host's months one by one, 0.3 s each, emitting more
    # steps than the queue can contain once the writer stops reading.
    account.add_fault(
        Fault(
            path=r"/v2/report/users/[^/]+/meetings", delay=0.3, status=None, times=None
        )
    )
    config = tmp_path / "config.yaml"
    config.write_text(
        (REPO_ROOT / "config.yaml").read_text().replace("workers: null", "workers: 1")
    )
    command = [
        *zoom_etl_command(),
        "--config",
        str(config),
        "--db",
        "zoom.db",
        "run",
        "--job",
        "meeting_instances",
        "--since",
        "2026-01-01",
    ]
    with start(command, cli_env(account), tmp_path) as process:
        for line in process.stdout:
            if json.loads(line)["event"] == "fan_out_started":
                break
        time.sleep(0.5)
        process.send_signal(signal.SIGTERM)
        time.sleep(0.4)
        process.send_signal(signal.SIGTERM)
        process.stdout.read()
        code = process.wait(30)

    assert code == 128 + signal.SIGTERM
    (row,) = sqlite_utils.Database(tmp_path / "zoom.db")["_runs"].rows
    assert row["status"] == "failed"
