"""The API session against the emulator: retries, limits, pages, paths."""

from __future__ import annotations

import pytest

from tests.conftest import make_provider, make_session
from zoom_auth import (
    APIError,
    CannotHostError,
    DailyLimitError,
    MissingScopesError,
    NotFoundError,
    PaginationError,
    ServerError,
    SkippableError,
    TransientError,
    encode_uuid,
    format_path,
)
from zoom_fake import AccountSpec, FakeZoom, Fault

QPS_BODY = {
    "code": 429,
    "message": "You have reached the maximum per-second rate limit for this API.",
}


def api_requests(fake: FakeZoom, path: str) -> list:
    return [r for r in fake.requests if r.path == path]


def test_5xx_then_success(fake):
    fake.add_fault(Fault(path="/v2/users/me", status=503, times=2))
    session = make_session(fake)

    owner = session.get("/users/{userId}", userId="me")

    assert owner["id"] == fake.account.owner["id"]
    assert len(api_requests(fake, "/v2/users/me")) == 3
    assert len(session.sleep.calls) == 2


def test_5xx_bounded(fake):
    fake.add_fault(Fault(path="/v2/users/me", status=500, times=10))
    session = make_session(fake, max_attempts=4)

    with pytest.raises(TransientError) as caught:
        session.get("/users/{userId}", userId="me")

    assert "after 4 attempts" in str(caught.value)
    assert isinstance(caught.value.__cause__, ServerError)
    assert len(api_requests(fake, "/v2/users/me")) == 4


def test_backoff_grows_and_has_jitter(fake):
    fake.add_fault(Fault(path="/v2/users/me", status=500, times=10))
    session = make_session(fake, max_attempts=6)
    session.backoff.base = 1.0
    session.backoff.max_delay = 8.0

    with pytest.raises(TransientError):
        session.get("/users/{userId}", userId="me")

    delays = session.sleep.calls
    assert len(delays) == 5
    for retry, delay in enumerate(delays, start=1):
        assert 0 <= delay <= min(8.0, 2 ** (retry - 1))
    assert len(set(delays)) > 1


def test_4xx_not_retried(fake):
    session = make_session(fake)

    with pytest.raises(NotFoundError) as caught:
        session.get("/users/{userId}", userId="nobody@example.com")

    assert caught.value.code == 1001
    assert len(api_requests(fake, "/v2/users/nobody%40example.com")) == 1


def test_reset_retried(fake):
    fake.add_fault(Fault(path="/v2/users/me", reset=True))
    session = make_session(fake)

    session.get("/users/{userId}", userId="me")

    assert len(api_requests(fake, "/v2/users/me")) == 2


def test_read_timeout_retried_then_fails(fake):
    fake.add_fault(Fault(path="/v2/users/me", delay=1.0, status=None, times=3))
    session = make_session(fake, timeout=(1.0, 0.2), max_attempts=3)

    with pytest.raises(TransientError) as caught:
        session.get("/users/{userId}", userId="me")

    assert "Timeout" in str(caught.value)
    assert len(session.sleep.calls) == 2


def test_attempt_bound_counts_token_renewal(fake):
    session = make_session(fake, max_attempts=2)
    session.get("/users/{userId}", userId="me")
    fake.revoke_tokens()
    fake.add_fault(Fault(path="/v2/users/me", nth=2, status=503, times=5))

    with pytest.raises(TransientError):
        session.get("/users/{userId}", userId="me")

    assert [r.status for r in api_requests(fake, "/v2/users/me")][1:] == [401, 503]


def test_qps_429_waits_retry_after(fake):
    headers = {"Retry-After": "2", "X-RateLimit-Type": "QPS"}
    fake.add_fault(
        Fault(path="/v2/users/me", status=429, body=QPS_BODY, headers=headers)
    )
    session = make_session(fake)

    session.get("/users/{userId}", userId="me")

    assert session.sleep.calls == [2.0]


def test_qps_429_without_header_backs_off(fake):
    fake.add_fault(Fault(path="/v2/users/me", status=429, body=QPS_BODY, times=2))
    session = make_session(fake)

    session.get("/users/{userId}", userId="me")

    assert len(session.sleep.calls) == 2
    assert all(0 <= d <= 0.01 for d in session.sleep.calls)


