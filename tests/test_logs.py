"""Tests for jobs.logs, through the real processor chain into a StringIO."""

from __future__ import annotations

import io
import json
import logging
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import structlog

from jobs import logs
from jobs.logs import REDACTED, add_secret, configure_logging

MANAGED_LOGGERS = ("apscheduler", "urllib3")


@pytest.fixture(autouse=True)
def reset_logging() -> Iterator[None]:
    """Restore structlog, the root logger and library logger levels after a test."""
    root = logging.getLogger()
    handlers = list(root.handlers)
    root_level = root.level
    levels = {name: logging.getLogger(name).level for name in MANAGED_LOGGERS}
    structlog.contextvars.clear_contextvars()
    yield
    structlog.contextvars.clear_contextvars()
    structlog.reset_defaults()
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(root_level)
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


def new_secret() -> str:
    return "tok-" + secrets.token_urlsafe(24)


def configure(**options: Any) -> io.StringIO:
    stream = io.StringIO()
    configure_logging(stream=stream, **options)
    return stream


def json_lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def raise_with_local(value: str) -> None:
    held_in_local = value  # noqa: F841 (a frame local that must not be logged)
    raise RuntimeError("request failed")


# --- Line format --------------------------------------------------------------


def test_lines_are_json_with_core_keys() -> None:
    stream = configure()

    structlog.get_logger("jobs.test").info("job_started", rows=3)
    logging.getLogger("apscheduler.scheduler").warning("Run time of job was missed")

    lines = json_lines(stream)
    assert len(lines) == 2
    for line in lines:
        assert line["timestamp"].endswith("Z")
        assert line["level"] in ("info", "warning")
        assert line["event"]
    assert lines[0]["event"] == "job_started"
    assert lines[0]["rows"] == 3
    assert lines[0]["logger"] == "jobs.test"
    assert lines[1]["logger"] == "apscheduler.scheduler"
    assert lines[1]["event"] == "Run time of job was missed"


def test_timestamp_is_utc_iso8601() -> None:
    stream = configure()

    structlog.get_logger().info("tick")

    stamp = json_lines(stream)[0]["timestamp"]
    parsed = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    assert parsed.tzinfo == UTC
    assert "T" in stamp


def test_json_chosen_for_non_tty_stream() -> None:
    stream = configure(json_output=None)

    structlog.get_logger().info("auto_format")

    assert json_lines(stream)[0]["event"] == "auto_format"


def test_context_on_structlog_and_stdlib_lines() -> None:
    stream = configure()
    structlog.contextvars.bind_contextvars(run_id="run-42", job="users")

    structlog.get_logger("jobs.runner").info("page_saved")
    logging.getLogger("urllib3.connectionpool").warning("Retrying request")

    lines = json_lines(stream)
    assert len(lines) == 2
    for line in lines:
        assert line["run_id"] == "run-42"
        assert line["job"] == "users"


def test_context_gone_after_clear() -> None:
    stream = configure()
    structlog.contextvars.bind_contextvars(run_id="run-1", job="users")
    structlog.contextvars.clear_contextvars()

    structlog.get_logger().info("between_runs")

    line = json_lines(stream)[0]
    assert "run_id" not in line
    assert "job" not in line


# --- Levels and reconfiguration ---------------------------------------------------


def test_level_filters_both_sources() -> None:
    stream = configure(level="WARNING")

    structlog.get_logger().info("hidden")
    logging.getLogger("jobs.other").info("hidden too")
    structlog.get_logger().warning("shown")

    assert [line["event"] for line in json_lines(stream)] == ["shown"]


def test_noisy_libraries_quiet_at_info() -> None:
    stream = configure(level="INFO")

    logging.getLogger("apscheduler.executors.default").info("Running job")
    logging.getLogger("urllib3.poolmanager").info("Redirecting")
    logging.getLogger("urllib3.connectionpool").warning("Connection pool is full")

    events = [line["event"] for line in json_lines(stream)]
    assert events == ["Connection pool is full"]


