"""Errors raised while talking to Zoom, sorted by what the caller does next.

Every class carries the process exit code that ends a run failing with it
(the codes come from sysexits.h). A job catches :class:`SkippableError` for
one resource and carries on; the other classes end the job.
"""

from __future__ import annotations

import re
from typing import Any

# sysexits.h codes, as os.EX_* names them.
EX_USAGE = 64
EX_SOFTWARE = 70
EX_TEMPFAIL = 75
EX_NOPERM = 77
EX_CONFIG = 78

_SCOPES_RE = re.compile(r"scopes?\s*:?\s*\[([^\]]*)\]", re.IGNORECASE)


class ZoomError(Exception):
    """Base class of every error this package raises.

    An instance that is not one of the subclasses below is unexpected and ends
    the run with exit code 70.
    """

    exit_code = EX_SOFTWARE


class ConfigurationError(ZoomError):
    """The configuration or the app's scopes must be changed before a retry."""

    exit_code = EX_CONFIG


class AuthenticationError(ZoomError):
    """Zoom rejected the credentials, or a renewed token."""

    exit_code = EX_NOPERM


class TransientError(ZoomError):
    """A failure that may pass: 5xx, timeouts, resets, per-second 429s."""

    exit_code = EX_TEMPFAIL


class DailyLimitError(TransientError):
    """Zoom's daily request quota for a rate-limit category is used up.

    ``retry_after`` is the time Zoom names for the next attempt, as sent in the
    ``Retry-After`` header (usually the next 00:00 UTC), or None.
    """

    def __init__(self, message: str, *, category: str | None, retry_after: str | None):
        super().__init__(message)
        self.category = category
        self.retry_after = retry_after


class BudgetReached(DailyLimitError):
    """The run used up its own budget of Heavy and Resource-intensive requests."""


class StopRequested(TransientError):
    """The process is shutting down, so no further request is sent."""


class SkippableError(ZoomError):
    """One resource is gone or out of reach; skip it and count it."""


class APIError(ZoomError):
    """An error response from the Zoom API that no narrower class describes.

    Attributes hold the HTTP status, Zoom's numeric ``code`` (or None) and its
    ``message``, plus the request method and path. The path never contains a
    credential, so the message is safe to log.
    """

    def __init__(
        self,
        *,
        status: int,
        code: int | None,
        message: str,
        method: str,
        path: str,
    ):
        self.status = status
        self.code = code
        self.zoom_message = message
        self.method = method
        self.path = path
        super().__init__(
            f"{method} {path} failed with HTTP {status}, Zoom code {code}: {message}"
        )


class MissingScopesError(APIError, ConfigurationError):
    """Zoom code 4700 or 4711: the app lacks the scopes an endpoint needs."""

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        match = _SCOPES_RE.search(self.zoom_message)
        names = match.group(1) if match else ""
        self.scopes = [s.strip() for s in names.split(",") if s.strip()]
        needed = ", ".join(self.scopes) or "the scopes this endpoint lists"
        self.args = (
            f"{self.method} {self.path}: the Zoom app lacks the scopes {needed}; "
            "add them to the Server-to-Server OAuth app in the Zoom App "
            "Marketplace and activate it again",
        )


class TokenRejectedError(APIError, AuthenticationError):
    """Zoom code 124 after a renewed token: the new token was rejected too."""


class NotFoundError(APIError, SkippableError):
    """404 with code 1001 (user) or 3001 (meeting), or 400 with code 1010."""


class CannotHostError(APIError, SkippableError):
    """400 with code 3161: the user may not host or schedule meetings."""


class ServerError(APIError, TransientError):
    """A 5xx or per-second 429 that survived every retry."""


# Zoom codes whose meaning does not depend on the endpoint.
_CLASS_BY_CODE: dict[int, type[APIError]] = {
    124: TokenRejectedError,
    1001: NotFoundError,
    1010: NotFoundError,
    3001: NotFoundError,
    3161: CannotHostError,
    4700: MissingScopesError,
    4711: MissingScopesError,
}


def classify_api_error(
    *, status: int, code: int | None, message: str, method: str, path: str
) -> APIError:
    """Build the error instance for an API error response.

    Args:
        status: HTTP status code.
        code: Zoom's numeric ``code`` from the body, or None.
        message: Zoom's ``message`` from the body, or the reason phrase.
        method: HTTP method of the request.
        path: request path, without the query string.

    Returns:
        An :class:`APIError` subclass chosen by Zoom code, then by status.
    """
    cls = _CLASS_BY_CODE.get(code) if code is not None else None
    if cls is None and (status >= 500 or status == 429):
        cls = ServerError
    if cls is None and status == 401:
        cls = TokenRejectedError
    return (cls or APIError)(
        status=status, code=code, message=message, method=method, path=path
    )
