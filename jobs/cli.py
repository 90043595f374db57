"""The ``zoom-etl`` command line."""

from __future__ import annotations

import signal
import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import click
import structlog

from jobs import logs, store
from jobs.config import (
    JOB_NAMES,
    Config,
    ConfigError,
    JobSettings,
    ZoomSettings,
    default_config_path,
    load_config,
)
from jobs.runner import RunOutcome, build_session, exit_code, run_jobs
from jobs.users import fetch_me
from zoom_auth import SkippableError, ZoomError
from zoom_auth.errors import EX_SOFTWARE, EX_USAGE

log = structlog.get_logger(__name__)

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")

DEMO_DATABASE = Path("zoom-demo.db")


class Settings:
    """Options of the command group, read by every command."""

    def __init__(self, config_path: Path | None, db_path: Path | None):
        self.config_path = config_path
        self.db_path = db_path

    def load(self) -> Config:
        """Load the configuration, with ``--db`` replacing its database."""
        config = load_config(self.config_path or default_config_path())
        if self.db_path is not None:
            config = replace(config, database=self.db_path.absolute())
        return config


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False, readable=False),
    help="Configuration file. Default: $ZOOM_ETL_CONFIG, else ./config.yaml.",
)
@click.option(
    "--db",
    "db_path",
    type=click.Path(path_type=Path, dir_okay=False, readable=False),
    help="SQLite file to write, instead of the configuration's database.",
)
@click.option(
    "--log-level",
    type=click.Choice(LOG_LEVELS, case_sensitive=False),
    default="INFO",
    show_default=True,
    help="Lowest level of log events written to stdout.",
)
@click.pass_context
def cli(
    ctx: click.Context, config_path: Path | None, db_path: Path | None, log_level: str
) -> None:
    """Copy a Zoom account's users and meetings into a SQLite file.

    Logs go to stdout: JSON lines when stdout is not a terminal.
    """
    logs.configure_logging(level=log_level.upper())
    ctx.obj = Settings(config_path, db_path)


@cli.command()
@click.option(
    "--job",
    "job_names",
    multiple=True,
    type=click.Choice(JOB_NAMES),
    help="Run only this job; repeat for several. Default: every enabled job.",
)
@click.option(
    "--wait",
    "wait",
    is_flag=True,
    help="Wait for another zoom-etl process using the database, instead of "
    "exiting with code 75.",
)
@click.option(
    "--since",
    metavar="DATE",
    help="Fetch from DATE (2026-01-01 or an ISO-8601 time, UTC unless it names "
    "an offset) instead of each chosen job's cursor. Needs --job; other jobs' "
    "cursors are not touched.",
)
@click.option(
    "--wait-timeout",
    type=click.FloatRange(min=0),
    default=3600.0,
    show_default=True,
    help="Seconds --wait waits for the database before giving up.",
)
@click.pass_obj
def run(
    settings: Settings,
    job_names: tuple[str, ...],
    since: str | None,
    wait: bool,
    wait_timeout: float,
) -> int:
    """Run jobs once and exit.

    The exit code is 0 when every job succeeded, 75 when a job failed in a way
    that may pass (network, 5xx, rate limits), 77 when Zoom rejected the
    credentials, 78 for a configuration problem and 70 for a bug.

    \b
    Example:
        zoom-etl run --job users --job meetings
    """
    since_time = _parse_since(since, job_names)
    config = settings.load()
    names = [n for n in JOB_NAMES if n in job_names] or config.enabled_jobs()
    if not names:
        raise ConfigError(
            "has no enabled job; set jobs.<name>.enabled: true", key="jobs"
        )
    session = build_session(config)
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _exit_on_signal)
    try:
        outcomes = run_jobs(
            names,
            config,
            session,
            lock_wait=wait_timeout if wait else 0.0,
            since=since_time,
        )
    except SystemExit as exc:
        click.echo(
            f"zoom-etl: interrupted (exit {exc.code}); the running job is recorded "
            "as failed and the next run fetches what it missed",
            err=True,
        )
        raise
    finally:
        session.close()
    _report_outcomes(outcomes, names)
    return exit_code(outcomes)


@cli.command()
@click.option(
    "--run-now",
    is_flag=True,
    help="Run every enabled job once at start, then follow the schedule.",
)
@click.pass_obj
def daemon(settings: Settings, run_now: bool) -> int:
    """Run enabled jobs on their schedules until SIGTERM or SIGINT.

    Schedules come from config.yaml. SIGHUP reloads it; an invalid file keeps
    the current schedule and logs the error. On SIGTERM or SIGINT the daemon
    stops scheduling, lets a running job finish within scheduler.stop_timeout
    seconds and exits 0. Under systemd (Type=notify) it reports readiness and
    pings the watchdog.
    """
    from jobs.daemon import Daemon

    return Daemon(settings.load, run_now=run_now).run()


@cli.command()
@click.pass_context
def check(ctx: click.Context) -> int:
    """Request a token, call /users/me and print what Zoom returned.

    Log events go to stderr here, so stdout holds only the report.
    """
    settings: Settings = ctx.obj
    logs.configure_logging(
        level=ctx.parent.params["log_level"].upper(), stream=sys.stderr
    )
    config = settings.load()
    session = build_session(config)
    try:
        token = session.provider.token()
        expires = token.expires_at_utc.isoformat(timespec="seconds")
        click.echo(f"account_id:    {config.zoom.account_id}")
        click.echo(f"api_base_url:  {session.base_url()}")
        click.echo(f"token expires: {expires}")
        click.echo(f"scopes:        {' '.join(token.scopes) or '(none listed)'}")
        owner = fetch_me(session)
    except SkippableError as exc:
        # Zoom does not document /users/me for Server-to-Server apps.
        click.echo(f"owner:         not available ({exc})")
        return 0
    finally:
        session.close()
    parts = [owner.get("first_name"), owner.get("last_name")]
    name = " ".join(str(part) for part in parts if part)
    click.echo(f"owner:         {owner.get('email')} ({name or 'no name'})")
    click.echo(f"owner id:      {owner.get('id')}, role {owner.get('role_name', '?')}")
    return 0


