"""Checks of the systemd units in systemd/ and of crontab.example.

The units are read with a small parser that keeps repeated keys, as systemd
does. Where ``systemd-analyze`` is installed, it verifies them and scores their
sandboxing. The cron line and the run unit's command line are also executed
against the emulator with the environment that cron or systemd would give them.
"""

from __future__ import annotations

import fcntl
import json
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import fields
from pathlib import Path

import pytest
import sqlite_utils

from jobs.config import JOB_NAMES, SchedulerSettings, ZoomSettings
from tests.conftest import REPO_ROOT, zoom_etl_command
from zoom_fake import AccountSpec, FakeZoom

UNIT_DIR = REPO_ROOT / "systemd"
DAEMON_UNIT = "zoom-etl.service"
RUN_UNIT = "zoom-etl-run.service"
TIMER_UNIT = "zoom-etl-run.timer"
SERVICE_UNITS = (DAEMON_UNIT, RUN_UNIT)
CRONTAB = REPO_ROOT / "crontab.example"

INSTALLED_BINARY = "/opt/zoom-etl/.venv/bin/zoom-etl"
INSTALLED_CONFIG = "/etc/zoom-etl/config.yaml"
SECRET_CREDENTIAL = "zoom-client-secret:/etc/zoom-etl/client-secret"

SECRET = "sentinel-client-secret-4b9e07"

# Settings both services must carry, with their exact values.
HARDENING = {
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "PrivateDevices": "yes",
    "NoNewPrivileges": "yes",
    "StateDirectory": "zoom-etl",
    "StateDirectoryMode": "0700",
    "UMask": "0077",
    "ProtectKernelTunables": "yes",
    "ProtectKernelModules": "yes",
    "ProtectKernelLogs": "yes",
    "ProtectControlGroups": "yes",
    "RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6",
    "RestrictNamespaces": "yes",
    "RestrictRealtime": "yes",
    "LockPersonality": "yes",
    "MemoryDenyWriteExecute": "yes",
    "SystemCallArchitectures": "native",
}

# Words that mark an environment variable as a secret.
SECRET_WORDS = ("SECRET", "PASSWORD", "TOKEN", "PASSWD", "APIKEY", "API_KEY")

# A value that looks generated: 16 or more letters, digits, "-" or "_", mixing
# letters and digits, such as a Zoom client secret or an access token.
RANDOM_LOOKING = re.compile(r"^(?=.*[A-Za-z])(?=.*\d)[A-Za-z0-9_\-]{16,}$")

_TIME_SPAN_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(us|ms|sec|s|min|m|hr|h|d|)\b")
_TIME_SPAN_UNITS = {
    "us": 1e-6,
    "ms": 1e-3,
    "": 1.0,
    "s": 1.0,
    "sec": 1.0,
    "m": 60.0,
    "min": 60.0,
    "h": 3600.0,
    "hr": 3600.0,
    "d": 86400.0,
}

Unit = dict[str, dict[str, list[str]]]


def parse_unit(path: Path) -> Unit:
    """Parse a unit file into ``{section: {key: [value, ...]}}``.

    Every assignment of a key is kept, in order. Comment lines start with "#"
    or ";", and a line ending in a backslash continues on the next line.
    """
    sections: Unit = {}
    current: dict[str, list[str]] | None = None
    pending = ""
    for number, raw in enumerate(path.read_text().splitlines(), start=1):
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line, pending = pending + line, ""
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        key, equals, value = line.partition("=")
        assert equals, f"{path.name}:{number}: not a KEY=VALUE line: {raw!r}"
        assert current is not None, f"{path.name}:{number}: setting before a section"
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def setting(unit: Unit, section: str, key: str) -> str:
    """Return the value systemd uses for a single-valued key: the last one."""
    values = unit.get(section, {}).get(key)
    assert values, f"[{section}] {key}= is missing"
    return values[-1]


def seconds(span: str) -> float:
    """Convert a systemd time span such as "150s", "5min" or "1h 30min"."""
    parts = _TIME_SPAN_PART.findall(span)
    assert parts, f"not a time span: {span!r}"
    return sum(float(number) * _TIME_SPAN_UNITS[unit] for number, unit in parts)


