"""Zoom's daily request limits: what is used, what is left, and a per-run budget.

Pro and Business+ accounts share one daily limit between Heavy and
Resource-intensive requests, and every daily count resets at 00:00 UTC. Once
Zoom rejects a request of a category with a Daily-limit 429, or reports nothing remaining,
no further request of that category is sent before the reset. Light and
Medium requests go on.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import structlog

from zoom_auth.errors import BudgetReached, DailyLimitError

log = structlog.get_logger(__name__)

# Categories counted against the shared daily limit, and by the per-run budget.
DAILY_CATEGORIES = ("Heavy", "Resource-intensive")


def next_utc_midnight(moment: datetime) -> datetime:
    """Return the first 00:00 UTC after ``moment``."""
    day = moment.astimezone(UTC).date() + timedelta(days=1)
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def parse_retry_after(text: str | None, now: datetime) -> datetime:
    """Return the end of a daily limit from a Retry-After header value.

    Zoom sends an ISO-8601 UTC time. A missing, past or unreadable value
    means the next 00:00 UTC, and so does a later one, because daily counts
    reset then.
    """
    if text:
        try:
            moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
        except ValueError:
            moment = None
        if moment is not None and moment.tzinfo is not None and moment > now:
            # Daily counts reset at 00:00 UTC, so a later time is not waited for.
            return min(moment.astimezone(UTC), next_utc_midnight(now))
    return next_utc_midnight(now)


class DailyQuota:
    """The categories used up for the day, and the run's request budget.

    Safe to share between threads.

    Args:
        now: returns the current aware time.
    """

    def __init__(self, now: Callable[[], datetime] = lambda: datetime.now(UTC)):
        self.now = now
        self._lock = threading.Lock()
        self._until: dict[str, datetime] = {}
        self._budget: int | None = None
        self._spent = 0
        self.remaining: dict[str, int] = {}
        self.sent: Counter[str] = Counter()

    def exhausted_until(self, category: str) -> datetime | None:
        """Return when a used-up category may be called again, or None."""
        with self._lock:
            until = self._until.get(category)
        if until is None or until <= self.now():
            return None
        return until

    def mark_exhausted(self, category: str, until: datetime) -> None:
        """Send no request of ``category`` (and of the categories sharing its
        daily limit) before ``until``."""
        shared = DAILY_CATEGORIES if category in DAILY_CATEGORIES else (category,)
        changed = False
        with self._lock:
            for name in shared:
                if until > self._until.get(name, datetime.min.replace(tzinfo=UTC)):
                    self._until[name] = until
                    changed = True
        if changed:
            log.warning(
                "daily_limit_reached", categories=list(shared), until=until.isoformat()
            )

    def exhausted(self) -> dict[str, datetime]:
        """Return each used-up category with the time it may be called again."""
        now = self.now()
        with self._lock:
            return {name: until for name, until in self._until.items() if until > now}

    def counts(self) -> dict[str, int]:
        """Return the requests sent so far, per category."""
        with self._lock:
            return dict(self.sent)

    def set_budget(self, budget: int | None) -> None:
        """Allow ``budget`` Heavy and Resource-intensive requests from now on;
        None allows any number."""
        with self._lock:
            self._budget, self._spent = budget, 0

    def check(self, category: str, path: str) -> None:
        """Raise :class:`DailyLimitError` when the category's daily limit is used up."""
        until = self.exhausted_until(category)
        if until is not None:
            msg = (
                f"GET {path} was not sent: Zoom's daily limit for {category} "
                f"requests is used up until {until:%Y-%m-%dT%H:%M:%SZ}; the first "
                "run after that resumes"
            )
            raise DailyLimitError(msg, category=category, retry_after=None)

    def take(self, category: str, path: str) -> None:
        """Count one request about to be sent.

        Raises:
            DailyLimitError: the category's daily limit is used up.
            BudgetReached: the run's budget of Heavy and Resource-intensive
                requests is spent.
        """
        self.check(category, path)
        with self._lock:
            if category in DAILY_CATEGORIES and self._budget is not None:
                if self._spent >= self._budget:
                    msg = (
                        f"GET {path} was not sent: this run's budget of "
                        f"{self._budget} Heavy and Resource-intensive requests "
                        "(sync.request_budget) is spent; the next run continues "
                        "from the saved cursors"
                    )
                    raise BudgetReached(msg, category=category, retry_after=None)
                self._spent += 1
            self.sent[category] += 1

    def observe(self, category: str, remaining: int) -> None:
        """Record the daily requests Zoom reports left; none left marks the
        category used up until the next 00:00 UTC."""
        with self._lock:
            self.remaining[category] = remaining
        if remaining <= 0 and self.exhausted_until(category) is None:
            self.mark_exhausted(category, next_utc_midnight(self.now()))
