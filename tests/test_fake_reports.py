"""The emulator's report, webinar, recording, group and dashboard routes.

Every request goes over real HTTP to a FakeZoom on 127.0.0.1. The account is
anchored to a fixed date and the emulator's clock is injected, so moving the
clock is how a test makes time pass.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import quote

import pytest
import requests

from zoom_fake import AccountSpec, FakeZoom

TIMEOUT = (2.0, 5.0)
ANCHOR = datetime(2026, 3, 10, tzinfo=UTC)
START = ANCHOR + timedelta(hours=1)
TODAY = ANCHOR.date()
SPEC = AccountSpec(seed=21, anchor=ANCHOR)
PAID_ONLY = {"code": 200, "message": "Only available for paid account."}
DAILY_OUT_OF_RANGE = {
    "code": 300,
    "message": (
        "Daily report can only be provided for a month that falls within the "
        "recent 6 months."
    ),
}


class FakeClock:
    """A wall clock that moves only when a test moves it."""

    def __init__(self, moment: datetime = START) -> None:
        self.now = moment.timestamp()

    def __call__(self) -> float:
        return self.now

    def set(self, moment: datetime) -> None:
        self.now = moment.timestamp()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def fake(clock: FakeClock) -> Iterator[FakeZoom]:
    with FakeZoom(account=SPEC, clock=clock) as server:
        yield server


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


def call(
    http: requests.Session,
    fake: FakeZoom,
    path: str,
    params: dict[str, Any] | None = None,
) -> requests.Response:
    """GET an API path with a new token, so the clock's time cannot expire it."""
    grant = http.post(
        fake.token_url,
        auth=(fake.client_id, fake.client_secret),
        data={"grant_type": "account_credentials", "account_id": fake.account_id},
        timeout=TIMEOUT,
    )
    assert grant.status_code == 200, grant.text
    headers = {"Authorization": f"Bearer {grant.json()['access_token']}"}
    return http.get(fake.url + path, headers=headers, params=params, timeout=TIMEOUT)