@cli.command()
@click.pass_obj
def demo(settings: Settings) -> int:
    """Run every job once against the built-in Zoom emulator.

    The emulator listens on 127.0.0.1 only; the data goes to ./zoom-demo.db
    unless --db names another file. Neither credentials nor a network
    connection are needed.
    """
    from zoom_fake import AccountSpec, FakeZoom

    db_path = (settings.db_path or DEMO_DATABASE).absolute()
    spec = AccountSpec(
        seed=2026,
        active_users=40,
        inactive_users=5,
        pending_users=3,
        meetings_per_user=4,
        no_host_users=1,
        vanished_users=1,
    )
    with FakeZoom(account=spec) as fake:
        config = Config(
            zoom=ZoomSettings(
                account_id=fake.account_id,
                client_id=fake.client_id,
                client_secret=fake.client_secret,
                token_url=fake.token_url,
                # The emulator enforces no rate limit here, so nothing is paced.
                plan=None,
            ),
            database=db_path,
            jobs={name: JobSettings(name) for name in JOB_NAMES},
        )
        session = build_session(config)
        try:
            outcomes = run_jobs(config.enabled_jobs(), config, session)
        finally:
            session.close()
    db = store.open_database(db_path)
    counts = store.table_counts(db)
    db.close()
    click.echo(f"\nRows in {db_path}:")
    width = max(len(table) for table in counts)
    for table, count in counts.items():
        click.echo(f"  {table:<{width}} {count:>7}")
    return exit_code(outcomes)


@cli.command()
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print one JSON object instead of a table.",
)
@click.pass_obj
def status(settings: Settings, as_json: bool) -> int:
    """Show each job's last run and next run, and check that they are healthy.

    The database is opened read-only, so status never creates, migrates or
    locks it, and needs no Zoom credentials. The exit code is 0 when every
    enabled job is healthy, and 1 when the database is missing or unreadable
    or an enabled job is unhealthy. A job is unhealthy when its last run
    failed, was partial or never happened, or when that run started longer
    ago than twice the job's schedule period, finished or still running.
    Disabled jobs are shown but never change the exit code. A configuration
    error exits 78.

    \b
    Example:
        zoom-etl --config /etc/zoom-etl/config.yaml \
            --db /var/lib/zoom-etl/zoom.db status --json
    """
    from datetime import UTC, datetime

    from jobs.status import (
        StatusError,
        format_json,
        format_table,
        load_status_config,
        read_status,
    )

    config = load_status_config(settings.config_path, settings.db_path)
    try:
        report = read_status(config.database, config, now=datetime.now(UTC))
    except StatusError as exc:
        click.echo(f"zoom-etl: {exc}", err=True)
        return 1
    click.echo(format_json(report) if as_json else format_table(report))
    return 0 if report.healthy else 1


def main(argv: list[str] | None = None) -> None:
    """Run the CLI and exit with its code: 64 for bad usage, 78 for bad config."""
    try:
        code = cli.main(args=argv, prog_name="zoom-etl", standalone_mode=False)
    except click.exceptions.UsageError as exc:
        exc.show()
        sys.exit(EX_USAGE)
    except click.exceptions.Abort:
        click.echo("Aborted", err=True)
        sys.exit(130)
    except ZoomError as exc:
        _report_error(exc)
        sys.exit(exc.exit_code)
    except click.exceptions.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except Exception as exc:  # a bug: log the traceback, exit 70
        log.exception("command_crashed")
        message = logs.redact_text(f"{type(exc).__name__}: {exc}")
        click.echo(f"zoom-etl: unexpected error, {message}", err=True)
        sys.exit(EX_SOFTWARE)
    sys.exit(code if isinstance(code, int) else 0)


def _exit_on_signal(signum: int, frame: object) -> None:
    """Turn SIGTERM or SIGHUP into SystemExit, so a running job records its end."""
    raise SystemExit(128 + signum)


def _parse_since(text: str | None, job_names: tuple[str, ...]) -> datetime | None:
    """Parse ``--since`` into an aware UTC datetime.

    Raises:
        click.UsageError: the value is not a date, or no --job was given.
    """
    if text is None:
        return None
    if not job_names:
        msg = "--since needs --job, so that only the chosen jobs fetch again"
        raise click.UsageError(msg)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        msg = f"--since {text!r} is not a date; write it as 2026-01-01"
        raise click.UsageError(msg) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _report_outcomes(outcomes: list[RunOutcome], names: list[str]) -> None:
    """Repeat on stderr, for people and cron mail, which jobs did not succeed."""
    for outcome in outcomes:
        if outcome.exit_code:
            click.echo(
                f"zoom-etl: job {outcome.job} {outcome.status} "
                f"(exit {outcome.exit_code}): {outcome.error}",
                err=True,
            )
    not_run = names[len(outcomes) :]
    if not_run:
        click.echo(f"zoom-etl: jobs not run: {', '.join(not_run)}", err=True)


def _report_error(exc: ZoomError) -> None:
    """Log an error that ended a command and repeat it on stderr for people."""
    event = "config_invalid" if isinstance(exc, ConfigError) else "command_failed"
    message = logs.redact_text(str(exc))
    log.error(event, error=message, error_class=type(exc).__name__)
    click.echo(f"zoom-etl: {message}", err=True)


if __name__ == "__main__":
    main()
