"""The health of each job, read from the ``_runs`` and ``_schedule`` tables.

``zoom-etl status`` prints this report. The database is opened read-only: the
report never creates, migrates or locks the file, so it can run while a job
or the daemon writes. An enabled job is unhealthy when its last run failed or
was partial, when it never ran, or when its last run started longer ago than
twice its schedule's period, whether that run finished or is still running.
Disabled jobs are listed but never make the report unhealthy.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any

from apscheduler.triggers.base import BaseTrigger

from jobs.config import (
    DEFAULT_SCHEDULES,
    JOB_NAMES,
    Config,
    JobSettings,
    config_from_mapping,
    default_config_path,
    read_config_file,
)
from jobs.schedule import Schedule
from jobs.state import format_utc

# Seconds a read waits when SQLite reports the database busy. In WAL mode a
# reader rarely waits, because writers do not block it.
BUSY_TIMEOUT = 5.0

# Maximum length of the error text in a JobStatus, and in the table's error
# column.
ERROR_CHARS = 160
TABLE_ERROR_CHARS = 50

# Credentials put in place of the zoom section, which `status` never uses.
_PLACEHOLDER_ZOOM = {
    "account_id": "unused-by-status",
    "client_id": "unused-by-status",
    "client_secret": "unused-by-status",
}

_LAST_RUN_SQL = """
select status, started_at, finished_at, rows, skips, error
from _runs where job = ?
order by started_at desc, rowid desc
limit 1
"""

_TABLE_COLUMNS = (
    "job",
    "enabled",
    "schedule",
    "status",
    "started_at",
    "duration",
    "rows",
    "skips",
    "next_run_at",
    "error",
)
_RIGHT_ALIGNED = frozenset({"duration", "rows", "skips"})


class StatusError(Exception):
    """Raised when the database cannot be read.

    The message names the file and the fix.
    """


@dataclass(frozen=True)
class JobStatus:
    """One job's settings, last run and health.

    Attributes:
        job: the job name.
        enabled: whether the configuration enables the job.
        schedule: the job's schedule as config.yaml writes it.
        status: status of the last run, or None when the job never ran.
        started_at: ISO-8601 UTC start of the last run.
        duration_s: seconds from the last run's start to its end, or None
            while it runs or when a time is invalid.
        rows: rows the last run wrote.
        skips: resources the last run skipped.
        error: first line of the last run's error, shortened to
            :data:`ERROR_CHARS`.
        next_run_at: the daemon's next run time, or None when no daemon
            recorded one.
        problem: why the job is unhealthy, or None when it is healthy.
    """

    job: str
    enabled: bool
    schedule: str
    status: str | None = None
    started_at: str | None = None
    duration_s: float | None = None
    rows: int | None = None
    skips: int | None = None
    error: str | None = None
    next_run_at: str | None = None
    problem: str | None = None


@dataclass(frozen=True)
class StatusReport:
    """The status of every job in one database at one moment."""

    database: Path
    checked_at: datetime
    jobs: tuple[JobStatus, ...]
    # Today's (UTC) counts from ``_rate_limits``, by rate-limit category.
    requests_today: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def healthy(self) -> bool:
        """True when no job has a problem."""
        return all(job.problem is None for job in self.jobs)

    def to_dict(self) -> dict[str, Any]:
        """Return the report as the JSON object that ``status --json`` prints."""
        return {
            "healthy": self.healthy,
            "checked_at": format_utc(self.checked_at),
            "database": str(self.database),
            "jobs": [asdict(job) for job in self.jobs],
            "requests_today": self.requests_today,
        }


def load_status_config(
    config_path: Path | None,
    db_path: Path | None = None,
    *,
    env: Mapping[str, str] = os.environ,
) -> Config:
    """Load and validate a configuration file without its Zoom credentials.

    The ``zoom`` section is replaced by placeholders before validation, so the
    report works where the credentials cannot be read, such as a shell without
    the service's ``$CREDENTIALS_DIRECTORY``. Every other section is validated
    as :func:`jobs.config.load_config` validates it.

    Args:
        config_path: the configuration file. None uses
            :func:`default_config_path`.
        db_path: a database that replaces the configuration's one.
        env: environment variables for ``${VAR}`` references.

    Raises:
        ConfigError: the file is missing, unreadable or invalid.
    """
    path = Path(config_path or default_config_path(env))
    source = str(path)
    data = read_config_file(path)
    if isinstance(data, Mapping):
        data = {**data, "zoom": _PLACEHOLDER_ZOOM}
    config = config_from_mapping(
        data, base_dir=path.absolute().parent, env=env, source=source
    )
    if db_path is not None:
        config = replace(config, database=db_path.absolute())
    return config


def read_status(database: Path, config: Config, now: datetime) -> StatusReport:
    """Open a database read-only and report the status of every job.

    Args:
        database: the SQLite file that the jobs write.
        config: the configuration, for each job's ``enabled`` and schedule.
        now: the current time, an aware datetime.

    Raises:
        StatusError: the file is missing or is not a readable SQLite database.
        ValueError: ``now`` has no time zone.
    """
    connection = open_read_only(database)
    try:
        jobs = job_statuses(connection, config, now)
        requests_today = _requests_today(connection, now)
    except sqlite3.OperationalError as exc:
        # Reading a WAL database needs its -shm file, which SQLite creates
        # beside it when missing, so the folder must be writable too.
        msg = (
            f"cannot read {database} ({exc}); run status as the database's "
            "owner, or as a user who can write its folder"
        )
        raise StatusError(msg) from exc
    except sqlite3.DatabaseError as exc:
        msg = (
            f"cannot read {database} ({exc}); check that it is the SQLite file "
            "that zoom-etl writes"
        )
        raise StatusError(msg) from exc
    finally:
        connection.close()
    return StatusReport(
        database=database,
        checked_at=now,
        jobs=tuple(jobs),
        requests_today=requests_today,
    )


def open_read_only(database: Path) -> sqlite3.Connection:
    """Open a SQLite file read-only, without ever creating it.

    In WAL mode SQLite still creates the ``-wal`` and ``-shm`` files beside the
    database when they are missing, with the database's owner and mode.

    Raises:
        StatusError: the file is missing or cannot be opened.
    """
    try:
        exists = database.exists()
    except OSError as exc:
        msg = f"cannot read {database} ({exc.strerror}); run status as a user who can"
        raise StatusError(msg) from exc
    if not exists:
        raise StatusError(f"no database at {database}; run `zoom-etl run` first")
    if not database.is_file():
        msg = f"database {database} is not a file; pass --db with the SQLite file"
        raise StatusError(msg)
    uri = database.absolute().as_uri() + "?mode=ro"
    try:
        connection = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT)
    except sqlite3.Error as exc:
        msg = f"cannot open {database} read-only ({exc}); check its permissions"
        raise StatusError(msg) from exc
    connection.row_factory = sqlite3.Row
    return connection


def job_statuses(
    connection: sqlite3.Connection, config: Config, now: datetime
) -> list[JobStatus]:
    """Read each job's last run and next run time, and judge its health.

    A table that the database lacks, such as ``_schedule`` in a file written
    before the daemon existed, counts as empty.

    Args:
        connection: an open connection to the database.
        config: the configuration, for each job's ``enabled`` and schedule.
        now: the current time, an aware datetime.

    Returns:
        One entry per job, in :data:`JOB_NAMES` order.

    Raises:
        ValueError: ``now`` has no time zone.
        sqlite3.DatabaseError: the file is not a SQLite database.
    """
    if now.tzinfo is None:
        raise ValueError(f"now must be an aware datetime, not {now!r}")
    has_runs = _has_table(connection, "_runs")
    next_runs = _next_run_times(connection)
    timezone = config.scheduler.tzinfo
    statuses = []
    for name in JOB_NAMES:
        run = _last_run(connection, name) if has_runs else None
        status = _job_status(config.jobs[name], run, next_runs.get(name))
        problem = find_problem(config.jobs[name], status, timezone, now)
        statuses.append(replace(status, problem=problem))
    return statuses


def find_problem(
    settings: JobSettings, status: JobStatus, timezone: tzinfo, now: datetime
) -> str | None:
    """Return why a job is unhealthy, in one line, or None when it is healthy.

    Args:
        settings: the job's configuration.
        status: the job's last run. Its ``problem`` is ignored.
        timezone: the zone the daemon reads cron expressions in.
        now: the current time, an aware datetime.
    """
    if not settings.enabled:
        return None
    if status.status is None or status.started_at is None:
        return "enabled but never ran"
    started = parse_time(status.started_at)
    if started is None:
        return f"last run has an invalid started_at {status.started_at!r}"
    if status.status in ("failed", "partial"):
        return _failure_problem(status)
    limit = max_age(_schedule_of(settings), timezone, started)
    if limit is None:
        key = f"jobs.{settings.name}.schedule"
        return f"{status.schedule} never fires again; fix {key}"
    age = now - started
    if age <= limit:
        return None
    ago = f"{status.started_at} ({format_duration(age)} ago)"
    allowed = f"the {format_duration(limit)} that {status.schedule} allows"
    if status.status == "running":
        return f"running since {ago}, over {allowed}; its process may have died"
    return f"no run since {ago}, over {allowed}"


def max_age(
    schedule: Schedule, timezone: tzinfo, started: datetime
) -> timedelta | None:
    """Return how long after a run's start the job may go without a newer run.

    For an interval schedule that is twice its period. For a cron expression
    it is the longer of twice its shortest gap between fire times and the time
    until the second fire time after ``started``. When the gaps are even, the
    first is twice the period and the second is never longer. With uneven
    gaps, such as on weekdays only, the second stretches over the weekend, so
    a Friday run stays fresh until the Tuesday run is due.

    Args:
        schedule: the job's schedule.
        timezone: the zone the daemon reads cron expressions in.
        started: the start of the last run.

    Returns:
        The maximum age, or None when a cron expression never fires again,
        such as one for the 30th of February.
    """
    if schedule.cron is None:
        return 2 * schedule.period(timezone)
    fire_times = _next_fire_times(schedule.trigger(timezone), started, count=3)
    if len(fire_times) < 3:
        return None
    first, second, third = fire_times
    shortest_gap = min(second - first, third - second)
    return max(2 * shortest_gap, second - started)


def format_table(report: StatusReport) -> str:
    """Format a report as an aligned table, one line per problem and a verdict."""
    cells = [_table_row(job) for job in report.jobs]
    widths = {
        column: max(len(column), *(len(row[column]) for row in cells))
        for column in _TABLE_COLUMNS
    }
    header = {column: column for column in _TABLE_COLUMNS}
    lines = [_table_line(header, widths)]
    lines.extend(_table_line(row, widths) for row in cells)
    lines.append("")
    lines.extend(_requests_lines(report))
    problems = [job for job in report.jobs if job.problem]
    lines.extend(f"{job.job}: {job.problem}" for job in problems)
    if len(problems) == 1:
        lines.append("unhealthy: 1 enabled job needs attention")
    elif problems:
        lines.append(f"unhealthy: {len(problems)} enabled jobs need attention")
    else:
        lines.append("healthy: every enabled job ran on schedule")
    return "\n".join(lines)


def format_json(report: StatusReport) -> str:
    """Format a report as the JSON object that ``status --json`` prints."""
    return json.dumps(report.to_dict(), indent=2)


def parse_time(text: str) -> datetime | None:
    """Parse an ISO-8601 time from ``_runs``, reading a time without a zone as UTC.

    Returns:
        An aware datetime, or None when the text is not an ISO-8601 time.
    """
    try:
        moment = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment


def format_duration(span: timedelta) -> str:
    """Format a time span for people, to the minute from an hour up: "2d 3h"."""
    seconds = int(span.total_seconds())
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m {seconds}s" if seconds else f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h {minutes}m" if minutes else f"{hours}h"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h" if hours else f"{days}d"


def shorten(text: str, limit: int) -> str:
    """Return the first line of a text, cut to ``limit`` characters with "..."."""
    line = " ".join(text.strip().splitlines()[0].split()) if text.strip() else ""
    if len(line) <= limit:
        return line
    return line[: limit - 3] + "..."


def _next_fire_times(
    trigger: BaseTrigger, after: datetime, count: int
) -> list[datetime]:
    """Return up to ``count`` fire times later than ``after``, fewer if it stops."""
    fire_times: list[datetime] = []
    previous = None
    moment = after + timedelta(microseconds=1)
    while len(fire_times) < count:
        fire_time = trigger.get_next_fire_time(previous, moment)
        if fire_time is None:
            break
        fire_times.append(fire_time)
        previous, moment = fire_time, fire_time + timedelta(seconds=1)
    return fire_times


def _requests_today(
    connection: sqlite3.Connection, now: datetime
) -> dict[str, dict[str, Any]]:
    """Return today's requests per category, Zoom's last ``remaining`` and any
    daily limit still in force."""
    if not _has_table(connection, "_rate_limits"):
        return {}
    rows = connection.execute(
        "select category, requests, remaining, exhausted_until from _rate_limits "
        "where day = ? order by category",
        [format_utc(now)[:10]],
    ).fetchall()
    moment = format_utc(now)
    return {
        row["category"]: {
            "requests": row["requests"],
            "remaining": row["remaining"],
            "limited_until": (
                row["exhausted_until"]
                if row["exhausted_until"] and row["exhausted_until"] > moment
                else None
            ),
        }
        for row in rows
    }


def _requests_lines(report: StatusReport) -> list[str]:
    """Return the lines about today's requests, empty when none was counted."""
    today = report.requests_today
    if not today:
        return []
    counts = []
    for category, figures in today.items():
        text = f"{category} {figures['requests']:,}"
        if figures["remaining"] is not None:
            text += f" ({figures['remaining']:,} left, as Zoom reported)"
        counts.append(text)
    lines = ["requests today (UTC): " + ", ".join(counts)]
    lines.extend(
        f"{category}: daily limit reached, no request before {figures['limited_until']}"
        for category, figures in today.items()
        if figures["limited_until"]
    )
    lines.append("")
    return lines


