"""Server-to-Server OAuth: request, cache and renew the account's access token.

Zoom's ``account_credentials`` grant has no refresh token, so renewing means
asking for a new token. One :class:`TokenProvider` serves every thread of a
process and collapses simultaneous renewals into one request.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import requests
import structlog

from zoom_auth.errors import (
    AuthenticationError,
    ConfigurationError,
    StopRequested,
    TransientError,
)
from zoom_auth.retry import Backoff, http_session

log = structlog.get_logger(__name__)

DEFAULT_TOKEN_URL = "https://zoom.us/oauth/token"

# Maximum token lifetime accepted, in seconds. Zoom's tokens live one hour.
_MAX_LIFETIME = 7 * 86400

# Longest OAuth error text kept in a message; Zoom's are one short sentence.
_MAX_REASON_CHARS = 200


@dataclass(frozen=True)
class Token:
    """An access token with the details of Zoom's token response.

    Attributes:
        value: the bearer token. It never appears in the repr.
        expires_at: expiry as Unix time, counted from the moment before the
            token request was sent.
        scopes: scopes Zoom granted.
        api_url: base URL of the account's regional cluster, or None.
        lifetime: the ``expires_in`` Zoom sent, in seconds.
    """

    value: str = field(repr=False)
    expires_at: float
    scopes: tuple[str, ...] = ()
    api_url: str | None = None
    lifetime: float = 3599.0

    @property
    def expires_at_utc(self) -> datetime:
        """Expiry as an aware UTC datetime."""
        return datetime.fromtimestamp(self.expires_at, tz=UTC)


class TokenProvider:
    """Hands out a valid access token, requesting a new one when needed.

    A token is renewed when less than ``renew_margin`` seconds of its life are
    left. Callers that find it stale at the same time wait on one lock, and only
    the first one sends a request.

    Args:
        account_id: the app's Account ID.
        client_id: the app's Client ID.
        client_secret: the app's Client secret. It never appears in a repr,
            a log event or an error.
        token_url: Zoom's token endpoint.
        renew_margin: seconds of remaining life below which a token is renewed.
        timeout: (connect, read) timeouts in seconds for the token request.
        max_attempts: attempts per renewal when Zoom returns 429 or 5xx or the
            connection fails; a 4xx other than 429 is never retried.
        backoff: delay between those attempts.
        clock: returns the current Unix time; tests pass their own.
        sleep: waits a number of seconds; tests pass their own.
        on_token: called with each new token, e.g. to register it for log
            redaction or to schedule its renewal.
        http: the requests session to send with.
        stop: once set, no further token request is sent and backoff waits
            end: :class:`StopRequested` is raised instead.
    """

    def __init__(
        self,
        *,
        account_id: str,
        client_id: str,
        client_secret: str,
        token_url: str = DEFAULT_TOKEN_URL,
        renew_margin: float = 300.0,
        timeout: tuple[float, float] = (10.0, 60.0),
        max_attempts: int = 5,
        backoff: Backoff | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        on_token: Callable[[Token], None] | None = None,
        http: requests.Session | None = None,
        stop: threading.Event | None = None,
    ):
        self.account_id = account_id
        self.client_id = client_id
        self._client_secret = client_secret
        self.token_url = token_url
        self.renew_margin = renew_margin
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.backoff = backoff or Backoff()
        self.clock = clock
        self.sleep = sleep
        self.on_token = on_token
        self._http = http or http_session(pool_size=2)
        self.stop = stop
        self._lock = threading.Lock()
        self._token: Token | None = None
        self.requests_sent = 0

    def __repr__(self) -> str:
        return (
            f"TokenProvider(account_id={self.account_id!r}, "
            f"client_id={self.client_id!r}, token_url={self.token_url!r})"
        )

    @property
    def current(self) -> Token | None:
        """The cached token, stale or not, without requesting one."""
        return self._token

    def renew_at(self, token: Token) -> float:
        """Return the Unix time from which a token counts as stale.

        That is ``renew_margin`` before expiry, or half the token's lifetime
        before expiry when the margin is longer than that, so a short-lived
        token is not renewed before every request.
        """
        return token.expires_at - min(self.renew_margin, token.lifetime / 2)

    def is_fresh(self, token: Token | None) -> bool:
        """Tell whether a token is valid and not yet due for renewal."""
        if token is None:
            return False
        return self.clock() < self.renew_at(token)

    def token(self) -> Token:
        """Return a token with more than the renewal margin of life left.

        Raises:
            AuthenticationError: Zoom rejected the credentials.
            TransientError: Zoom could not be reached after every attempt.
        """
        token = self._token
        if self.is_fresh(token):
            return token  # type: ignore[return-value]
        with self._lock:
            if not self.is_fresh(self._token):
                self._token = self._request_token()
            return self._token  # type: ignore[return-value]

    def renew(self, rejected: str | None = None) -> Token:
        """Request a new token now, unless another thread already replaced it.

        Args:
            rejected: the token value Zoom just rejected. When the cached token
                is already a different one, that newer token is returned and no
                request is sent.
        """
        with self._lock:
            cached = self._token
            if cached is not None and rejected is not None and cached.value != rejected:
                return cached
            self._token = self._request_token()
            return self._token

    def _request_token(self) -> Token:
        for attempt in range(1, self.max_attempts + 1):
            if self.stop is not None and self.stop.is_set():
                raise StopRequested("token request not sent: shutting down")
            started = self.clock()
            try:
                response = self._post()
            except requests.RequestException as exc:
                problem = f"{type(exc).__name__}: {exc}"
            else:
                if response.status_code == 200:
                    return self._accept(response, started)
                if 300 <= response.status_code < 400:
                    raise self._redirected(response)
                if response.status_code != 429 and response.status_code < 500:
                    raise self._rejection(response)
                problem = f"HTTP {response.status_code}"
            if attempt < self.max_attempts:
                delay = self.backoff.delay(attempt)
                log.warning(
                    "token_request_retry",
                    attempt=attempt,
                    error=problem,
                    delay_s=round(delay, 3),
                )
                if self.stop is not None:
                    self.stop.wait(delay)
                else:
                    self.sleep(delay)
        msg = (
            f"token request to {self.token_url} failed after {self.max_attempts} "
            f"attempts ({problem}); check the network path to Zoom and retry later"
        )
        raise TransientError(msg)

    def _post(self) -> requests.Response:
        self.requests_sent += 1
        return self._http.post(
            self.token_url,
            auth=(self.client_id, self._client_secret),
            data={"grant_type": "account_credentials", "account_id": self.account_id},
            timeout=self.timeout,
            allow_redirects=False,
        )

    def _accept(self, response: requests.Response, started: float) -> Token:
        try:
            body = response.json()
            value = body["access_token"]
            expires_in = float(body["expires_in"])
            api_url = body.get("api_url") or None
            valid = (
                isinstance(value, str)
                and value
                and math.isfinite(expires_in)
                and 0 < expires_in <= _MAX_LIFETIME
                and (api_url is None or isinstance(api_url, str))
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            valid = False
        if not valid:
            msg = (
                f"token response from {self.token_url} lacks a valid access_token, "
                "expires_in or api_url; check that token_url points at Zoom's "
                "token endpoint"
            )
            raise TransientError(msg)
        token = Token(
            value=value,
            expires_at=started + expires_in,
            scopes=tuple(str(body.get("scope") or "").split()),
            api_url=api_url.rstrip("/") if api_url else None,
            lifetime=expires_in,
        )
        if self.on_token is not None:
            self.on_token(token)
        log.info(
            "token_renewed",
            expires_at=token.expires_at_utc.isoformat(timespec="seconds"),
            scopes=len(token.scopes),
            api_url=token.api_url,
        )
        return token

    def _redirected(self, response: requests.Response) -> ConfigurationError:
        target = response.headers.get("Location", "another URL")
        msg = (
            f"token_url {self.token_url} redirects (HTTP {response.status_code}) to "
            f"{target}; set zoom.token_url to Zoom's endpoint, {DEFAULT_TOKEN_URL}"
        )
        return ConfigurationError(msg)

    def _rejection(self, response: requests.Response) -> AuthenticationError:
        try:
            body = response.json()
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        error = str(body.get("error") or "")
        reason = str(body.get("reason") or body.get("message") or "")
        reason = reason[:_MAX_REASON_CHARS].replace(self._client_secret, "[REDACTED]")
        detail = " ".join(filter(None, [error, f"({reason})" if reason else ""]))
        msg = (
            f"Zoom rejected the token request for account_id={self.account_id!r}, "
            f"client_id={self.client_id!r}: HTTP {response.status_code} {detail}".rstrip()
            + "; "
            "check the Account ID, Client ID and Client secret on the app's page in "
            "the Zoom App Marketplace, and that the app is activated"
        )
        return AuthenticationError(msg)
