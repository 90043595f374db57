"""The API session: timeouts, bounded retries, rate-limit responses, pagination."""

from __future__ import annotations

import contextvars
import math
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import requests
import structlog

from zoom_auth.auth import ZoomAuth
from zoom_auth.daily import DailyQuota, parse_retry_after
from zoom_auth.endpoints import endpoint, format_path
from zoom_auth.errors import (
    APIError,
    DailyLimitError,
    ServerError,
    StopRequested,
    TransientError,
    classify_api_error,
)
from zoom_auth.pacing import MAX_WINDOW_LIMIT, Pacer
from zoom_auth.retry import Backoff, http_session
from zoom_auth.token import TokenProvider

log = structlog.get_logger(__name__)

DEFAULT_API_URL = "https://api.zoom.us"

# Zoom code 300 on a request that carried next_page_token: the token is invalid
# or expired. Page tokens live 15 minutes.
PAGE_TOKEN_INVALID_CODE = 300

# An event that, once set, ends requests of the current context that are not
# sent yet, their pacing waits included. A pool of workers sets it per task, so
# a job that is ending sends nothing more without stopping the whole session.
CANCEL: contextvars.ContextVar[threading.Event | None] = contextvars.ContextVar(
    "zoom_cancel", default=None
)

# Errors from requests that mean the request may succeed when sent again.
_RETRYABLE_EXCEPTIONS = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
)


class PaginationError(TransientError):
    """Zoom returned the same next_page_token twice, which would loop forever."""


@dataclass(frozen=True)
class Page:
    """One page of a list endpoint.

    Attributes:
        records: the page's items, e.g. the ``users`` array.
        body: the whole response body, envelope fields included.
    """

    records: list[dict[str, Any]]
    body: dict[str, Any]


