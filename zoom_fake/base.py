"""Request, response and error types shared by the emulator's server and routes."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

JSON_TYPE = "application/json"

# Rate-limit labels as Zoom sends them in the X-RateLimit-Category header.
LIGHT = "Light"
MEDIUM = "Medium"
HEAVY = "Heavy"
RESOURCE_INTENSIVE = "Resource-intensive"

Body = dict[str, Any] | list[Any] | str | bytes | None


class ApiError(Exception):
    """An error response in Zoom's ``{"code": int, "message": str}`` shape.

    Route handlers raise it; the server turns it into the HTTP response, with
    ``headers`` added.
    """

    def __init__(
        self,
        status: int,
        code: int,
        message: str,
        errors: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors
        self.headers = headers or {}

    def response(self) -> Response:
        """Return the response Zoom sends for this error."""
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.errors is not None:
            body["errors"] = self.errors
        return Response(self.status, body, dict(self.headers))


class OAuthError(Exception):
    """An error response of the token endpoint: ``{"reason": ..., "error": ...}``."""

    def __init__(self, error: str, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.status = status
        self.error = error
        self.reason = reason

    def response(self) -> Response:
        """Return the response Zoom's OAuth server sends for this error."""
        return Response(self.status, {"reason": self.reason, "error": self.error})


@dataclass
class Response:
    """An HTTP response before it is written to the socket.

    A dict or list body is sent as JSON, a str as UTF-8 text, bytes as they are
    and None as an empty body.
    """

    status: int
    body: Body = None
    headers: dict[str, str] = field(default_factory=dict)

    def encode(self) -> tuple[bytes, str | None]:
        """Return the body bytes and the default Content-Type for them."""
        if self.body is None:
            return b"", None
        if isinstance(self.body, bytes):
            return self.body, "application/octet-stream"
        if isinstance(self.body, str):
            return self.body.encode("utf-8"), "text/plain; charset=utf-8"
        return json.dumps(self.body, separators=(",", ":")).encode("utf-8"), JSON_TYPE


def zoom_error_code(body: Body) -> int | None:
    """Return the Zoom error code in a response body, or None when there is none."""
    if isinstance(body, (str, bytes)):
        try:
            body = json.loads(body)
        except ValueError:
            return None
    if isinstance(body, dict):
        code = body.get("code")
        if isinstance(code, int) and not isinstance(code, bool):
            return code
    return None
