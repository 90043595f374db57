"""The job runner: what every run shares, from the CLI or the scheduler.

Each run gets a run ID bound to the log context, a row in ``_runs`` and one
``job_finished`` summary event, and ends with an exit code from
``zoom_auth.errors``. The CLI and the scheduler only decide when to run.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import structlog
from sqlite_utils import Database

from jobs import logs, store
from jobs.activity import activity_logs, operation_logs
from jobs.base import Job, JobContext, JobResult
from jobs.config import Config
from jobs.fanout import MAX_AUTO_WORKERS, UNPACED_WORKERS
from jobs.groups import groups
from jobs.instances import meeting_instances, participants
from jobs.lock import RunLock
from jobs.meetings import meetings
from jobs.recordings import recordings
from jobs.state import format_utc, parse_utc
from jobs.usage import daily_usage
from jobs.users import users, users_me
from jobs.webinars import webinars
from zoom_auth import (
    Backoff,
    BudgetReached,
    Pacer,
    Token,
    TokenProvider,
    ZoomError,
    ZoomSession,
)
from zoom_auth.errors import EX_CONFIG, EX_NOPERM, EX_SOFTWARE, EX_TEMPFAIL

log = structlog.get_logger(__name__)

JOBS: dict[str, Job] = {
    "users_me": users_me,
    "users": users,
    "meetings": meetings,
    "meeting_instances": meeting_instances,
    "participants": participants,
    "webinars": webinars,
    "recordings": recordings,
    "daily_usage": daily_usage,
    "activity_logs": activity_logs,
    "operation_logs": operation_logs,
    "groups": groups,
}

# When jobs of one invocation end differently, the exit code is the first of
# these that occurred: problems a person must fix come before those that pass.
_EXIT_PRECEDENCE = (EX_NOPERM, EX_CONFIG, EX_SOFTWARE, EX_TEMPFAIL)


@dataclass(frozen=True)
class RunOutcome:
    """Outcome of one job run: status, exit code and counts."""

    run_id: str
    job: str
    status: str
    exit_code: int
    result: JobResult
    error: str | None = None


def build_session(
    config: Config,
    *,
    sleep: Callable[[float], None] = time.sleep,
    on_token: Callable[[Token], None] | None = None,
    stop: threading.Event | None = None,
    stop_tokens: threading.Event | None = None,
) -> ZoomSession:
    """Create the token provider and API session that a config describes.

    The client secret and every token issued are registered for log redaction.

    Args:
        config: the loaded configuration.
        sleep: waits between retries; tests pass their own.
        on_token: called with each new token after it is registered.
        stop: once set, the session sends no further request.
        stop_tokens: once set, no further token request is sent.
    """
    zoom = config.zoom
    logs.add_secret(zoom.client_secret)
    backoff = Backoff(base=zoom.backoff_base, max_delay=zoom.backoff_max)
    timeout = (zoom.connect_timeout, zoom.read_timeout)

    def token_issued(token: Token) -> None:
        logs.add_secret(token.value)
        if on_token is not None:
            on_token(token)

    provider = TokenProvider(
        account_id=zoom.account_id,
        client_id=zoom.client_id,
        client_secret=zoom.client_secret,
        token_url=zoom.token_url,
        renew_margin=zoom.token_renew_margin,
        timeout=timeout,
        max_attempts=zoom.max_attempts,
        backoff=backoff,
        sleep=sleep,
        on_token=token_issued,
        stop=stop_tokens,
    )
    pacer = None
    if zoom.plan is not None:
        pacer = Pacer(zoom.plan, zoom.rate_share, sleep=sleep)
    # One pooled connection per fetching thread, so none is opened and dropped.
    workers = config.sync.workers or MAX_AUTO_WORKERS
    return ZoomSession(
        provider,
        pool_size=max(workers, UNPACED_WORKERS),
        base_url=zoom.api_base_url,
        timeout=timeout,
        max_attempts=zoom.max_attempts,
        backoff=backoff,
        max_retry_after=zoom.max_retry_after,
        sleep=sleep,
        stop=stop,
        pacer=pacer,
    )


def run_jobs(
    names: Sequence[str],
    config: Config,
    session: ZoomSession,
    *,
    lock_wait: float = 0.0,
    since: datetime | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> list[RunOutcome]:
    """Run jobs one after another; see :func:`run_job` for the arguments.

    An authentication failure ends the sequence, because every later job would
    fail the same way; any other failure lets the next job run.
    """
    outcomes = []
    for name in names:
        outcome = run_job(
            name, config, session, lock_wait=lock_wait, since=since, clock=clock
        )
        outcomes.append(outcome)
        if outcome.exit_code == EX_NOPERM:
            skipped = list(names[len(outcomes) :])
            if skipped:
                log.error("run_stopped", reason="authentication failed", jobs=skipped)
            break
    return outcomes


def exit_code(outcomes: Sequence[RunOutcome]) -> int:
    """Combine the outcomes of one invocation into a process exit code."""
    codes = {o.exit_code for o in outcomes}
    for code in _EXIT_PRECEDENCE:
        if code in codes:
            return code
    return 0


def run_job(
    name: str,
    config: Config,
    session: ZoomSession,
    *,
    lock_wait: float = 0.0,
    since: datetime | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    cancel: threading.Event | None = None,
) -> RunOutcome:
    """Run one job with its own database connection, log context and ``_runs`` row.

    The job holds the database's run lock for its whole run, so no other
    zoom-etl process writes the same file meanwhile. Errors never escape: each
    is logged and mapped to a status and exit code.

    Args:
        name: a key of :data:`JOBS`.
        config: the loaded configuration.
        session: the API session, shared by the jobs of one process.
        lock_wait: seconds to wait for another process's run to finish.
        since: fetch from this moment instead of the job's cursor.
        clock: returns the current aware time; the run starts at its value.
        cancel: once set, waiting for the database lock ends and the run does
            not start.
    """
    run_id = uuid.uuid4().hex
    structlog.contextvars.bind_contextvars(run_id=run_id, job=name)
    try:
        db = store.open_database(config.database)
    except ZoomError as exc:
        structlog.contextvars.unbind_contextvars("run_id", "job")
        return _not_started(run_id, name, exc)
    try:
        with RunLock(config.database, wait=lock_wait, cancel=cancel):
            abandoned = store.close_abandoned_runs(db, _utc_now())
            if abandoned:
                log.warning("abandoned_runs_closed", runs=abandoned)
            for category, until in store.exhausted_categories(db, _utc_now()).items():
                session.quota.mark_exhausted(category, parse_utc(until))
            session.quota.set_budget(config.sync.request_budget)
            context = JobContext(db, session, config, started_at=clock(), since=since)
            return _run_locked(run_id, name, context)
    except ZoomError as exc:
        return _not_started(run_id, name, exc)
    finally:
        db.close()
        structlog.contextvars.unbind_contextvars("run_id", "job")


def _not_started(run_id: str, name: str, exc: ZoomError) -> RunOutcome:
    error = logs.redact_text(str(exc))
    log.error("job_failed", error=error, error_class=type(exc).__name__)
    return RunOutcome(run_id, name, "failed", exc.exit_code, JobResult(), error)


def _run_locked(run_id: str, name: str, context: JobContext) -> RunOutcome:
    db, session, result = context.db, context.session, context.result
    started = time.monotonic()
    requests_before = _requests_sent(session)
    by_category_before = session.quota.counts()
    # Stays "failed" unless the job returns, so an interrupted run never
    # reads "ok".
    status, code = "failed", EX_SOFTWARE
    error: str | None = "interrupted"
    try:
        store.start_run(db, run_id, name, _utc_now())
        log.info("job_started")
        JOBS[name](context)
        status, code, error = "ok", 0, None
        if result.failures:
            status, code = "partial", EX_TEMPFAIL
            error = f"{len(result.failures)} failed: " + "; ".join(result.failures[:3])
        elif result.skipped_reason:
            status, error = "skipped", result.skipped_reason
    except BudgetReached as exc:
        status, code, error = "partial", exc.exit_code, str(exc)
        log.warning("job_stopped", reason=error)
    except ZoomError as exc:
        status, code, error = "failed", exc.exit_code, str(exc)
        log.error("job_failed", error=error, error_class=type(exc).__name__)
    except Exception as exc:  # a bug: keep the traceback, mark the run failed
        status, code = "failed", EX_SOFTWARE
        error = f"{type(exc).__name__}: {exc}"
        log.exception("job_crashed")
    finally:
        # Zoom's messages are stored and printed, so they may not echo a secret.
        error = logs.redact_text(error) if error else None
        counts = dict(
            rows=result.rows, requests=_requests_sent(session) - requests_before
        )
        _record_finish(
            db, run_id, status=status, **counts, skips=result.skips, error=error
        )
        _record_requests(db, session, by_category_before)
        log.info(
            "job_finished",
            status=status,
            **counts,
            skips=result.skips,
            duration_s=round(time.monotonic() - started, 3),
        )
    return RunOutcome(run_id, name, status, code, result, error)


def _record_finish(db: Database, run_id: str, **fields: object) -> None:
    try:
        store.finish_run(db, run_id, finished_at=_utc_now(), **fields)
    except Exception:  # the job's own outcome is already logged
        log.exception("run_record_failed")


def _record_requests(
    db: Database, session: ZoomSession, before: dict[str, int]
) -> None:
    """Add the run's requests per category to today's counts in ``_rate_limits``."""
    quota = session.quota
    sent = {
        category: count - before.get(category, 0)
        for category, count in quota.counts().items()
        if count > before.get(category, 0)
    }
    until = {
        category: format_utc(moment) for category, moment in quota.exhausted().items()
    }
    try:
        day = format_utc(quota.now())[:10]
        store.add_requests(db, day, sent, dict(quota.remaining), until)
    except Exception:  # the job's own outcome is already logged
        log.exception("request_counts_failed")


def _requests_sent(session: ZoomSession) -> int:
    return session.requests_sent + session.provider.requests_sent


def _utc_now() -> str:
    return format_utc(datetime.now(UTC))
