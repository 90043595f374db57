"""Zoom's rate limits per plan and category: counted, reported and optionally enforced.

Zoom limits requests per account, per rate-limit category and per plan. Every
category has a per-second limit (Resource-intensive: per minute). Free accounts
also have a daily limit per category. Pro and Business+ accounts have one daily
limit that Heavy and Resource-intensive share. Daily counts reset at 00:00 UTC.

Windows are fixed: a per-second window starts at each whole second of the
emulated time, so a client may send up to twice the limit within one second that
straddles a window start.

NOTE: Whether Zoom's own windows are fixed or sliding is not known here, so a
client that passes against this emulator may still get some 429s from Zoom.

``speedup`` compresses time for rate limiting only. The emulated time is the
clock's epoch seconds multiplied by ``speedup``, and every window and every UTC
day is measured on it. A window therefore lasts ``window / speedup`` clock
seconds, and the number of requests allowed per clock second is the limit
multiplied by ``speedup``. The limit of each window, and the figures in the
X-RateLimit-Limit headers, stay Zoom's. Daily counts reset at the clock
instants that are multiples of ``86400 / speedup`` seconds since the epoch,
which a daily 429 sends as its ISO-8601 Retry-After. A per-second 429 sends
the whole clock seconds until its window ends, at least 1, so with a speedup
above 1 it still sends ``Retry-After: 1`` although the window reopens sooner.
Token and page-token expiry, latency and
the generated account do not change with ``speedup``.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from zoom_fake.base import HEAVY, LIGHT, MEDIUM, RESOURCE_INTENSIVE, ApiError

CATEGORIES = (LIGHT, MEDIUM, HEAVY, RESOURCE_INTENSIVE)
SECOND = 1.0
MINUTE = 60.0
DAY = 86_400.0

QPS_MESSAGE = (
    "You have reached the maximum per-second rate limit for this API. Try again later."
)
DAILY_MESSAGE = (
    "You have reached the maximum daily rate limit for this API. Refer to the "
    "response header for details on when you can make another request."
)


@dataclass(frozen=True)
class WindowLimit:
    """A limit on the requests counted in one fixed window.

    Attributes:
        limit: Requests allowed per window.
        window: Window length in seconds of emulated time.
    """

    limit: int
    window: float


@dataclass(frozen=True)
class DailyLimit:
    """A limit on the requests of one or more categories per UTC day.

    Attributes:
        pool: Name of the count. Categories with the same pool share it.
        limit: Requests allowed per UTC day.
    """

    pool: str
    limit: int


# Zoom's figures per plan. The "business" plan covers Business, Education,
# Enterprise and Partners accounts.
QPS_LIMITS: dict[str, dict[str, WindowLimit]] = {
    "free": {
        LIGHT: WindowLimit(4, SECOND),
        MEDIUM: WindowLimit(2, SECOND),
        HEAVY: WindowLimit(1, SECOND),
        RESOURCE_INTENSIVE: WindowLimit(10, MINUTE),
    },
    "pro": {
        LIGHT: WindowLimit(30, SECOND),
        MEDIUM: WindowLimit(20, SECOND),
        HEAVY: WindowLimit(10, SECOND),
        RESOURCE_INTENSIVE: WindowLimit(10, MINUTE),
    },
    "business": {
        LIGHT: WindowLimit(80, SECOND),
        MEDIUM: WindowLimit(60, SECOND),
        HEAVY: WindowLimit(40, SECOND),
        RESOURCE_INTENSIVE: WindowLimit(20, MINUTE),
    },
}

_SHARED_POOL = f"{HEAVY}+{RESOURCE_INTENSIVE}"
DAILY_LIMITS: dict[str, dict[str, DailyLimit]] = {
    "free": {
        LIGHT: DailyLimit(LIGHT, 6_000),
        MEDIUM: DailyLimit(MEDIUM, 2_000),
        HEAVY: DailyLimit(HEAVY, 1_000),
        RESOURCE_INTENSIVE: DailyLimit(RESOURCE_INTENSIVE, 30_000),
    },
    "pro": {
        HEAVY: DailyLimit(_SHARED_POOL, 30_000),
        RESOURCE_INTENSIVE: DailyLimit(_SHARED_POOL, 30_000),
    },
    "business": {
        HEAVY: DailyLimit(_SHARED_POOL, 60_000),
        RESOURCE_INTENSIVE: DailyLimit(_SHARED_POOL, 60_000),
    },
}


@dataclass(frozen=True)
class RateStats:
    """Counts of the API requests in one rate-limit category.

    Attributes:
        requests: Requests counted, the rejected ones included. Requests with a
            missing or invalid token are not counted.
        rejected_qps: Requests rejected with 429 for the per-second limit (per
            minute for Resource-intensive).
        rejected_daily: Requests rejected with 429 for the daily limit.
    """

    requests: int = 0
    rejected_qps: int = 0
    rejected_daily: int = 0

    @property
    def rejected(self) -> int:
        """Requests rejected with 429 for either limit."""
        return self.rejected_qps + self.rejected_daily


@dataclass
class _Count:
    """Requests counted in the window or day with this index."""

    index: int
    count: int = 0


class RateLimiter:
    """Counts requests per category and plan, and rejects those over a limit.

    Args:
        plan: "free", "pro" or "business".
        enforce: Whether requests over a limit get a 429 response. Without it
            every request passes and the daily limits are not counted.
        speedup: Factor by which emulated time runs faster than ``clock``; see
            the module docstring.
        clock: Seconds since the epoch. Windows and UTC days are taken from it.

    Raises:
        ValueError: The plan is unknown or ``speedup`` is not a positive number.
    """

    def __init__(
        self,
        plan: str,
        *,
        enforce: bool,
        speedup: float = 1.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if plan not in QPS_LIMITS:
            message = f"plan must be one of {', '.join(QPS_LIMITS)}; got {plan!r}"
            raise ValueError(message)
        check_speedup(speedup)
        self.plan = plan
        self.enforce = enforce
        self.speedup = speedup
        self._clock = clock
        self._lock = threading.Lock()
        self._windows: dict[str, _Count] = {}
        self._days: dict[str, _Count] = {}
        self._stats = {category: RateStats() for category in CATEGORIES}

    def admit(self, category: str) -> dict[str, str]:
        """Count one request and return its rate-limit headers.

        Raises:
            ApiError: 429 with Zoom's body and headers when limits are enforced
                and the category's daily or per-second budget is used up. A
                rejected request uses up neither budget.
        """
        return self._take(category, reject=self.enforce)

    def count(self, category: str) -> dict[str, str]:
        """Count one request whose response is scripted, never rejecting it."""
        return self._take(category, reject=False)

    def peek(self, category: str) -> dict[str, str]:
        """Return the rate-limit headers of a category without counting a request."""
        emulated = self._emulated_now()
        with self._lock:
            window = self._window(category, emulated)
            day = self._day(category, emulated)
            return self._headers(category, window, day)

    def stats(self) -> dict[str, RateStats]:
        """Return a snapshot of the counts of every category."""
        with self._lock:
            return dict(self._stats)

    def _take(self, category: str, *, reject: bool) -> dict[str, str]:
        emulated = self._emulated_now()
        qps = QPS_LIMITS[self.plan][category]
        daily = self._daily_limit(category)
        with self._lock:
            stats = self._stats[category]
            window = self._window(category, emulated)
            day = self._day(category, emulated)
            if reject and daily is not None and day is not None:
                if day.count >= daily.limit:
                    self._stats[category] = _added(stats, daily=1)
                    raise self._daily_error(category, daily, day)
            if reject and window.count >= qps.limit:
                self._stats[category] = _added(stats, qps=1)
                raise self._qps_error(category, qps, window, emulated)
            self._stats[category] = _added(stats)
            window.count += 1
            if day is not None:
                day.count += 1
            return self._headers(category, window, day)

    def _emulated_now(self) -> float:
        return self._clock() * self.speedup

    def _daily_limit(self, category: str) -> DailyLimit | None:
        if not self.enforce:
            return None
        return DAILY_LIMITS[self.plan].get(category)

    def _window(self, category: str, emulated: float) -> _Count:
        """Return the count of the category's current window, replacing a past one."""
        index = int(emulated // QPS_LIMITS[self.plan][category].window)
        current = self._windows.get(category)
        if current is None or current.index != index:
            current = self._windows[category] = _Count(index)
        return current

    def _day(self, category: str, emulated: float) -> _Count | None:
        """Return the count of the current UTC day of the category's daily pool."""
        daily = self._daily_limit(category)
        if daily is None:
            return None
        index = int(emulated // DAY)
        current = self._days.get(daily.pool)
        if current is None or current.index != index:
            current = self._days[daily.pool] = _Count(index)
        return current

    def _headers(
        self, category: str, window: _Count, day: _Count | None
    ) -> dict[str, str]:
        """Return Limit and Remaining of the budget that binds.

        The per-second budget binds unless the daily one has fewer requests
        left or none.
        """
        limit = QPS_LIMITS[self.plan][category].limit
        remaining = max(limit - window.count, 0)
        daily = self._daily_limit(category)
        if daily is not None and day is not None:
            daily_remaining = max(daily.limit - day.count, 0)
            if daily_remaining < remaining or daily_remaining == 0:
                limit, remaining = daily.limit, daily_remaining
        return {
            "X-RateLimit-Category": category,
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": str(remaining),
        }

    def _qps_error(
        self, category: str, qps: WindowLimit, window: _Count, emulated: float
    ) -> ApiError:
        window_end = (window.index + 1) * qps.window
        wait = (window_end - emulated) / self.speedup
        headers = {
            "X-RateLimit-Category": category,
            "X-RateLimit-Type": "QPS",
            "X-RateLimit-Limit": str(qps.limit),
            "X-RateLimit-Remaining": "0",
            # Whole seconds until the window ends, at least 1. That is 1 for
            # every per-second window unless speedup is below 1.
            "Retry-After": str(max(math.ceil(wait), 1)),
        }
        return ApiError(429, 429, QPS_MESSAGE, headers=headers)

    def _daily_error(self, category: str, daily: DailyLimit, day: _Count) -> ApiError:
        headers = {
            "X-RateLimit-Category": category,
            "X-RateLimit-Type": "Daily-limit",
            "X-RateLimit-Limit": str(daily.limit),
            "X-RateLimit-Remaining": "0",
            "Retry-After": self._day_end(day),
        }
        return ApiError(429, 429, DAILY_MESSAGE, headers=headers)

    def _day_end(self, day: _Count) -> str:
        """Return when the emulated day ends, on the clock, as ISO-8601 UTC.

        With a speedup of 1 this is the next 00:00 UTC.
        """
        seconds = math.ceil((day.index + 1) * DAY / self.speedup)
        moment = datetime.fromtimestamp(seconds, UTC)
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def check_speedup(speedup: float) -> None:
    """Reject a speedup that is not a finite number above 0.

    Raises:
        ValueError: With the bad value and the accepted range.
    """
    if not (isinstance(speedup, (int, float)) and math.isfinite(speedup)):
        message = f"speedup must be a finite number above 0, e.g. 1.0; got {speedup!r}"
        raise ValueError(message)
    if speedup <= 0:
        message = f"speedup must be above 0 (1.0 keeps Zoom's timing); got {speedup!r}"
        raise ValueError(message)


def _added(stats: RateStats, *, qps: int = 0, daily: int = 0) -> RateStats:
    """Return ``stats`` with one more request and the given rejections added."""
    return RateStats(
        requests=stats.requests + 1,
        rejected_qps=stats.rejected_qps + qps,
        rejected_daily=stats.rejected_daily + daily,
    )
