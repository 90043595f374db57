"""The daemon: APScheduler runs each enabled job on its schedule.

The daemon only decides when jobs run; :func:`jobs.runner.run_job` does the
rest. It also renews the access token ahead of expiry with a one-off job, talks
to systemd through :class:`jobs.notify.Notifier`, stops gracefully on SIGTERM
or SIGINT, and reloads config.yaml on SIGHUP.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from types import FrameType
from typing import Any

import structlog
from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_EXECUTED,
    EVENT_JOB_MAX_INSTANCES,
    EVENT_JOB_MISSED,
    JobEvent,
    JobExecutionEvent,
)
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.date import DateTrigger

from jobs import store
from jobs.config import JOB_NAMES, Config, ConfigError
from jobs.lock import DatabaseBusyError, RunLock
from jobs.notify import Notifier
from jobs.runner import build_session, run_job
from jobs.state import format_utc
from zoom_auth import (
    AuthenticationError,
    Token,
    TransientError,
    ZoomError,
    ZoomSession,
)

log = structlog.get_logger(__name__)

RENEWAL_JOB_ID = "token-renewal"

# The renewal job runs in an executor of its own, so busy job threads can never
# delay it.
RENEWAL_EXECUTOR = "renewal"

# Maximum pause of the main loop, in seconds, when no watchdog is configured.
_IDLE_WAKE = 60.0


def build_scheduler(config: Config) -> BackgroundScheduler:
    """Create the scheduler with an explicit time zone and job defaults.

    The time zone is never left to APScheduler, which would look up the host's
    local zone and fail where TZ is unset and /etc/localtime is missing.
    Scheduler-wide defaults go through ``job_defaults``, because APScheduler 3
    ignores them as top-level keyword arguments.
    """
    settings = config.scheduler
    return BackgroundScheduler(
        timezone=settings.tzinfo,
        # One job at a time: jobs of one process share the database lock, so a
        # second worker would only wait for it. A job that waits in the pool
        # longer than the misfire grace time is skipped and logged as missed.
        executors={
            "default": ThreadPoolExecutor(max_workers=1),
            RENEWAL_EXECUTOR: ThreadPoolExecutor(max_workers=1),
        },
        job_defaults={
            "coalesce": True,
            "max_instances": 1,
            "misfire_grace_time": settings.misfire_grace_time,
        },
    )


def schedule_jobs(
    scheduler: BackgroundScheduler,
    config: Config,
    run: Callable[[str], None],
    *,
    run_now: bool = False,
    previous: Config | None = None,
) -> list[str]:
    """Add or replace a scheduler job for each enabled job; remove the others.

    Args:
        scheduler: the scheduler, started or not.
        config: the configuration whose schedules apply.
        run: called with the job name at each run.
        run_now: also run every enabled job at once, in :data:`JOB_NAMES` order.
        previous: the configuration being replaced. A job whose schedule and
            time zone are unchanged keeps its trigger, so a reload does not
            restart its interval.

    Returns:
        The names of the scheduled jobs.
    """
    zone = config.scheduler.tzinfo
    names = config.enabled_jobs()
    start = datetime.now(zone)
    for position, name in enumerate(JOB_NAMES):
        if name not in names:
            if scheduler.get_job(name) is not None:
                scheduler.remove_job(name)
            continue
        schedule = config.jobs[name].schedule
        assert schedule is not None  # JobSettings fills in the default
        if _unchanged(name, config, previous) and scheduler.get_job(name):
            continue
        options: dict[str, Any] = {}
        if run_now:
            options["next_run_time"] = start + timedelta(milliseconds=position)
        scheduler.add_job(
            run,
            trigger=schedule.trigger(zone),
            args=[name],
            id=name,
            name=name,
            replace_existing=True,
            **options,
        )
    return names


def _unchanged(name: str, config: Config, previous: Config | None) -> bool:
    if previous is None:
        return False
    same_zone = previous.scheduler.timezone == config.scheduler.timezone
    return same_zone and previous.jobs[name].schedule == config.jobs[name].schedule


class Daemon:
    """Runs the scheduler until a signal stops it.

    Args:
        load_config: reads the configuration; called again on SIGHUP.
        run_now: run every enabled job at once on start.
        notifier: the systemd notification channel.
    """

    def __init__(
        self,
        load_config: Callable[[], Config],
        *,
        run_now: bool = False,
        notifier: Notifier | None = None,
    ):
        self.load_config = load_config
        self.run_now = run_now
        self.notifier = notifier or Notifier()
        self.config = load_config()
        self.stop_jobs = threading.Event()
        self.stopping = threading.Event()
        self.session = self._build_session(self.config)
        self.scheduler = build_scheduler(self.config)
        self._wake = threading.Event()
        self._stopping = False
        self._reload_requested = False
        self._running: set[str] = set()
        self._running_changed = threading.Condition()

    def run(self) -> int:
        """Start scheduling and block until SIGTERM or SIGINT; return 0.

        Raises:
            ConfigError: no job is enabled, or the database cannot be opened.
            DatabaseBusyError: another daemon schedules jobs for the database.
            AuthenticationError: Zoom rejected the credentials.
        """
        lock = self._take_daemon_lock()
        try:
            self._preflight()
            return self._serve()
        finally:
            lock.release()

    def _take_daemon_lock(self) -> RunLock:
        """Lock ``<database>.daemon.lock``, so one daemon serves one database."""
        database = self.config.database
        lock = RunLock(database.with_name(database.name + ".daemon"))
        try:
            lock.acquire()
        except DatabaseBusyError:
            msg = (
                f"another zoom-etl daemon already schedules jobs for {database} "
                f"(lock file {lock.path}); stop it first, or give this one "
                "another database"
            )
            raise DatabaseBusyError(msg) from None
        return lock

    def _preflight(self) -> None:
        """Fail at start on what no scheduled run could get past."""
        if not self.config.enabled_jobs():
            msg = "has no enabled job; set jobs.<name>.enabled: true"
            raise ConfigError(msg, key="jobs")
        store.open_database(self.config.database).close()
        try:
            self.session.provider.token()
        except AuthenticationError:
            raise
        except TransientError as exc:
            # Zoom may be unreachable for a while; each run tries again.
            log.warning("token_request_failed", error=str(exc))

    def _serve(self) -> int:
        # The listeners log missed runs and skipped instances as structured
        # events; APScheduler's own warnings would repeat each of them.
        logging.getLogger("apscheduler").setLevel(logging.ERROR)
        self._install_signal_handlers()
        self.scheduler.add_listener(
            self._on_event,
            EVENT_JOB_ERROR
            | EVENT_JOB_MISSED
            | EVENT_JOB_MAX_INSTANCES
            | EVENT_JOB_EXECUTED,
        )
        names = schedule_jobs(
            self.scheduler, self.config, self._run_job, run_now=self.run_now
        )
        self.scheduler.start()
        self._record_schedule()
        self.notifier.ready()
        self.notifier.status(f"scheduling {len(names)} jobs")
        log.info(
            "daemon_started",
            jobs=names,
            timezone=self.config.scheduler.timezone,
            run_now=self.run_now,
        )
        self._loop()
        self._stop()
        return 0

    # Main thread

    def _loop(self) -> None:
        interval = self.notifier.watchdog_interval
        while not self._stopping:
            self._wake.wait(interval or _IDLE_WAKE)
            self._wake.clear()
            if interval:
                self.notifier.watchdog()
            if self._reload_requested and not self._stopping:
                self._reload_requested = False
                self._reload()

    def _install_signal_handlers(self) -> None:
        signal.signal(signal.SIGTERM, self._request_stop)
        signal.signal(signal.SIGINT, self._request_stop)
        signal.signal(signal.SIGHUP, self._request_reload)

    def _request_stop(self, signum: int, frame: FrameType | None) -> None:
        self._stopping = True
        self._wake.set()

    def _request_reload(self, signum: int, frame: FrameType | None) -> None:
        self._reload_requested = True
        self._wake.set()

    def _stop(self) -> None:
        """Stop scheduling, let running jobs finish within the bound, exit."""
        self.stopping.set()
        self.notifier.stopping()
        running = self._running_jobs()
        bound = self.config.scheduler.stop_timeout
        log.info("daemon_stopping", running=running, stop_timeout_s=bound)
        self.scheduler.shutdown(wait=False)
        if not self._wait_for_jobs(bound):
            log.warning("jobs_stopped", jobs=self._running_jobs())
            self.stop_jobs.set()
            zoom = self.config.zoom
            if not self._wait_for_jobs(zoom.connect_timeout + zoom.read_timeout + 5):
                # A thread stuck past every timeout cannot be interrupted; its
                # run stays "running" and the next run marks it failed.
                log.error("jobs_abandoned", jobs=self._running_jobs())
                self._record_schedule(stopped=True)
                self.notifier.close()
                sys.stdout.flush()
                os._exit(0)
        self._record_schedule(stopped=True)
        self.session.close()
        self.notifier.close()
        log.info("daemon_stopped")

    def _wait_for_jobs(self, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        interval = self.notifier.watchdog_interval
        with self._running_changed:
            while self._running:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._running_changed.wait(min(left, interval or left))
                if interval:
                    self.notifier.watchdog()
        return True

    def _reload(self) -> None:
        """Apply a changed config.yaml; an invalid one keeps the old schedule."""
        try:
            config = self.load_config()
        except ConfigError as exc:
            log.error("config_reload_failed", error=str(exc), key=exc.key)
            return
        old = self.config
        grace = config.scheduler.misfire_grace_time
        if grace != old.scheduler.misfire_grace_time:
            log.warning(
                "config_reload_partial",
                key="scheduler.misfire_grace_time",
                reason="a new misfire grace time applies after a restart",
            )
        if config.zoom != old.zoom:
            self.session = self._build_session(config)
        self.config = config
        names = schedule_jobs(self.scheduler, config, self._run_job, previous=old)
        self._record_schedule()
        log.info("config_reloaded", jobs=names)

    # Worker threads

    def _run_job(self, name: str) -> None:
        # Pool threads are reused, so context left by anything earlier on this
        # thread is dropped before the run binds its own.
        structlog.contextvars.clear_contextvars()
        if self.stopping.is_set():
            return
        with self._running_changed:
            self._running.add(name)
        try:
            config, session = self.config, self.session
            lock_wait = config.scheduler.misfire_grace_time
            run_job(name, config, session, lock_wait=lock_wait, cancel=self.stopping)
        finally:
            with self._running_changed:
                self._running.discard(name)
                self._running_changed.notify_all()
            structlog.contextvars.clear_contextvars()

    def _running_jobs(self) -> list[str]:
        with self._running_changed:
            return sorted(self._running)

    def _build_session(self, config: Config) -> ZoomSession:
        # Token requests stop with the daemon, because a renewal that retries
        # for minutes would hold the exit past systemd's stop timeout.
        return build_session(
            config,
            on_token=self._schedule_renewal,
            stop=self.stop_jobs,
            stop_tokens=self.stopping,
        )

    def _schedule_renewal(self, token: Token) -> None:
        """Schedule one renewal at the moment the new token turns stale.

        The fixed job ID with ``replace_existing`` keeps a single pending
        renewal. ``misfire_grace_time=None`` runs it however late it starts,
        for example after the machine was suspended.
        """
        if self._stopping:
            return
        renew_at = self.session.provider.renew_at(token)
        run_date = datetime.fromtimestamp(renew_at, tz=UTC)
        self.scheduler.add_job(
            self._renew_token,
            trigger=DateTrigger(run_date=run_date, timezone=UTC),
            id=RENEWAL_JOB_ID,
            name="token renewal",
            replace_existing=True,
            misfire_grace_time=None,
            executor=RENEWAL_EXECUTOR,
        )
        log.info("token_renewal_scheduled", renew_at=run_date.isoformat())

    def _renew_token(self) -> None:
        structlog.contextvars.clear_contextvars()
        if self.stopping.is_set():
            return
        try:
            self.session.provider.renew()
        except ZoomError as exc:
            # Each request still checks expiry, so the next job renews it.
            log.error("token_renewal_failed", error=str(exc))

    def _on_event(self, event: JobEvent) -> None:
        if event.code == EVENT_JOB_EXECUTED:
            if event.job_id != RENEWAL_JOB_ID:
                self._record_schedule()
        elif event.code == EVENT_JOB_ERROR:
            assert isinstance(event, JobExecutionEvent)
            log.error(
                "job_error",
                job_id=event.job_id,
                error=f"{type(event.exception).__name__}: {event.exception}",
            )
        elif event.code == EVENT_JOB_MISSED:
            assert isinstance(event, JobExecutionEvent)
            log.warning(
                "job_missed",
                job_id=event.job_id,
                scheduled_run_time=event.scheduled_run_time.isoformat(),
            )
        elif event.code == EVENT_JOB_MAX_INSTANCES:
            log.warning("job_max_instances", job_id=event.job_id)

    def _record_schedule(self, *, stopped: bool = False) -> None:
        """Write each job's schedule and next run time to ``_schedule``."""
        now = format_utc(datetime.now(UTC))
        rows = []
        for name in JOB_NAMES:
            job = None if stopped else self.scheduler.get_job(name)
            schedule = self.config.jobs[name].schedule
            rows.append(
                {
                    "job": name,
                    "schedule": schedule.describe() if schedule else None,
                    "next_run_at": _next_run(job),
                    "updated_at": now,
                    "pid": os.getpid(),
                }
            )
        try:
            db = store.open_database(self.config.database)
            try:
                store.upsert(db, "_schedule", rows, pk="job")
            finally:
                db.close()
        except Exception as exc:  # the schedule table is informational only
            log.warning("schedule_record_failed", error=str(exc))


def _next_run(job: Any) -> str | None:
    """Return a scheduler job's next run time as UTC text; None when it has none."""
    if job is None or job.next_run_time is None:
        return None
    return format_utc(job.next_run_time)