def ok(response: requests.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


def uuid_segment(uuid: str, times: int) -> str:
    for _ in range(times):
        uuid = quote(uuid, safe="")
    return uuid


def uuid_path(uuid: str) -> str:
    """Encode a UUID for a path as Zoom requires: twice for "/..." or "//"."""
    twice = uuid.startswith("/") or "//" in uuid
    return uuid_segment(uuid, 2 if twice else 1)


def parse_time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def window(first: date, last: date) -> dict[str, str]:
    return {"from": first.isoformat(), "to": last.isoformat()}


def host_ids(fake: FakeZoom) -> list[str]:
    return [user["id"] for user in fake.account.users if "id" in user]


def all_instances(fake: FakeZoom) -> dict[str, dict[str, Any]]:
    return {
        record["uuid"]: record
        for user_id in host_ids(fake)
        for record in fake.account.instances_for(user_id)
    }


def paged(
    http: requests.Session,
    fake: FakeZoom,
    path: str,
    key: str,
    params: dict[str, Any],
) -> list[dict[str, Any]]:
    """Follow next_page_token to the end and return every record."""
    records: list[dict[str, Any]] = []
    query = dict(params)
    for _ in range(100):
        body = ok(call(http, fake, path, query))
        records.extend(body[key])
        if not body["next_page_token"]:
            return records
        query = {**params, "next_page_token": body["next_page_token"]}
    raise AssertionError(f"{path} did not finish in 100 pages")


# Timeline anchored to the clock


def test_default_anchor_is_clock_midnight() -> None:
    moment = datetime(2026, 5, 17, 15, 30, tzinfo=UTC)
    account = FakeZoom(clock=moment.timestamp).account
    assert account.anchor == datetime(2026, 5, 17, tzinfo=UTC)


def test_clock_reveals_ended_instance(
    http: requests.Session, fake: FakeZoom, clock: FakeClock
) -> None:
    upcoming = fake.account.next_ending_meeting()
    assert upcoming is not None
    end = parse_time(upcoming["end_time"])
    path = f"/v2/report/users/{upcoming['host_id']}/meetings"
    params = window(end.date() - timedelta(days=20), end.date())
    participants = "/v2/report/meetings/" + uuid_path(upcoming["uuid"])
    before = ok(call(http, fake, path, params))["meetings"]
    clock.set(end - timedelta(seconds=1))
    running = call(http, fake, participants + "/participants")
    clock.set(end)
    after = ok(call(http, fake, path, params))["meetings"]
    ended = call(http, fake, participants + "/participants")
    assert upcoming["uuid"] not in {record["uuid"] for record in before}
    assert upcoming["uuid"] in {record["uuid"] for record in after}
    assert running.status_code == 404
    assert running.json() == {"code": 3001, "message": "Meeting has not ended"}
    assert ended.status_code == 200


def test_clock_changes_nothing_retroactively(fake: FakeZoom, clock: FakeClock) -> None:
    before = all_instances(fake)
    upcoming = fake.account.next_ending_meeting()
    assert upcoming is not None
    clock.set(parse_time(upcoming["end_time"]))
    after = all_instances(fake)
    assert set(after) - set(before) == {upcoming["uuid"]}
    for uuid, record in before.items():
        assert after[uuid] == record


def test_clock_reveals_logs_and_recordings(fake: FakeZoom, clock: FakeClock) -> None:
    account = fake.account
    first, last = TODAY - timedelta(days=5), TODAY + timedelta(days=25)
    logs_before = account.activity_logs(first, last)
    recordings_before = sum(len(account.recordings_for(u)) for u in host_ids(fake))
    clock.set(ANCHOR + timedelta(days=SPEC.future_days))
    logs_after = account.activity_logs(first, last)
    recordings_after = sum(len(account.recordings_for(u)) for u in host_ids(fake))
    assert logs_before
    assert len(logs_after) > len(logs_before)
    assert logs_after[-len(logs_before) :] == logs_before
    assert recordings_after > recordings_before


def test_instances_for_lists_only_ended(fake: FakeZoom) -> None:
    now = fake.account.now()
    for record in all_instances(fake).values():
        assert parse_time(record["end_time"]) <= now


# Report of a host's meetings: window and retention rules


def test_report_lists_each_instance(http: requests.Session, fake: FakeZoom) -> None:
    series = fake.account.first_only_attended_series()
    path = f"/v2/report/users/{series['host_id']}/meetings"
    params = window(TODAY - timedelta(days=30), TODAY)
    body = ok(call(http, fake, path, params))
    listed = [record for record in body["meetings"] if record["id"] == series["id"]]
    assert body["from"] == params["from"]
    assert body["to"] == params["to"]
    assert [record["uuid"] for record in listed] == series["uuids"]
    assert len({record["uuid"] for record in listed}) == 4
    assert body["total_records"] == len(body["meetings"])


def test_report_window_is_inclusive(http: requests.Session, fake: FakeZoom) -> None:
    series = fake.account.first_only_attended_series()
    day = parse_time(fake.account.instances_for(series["host_id"])[-1]["start_time"])
    path = f"/v2/report/users/{series['host_id']}/meetings"
    body = ok(call(http, fake, path, window(day.date(), day.date())))
    starts = {record["start_time"][:10] for record in body["meetings"]}
    assert starts == {day.date().isoformat()}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "from"),
        ({"from": "2026-03-01"}, "to"),
        ({"from": "2026/03/01", "to": "2026-03-05"}, "from"),
        ({"from": "2026-03-01", "to": "5 March"}, "to"),
    ],
    ids=["no-dates", "no-to", "bad-from", "bad-to"],
)
def test_report_bad_dates_are_300(
    http: requests.Session, fake: FakeZoom, params: dict[str, str], field: str
) -> None:
    response = call(http, fake, "/v2/report/users/me/meetings", params)
    body = response.json()
    assert response.status_code == 400
    assert body["code"] == 300
    assert body["errors"][0]["field"] == field


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        (window(date(2026, 3, 5), date(2026, 3, 1)), "before the from date"),
        (window(date(2026, 2, 1), date(2026, 3, 4)), "longer than one month"),
        (window(date(2025, 8, 31), date(2025, 9, 15)), "recent six months"),
    ],
    ids=["to-before-from", "over-a-month", "too-old"],
)
def test_report_bad_range_is_300(
    http: requests.Session, fake: FakeZoom, params: dict[str, str], fragment: str
) -> None:
    response = call(http, fake, "/v2/report/users/me/meetings", params)
    assert response.status_code == 400
    assert response.json()["code"] == 300
    assert fragment in response.json()["message"]


@pytest.mark.parametrize(
    "params",
    [
        window(date(2025, 9, 1), date(2025, 9, 30)),
        window(date(2026, 2, 8), date(2026, 3, 10)),
        window(date(2026, 3, 10), date(2026, 4, 9)),
    ],
    ids=["first-allowed-day", "thirty-days", "into-the-future"],
)
def test_report_edge_ranges_allowed(
    http: requests.Session, fake: FakeZoom, params: dict[str, str]
) -> None:
    response = call(http, fake, "/v2/report/users/me/meetings", params)
    assert response.status_code == 200, response.text


