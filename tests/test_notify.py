"""Tests for jobs.notify against real AF_UNIX datagram sockets."""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from jobs.notify import STATUS_MAX_LENGTH, Notifier

# Seconds a receiving socket waits for a datagram before the test fails.
RECEIVE_TIMEOUT = 5.0


def bind_receiver(address: str) -> socket.socket:
    """Bind a datagram socket that plays systemd's side of the protocol."""
    receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    receiver.bind(address)
    receiver.settimeout(RECEIVE_TIMEOUT)
    return receiver


def receive_lines(receiver: socket.socket) -> list[str]:
    """Receive one datagram and split it into its assignments."""
    return receiver.recv(65536).decode("utf-8").split("\n")


def assert_queue_empty(receiver: socket.socket) -> None:
    receiver.setblocking(False)
    with pytest.raises(BlockingIOError):
        receiver.recv(65536)
    receiver.settimeout(RECEIVE_TIMEOUT)


@pytest.fixture
def socket_path(tmp_path: Path) -> str:
    path = str(tmp_path / "notify.sock")
    # sun_path has room for 108 bytes, including the final NUL.
    assert len(path.encode()) < 108, f"temporary path too long for AF_UNIX: {path}"
    return path


@pytest.fixture
def receiver(socket_path: str) -> Iterator[socket.socket]:
    sock = bind_receiver(socket_path)
    yield sock
    sock.close()


@pytest.fixture
def notifier(socket_path: str, receiver: socket.socket) -> Iterator[Notifier]:
    sender = Notifier({"NOTIFY_SOCKET": socket_path})
    yield sender
    sender.close()


# --- Messages -----------------------------------------------------------------


def test_ready_sends_ready_and_status(
    notifier: Notifier, receiver: socket.socket
) -> None:
    assert notifier.enabled is True
    assert notifier.ready() is True

    lines = receive_lines(receiver)
    assert lines[0] == "READY=1"
    assert lines[1] == "STATUS=Running"
    assert len(lines) == 2


def test_notify_sends_one_datagram(notifier: Notifier, receiver: socket.socket) -> None:
    assert notifier.notify("A=1", "B=2") is True

    assert receiver.recv(65536) == b"A=1\nB=2"
    assert_queue_empty(receiver)


def test_notify_without_messages_sends_nothing(
    notifier: Notifier, receiver: socket.socket
) -> None:
    assert notifier.notify() is False
    assert_queue_empty(receiver)


@pytest.mark.parametrize(
    ("method", "expected"),
    [
        ("stopping", ["STOPPING=1", "STATUS=Stopping"]),
        ("watchdog", ["WATCHDOG=1"]),
    ],
    ids=["stopping", "watchdog"],
)
def test_state_messages(
    notifier: Notifier, receiver: socket.socket, method: str, expected: list[str]
) -> None:
    assert getattr(notifier, method)() is True
    assert receive_lines(receiver) == expected


def test_status_sends_text(notifier: Notifier, receiver: socket.socket) -> None:
    assert notifier.status("users: 40 rows") is True
    assert receive_lines(receiver) == ["STATUS=users: 40 rows"]


def test_status_joins_lines(notifier: Notifier, receiver: socket.socket) -> None:
    """A line break in the text must not start a second assignment."""
    assert notifier.status("job failed\nREADY=1") is True

    lines = receive_lines(receiver)
    assert lines == ["STATUS=job failed READY=1"]


def test_status_cuts_long_text(notifier: Notifier, receiver: socket.socket) -> None:
    assert notifier.status("x" * (STATUS_MAX_LENGTH + 100)) is True

    (line,) = receive_lines(receiver)
    assert line == "STATUS=" + "x" * STATUS_MAX_LENGTH


def test_abstract_socket_name() -> None:
    name = "zoom-etl-test-" + secrets.token_hex(8)
    receiver = bind_receiver("\0" + name)
    sender = Notifier({"NOTIFY_SOCKET": "@" + name})
    try:
        assert sender.enabled is True
        assert sender.ready() is True
        assert receive_lines(receiver) == ["READY=1", "STATUS=Running"]
    finally:
        sender.close()
        receiver.close()


def test_close_then_send_reopens(notifier: Notifier, receiver: socket.socket) -> None:
    notifier.close()
    notifier.close()  # A second close does nothing.

    assert notifier.watchdog() is True
    assert receive_lines(receiver) == ["WATCHDOG=1"]


# --- Not under systemd --------------------------------------------------------


def test_no_socket_is_noop() -> None:
    sender = Notifier({"WATCHDOG_USEC": "300000000"})

    assert sender.enabled is False
    assert sender.watchdog_interval is None
    assert sender.ready() is False
    assert sender.watchdog() is False
    assert sender.status("idle") is False
    assert sender.stopping() is False
    assert sender.notify("A=1") is False
    sender.close()


