"""Configuration of a zoom-etl run, loaded from a YAML file.

The file has three top-level keys: ``zoom`` (credentials, endpoints, timeouts
and retry limits), ``database`` (the SQLite file) and ``jobs`` (which jobs
run). Every string value may refer to environment variables as ``${VAR}`` or
``${VAR:-default}``. Each credential may instead be read from a file named by
``<key>_file``, which is how systemd's ``LoadCredential=`` hands secrets over.

Validation is strict: an unknown key, a wrong type or a missing credential
raises :class:`ConfigError` (exit code 78) naming the key and the fix. The
client secret never appears in an error message or a repr.
"""

from __future__ import annotations

import difflib
import ipaddress
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime, time, tzinfo
from pathlib import Path
from typing import Any
from urllib.parse import SplitResult, urlsplit

import yaml

from jobs.schedule import Schedule, ScheduleError, parse_timezone
from zoom_auth.errors import ConfigurationError
from zoom_auth.pacing import PLAN_LIMITS

JOB_NAMES: tuple[str, ...] = (
    "users_me",
    "users",
    "meetings",
    "meeting_instances",
    "participants",
    "webinars",
    "recordings",
    "daily_usage",
    "activity_logs",
    "operation_logs",
    "groups",
)
"""Every job, in the order a run executes them."""

CONFIG_ENV_VAR = "ZOOM_ETL_CONFIG"
DEFAULT_CONFIG_FILE = "config.yaml"
DEFAULT_DATABASE = "zoom.db"
CREDENTIALS_DIRECTORY_VAR = "CREDENTIALS_DIRECTORY"

_MARKETPLACE = "the Zoom App Marketplace (https://marketplace.zoom.us)"
_LOOPBACK_NAMES = frozenset({"localhost"})
_TOP_LEVEL_KEYS = ("zoom", "database", "jobs", "scheduler", "sync")
# The zoom.plan value that turns client-side pacing off.
NO_PACING = "none"

# Bounds of sync.workers and zoom.rate_share. More threads than this gain
# nothing within Zoom's limits, and a smaller share paces Free-plan Heavy
# requests more than a minute apart.
MAX_WORKERS = 64
MIN_RATE_SHARE = 0.01

_SYNC_KEYS = (
    "start_date",
    "lookback_days",
    "dashboards",
    "workers",
    "request_budget",
)
_JOB_KEYS = ("enabled", "schedule")
_SCHEDULER_SECONDS_KEYS = ("misfire_grace_time", "stop_timeout")
_SCHEDULER_KEYS = ("timezone", *_SCHEDULER_SECONDS_KEYS)
_FILE_SUFFIX = "_file"

# ${NAME} or ${NAME:-default}. A default ends at the first "}", and there is
# no escape syntax: a literal "${" must come from a variable or a _file.
_VARIABLE_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class ConfigError(ConfigurationError):
    """The configuration is invalid; the process exits with code 78.

    ``str(error)`` reads ``"<source>: <key> <what is wrong>; <the fix>"``, with
    the source file and the dotted key left out when they are unknown.

    Args:
        message: what is wrong and how to fix it, separated by "; ".
        key: dotted name of the offending key, such as ``zoom.client_id``.
        source: the configuration file, as the user named it.
    """

    def __init__(
        self, message: str, *, key: str | None = None, source: str | None = None
    ):
        self.message = message
        self.key = key
        self.source = source
        text = f"{key} {message}" if key else message
        if source:
            text = f"{source}: {text}"
        super().__init__(text)


@dataclass(frozen=True)
class ZoomSettings:
    """Credentials of the Server-to-Server OAuth app and HTTP client limits.

    Durations are in seconds. ``api_base_url`` is the full API base including
    ``/v2``; None uses the ``api_url`` of the token response.
    """

    account_id: str
    client_id: str
    client_secret: str = field(repr=False)
    token_url: str = "https://zoom.us/oauth/token"
    api_base_url: str | None = None
    token_renew_margin: float = 300.0
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    max_attempts: int = 5
    backoff_base: float = 1.0
    backoff_max: float = 60.0
    max_retry_after: float = 60.0
    plan: str | None = "pro"
    rate_share: float = 0.8


