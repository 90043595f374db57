"""The context every job receives and the result it reports.

A job is a plain function that takes a :class:`JobContext`: it fetches pages
through ``ctx.session``, turns records into rows and saves them through
``jobs.store``, counting what it did in ``ctx.result``. The runner adds what
every run shares (run id, log context, the ``_runs`` row, the exit status).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import structlog
from sqlite_utils import Database

from jobs.config import Config
from zoom_auth import APIError, TransientError, ZoomError, ZoomSession

log = structlog.get_logger(__name__)

# Resources failing one after another past this count mean Zoom is down or
# unreachable, so the job stops instead of retrying every remaining resource.
MAX_CONSECUTIVE_FAILURES = 5


@dataclass
class JobResult:
    """Counts and problems of one job run.

    Attributes:
        rows: rows written.
        skips: resources skipped because Zoom reported them gone or out of
            reach (e.g. a user who may not host).
        failures: resources that failed after every retry; any failure makes
            the run partial.
        skipped_reason: set when the whole job was skipped.
        consecutive_failures: failures since the last resource read in full.
    """

    rows: int = 0
    skips: int = 0
    failures: list[str] = field(default_factory=list)
    skipped_reason: str | None = None
    consecutive_failures: int = 0
    _notes: set[str] = field(default_factory=set)

    def note_once(self, key: str) -> bool:
        """Return True the first time ``key`` is seen in this run, else False."""
        if key in self._notes:
            return False
        self._notes.add(key)
        return True

    def skip(self, resource: str, error: ZoomError) -> None:
        """Count a skipped resource and log one warning for it."""
        self.skips += 1
        log.warning(
            "resource_skipped",
            resource=resource,
            code=error.code if isinstance(error, APIError) else None,
            reason=str(error),
        )

    def fail(self, resource: str, error: ZoomError) -> None:
        """Record a resource that failed after retries; the job goes on.

        Raises:
            TransientError: :data:`MAX_CONSECUTIVE_FAILURES` resources in a row
                have failed, so the job should stop.
        """
        self.failures.append(f"{resource}: {error}")
        self.consecutive_failures += 1
        log.error("resource_failed", resource=resource, error=str(error))
        if self.consecutive_failures >= MAX_CONSECUTIVE_FAILURES:
            msg = (
                f"{self.consecutive_failures} resources failed in a row, the last "
                f"with: {error}; the job stops and the next run retries them"
            )
            raise TransientError(msg) from error

    def succeed(self) -> None:
        """Note that a resource was read in full, ending a run of failures."""
        self.consecutive_failures = 0


@dataclass
class JobContext:
    """Everything a job needs: the database, the API session and the config.

    Attributes:
        started_at: the run's start (aware UTC); no cursor moves past it.
        since: ``--since``: fetch from this moment instead of the cursor.
    """

    db: Database
    session: ZoomSession
    config: Config
    result: JobResult = field(default_factory=JobResult)
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    since: datetime | None = None


Job = Callable[[JobContext], None]