def test_report_unknown_user_is_1001(http: requests.Session, fake: FakeZoom) -> None:
    params = window(TODAY - timedelta(days=7), TODAY)
    response = call(http, fake, "/v2/report/users/nobody/meetings", params)
    assert response.status_code == 404
    assert response.json()["code"] == 1001


def test_report_past_one_lists_alone(http: requests.Session, fake: FakeZoom) -> None:
    series = fake.account.first_only_attended_series()
    path = f"/v2/report/users/{series['host_id']}/meetings"
    params = {**window(TODAY - timedelta(days=30), TODAY), "type": "pastOne"}
    body = ok(call(http, fake, path, params))
    assert body["meetings"]
    assert {record["participants_count"] for record in body["meetings"]} == {1}
    assert set(series["uuids"][1:]) <= {record["uuid"] for record in body["meetings"]}


def test_participants_year_old_is_12702(
    http: requests.Session, clock: FakeClock
) -> None:
    spec = AccountSpec(seed=21, anchor=ANCHOR, history_days=500)
    with FakeZoom(account=spec, clock=clock) as fake:
        cutoff = fake.account.now() - timedelta(days=365)
        old = next(
            record
            for user_id in host_ids(fake)
            for record in fake.account.instances_for(user_id)
            if parse_time(record["start_time"]) < cutoff
        )
        segment = uuid_path(old["uuid"])
        report = call(http, fake, f"/v2/report/meetings/{segment}/participants")
        past = call(http, fake, f"/v2/past_meetings/{segment}")
    assert report.status_code == 400
    assert report.json() == {
        "code": 12702,
        "message": "Can not access meeting a year ago.",
    }
    assert past.status_code == 400
    assert past.json()["code"] == 12702


# Participants


def test_series_only_first_has_participants(
    http: requests.Session, fake: FakeZoom
) -> None:
    series = fake.account.first_only_attended_series()
    path = f"/v2/past_meetings/{series['id']}/instances"
    instances = ok(call(http, fake, path))["meetings"]
    uuids = [instance["uuid"] for instance in instances]
    counts = [
        ok(call(http, fake, f"/v2/report/meetings/{uuid_path(u)}/participants"))[
            "total_records"
        ]
        for u in uuids
    ]
    assert uuids == series["uuids"]
    assert len(uuids) == 4
    assert counts[0] >= 4
    assert counts[1:] == [0, 0, 0]


def test_sparse_series_needs_two_meetings(clock: FakeClock) -> None:
    spec = AccountSpec(seed=21, anchor=ANCHOR, meetings_per_user=1)
    account = FakeZoom(account=spec, clock=clock).account
    with pytest.raises(LookupError, match="meetings_per_user"):
        account.first_only_attended_series()


def test_empty_participants_envelope(http: requests.Session, fake: FakeZoom) -> None:
    uuid = fake.account.first_only_attended_series()["uuids"][1]
    path = f"/v2/report/meetings/{uuid_path(uuid)}/participants"
    body = ok(call(http, fake, path))
    assert body == {
        "page_count": 0,
        "page_size": 30,
        "total_records": 0,
        "next_page_token": "",
        "participants": [],
    }


def test_participants_rejoin_rows(http: requests.Session, fake: FakeZoom) -> None:
    uuid = fake.account.first_only_attended_series()["uuids"][0]
    path = f"/v2/report/meetings/{uuid_path(uuid)}/participants"
    rows = paged(http, fake, path, "participants", {"page_size": 3})
    by_person = Counter(row["id"] for row in rows if row["id"])
    rejoined = [person for person, count in by_person.items() if count > 1]
    assert rejoined
    joins = [row for row in rows if row["id"] == rejoined[0]]
    assert len({row["user_id"] for row in joins}) == len(joins)
    assert len({row["join_time"] for row in joins}) == len(joins)
    assert len({row["user_email"] for row in joins}) == 1
    assert len({row["user_id"] for row in rows}) == len(rows)
    assert rows == fake.account.participants_for(uuid)


def test_participants_guests_are_anonymous(
    http: requests.Session, fake: FakeZoom
) -> None:
    uuid = fake.account.first_only_attended_series()["uuids"][0]
    path = f"/v2/report/meetings/{uuid_path(uuid)}/participants"
    rows = ok(call(http, fake, path, {"page_size": 300}))["participants"]
    guests = [row for row in rows if row["id"] == ""]
    members = [row for row in rows if row["id"]]
    assert guests
    assert members
    assert {row["user_email"] for row in guests} == {""}
    assert all(row["name"] for row in guests)
    assert all("@" in row["user_email"] for row in members)