def load(name: str) -> Unit:
    return parse_unit(UNIT_DIR / name)


def default_of(settings_class: type, name: str) -> float:
    (found,) = [f for f in fields(settings_class) if f.name == name]
    return float(found.default)


def cron_command() -> str:
    """Return the command of the one active line of crontab.example."""
    lines = [
        line
        for line in CRONTAB.read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    assert len(lines) == 1, f"expected one active cron line, found {lines}"
    parts = lines[0].split(None, 5)
    assert len(parts) == 6, f"not five time fields and a command: {lines[0]!r}"
    assert parts[:5] == ["*/30", "*", "*", "*", "*"]
    return parts[5]


def flock_lock_file(command: str) -> str:
    words = shlex.split(command)
    start = words.index("flock")
    assert words[start + 1] == "-n", f"flock without -n: {command!r}"
    return words[start + 2]


def secret_looking(assignment: str) -> bool:
    """Return whether an Environment= word such as NAME=value may hold a secret."""
    name, _, value = assignment.partition("=")
    if any(word in name.upper() for word in SECRET_WORDS):
        return True
    return bool(RANDOM_LOOKING.match(value))


# --- zoom-etl.service ---------------------------------------------------------


def test_daemon_is_notify_service() -> None:
    unit = load(DAEMON_UNIT)

    assert setting(unit, "Service", "Type") == "notify"
    assert setting(unit, "Service", "NotifyAccess") == "main"
    command = setting(unit, "Service", "ExecStart")
    assert command == f"{INSTALLED_BINARY} --config {INSTALLED_CONFIG} daemon"
    assert seconds(setting(unit, "Service", "WatchdogSec")) >= 60
    assert setting(unit, "Service", "ExecReload") == "/bin/kill -HUP $MAINPID"
    assert setting(unit, "Install", "WantedBy") == "multi-user.target"


def test_daemon_restart_policy() -> None:
    unit = load(DAEMON_UNIT)

    assert setting(unit, "Service", "Restart") == "on-failure"
    assert seconds(setting(unit, "Service", "RestartSec")) > 0
    prevented = setting(unit, "Service", "RestartPreventExitStatus").split()
    assert "78" in prevented
    # systemd 229 and later read the start limit only from [Unit].
    assert seconds(setting(unit, "Unit", "StartLimitIntervalSec")) > 0
    assert int(setting(unit, "Unit", "StartLimitBurst")) >= 1
    assert "StartLimitIntervalSec" not in unit["Service"]


def test_daemon_stop_timeout_covers_shutdown() -> None:
    """systemd must not SIGKILL a daemon that is still finishing a job.

    After SIGTERM the daemon waits stop_timeout for running jobs. Then it signals
    them to stop and waits one request's connect and read timeouts plus 5 s.
    """
    unit = load(DAEMON_UNIT)
    shutdown = (
        default_of(SchedulerSettings, "stop_timeout")
        + default_of(ZoomSettings, "connect_timeout")
        + default_of(ZoomSettings, "read_timeout")
        + 5
    )

    assert seconds(setting(unit, "Service", "TimeoutStopSec")) > shutdown
    kill_signal = unit["Service"].get("KillSignal", ["SIGTERM"])[-1]
    assert kill_signal == "SIGTERM"


# --- Both services ------------------------------------------------------------


@pytest.mark.parametrize("name", SERVICE_UNITS)
def test_service_hardening(name: str) -> None:
    unit = load(name)

    for key, expected in HARDENING.items():
        assert setting(unit, "Service", key) == expected, key


@pytest.mark.parametrize("name", SERVICE_UNITS)
def test_service_user_not_root(name: str) -> None:
    service = load(name)["Service"]

    dynamic = service.get("DynamicUser", ["no"])[-1] == "yes"
    user = service.get("User", [""])[-1]
    assert dynamic or user, "set User= or DynamicUser=yes"
    assert user not in ("root", "0")


@pytest.mark.parametrize("name", SERVICE_UNITS)
def test_service_loads_secret_credential(name: str) -> None:
    service = load(name)["Service"]

    assert SECRET_CREDENTIAL in service.get("LoadCredential", [])
    assert "SetCredential" not in service, "SetCredential= puts a secret in the unit"


@pytest.mark.parametrize("name", [*SERVICE_UNITS, TIMER_UNIT])
def test_no_secret_in_environment(name: str) -> None:
    for section in load(name).values():
        for value in section.get("Environment", []):
            for assignment in shlex.split(value):
                assert not secret_looking(assignment), assignment


def test_secret_detector_flags_examples() -> None:
    """The check above must catch the obvious ways to leak a secret."""
    assert secret_looking("ZOOM_CLIENT_SECRET=abc")
    assert secret_looking("ACCESS_TOKEN=x")
    assert secret_looking("ZOOM_KEY=Xb3kPq9ZtRw2LmN7vH4s")
    assert not secret_looking("ZOOM_ETL_CONFIG=/etc/zoom-etl/config.yaml")
    assert not secret_looking("TZ=UTC")


def test_services_share_sandbox() -> None:
    """Both services run with the same user, credentials and sandbox."""
    daemon_only = {
        "Type",
        "NotifyAccess",
        "ExecStart",
        "ExecReload",
        "WatchdogSec",
        "Restart",
        "RestartSec",
        "RestartPreventExitStatus",
        "TimeoutStopSec",
    }
    run_only = {"Type", "ExecStart", "TimeoutStartSec"}
    daemon = load(DAEMON_UNIT)["Service"]
    run = load(RUN_UNIT)["Service"]

    shared_daemon = {k: v for k, v in daemon.items() if k not in daemon_only}
    shared_run = {k: v for k, v in run.items() if k not in run_only}
    assert shared_daemon == shared_run


def test_services_share_install_and_config() -> None:
    daemon = shlex.split(setting(load(DAEMON_UNIT), "Service", "ExecStart"))
    run = shlex.split(setting(load(RUN_UNIT), "Service", "ExecStart"))

    assert daemon[:3] == run[:3] == [INSTALLED_BINARY, "--config", INSTALLED_CONFIG]


# --- zoom-etl-run.service and its timer ---------------------------------------


def test_run_service_is_oneshot() -> None:
    unit = load(RUN_UNIT)

    assert setting(unit, "Service", "Type") == "oneshot"
    command = setting(unit, "Service", "ExecStart")
    assert command == f"{INSTALLED_BINARY} --config {INSTALLED_CONFIG} run"
    assert seconds(setting(unit, "Service", "TimeoutStartSec")) > 0


def test_timer_settings() -> None:
    unit = load(TIMER_UNIT)

    assert setting(unit, "Timer", "OnCalendar")
    assert setting(unit, "Timer", "Persistent") == "true"
    assert 0 < seconds(setting(unit, "Timer", "RandomizedDelaySec")) <= 600
    assert setting(unit, "Timer", "Unit") == RUN_UNIT
    assert setting(unit, "Install", "WantedBy") == "timers.target"


def test_time_span_parser() -> None:
    assert seconds("150s") == 150
    assert seconds("5min") == 300
    assert seconds("2h") == 7200
    assert seconds("1h 30min") == 5400
    assert seconds("90") == 90


# --- systemd-analyze ----------------------------------------------------------


def copy_units_with_true(tmp_path: Path) -> list[Path]:
    """Copy the units to tmp_path with /bin/true in place of the installed binary.

    ``systemd-analyze verify`` reports an ExecStart= binary that does not exist,
    and /opt/zoom-etl is not installed here. Replacing only the binary keeps
    every other setting under verification, including the arguments.
    """
    copies = []
    for name in (DAEMON_UNIT, RUN_UNIT, TIMER_UNIT):
        text = (UNIT_DIR / name).read_text()
        if name in SERVICE_UNITS:
            assert INSTALLED_BINARY in text
            text = text.replace(INSTALLED_BINARY, "/bin/true")
        copy = tmp_path / name
        copy.write_text(text)
        copies.append(copy)
    return copies


def systemd_analyze() -> str:
    path = shutil.which("systemd-analyze")
    if path is None:
        pytest.skip("systemd-analyze is not installed")
    return path


def systemd_version(analyze: str) -> int:
    done = subprocess.run(
        [analyze, "--version"], capture_output=True, text=True, timeout=30
    )
    match = re.match(r"systemd (\d+)", done.stdout)
    assert match, f"unexpected systemd-analyze --version output: {done.stdout!r}"
    return int(match.group(1))


def test_units_pass_systemd_verify(tmp_path: Path) -> None:
    """systemd-analyze reports no problem with any of the three units.

    It exits 0 even for an unknown key or a value it cannot parse and only
    prints a message, so the test fails on any output line that names one of
    the units. Lines about the host's own units are ignored.
    """
    analyze = systemd_analyze()
    copies = copy_units_with_true(tmp_path)

    done = subprocess.run(
        [analyze, "verify", "--man=no", *map(str, copies)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )

    output = (done.stdout + done.stderr).splitlines()
    ours = [line for line in output if "zoom-etl" in line]
    assert done.returncode == 0, output
    assert ours == []


def test_verify_catches_bad_key(tmp_path: Path) -> None:
    """The verify test above would see a misspelt key."""
    analyze = systemd_analyze()
    copies = copy_units_with_true(tmp_path)
    timer = tmp_path / TIMER_UNIT
    timer.write_text(timer.read_text().replace("Persistent=", "Persistant="))

    done = subprocess.run(
        [analyze, "verify", "--man=no", *map(str, copies)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert "Persistant" in done.stdout + done.stderr


@pytest.mark.parametrize("name", SERVICE_UNITS)
def test_service_security_exposure(tmp_path: Path, name: str) -> None:
    """systemd-analyze security rates the sandbox at exposure 3.0 or lower.

    The units score 1.2 with systemd 252. The check needs --offline, which
    systemd 250 added.
    """
    analyze = systemd_analyze()
    if systemd_version(analyze) < 250:
        pytest.skip("systemd-analyze security --offline needs systemd 250 or later")
    copy_units_with_true(tmp_path)

    done = subprocess.run(
        [analyze, "security", "--offline=yes", "--threshold=30", name],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )

    summary = done.stdout.strip().splitlines()[-1:]
    assert done.returncode == 0, summary


# --- The run unit's command line under systemd's environment ------------------


@pytest.fixture
def account() -> Iterator[FakeZoom]:
    spec = AccountSpec(seed=5, active_users=4, inactive_users=1, meetings_per_user=1)
    with FakeZoom(account=spec, client_secret=SECRET) as server:
        yield server


def minimal_env(home: Path, **extra: str) -> dict[str, str]:
    """Return an environment as bare as cron's or systemd's, with no ZOOM_ values."""
    return {"PATH": "/usr/bin:/bin", "HOME": str(home), "SHELL": "/bin/sh", **extra}


def test_run_unit_with_credentials(account: FakeZoom, tmp_path: Path) -> None:
    """The run unit's ExecStart= works with what systemd provides.

    LoadCredential= becomes a file in $CREDENTIALS_DIRECTORY named by the
    credential id, EnvironmentFile= gives the ids, and StateDirectory= becomes
    $STATE_DIRECTORY. The configuration is the one the units' comments ask for.
    """
    unit = load(RUN_UNIT)
    (credential,) = unit["Service"]["LoadCredential"]
    credential_id = credential.split(":", 1)[0]
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    (credentials / credential_id).write_text(SECRET + "\n")
    state = tmp_path / "state"
    state.mkdir()
    config = tmp_path / "config.yaml"
    config.write_text(
        "zoom:\n"
        "  account_id: ${ZOOM_ACCOUNT_ID}\n"
        "  client_id: ${ZOOM_CLIENT_ID}\n"
        f"  client_secret_file: {credential_id}\n"
        f"  token_url: {account.token_url}\n"
        "database: ${STATE_DIRECTORY:-.}/zoom.db\n"
    )
    command = shlex.split(setting(unit, "Service", "ExecStart"))
    assert command[1:3] == ["--config", INSTALLED_CONFIG]
    argv = [*zoom_etl_command(), "--config", str(config), *command[3:]]
    env = minimal_env(
        tmp_path,
        CREDENTIALS_DIRECTORY=str(credentials),
        STATE_DIRECTORY=str(state),
        ZOOM_ACCOUNT_ID=account.account_id,
        ZOOM_CLIENT_ID=account.client_id,
    )

    done = subprocess.run(
        argv, env=env, cwd="/", capture_output=True, text=True, timeout=120
    )

    assert done.returncode == 0, done.stderr
    assert (state / "zoom.db").exists()
    assert not (tmp_path / "zoom.db").exists()
    assert sqlite_utils.Database(state / "zoom.db")["users"].count == 5
    assert SECRET not in done.stdout + done.stderr


# --- crontab.example ----------------------------------------------------------


def test_cron_line_parts() -> None:
    command = cron_command()
    words = shlex.split(command)

    assert "flock" in words
    assert words[words.index("flock") + 1] == "-n"
    assert words[0] == "cd"
    assert words[-3] == ">>"
    assert words[-1] == "2>&1"
    assert words[-2].startswith("/"), "append the log to an absolute path"
    binary = next(w for w in words if w.endswith("/zoom-etl"))
    assert words[words.index(binary) + 1 :].count("run") == 1
    assert "SECRET" not in command.upper()


def test_cron_lock_is_not_database_lock() -> None:
    """zoom-etl flocks <database>.lock itself, so cron must lock another file.

    flock(1) keeps the lock open in the command it starts, and zoom-etl's own
    flock on the same file would then find it taken and exit 75.
    """
    lock = flock_lock_file(cron_command())

    assert not lock.endswith(".db.lock")


def cron_install(tmp_path: Path, account: FakeZoom | None) -> tuple[str, Path, Path]:
    """Lay out /opt/zoom-etl and /var/log/zoom-etl under tmp_path.

    Returns:
        The cron command with paths moved to tmp_path, the install folder and
        the log folder.
    """
    install = tmp_path / "opt"
    logs = tmp_path / "log"
    install.mkdir()
    logs.mkdir()
    script = Path(zoom_etl_command()[0])
    if script.name != "zoom-etl":
        pytest.skip("the zoom-etl console script is not installed in this virtualenv")
    (install / ".venv").symlink_to(Path(sys.executable).parent.parent)
    secret_file = install / "client-secret"
    secret_file.write_text(SECRET + "\n")
    secret_file.chmod(0o600)
    if account is not None:
        (install / "config.yaml").write_text(
            "zoom:\n"
            f"  account_id: {account.account_id}\n"
            f"  client_id: {account.client_id}\n"
            "  client_secret_file: client-secret\n"
            f"  token_url: {account.token_url}\n"
            "database: zoom.db\n"
        )
    command = cron_command()
    assert "/opt/zoom-etl" in command
    assert "/var/log/zoom-etl" in command
    command = command.replace("/opt/zoom-etl", str(install))
    command = command.replace("/var/log/zoom-etl", str(logs))
    return command, install, logs


def test_cron_line_runs_jobs(account: FakeZoom, tmp_path: Path) -> None:
    """The cron line, run by /bin/sh with cron's bare environment, fills zoom.db."""
    command, install, logs = cron_install(tmp_path, account)

    done = subprocess.run(
        ["/bin/sh", "-c", command],
        env=minimal_env(tmp_path),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode == 0, (done.stdout, done.stderr)
    assert done.stdout == ""
    assert done.stderr == ""
    (log_file,) = logs.iterdir()
    lines = [json.loads(line) for line in log_file.read_text().splitlines()]
    finished = [line["job"] for line in lines if line["event"] == "job_finished"]
    assert finished == list(JOB_NAMES)
    assert SECRET not in log_file.read_text()
    assert sqlite_utils.Database(install / "zoom.db")["users"].count == 5


def test_cron_line_skips_while_locked(tmp_path: Path) -> None:
    """A run that starts while the previous one holds the lock does nothing."""
    command, install, logs = cron_install(tmp_path, None)
    lock = Path(flock_lock_file(command))

    with lock.open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        done = subprocess.run(
            ["/bin/sh", "-c", command],
            env=minimal_env(tmp_path),
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )

    # flock -n exits 1 when the lock is taken, before zoom-etl starts. The
    # shell has already opened the log file for appending, so it may exist.
    assert done.returncode == 1
    assert [f.read_text() for f in logs.iterdir()] in ([], [""])
    assert not (install / "zoom.db").exists()
