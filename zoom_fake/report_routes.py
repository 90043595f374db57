"""Report and dashboard routes: past meetings, participants, usage and logs.

Every report needs a paid plan, so on a free plan they respond with code 200. Dated
reports take at most one month from the recent six months (see
:mod:`zoom_fake.dates`).
"""

from __future__ import annotations

import functools
from datetime import date, timedelta
from typing import Any

from zoom_fake import records
from zoom_fake.activity import OPERATION_CATEGORIES
from zoom_fake.base import HEAVY, RESOURCE_INTENSIVE, ApiError
from zoom_fake.dates import (
    DateRange,
    earliest_report_date,
    parse_date,
    report_range,
)
from zoom_fake.paging import validation_failed
from zoom_fake.router import ApiRequest
from zoom_fake.routes import (
    ROUTES,
    InstanceErrors,
    require_paid_plan,
    resolve_instance,
    user_index,
    user_not_found,
)
from zoom_fake.timeline import MEETING, WEBINAR

REPORT_TYPES = ("past", "pastOne", "pastJoined")
HOST_REPORT_TYPES = ("active", "inactive")
DASHBOARD_TYPES = ("past", "pastOne", "live")
DATE_TYPES = ("start_time", "end_time")
PARTICIPANT_PAGE_FIELDS = (
    "page_count", "page_size", "total_records", "next_page_token",
)  # fmt: skip
LOG_PAGE_FIELDS = ("page_size", "next_page_token")
DAILY_OUT_OF_RANGE = (
    "Daily report can only be provided for a month that falls within the recent "
    "6 months."
)
# Zoom's OpenAPI file gives this text with code 400. The emulator sends code
# 200, the code of its other errors for a feature the plan lacks.
DASHBOARD_DISABLED = (
    "This API is only available for ZMP and Business or higher accounts that have "
    "enabled the Dashboard feature."
)
# When /report/activities gets no dates, it covers the 30 days up to today.
DEFAULT_ACTIVITY_DAYS = 30

REPORT_MEETING_ERRORS = InstanceErrors(
    kind=MEETING,
    missing="Meeting {id} not found or has expired.",
    not_ended="Meeting has not ended",
    too_old="Can not access meeting a year ago.",
)
REPORT_WEBINAR_ERRORS = InstanceErrors(
    kind=WEBINAR,
    missing='Webinar "{id}" not found or has expired',
    not_ended="Webinar has not ended",
    too_old="Can not access a webinar a year ago.",
)

ROUTES.missing_under(
    "/v2/report/meetings/", 3001, "Meeting {rest} not found or has expired."
)
ROUTES.missing_under(
    "/v2/report/webinars/", 3001, 'Webinar "{rest}" not found or has expired'
)


@ROUTES.get(
    "/v2/report/users/{userId}/meetings",
    category=HEAVY,
    classic_scopes=("report:read:admin",),
    granular_scopes=("report:read:user:admin",),
    page_size_max=300,
    query_defaults={"type": "past"},
)
def report_user_meetings(request: ApiRequest) -> dict[str, Any]:
    """List a host's ended meeting instances that started in ``from``..``to``.

    Each instance of a recurring meeting is listed with its own UUID, oldest
    first. ``pastOne`` lists those the host attended alone; ``pastJoined`` is
    served as ``past``.
    """
    require_paid_plan(request)
    account = request.account
    index = user_index(request)
    if account.status_of(index) == "pending":
        raise user_not_found(request)
    kind = request.query["type"]
    if kind not in REPORT_TYPES:
        raise validation_failed("type", f"must be one of {', '.join(REPORT_TYPES)}")
    window = report_range(request.query, account.now().date())
    # NOTE: Zoom documents that this report lists only meetings with two or
    # more participants. The emulator lists every ended instance, so clients
    # meet instances whose participant report is empty.
    found = account.report_instances(index, window, kind)

    def fetch(start: int, stop: int) -> list[dict[str, Any]]:
        return [
            records.report_meeting_record(account, instance)
            for instance in found[start:stop]
        ]

    return request.envelope("meetings", len(found), fetch, extra=_echo(window))