DEFAULT_SCHEDULES: dict[str, Schedule] = {
    "users_me": Schedule(interval=(("hours", 24.0),)),
    "users": Schedule(cron="0 */6 * * *"),
    "meetings": Schedule(interval=(("minutes", 30.0),)),
    "meeting_instances": Schedule(interval=(("hours", 1.0),)),
    "participants": Schedule(interval=(("hours", 1.0),)),
    "webinars": Schedule(interval=(("hours", 6.0),)),
    "recordings": Schedule(interval=(("hours", 1.0),)),
    "daily_usage": Schedule(interval=(("hours", 6.0),)),
    "activity_logs": Schedule(interval=(("hours", 1.0),)),
    "operation_logs": Schedule(interval=(("hours", 1.0),)),
    "groups": Schedule(cron="0 */6 * * *"),
}
"""Schedule of each job when config.yaml gives none."""


@dataclass(frozen=True)
class JobSettings:
    """Settings of one job; ``schedule`` defaults to the job's entry in
    :data:`DEFAULT_SCHEDULES`."""

    name: str
    enabled: bool = True
    schedule: Schedule | None = None

    def __post_init__(self) -> None:
        if self.schedule is None:
            object.__setattr__(self, "schedule", DEFAULT_SCHEDULES[self.name])


@dataclass(frozen=True)
class SchedulerSettings:
    """Settings of the daemon's scheduler. Durations are in seconds.

    Attributes:
        timezone: IANA name of the zone cron expressions are read in.
        misfire_grace_time: how late a run may start and still run; a later
            one is skipped and logged as missed.
        stop_timeout: how long a running job may take to finish after SIGTERM
            or SIGINT before it is stopped and recorded as failed.
    """

    timezone: str = "UTC"
    misfire_grace_time: float = 300.0
    stop_timeout: float = 60.0

    @property
    def tzinfo(self) -> tzinfo:
        """The time zone as a tzinfo object."""
        return parse_timezone(self.timezone)


@dataclass(frozen=True)
class SyncSettings:
    """Settings that choose where incremental jobs start fetching.

    Attributes:
        start_date: where a job's first run starts (aware UTC), or None for
            as far back as each endpoint allows. A value older than an
            endpoint's retention is moved forward with a warning.
        lookback_days: days before a job's cursor that later runs fetch again,
            so records Zoom completes late (a meeting that ended after the
            previous run) are stored.
        dashboards: the account's plan has Dashboards, so meeting instances
            may come from GET /metrics/meetings.
        workers: threads that fetch per-user and per-meeting resources at
            once; None sizes the pool from the rate limits and the latency
            seen.
        request_budget: Heavy and Resource-intensive requests one job run may
            send; the job stops with its cursors saved when it is spent. None
            sets no budget.
    """

    start_date: datetime | None = None
    lookback_days: float = 2.0
    dashboards: bool = False
    workers: int | None = None
    request_budget: int | None = None


@dataclass(frozen=True)
class Config:
    """The configuration of a run.

    ``jobs`` has an entry for every name in :data:`JOB_NAMES`, and
    ``database`` is an absolute path when the config came from a file.
    """

    zoom: ZoomSettings
    database: Path
    jobs: dict[str, JobSettings]
    source: Path | None = None
    scheduler: SchedulerSettings = field(default_factory=SchedulerSettings)
    sync: SyncSettings = field(default_factory=SyncSettings)

    def enabled_jobs(self) -> list[str]:
        """Return the names of the enabled jobs, in :data:`JOB_NAMES` order."""
        return [name for name in JOB_NAMES if self.jobs[name].enabled]


def default_config_path(env: Mapping[str, str] = os.environ) -> Path:
    """Return ``$ZOOM_ETL_CONFIG`` when it is set, else ``./config.yaml``.

    Args:
        env: environment variables to read.
    """
    return Path(env.get(CONFIG_ENV_VAR) or DEFAULT_CONFIG_FILE)


def load_config(path: Path, *, env: Mapping[str, str] = os.environ) -> Config:
    """Read, interpolate and validate a YAML configuration file.

    Relative paths inside the file (``database``, credential files when
    ``$CREDENTIALS_DIRECTORY`` is unset) are resolved against the file's folder.

    Args:
        path: the configuration file.
        env: environment variables for ``${VAR}`` references.

    Returns:
        The validated configuration, with ``source`` set to ``path``.

    Raises:
        ConfigError: the file is missing, unreadable, not valid YAML, or
            describes an invalid configuration.
    """
    path = Path(path)
    return config_from_mapping(
        read_config_file(path),
        base_dir=path.absolute().parent,
        env=env,
        source=str(path),
    )