class ZoomSession:
    """Sends GET requests to the Zoom API v2 and decodes the JSON responses.

    Every request has connect and read timeouts. A 5xx, a timeout, a reset
    connection or a per-second 429 is retried with exponential backoff and
    jitter, up to ``max_attempts`` sends per logical request, and the send that
    follows a token renewal counts as one of them.

    Args:
        provider: source of access tokens.
        base_url: API base URL such as ``https://api.zoom.us/v2``. None uses
            the ``api_url`` of the token response, with ``/v2`` added.
        timeout: (connect, read) timeouts in seconds.
        max_attempts: sends per logical request.
        backoff: delay between attempts when Zoom gives no ``Retry-After``.
        max_retry_after: longest ``Retry-After`` in seconds that is waited
            out; a longer one ends the request as a transient failure.
        sleep: waits a number of seconds; tests pass their own.
        pool_size: HTTP connections kept open per host.
        stop: once set, no further request is sent and backoff waits end:
            :class:`StopRequested` is raised instead. A request already sent
            runs to its response or its timeout.
        pacer: spaces requests per rate-limit category; None sends at once.
        quota: daily limits and the run's request budget; one is made when
            None.
    """

    def __init__(
        self,
        provider: TokenProvider,
        *,
        base_url: str | None = None,
        timeout: tuple[float, float] = (10.0, 60.0),
        max_attempts: int = 5,
        backoff: Backoff | None = None,
        max_retry_after: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
        pool_size: int = 10,
        stop: threading.Event | None = None,
        pacer: Pacer | None = None,
        quota: DailyQuota | None = None,
    ):
        self.provider = provider
        self.pacer = pacer
        self.quota = quota or DailyQuota()
        self.pinned_base_url = base_url.rstrip("/") if base_url else None
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.backoff = backoff or Backoff()
        self.max_retry_after = max_retry_after
        self.sleep = sleep
        self.stop = stop
        self.auth = ZoomAuth(provider)
        self._http = http_session(pool_size)
        self._count_lock = threading.Lock()
        self.requests_sent = 0
        # Seconds a response takes, as a moving average; None before the first.
        self.latency: float | None = None

    def __repr__(self) -> str:
        return f"ZoomSession(base_url={self.pinned_base_url!r})"

    def close(self) -> None:
        """Close pooled connections."""
        self._http.close()

    def base_url(self) -> str:
        """Return the API base URL, asking for a token first when unpinned."""
        if self.pinned_base_url:
            return self.pinned_base_url
        api_url = self.provider.token().api_url or DEFAULT_API_URL
        return f"{api_url}/v2"

    def get(
        self,
        template: str,
        params: Mapping[str, Any] | None = None,
        **path_params: str | int,
    ) -> dict[str, Any]:
        """Send a GET request and return the decoded JSON object.

        Args:
            template: a path template registered in ``zoom_auth.endpoints``,
                such as ``/users/{userId}/meetings``.
            params: query parameters.
            **path_params: values for the template's placeholders.

        Raises:
            APIError: Zoom returned an error, classified by
                ``zoom_auth.errors.classify_api_error``.
            DailyLimitError: a 429 for a used-up daily quota.
            TransientError: no success after every attempt.
        """
        category = endpoint(template).category
        path = format_path(template, **path_params)
        url = self.base_url() + path
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self._send(url, path, params, category)
            except _RETRYABLE_EXCEPTIONS as exc:
                problem = f"{type(exc).__name__}: {exc}"
                self._before_retry(attempt, path, problem, None, exc)
                continue
            attempt += len(response.history)
            if response.status_code < 300:
                return self._decode(response, path)
            error = self._error(response, path, category)
            if not isinstance(error, ServerError):
                raise error
            wait = self._retry_after(response, error)
            self._before_retry(attempt, path, str(error), wait, error)

    def paginate(
        self,
        template: str,
        key: str,
        params: Mapping[str, Any] | None = None,
        **path_params: str | int,
    ) -> Iterator[Page]:
        """Yield every page of a list endpoint, following ``next_page_token``.

        Each request repeats ``params`` and the endpoint's maximum
        ``page_size``. When Zoom reports an invalid or expired page token, the
        listing starts again from the first page, once, so pages seen before
        are yielded again.

        Raises:
            PaginationError: Zoom repeated the previous page token.
            APIError: as :meth:`get` raises it.
        """
        query = dict(params or {})
        page_size = endpoint(template).request_page_size
        if page_size:
            query["page_size"] = page_size
        restarted = False
        page_token = ""
        while True:
            page_query = dict(query)
            if page_token:
                page_query["next_page_token"] = page_token
            try:
                body = self.get(template, page_query, **path_params)
            except APIError as exc:
                if not page_token or exc.code != PAGE_TOKEN_INVALID_CODE:
                    raise
                if restarted:
                    msg = f"{exc}; the listing was already restarted once"
                    raise PaginationError(msg) from exc
                log.warning("page_token_expired", path=exc.path)
                restarted, page_token = True, ""
                continue
            yield Page(records=_page_records(body, key, template), body=body)
            next_token = body.get("next_page_token") or ""
            if not next_token:
                return
            if next_token == page_token:
                path = format_path(template, **path_params)
                msg = f"GET {path} returned the same next_page_token twice"
                raise PaginationError(msg)
            page_token = next_token

    def _send(
        self, url: str, path: str, params: Mapping[str, Any] | None, category: str
    ) -> requests.Response:
        cancel = CANCEL.get()
        self._check_stop(cancel)
        self.quota.check(category, path)
        if self.pacer is not None:
            self.pacer.acquire(category, cancel)
            self._check_stop(cancel)
        # Checked again after the wait: another thread may have met the
        # daily limit meanwhile.
        self.quota.take(category, path)
        with self._count_lock:
            self.requests_sent += 1
        # Timed on the pacer's clock, so latency and rates share one unit.
        clock = self.pacer.clock if self.pacer is not None else time.monotonic
        sent = clock()
        # Zoom's API does not redirect GETs; a 3xx is reported as an error
        # rather than followed with the bearer token.
        response = self._http.get(
            url,
            params=params,
            auth=self.auth,
            timeout=self.timeout,
            allow_redirects=False,
        )
        elapsed = clock() - sent
        with self._count_lock:
            self.requests_sent += len(response.history)
            previous = self.latency
            self.latency = (
                elapsed if previous is None else 0.8 * previous + 0.2 * elapsed
            )
        self._observe_limits(response, category)
        return response

    def _observe_limits(self, response: requests.Response, category: str) -> None:
        """Adapt to the X-RateLimit-Limit and -Remaining headers Zoom sends."""
        headers = response.headers
        limit = _header_int(headers.get("X-RateLimit-Limit"))
        remaining = _header_int(headers.get("X-RateLimit-Remaining"))
        if limit is None or remaining is None or response.status_code == 429:
            return
        category = headers.get("X-RateLimit-Category") or category
        if limit > MAX_WINDOW_LIMIT:
            self.quota.observe(category, remaining)
        elif self.pacer is not None:
            self.pacer.observe(category, limit, remaining)

    def _decode(self, response: requests.Response, path: str) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            msg = (
                f"GET {path} returned HTTP {response.status_code} without a JSON object"
            )
            raise TransientError(msg)
        return body

    def _error(
        self, response: requests.Response, path: str, endpoint_category: str
    ) -> APIError:
        try:
            body = response.json()
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        code = body.get("code")
        message = str(body.get("message") or response.reason or "")
        if response.status_code == 429 and _is_daily_limit(response, message):
            category = response.headers.get("X-RateLimit-Category")
            retry_after = response.headers.get("Retry-After")
            until = parse_retry_after(retry_after, self.quota.now())
            self.quota.mark_exhausted(category or endpoint_category, until)
            msg = (
                f"GET {path}: Zoom's daily request limit for the {category or 'this'} "
                f"category is used up; the next run after {retry_after or '00:00 UTC'} "
                "resumes"
            )
            raise DailyLimitError(msg, category=category, retry_after=retry_after)
        return classify_api_error(
            status=response.status_code,
            code=code if isinstance(code, int) else None,
            message=message,
            method="GET",
            path=path,
        )

    def _retry_after(
        self, response: requests.Response, error: APIError
    ) -> float | None:
        """Return the Retry-After seconds of a 429, or None to back off instead."""
        if response.status_code != 429:
            return None
        header = response.headers.get("Retry-After", "")
        try:
            wait = float(header)
        except ValueError:
            return None
        if not math.isfinite(wait):
            return None
        if wait > self.max_retry_after:
            msg = (
                f"{error}; Zoom asked to wait {wait:.0f} s, more than "
                f"max_retry_after ({self.max_retry_after:.0f} s)"
            )
            raise TransientError(msg) from error
        return max(wait, 0.0)

    def _before_retry(
        self,
        attempt: int,
        path: str,
        problem: str,
        wait: float | None,
        cause: Exception,
    ) -> None:
        if attempt >= self.max_attempts:
            msg = f"GET {path} failed after {attempt} attempts: {problem}"
            raise TransientError(msg) from cause
        delay = self.backoff.delay(attempt) if wait is None else wait
        log.warning(
            "request_retry",
            path=path,
            attempt=attempt,
            error=problem,
            delay_s=round(delay, 3),
        )
        if self.stop is not None:
            self.stop.wait(delay)
            self._check_stop()
        else:
            self.sleep(delay)

    def _check_stop(self, cancel: threading.Event | None = None) -> None:
        if self.stop is not None and self.stop.is_set():
            raise StopRequested("stopped before the next request: shutting down")
        if cancel is not None and cancel.is_set():
            raise StopRequested("stopped before the next request: the job is ending")


def _page_records(body: dict[str, Any], key: str, template: str) -> list[Any]:
    """Return a page's list, rejecting a page that lacks it.

    A body without the list is accepted only when its ``total_records`` is
    0; otherwise data would be lost while the run reported success.
    """
    records = body.get(key)
    if isinstance(records, list):
        return records
    if records is None and body.get("total_records") == 0:
        return []
    msg = f"GET {template} returned a page without a {key!r} list"
    raise TransientError(msg)


def _header_int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _is_daily_limit(response: requests.Response, message: str) -> bool:
    kind = response.headers.get("X-RateLimit-Type", "")
    return kind.lower() == "daily-limit" or "daily rate limit" in message.lower()