def _has_table(connection: sqlite3.Connection, name: str) -> bool:
    row = connection.execute(
        "select 1 from sqlite_master where type = 'table' and name = ?", [name]
    ).fetchone()
    return row is not None


def _last_run(connection: sqlite3.Connection, job: str) -> sqlite3.Row | None:
    row: sqlite3.Row | None = connection.execute(_LAST_RUN_SQL, [job]).fetchone()
    return row


def _next_run_times(connection: sqlite3.Connection) -> dict[str, str | None]:
    """Return the daemon's next run times, or none when its process is gone.

    NOTE: the check finds processes on this host only; a daemon on another
    host that shares the file through a network file system looks dead.
    """
    if not _has_table(connection, "_schedule"):
        return {}
    rows = connection.execute("select job, next_run_at, pid from _schedule")
    return {
        row["job"]: row["next_run_at"] if _process_alive(row["pid"]) else None
        for row in rows
    }


def _process_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _job_status(
    settings: JobSettings, run: sqlite3.Row | None, next_run_at: str | None
) -> JobStatus:
    status = JobStatus(
        job=settings.name,
        enabled=settings.enabled,
        schedule=_schedule_of(settings).describe(),
        next_run_at=next_run_at,
    )
    if run is None:
        return status
    error = run["error"]
    return replace(
        status,
        status=run["status"],
        started_at=run["started_at"],
        duration_s=_duration(run["started_at"], run["finished_at"]),
        rows=run["rows"],
        skips=run["skips"],
        error=shorten(str(error), ERROR_CHARS) if error else None,
    )