def test_participant_duration_is_seconds(
    http: requests.Session, fake: FakeZoom
) -> None:
    uuid = fake.account.first_only_attended_series()["uuids"][0]
    path = f"/v2/report/meetings/{uuid_path(uuid)}/participants"
    rows = ok(call(http, fake, path, {"page_size": 300}))["participants"]
    for row in rows:
        length = parse_time(row["leave_time"]) - parse_time(row["join_time"])
        assert row["duration"] == int(length.total_seconds())
    assert rows == sorted(rows, key=lambda row: row["join_time"])


@pytest.mark.parametrize("form", ["leading_slash", "double_slash", "plain"])
def test_participants_uuid_encoding(
    http: requests.Session, fake: FakeZoom, form: str
) -> None:
    def form_of(uuid: str) -> str:
        if uuid.startswith("/"):
            return "leading_slash"
        return "double_slash" if "//" in uuid else "plain"

    uuid = next(u for u in fake.account.past_meetings if form_of(u) == form)
    right = 1 if form == "plain" else 2
    wrong = 2 if form == "plain" else 1
    good = call(
        http, fake, f"/v2/report/meetings/{uuid_segment(uuid, right)}/participants"
    )
    bad = call(
        http, fake, f"/v2/report/meetings/{uuid_segment(uuid, wrong)}/participants"
    )
    assert good.status_code == 200
    assert good.json()["participants"] == fake.account.participants_for(uuid)
    assert bad.status_code == 404
    assert bad.json()["code"] == 3001


def test_participants_raw_slash_is_3001(http: requests.Session, fake: FakeZoom) -> None:
    uuid = next(u for u in fake.account.past_meetings if u.startswith("/"))
    response = call(http, fake, f"/v2/report/meetings/{uuid}/participants")
    assert response.status_code == 404
    assert response.json()["code"] == 3001


def test_participants_by_id_are_latest(http: requests.Session, fake: FakeZoom) -> None:
    owner = fake.account.owner["id"]
    meeting = fake.account.meetings_for(owner)[0]
    latest = fake.account.past_instances(meeting["id"])[-1]["uuid"]
    path = f"/v2/report/meetings/{meeting['id']}/participants"
    body = ok(call(http, fake, path, {"page_size": 300}))
    assert body["participants"] == fake.account.participants_for(latest)
    assert body["participants"]


def test_participants_unknown_is_3001(http: requests.Session, fake: FakeZoom) -> None:
    response = call(
        http, fake, "/v2/report/meetings/AAAAAAAAAAAAAAAAAAAAAA%3D%3D/participants"
    )
    assert response.status_code == 404
    assert response.json()["code"] == 3001


def test_participants_upcoming_not_ended(
    http: requests.Session, fake: FakeZoom
) -> None:
    owner = fake.account.owner["id"]
    series = fake.account.meetings_for(owner)[1]
    path = f"/v2/report/meetings/{uuid_path(series['uuid'])}/participants"
    response = call(http, fake, path)
    assert series["type"] == 8
    assert response.status_code == 404
    assert response.json() == {"code": 3001, "message": "Meeting has not ended"}


def test_participants_registrant_opt_in(http: requests.Session, fake: FakeZoom) -> None:
    uuid = fake.account.first_only_attended_series()["uuids"][0]
    path = f"/v2/report/meetings/{uuid_path(uuid)}/participants"
    plain = ok(call(http, fake, path))["participants"]
    opted = ok(call(http, fake, path, {"include_fields": "registrant_id"}))
    assert all("registrant_id" not in row for row in plain)
    assert all("registrant_id" in row for row in opted["participants"])


# Webinars


def test_webinars_need_the_add_on(http: requests.Session, fake: FakeZoom) -> None:
    with_plan = set(fake.account.webinar_users)
    without = next(u for u in host_ids(fake) if u not in with_plan)
    denied = call(http, fake, f"/v2/users/{without}/webinars")
    allowed = call(http, fake, f"/v2/users/{min(with_plan)}/webinars")
    assert len(with_plan) == SPEC.webinar_users
    assert denied.status_code == 400
    assert denied.json()["code"] == 200
    assert denied.json()["message"].startswith("Webinar plan is missing.")
    assert allowed.status_code == 200
    assert allowed.json()["total_records"] == SPEC.webinars_per_user


def test_webinar_users_must_host(clock: FakeClock) -> None:
    hosts = AccountSpec(
        seed=21, anchor=ANCHOR, active_users=4, no_host_users=1, webinar_users=5
    )
    everyone = AccountSpec(seed=21, anchor=ANCHOR, active_users=4, webinar_users=9)
    narrow = FakeZoom(account=hosts, clock=clock).account
    wide = FakeZoom(account=everyone, clock=clock).account
    assert len(narrow.webinar_users) == 3
    assert len(wide.webinar_users) == 4


