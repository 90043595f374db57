"""Scripted failures: replaced responses, connection resets and delayed responses."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field

from zoom_fake.base import Body


@dataclass(frozen=True)
class Fault:
    """A failure the emulator injects into matching requests.

    Attributes:
        path: Regular expression that must match the whole raw request path
            (``re.fullmatch``, query string excluded), e.g. ``r"/v2/users"``.
        method: HTTP method to match; None matches every method.
        nth: The first matching request (1-based) the fault applies to.
        times: How many consecutive matching requests it applies to, starting
            with the nth; None applies it to every one from the nth on.
        status: Status of the replacement response. None keeps the normal
            response (after ``delay``) and only adds ``headers`` to it.
        body: Replacement body: a dict or list is sent as JSON, a str as UTF-8
            text, bytes as they are, None as an empty body.
        headers: Headers added to the response, replacing ones of the same name.
        reset: Close the connection with a TCP reset and send nothing.
        delay: Seconds to wait before responding, e.g. to trigger client read
            timeouts.
    """

    path: str
    method: str | None = "GET"
    nth: int = 1
    times: int | None = 1
    status: int | None = 500
    body: Body = None
    headers: Mapping[str, str] = field(default_factory=dict)
    reset: bool = False
    delay: float = 0.0

    def __post_init__(self) -> None:
        try:
            re.compile(self.path)
        except re.error as error:
            message = f"Fault path {self.path!r} is not a valid regular expression: "
            raise ValueError(message + str(error)) from None
        if self.nth < 1:
            message = f"Fault nth must be 1 or more (1 = first match); got {self.nth}"
            raise ValueError(message)
        if self.times is not None and self.times < 1:
            message = f"Fault times must be 1 or more, or None; got {self.times}"
            raise ValueError(message)
        if self.delay < 0:
            message = f"Fault delay must be 0 or more seconds; got {self.delay}"
            raise ValueError(message)
        if not isinstance(self.body, (dict, list, str, bytes, type(None))):
            message = (
                "Fault body must be a dict, list, str, bytes or None; "
                f"got {type(self.body).__name__}"
            )
            raise TypeError(message)
        if isinstance(self.body, (dict, list)):
            try:
                json.dumps(self.body)
            except (TypeError, ValueError) as error:
                message = f"Fault body cannot be sent as JSON: {error}"
                raise TypeError(message) from None

    def matches(self, method: str, path: str) -> bool:
        """Tell whether a request with this method and raw path matches."""
        if self.method is not None and self.method.upper() != method.upper():
            return False
        return re.fullmatch(self.path, path) is not None


@dataclass
class _ArmedFault:
    fault: Fault
    seen: int = 0

    def fires(self) -> bool:
        first = self.fault.nth
        times = self.fault.times
        return self.seen >= first and (times is None or self.seen < first + times)


class FaultBook:
    """The faults of one emulator and how many requests each has matched."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._armed: list[_ArmedFault] = []

    def add(self, fault: Fault) -> None:
        """Arm a fault; its count of matching requests starts at zero."""
        with self._lock:
            self._armed.append(_ArmedFault(fault))

    def clear(self) -> None:
        """Remove every fault."""
        with self._lock:
            self._armed.clear()

    def take(self, method: str, path: str) -> Fault | None:
        """Count a request against every matching fault and return the one to apply.

        When several faults fire for one request, the one added first applies.
        """
        chosen: Fault | None = None
        with self._lock:
            for armed in self._armed:
                if not armed.fault.matches(method, path):
                    continue
                armed.seen += 1
                if chosen is None and armed.fires():
                    chosen = armed.fault
        return chosen