def test_long_retry_after_not_slept(fake):
    headers = {"Retry-After": "21600"}
    fake.add_fault(
        Fault(path="/v2/users/me", status=429, body=QPS_BODY, headers=headers)
    )
    session = make_session(fake, max_retry_after=30)

    with pytest.raises(TransientError) as caught:
        session.get("/users/{userId}", userId="me")

    assert "21600" in str(caught.value)
    assert session.sleep.calls == []


def test_daily_limit_not_slept(fake):
    headers = {
        "X-RateLimit-Category": "Medium",
        "X-RateLimit-Type": "Daily-limit",
        "X-RateLimit-Limit": "30000",
        "X-RateLimit-Remaining": "0",
        "Retry-After": "2026-12-05T00:00:00Z",
    }
    body = {
        "code": 429,
        "message": "You have reached the maximum daily rate limit for this API.",
    }
    fake.add_fault(Fault(path="/v2/users", status=429, body=body, headers=headers))
    session = make_session(fake)

    with pytest.raises(DailyLimitError) as caught:
        list(session.paginate("/users", "users"))

    assert caught.value.category == "Medium"
    assert caught.value.retry_after == "2026-12-05T00:00:00Z"
    assert session.sleep.calls == []
    assert len(api_requests(fake, "/v2/users")) == 1


def test_pagination_over_300_users():
    spec = AccountSpec(seed=5, active_users=650, inactive_users=0, pending_users=0)
    with FakeZoom(account=spec) as fake:
        session = make_session(fake)

        pages = list(session.paginate("/users", "users", {"status": "active"}))
        sent = api_requests(fake, "/v2/users")

    ids = [u["id"] for page in pages for u in page.records]
    assert len(ids) == 650
    assert len(set(ids)) == 650
    assert len(pages) == 1
    assert sent[0].query == {"status": "active", "page_size": "2000"}


def test_pagination_follows_tokens_with_same_query():
    spec = AccountSpec(seed=5, active_users=10, meetings_per_user=650)
    with FakeZoom(account=spec) as fake:
        session = make_session(fake)
        user_id = fake.account.owner["id"]
        template = "/users/{userId}/meetings"

        pages = list(
            session.paginate(
                template, "meetings", {"type": "scheduled"}, userId=user_id
            )
        )
        sent = api_requests(fake, f"/v2/users/{user_id}/meetings")

    assert [len(p.records) for p in pages] == [300, 300, 50]
    assert len({m["id"] for p in pages for m in p.records}) == 650
    for request in sent:
        assert request.query["page_size"] == "300"
        assert request.query["type"] == "scheduled"
    assert "next_page_token" not in sent[0].query
    assert sent[1].query["next_page_token"] == pages[0].body["next_page_token"]


def test_expired_page_token_restarts_once():
    spec = AccountSpec(seed=5, active_users=10, meetings_per_user=650)
    with FakeZoom(account=spec) as fake:
        body = {"code": 300, "message": "The next page token is invalid or expired."}
        user_id = fake.account.owner["id"]
        path = f"/v2/users/{user_id}/meetings"
        fake.add_fault(Fault(path=path, nth=2, status=400, body=body))
        session = make_session(fake)

        pages = list(
            session.paginate("/users/{userId}/meetings", "meetings", userId=user_id)
        )

    assert [len(p.records) for p in pages] == [300, 300, 300, 50]
    assert len(api_requests(fake, path)) == 5


def test_expired_page_token_twice_fails():
    spec = AccountSpec(seed=5, active_users=10, meetings_per_user=650)
    with FakeZoom(account=spec) as fake:
        body = {"code": 300, "message": "The next page token is invalid or expired."}
        user_id = fake.account.owner["id"]
        path = f"/v2/users/{user_id}/meetings"
        fake.add_fault(Fault(path=path, nth=2, status=400, body=body))
        fake.add_fault(Fault(path=path, nth=4, status=400, body=body))
        session = make_session(fake)

        with pytest.raises(PaginationError) as caught:
            list(
                session.paginate("/users/{userId}/meetings", "meetings", userId=user_id)
            )

    assert caught.value.__cause__.code == 300
    assert len(api_requests(fake, path)) == 4