def test_webinar_instances_and_participants(
    http: requests.Session, fake: FakeZoom
) -> None:
    webinar = next(
        webinar
        for user_id in fake.account.webinar_users
        for webinar in fake.account.webinars_for(user_id)
        if fake.account.past_instances(webinar["id"], "webinar")
    )
    instances = ok(call(http, fake, f"/v2/past_webinars/{webinar['id']}/instances"))
    uuid = instances["webinars"][0]["uuid"]
    path = f"/v2/report/webinars/{uuid_path(uuid)}/participants"
    rows = paged(http, fake, path, "participants", {"page_size": 300})
    by_id = call(http, fake, f"/v2/report/webinars/{webinar['id']}/participants")
    meeting_route = call(
        http, fake, f"/v2/report/meetings/{uuid_path(uuid)}/participants"
    )
    assert instances["webinars"] == fake.account.past_instances(
        webinar["id"], "webinar"
    )
    assert rows == fake.account.participants_for(uuid)
    assert len(rows) >= 3
    assert by_id.status_code == 200
    assert meeting_route.status_code == 404


def test_past_instances_unknown_is_3001(http: requests.Session, fake: FakeZoom) -> None:
    meeting = call(http, fake, "/v2/past_meetings/12345678901/instances")
    webinar = call(http, fake, "/v2/past_webinars/12345678901/instances")
    assert meeting.status_code == 404
    assert meeting.json()["code"] == 3001
    assert webinar.status_code == 404
    assert webinar.json()["code"] == 3001


# Recordings


def test_recordings_clamp_echoes_range(http: requests.Session, fake: FakeZoom) -> None:
    params = window(date(2025, 6, 1), date(2026, 3, 1))
    body = ok(call(http, fake, "/v2/users/me/recordings", params))
    assert body["from"] == "2026-01-30"
    assert body["to"] == "2026-03-01"
    for record in body["meetings"]:
        assert "2026-01-30" <= record["start_time"][:10] <= "2026-03-01"


def test_recordings_default_range(http: requests.Session, fake: FakeZoom) -> None:
    body = ok(call(http, fake, "/v2/users/me/recordings"))
    assert body["from"] == TODAY.isoformat()
    assert body["to"] == (TODAY + timedelta(days=1)).isoformat()


def test_recordings_match_account(http: requests.Session, fake: FakeZoom) -> None:
    host = next(u for u in host_ids(fake) if fake.account.recordings_for(u))
    expected = fake.account.recordings_for(host)
    last = parse_time(expected[0]["start_time"]).date()
    params = {**window(last - timedelta(days=30), last), "page_size": 1}
    listed = paged(http, fake, f"/v2/users/{host}/recordings", "meetings", params)
    in_window = [r for r in expected if r["start_time"][:10] >= params["from"]]
    assert listed == in_window


def test_recording_files_shape(fake: FakeZoom) -> None:
    recordings = [
        record
        for user_id in host_ids(fake)
        for record in fake.account.recordings_for(user_id)
    ]
    assert recordings
    for record in recordings:
        files = record["recording_files"]
        assert {"MP4", "M4A"} <= {file["file_type"] for file in files}
        assert record["recording_count"] == len(files)
        assert record["total_size"] == sum(file["file_size"] for file in files)
        assert {file["meeting_id"] for file in files} == {record["uuid"]}
        assert len({file["id"] for file in files}) == len(files)
        assert all(file["status"] == "completed" for file in files)


def test_recordings_bad_range_is_300(http: requests.Session, fake: FakeZoom) -> None:
    params = window(date(2026, 3, 5), date(2026, 3, 1))
    response = call(http, fake, "/v2/users/me/recordings", params)
    assert response.status_code == 400
    assert response.json()["code"] == 300


# Daily report


def test_daily_current_month_to_today(http: requests.Session, fake: FakeZoom) -> None:
    body = ok(call(http, fake, "/v2/report/daily"))
    dates = [entry["date"] for entry in body["dates"]]
    assert (body["year"], body["month"]) == (2026, 3)
    assert dates == [f"2026-03-{day:02d}" for day in range(1, 11)]


def test_daily_six_months_back_allowed(http: requests.Session, fake: FakeZoom) -> None:
    body = ok(call(http, fake, "/v2/report/daily", {"year": 2025, "month": 9}))
    assert len(body["dates"]) == 30
    assert body["dates"][-1]["date"] == "2025-09-30"


