"""Routes that list past instances, webinars, cloud recordings and groups."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any
from urllib.parse import unquote

from zoom_fake import records
from zoom_fake.base import LIGHT, MEDIUM, ApiError
from zoom_fake.dates import (
    MAX_RANGE_DAYS,
    DateRange,
    add_months,
    check_order,
    date_range,
    midnight,
    parse_date,
)
from zoom_fake.paging import PAGE_FIELDS, validation_failed
from zoom_fake.router import ApiRequest
from zoom_fake.routes import (
    ROUTES,
    require_paid_plan,
    user_index,
    user_not_found,
)
from zoom_fake.timeline import MEETING, WEBINAR

# Zoom lists past instances of the last 15 months.
INSTANCE_MONTHS = 15
WEBINAR_PLAN_MISSING = (
    "Webinar plan is missing. You must subscribe to the webinar plan and enable "
    "webinars for this user in order to perform this action."
)
WEBINAR_LIST_TYPES = ("scheduled", "upcoming")
RECORDING_PAGE_FIELDS = ("page_count", "page_size", "total_records", "next_page_token")

ROUTES.missing_under("/v2/past_webinars/", 3001, "Webinar does not exist: {rest}.")


@ROUTES.get(
    "/v2/past_meetings/{meetingId}/instances",
    category=MEDIUM,
    classic_scopes=("meeting:read:admin", "meeting:read"),
    granular_scopes=(
        "meeting:read:list_past_instances",
        "meeting:read:list_past_instances:admin",
    ),
)
def list_past_meeting_instances(request: ApiRequest) -> dict[str, Any]:
    """List the ended instances of a meeting series of the last 15 months."""
    return {"meetings": _past_instances(request, MEETING, "meetingId")}


@ROUTES.get(
    "/v2/past_webinars/{webinarId}/instances",
    category=LIGHT,
    classic_scopes=("webinar:read:admin", "webinar:read"),
    granular_scopes=(
        "webinar:read:list_past_instances",
        "webinar:read:list_past_instances:admin",
    ),
)
def list_past_webinar_instances(request: ApiRequest) -> dict[str, Any]:
    """List the ended instances of a webinar series of the last 15 months."""
    require_paid_plan(request)
    return {"webinars": _past_instances(request, WEBINAR, "webinarId")}


def _past_instances(request: ApiRequest, kind: str, param: str) -> list[dict[str, Any]]:
    segment = request.params[param]
    account = request.account
    plan = None
    if segment.isascii() and segment.isdigit():
        plan = account.timeline.plan_by_id(kind, int(segment))
    if plan is None:
        noun = "Meeting" if kind == MEETING else "Webinar"
        raise ApiError(404, 3001, f"{noun} does not exist: {unquote(segment)}.")
    now = account.now()
    cutoff = midnight(add_months(now.date(), -INSTANCE_MONTHS))
    return [
        records.instance_summary(instance)
        for instance in account.timeline.ended(plan, now)
        if instance.start >= cutoff
    ]


@ROUTES.get(
    "/v2/users/{userId}/webinars",
    category=MEDIUM,
    classic_scopes=("webinar:read:admin", "webinar:read"),
    granular_scopes=("webinar:read:list_webinars", "webinar:read:list_webinars:admin"),
    page_size_max=300,
    query_defaults={"type": "scheduled"},
)
def list_webinars(request: ApiRequest) -> dict[str, Any]:
    """List a user's webinars; users without the webinar add-on get code 200."""
    account = request.account
    index = user_index(request)
    if account.status_of(index) == "pending":
        raise user_not_found(request)
    if request.plan == "free" or not account.has_webinar_plan(index):
        raise ApiError(400, 200, WEBINAR_PLAN_MISSING)
    kind = request.query["type"]
    if kind not in WEBINAR_LIST_TYPES:
        raise validation_failed(
            "type", f"must be one of {', '.join(WEBINAR_LIST_TYPES)}"
        )
    plans = account.timeline.plans(WEBINAR, index)
    if kind == "upcoming":
        plans = [
            plan
            for plan in plans
            if plan.start_time is not None and plan.start_time >= account.anchor
        ]

    def fetch(start: int, stop: int) -> list[dict[str, Any]]:
        return [records.webinar_record(account, plan) for plan in plans[start:stop]]

    return request.envelope("webinars", len(plans), fetch, fields=PAGE_FIELDS)


