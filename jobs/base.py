"""The context every job receives and the result it reports.

A job is a plain function that takes a :class:`JobContext`: it fetches pages
through ``ctx.session``, turns records into rows and saves them through
``jobs.store``, counting what it did in ``ctx.result``. The runner adds what
every run shares (run id, log context, the ``_runs`` row, the exit status).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import structlog
from sqlite_utils import Database

from jobs.config import Config
from zoom_auth import APIError, ZoomError, ZoomSession

log = structlog.get_logger(__name__)


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
    """

    rows: int = 0
    skips: int = 0
    failures: list[str] = field(default_factory=list)
    skipped_reason: str | None = None

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
        """Record a resource that failed after retries; the job goes on."""
        self.failures.append(f"{resource}: {error}")
        log.error("resource_failed", resource=resource, error=str(error))


@dataclass
class JobContext:
    """Everything a job needs: the database, the API session and the config."""

    db: Database
    session: ZoomSession
    config: Config
    result: JobResult = field(default_factory=JobResult)


Job = Callable[[JobContext], None]