def test_debug_shows_urllib3_not_apscheduler() -> None:
    stream = configure(level="DEBUG")

    logging.getLogger("urllib3.connectionpool").debug("Starting new HTTPS connection")
    logging.getLogger("apscheduler.executors.default").info("Running job")

    events = [line["event"] for line in json_lines(stream)]
    assert events == ["Starting new HTTPS connection"]


def test_reconfigure_replaces_handler() -> None:
    first = configure()
    second = configure(level="DEBUG")

    structlog.get_logger().debug("once")
    logging.getLogger("jobs.x").debug("stdlib once")

    assert first.getvalue() == ""
    assert [line["event"] for line in json_lines(second)] == ["once", "stdlib once"]


def test_logger_made_before_configure_follows_it() -> None:
    log = structlog.get_logger("jobs.early")
    stream = configure()

    log.info("late_binding")

    assert json_lines(stream)[0]["logger"] == "jobs.early"


def test_unknown_level_rejected() -> None:
    with pytest.raises(ValueError, match="unknown log level 'LOUD'"):
        configure_logging(level="LOUD", stream=io.StringIO())


# --- Redaction ----------------------------------------------------------------------


def test_sensitive_keys_redacted_at_any_depth() -> None:
    stream = configure()

    structlog.get_logger().info(
        "request_sent",
        headers={"Authorization": "Basic abc", "Accept": "application/json"},
        responses=[{"access_token": "t1", "expires_in": 3599}],
        pair=({"refreshToken": "t2"},),
        client_secret="s",
        form={"X-Client-Secret": "s", "password": "p", "token_url": "https://zoom.us"},
    )

    line = json_lines(stream)[0]
    assert line["headers"] == {"Authorization": REDACTED, "Accept": "application/json"}
    assert line["responses"] == [{"access_token": REDACTED, "expires_in": 3599}]
    assert line["pair"] == [{"refreshToken": REDACTED}]
    assert line["client_secret"] == REDACTED
    assert line["form"]["X-Client-Secret"] == REDACTED
    assert line["form"]["password"] == REDACTED
    assert line["form"]["token_url"] == "https://zoom.us"


def test_bearer_in_message_redacted() -> None:
    stream = configure()
    token = new_secret()

    structlog.get_logger().warning(f"sent Authorization: Bearer {token} to Zoom")
    structlog.get_logger().warning("retry", detail=f"bearer {token}")

    lines = json_lines(stream)
    assert lines[0]["event"] == f"sent Authorization: Bearer {REDACTED} to Zoom"
    assert lines[1]["detail"] == f"bearer {REDACTED}"
    assert token not in stream.getvalue()


def test_basic_and_form_credentials_redacted() -> None:
    stream = configure()

    logging.getLogger("jobs.http").warning(
        "token request: Basic %s body client_secret=%s&grant_type=account_credentials",
        "Y2xpZW50OnNlY3JldA==",
        "abc123",
    )

    event = json_lines(stream)[0]["event"]
    assert "Y2xpZW50OnNlY3JldA==" not in event
    assert "abc123" not in event
    assert f"client_secret={REDACTED}&grant_type=account_credentials" in event


def test_registered_secret_in_stdlib_message() -> None:
    stream = configure()
    token = new_secret()
    add_secret(token)
    structlog.contextvars.bind_contextvars(run_id="run-7")

    pool_logger = logging.getLogger("urllib3.connectionpool")
    pool_logger.warning("GET /v2/users?x=%s failed", token)

    line = json_lines(stream)[0]
    assert line["event"] == f"GET /v2/users?x={REDACTED} failed"
    assert line["run_id"] == "run-7"
    assert token not in stream.getvalue()


def test_registered_secret_in_values_and_objects() -> None:
    stream = configure()
    token = new_secret()
    add_secret(token)

    error = ValueError(f"bad {token}")
    structlog.get_logger().error("failed", error=error, ids=[token])

    line = json_lines(stream)[0]
    assert line["error"] == f"ValueError('bad {REDACTED}')"
    assert line["ids"] == [REDACTED]
    assert token not in stream.getvalue()