@ROUTES.get(
    "/v2/report/users",
    category=HEAVY,
    classic_scopes=("report:read:admin",),
    granular_scopes=("report:read:list_users:admin",),
    page_size_max=300,
    query_defaults={"type": "active"},
)
def report_users(request: ApiRequest) -> dict[str, Any]:
    """List the active hosts (who hosted a meeting in ``from``..``to``) or the
    inactive ones, in listing order, with their meeting totals."""
    require_paid_plan(request)
    kind = request.query["type"]
    if kind not in HOST_REPORT_TYPES:
        allowed = ", ".join(HOST_REPORT_TYPES)
        raise validation_failed("type", f"must be one of {allowed}")
    account = request.account
    window = report_range(request.query, account.now().date())
    minute = int(account.now().timestamp() // 60)
    totals = _host_totals(account, window, minute)
    listed = [
        (index, totals.get(index))
        for status in ("active", "inactive")
        for index in account.user_indexes(status)
        if (index in totals) == (kind == "active")
    ]

    def fetch(start: int, stop: int) -> list[dict[str, Any]]:
        return [
            records.host_report_record(account, index, counts)
            for index, counts in listed[start:stop]
        ]

    summary = {
        "total_meetings": sum(t[0] for t in totals.values()),
        "total_participants": sum(t[1] for t in totals.values()),
        "total_meeting_minutes": sum(t[2] for t in totals.values()),
    }
    extra = {**_echo(window), **summary}
    return request.envelope("users", len(listed), fetch, extra=extra)


@functools.lru_cache(maxsize=16)
def _host_totals(
    account: Any, window: DateRange, minute: int
) -> dict[int, tuple[int, int, int]]:
    """Return meetings, participants and minutes per host that had a meeting.

    The hosts are those of the ended instances that started in ``window``,
    found in the account's instance index. The emulated minute is part of the
    cache key, so meetings that end later are counted by later requests,
    while the pages of one listing share one count.
    """
    usage = account.usage
    index = usage.instance_index()
    totals: dict[int, tuple[int, int, int]] = {}
    for position in usage.dashboard_positions(window, "past"):
        host = usage.host_of(position)
        meetings, people, minutes = totals.get(host, (0, 0, 0))
        totals[host] = (
            meetings + 1,
            people + index.people[position],
            minutes + index.minutes[position],
        )
    return {
        host: counts for host, counts in totals.items() if account.hosts_meetings(host)
    }


@ROUTES.get(
    "/v2/report/meetings/{meetingId}/participants",
    category=HEAVY,
    classic_scopes=("report:read:admin",),
    granular_scopes=("report:read:list_meeting_participants:admin",),
    page_size_max=300,
)
def report_meeting_participants(request: ApiRequest) -> dict[str, Any]:
    """List the participants of one ended meeting instance, one row per join."""
    return _participants(request, "meetingId", REPORT_MEETING_ERRORS)


@ROUTES.get(
    "/v2/report/webinars/{webinarId}/participants",
    category=HEAVY,
    classic_scopes=("report:read:admin",),
    granular_scopes=("report:read:list_webinar_participants:admin",),
    page_size_max=300,
)
def report_webinar_participants(request: ApiRequest) -> dict[str, Any]:
    """List the participants of one ended webinar instance, one row per join."""
    return _participants(request, "webinarId", REPORT_WEBINAR_ERRORS)


def _participants(
    request: ApiRequest, param: str, errors: InstanceErrors
) -> dict[str, Any]:
    require_paid_plan(request)
    instance = resolve_instance(request, param, errors)
    rows = request.account.timeline.participants(instance)
    fields = request.query.get("include_fields", "").split(",")
    if "registrant_id" not in fields:
        for row in rows:
            del row["registrant_id"]

    def fetch(start: int, stop: int) -> list[dict[str, Any]]:
        return rows[start:stop]

    return request.envelope(
        "participants", len(rows), fetch, fields=PARTICIPANT_PAGE_FIELDS
    )


@ROUTES.get(
    "/v2/report/daily",
    category=HEAVY,
    classic_scopes=("report:read:admin",),
    granular_scopes=(),
)
def report_daily(request: ApiRequest) -> dict[str, Any]:
    """Return the account's usage per day of one month, up to today.

    ``year`` and ``month`` default to the current month; a month before the
    recent six months, or after the current one, gets code 300.
    """
    require_paid_plan(request)
    account = request.account
    today = account.now().date()
    year = _int_param(request, "year", today.year)
    month = _int_param(request, "month", today.month)
    if not 1 <= month <= 12:
        raise validation_failed("month", f"must be from 1 to 12; got {month}")
    first = date(year, month, 1)
    if not earliest_report_date(today) <= first <= today:
        raise ApiError(400, 300, DAILY_OUT_OF_RANGE)
    group_id = request.query.get("group_id") or None
    if group_id is not None and account.group_member_indexes(group_id) is None:
        raise ApiError(404, 4130, f"A group with this {group_id} does not exist.")
    return account.daily_report(year, month, group_id)


@ROUTES.get(
    "/v2/report/activities",
    category=HEAVY,
    classic_scopes=("report:read:admin",),
    granular_scopes=("report:read:user_activities:admin",),
    page_size_max=300,
)
def report_activities(request: ApiRequest) -> dict[str, Any]:
    """List sign-in and sign-out events of ``from``..``to``, newest first.

    Several events often share one second. Without dates, the report covers
    the 30 days up to today.
    """
    require_paid_plan(request)
    account = request.account
    today = account.now().date()
    query = dict(request.query)
    if not query.get("to"):
        query["to"] = today.isoformat()
    if not query.get("from"):
        last = parse_date("to", query["to"])
        query["from"] = (last - timedelta(days=DEFAULT_ACTIVITY_DAYS)).isoformat()
    window = report_range(query, today)
    logs = account.logs.sign_ins(window)
    return request.envelope(
        "activity_logs",
        logs.total,
        logs.records,
        fields=LOG_PAGE_FIELDS,
        extra=_echo(window),
    )


@ROUTES.get(
    "/v2/report/operationlogs",
    category=HEAVY,
    classic_scopes=("report:read:admin",),
    granular_scopes=("report:read:operation_logs:admin",),
    page_size_max=300,
    query_defaults={"category_type": "all"},
)
def report_operation_logs(request: ApiRequest) -> dict[str, Any]:
    """List operation logs of ``from``..``to``, newest first.

    The dates may carry a time ("yyyy-MM-dd HH:mm"). Several entries often
    share one second.
    """
    require_paid_plan(request)
    account = request.account
    category = request.query["category_type"]
    if category not in OPERATION_CATEGORIES:
        message = f"must be one of {', '.join(OPERATION_CATEGORIES)}"
        raise validation_failed("category_type", message)
    window = report_range(request.query, account.now().date(), allow_time=True)
    logs = account.logs.operations(window, category)
    return request.envelope(
        "operation_logs", logs.total, logs.records, fields=LOG_PAGE_FIELDS
    )


@ROUTES.get(
    "/v2/metrics/meetings",
    category=RESOURCE_INTENSIVE,
    classic_scopes=("dashboard_meetings:read:admin", "dashboard:read:admin"),
    granular_scopes=("dashboard:read:list_meetings:admin",),
    page_size_max=300,
    query_defaults={"type": "live"},
)
def dashboard_meetings(request: ApiRequest) -> dict[str, Any]:
    """List dashboard meetings: ``past``, ``pastOne`` or ``live`` (the default).

    Meetings are listed by start time; ``duration`` is an "hh:mm:ss" string.
    """
    if not request.dashboards or request.plan != "business":
        raise ApiError(400, 200, DASHBOARD_DISABLED)
    account = request.account
    query = request.query
    kind = query["type"]
    if kind not in DASHBOARD_TYPES:
        raise validation_failed("type", f"must be one of {', '.join(DASHBOARD_TYPES)}")
    date_type = query.get("query_date_type") or "start_time"
    if date_type not in DATE_TYPES:
        message = f"must be one of {', '.join(DATE_TYPES)}"
        raise validation_failed("query_date_type", message)
    now = account.now()
    window = report_range(query, now.date(), allow_time=True)
    found = account.usage.dashboard_positions(
        window, kind, by_end=date_type == "end_time", hosts=_group_hosts(request)
    )
    tracking = query.get("include_fields") == "tracking_fields"

    def fetch(start: int, stop: int) -> list[dict[str, Any]]:
        page = []
        for instance in account.usage.instances_at(found[start:stop]):
            record = records.metrics_meeting_record(account, instance, now)
            if tracking:
                record["tracking_fields"] = []
            page.append(record)
        return page

    return request.envelope(
        "meetings",
        len(found),
        fetch,
        fields=PARTICIPANT_PAGE_FIELDS,
        extra=_echo(window),
    )


def _group_hosts(request: ApiRequest) -> set[int] | None:
    """Return the members of the groups in ``group_id``, or None for no filter."""
    text = request.query.get("group_id", "")
    if not text:
        return None
    hosts: set[int] = set()
    for group_id in text.split(","):
        hosts.update(request.account.group_member_indexes(group_id.strip()) or ())
    return hosts


def _echo(window: DateRange) -> dict[str, str]:
    return {"from": window.first_text, "to": window.last_text}


def _int_param(request: ApiRequest, name: str, default: int) -> int:
    text = request.query.get(name, "")
    if not text:
        return default
    try:
        return int(text)
    except ValueError:
        raise validation_failed(name, f"must be an integer; got {text!r}") from None
