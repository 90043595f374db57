"""Zoom's rate-limit headers, with counts kept per category.

The limits are Zoom's per-second figures for Business and higher plans
(Resource-intensive: per minute). Nothing is enforced yet: every response
carries X-RateLimit-Category, X-RateLimit-Limit and X-RateLimit-Remaining, and
Remaining counts down within the current window.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from zoom_fake.base import HEAVY, LIGHT, MEDIUM, RESOURCE_INTENSIVE

# Requests per window, and the window in seconds.
LIMITS: dict[str, tuple[int, float]] = {
    LIGHT: (80, 1.0),
    MEDIUM: (60, 1.0),
    HEAVY: (40, 1.0),
    RESOURCE_INTENSIVE: (20, 60.0),
}


class RateMeter:
    """Counts requests per rate-limit category in fixed windows.

    Args:
        monotonic: Clock for the windows, in seconds.
    """

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._windows: dict[str, tuple[int, int]] = {}

    def headers(self, category: str) -> dict[str, str]:
        """Count one request in ``category`` and return its rate-limit headers."""
        limit, window = LIMITS[category]
        current = int(self._monotonic() // window)
        with self._lock:
            started, count = self._windows.get(category, (current, 0))
            count = count + 1 if started == current else 1
            self._windows[category] = (current, count)
        return {
            "X-RateLimit-Category": category,
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": str(max(limit - count, 0)),
        }