def test_repeated_page_token_is_error(fake):
    body = {"users": [], "next_page_token": "same", "page_size": 2000}
    fake.add_fault(Fault(path="/v2/users", status=200, body=body, times=3))
    session = make_session(fake)

    with pytest.raises(PaginationError):
        list(session.paginate("/users", "users"))

    assert len(api_requests(fake, "/v2/users")) == 2


@pytest.mark.parametrize(
    ("uuid", "expected"),
    [
        ("aDYlohsHRtCd4ii1uC2+hA==", "aDYlohsHRtCd4ii1uC2%2BhA%3D%3D"),
        ("/ajXp112QmuoKj4854875==", "%252FajXp112QmuoKj4854875%253D%253D"),
        ("ab//cdQmuoKj4854875==", "ab%252F%252FcdQmuoKj4854875%253D%253D"),
        ("ab/cdQmuoKj4854875==", "ab%2FcdQmuoKj4854875%3D%3D"),
        (85746065432, "85746065432"),
    ],
    ids=["plain", "leading-slash", "double-slash", "single-slash", "numeric"],
)
def test_encode_uuid(uuid, expected):
    assert encode_uuid(uuid) == expected


def test_format_path_encodes_values():
    path = format_path("/users/{userId}/meetings", userId="a b@example.com")

    assert path == "/users/a%20b%40example.com/meetings"


def test_uuid_forms_accepted_by_emulator(fake):
    session = make_session(fake)
    uuids = list(fake.account.past_meetings)
    plain = next(u for u in uuids if not u.startswith("/") and "//" not in u)
    leading = next(u for u in uuids if u.startswith("/"))
    doubled = next(u for u in uuids if "//" in u)

    for uuid in (plain, leading, doubled):
        meeting = session.get("/past_meetings/{meetingId}", meetingId=uuid)
        assert meeting["uuid"] == uuid


def test_numeric_meeting_id_untouched(fake):
    session = make_session(fake)
    meeting = next(iter(fake.account.past_meetings.values()))

    found = session.get("/past_meetings/{meetingId}", meetingId=meeting["id"])

    assert found["id"] == meeting["id"]
    assert api_requests(fake, f"/v2/past_meetings/{meeting['id']}")


def test_cannot_host_is_skippable():
    spec = AccountSpec(seed=5, active_users=4, no_host_users=1)
    with FakeZoom(account=spec) as fake:
        session = make_session(fake)
        users = [u for u in fake.account.users if u.get("status") == "active"]
        errors = []
        for user in users:
            try:
                list(
                    session.paginate(
                        "/users/{userId}/meetings", "meetings", userId=user["id"]
                    )
                )
            except SkippableError as exc:
                errors.append(exc)

    assert len(errors) == 1
    assert isinstance(errors[0], CannotHostError)
    assert errors[0].code == 3161


def test_missing_scope_names_scope():
    with FakeZoom(account=AccountSpec(seed=5), scopes=["user:read:user:admin"]) as fake:
        session = make_session(fake)

        with pytest.raises(MissingScopesError) as caught:
            list(session.paginate("/users", "users"))

    assert caught.value.exit_code == 78
    assert caught.value.scopes
    assert caught.value.scopes[0] in str(caught.value)


def test_unregistered_endpoint_rejected(fake):
    session = make_session(fake)

    with pytest.raises(KeyError):
        session.get("/not/registered")


def test_token_used_for_each_request(fake):
    provider = make_provider(fake)
    session = make_session(fake, provider)

    session.get("/users/{userId}", userId="me")

    (request,) = api_requests(fake, "/v2/users/me")
    assert request.token == provider.current.value


def test_redirect_not_followed(fake):
    headers = {"Location": fake.url + "/v2/users/me"}
    fake.add_fault(Fault(path="/v2/users", status=302, headers=headers))
    session = make_session(fake)

    with pytest.raises(APIError) as caught:
        list(session.paginate("/users", "users"))

    assert caught.value.status == 302
    assert not api_requests(fake, "/v2/users/me")


def test_nan_retry_after_backs_off(fake):
    headers = {"Retry-After": "nan"}
    fake.add_fault(
        Fault(path="/v2/users/me", status=429, body=QPS_BODY, headers=headers)
    )
    session = make_session(fake)

    session.get("/users/{userId}", userId="me")

    assert len(session.sleep.calls) == 1
    assert 0 <= session.sleep.calls[0] <= 0.01