def test_empty_socket_variable_is_noop() -> None:
    with capture_logs() as events:
        sender = Notifier({"NOTIFY_SOCKET": ""})
        assert sender.ready() is False

    assert sender.enabled is False
    assert events == []


def test_default_env_is_process_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert Notifier().enabled is False


@pytest.mark.parametrize(
    "value",
    ["run/systemd/notify", "vsock:2:1234", "@"],
    ids=["relative", "vsock", "empty-abstract"],
)
def test_unsupported_socket_warns_once(value: str) -> None:
    with capture_logs() as events:
        sender = Notifier({"NOTIFY_SOCKET": value})
        assert sender.ready() is False
        assert sender.watchdog() is False

    assert sender.enabled is False
    assert len(events) == 1
    assert events[0]["event"] == "notify_socket_unsupported"
    assert events[0]["log_level"] == "warning"
    assert events[0]["notify_socket"] == value


# --- Send failures ------------------------------------------------------------


def test_missing_socket_does_not_raise(tmp_path: Path) -> None:
    path = str(tmp_path / "missing.sock")
    sender = Notifier({"NOTIFY_SOCKET": path})

    with capture_logs() as events:
        assert sender.ready() is False
        assert sender.watchdog() is False
    sender.close()

    assert sender.enabled is True
    levels = [(e["event"], e["log_level"]) for e in events]
    assert levels == [
        ("sd_notify_failed", "warning"),
        ("sd_notify_failed", "debug"),
    ]
    assert events[0]["socket"] == path
    assert events[1]["failures"] == 2


def test_closed_receiver_does_not_raise(socket_path: str) -> None:
    """A socket file whose owner is gone refuses the datagram."""
    bind_receiver(socket_path).close()
    sender = Notifier({"NOTIFY_SOCKET": socket_path})

    with capture_logs() as events:
        assert sender.ready() is False
    sender.close()

    assert [e["event"] for e in events] == ["sd_notify_failed"]


def test_send_recovers_after_failure(socket_path: str) -> None:
    sender = Notifier({"NOTIFY_SOCKET": socket_path})
    with capture_logs():
        assert sender.watchdog() is False

    receiver = bind_receiver(socket_path)
    try:
        assert sender.watchdog() is True
        assert receive_lines(receiver) == ["WATCHDOG=1"]
    finally:
        sender.close()
        receiver.close()


def test_full_queue_send_times_out(notifier: Notifier, receiver: socket.socket) -> None:
    """A receiver that stops reading makes sends fail after send_timeout."""
    notifier.send_timeout = 0.05
    results: list[bool] = []
    with capture_logs() as events:
        # Linux queues net.unix.max_dgram_qlen datagrams (default 10) per
        # receiver; 10000 sends are far more than any setting in use.
        for _ in range(10000):
            results.append(notifier.watchdog())
            if not results[-1]:
                break

    assert results[0] is True
    assert results[-1] is False
    assert events[0]["event"] == "sd_notify_failed"
    assert receive_lines(receiver) == ["WATCHDOG=1"]


# --- Watchdog -----------------------------------------------------------------


def test_watchdog_interval_is_half(socket_path: str) -> None:
    sender = Notifier({"NOTIFY_SOCKET": socket_path, "WATCHDOG_USEC": "300000000"})
    assert sender.watchdog_interval == 150.0


def test_watchdog_interval_sub_second(socket_path: str) -> None:
    sender = Notifier({"NOTIFY_SOCKET": socket_path, "WATCHDOG_USEC": "500000"})
    assert sender.watchdog_interval == 0.25


def test_watchdog_pid_of_this_process(socket_path: str) -> None:
    env = {
        "NOTIFY_SOCKET": socket_path,
        "WATCHDOG_USEC": "10000000",
        "WATCHDOG_PID": str(os.getpid()),
    }
    assert Notifier(env).watchdog_interval == 5.0


@pytest.mark.parametrize(
    "pid",
    [str(os.getppid()), str(os.getpid() + 1), "not-a-pid"],
    ids=["parent", "other", "invalid"],
)
def test_watchdog_pid_of_other_process(socket_path: str, pid: str) -> None:
    env = {
        "NOTIFY_SOCKET": socket_path,
        "WATCHDOG_USEC": "10000000",
        "WATCHDOG_PID": pid,
    }
    assert Notifier(env).watchdog_interval is None


def test_watchdog_unset(socket_path: str) -> None:
    assert Notifier({"NOTIFY_SOCKET": socket_path}).watchdog_interval is None


@pytest.mark.parametrize("usec", ["0", "-5", "5min", "1.5"])
def test_watchdog_usec_invalid(socket_path: str, usec: str) -> None:
    with capture_logs() as events:
        sender = Notifier({"NOTIFY_SOCKET": socket_path, "WATCHDOG_USEC": usec})

    assert sender.watchdog_interval is None
    assert [e["event"] for e in events] == ["watchdog_usec_invalid"]
    assert events[0]["watchdog_usec"] == usec
