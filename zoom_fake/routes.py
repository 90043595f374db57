"""The Zoom API v2 operations the emulator serves, and their handlers.

This module contains the user, meeting and past meeting routes and the helpers
every route module shares. The report, dashboard, webinar, recording and group
routes live in :mod:`zoom_fake.report_routes` and :mod:`zoom_fake.list_routes`
and register on the same :data:`ROUTES` table.

Scopes, rate-limit categories and page_size maxima are those of Zoom's API Hub
OpenAPI files (Users, Meetings and Accounts, March 2026).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote

from zoom_fake import records
from zoom_fake.account import REPORT_RETENTION
from zoom_fake.base import LIGHT, MEDIUM, ApiError
from zoom_fake.paging import validation_failed
from zoom_fake.router import ApiRequest, RouteTable
from zoom_fake.timeline import MEETING, Instance, MeetingPlan

ROUTES = RouteTable()

PAID_ONLY = "Only available for paid account."

USER_STATUSES = ("active", "inactive", "pending")
MEETING_LIST_TYPES = (
    "scheduled", "live", "upcoming", "upcoming_meetings", "previous_meetings",
)  # fmt: skip

ROUTES.missing_under("/v2/past_meetings/", 3001, "Meeting does not exist: {rest}.")


@ROUTES.get(
    "/v2/users",
    category=MEDIUM,
    classic_scopes=("user:read", "user:write", "user:read:admin", "user:write:admin"),
    granular_scopes=("user:read:list_users:admin",),
    page_size_max=2000,
    query_defaults={"status": "active"},
)
def list_users(request: ApiRequest) -> dict[str, Any]:
    """List the users with one status (Zoom's default filter is active)."""
    status = request.query["status"]
    if status not in USER_STATUSES:
        raise validation_failed("status", f"must be one of {', '.join(USER_STATUSES)}")
    account = request.account
    indexes = account.user_indexes(status)

    def fetch(start: int, stop: int) -> list[dict[str, Any]]:
        return [account.user(index) for index in indexes[start:stop]]

    return request.envelope("users", len(indexes), fetch)


@ROUTES.get(
    "/v2/users/{userId}",
    category=LIGHT,
    classic_scopes=(
        "user:read",
        "user:write",
        "user:read:admin",
        "user:write:admin",
        "user_profile",
        "user_info:read",
    ),
    granular_scopes=("user:read:user", "user:read:user:admin"),
)
def get_user(request: ApiRequest) -> dict[str, Any]:
    """Return one user by id, email or "me" (the owner)."""
    return request.account.user_detail(user_index(request))


@ROUTES.get(
    "/v2/users/{userId}/meetings",
    category=MEDIUM,
    classic_scopes=("meeting:read:admin", "meeting:read"),
    granular_scopes=("meeting:read:list_meetings", "meeting:read:list_meetings:admin"),
    page_size_max=300,
    query_defaults={"type": "scheduled"},
)
def list_meetings(request: ApiRequest) -> dict[str, Any]:
    """List a user's meetings of one list type (default "scheduled")."""
    account = request.account
    index = user_index(request)
    # NOTE: Zoom's response for a pending user's meetings is undocumented, so
    # code 1001 is a guess.
    if account.status_of(index) == "pending":
        raise user_not_found(request)
    if not account.can_host(index):
        message = (
            "Meeting hosting and scheduling capabilities are not allowed for your "
            "user account."
        )
        raise ApiError(400, 3161, message)
    kind = request.query["type"]
    if kind not in MEETING_LIST_TYPES:
        raise validation_failed(
            "type", f"must be one of {', '.join(MEETING_LIST_TYPES)}"
        )
    plans = [
        plan for plan in account.meeting_plans(index) if _is_listed(plan, kind, request)
    ]

    def fetch(start: int, stop: int) -> list[dict[str, Any]]:
        return [account.meeting_record(plan) for plan in plans[start:stop]]

    return request.envelope("meetings", len(plans), fetch)


@ROUTES.get(
    "/v2/past_meetings/{meetingId}",
    category=LIGHT,
    classic_scopes=("meeting:read:admin", "meeting:read"),
    granular_scopes=("meeting:read:past_meeting", "meeting:read:past_meeting:admin"),
)
def get_past_meeting(request: ApiRequest) -> dict[str, Any]:
    """Return an ended instance by UUID, or the latest one by meeting id."""
    instance = resolve_instance(request, "meetingId", PAST_MEETING_ERRORS)
    return records.past_meeting_record(request.account, instance)


@dataclass(frozen=True)
class InstanceErrors:
    """The messages of the errors a route sends for an instance it cannot serve.

    Each is a template; ``{id}`` is the decoded path segment.

    Attributes:
        kind: "meeting" or "webinar".
        missing: 404 code 3001: no such instance or series.
        not_ended: 404 code 3001: the instance has not ended yet.
        too_old: 400 code 12702: the instance started more than a year ago.
    """

    kind: str
    missing: str
    not_ended: str
    too_old: str


PAST_MEETING_ERRORS = InstanceErrors(
    kind=MEETING,
    missing="Meeting does not exist: {id}.",
    not_ended="Meeting has not ended",
    too_old="Can not access meeting a year ago.",
)


def resolve_instance(
    request: ApiRequest, param: str, errors: InstanceErrors
) -> Instance:
    """Return the ended instance a path parameter names.

    A numeric id names the latest ended instance of the series; anything else
    must be a UUID encoded as Zoom's double-encoding rule requires.

    Raises:
        ApiError: 404 code 3001 when nothing matches or the instance has not
            ended; 400 code 12702 when it started more than a year ago.
    """
    segment = request.params[param]
    account = request.account
    timeline = account.timeline
    now = account.now()
    shown = unquote(segment)
    instance: Instance | None = None
    if segment.isascii() and segment.isdigit():
        plan = timeline.plan_by_id(errors.kind, int(segment))
        if plan is not None:
            ended = timeline.ended(plan, now)
            if not ended:
                raise ApiError(404, 3001, errors.not_ended.format(id=shown))
            instance = ended[-1]
    else:
        uuid = decode_meeting_uuid(segment)
        instance = None if uuid is None else timeline.find(errors.kind, uuid)
    if instance is None:
        raise ApiError(404, 3001, errors.missing.format(id=shown))
    if not instance.has_ended(now):
        raise ApiError(404, 3001, errors.not_ended.format(id=shown))
    if instance.start < now - REPORT_RETENTION:
        raise ApiError(400, 12702, errors.too_old.format(id=shown))
    return instance


def require_paid_plan(request: ApiRequest) -> None:
    """Raise Zoom's code 200 "Only available for paid account." on a free plan."""
    if request.plan == "free":
        raise ApiError(400, 200, PAID_ONLY)


def encode_meeting_uuid(uuid: str) -> str:
    """Return the path segment Zoom requires for a meeting UUID.

    A UUID that begins with "/" or contains "//" is URL-encoded twice; any other
    UUID once.
    """
    once = quote(uuid, safe="")
    return quote(once, safe="") if _needs_double_encoding(uuid) else once


def decode_meeting_uuid(segment: str) -> str | None:
    """Return the UUID a raw path segment names, if encoded as Zoom requires.

    Percent-escapes may use either case of hex digit, at both levels. A segment
    encoded once where twice is required, or twice where once is, yields None.
    Zoom UUIDs are base64, so a decoded value that contains "%" is not one.
    """
    once = unquote(segment)
    if not _encodes(segment, once):
        return None
    if "%" not in once:
        return None if _needs_double_encoding(once) else once
    twice = unquote(once)
    if "%" in twice or not _needs_double_encoding(twice):
        return None
    return twice if _encodes(once, twice) else None


def _needs_double_encoding(uuid: str) -> bool:
    return uuid.startswith("/") or "//" in uuid


def _encodes(encoded: str, text: str) -> bool:
    """Tell whether ``encoded`` is ``text`` percent-encoded exactly once."""
    return _normalise_escapes(encoded) == _normalise_escapes(quote(text, safe=""))


def _normalise_escapes(text: str) -> str:
    return re.sub(r"%[0-9a-fA-F]{2}", lambda match: match.group().upper(), text)


def user_index(request: ApiRequest) -> int:
    """Return the index of the user the path names; raise 1001 if there is none."""
    user_id = unquote(request.params["userId"])
    account = request.account
    index = 0 if user_id == "me" else account.find_user(user_id)
    if index is None or account.is_vanished(index):
        raise user_not_found(request)
    return index


def user_not_found(request: ApiRequest) -> ApiError:
    user_id = unquote(request.params["userId"])
    return ApiError(404, 1001, f"User does not exist: {user_id}.")


def _is_listed(plan: MeetingPlan, kind: str, request: ApiRequest) -> bool:
    """Tell whether a meeting appears in the list of type ``kind``.

    The scheduled meeting lists describe the account at its anchor, so they
    stay the same as the emulator's clock advances.
    """
    anchor = request.account.anchor
    if kind in ("upcoming", "upcoming_meetings"):
        return plan.start_time is None or plan.start_time >= anchor
    if kind == "previous_meetings":
        return plan.past_count > 0
    # "live" lists nothing, even for an instance that spans the anchor.
    return kind != "live"


# The report, dashboard and list routes register themselves on ROUTES.
from zoom_fake import list_routes, report_routes  # noqa: F401
