"""A per-database lock, so two zoom-etl processes never run jobs on one file.

The lock is an ``fcntl.flock`` on ``<database>.lock`` beside the database. The
kernel releases it when its holder exits, even on ``kill -9``, so a stale lock
file never blocks a later run.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import structlog

from jobs.config import ConfigError
from zoom_auth import StopRequested, TransientError

log = structlog.get_logger(__name__)

# Seconds between attempts while waiting for the lock.
_POLL_INTERVAL = 0.5


class DatabaseBusyError(TransientError):
    """Another zoom-etl process holds the database's lock."""


def lock_path(database: Path) -> Path:
    """Return the lock file that guards a database."""
    return database.with_name(database.name + ".lock")


class RunLock:
    """Exclusive lock on one database, held for the length of a job run.

    Args:
        database: the SQLite file to guard.
        wait: seconds to wait for another holder to finish; 0 fails at once.
        clock: monotonic clock, for the wait bound.
        sleep: waits between attempts.
        cancel: once set, a wait ends with :class:`StopRequested`.
    """

    def __init__(
        self,
        database: Path,
        *,
        wait: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        cancel: threading.Event | None = None,
    ):
        self.path = lock_path(database)
        self.wait = wait
        self.clock = clock
        self.sleep = sleep
        self.cancel = cancel
        self._fd: int | None = None

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()

    def acquire(self) -> None:
        """Take the lock, waiting up to ``wait`` seconds.

        Raises:
            DatabaseBusyError: another process still holds the lock.
            ConfigError: the lock file cannot be created or opened.
            StopRequested: ``cancel`` was set while waiting.
        """
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            msg = (
                f"lock file {self.path} cannot be opened ({exc.strerror}); give the "
                "user that runs zoom-etl write access to it and to its folder"
            )
            raise ConfigError(msg, key="database") from exc
        deadline = self.clock() + self.wait
        waiting = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _read_holder(fd)
                if self.clock() >= deadline:
                    os.close(fd)
                    raise DatabaseBusyError(self._busy_message(holder)) from None
                if not waiting:
                    log.info("database_busy_waiting", lock=str(self.path), pid=holder)
                    waiting = True
                if self.cancel is not None and self.cancel.wait(_POLL_INTERVAL):
                    os.close(fd)
                    raise StopRequested("not started: shutting down")
                if self.cancel is None:
                    self.sleep(_POLL_INTERVAL)
                continue
            break
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def release(self) -> None:
        """Release the lock; does nothing when it is not held."""
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def _busy_message(self, holder: str) -> str:
        database = self.path.with_suffix("")
        holder_text = (
            f"zoom-etl process {holder}" if holder else "another zoom-etl process"
        )
        waited = f" after waiting {self.wait:.0f} s" if self.wait else ""
        return (
            f"{database} is in use by {holder_text} (lock file {self.path}){waited}; let "
            "that run finish, or give zoom-etl run --wait to queue behind it"
        )


def _read_holder(fd: int) -> str:
    try:
        return os.pread(fd, 32, 0).decode(errors="replace").strip()
    except OSError:
        return ""
