"""A `zoom-etl daemon` subprocess whose JSON log events a test can wait for."""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.conftest import zoom_etl_command

Event = dict[str, Any]


class DaemonProcess:
    """Starts the daemon and collects every line it writes to stdout."""

    def __init__(
        self, config: Path, env: dict[str, str], cwd: Path, *args: str
    ) -> None:
        command = [*zoom_etl_command(), "--config", str(config), "daemon", *args]
        self.process = subprocess.Popen(
            command,
            env=env,
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.events: list[Event] = []
        self._lines: queue.Queue[Event | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def __enter__(self) -> DaemonProcess:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(10)
        self._reader.join(10)
        self.process.stdout.close()
        self.process.stderr.close()

    def _read(self) -> None:
        for line in self.process.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                event = {"event": "unparsed", "line": line}
            self.events.append(event)
            self._lines.put(event)
        self._lines.put(None)

    def wait_for(
        self,
        name: str,
        predicate: Callable[[Event], bool] = lambda event: True,
        timeout: float = 30.0,
    ) -> Event:
        """Return the next event called ``name`` that matches ``predicate``."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {name} event within {timeout} s")
            try:
                event = self._lines.get(timeout=left)
            except queue.Empty:
                continue
            if event is None:
                stderr = self.process.stderr.read()
                raise AssertionError(f"daemon exited before {name}: {stderr}")
            if event.get("event") == name and predicate(event):
                return event

    def signal(self, signum: signal.Signals) -> None:
        self.process.send_signal(signum)

    def stop(self, timeout: float = 60.0) -> int:
        """Send SIGTERM and return the exit code."""
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout)
        self._reader.join(10)
        return code

    def named(self, name: str) -> list[Event]:
        return [e for e in self.events if e.get("event") == name]
