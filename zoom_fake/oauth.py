"""The Server-to-Server OAuth token endpoint and the tokens it issues."""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl

from zoom_fake.base import ApiError, OAuthError, Response

GRANT_TYPE = "account_credentials"
FORM_TYPE = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class Grant:
    """The scopes and expiry time of one access token."""

    issued_at: float
    expires_at: float
    scopes: frozenset[str]


class TokenStore:
    """Access tokens issued by one emulator.

    Several tokens are valid at once, as with Zoom since June 2023. Tokens are
    random and unguessable; only this store can tell which are valid.
    """

    def __init__(
        self, clock: Callable[[], float], lifetime: float, scopes: Iterable[str]
    ) -> None:
        self._clock = clock
        self.lifetime = lifetime
        self.scopes = frozenset(scopes)
        self._lock = threading.Lock()
        self._grants: dict[str, Grant] = {}

    def issue(self) -> str:
        """Create and return a new access token."""
        token = secrets.token_urlsafe(48)
        now = self._clock()
        grant = Grant(issued_at=now, expires_at=now + self.lifetime, scopes=self.scopes)
        with self._lock:
            self._grants[token] = grant
        return token

    def check(self, token: str | None) -> Grant:
        """Return the grant of a bearer token.

        Raises:
            ApiError: 401 code 124 when the token is missing, unknown, revoked
                or expired.
        """
        with self._lock:
            grant = self._grants.get(token) if token else None
        if grant is None:
            raise ApiError(401, 124, "Invalid access token.")
        if self._clock() >= grant.expires_at:
            raise ApiError(401, 124, "Access token is expired.")
        return grant

    def revoke_all(self) -> None:
        """Invalidate every token issued so far."""
        with self._lock:
            self._grants.clear()


@dataclass(frozen=True)
class Credentials:
    """The account and app credentials the token endpoint accepts."""

    account_id: str
    client_id: str
    client_secret: str

    def __repr__(self) -> str:
        return f"Credentials(account_id={self.account_id!r}, client_id=...)"


def token_response(
    *,
    query: Mapping[str, str],
    headers: Mapping[str, str],
    body: bytes,
    credentials: Credentials,
    store: TokenStore,
    api_url: str,
) -> Response:
    """Respond to ``POST /oauth/token`` with a token or raise Zoom's OAuth error.

    Raises:
        OAuthError: The request is rejected; the server sends its body.
    """
    if "grant_type" in query or "account_id" in query:
        reason = "Send grant_type and account_id in the form body, not the query"
        raise OAuthError("invalid_request", reason)
    _check_client(headers.get("Authorization"), credentials)
    form = _parse_form(headers.get("Content-Type"), body)
    if form.get("grant_type") != GRANT_TYPE:
        raise OAuthError("unsupported_grant_type", "unsupported grant type")
    account_id = form.get("account_id")
    if not account_id:
        raise OAuthError("invalid_request", "Missing account_id")
    if not hmac.compare_digest(account_id.encode(), credentials.account_id.encode()):
        raise OAuthError("invalid_request", "Invalid account_id")
    token = store.issue()
    payload = {
        "access_token": token,
        "token_type": "bearer",
        "expires_in": int(store.lifetime),
        "scope": " ".join(sorted(store.scopes)),
        "api_url": api_url,
    }
    return Response(200, payload, {"Cache-Control": "no-store"})


def _check_client(authorization: str | None, credentials: Credentials) -> None:
    """Raise invalid_client unless the Basic credentials are the app's."""
    scheme, _, encoded = (authorization or "").partition(" ")
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        decoded = b""
    client_id, separator, client_secret = decoded.partition(b":")
    valid = (
        scheme.lower() == "basic"
        and separator == b":"
        and hmac.compare_digest(client_id, credentials.client_id.encode())
        and hmac.compare_digest(client_secret, credentials.client_secret.encode())
    )
    if not valid:
        raise OAuthError("invalid_client", "Invalid client_id or client_secret")


def _parse_form(content_type: str | None, body: bytes) -> dict[str, str]:
    media_type = (content_type or "").split(";")[0].strip().lower()
    if media_type != FORM_TYPE:
        reason = f"Send the parameters as a {FORM_TYPE} body"
        raise OAuthError("invalid_request", reason)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise OAuthError("invalid_request", "The form body is not UTF-8") from None
    return dict(parse_qsl(text, keep_blank_values=True))
