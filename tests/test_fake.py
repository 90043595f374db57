"""Behaviour of the Zoom emulator, exercised over real HTTP on 127.0.0.1."""

from __future__ import annotations

import base64
import json
import os
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from http.client import HTTPConnection
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests

import zoom_fake
from zoom_fake import AccountSpec, FakeZoom, Fault
from zoom_fake.__main__ import _is_loopback
from zoom_fake.base import LIGHT

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = (2.0, 5.0)
START_TIME = 1_767_600_000.0
TOKEN_EXPIRED = {"code": 124, "message": "Access token is expired."}
TOKEN_INVALID = {"code": 124, "message": "Invalid access token."}
PAGE_TOKEN_INVALID = {
    "code": 300,
    "message": "The next page token is invalid or expired.",
}


class FakeClock:
    """A wall clock that moves only when a test advances it."""

    def __init__(self, now: float = START_TIME) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def fake(clock: FakeClock) -> Iterator[FakeZoom]:
    with FakeZoom(account=AccountSpec(seed=7), clock=clock) as server:
        yield server


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


def request_token(
    http: requests.Session, fake: FakeZoom, **form: str
) -> requests.Response:
    data = {"grant_type": "account_credentials", "account_id": fake.account_id}
    data.update(form)
    return http.post(
        fake.token_url,
        auth=(fake.client_id, fake.client_secret),
        data=data,
        timeout=TIMEOUT,
    )


def new_token(http: requests.Session, fake: FakeZoom) -> str:
    response = request_token(http, fake)
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def api_get(
    http: requests.Session,
    fake: FakeZoom,
    path: str,
    token: str | None,
    params: dict[str, Any] | None = None,
) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return http.get(fake.url + path, headers=headers, params=params, timeout=TIMEOUT)


def uuid_segment(uuid: str, times: int) -> str:
    """Percent-encode a UUID ``times`` times, every character but unreserved ones."""
    for _ in range(times):
        uuid = quote(uuid, safe="")
    return uuid


def uuid_form(uuid: str) -> str:
    if uuid.startswith("/"):
        return "leading_slash"
    if "//" in uuid:
        return "double_slash"
    return "plain"


# Public surface


def test_package_exports_public_names() -> None:
    assert set(zoom_fake.__all__) >= {
        "FakeZoom", "AccountSpec", "Fault", "DEMO_ACCOUNT_ID", "DEMO_CLIENT_ID",
        "DEMO_CLIENT_SECRET",
    }  # fmt: skip


def test_fake_defaults_to_demo_credentials() -> None:
    fake = FakeZoom()
    assert fake.account_id == zoom_fake.DEMO_ACCOUNT_ID
    assert fake.client_id == zoom_fake.DEMO_CLIENT_ID
    assert fake.client_secret == zoom_fake.DEMO_CLIENT_SECRET


def test_fake_repr_hides_secret() -> None:
    fake = FakeZoom(client_secret="sentinel-secret-value")
    assert "sentinel-secret-value" not in repr(fake)


# Token endpoint


def test_token_grant_returns_bearer(http: requests.Session, fake: FakeZoom) -> None:
    response = request_token(http, fake)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "scope", "api_url"}
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 3599
    assert body["api_url"] == fake.url
    assert set(body["scope"].split(" ")) == set(FakeZoom.default_scopes())
    assert len(body["access_token"]) >= 32


def test_token_grants_coexist(http: requests.Session, fake: FakeZoom) -> None:
    first = new_token(http, fake)
    second = new_token(http, fake)
    assert first != second
    assert api_get(http, fake, "/v2/users/me", first).status_code == 200
    assert api_get(http, fake, "/v2/users/me", second).status_code == 200


def test_token_settings_reach_response(http: requests.Session) -> None:
    with FakeZoom(
        token_lifetime=120,
        api_url="https://eu01api.zoom.us",
        scopes=["user:read:admin"],
    ) as fake:
        body = request_token(http, fake).json()
    assert body["expires_in"] == 120
    assert body["api_url"] == "https://eu01api.zoom.us"
    assert body["scope"] == "user:read:admin"


def test_token_api_url_follows_attribute(http: requests.Session) -> None:
    with FakeZoom() as fake:
        fake.api_url = "http://localhost:1"
        changed = request_token(http, fake).json()
        fake.api_url = None
        restored = request_token(http, fake).json()
        url = fake.url
    assert changed["api_url"] == "http://localhost:1"
    assert restored["api_url"] == url


@pytest.mark.parametrize(
    ("auth", "form", "error"),
    [
        (("demo", "wrong"), {}, "invalid_client"),
        (None, {}, "invalid_client"),
        (("client", "secret"), {}, "invalid_client"),
        ("demo", {"grant_type": "client_credentials"}, "unsupported_grant_type"),
        ("demo", {"grant_type": ""}, "unsupported_grant_type"),
        ("demo", {"account_id": "someone-else"}, "invalid_request"),
        ("demo", {"account_id": ""}, "invalid_request"),
    ],
    ids=[
        "wrong-secret", "no-credentials", "unknown-client", "wrong-grant-type",
        "empty-grant-type", "wrong-account", "empty-account",
    ],
)  # fmt: skip
def test_token_rejects_bad_request(
    http: requests.Session,
    fake: FakeZoom,
    auth: tuple[str, str] | str | None,
    form: dict[str, str],
    error: str,
) -> None:
    if auth == "demo":
        auth = (fake.client_id, fake.client_secret)
    data = {"grant_type": "account_credentials", "account_id": fake.account_id}
    data.update(form)
    response = http.post(fake.token_url, auth=auth, data=data, timeout=TIMEOUT)
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == error
    assert body["reason"]
    assert fake.client_secret not in response.text


