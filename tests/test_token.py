"""The token provider and bearer auth against the emulator's OAuth endpoint."""

from __future__ import annotations

import threading

import pytest

from tests.conftest import Clock, make_provider, make_session
from zoom_auth import (
    AuthenticationError,
    ConfigurationError,
    TokenRejectedError,
    TransientError,
)
from zoom_fake import AccountSpec, FakeZoom, Fault


def token_posts(fake: FakeZoom) -> int:
    return sum(1 for r in fake.requests if r.path == "/oauth/token")


def api_codes(fake: FakeZoom) -> list[int | None]:
    return [r.code for r in fake.requests if r.path.startswith("/v2/")]


def test_one_token_for_many_calls(fake):
    clock = Clock()
    session = make_session(fake, make_provider(fake, clock=clock))

    for _ in range(5):
        session.get("/users/{userId}", userId="me")
        clock.advance(60)

    assert token_posts(fake) == 1
    assert session.provider.requests_sent == 1


def test_token_renewed_inside_margin(fake):
    clock = Clock()
    provider = make_provider(fake, clock=clock, renew_margin=300)
    first = provider.token()

    clock.advance(3599 - 301)
    assert provider.token() is first
    clock.advance(2)
    second = provider.token()

    assert second.value != first.value
    assert token_posts(fake) == 2


def test_expiry_counted_from_before_request(fake):
    clock = Clock(1_000.0)
    provider = make_provider(fake, clock=clock)

    token = provider.token()

    assert token.expires_at == 1_000.0 + 3599
    assert token.api_url == fake.url


def test_renewal_after_expiry(fake):
    clock = Clock()
    session = make_session(fake, make_provider(fake, clock=clock))
    session.get("/users/{userId}", userId="me")

    clock.advance(4000)
    session.get("/users/{userId}", userId="me")

    assert token_posts(fake) == 2
    assert 124 not in api_codes(fake)


def test_concurrent_stale_callers_one_request(fake):
    clock = Clock()
    provider = make_provider(fake, clock=clock)
    barrier = threading.Barrier(8)
    tokens = []

    def call() -> None:
        barrier.wait()
        tokens.append(provider.token().value)

    threads = [threading.Thread(target=call) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)

    assert token_posts(fake) == 1
    assert len(set(tokens)) == 1
    assert len(tokens) == 8


def test_124_renews_and_replays_once(fake):
    session = make_session(fake)
    session.get("/users/{userId}", userId="me")
    fake.revoke_tokens()

    owner = session.get("/users/{userId}", userId="me")

    assert owner["email"] == fake.account.owner["email"]
    assert token_posts(fake) == 2
    assert api_codes(fake) == [None, 124, None]


def test_124_with_http_400_also_renews(fake):
    session = make_session(fake)
    fake.add_fault(
        Fault(
            path="/v2/users/me",
            status=400,
            body={"code": 124, "message": "Invalid access token."},
        )
    )

    session.get("/users/{userId}", userId="me")

    assert token_posts(fake) == 2


def test_second_124_is_auth_failure(fake):
    session = make_session(fake)
    body = {"code": 124, "message": "Invalid access token."}
    fake.add_fault(Fault(path="/v2/users/me", status=401, body=body, times=5))

    with pytest.raises(TokenRejectedError):
        session.get("/users/{userId}", userId="me")

    assert issubclass(TokenRejectedError, AuthenticationError)
    assert token_posts(fake) == 2
    assert api_codes(fake) == [124, 124]


def test_concurrent_124s_renew_once(fake):
    session = make_session(fake, pool_size=8)
    session.get("/users/{userId}", userId="me")
    fake.revoke_tokens()
    barrier = threading.Barrier(6)
    errors = []

    def call() -> None:
        barrier.wait()
        try:
            session.get("/users/{userId}", userId="me")
        except Exception as exc:  # recorded for the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=call) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)

    assert errors == []
    assert token_posts(fake) == 2


def test_invalid_client_not_retried():
    with FakeZoom(account=AccountSpec(seed=3)) as fake:
        provider = make_provider(fake, client_secret="wrong-secret-value")

        with pytest.raises(AuthenticationError) as caught:
            provider.token()

    message = str(caught.value)
    assert fake.account_id in message
    assert fake.client_id in message
    assert "invalid_client" in message
    assert "wrong-secret-value" not in message
    assert token_posts(fake) == 1


def test_token_5xx_retried_with_bound(fake):
    fake.add_fault(Fault(path="/oauth/token", method="POST", status=503, times=2))
    provider = make_provider(fake, max_attempts=3)

    provider.token()

    assert token_posts(fake) == 3
    assert len(provider.sleep.calls) == 2


def test_token_5xx_gives_up_after_bound(fake):
    fake.add_fault(Fault(path="/oauth/token", method="POST", status=502, times=10))
    provider = make_provider(fake, max_attempts=3)

    with pytest.raises(TransientError):
        provider.token()

    assert token_posts(fake) == 3


def test_token_reset_retried(fake):
    fake.add_fault(Fault(path="/oauth/token", method="POST", reset=True))
    provider = make_provider(fake, max_attempts=2)

    provider.token()

    assert token_posts(fake) == 2


def test_token_request_shape(fake):
    make_provider(fake).token()

    (request,) = [r for r in fake.requests if r.path == "/oauth/token"]
    assert request.method == "POST"
    assert request.query == {}


def test_provider_repr_hides_secret(fake):
    provider = make_provider(fake)
    token = provider.token()

    assert fake.client_secret not in repr(provider)
    assert token.value not in repr(token)
    assert token.value not in repr(make_session(fake, provider).auth)


def test_pinned_base_url_wins(fake):
    session = make_session(fake, base_url=fake.url + "/v2/")

    assert session.base_url() == fake.url + "/v2"
    assert token_posts(fake) == 0


def test_api_url_from_token_is_used(fake):
    regional = fake.url.replace("127.0.0.1", "localhost")
    fake.api_url = regional
    session = make_session(fake)

    owner = session.get("/users/{userId}", userId="me")

    assert session.base_url() == regional + "/v2"
    assert owner["id"] == fake.account.owner["id"]


def test_short_lifetime_halves_margin():
    with FakeZoom(account=AccountSpec(seed=3), token_lifetime=100) as fake:
        clock = Clock()
        session = make_session(fake, make_provider(fake, clock=clock))

        for _ in range(10):
            session.get("/users/{userId}", userId="me")
            clock.advance(4)
        clock.advance(20)
        session.get("/users/{userId}", userId="me")

    assert token_posts(fake) == 2


def test_token_redirect_is_config_error(fake):
    fake.add_fault(
        Fault(
            path="/oauth/token",
            method="POST",
            status=302,
            headers={"Location": "https://example.invalid/login"},
        )
    )
    provider = make_provider(fake)

    with pytest.raises(ConfigurationError) as caught:
        provider.token()

    assert "redirects (HTTP 302)" in str(caught.value)
    assert token_posts(fake) == 1
