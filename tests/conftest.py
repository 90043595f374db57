"""Shared fixtures: a running Zoom emulator, a settable clock, sessions."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from jobs import store
from jobs.base import JobContext
from jobs.config import JOB_NAMES, Config, JobSettings, ZoomSettings
from zoom_auth import Backoff, TokenProvider, ZoomSession
from zoom_fake import AccountSpec, FakeZoom

REPO_ROOT = Path(__file__).resolve().parents[1]


class Clock:
    """A wall clock that only moves when a test moves it."""

    def __init__(self, now: float = 1_800_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Sleeps:
    """Records requested sleeps instead of sleeping."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.fixture
def fake() -> Iterator[FakeZoom]:
    with FakeZoom(account=AccountSpec(seed=3)) as server:
        yield server


def emulator_settings(fake: FakeZoom) -> ZoomSettings:
    """Zoom settings for the emulator, with retry waits of milliseconds."""
    return ZoomSettings(
        account_id=fake.account_id,
        client_id=fake.client_id,
        client_secret=fake.client_secret,
        token_url=fake.token_url,
        backoff_base=0.001,
        backoff_max=0.01,
        read_timeout=5.0,
        # Unpaced: pacing has tests of its own, and these runs stay quick.
        plan=None,
    )


def emulator_config(fake: FakeZoom, database: Path, **kwargs: Any) -> Config:
    """A configuration for the emulator with every job enabled."""
    jobs = {name: JobSettings(name) for name in JOB_NAMES}
    zoom = emulator_settings(fake)
    return Config(zoom=zoom, database=database, jobs=jobs, **kwargs)


def emulator_context(
    fake: FakeZoom, clock: Clock, database: Path, **kwargs: Any
) -> JobContext:
    """A job context on the emulator whose run starts at the clock's time."""
    started = datetime.fromtimestamp(clock.now, UTC)
    return JobContext(
        store.open_database(database),
        make_session(fake),
        emulator_config(fake, database),
        started_at=started,
        **kwargs,
    )


def make_provider(fake: FakeZoom, **kwargs: Any) -> TokenProvider:
    """Create a token provider for the emulator's credentials."""
    options: dict[str, Any] = dict(
        account_id=fake.account_id,
        client_id=fake.client_id,
        client_secret=fake.client_secret,
        token_url=fake.token_url,
        timeout=(2.0, 5.0),
        backoff=Backoff(base=0.001, max_delay=0.01),
        sleep=Sleeps(),
    )
    options.update(kwargs)
    return TokenProvider(**options)


def make_session(
    fake: FakeZoom, provider: TokenProvider | None = None, **kwargs: Any
) -> ZoomSession:
    """Create an API session against the emulator that never really sleeps."""
    options: dict[str, Any] = dict(
        timeout=(2.0, 5.0),
        backoff=Backoff(base=0.001, max_delay=0.01),
        sleep=Sleeps(),
    )
    options.update(kwargs)
    return ZoomSession(provider or make_provider(fake), **options)


def cli_env(fake: FakeZoom | None = None, **extra: str) -> dict[str, str]:
    """Environment for a `zoom-etl` subprocess, pointed at the emulator."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZOOM_")}
    env.pop("CREDENTIALS_DIRECTORY", None)
    if fake is not None:
        env.update(
            ZOOM_ACCOUNT_ID=fake.account_id,
            ZOOM_CLIENT_ID=fake.client_id,
            ZOOM_CLIENT_SECRET=fake.client_secret,
            ZOOM_TOKEN_URL=fake.token_url,
        )
    env.update(extra)
    return env


def run_example_config(
    fake: FakeZoom, cwd: Path, *args: str
) -> subprocess.CompletedProcess[str]:
    """Run `zoom-etl run ARGS` with the committed config.yaml into cwd/zoom.db."""
    command = [
        *zoom_etl_command(),
        "--config",
        str(REPO_ROOT / "config.yaml"),
        "--db",
        "zoom.db",
        "run",
        *args,
    ]
    return subprocess.run(
        command,
        env=cli_env(fake),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def zoom_etl_command() -> list[str]:
    """The installed console script, as a user runs it."""
    script = Path(sys.executable).with_name("zoom-etl")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "jobs.cli"]
