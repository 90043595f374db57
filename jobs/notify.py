"""The systemd notification protocol (sd_notify), with the standard library only.

A service started with ``Type=notify`` reports its state by sending datagrams
such as ``READY=1`` or ``WATCHDOG=1`` to the AF_UNIX socket named in
``$NOTIFY_SOCKET``, as described in sd_notify(3). Outside systemd the variable
is unset and every call here does nothing. A failed send is logged, as a
warning the first time, and never raised, because a lost notification must
not stop the daemon.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Mapping

import structlog

log = structlog.get_logger(__name__)

NOTIFY_SOCKET_VAR = "NOTIFY_SOCKET"
WATCHDOG_USEC_VAR = "WATCHDOG_USEC"
WATCHDOG_PID_VAR = "WATCHDOG_PID"

STATUS_MAX_LENGTH = 512
"""Longest STATUS= text, in characters. Longer text is cut.

systemd reads at most PIPE_BUF (4096) bytes of one notification
(NOTIFY_BUFFER_MAX in its source). 512 characters take at most 2048 bytes in
UTF-8, which leaves room for the other assignments.
"""


class Notifier:
    """Sender of sd_notify messages to the socket in ``$NOTIFY_SOCKET``.

    Sends are serialised by a lock, so threads may share one notifier. The
    socket is opened on the first send and reopened after :meth:`close`.

    Args:
        env: environment variables to read: ``NOTIFY_SOCKET``, ``WATCHDOG_USEC``
            and ``WATCHDOG_PID``.

    Attributes:
        enabled: whether ``NOTIFY_SOCKET`` names a socket that messages go to.
            An absolute path or an abstract name starting with "@" qualifies.
            A relative path or another address type, such as ``vsock:``, is
            ignored with one warning.
        watchdog_interval: seconds between ``WATCHDOG=1`` messages, half of
            ``WATCHDOG_USEC``. None when the notifier is disabled, when
            ``WATCHDOG_USEC`` is unset or invalid, or when ``WATCHDOG_PID``
            names another process.
        send_timeout: seconds a send may block on a full socket queue before
            it fails.
    """

    send_timeout: float = 2.0

    def __init__(self, env: Mapping[str, str] = os.environ) -> None:
        self._address = _socket_address(env.get(NOTIFY_SOCKET_VAR, ""))
        self.enabled: bool = self._address is not None
        self.watchdog_interval: float | None = None
        if self.enabled:
            self.watchdog_interval = _watchdog_interval(env)
        self._socket: socket.socket | None = None
        self._lock = threading.Lock()
        self._failures = 0

    def notify(self, *messages: str) -> bool:
        """Send ``KEY=VALUE`` assignments to systemd in one datagram.

        Args:
            messages: assignments such as ``"READY=1"``, one line each.

        Returns:
            True when the datagram was sent. False when the notifier is
            disabled or the send failed. The first failure is logged as a
            warning and later ones at debug level, with a running count.
        """
        if self._address is None or not messages:
            return False
        datagram = "\n".join(messages).encode("utf-8", errors="replace")
        with self._lock:
            try:
                sock = self._open()
                sock.sendto(datagram, self._address)
            except OSError as exc:  # TimeoutError is an OSError too.
                self._log_failure(exc)
                return False
        return True

    def ready(self) -> bool:
        """Tell systemd that start-up finished: ``READY=1`` with a status text."""
        return self.notify("READY=1", "STATUS=Running")

    def stopping(self) -> bool:
        """Tell systemd that the service is shutting down: ``STOPPING=1``."""
        return self.notify("STOPPING=1", "STATUS=Stopping")

    def watchdog(self) -> bool:
        """Reset systemd's watchdog timer: ``WATCHDOG=1``."""
        return self.notify("WATCHDOG=1")

    def status(self, text: str) -> bool:
        """Set the status line that ``systemctl status`` shows: ``STATUS=text``.

        Line breaks become spaces, because each line of a datagram is a
        separate assignment. Text longer than :data:`STATUS_MAX_LENGTH`
        characters is cut.
        """
        line = " ".join(text.splitlines())[:STATUS_MAX_LENGTH]
        return self.notify(f"STATUS={line}")

    def close(self) -> None:
        """Close the socket. A later message opens a new one."""
        with self._lock:
            if self._socket is not None:
                self._socket.close()
                self._socket = None

    def _open(self) -> socket.socket:
        if self._socket is None:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            sock.settimeout(self.send_timeout)
            self._socket = sock
        return self._socket

    def _log_failure(self, exc: OSError) -> None:
        self._failures += 1
        fields = {
            "socket": _describe_address(self._address),
            "error": str(exc) or type(exc).__name__,
            "failures": self._failures,
        }
        if self._failures == 1:
            log.warning("sd_notify_failed", **fields)
        else:
            log.debug("sd_notify_failed", **fields)


def _socket_address(value: str) -> str | None:
    """Return the socket address for ``$NOTIFY_SOCKET``, or None if unusable."""
    if not value:
        return None
    if value.startswith("/"):
        return value
    if value.startswith("@") and len(value) > 1:
        # Linux abstract namespace: the name starts with a NUL byte.
        return "\0" + value[1:]
    log.warning(
        "notify_socket_unsupported",
        notify_socket=value,
        reason="neither an absolute path nor an @abstract socket name, "
        "so no notification is sent",
    )
    return None


def _watchdog_interval(env: Mapping[str, str]) -> float | None:
    """Return half of ``$WATCHDOG_USEC`` in seconds, or None if no watchdog applies."""
    usec_text = env.get(WATCHDOG_USEC_VAR, "")
    if not usec_text:
        return None
    pid_text = env.get(WATCHDOG_PID_VAR, "")
    if pid_text and _parse_int(pid_text) != os.getpid():
        # The watchdog belongs to another process, such as the parent that
        # started this one with its environment.
        return None
    usec = _parse_int(usec_text)
    if usec is None or usec <= 0:
        log.warning(
            "watchdog_usec_invalid",
            watchdog_usec=usec_text,
            reason="not a positive whole number of microseconds, so no "
            "WATCHDOG=1 message is sent",
        )
        return None
    return usec / 2_000_000


def _parse_int(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


def _describe_address(address: str | None) -> str:
    if address is not None and address.startswith("\0"):
        return "@" + address[1:]
    return str(address)