@pytest.mark.parametrize(
    ("year", "month"), [(2025, 8), (2026, 4), (2024, 3)], ids=["old", "next", "year"]
)
def test_daily_month_out_of_range(
    http: requests.Session, fake: FakeZoom, year: int, month: int
) -> None:
    params = {"year": year, "month": month}
    response = call(http, fake, "/v2/report/daily", params)
    assert response.status_code == 400
    assert response.json() == DAILY_OUT_OF_RANGE


def test_daily_bad_month_is_300(http: requests.Session, fake: FakeZoom) -> None:
    response = call(http, fake, "/v2/report/daily", {"year": 2026, "month": 13})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "month"


def test_daily_counts_match_reports(http: requests.Session, fake: FakeZoom) -> None:
    body = ok(call(http, fake, "/v2/report/daily", {"year": 2026, "month": 2}))
    february = [
        record
        for record in all_instances(fake).values()
        if record["start_time"].startswith("2026-02")
    ]
    assert sum(day["meetings"] for day in body["dates"]) == len(february)
    assert sum(day["participants"] for day in body["dates"]) == sum(
        record["participants_count"] for record in february
    )
    assert sum(day["meeting_minutes"] for day in body["dates"]) == sum(
        record["total_minutes"] for record in february
    )


# Activity and operation logs


def test_activity_logs_share_seconds(http: requests.Session, fake: FakeZoom) -> None:
    params = window(TODAY - timedelta(days=30), TODAY)
    body = ok(call(http, fake, "/v2/report/activities", {**params, "page_size": 300}))
    logs = body["activity_logs"]
    times = [entry["time"] for entry in logs]
    repeats = [count for count in Counter(times).values() if count > 1]
    assert len(repeats) >= 3
    assert times == sorted(times, reverse=True)
    assert max(times) <= "2026-03-10T01:00:00Z"
    assert min(times) >= params["from"]
    assert {entry["type"] for entry in logs} == {"Sign in", "Sign out"}
    assert (body["from"], body["to"]) == (params["from"], params["to"])


def test_activity_pages_keep_order(http: requests.Session, fake: FakeZoom) -> None:
    params = window(TODAY - timedelta(days=30), TODAY)
    whole = ok(call(http, fake, "/v2/report/activities", {**params, "page_size": 300}))
    pages = paged(
        http, fake, "/v2/report/activities", "activity_logs", {**params, "page_size": 4}
    )
    assert pages == whole["activity_logs"]
    assert pages == fake.account.activity_logs(TODAY - timedelta(days=30), TODAY)


def test_activity_range_rules(http: requests.Session, fake: FakeZoom) -> None:
    too_long = call(
        http, fake, "/v2/report/activities", window(date(2026, 1, 1), TODAY)
    )
    too_old = call(
        http, fake, "/v2/report/activities", window(date(2025, 8, 1), date(2025, 8, 5))
    )
    assert too_long.status_code == 400
    assert too_long.json()["code"] == 300
    assert too_old.status_code == 400
    assert too_old.json()["code"] == 300


def test_operation_logs_share_seconds(http: requests.Session, fake: FakeZoom) -> None:
    params = {**window(TODAY - timedelta(days=30), TODAY), "page_size": 300}
    logs = ok(call(http, fake, "/v2/report/operationlogs", params))["operation_logs"]
    times = [entry["time"] for entry in logs]
    assert any(count > 1 for count in Counter(times).values())
    assert times == sorted(times, reverse=True)
    assert {entry["operator"] for entry in logs} <= set(fake.account.admin_emails())


def test_operation_logs_filters(http: requests.Session, fake: FakeZoom) -> None:
    params = {**window(TODAY - timedelta(days=30), TODAY), "page_size": 300}
    everything = ok(call(http, fake, "/v2/report/operationlogs", params))
    users = ok(
        call(
            http, fake, "/v2/report/operationlogs", {**params, "category_type": "user"}
        )
    )
    day = everything["operation_logs"][0]["time"][:10]
    one_hour = {"from": f"{day} 00:00", "to": f"{day} 12:00", "page_size": 300}
    morning = ok(call(http, fake, "/v2/report/operationlogs", one_hour))
    bad = call(http, fake, "/v2/report/operationlogs", {**params, "category_type": "x"})
    assert {e["category_type"] for e in users["operation_logs"]} == {"user"}
    assert len(users["operation_logs"]) < len(everything["operation_logs"])
    for entry in morning["operation_logs"]:
        assert f"{day}T00:00:00Z" <= entry["time"] < f"{day}T12:00:00Z"
    assert bad.status_code == 400


# Groups