def test_short_secret_ignored() -> None:
    stream = configure()
    add_secret("short")

    structlog.get_logger().info("short words stay")

    assert json_lines(stream)[0]["event"] == "short words stay"


def test_secret_registry_keeps_first_values() -> None:
    registry = logs._SecretRegistry()
    registry.pinned_capacity = 1
    registry.recent_capacity = 2
    client_secret, *tokens = [new_secret() for _ in range(4)]

    for value in (client_secret, *tokens):
        registry.add(value)

    assert registry.scrub(client_secret) == REDACTED
    assert registry.scrub(tokens[0]) == tokens[0]
    assert registry.scrub(tokens[1]) == REDACTED
    assert registry.scrub(tokens[2]) == REDACTED


# --- Exceptions ---------------------------------------------------------------------


def test_exception_local_token_not_leaked() -> None:
    stream = configure()
    token = new_secret()
    add_secret(token)

    try:
        raise_with_local(token)
    except RuntimeError:
        structlog.get_logger().exception("job_failed")

    output = stream.getvalue()
    line = json_lines(stream)[0]
    assert line["exception"][0]["exc_type"] == "RuntimeError"
    assert line["exception"][0]["exc_value"] == "request failed"
    assert token not in output


def test_exception_has_no_locals() -> None:
    stream = configure()
    unregistered = "local-" + secrets.token_hex(8)

    try:
        raise_with_local(unregistered)
    except RuntimeError:
        structlog.get_logger().exception("job_failed")

    frames = json_lines(stream)[0]["exception"][0]["frames"]
    assert [frame["name"] for frame in frames][-1] == "raise_with_local"
    assert all("locals" not in frame for frame in frames)
    assert unregistered not in stream.getvalue()


def test_stdlib_exception_has_no_locals() -> None:
    stream = configure()
    unregistered = "local-" + secrets.token_hex(8)

    try:
        raise_with_local(unregistered)
    except RuntimeError:
        logging.getLogger("apscheduler.executors.default").exception("Job raised")

    line = json_lines(stream)[0]
    assert line["level"] == "error"
    assert line["exception"][0]["exc_type"] == "RuntimeError"
    assert unregistered not in stream.getvalue()


def test_exception_message_redacted() -> None:
    stream = configure()
    token = new_secret()
    add_secret(token)

    try:
        raise ConnectionError(f"reset while sending Bearer {token}")
    except ConnectionError:
        logging.getLogger("jobs.runner").exception("request_failed")

    exc_value = json_lines(stream)[0]["exception"][0]["exc_value"]
    assert exc_value == f"reset while sending Bearer {REDACTED}"
    assert token not in stream.getvalue()


# --- Console format -------------------------------------------------------------------


def test_console_output_is_text_and_redacted() -> None:
    stream = configure(json_output=False)
    token = new_secret()
    add_secret(token)
    unregistered = "local-" + secrets.token_hex(8)
    structlog.contextvars.bind_contextvars(run_id="run-9")

    structlog.get_logger().info("token_renewed", access_token="t", note=token)
    logging.getLogger("urllib3.connectionpool").warning("sent Bearer %s", token)
    try:
        raise_with_local(unregistered)
    except RuntimeError:
        structlog.get_logger().exception("job_failed")
    try:
        raise ConnectionError(f"reset after {token}")
    except ConnectionError:
        logging.getLogger("jobs.runner").exception("request_failed")

    output = stream.getvalue()
    with pytest.raises(json.JSONDecodeError):
        json.loads(output.splitlines()[0])
    assert "token_renewed" in output
    assert "run_id=run-9" in output
    assert f"access_token={REDACTED}" in output
    assert f"Bearer {REDACTED}" in output
    assert "Traceback (most recent call last)" in output
    assert "RuntimeError: request failed" in output
    assert f"ConnectionError: reset after {REDACTED}" in output
    assert token not in output
    assert unregistered not in output
    assert "\x1b[" not in output
