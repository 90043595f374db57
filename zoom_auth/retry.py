"""Backoff timing and the HTTP adapter shared by the token and API clients."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry


@dataclass
class Backoff:
    """Exponential backoff with full jitter.

    The delay before retry number ``n`` (1-based) is drawn uniformly from
    ``[0, min(max_delay, base * 2 ** (n - 1))]``, so clients that fail together
    do not retry together.
    """

    base: float = 1.0
    max_delay: float = 60.0
    rng: random.Random = field(default_factory=random.Random)

    def delay(self, retry: int) -> float:
        """Return the seconds to wait before retry number ``retry``."""
        ceiling = min(self.max_delay, self.base * 2 ** (retry - 1))
        return self.rng.uniform(0, ceiling)


def http_session(pool_size: int = 10) -> requests.Session:
    """Create a requests session whose adapter never retries or sleeps.

    Retries belong to the callers, which count attempts per logical request and
    cap any ``Retry-After`` wait. urllib3's default Retry would sleep for the
    full ``Retry-After`` of a 429 (up to six hours in urllib3 2.x), so this
    adapter retries nothing and ignores that header.
    """
    retry = Retry(
        total=0,
        read=False,
        redirect=0,
        respect_retry_after_header=False,
        raise_on_status=False,
    )
    adapter = HTTPAdapter(
        pool_connections=pool_size, pool_maxsize=pool_size, max_retries=retry
    )
    session = requests.Session()
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session
