"""The Zoom API endpoints zoom-etl calls, and how to build their paths.

Each endpoint is registered with the path template used in Zoom's OpenAPI
files, its rate-limit label and the largest ``page_size`` its list accepts, as
those files state them. Meeting and webinar UUIDs need special encoding in a
path, which :func:`encode_uuid` applies.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote

# Path parameters that may hold a meeting or webinar UUID.
UUID_PARAMETERS = frozenset({"meetingId", "meetingUUID", "webinarId", "webinarUUID"})

_PLACEHOLDER_RE = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class Endpoint:
    """A GET endpoint of the Zoom API v2.

    Attributes:
        template: path template as Zoom's OpenAPI files write it.
        category: rate-limit label: Light, Medium, Heavy or Resource-intensive.
        max_page_size: maximum ``page_size`` for a list endpoint, else None.
        page_size: ``page_size`` to send to a list endpoint whose OpenAPI file
            states no maximum, else None.
    """

    template: str
    category: str
    max_page_size: int | None = None
    page_size: int | None = None

    @property
    def request_page_size(self) -> int | None:
        """The ``page_size`` that pagination sends, or None to send none."""
        return self.max_page_size or self.page_size


ENDPOINTS: dict[str, Endpoint] = {
    e.template: e
    for e in (
        Endpoint("/users/{userId}", "Light"),
        Endpoint("/users", "Medium", 2000),
        Endpoint("/users/{userId}/meetings", "Medium", 300),
        Endpoint("/past_meetings/{meetingId}", "Light"),
        Endpoint("/past_meetings/{meetingId}/instances", "Medium"),
        Endpoint("/report/users", "Heavy", 300),
        Endpoint("/report/users/{userId}/meetings", "Heavy", 300),
        Endpoint("/report/meetings/{meetingId}/participants", "Heavy", 300),
        Endpoint("/users/{userId}/webinars", "Medium", 300),
        Endpoint("/past_webinars/{webinarId}/instances", "Light"),
        Endpoint("/report/webinars/{webinarId}/participants", "Heavy", 300),
        Endpoint("/users/{userId}/recordings", "Medium", 300),
        Endpoint("/report/daily", "Heavy"),
        # NOTE: the OpenAPI file gives /report/activities no page_size maximum;
        # 300 is the maximum Zoom's pagination guide names for list endpoints.
        Endpoint("/report/activities", "Heavy", page_size=300),
        Endpoint("/report/operationlogs", "Heavy", 300),
        Endpoint("/groups", "Medium", 300),
        Endpoint("/groups/{groupId}/members", "Medium", 2000),
        Endpoint("/metrics/meetings", "Resource-intensive", 300),
    )
}


def endpoint(template: str) -> Endpoint:
    """Return the registered endpoint for a path template.

    Raises:
        KeyError: the template is not registered in :data:`ENDPOINTS`.
    """
    try:
        return ENDPOINTS[template]
    except KeyError:
        msg = f"endpoint {template!r} is not registered in zoom_auth.endpoints"
        raise KeyError(msg) from None


def encode_uuid(uuid: str | int) -> str:
    """Encode a meeting or webinar UUID, or a numeric meeting ID, for a path.

    Zoom requires a UUID that begins with "/" or contains "//" to be URL-encoded
    twice; any other UUID is encoded once. Numeric IDs pass unchanged.
    """
    text = str(uuid)
    once = quote(text, safe="")
    if text.startswith("/") or "//" in text:
        return quote(once, safe="")
    return once


def format_path(template: str, **params: str | int) -> str:
    """Fill a path template, encoding each value for use in a path segment.

    UUID parameters go through :func:`encode_uuid`; other values (user IDs,
    email addresses) are encoded once. The fixed parts stay as written.

    Raises:
        KeyError: a placeholder in the template has no value.
    """

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        value = params[name]
        if name in UUID_PARAMETERS:
            return encode_uuid(value)
        return quote(str(value), safe="")

    return _PLACEHOLDER_RE.sub(fill, template)
