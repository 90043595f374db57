"""Bearer authentication for requests, with one renewal on Zoom code 124."""

from __future__ import annotations

from typing import Any

import requests
import structlog

from zoom_auth.token import TokenProvider

log = structlog.get_logger(__name__)

# Zoom's code for an invalid or expired access token. It arrives with HTTP 401
# and, on some endpoints, with HTTP 400.
TOKEN_INVALID_CODE = 124


def zoom_error_code(response: requests.Response) -> int | None:
    """Return the ``code`` of a Zoom JSON error body, or None."""
    try:
        body = response.json()
    except ValueError:
        return None
    code = body.get("code") if isinstance(body, dict) else None
    return code if isinstance(code, int) else None


class ZoomAuth(requests.auth.AuthBase):
    """Adds ``Authorization: Bearer`` from a :class:`TokenProvider`.

    When Zoom returns code 124, a response hook renews the token once and sends
    the request once more. The rejected response is kept in the new response's
    ``history``. A second 124 is returned to the caller as it is, so callers
    never loop on a bad token.
    """

    def __init__(self, provider: TokenProvider):
        self.provider = provider

    def __repr__(self) -> str:
        return f"ZoomAuth({self.provider!r})"

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        token = self.provider.token()
        request.headers["Authorization"] = f"Bearer {token.value}"
        request.register_hook("response", self._replay_on_124)
        return request

    def _replay_on_124(
        self, response: requests.Response, **kwargs: Any
    ) -> requests.Response:
        if response.status_code not in (400, 401):
            return response
        if getattr(response.request, "zoom_replayed", False):
            return response
        if zoom_error_code(response) != TOKEN_INVALID_CODE:
            return response

        rejected = _bearer(response.request)
        response.close()
        log.warning("token_rejected", status=response.status_code, code=124)
        token = self.provider.renew(rejected)

        replay = response.request.copy()
        replay.headers["Authorization"] = f"Bearer {token.value}"
        replay.zoom_replayed = True  # type: ignore[attr-defined]
        retried = response.connection.send(replay, **kwargs)
        retried.history.append(response)
        retried.request = replay
        return retried


def _bearer(request: requests.PreparedRequest) -> str | None:
    header = request.headers.get("Authorization", "")
    prefix = "Bearer "
    return header[len(prefix) :] if header.startswith(prefix) else None