def test_groups_agree_with_users(http: requests.Session, fake: FakeZoom) -> None:
    groups = ok(call(http, fake, "/v2/groups"))["groups"]
    users = [
        user
        for status in ("active", "inactive", "pending")
        for user in ok(call(http, fake, "/v2/users", {"status": status}))["users"]
    ]
    assert len(groups) == SPEC.groups
    for group in groups:
        path = f"/v2/groups/{group['id']}/members"
        members = paged(http, fake, path, "members", {"page_size": 1})
        expected = {user["id"] for user in users if group["id"] in user["group_ids"]}
        assert {member["id"] for member in members} == expected
        assert group["total_members"] == len(members)
    known = {group["id"] for group in groups}
    assert all(set(user["group_ids"]) <= known for user in users)


def test_group_members_fields(http: requests.Session, fake: FakeZoom) -> None:
    group = max(fake.account.groups, key=lambda group: group["total_members"])
    body = ok(call(http, fake, f"/v2/groups/{group['id']}/members"))
    member = body["members"][0]
    user = ok(call(http, fake, f"/v2/users/{member['id']}"))
    assert set(member) == {"id", "email", "first_name", "last_name", "type"}
    assert member["email"] == user["email"]
    assert body["page_number"] == 1


def test_group_unknown_is_4130(http: requests.Session, fake: FakeZoom) -> None:
    response = call(http, fake, "/v2/groups/nosuchgroup/members")
    assert response.status_code == 404
    assert response.json()["code"] == 4130


# Dashboards and plans


def test_dashboard_meetings_duration(http: requests.Session, fake: FakeZoom) -> None:
    params = {**window(TODAY - timedelta(days=30), TODAY), "type": "past"}
    body = ok(call(http, fake, "/v2/metrics/meetings", {**params, "page_size": 300}))
    meetings = body["meetings"]
    assert meetings
    for meeting in meetings:
        assert re.fullmatch(r"\d{2}:\d{2}:\d{2}", meeting["duration"])
        length = parse_time(meeting["end_time"]) - parse_time(meeting["start_time"])
        hours, minutes, seconds = map(int, meeting["duration"].split(":"))
        assert hours * 3600 + minutes * 60 + seconds == int(length.total_seconds())
    assert (body["from"], body["to"]) == (params["from"], params["to"])


def test_dashboard_past_one_and_live(
    http: requests.Session, fake: FakeZoom, clock: FakeClock
) -> None:
    params = window(TODAY - timedelta(days=29), TODAY + timedelta(days=1))
    alone = ok(call(http, fake, "/v2/metrics/meetings", {**params, "type": "pastOne"}))
    upcoming = fake.account.next_ending_meeting()
    assert upcoming is not None
    clock.set(parse_time(upcoming["end_time"]) - timedelta(minutes=1))
    live = ok(call(http, fake, "/v2/metrics/meetings", params))["meetings"]
    assert {meeting["participants"] for meeting in alone["meetings"]} == {1}
    assert upcoming["uuid"] in {meeting["uuid"] for meeting in live}
    assert all("end_time" not in meeting for meeting in live)


@pytest.mark.parametrize(
    "settings",
    [{"dashboards": False}, {"plan": "pro"}, {"plan": "free"}],
    ids=["disabled", "pro-plan", "free-plan"],
)
def test_dashboard_gate_is_200(
    http: requests.Session, clock: FakeClock, settings: dict[str, Any]
) -> None:
    params = {**window(TODAY - timedelta(days=7), TODAY), "type": "past"}
    with FakeZoom(account=SPEC, clock=clock, **settings) as fake:
        response = call(http, fake, "/v2/metrics/meetings", params)
    assert response.status_code == 400
    assert response.json()["code"] == 200
    assert "Dashboard feature" in response.json()["message"]


FREE_PLAN_PATHS = [
    "/v2/report/users/me/meetings",
    "/v2/report/meetings/12345678901/participants",
    "/v2/report/webinars/12345678901/participants",
    "/v2/report/daily",
    "/v2/report/activities",
    "/v2/report/operationlogs",
    "/v2/users/me/recordings",
    "/v2/groups",
]


@pytest.mark.parametrize("path", FREE_PLAN_PATHS)
def test_free_plan_reports_are_200(
    http: requests.Session, clock: FakeClock, path: str
) -> None:
    with FakeZoom(account=SPEC, clock=clock, plan="free") as fake:
        response = call(http, fake, path, window(TODAY - timedelta(days=7), TODAY))
        users = call(http, fake, "/v2/users")
    assert response.status_code == 400
    assert response.json() == PAID_ONLY
    assert users.status_code == 200


def test_pro_plan_serves_reports(http: requests.Session, clock: FakeClock) -> None:
    with FakeZoom(account=SPEC, clock=clock, plan="pro") as fake:
        response = call(http, fake, "/v2/report/daily")
    assert response.status_code == 200