@ROUTES.get(
    "/v2/users/{userId}/recordings",
    category=MEDIUM,
    classic_scopes=("recording:read:admin", "recording:read"),
    granular_scopes=(
        "cloud_recording:read:list_user_recordings",
        "cloud_recording:read:list_user_recordings:master",
        "cloud_recording:read:list_user_recordings:admin",
    ),
    page_size_max=300,
)
def list_recordings(request: ApiRequest) -> dict[str, Any]:
    """List a user's cloud recordings of meetings that ended in ``from``..``to``.

    A range longer than one month is shortened without an error, and the
    envelope's ``from`` and ``to`` show the range used. Recordings are listed
    newest first. The trash is always empty.
    """
    require_paid_plan(request)
    account = request.account
    index = user_index(request)
    if account.status_of(index) == "pending":
        raise user_not_found(request)
    window = recording_window(request.query, account.now().date())
    found = account.recorded_instances(index, window)
    if request.query.get("trash", "false").lower() == "true":
        found = []
    meeting_id = request.query.get("meeting_id", "")
    if meeting_id:
        found = [item for item in found if str(item.plan.id) == meeting_id]

    def fetch(start: int, stop: int) -> list[dict[str, Any]]:
        return [records.recording_record(account, item) for item in found[start:stop]]

    extra = {"from": window.first_text, "to": window.last_text}
    return request.envelope(
        "meetings", len(found), fetch, fields=RECORDING_PAGE_FIELDS, extra=extra
    )


def recording_window(query: Mapping[str, str], today: date) -> DateRange:
    """Return the date range a recordings request covers.

    ``from`` defaults to today and ``to`` to tomorrow, as Zoom's OpenAPI file
    describes. A range longer than one month keeps its ``to`` and starts one
    month earlier.

    Raises:
        ApiError: Code 300 for a malformed date or ``to`` before ``from``.
    """
    first = parse_date("from", query["from"]) if query.get("from") else today
    if query.get("to"):
        last = parse_date("to", query["to"])
    else:
        last = today + timedelta(days=1)
    check_order(first, last)
    # NOTE: Zoom documents only that the range "can be a month". Responses
    # reported publicly in 2018 and 2020 kept "to" and moved "from" forward.
    if (last - first).days > MAX_RANGE_DAYS:
        first = last - timedelta(days=MAX_RANGE_DAYS)
    return date_range(first, last)


@ROUTES.get(
    "/v2/groups",
    category=MEDIUM,
    classic_scopes=("group:read:admin", "group:write:admin"),
    granular_scopes=("group:read:list_groups:admin",),
    page_size_max=300,
)
def list_groups(request: ApiRequest) -> dict[str, Any]:
    """List the account's groups with their member counts."""
    require_paid_plan(request)
    groups = request.account.groups

    def fetch(start: int, stop: int) -> list[dict[str, Any]]:
        return groups[start:stop]

    fields = ("total_records", "next_page_token")
    return request.envelope("groups", len(groups), fetch, fields=fields)


@ROUTES.get(
    "/v2/groups/{groupId}/members",
    category=MEDIUM,
    classic_scopes=("group:read:admin", "group:write:admin"),
    granular_scopes=("group:read:list_members:admin",),
    page_size_max=2000,
)
def list_group_members(request: ApiRequest) -> dict[str, Any]:
    """List a group's members: the users whose ``group_ids`` name it."""
    require_paid_plan(request)
    account = request.account
    group_id = unquote(request.params["groupId"])
    indexes = account.group_member_indexes(group_id)
    if indexes is None:
        raise ApiError(404, 4130, f"A group with this {group_id} does not exist.")

    def fetch(start: int, stop: int) -> list[dict[str, Any]]:
        return [account.member_record(index) for index in indexes[start:stop]]

    return request.envelope("members", len(indexes), fetch, fields=PAGE_FIELDS)