def _schedule_of(settings: JobSettings) -> Schedule:
    return settings.schedule or DEFAULT_SCHEDULES[settings.name]


def _duration(started_at: str | None, finished_at: str | None) -> float | None:
    if started_at is None or finished_at is None:
        return None
    started, finished = parse_time(started_at), parse_time(finished_at)
    if started is None or finished is None:
        return None
    return (finished - started).total_seconds()


def _failure_problem(status: JobStatus) -> str:
    problem = f"last run {status.status} at {status.started_at}"
    if status.error:
        problem += f": {status.error}"
    return problem


def _table_row(job: JobStatus) -> dict[str, str]:
    if job.status == "running":
        duration = "running"
    elif job.duration_s is None:
        duration = "-"
    else:
        duration = f"{job.duration_s:g}s"
    values = {
        "job": job.job,
        "enabled": "yes" if job.enabled else "no",
        "schedule": job.schedule,
        "status": job.status,
        "started_at": job.started_at,
        "duration": duration,
        "rows": job.rows,
        "skips": job.skips,
        "next_run_at": job.next_run_at,
        "error": shorten(job.error, TABLE_ERROR_CHARS) if job.error else None,
    }
    return {key: "-" if value is None else str(value) for key, value in values.items()}


def _table_line(row: dict[str, str], widths: dict[str, int]) -> str:
    cells = []
    for column in _TABLE_COLUMNS:
        if column in _RIGHT_ALIGNED:
            cells.append(row[column].rjust(widths[column]))
        else:
            cells.append(row[column].ljust(widths[column]))
    return "  ".join(cells).rstrip()