def read_config_file(path: Path) -> object:
    """Read and parse a YAML configuration file without validating it.

    Raises:
        ConfigError: the file is missing, unreadable or not valid YAML. The
            message never quotes a line of the file, which may hold a secret.
    """
    source = str(path)
    return _parse_yaml(_read_config_text(path, source), source)


def config_from_mapping(
    data: object,
    *,
    base_dir: Path,
    env: Mapping[str, str] = os.environ,
    source: str | None = None,
) -> Config:
    """Validate parsed YAML and build a :class:`Config` from it.

    Args:
        data: the document, as ``yaml.safe_load`` returns it.
        base_dir: folder that relative paths are resolved against.
        env: environment variables for ``${VAR}`` references.
        source: name of the file the data came from, used in error messages.

    Returns:
        The validated configuration.

    Raises:
        ConfigError: a key is unknown, missing, of the wrong type or invalid.
    """
    reader = _Reader(base_dir=Path(base_dir), env=env, source=source)
    return reader.read_config(data)


def _read_config_text(path: Path, source: str) -> str:
    fix = f"pass --config PATH or set {CONFIG_ENV_VAR} to the configuration file"
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        msg = f"configuration file not found; {fix}"
        raise ConfigError(msg, source=source) from None
    except UnicodeDecodeError as exc:
        msg = f"configuration file is not UTF-8 (byte {exc.start}); save it as UTF-8"
        raise ConfigError(msg, source=source) from None
    except OSError as exc:
        msg = f"cannot read the configuration file ({exc.strerror}); {fix}"
        raise ConfigError(msg, source=source) from exc


class _DuplicateKeyError(yaml.constructor.ConstructorError):
    """A mapping names the same key twice, so one of the values would be lost."""


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that rejects duplicate mapping keys instead of keeping the last."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> Any:
        seen: dict[Any, yaml.Node] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            try:
                first = seen.get(key)
            except TypeError:  # An unhashable key; the base class reports it.
                break
            if first is not None:
                raise _DuplicateKeyError(
                    None,
                    None,
                    f"found duplicate key {key!r}, first defined at line "
                    f"{first.start_mark.line + 1}",
                    key_node.start_mark,
                )
            seen[key] = key_node
        return super().construct_mapping(node, deep=deep)


def _parse_yaml(text: str, source: str) -> object:
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 (a SafeLoader)
    except yaml.YAMLError as exc:
        # Only the error's own words and position are used, because its str()
        # quotes the offending line, which may contain a secret.
        raise ConfigError(_describe_yaml_error(exc), source=source) from None
    except (ValueError, TypeError, OverflowError):
        # A tag such as !!int or !!float applied to a value it cannot convert.
        # The exception quotes the value, which may be a secret.
        msg = (
            "contains a value that its YAML tag (such as !!int or !!float) "
            "cannot convert; remove the tag and write the value plainly"
        )
        raise ConfigError(msg, source=source) from None


