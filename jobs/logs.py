"""Logging set-up: structlog and the standard library share one processor chain.

Every event, from structlog or from a stdlib logger such as urllib3 or
apscheduler, becomes one line on one stream: a JSON object when the stream is
not a terminal, structlog's console format when it is. Each line carries an
ISO-8601 UTC ``timestamp``, ``level``, ``logger``, ``event`` and whatever
callers bound with ``structlog.contextvars.bind_contextvars`` (``run_id``,
``job``).

Secrets are removed from every line before it is rendered: values under keys
such as ``access_token`` or ``authorization``, ``Bearer``/``Basic``
credentials inside text, and every literal registered with
:func:`add_secret`. Tracebacks are rendered without local variables, because a
frame's locals often hold a token.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TextIO

import structlog
from structlog.dev import ConsoleRenderer, plain_traceback
from structlog.processors import (
    ExceptionRenderer,
    JSONRenderer,
    StackInfoRenderer,
    TimeStamper,
)
from structlog.stdlib import ProcessorFormatter
from structlog.tracebacks import ExceptionDictTransformer
from structlog.typing import EventDict, Processor, WrappedLogger

REDACTED = "[REDACTED]"
"""Placeholder written in place of a secret."""

MIN_SECRET_LENGTH = 8
"""Minimum length of a registered secret, because shorter ones mangle plain text."""

# Matched against a key after camelCase and dashes become snake_case, so
# "Authorization", "refresh_token" and "X-Zoom-Client-Secret" all match while
# "token_url" and "secret_file" do not.
_SENSITIVE_KEY = re.compile(
    r"(?:^|_)(?:access_token|token|client_secret|secret|password|authorization)$"
)
_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")

# An HTTP Authorization credential: scheme, whitespace, then a token68 value as
# RFC 9110 defines it. Any word after "Bearer" or "Basic" counts as a
# credential, so "Basic plan" loses "plan" too.
_AUTH_CREDENTIAL = re.compile(r"\b(Bearer|Basic)(\s+)[A-Za-z0-9._~+/-]+=*", re.I)

# A credential in a form body or query string, such as client_secret=...
_CREDENTIAL_PARAMETER = re.compile(
    r"\b(access_token|refresh_token|client_secret|password)=[^&\s'\"]+"
)

# Containers nested deeper than this are rendered with repr() and scrubbed as
# text, which also ends the walk on self-referencing structures.
_MAX_DEPTH = 20

_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class _SecretRegistry:
    """Set of literal secrets to redact, bounded in size.

    The first ``pinned_capacity`` values are kept for the life of the process.
    The client secret is among them when it is registered before the first
    token request, as the runner does. Later values, one access token per
    renewal, go to a window of the ``recent_capacity`` newest. Zoom tokens live
    one hour, so a token dropped from the window expired weeks ago.
    """

    pinned_capacity = 16
    recent_capacity = 1024

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pinned: list[str] = []
        self._recent: OrderedDict[str, None] = OrderedDict()
        self._longest_first: tuple[str, ...] = ()

    def add(self, value: str) -> None:
        with self._lock:
            if value in self._pinned:
                return
            if value in self._recent:
                self._recent.move_to_end(value)
                return
            if len(self._pinned) < self.pinned_capacity:
                self._pinned.append(value)
            else:
                self._recent[value] = None
                if len(self._recent) > self.recent_capacity:
                    self._recent.popitem(last=False)
            values = [*self._pinned, *self._recent]
            # Longest first, so a secret that contains another goes whole.
            self._longest_first = tuple(sorted(values, key=len, reverse=True))

    def scrub(self, text: str) -> str:
        for secret in self._longest_first:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text


_secrets = _SecretRegistry()
_installed_handler: logging.Handler | None = None


def add_secret(value: str) -> None:
    """Register a literal that is redacted from every log line from now on.

    Args:
        value: a client secret or access token. Values shorter than
            :data:`MIN_SECRET_LENGTH` characters are ignored.
    """
    if isinstance(value, str) and len(value) >= MIN_SECRET_LENGTH:
        _secrets.add(value)


def configure_logging(
    *,
    level: str = "INFO",
    json_output: bool | None = None,
    stream: TextIO | None = None,
) -> None:
    """Route structlog and stdlib logging through one redacting chain to a stream.

    Calling it again replaces the previous set-up. Loggers are never cached, so
    loggers created before a call follow the new set-up.

    Args:
        level: lowest level written: DEBUG, INFO, WARNING, ERROR or CRITICAL.
        json_output: JSON lines when true, console format when false. None
            chooses JSON unless the stream is a terminal.
        stream: where lines go; default ``sys.stdout`` at the time of the call.

    Raises:
        ValueError: ``level`` is not one of the level names above.
    """
    level_number = _level_number(level)
    stream = sys.stdout if stream is None else stream
    is_tty = _is_tty(stream)
    if json_output is None:
        json_output = not is_tty

    merge_context = structlog.contextvars.merge_contextvars
    context = _context_processors()
    final = _final_processors(json_output)
    structlog.configure(
        processors=[
            merge_context,
            structlog.stdlib.filter_by_level,
            *context,
            StackInfoRenderer(),
            *final,
            ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        context_class=dict,
        cache_logger_on_first_use=False,
    )
    formatter = ProcessorFormatter(
        foreign_pre_chain=[merge_context, *context],
        processors=[
            ProcessorFormatter.remove_processors_meta,
            *final,
            _renderer(json_output, colors=is_tty),
        ],
    )
    _install_handler(stream, formatter, level_number)


def _level_number(level: str) -> int:
    name = str(level).upper()
    if name not in _LEVELS:
        msg = f"unknown log level {level!r}; use one of {', '.join(_LEVELS)}"
        raise ValueError(msg)
    return logging.getLevelNamesMapping()[name]


def _is_tty(stream: TextIO) -> bool:
    isatty: Callable[[], bool] | None = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # A closed stream.
        return False


def _context_processors() -> list[Processor]:
    """Return the processors that add level, logger name and time."""
    return [
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        TimeStamper(fmt="iso", utc=True),
    ]


def _final_processors(json_output: bool) -> list[Processor]:
    """Return the processors that render exceptions, then redact.

    They run in structlog's chain, so the record handed to stdlib handlers
    (pytest's capture, for one) is already redacted, and again in the
    formatter, which is where stdlib records first meet them. Redaction is
    idempotent, so the second pass changes nothing for structlog events.
    """
    if json_output:
        # show_locals defaults to True, which would write every frame's locals.
        transformer = ExceptionDictTransformer(show_locals=False)
        exceptions = ExceptionRenderer(transformer)
    else:
        exceptions = ExceptionRenderer()  # Plain text, as traceback prints it.
    return [exceptions, redact_event]


def _renderer(json_output: bool, *, colors: bool) -> Processor:
    if json_output:
        return JSONRenderer()
    # Exceptions arrive already formatted and redacted as the "exception"
    # string. plain_traceback only matters if a raw exc_info got this far, and
    # unlike the Rich formatter that structlog prefers, it prints no locals.
    return ConsoleRenderer(colors=colors, exception_formatter=plain_traceback)


def _install_handler(
    stream: TextIO, formatter: logging.Formatter, level_number: int
) -> None:
    global _installed_handler

    root = logging.getLogger()
    if _installed_handler is not None:
        root.removeHandler(_installed_handler)
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    # The handler filters too: a library that lowers its own logger's level
    # must not get lines below ``level`` onto the stream.
    handler.setLevel(level_number)
    root.addHandler(handler)
    root.setLevel(level_number)
    _installed_handler = handler

    # apscheduler 3.11 logs "Running job" and "executed successfully" at INFO
    # for every run of every job.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    # urllib3 2.x logs connections, requests and retries at DEBUG and redirects
    # at INFO: details wanted only when debugging. NOTSET follows the root.
    debugging = level_number <= logging.DEBUG
    urllib3_level = logging.NOTSET if debugging else logging.WARNING
    logging.getLogger("urllib3").setLevel(urllib3_level)


# --- Redaction -------------------------------------------------------------


def redact_event(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """Replace secrets in an event dict and its nested values with :data:`REDACTED`.

    Values under sensitive keys are replaced whole. Strings lose ``Bearer``
    and ``Basic`` credentials, ``client_secret=...``-style parameters and every
    literal registered with :func:`add_secret`. A value that is not a string,
    number, dict, list or tuple, or that is nested deeper than 20 levels, is
    replaced by its scrubbed ``repr()``, which is what both renderers would
    print for it anyway.
    """
    return {key: _redact_item(key, value, 0) for key, value in event_dict.items()}


def _redact_item(key: object, value: object, depth: int) -> object:
    if isinstance(key, str) and _is_sensitive_key(key):
        return REDACTED
    return _redact_value(value, depth)


def _redact_value(value: object, depth: int) -> object:
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, str):
        return redact_text(value)
    if depth < _MAX_DEPTH:
        if isinstance(value, dict):
            return {k: _redact_item(k, v, depth + 1) for k, v in value.items()}
        if isinstance(value, list):
            return [_redact_value(item, depth + 1) for item in value]
        if isinstance(value, tuple):
            return tuple(_redact_value(item, depth + 1) for item in value)
    return redact_text(_describe(value))


def _describe(value: object) -> str:
    describe: Callable[[], Any] | None = getattr(value, "__structlog__", None)
    if describe is not None:
        return str(describe())
    return repr(value)


def _is_sensitive_key(key: str) -> bool:
    snake = _CAMEL_BOUNDARY.sub("_", key).lower().replace("-", "_")
    return _SENSITIVE_KEY.search(snake) is not None


def redact_text(text: str) -> str:
    """Return ``text`` with registered secrets and inline credentials redacted.

    Args:
        text: any text, such as a formatted message or a traceback.
    """
    text = _secrets.scrub(text)
    text = _AUTH_CREDENTIAL.sub(rf"\1\2{REDACTED}", text)
    return _CREDENTIAL_PARAMETER.sub(rf"\1={REDACTED}", text)