def test_token_bad_client_body_matches_zoom(
    http: requests.Session, fake: FakeZoom
) -> None:
    response = http.post(
        fake.token_url,
        auth=(fake.client_id, "wrong"),
        data={"grant_type": "account_credentials", "account_id": fake.account_id},
        timeout=TIMEOUT,
    )
    assert response.json() == {
        "reason": "Invalid client_id or client_secret",
        "error": "invalid_client",
    }


def test_token_wrong_grant_body_matches_zoom(
    http: requests.Session, fake: FakeZoom
) -> None:
    response = request_token(http, fake, grant_type="password")
    assert response.json() == {
        "reason": "unsupported grant type",
        "error": "unsupported_grant_type",
    }


def test_token_rejects_query_parameters(http: requests.Session, fake: FakeZoom) -> None:
    response = http.post(
        fake.token_url,
        auth=(fake.client_id, fake.client_secret),
        params={"grant_type": "account_credentials", "account_id": fake.account_id},
        timeout=TIMEOUT,
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_token_rejects_json_body(http: requests.Session, fake: FakeZoom) -> None:
    response = http.post(
        fake.token_url,
        auth=(fake.client_id, fake.client_secret),
        json={"grant_type": "account_credentials", "account_id": fake.account_id},
        timeout=TIMEOUT,
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_token_accepts_chunked_body(fake: FakeZoom) -> None:
    form = f"grant_type=account_credentials&account_id={fake.account_id}"
    credentials = f"{fake.client_id}:{fake.client_secret}".encode()
    headers = {
        "Authorization": "Basic " + base64.b64encode(credentials).decode(),
        "Content-Type": "application/x-www-form-urlencoded",
    }
    connection = HTTPConnection(fake.host, fake.port, timeout=5)
    try:
        connection.request(
            "POST",
            "/oauth/token",
            body=iter([form[:10].encode(), form[10:].encode()]),
            headers=headers,
            encode_chunked=True,
        )
        response = connection.getresponse()
        body = json.loads(response.read())
    finally:
        connection.close()
    assert response.status == 200
    assert body["token_type"] == "bearer"


def test_bad_content_length_is_400(fake: FakeZoom) -> None:
    connection = HTTPConnection(fake.host, fake.port, timeout=5)
    try:
        connection.putrequest("POST", "/oauth/token")
        connection.putheader("Content-Length", "many")
        connection.endheaders()
        response = connection.getresponse()
        body = json.loads(response.read())
    finally:
        connection.close()
    assert response.status == 400
    assert body["code"] == 400
    assert "many" in body["message"]


def test_token_endpoint_rejects_get(http: requests.Session, fake: FakeZoom) -> None:
    response = http.get(fake.token_url, timeout=TIMEOUT)
    assert response.status_code == 405


# Access tokens on the API


def test_api_missing_token_is_124(http: requests.Session, fake: FakeZoom) -> None:
    response = api_get(http, fake, "/v2/users", None)
    assert response.status_code == 401
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == TOKEN_INVALID


def test_api_unknown_token_is_124(http: requests.Session, fake: FakeZoom) -> None:
    response = api_get(http, fake, "/v2/users", "made-up-token")
    assert response.status_code == 401
    assert response.json() == TOKEN_INVALID


def test_api_basic_auth_is_124(http: requests.Session, fake: FakeZoom) -> None:
    response = http.get(
        fake.url + "/v2/users",
        auth=(fake.client_id, fake.client_secret),
        timeout=TIMEOUT,
    )
    assert response.status_code == 401
    assert response.json() == TOKEN_INVALID


def test_api_token_expires_by_clock(
    http: requests.Session, fake: FakeZoom, clock: FakeClock
) -> None:
    token = new_token(http, fake)
    clock.advance(3598)
    assert api_get(http, fake, "/v2/users/me", token).status_code == 200
    clock.advance(1)
    response = api_get(http, fake, "/v2/users/me", token)
    assert response.status_code == 401
    assert response.json() == TOKEN_EXPIRED


def test_api_revoked_token_is_124(http: requests.Session, fake: FakeZoom) -> None:
    old = new_token(http, fake)
    fake.revoke_tokens()
    response = api_get(http, fake, "/v2/users/me", old)
    assert response.status_code == 401
    assert response.json() == TOKEN_INVALID
    renewed = new_token(http, fake)
    assert api_get(http, fake, "/v2/users/me", renewed).status_code == 200


def test_api_missing_scope_is_4711(http: requests.Session) -> None:
    with FakeZoom(scopes=["user:read:list_users:admin"]) as fake:
        token = new_token(http, fake)
        listed = api_get(http, fake, "/v2/users", token)
        denied = api_get(http, fake, "/v2/users/me", token)
    assert listed.status_code == 200
    assert denied.status_code == 400
    assert denied.json() == {
        "code": 4711,
        "message": (
            "Invalid access token, does not contain scopes:[user:read:user:admin]."
        ),
    }


def test_api_classic_scope_grants_route(http: requests.Session) -> None:
    with FakeZoom(scopes=["user:read:admin"]) as fake:
        token = new_token(http, fake)
        owner_id = fake.account.owner["id"]
        me = api_get(http, fake, "/v2/users/me", token)
        meetings = api_get(http, fake, f"/v2/users/{owner_id}/meetings", token)
    assert me.status_code == 200
    assert meetings.status_code == 400
    assert meetings.json()["code"] == 4711
    assert "meeting:read:list_meetings:admin" in meetings.json()["message"]


# Headers, unknown routes, server errors


@pytest.mark.parametrize(
    ("path", "category"),
    [("/v2/users", "Medium"), ("/v2/users/me", "Light"), ("/v2/users/nobody", "Light")],
    ids=["list-users", "get-me", "missing-user"],
)
def test_api_sends_rate_limit_headers(
    http: requests.Session, fake: FakeZoom, path: str, category: str
) -> None:
    response = api_get(http, fake, path, new_token(http, fake))
    assert response.headers["X-RateLimit-Category"] == category
    limit = int(response.headers["X-RateLimit-Limit"])
    remaining = int(response.headers["X-RateLimit-Remaining"])
    assert 0 <= remaining < limit
    assert response.headers["x-zm-trackingid"]


def test_api_error_sends_tracking_id(http: requests.Session, fake: FakeZoom) -> None:
    response = api_get(http, fake, "/v2/users", None)
    assert response.headers["x-zm-trackingid"]
    assert response.headers["X-RateLimit-Category"] == "Medium"


def test_api_unknown_route_is_404(http: requests.Session, fake: FakeZoom) -> None:
    response = api_get(http, fake, "/v2/no/such/route", new_token(http, fake))
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()
    assert isinstance(body["code"], int)
    assert isinstance(body["message"], str)


def test_api_wrong_method_is_405(http: requests.Session, fake: FakeZoom) -> None:
    token = new_token(http, fake)
    response = http.delete(
        fake.url + "/v2/users/me",
        headers={"Authorization": f"Bearer {token}"},
        timeout=TIMEOUT,
    )
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET"
    assert isinstance(response.json()["code"], int)


def test_handler_error_returns_500(
    http: requests.Session, caplog: pytest.LogCaptureFixture
) -> None:
    routes = FakeZoom.routes.copy()

    @routes.get("/v2/broken", category=LIGHT, classic_scopes=(), granular_scopes=())
    def broken(request: Any) -> dict[str, Any]:
        raise RuntimeError("handler bug")

    class BrokenFake(FakeZoom):
        pass

    BrokenFake.routes = routes
    with BrokenFake(scopes=["user:read:admin"]) as fake:
        token = new_token(http, fake)
        failed = api_get(http, fake, "/v2/broken", token)
        after = api_get(http, fake, "/v2/users/me", token)
    assert failed.status_code == 500
    assert failed.headers["Content-Type"] == "application/json"
    assert failed.json()["code"] == 500
    assert "handler bug" not in failed.text
    assert after.status_code == 200
    logged = [record for record in caplog.records if record.name == "zoom_fake"]
    assert len(logged) == 1
    assert logged[0].exc_info is not None
    assert "handler bug" in str(logged[0].exc_info[1])


def test_extended_routes_leave_original(http: requests.Session) -> None:
    routes = FakeZoom.routes.copy()
    routes.get("/v2/extra", category=LIGHT, classic_scopes=(), granular_scopes=())(
        lambda request: {}
    )
    templates = {route.template for route in FakeZoom.routes}
    assert "/v2/extra" not in templates
    assert "/v2/extra" in {route.template for route in routes}


# Users


def test_users_me_returns_owner(http: requests.Session, fake: FakeZoom) -> None:
    response = api_get(http, fake, "/v2/users/me", new_token(http, fake))
    body = response.json()
    assert response.status_code == 200
    assert body == fake.account.owner
    assert body["role_name"] == "Owner"
    assert body["status"] == "active"
    assert body["id"] == fake.account.users[0]["id"]
    assert body["account_id"] == fake.account_id


def test_users_default_lists_active(http: requests.Session, fake: FakeZoom) -> None:
    body = api_get(http, fake, "/v2/users", new_token(http, fake)).json()
    assert body["total_records"] == 8
    assert {user["status"] for user in body["users"]} == {"active"}
    assert body["page_size"] == 30
    assert body["next_page_token"] == ""


@pytest.mark.parametrize(
    ("status", "count"), [("active", 8), ("inactive", 2), ("pending", 2)]
)
def test_users_status_filter(
    http: requests.Session, fake: FakeZoom, status: str, count: int
) -> None:
    body = api_get(http, fake, "/v2/users", new_token(http, fake), {"status": status})
    users = body.json()["users"]
    assert len(users) == count
    assert {user["status"] for user in users} == {status}


def test_users_pending_have_no_id(http: requests.Session, fake: FakeZoom) -> None:
    token = new_token(http, fake)
    pending = api_get(http, fake, "/v2/users", token, {"status": "pending"}).json()
    active = api_get(http, fake, "/v2/users", token, {"status": "active"}).json()
    assert all("id" not in user for user in pending["users"])
    assert all(user["email"] for user in pending["users"])
    assert all(user["id"] for user in active["users"])


def test_users_unknown_status_is_300(http: requests.Session, fake: FakeZoom) -> None:
    response = api_get(http, fake, "/v2/users", new_token(http, fake), {"status": "x"})
    assert response.status_code == 400
    assert response.json()["code"] == 300
    assert response.json()["errors"][0]["field"] == "status"


def test_user_found_by_id_and_email(http: requests.Session, fake: FakeZoom) -> None:
    token = new_token(http, fake)
    listed = fake.account.users[3]
    by_id = api_get(http, fake, f"/v2/users/{listed['id']}", token).json()
    by_email = api_get(http, fake, f"/v2/users/{listed['email']}", token).json()
    assert by_id == by_email
    assert by_id["email"] == listed["email"]
    assert by_id["id"] == listed["id"]


def test_user_unknown_is_1001(http: requests.Session, fake: FakeZoom) -> None:
    response = api_get(http, fake, "/v2/users/nobody123", new_token(http, fake))
    assert response.status_code == 404
    assert response.json() == {
        "code": 1001,
        "message": "User does not exist: nobody123.",
    }


def test_user_vanished_is_1001(http: requests.Session) -> None:
    with FakeZoom(account=AccountSpec(active_users=5, vanished_users=2)) as fake:
        token = new_token(http, fake)
        listed = api_get(http, fake, "/v2/users", token).json()["users"]
        vanished = [user["id"] for user in listed[3:]]
        profiles = [api_get(http, fake, f"/v2/users/{uid}", token) for uid in vanished]
        meetings = [
            api_get(http, fake, f"/v2/users/{uid}/meetings", token) for uid in vanished
        ]
    assert len(listed) == 5
    assert [profile.status_code for profile in profiles] == [404, 404]
    assert [profile.json()["code"] for profile in profiles] == [1001, 1001]
    assert [listing.status_code for listing in meetings] == [404, 404]
    assert [listing.json()["code"] for listing in meetings] == [1001, 1001]


# Meetings


def test_meetings_list_for_user(http: requests.Session, fake: FakeZoom) -> None:
    user = fake.account.users[1]
    response = api_get(
        http, fake, f"/v2/users/{user['id']}/meetings", new_token(http, fake)
    )
    body = response.json()
    assert response.status_code == 200
    assert body["total_records"] == 3
    assert body["meetings"] == fake.account.meetings_for(user["id"])
    assert {meeting["host_id"] for meeting in body["meetings"]} == {user["id"]}


def test_meetings_for_me_are_owner(http: requests.Session, fake: FakeZoom) -> None:
    body = api_get(http, fake, "/v2/users/me/meetings", new_token(http, fake)).json()
    assert body["meetings"] == fake.account.meetings_for(fake.account.owner["id"])


def test_meetings_inactive_user_has_them(
    http: requests.Session, fake: FakeZoom
) -> None:
    inactive = [user for user in fake.account.users if user["status"] == "inactive"]
    path = f"/v2/users/{inactive[0]['id']}/meetings"
    body = api_get(http, fake, path, new_token(http, fake)).json()
    assert body["total_records"] == 3


def test_meetings_no_host_user_is_3161(http: requests.Session) -> None:
    with FakeZoom(account=AccountSpec(active_users=4, no_host_users=1)) as fake:
        token = new_token(http, fake)
        no_host = fake.account.users[3]["id"]
        host = fake.account.users[2]["id"]
        denied = api_get(http, fake, f"/v2/users/{no_host}/meetings", token)
        allowed = api_get(http, fake, f"/v2/users/{host}/meetings", token)
        profile = api_get(http, fake, f"/v2/users/{no_host}", token)
    assert denied.status_code == 400
    assert denied.json()["code"] == 3161
    assert allowed.status_code == 200
    assert profile.status_code == 200


def test_meetings_unknown_user_is_1001(http: requests.Session, fake: FakeZoom) -> None:
    response = api_get(http, fake, "/v2/users/ghost/meetings", new_token(http, fake))
    assert response.status_code == 404
    assert response.json()["code"] == 1001


def test_meetings_type_filter(http: requests.Session, fake: FakeZoom) -> None:
    token = new_token(http, fake)
    owner = fake.account.owner["id"]
    path = f"/v2/users/{owner}/meetings"
    scheduled = api_get(http, fake, path, token).json()["meetings"]
    previous = api_get(http, fake, path, token, {"type": "previous_meetings"}).json()
    live = api_get(http, fake, path, token, {"type": "live"}).json()
    bad = api_get(http, fake, path, token, {"type": "sometimes"})
    assert len(scheduled) == 3
    assert {meeting["id"] for meeting in previous["meetings"]} <= {
        meeting["id"] for meeting in scheduled
    }
    assert previous["total_records"] >= 1
    assert live["total_records"] == 0
    assert bad.status_code == 400
    assert bad.json()["code"] == 300


def test_meeting_ids_are_int64(fake: FakeZoom) -> None:
    meetings = [
        meeting
        for user in fake.account.users
        if "id" in user
        for meeting in fake.account.meetings_for(user["id"])
    ]
    ids = [meeting["id"] for meeting in meetings]
    assert len(ids) == len(set(ids)) == 10 * 3
    assert all(2**32 < meeting_id < 10**11 for meeting_id in ids)
    assert all(len(str(meeting_id)) == 11 for meeting_id in ids)
    pmis = [user["pmi"] for user in fake.account.users if "pmi" in user]
    assert all(2**32 < pmi < 10**11 for pmi in pmis)


# Past meetings and the UUID rule


def test_past_meetings_have_all_forms(fake: FakeZoom) -> None:
    uuids = list(fake.account.past_meetings)
    forms = {uuid_form(uuid) for uuid in uuids}
    assert forms == {"leading_slash", "double_slash", "plain"}
    assert len(uuids) == len(set(uuids)) == len(fake.account.past_meetings)
    for uuid in uuids:
        assert len(uuid) == 24
        assert uuid.endswith("==")
        assert len(base64.b64decode(uuid, validate=True)) == 16


@pytest.mark.parametrize("form", ["leading_slash", "double_slash", "plain"])
def test_past_meeting_uuid_encoding(
    http: requests.Session, fake: FakeZoom, form: str
) -> None:
    uuid = next(uuid for uuid in fake.account.past_meetings if uuid_form(uuid) == form)
    right = 1 if form == "plain" else 2
    wrong = 2 if form == "plain" else 1
    token = new_token(http, fake)
    good = api_get(http, fake, "/v2/past_meetings/" + uuid_segment(uuid, right), token)
    bad = api_get(http, fake, "/v2/past_meetings/" + uuid_segment(uuid, wrong), token)
    assert good.status_code == 200
    assert good.json() == fake.account.past_meetings[uuid]
    assert good.json()["uuid"] == uuid
    assert bad.status_code == 404
    assert bad.json()["code"] == 3001


def test_past_meeting_accepts_lowercase_escapes(
    http: requests.Session, fake: FakeZoom
) -> None:
    uuid = next(uuid for uuid in fake.account.past_meetings if uuid.startswith("/"))
    segment = uuid_segment(uuid, 2).replace("%252F", "%252f")
    response = api_get(
        http, fake, "/v2/past_meetings/" + segment, new_token(http, fake)
    )
    assert response.status_code == 200


def test_past_meeting_raw_slash_is_3001(http: requests.Session, fake: FakeZoom) -> None:
    uuid = next(uuid for uuid in fake.account.past_meetings if uuid.startswith("/"))
    response = api_get(http, fake, "/v2/past_meetings/" + uuid, new_token(http, fake))
    assert response.status_code == 404
    assert response.json()["code"] == 3001


def test_past_meeting_by_id_is_latest(http: requests.Session, fake: FakeZoom) -> None:
    instances = [
        fake.account.past_meetings[uuid] for uuid in fake.account.past_meetings
    ]
    meeting_id = instances[0]["id"]
    same = [record for record in instances if record["id"] == meeting_id]
    latest = max(same, key=lambda record: record["start_time"])
    path = f"/v2/past_meetings/{meeting_id}"
    response = api_get(http, fake, path, new_token(http, fake))
    assert len(same) > 1
    assert response.status_code == 200
    assert response.json() == latest


@pytest.mark.parametrize(
    "segment",
    ["12345678901", "AAAAAAAAAAAAAAAAAAAAAA%3D%3D", "not-a-uuid"],
    ids=["unknown-id", "unknown-uuid", "garbage"],
)
def test_past_meeting_unknown_is_3001(
    http: requests.Session, fake: FakeZoom, segment: str
) -> None:
    path = "/v2/past_meetings/" + segment
    response = api_get(http, fake, path, new_token(http, fake))
    assert response.status_code == 404
    assert response.json()["code"] == 3001
    assert response.json()["message"].startswith("Meeting does not exist: ")


def test_past_meeting_upcoming_uuid_is_3001(
    http: requests.Session, fake: FakeZoom
) -> None:
    owner = fake.account.owner["id"]
    series = fake.account.meetings_for(owner)[0]
    segment = uuid_segment(series["uuid"], 2 if "/" in series["uuid"] else 1)
    response = api_get(
        http, fake, "/v2/past_meetings/" + segment, new_token(http, fake)
    )
    assert series["type"] == 8
    assert series["uuid"] not in fake.account.past_meetings
    assert response.status_code == 404


# Pagination


@pytest.fixture
def big_fake(clock: FakeClock) -> Iterator[FakeZoom]:
    spec = AccountSpec(seed=11, active_users=650, meetings_per_user=0)
    with FakeZoom(account=spec, clock=clock) as server:
        yield server


def test_users_pages_of_300(http: requests.Session, big_fake: FakeZoom) -> None:
    token = new_token(http, big_fake)
    pages: list[dict[str, Any]] = []
    params: dict[str, Any] = {"page_size": 300}
    for _ in range(10):
        body = api_get(http, big_fake, "/v2/users", token, params).json()
        pages.append(body)
        if not body["next_page_token"]:
            break
        params = {"page_size": 300, "next_page_token": body["next_page_token"]}
    ids = [user["id"] for page in pages for user in page["users"]]
    users = big_fake.account.users
    expected = [user["id"] for user in users if user["status"] == "active"]
    assert [len(page["users"]) for page in pages] == [300, 300, 50]
    assert [page["page_number"] for page in pages] == [1, 2, 3]
    assert {page["page_count"] for page in pages} == {3}
    assert {page["total_records"] for page in pages} == {650}
    assert {page["page_size"] for page in pages} == {300}
    assert ids == expected


def test_users_one_page_of_2000(http: requests.Session, big_fake: FakeZoom) -> None:
    token = new_token(http, big_fake)
    body = api_get(http, big_fake, "/v2/users", token, {"page_size": 2000}).json()
    assert len(body["users"]) == 650
    assert body["page_count"] == 1
    assert body["next_page_token"] == ""


@pytest.mark.parametrize(
    ("path", "size"),
    [("/v2/users", 2001), ("/v2/users/me/meetings", 301)],
    ids=["users", "meetings"],
)
def test_page_size_over_maximum_is_300(
    http: requests.Session, fake: FakeZoom, path: str, size: int
) -> None:
    response = api_get(http, fake, path, new_token(http, fake), {"page_size": size})
    body = response.json()
    assert response.status_code == 400
    assert body["code"] == 300
    assert body["message"] == "Validation Failed."
    assert body["errors"][0]["field"] == "page_size"
    assert str(size - 1) in body["errors"][0]["message"]


@pytest.mark.parametrize("size", ["0", "-5", "ten"])
def test_page_size_invalid_is_300(
    http: requests.Session, fake: FakeZoom, size: str
) -> None:
    response = api_get(
        http, fake, "/v2/users", new_token(http, fake), {"page_size": size}
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "page_size"


def first_page_token(http: requests.Session, fake: FakeZoom, token: str) -> str:
    body = api_get(http, fake, "/v2/users", token, {"page_size": 100}).json()
    page_token = body["next_page_token"]
    assert page_token
    return str(page_token)


@pytest.mark.parametrize(
    "changed",
    [{"status": "inactive"}, {"page_size": 50}, {"role_id": "2"}],
    ids=["other-status", "other-page-size", "extra-filter"],
)
def test_page_token_bound_to_query(
    http: requests.Session, big_fake: FakeZoom, changed: dict[str, Any]
) -> None:
    token = new_token(http, big_fake)
    page_token = first_page_token(http, big_fake, token)
    params = {"page_size": 100, "next_page_token": page_token, **changed}
    response = api_get(http, big_fake, "/v2/users", token, params)
    assert response.status_code == 400
    assert response.json() == PAGE_TOKEN_INVALID


def test_page_token_bound_to_route(http: requests.Session, big_fake: FakeZoom) -> None:
    token = new_token(http, big_fake)
    page_token = first_page_token(http, big_fake, token)
    params = {"page_size": 100, "next_page_token": page_token}
    response = api_get(http, big_fake, "/v2/users/me/meetings", token, params)
    assert response.status_code == 400
    assert response.json() == PAGE_TOKEN_INVALID


def test_page_token_default_equals_explicit(
    http: requests.Session, big_fake: FakeZoom
) -> None:
    token = new_token(http, big_fake)
    page_token = first_page_token(http, big_fake, token)
    params = {"page_size": 100, "status": "active", "next_page_token": page_token}
    response = api_get(http, big_fake, "/v2/users", token, params)
    assert response.status_code == 200
    assert response.json()["page_number"] == 2


def test_page_token_expires_by_clock(
    http: requests.Session, big_fake: FakeZoom, clock: FakeClock
) -> None:
    token = new_token(http, big_fake)
    page_token = first_page_token(http, big_fake, token)
    params = {"page_size": 100, "next_page_token": page_token}
    clock.advance(899)
    fresh = api_get(http, big_fake, "/v2/users", token, params)
    clock.advance(1)
    stale = api_get(http, big_fake, "/v2/users", token, params)
    assert fresh.status_code == 200
    assert stale.status_code == 400
    assert stale.json() == PAGE_TOKEN_INVALID


def test_page_token_is_opaque(http: requests.Session, big_fake: FakeZoom) -> None:
    token = new_token(http, big_fake)
    first = first_page_token(http, big_fake, token)
    second = first_page_token(http, big_fake, token)
    tampered = first[:-2] + ("AA" if first[-2:] != "AA" else "BB")
    params = {"page_size": 100, "next_page_token": tampered}
    response = api_get(http, big_fake, "/v2/users", token, params)
    assert first != second
    assert "100" not in first
    assert response.json() == PAGE_TOKEN_INVALID


def test_page_token_of_other_fake_rejected(
    http: requests.Session, big_fake: FakeZoom, clock: FakeClock
) -> None:
    page_token = first_page_token(http, big_fake, new_token(http, big_fake))
    spec = AccountSpec(seed=11, active_users=650, meetings_per_user=0)
    with FakeZoom(account=spec, clock=clock) as other:
        params = {"page_size": 100, "next_page_token": page_token}
        response = api_get(http, other, "/v2/users", new_token(http, other), params)
    assert response.json() == PAGE_TOKEN_INVALID


def test_page_number_selects_page(http: requests.Session, big_fake: FakeZoom) -> None:
    token = new_token(http, big_fake)
    params = {"page_size": 300, "page_number": 3}
    body = api_get(http, big_fake, "/v2/users", token, params).json()
    assert body["page_number"] == 3
    assert len(body["users"]) == 50
    assert body["next_page_token"] == ""


# Faults


def test_fault_replaces_status_and_body(http: requests.Session, fake: FakeZoom) -> None:
    body = {"code": 500, "message": "Internal error."}
    fake.add_fault(Fault(path=r"/v2/users", status=500, body=body))
    token = new_token(http, fake)
    failed = api_get(http, fake, "/v2/users", token)
    recovered = api_get(http, fake, "/v2/users", token)
    assert failed.status_code == 500
    assert failed.json() == body
    assert failed.headers["Content-Type"] == "application/json"
    assert recovered.status_code == 200
    assert [record.code for record in fake.requests[-2:]] == [500, None]


@pytest.mark.parametrize(
    ("body", "expected"),
    [("<html>Bad gateway</html>", b"<html>Bad gateway</html>"),
     (b"\x00\x01", b"\x00\x01"), (None, b"")],
    ids=["text", "bytes", "empty"],
)  # fmt: skip
def test_fault_body_kinds(
    http: requests.Session, fake: FakeZoom, body: Any, expected: bytes
) -> None:
    fake.add_fault(Fault(path=r"/v2/users/me", status=502, body=body))
    response = api_get(http, fake, "/v2/users/me", new_token(http, fake))
    assert response.status_code == 502
    assert response.content == expected


def test_fault_headers_replace(http: requests.Session, fake: FakeZoom) -> None:
    headers = {"Retry-After": "1", "X-RateLimit-Type": "QPS"}
    body = {"code": 429, "message": "Too many requests."}
    fake.add_fault(Fault(path=r"/v2/users", status=429, body=body, headers=headers))
    response = api_get(http, fake, "/v2/users", new_token(http, fake))
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "1"
    assert response.headers["X-RateLimit-Type"] == "QPS"
    assert response.headers["X-RateLimit-Category"] == "Medium"


def test_fault_reset_closes_connection(http: requests.Session, fake: FakeZoom) -> None:
    fake.add_fault(Fault(path=r"/v2/users", reset=True))
    token = new_token(http, fake)
    with pytest.raises(requests.ConnectionError):
        api_get(http, fake, "/v2/users", token)
    after = api_get(http, fake, "/v2/users", token)
    assert after.status_code == 200
    reset = next(record for record in fake.requests if record.path == "/v2/users")
    assert reset.status is None
    assert reset.code is None


def test_fault_delay_times_out_client(http: requests.Session, fake: FakeZoom) -> None:
    fake.add_fault(Fault(path=r"/v2/users/me", delay=30.0, status=None))
    token = new_token(http, fake)
    with pytest.raises(requests.ReadTimeout):
        http.get(
            fake.url + "/v2/users/me",
            headers={"Authorization": f"Bearer {token}"},
            timeout=(2.0, 0.2),
        )


def test_fault_delay_then_normal(http: requests.Session, fake: FakeZoom) -> None:
    fake.add_fault(Fault(path=r"/v2/users/me", delay=0.01, status=None))
    response = api_get(http, fake, "/v2/users/me", new_token(http, fake))
    assert response.status_code == 200
    assert response.json()["role_name"] == "Owner"


def test_fault_nth_and_times(http: requests.Session, fake: FakeZoom) -> None:
    fake.add_fault(Fault(path=r"/v2/users/[^/]+", nth=2, times=2, status=503))
    token = new_token(http, fake)
    statuses = [
        api_get(http, fake, "/v2/users/me", token).status_code for _ in range(5)
    ]
    listed = api_get(http, fake, "/v2/users", token).status_code
    assert statuses == [200, 503, 503, 200, 200]
    assert listed == 200


def test_fault_times_none_repeats(http: requests.Session, fake: FakeZoom) -> None:
    fake.add_fault(Fault(path=r"/v2/users", times=None, status=503))
    token = new_token(http, fake)
    statuses = [api_get(http, fake, "/v2/users", token).status_code for _ in range(3)]
    fake.clear_faults()
    assert statuses == [503, 503, 503]
    assert api_get(http, fake, "/v2/users", token).status_code == 200


def test_fault_method_must_match(http: requests.Session, fake: FakeZoom) -> None:
    fake.add_fault(Fault(path=r"/oauth/token", method="GET", status=503))
    assert request_token(http, fake).status_code == 200


def test_fault_on_token_endpoint(http: requests.Session, fake: FakeZoom) -> None:
    fake.add_fault(Fault(path=r"/oauth/token", method="POST", status=503))
    failed = request_token(http, fake)
    succeeded = request_token(http, fake)
    assert failed.status_code == 503
    assert succeeded.status_code == 200


def test_fault_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="regular expression"):
        Fault(path=r"/v2/(")
    with pytest.raises(ValueError, match="nth"):
        Fault(path=r"/v2/users", nth=0)
    with pytest.raises(TypeError, match="body"):
        Fault(path=r"/v2/users", body=42)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="JSON"):
        Fault(path=r"/v2/users", body={"when": object()})


def test_latency_delays_every_response(http: requests.Session) -> None:
    with FakeZoom(latency=30.0) as fake, pytest.raises(requests.ReadTimeout):
        http.post(fake.token_url, timeout=(2.0, 0.2))


# Request records


def test_requests_are_recorded(http: requests.Session, fake: FakeZoom) -> None:
    token = new_token(http, fake)
    api_get(http, fake, "/v2/users", token, {"status": "inactive", "page_size": 5})
    api_get(http, fake, "/v2/users/nobody", token)
    grant, listing, missing = fake.requests
    assert (grant.method, grant.path, grant.status, grant.token) == (
        "POST", "/oauth/token", 200, None,
    )  # fmt: skip
    assert listing.path == "/v2/users"
    assert listing.query == {"status": "inactive", "page_size": "5"}
    assert listing.token == token
    assert (listing.status, listing.code) == (200, None)
    assert (missing.status, missing.code) == (404, 1001)
    assert token not in repr(listing)


def test_requests_copy_and_clear(http: requests.Session, fake: FakeZoom) -> None:
    new_token(http, fake)
    snapshot = fake.requests
    snapshot.clear()
    assert len(fake.requests) == 1
    fake.clear_requests()
    assert fake.requests == []


# Lifecycle


def test_stop_twice_is_safe(http: requests.Session) -> None:
    fake = FakeZoom().start()
    url = fake.url
    fake.stop()
    fake.stop()
    with pytest.raises(RuntimeError):
        fake.url  # noqa: B018
    with pytest.raises(requests.ConnectionError):
        http.post(url + "/oauth/token", timeout=TIMEOUT)


def test_stop_closes_kept_connections(http: requests.Session) -> None:
    fake = FakeZoom().start()
    first = request_token(http, fake)
    url = fake.token_url
    fake.stop()
    with pytest.raises(requests.ConnectionError):
        http.post(url, timeout=TIMEOUT)
    assert first.status_code == 200


def test_start_twice_is_error() -> None:
    with FakeZoom() as fake, pytest.raises(RuntimeError, match="already running"):
        fake.start()


def test_port_is_bound_port() -> None:
    fake = FakeZoom()
    with fake:
        running = fake.port
        url = fake.url
    assert fake.port == 0
    assert running > 0
    assert url == f"http://127.0.0.1:{running}"


def test_fake_restarts_after_stop(http: requests.Session) -> None:
    fake = FakeZoom()
    with fake:
        first = new_token(http, fake)
    with fake:
        response = api_get(http, fake, "/v2/users/me", first)
    assert response.status_code == 200


# Determinism and scale


def test_same_seed_same_data(http: requests.Session) -> None:
    anchor = datetime(2026, 1, 5, tzinfo=UTC)
    spec = AccountSpec(seed=5, anchor=anchor)
    bodies = []
    for _ in range(2):
        with FakeZoom(account=spec, clock=FakeClock()) as fake:
            token = new_token(http, fake)
            users = api_get(http, fake, "/v2/users", token, {"status": "inactive"})
            owner = fake.account.owner["id"]
            meetings = api_get(http, fake, f"/v2/users/{owner}/meetings", token)
            bodies.append(
                (users.json(), meetings.json(), dict(fake.account.past_meetings))
            )
    assert bodies[0] == bodies[1]


def test_other_seed_other_data() -> None:
    first = FakeZoom(account=AccountSpec(seed=1)).account
    second = FakeZoom(account=AccountSpec(seed=2)).account
    assert first.users != second.users
    assert set(first.past_meetings).isdisjoint(second.past_meetings)


def test_large_account_is_lazy() -> None:
    spec = AccountSpec(active_users=2000, meetings_per_user=5)
    account = FakeZoom(account=spec).account
    last = account.users[-1]
    meetings = account.meetings_for(account.users[1999]["id"])
    assert len(account.users) == 2004
    assert last["status"] == "pending"
    assert len(meetings) == 5


@pytest.mark.parametrize(
    "changes",
    [
        {"active_users": 0},
        {"pending_users": -1},
        {"active_users": 2, "no_host_users": 2},
    ],
    ids=["no-owner", "negative", "too-many-special"],
)
def test_account_spec_rejects_bad_sizes(changes: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        AccountSpec(**changes)


# Command line


def read_lines(stream: Any, count: int, timeout: float = 15.0) -> list[str]:
    """Read ``count`` lines from a pipe, failing after ``timeout`` seconds."""
    selector = selectors.DefaultSelector()
    selector.register(stream, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    buffer = b""
    lines: list[str] = []
    while len(lines) < count:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"only {len(lines)} of {count} lines arrived: {lines}"
        if not selector.select(remaining):
            continue
        chunk = os.read(stream.fileno(), 4096)
        if not chunk:
            break
        buffer += chunk
        *complete, buffer = buffer.split(b"\n")
        lines.extend(line.decode() for line in complete)
    selector.close()
    return lines


@pytest.mark.parametrize(
    "stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["TERM", "INT"]
)
def test_cli_serves_and_stops(http: requests.Session, stop_signal: int) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "zoom_fake", "--port", "0", "--active-users", "3"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        bufsize=0,
    )
    try:
        lines = read_lines(process.stdout, 5)
        exports = dict(line.removeprefix("export ").split("=", 1) for line in lines[:4])
        response = http.post(
            exports["ZOOM_TOKEN_URL"],
            auth=(exports["ZOOM_CLIENT_ID"], exports["ZOOM_CLIENT_SECRET"]),
            data={
                "grant_type": "account_credentials",
                "account_id": exports["ZOOM_ACCOUNT_ID"],
            },
            timeout=TIMEOUT,
        )
        process.send_signal(stop_signal)
        exit_code = process.wait(timeout=15)
        stderr = process.stderr.read().decode() if process.stderr else ""
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=15)
    assert all(line.startswith("export ZOOM_") for line in lines[:4])
    assert lines[4].startswith("# ")
    assert exports["ZOOM_TOKEN_URL"].startswith("http://127.0.0.1:")
    assert exports["ZOOM_TOKEN_URL"].endswith("/oauth/token")
    assert exports["ZOOM_CLIENT_SECRET"] == zoom_fake.DEMO_CLIENT_SECRET
    assert response.status_code == 200
    assert response.json()["access_token"]
    assert exit_code == 0
    assert "Traceback" not in stderr


def test_cli_rejects_bad_sizes() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "zoom_fake", "--active-users", "0"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "active_users" in result.stderr


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--anchor", "2026-13-01"], "not a date"),
        (["--plan", "enterprise"], "invalid choice"),
        (["--participants-per-instance", "0"], "participants_per_instance"),
    ],
    ids=["bad-anchor", "bad-plan", "no-participants"],
)
def test_cli_rejects_bad_timeline(arguments: list[str], message: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "zoom_fake", *arguments],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert message in result.stderr


def test_cli_warns_non_loopback_host() -> None:
    # 192.0.2.1 is a documentation address that no local interface has, so the
    # warning is printed and binding fails without exposing anything.
    result = subprocess.run(
        [sys.executable, "-m", "zoom_fake", "--host", "192.0.2.1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert "warning: listening on 192.0.2.1" in result.stderr
    assert "cannot listen on 192.0.2.1" in result.stderr
    assert result.returncode == 1
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("::1", True), ("localhost", True), ("0.0.0.0", False),
     ("192.168.1.10", False), ("example.org", False)],
)  # fmt: skip
def test_cli_loopback_detection(host: str, loopback: bool) -> None:
    assert _is_loopback(host) is loopback