def test_fake_rejects_unknown_plan() -> None:
    with pytest.raises(ValueError, match="plan"):
        FakeZoom(plan="enterprise")


# Determinism and size


def report_bodies(http: requests.Session, fake: FakeZoom) -> list[Any]:
    params = window(TODAY - timedelta(days=30), TODAY)
    uuid = fake.account.first_only_attended_series()["uuids"][0]
    paths = [
        ("/v2/report/users/me/meetings", params),
        (f"/v2/report/meetings/{uuid_path(uuid)}/participants", {}),
        ("/v2/users/me/recordings", params),
        ("/v2/report/daily", {}),
        ("/v2/report/activities", {**params, "page_size": 300}),
        ("/v2/metrics/meetings", {**params, "type": "past", "page_size": 300}),
        ("/v2/groups", {}),
    ]
    bodies = [ok(call(http, fake, path, query)) for path, query in paths]
    for body in bodies:
        body.pop("next_page_token", None)
    return bodies


def test_same_anchor_same_data(http: requests.Session) -> None:
    runs = []
    for _ in range(2):
        with FakeZoom(account=SPEC, clock=FakeClock()) as fake:
            runs.append(report_bodies(http, fake))
    assert runs[0] == runs[1]


def test_later_anchor_shifts_history() -> None:
    week = timedelta(weeks=1)
    first = FakeZoom(account=SPEC, clock=FakeClock()).account
    later_spec = AccountSpec(seed=21, anchor=ANCHOR + week)
    later = FakeZoom(account=later_spec, clock=FakeClock(START + week)).account
    owner = first.owner["id"]
    before = first.instances_for(owner)
    after = later.instances_for(owner)
    assert [record["uuid"] for record in after] == [record["uuid"] for record in before]
    for old, new in zip(before, after, strict=True):
        assert parse_time(new["start_time"]) - parse_time(old["start_time"]) == week


@pytest.mark.parametrize(
    "changes",
    [
        {"history_days": -1},
        {"participants_per_instance": 0},
        {"instances_per_recurring_meeting": 0},
        {"anchor": datetime(2026, 3, 10)},
        {"groups": True},
    ],
    ids=["negative-history", "no-participants", "no-instances", "naive-anchor", "bool"],
)
def test_account_spec_rejects_timeline(changes: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        AccountSpec(**changes)


def resident_megabytes() -> float:
    with open("/proc/self/statm") as stats:
        pages = int(stats.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6


@pytest.mark.skipif(
    not os.path.exists("/proc/self/statm"), reason="needs Linux /proc for the RSS"
)
def test_large_account_stays_lazy(http: requests.Session) -> None:
    spec = AccountSpec(seed=4, anchor=ANCHOR, active_users=2000)
    before = resident_megabytes()
    with FakeZoom(account=spec, clock=FakeClock()) as fake:
        users = ok(call(http, fake, "/v2/users", {"page_size": 2000}))
        host = users["users"][1234]["id"]
        params = window(TODAY - timedelta(days=30), TODAY)
        report = ok(call(http, fake, f"/v2/report/users/{host}/meetings", params))
        grown = resident_megabytes() - before
    assert users["total_records"] == 2000
    assert report["total_records"] == len(
        [
            record
            for record in fake.account.instances_for(host)
            if record["start_time"][:10] >= params["from"]
        ]
    )
    assert grown < 60


def test_active_hosts_are_those_with_meetings(
    http: requests.Session, fake: FakeZoom
) -> None:
    first, last = TODAY - timedelta(days=6), TODAY
    expected = {
        host
        for host in host_ids(fake)
        if any(
            first <= parse_time(record["start_time"]).date() <= last
            for record in fake.account.instances_for(host)
        )
    }
    params = {**window(first, last), "page_size": 2}

    active = paged(http, fake, "/v2/report/users", "users", params)
    inactive = paged(
        http, fake, "/v2/report/users", "users", {**params, "type": "inactive"}
    )

    assert {user["id"] for user in active} == expected
    assert 0 < len(expected) < len(host_ids(fake))
    assert all(user["meetings"] > 0 for user in active)
    assert {user["id"] for user in inactive} == set(host_ids(fake)) - expected
    assert all(user["meetings"] == 0 for user in inactive)


def test_active_hosts_range_limited_to_a_month(
    http: requests.Session, fake: FakeZoom
) -> None:
    params = window(TODAY - timedelta(days=45), TODAY)

    response = call(http, fake, "/v2/report/users", params)

    assert response.status_code == 400
    assert response.json()["code"] == 300