def _describe_yaml_error(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or "the document cannot be parsed"
    context = getattr(exc, "context", None)
    context_mark = getattr(exc, "context_mark", None)
    if context and context_mark and mark and context_mark.line != mark.line:
        context = f"{context} started at line {context_mark.line + 1}"
    description = f"{context}: {problem}" if context else problem
    if isinstance(exc, _DuplicateKeyError):
        fix = "keep one of them"
    else:
        fix = "correct the syntax there"
    if mark is None:
        return f"invalid YAML ({description}); {fix}"
    where = f"line {mark.line + 1}, column {mark.column + 1}"
    return f"invalid YAML at {where} ({description}); {fix}"


# --- Validation ------------------------------------------------------------

# Labels of the credentials on the app's page in the Zoom App Marketplace.
_CREDENTIAL_LABELS = {
    "account_id": "Account ID",
    "client_id": "Client ID",
    "client_secret": "Client Secret",
}
_SECRET_KEYS = frozenset({"client_secret"})
_SECONDS_KEYS = (
    "token_renew_margin",
    "connect_timeout",
    "read_timeout",
    "backoff_base",
    "backoff_max",
    "max_retry_after",
)
_URL_KEYS = ("token_url", "api_base_url")
_ZOOM_KEYS = tuple(f.name for f in fields(ZoomSettings)) + tuple(
    name + _FILE_SUFFIX for name in _CREDENTIAL_LABELS
)


class _Reader:
    """Validator of a parsed document, one section at a time.

    It carries the base folder, the environment and the source name, which
    paths, ``${VAR}`` references and error messages need.
    """

    def __init__(self, *, base_dir: Path, env: Mapping[str, str], source: str | None):
        self.base_dir = base_dir
        self.env = env
        self.source = source

    def error(self, message: str, key: str | None = None) -> ConfigError:
        return ConfigError(message, key=key, source=self.source)

    # Document structure

    def read_config(self, data: object) -> Config:
        if data is None:
            msg = "the configuration is empty; start from the example config.yaml"
            raise self.error(msg)
        if not isinstance(data, Mapping):
            msg = (
                f"the top level must be a mapping with keys such as zoom and "
                f"database, not {_type_name(data)}; start from the example config.yaml"
            )
            raise self.error(msg)
        self.reject_unknown_keys(data, _TOP_LEVEL_KEYS, prefix="")
        if data.get("zoom") is None:
            msg = (
                "is missing; add a zoom section with account_id, client_id and "
                f"client_secret from your Server-to-Server OAuth app in {_MARKETPLACE}"
            )
            raise self.error(msg, "zoom")
        zoom = self.read_zoom(self.require_mapping(data["zoom"], "zoom"))
        return Config(
            zoom=zoom,
            database=self.read_database(data.get("database")),
            jobs=self.read_jobs(data.get("jobs")),
            source=Path(self.source) if self.source else None,
            scheduler=self.read_scheduler(data.get("scheduler")),
            sync=self.read_sync(data.get("sync")),
        )

    def require_mapping(self, value: object, key: str) -> Mapping[Any, Any]:
        if not isinstance(value, Mapping):
            msg = f"must be a mapping of keys to values, not {_type_name(value)}"
            raise self.error(msg, key)
        return value

    def reject_unknown_keys(
        self, section: Mapping[Any, Any], known: tuple[str, ...], *, prefix: str
    ) -> None:
        for key in section:
            if key in known:
                continue
            close = difflib.get_close_matches(str(key), known, n=1)
            listed = ", ".join(known)
            if close:
                fix = f"did you mean {prefix}{close[0]}? Known keys: {listed}"
            else:
                fix = f"known keys: {listed}"
            raise self.error(f"is not a known setting; {fix}", prefix + str(key))

    # zoom section

    def read_zoom(self, section: Mapping[Any, Any]) -> ZoomSettings:
        self.reject_unknown_keys(section, _ZOOM_KEYS, prefix="zoom.")
        values: dict[str, Any] = {
            name: self.read_credential(section, name) for name in _CREDENTIAL_LABELS
        }
        for name in _URL_KEYS:
            if section.get(name) is not None:
                values[name] = self.read_url(section[name], f"zoom.{name}")
        for name in _SECONDS_KEYS:
            if section.get(name) is not None:
                values[name] = self.read_seconds(section[name], f"zoom.{name}")
        if section.get("max_attempts") is not None:
            values["max_attempts"] = self.read_attempts(section["max_attempts"])
        if section.get("plan") is not None:
            values["plan"] = self.read_plan(section["plan"])
        if section.get("rate_share") is not None:
            values["rate_share"] = self.read_rate_share(section["rate_share"])
        settings = ZoomSettings(**values)
        self.check_backoff(settings)
        return settings

    def read_credential(self, section: Mapping[Any, Any], name: str) -> str:
        key = f"zoom.{name}"
        file_key = key + _FILE_SUFFIX
        inline = section.get(name)
        file_value = section.get(name + _FILE_SUFFIX)
        if inline is not None and file_value is not None:
            raise self.error(f"and {file_key} are both set; keep one of them", key)
        if file_value is not None:
            path = self.read_path(file_value, file_key, self.credentials_dir())
            return self.read_credential_file(path, name)
        fix = self.credential_fix(name)
        if inline is None:
            raise self.error(f"is missing; {fix}", key)
        if not isinstance(inline, str):
            described = _type_name(inline) if name in _SECRET_KEYS else _show(inline)
            msg = f"must be a string, not {described}; write it as a quoted string"
            raise self.error(msg, key)
        value = self.interpolate(inline, key).strip()
        if not value:
            # The literal text around the references is blank here, so the raw
            # value shows only ${VAR} references and no part of a secret.
            origin = f" (from {inline.strip()!r})" if inline.strip() else ""
            raise self.error(f"is empty{origin}; {fix}", key)
        return value

    def credential_fix(self, name: str) -> str:
        label = _CREDENTIAL_LABELS[name]
        return (
            f"set it to your app's {label}, found on the App Credentials page of "
            f"your Server-to-Server OAuth app in {_MARKETPLACE}, or set "
            f"zoom.{name}{_FILE_SUFFIX} to a file that contains it"
        )

    def credentials_dir(self) -> Path:
        folder = self.env.get(CREDENTIALS_DIRECTORY_VAR)
        return Path(folder) if folder else self.base_dir

    def read_credential_file(self, path: Path, name: str) -> str:
        key = f"zoom.{name}{_FILE_SUFFIX}"
        label = _CREDENTIAL_LABELS[name]
        try:
            content = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            msg = f"names {path}, which is not UTF-8 text; write the {label} into it"
            raise self.error(msg, key) from None
        except OSError as exc:
            msg = (
                f"names {path}, which cannot be read ({exc.strerror}); check the "
                f"path. {self.credential_lookup_hint()}"
            )
            raise self.error(msg, key) from None
        value = content.strip()
        if not value:
            msg = f"names {path}, which is empty; write the {label} into it"
            raise self.error(msg, key)
        return value

    def credential_lookup_hint(self) -> str:
        folder = self.env.get(CREDENTIALS_DIRECTORY_VAR)
        if folder:
            where = f"${CREDENTIALS_DIRECTORY_VAR} ({folder})"
        else:
            where = f"the configuration's folder ({self.base_dir})"
        return f"A relative path is looked up in {where}"

    def check_backoff(self, settings: ZoomSettings) -> None:
        if settings.backoff_max < settings.backoff_base:
            msg = (
                f"is {settings.backoff_max:g}, below zoom.backoff_base "
                f"({settings.backoff_base:g}); raise backoff_max or lower "
                "backoff_base"
            )
            raise self.error(msg, "zoom.backoff_max")

    # Scalar values

    def interpolate(self, raw: str, key: str) -> str:
        def substitute(match: re.Match[str]) -> str:
            name, default = match.group(1), match.group(2)
            value = self.env.get(name)
            if value:
                return value
            if default is not None:
                return default
            if value is not None:
                return value
            raise self.error(self.unset_variable_message(name, key), key)

        return _VARIABLE_REFERENCE.sub(substitute, raw)

    def unset_variable_message(self, name: str, key: str) -> str:
        default = f"give a default as ${{{name}:-value}}"
        if key.removeprefix("zoom.") in _CREDENTIAL_LABELS:
            file_form = f"set {key}{_FILE_SUFFIX} to a file that contains the value"
            fix = f"export {name}, {default}, or {file_form}"
        else:
            fix = f"export {name} or {default}"
        return f"refers to ${{{name}}}, which is not set; {fix}"

    def read_string(self, raw: object, key: str, expected: str) -> str:
        if not isinstance(raw, str):
            msg = f"must be {expected}, not {_show(raw)}; write it as a quoted string"
            raise self.error(msg, key)
        value = self.interpolate(raw, key).strip()
        if not value:
            raise self.error(f"is empty; set it to {expected}", key)
        return value

    def read_path(self, raw: object, key: str, base: Path) -> Path:
        path = Path(self.read_string(raw, key, "a file path"))
        return path if path.is_absolute() else base / path

    def read_url(self, raw: object, key: str) -> str:
        url = self.read_string(raw, key, "an https:// URL")
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 (raises ValueError for a bad port)
        except ValueError:
            msg = f"is not a valid URL: {url!r}; check the host and port"
            raise self.error(msg, key) from None
        self.check_url(parts, url, key)
        return url.rstrip("/") if key == "zoom.api_base_url" else url

    def check_url(self, parts: SplitResult, url: str, key: str) -> None:
        if parts.username is not None or parts.password is not None:
            # The URL is not echoed, because its user-info part may be a password.
            msg = "must not contain a user name or password; remove the part before @"
            raise self.error(msg, key)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            msg = f"must be an http(s) URL with a host, not {url!r}"
            raise self.error(f"{msg}; write it as https://host/path", key)
        if parts.query or parts.fragment:
            msg = f"must not have a query or fragment, not {url!r}; remove them"
            raise self.error(msg, key)
        if parts.scheme == "http" and not _is_loopback(parts.hostname):
            msg = (
                f"is {url!r}, but plain http would send the client secret and tokens "
                f"to {parts.hostname} unencrypted; use https (plain http is "
                "accepted only for loopback hosts such as 127.0.0.1)"
            )
            raise self.error(msg, key)

    def number_from_variable(self, raw: object, key: str) -> object:
        """Turn a ``${VAR}`` reference into the number its value spells.

        YAML reads ``${VAR}`` as a string, so a number set through the
        environment arrives as text. Any other string is returned unchanged,
        for the caller to reject.
        """
        if not isinstance(raw, str) or not _VARIABLE_REFERENCE.search(raw):
            return raw
        text = self.interpolate(raw, key).strip()
        try:
            return int(text)
        except ValueError:
            pass
        try:
            return float(text)
        except ValueError:
            return text

    def read_seconds(self, raw: object, key: str) -> float:
        raw = self.number_from_variable(raw, key)
        is_number = isinstance(raw, (int, float)) and not isinstance(raw, bool)
        if not is_number or not math.isfinite(raw) or raw <= 0:
            msg = f"must be a positive number of seconds, not {_show(raw)}"
            raise self.error(f"{msg}; {_number_fix(raw, 'a number such as 30')}", key)
        return float(raw)

    def read_plan(self, raw: object) -> str | None:
        plan = self.read_string(raw, "zoom.plan", "free, pro or business").lower()
        if plan == NO_PACING:
            return None
        if plan not in PLAN_LIMITS:
            known = ", ".join(PLAN_LIMITS)
            msg = (
                f"is {plan!r}, not a known plan; use {known} (business also covers "
                f"Education and Enterprise), or {NO_PACING} to send without pacing"
            )
            raise self.error(msg, "zoom.plan")
        return plan

    def read_rate_share(self, raw: object) -> float:
        raw = self.number_from_variable(raw, "zoom.rate_share")
        is_number = isinstance(raw, (int, float)) and not isinstance(raw, bool)
        if not is_number or not MIN_RATE_SHARE <= raw <= 1:
            msg = (
                f"must be a fraction of at least {MIN_RATE_SHARE} and at most 1, "
                f"not {_show(raw)}"
            )
            raise self.error(f"{msg}; write a number such as 0.8", "zoom.rate_share")
        return float(raw)

    def read_attempts(self, raw: object) -> int:
        return self.read_count(raw, "zoom.max_attempts", "5")

    def read_count(
        self, raw: object, key: str, example: str, maximum: int | None = None
    ) -> int:
        raw = self.number_from_variable(raw, key)
        if isinstance(raw, bool) or not isinstance(raw, int) or raw < 1:
            msg = f"must be a whole number of at least 1, not {_show(raw)}"
            fix = _number_fix(raw, f"a whole number such as {example}")
            raise self.error(f"{msg}; {fix}", key)
        if maximum is not None and raw > maximum:
            msg = f"must be at most {maximum}, not {raw}; write a number such as {example}"
            raise self.error(msg, key)
        return raw

    # database and jobs

    def read_database(self, raw: object) -> Path:
        if raw is None:
            return self.base_dir / DEFAULT_DATABASE
        return self.read_path(raw, "database", self.base_dir)

    def read_jobs(self, raw: object) -> dict[str, JobSettings]:
        section = {} if raw is None else self.require_mapping(raw, "jobs")
        for name in section:
            if name not in JOB_NAMES:
                self.reject_job_name(name)
        return {name: self.read_job(name, section.get(name)) for name in JOB_NAMES}

    def reject_job_name(self, name: object) -> None:
        known = ", ".join(JOB_NAMES)
        close = difflib.get_close_matches(str(name), JOB_NAMES, n=1)
        if close:
            fix = f"did you mean jobs.{close[0]}? Known jobs: {known}"
        else:
            fix = f"known jobs: {known}"
        raise self.error(f"is not a known job; {fix}", f"jobs.{name}")

    def read_job(self, name: str, raw: object) -> JobSettings:
        key = f"jobs.{name}"
        if raw is None:
            return JobSettings(name)
        if not isinstance(raw, Mapping):
            msg = f"must be a mapping such as {{enabled: false}}, not {_show(raw)}"
            raise self.error(msg, key)
        self.reject_unknown_keys(raw, _JOB_KEYS, prefix=f"{key}.")
        enabled = raw.get("enabled", True)
        if not isinstance(enabled, bool):
            msg = f"must be true or false, not {_show(enabled)}; write true or false"
            if isinstance(enabled, str):
                msg += " without quotes"
            raise self.error(msg, f"{key}.enabled")
        schedule = None
        if raw.get("schedule") is not None:
            schedule = self.read_schedule(raw["schedule"], f"{key}.schedule")
        return JobSettings(name, enabled=enabled, schedule=schedule)

    def read_schedule(self, raw: object, key: str) -> Schedule:
        if isinstance(raw, str):
            raw = self.interpolate(raw, key)
        elif isinstance(raw, Mapping):
            raw = dict(raw)
        try:
            return Schedule.parse(raw)
        except ScheduleError as exc:
            raise self.error(str(exc), key) from None

    # sync section

    def read_sync(self, raw: object) -> SyncSettings:
        if raw is None:
            return SyncSettings()
        section = self.require_mapping(raw, "sync")
        self.reject_unknown_keys(section, _SYNC_KEYS, prefix="sync.")
        values: dict[str, Any] = {}
        if section.get("start_date") is not None:
            values["start_date"] = self.read_start_date(section["start_date"])
        if section.get("lookback_days") is not None:
            raw_days = section["lookback_days"]
            is_number = isinstance(raw_days, (int, float)) and not isinstance(
                raw_days, bool
            )
            if not is_number or not math.isfinite(raw_days) or raw_days < 0:
                msg = f"must be a number of days, 0 or more, not {_show(raw_days)}"
                raise self.error(msg, "sync.lookback_days")
            values["lookback_days"] = float(raw_days)
        if section.get("dashboards") is not None:
            if not isinstance(section["dashboards"], bool):
                msg = f"must be true or false, not {_show(section['dashboards'])}"
                raise self.error(msg, "sync.dashboards")
            values["dashboards"] = section["dashboards"]
        if section.get("workers") is not None:
            values["workers"] = self.read_count(
                section["workers"], "sync.workers", "8", maximum=MAX_WORKERS
            )
        if section.get("request_budget") is not None:
            values["request_budget"] = self.read_count(
                section["request_budget"], "sync.request_budget", "20000"
            )
        return SyncSettings(**values)

    def read_start_date(self, raw: object) -> datetime:
        key = "sync.start_date"
        if isinstance(raw, datetime):
            moment = raw
        elif isinstance(raw, date):
            moment = datetime.combine(raw, time())
        else:
            text = self.read_string(raw, key, "a date such as 2026-01-01")
            try:
                moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
            except ValueError:
                msg = (
                    f"is not a date or ISO-8601 timestamp: {text!r}; write it as "
                    "2026-01-01 or 2026-01-01T00:00:00Z"
                )
                raise self.error(msg, key) from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC)

    # scheduler section

    def read_scheduler(self, raw: object) -> SchedulerSettings:
        if raw is None:
            return SchedulerSettings()
        section = self.require_mapping(raw, "scheduler")
        self.reject_unknown_keys(section, _SCHEDULER_KEYS, prefix="scheduler.")
        values: dict[str, Any] = {}
        if section.get("timezone") is not None:
            zone = self.read_string(section["timezone"], "scheduler.timezone", "a zone")
            try:
                parse_timezone(zone)
            except ScheduleError as exc:
                raise self.error(str(exc), "scheduler.timezone") from None
            values["timezone"] = zone
        for name in _SCHEDULER_SECONDS_KEYS:
            if section.get(name) is not None:
                values[name] = self.read_seconds(section[name], f"scheduler.{name}")
        return SchedulerSettings(**values)


def _is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _type_name(value: object) -> str:
    names: dict[type, str] = {
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "a mapping",
        type(None): "null",
    }
    return names.get(type(value), f"a {type(value).__name__}")


def _show(value: object, limit: int = 60) -> str:
    """Describe a non-secret value for an error message: repr, cut short, and type."""
    if isinstance(value, (list, dict)) or value is None:
        return _type_name(value)
    text = repr(value)
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return f"{text} ({_type_name(value)})"


def _number_fix(value: object, example: str) -> str:
    if isinstance(value, str):
        return (
            "write a number without quotes, or a ${VAR} reference whose value "
            "is a number"
        )
    return f"write {example}"
