"""Client-side pacing of requests per Zoom rate-limit category.

Zoom limits requests per account, per category (Light, Medium, Heavy,
Resource-intensive) and per plan. Pacing each category below its limit keeps
a sync close to the allowed rate without provoking 429 responses. Other apps
share the account's limits, so only ``rate_share`` of each limit is used.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

import structlog

log = structlog.get_logger(__name__)

# Requests per second Zoom allows per category, by plan. Resource-intensive
# limits are per minute: 10 on Free and Pro, 20 on Business and higher.
PLAN_LIMITS: dict[str, dict[str, float]] = {
    "free": {"Light": 4, "Medium": 2, "Heavy": 1, "Resource-intensive": 10 / 60},
    "pro": {"Light": 30, "Medium": 20, "Heavy": 10, "Resource-intensive": 10 / 60},
    "business": {
        "Light": 80,
        "Medium": 60,
        "Heavy": 40,
        "Resource-intensive": 20 / 60,
    },
}

# Seconds of the window each category's limit counts in.
WINDOW_SECONDS = {"Resource-intensive": 60.0}

# Seconds a cancellable wait sleeps at a time before it checks its event.
CANCEL_CHECK = 0.25

# An X-RateLimit-Limit above this is a daily limit (Zoom's are 1,000 and
# more); at or below it, a per-window one (at most 80 per second).
MAX_WINDOW_LIMIT = 200


class TokenBucket:
    """Spaces calls evenly at ``rate`` per second; safe to share between threads.

    Each call reserves the next free slot under a lock and then waits for it
    outside the lock, so waiting threads are served in order without holding
    the lock while they sleep.

    Args:
        rate: calls per second.
        clock: monotonic clock in seconds; tests pass their own.
        sleep: waits a number of seconds; tests pass their own.
    """

    def __init__(
        self,
        rate: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        if rate <= 0:
            msg = f"rate must be above 0 calls per second, not {rate}"
            raise ValueError(msg)
        self.interval = 1.0 / rate
        self.rate = rate
        self.clock = clock
        self.sleep = sleep
        self._lock = threading.Lock()
        self._next_slot = float("-inf")

    def acquire(self, cancel: threading.Event | None = None) -> float:
        """Wait for this call's slot and return the seconds waited.

        With ``cancel``, the wait is cut into steps of at most
        :data:`CANCEL_CHECK` seconds, and it ends early once ``cancel`` is set;
        the caller checks ``cancel`` afterwards.
        """
        with self._lock:
            now = self.clock()
            slot = max(now, self._next_slot)
            self._next_slot = slot + self.interval
        wait = slot - now
        if wait <= 0:
            return wait
        if cancel is None:
            self.sleep(wait)
            return wait
        left = wait
        while left > 0 and not cancel.is_set():
            step = min(left, CANCEL_CHECK)
            self.sleep(step)
            left -= step
        return wait - max(left, 0.0)

    def set_rate(self, rate: float) -> None:
        """Space later calls at ``rate`` per second; slots already taken stay."""
        if rate <= 0:
            msg = f"rate must be above 0 calls per second, not {rate}"
            raise ValueError(msg)
        with self._lock:
            self.rate = rate
            self.interval = 1.0 / rate

    def hold(self, seconds: float) -> None:
        """Give no slot earlier than ``seconds`` from now."""
        with self._lock:
            self._next_slot = max(self._next_slot, self.clock() + seconds)


class Pacer:
    """One token bucket per rate-limit category, sized from the plan.

    Args:
        plan: "free", "pro" or "business" (Business, Education, Enterprise).
        rate_share: fraction of each limit this process may use, above 0 and
            at most 1.
        clock: monotonic clock in seconds.
        sleep: waits a number of seconds.
    """

    def __init__(
        self,
        plan: str,
        rate_share: float = 0.8,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        if plan not in PLAN_LIMITS:
            known = ", ".join(PLAN_LIMITS)
            msg = f"unknown plan {plan!r}; use one of {known}"
            raise ValueError(msg)
        if not 0 < rate_share <= 1:
            msg = f"rate_share must be above 0 and at most 1, not {rate_share}"
            raise ValueError(msg)
        self.plan = plan
        self.rate_share = rate_share
        self.clock = clock
        self.buckets = {
            category: TokenBucket(limit * rate_share, clock=clock, sleep=sleep)
            for category, limit in PLAN_LIMITS[plan].items()
        }

    def acquire(self, category: str, cancel: threading.Event | None = None) -> float:
        """Wait until a request of ``category`` may be sent; return seconds waited.

        A set ``cancel`` ends the wait early; see :meth:`TokenBucket.acquire`.

        Raises:
            KeyError: the category is not one of Zoom's four.
        """
        return self.buckets[category].acquire(cancel)

    def rate(self, category: str) -> float:
        """Return the requests per second a category is paced at."""
        return self.buckets[category].rate

    def observe(self, category: str, limit: int, remaining: int) -> None:
        """Adapt a category's pace to Zoom's X-RateLimit-Limit and -Remaining.

        A limit of at most :data:`MAX_WINDOW_LIMIT` is the per-window limit
        (per second; per minute for Resource-intensive), which replaces the
        plan's figure. When that window has nothing left, the category waits
        one window. A larger limit is a daily one, which pacing leaves to the
        session.
        """
        bucket = self.buckets.get(category)
        if bucket is None or not 0 < limit <= MAX_WINDOW_LIMIT:
            return
        window = WINDOW_SECONDS.get(category, 1.0)
        rate = limit / window * self.rate_share
        if not math.isclose(rate, bucket.rate):
            log.info("rate_limit_adapted", category=category, per_second=round(rate, 3))
            bucket.set_rate(rate)
        if remaining <= 0:
            bucket.hold(window)
