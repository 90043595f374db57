"""Rate limits, speedup and latency of the Zoom emulator, over real HTTP on 127.0.0.1.

Windows and days are taken from an injected clock that moves only when a test
advances it, so no test sleeps to wait out a window.
"""

from __future__ import annotations

import base64
import json
import shlex
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from http.client import HTTPConnection, HTTPMessage
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest

from zoom_fake import (
    DEMO_ACCOUNT_ID,
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    AccountSpec,
    FakeZoom,
    RateStats,
)
from zoom_fake.__main__ import build_parser
from zoom_fake.base import HEAVY, LIGHT, MEDIUM, RESOURCE_INTENSIVE, ApiError
from zoom_fake.ratelimit import DAILY_MESSAGE, QPS_MESSAGE, RateLimiter

ROOT = Path(__file__).resolve().parent.parent
# 2026-01-05 08:00:00 UTC.
START_TIME = 1_767_600_000.0
NEXT_MIDNIGHT = "2026-01-06T00:00:00Z"
QPS_BODY = {"code": 429, "message": QPS_MESSAGE}
DAILY_BODY = {"code": 429, "message": DAILY_MESSAGE}

# One route without path parameters per category, so any account serves it.
PATHS = {
    LIGHT: "/v2/users/me",
    MEDIUM: "/v2/users",
    HEAVY: "/v2/report/daily",
    RESOURCE_INTENSIVE: "/v2/metrics/meetings",
}
# Zoom's per-second limits (Resource-intensive: per minute).
QPS = {
    "free": {LIGHT: 4, MEDIUM: 2, HEAVY: 1, RESOURCE_INTENSIVE: 10},
    "pro": {LIGHT: 30, MEDIUM: 20, HEAVY: 10, RESOURCE_INTENSIVE: 10},
    "business": {LIGHT: 80, MEDIUM: 60, HEAVY: 40, RESOURCE_INTENSIVE: 20},
}


class FakeClock:
    """A wall clock that moves only when a test advances it."""

    def __init__(self, now: float = START_TIME) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass(frozen=True)
class Reply:
    """A response read from an http.client connection."""

    status_code: int
    headers: HTTPMessage
    text: str

    def json(self) -> Any:
        return json.loads(self.text)


class Client:
    """A keep-alive HTTP client of an emulator with the demo credentials.

    It uses http.client, which takes about a third of the time per request
    that requests does, so the tests that send a thousand requests stay fast.
    It keeps the latest token it requested.
    """

    def __init__(self, port: int) -> None:
        self.connection = HTTPConnection("127.0.0.1", port, timeout=5.0)
        self.token = ""

    def close(self) -> None:
        self.connection.close()

    def new_token(self) -> str:
        response = self.request_token()
        assert response.status_code == 200, response.text
        token: str = response.json()["access_token"]
        self.token = token
        return token

    def request_token(self) -> Reply:
        form = urlencode(
            {"grant_type": "account_credentials", "account_id": DEMO_ACCOUNT_ID}
        )
        pair = f"{DEMO_CLIENT_ID}:{DEMO_CLIENT_SECRET}".encode()
        headers = {
            "Authorization": "Basic " + base64.b64encode(pair).decode(),
            "Content-Type": "application/x-www-form-urlencoded",
        }
        return self._send("POST", "/oauth/token", headers, form)

    def get(self, path: str, token: str | None = None) -> Reply:
        bearer = self.token if token is None else token
        return self._send("GET", path, {"Authorization": f"Bearer {bearer}"})

    def get_many(self, path: str, count: int) -> list[Reply]:
        return [self.get(path) for _ in range(count)]

    def _send(
        self, method: str, path: str, headers: dict[str, str], body: str | None = None
    ) -> Reply:
        self.connection.request(method, path, body=body, headers=headers)
        response = self.connection.getresponse()
        text = response.read().decode()
        return Reply(response.status, response.headers, text)


Connect = Callable[[FakeZoom], Client]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def connect() -> Iterator[Connect]:
    """Return a function that opens a client with a token.

    The clients are closed after the test.
    """
    clients: list[Client] = []

    def open_client(fake: FakeZoom) -> Client:
        client = Client(fake.port)
        clients.append(client)
        client.new_token()
        return client

    yield open_client
    for client in clients:
        client.close()


def start_fake(clock: FakeClock, **options: Any) -> FakeZoom:
    spec = AccountSpec(seed=5, active_users=2, inactive_users=0, pending_users=0)
    return FakeZoom(spec, clock=clock, **options).start()


@pytest.fixture
def limited(request: pytest.FixtureRequest, clock: FakeClock) -> Iterator[FakeZoom]:
    """An emulator enforcing the limits of the plan given by indirect parameter."""
    fake = start_fake(clock, plan=request.param, enforce_limits=True)
    try:
        yield fake
    finally:
        fake.stop()


def statuses(responses: list[Reply]) -> list[int]:
    return [response.status_code for response in responses]


def assert_qps_rejection(
    response: Reply, category: str, limit: int, retry_after: str
) -> None:
    assert response.status_code == 429
    assert response.json() == QPS_BODY
    assert response.headers["X-RateLimit-Category"] == category
    assert response.headers["X-RateLimit-Type"] == "QPS"
    assert response.headers["X-RateLimit-Limit"] == str(limit)
    assert response.headers["X-RateLimit-Remaining"] == "0"
    assert response.headers["Retry-After"] == retry_after


# Per-second limits


@pytest.mark.parametrize("category", list(PATHS))
@pytest.mark.parametrize("limited", list(QPS), indirect=True)
def test_qps_limit_rejects_request_over_it(
    limited: FakeZoom, category: str, connect: Connect
) -> None:
    client = connect(limited)
    limit = QPS[limited.plan][category]
    responses = client.get_many(PATHS[category], limit + 1)
    # Free and pro accounts get Zoom's code 200 errors from reports or
    # dashboards, but every request counts against its category.
    # Resource-intensive is limited per minute, and the clock is at the start
    # of one, so the wait is the whole minute.
    retry_after = "60" if category == RESOURCE_INTENSIVE else "1"
    assert 429 not in statuses(responses[:limit])
    assert_qps_rejection(responses[-1], category, limit, retry_after)
    stats = limited.rate_stats()[category]
    assert stats == RateStats(requests=limit + 1, rejected_qps=1, rejected_daily=0)


@pytest.mark.parametrize("limited", ["business"], indirect=True)
def test_qps_window_reopens_after_one_second(
    limited: FakeZoom, clock: FakeClock, connect: Connect
) -> None:
    client = connect(limited)
    first = client.get_many(PATHS[HEAVY], 41)
    clock.advance(0.5)
    still_closed = client.get(PATHS[HEAVY])
    clock.advance(0.5)
    reopened = client.get_many(PATHS[HEAVY], 41)
    assert statuses(first).count(429) == 1
    assert still_closed.status_code == 429
    assert 429 not in statuses(reopened[:40])
    assert reopened[-1].status_code == 429


@pytest.mark.parametrize("limited", ["free"], indirect=True)
def test_per_minute_limit_reopens_after_minute(
    limited: FakeZoom, clock: FakeClock, connect: Connect
) -> None:
    client = connect(limited)
    client.get_many(PATHS[RESOURCE_INTENSIVE], 10)
    clock.advance(45)
    late_in_minute = client.get(PATHS[RESOURCE_INTENSIVE])
    clock.advance(15)
    next_minute = client.get(PATHS[RESOURCE_INTENSIVE])
    assert late_in_minute.status_code == 429
    assert late_in_minute.headers["Retry-After"] == "15"
    assert next_minute.status_code != 429


@pytest.mark.parametrize("limited", ["free"], indirect=True)
def test_categories_are_limited_independently(
    limited: FakeZoom, connect: Connect
) -> None:
    client = connect(limited)
    heavy = client.get_many(PATHS[HEAVY], 2)
    light = client.get_many(PATHS[LIGHT], 4)
    medium = client.get_many(PATHS[MEDIUM], 2)
    light_over = client.get(PATHS[LIGHT])
    assert statuses(heavy) == [400, 429]
    assert statuses(light) == [200, 200, 200, 200]
    assert statuses(medium) == [200, 200]
    assert light_over.status_code == 429
    assert light_over.headers["X-RateLimit-Category"] == LIGHT


@pytest.mark.parametrize("limited", ["pro"], indirect=True)
def test_remaining_header_counts_down(limited: FakeZoom, connect: Connect) -> None:
    client = connect(limited)
    responses = client.get_many(PATHS[MEDIUM], 21)
    limits = {response.headers["X-RateLimit-Limit"] for response in responses}
    remaining = [int(r.headers["X-RateLimit-Remaining"]) for r in responses]
    assert statuses(responses[:20]) == [200] * 20
    assert limits == {"20"}
    assert remaining == [*range(19, -1, -1), 0]
    assert responses[-1].status_code == 429


@pytest.mark.parametrize("limited", ["business"], indirect=True)
def test_concurrent_requests_admit_exactly_limit(
    limited: FakeZoom, connect: Connect
) -> None:
    results: list[int] = []
    results_lock = threading.Lock()

    def send(token: str) -> None:
        client = Client(limited.port)
        client.token = token
        try:
            codes = statuses(client.get_many(PATHS[LIGHT], 20))
        finally:
            client.close()
        with results_lock:
            results.extend(codes)

    token = connect(limited).token
    threads = [threading.Thread(target=send, args=(token,)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(results) == 160
    assert results.count(200) == 80
    assert results.count(429) == 80
    assert limited.rate_stats()[LIGHT] == RateStats(160, rejected_qps=80)


# What is not limited


@pytest.mark.parametrize("limited", ["free"], indirect=True)
def test_token_endpoint_is_not_limited(limited: FakeZoom, connect: Connect) -> None:
    client = connect(limited)
    responses = [client.request_token() for _ in range(12)]
    assert statuses(responses) == [200] * 12
    assert all(stats.requests == 0 for stats in limited.rate_stats().values())


@pytest.mark.parametrize("limited", ["free"], indirect=True)
def test_invalid_token_is_not_counted(limited: FakeZoom, connect: Connect) -> None:
    client = connect(limited)
    rejected = [client.get(PATHS[HEAVY], token="not-a-token") for _ in range(3)]
    counted = client.get(PATHS[HEAVY])
    assert statuses(rejected) == [401, 401, 401]
    assert rejected[0].headers["X-RateLimit-Category"] == HEAVY
    assert counted.status_code == 400
    assert counted.headers["X-RateLimit-Remaining"] == "0"
    assert limited.rate_stats()[HEAVY] == RateStats(requests=1)


def test_limits_are_off_by_default(clock: FakeClock, connect: Connect) -> None:
    fake = start_fake(clock, plan="free")
    try:
        client = connect(fake)
        responses = client.get_many(PATHS[LIGHT], 100)
        stats = fake.rate_stats()
    finally:
        fake.stop()
    assert fake.enforce_limits is False
    assert statuses(responses) == [200] * 100
    assert stats[LIGHT] == RateStats(requests=100)
    assert all("X-RateLimit-Type" not in r.headers for r in responses)


# Daily limits


@pytest.mark.parametrize("limited", ["free"], indirect=True)
def test_daily_limit_rejects_until_midnight(
    limited: FakeZoom, clock: FakeClock, connect: Connect
) -> None:
    client = connect(limited)
    day = []
    for _ in range(1000):
        day.append(client.get(PATHS[HEAVY]))
        clock.advance(1.0)
    over = client.get(PATHS[HEAVY])
    light = client.get(PATHS[LIGHT])
    clock.now = datetime(2026, 1, 6, tzinfo=UTC).timestamp()
    client.new_token()
    next_day = client.get(PATHS[HEAVY])
    assert 429 not in statuses(day)
    assert day[-1].headers["X-RateLimit-Limit"] == "1000"
    assert day[-1].headers["X-RateLimit-Remaining"] == "0"
    assert over.status_code == 429
    assert over.json() == DAILY_BODY
    assert over.headers["X-RateLimit-Category"] == HEAVY
    assert over.headers["X-RateLimit-Type"] == "Daily-limit"
    assert over.headers["X-RateLimit-Limit"] == "1000"
    assert over.headers["X-RateLimit-Remaining"] == "0"
    assert over.headers["Retry-After"] == NEXT_MIDNIGHT
    assert light.status_code == 200
    assert next_day.status_code == 400
    assert limited.rate_stats()[HEAVY].rejected_daily == 1


@pytest.mark.parametrize(("plan", "daily"), [("pro", 30_000), ("business", 60_000)])
def test_paid_plans_share_daily_limit(plan: str, daily: int) -> None:
    # Tens of thousands of requests take too long over HTTP, so this drives the
    # emulator's limiter directly with the same clock arithmetic.
    clock = FakeClock()
    limiter = RateLimiter(plan, enforce=True, clock=clock)
    per_minute = QPS[plan][RESOURCE_INTENSIVE]
    per_second = QPS[plan][HEAVY]
    for _ in range(per_minute):
        limiter.admit(RESOURCE_INTENSIVE)
    clock.advance(60.0)
    for number in range(1, daily - per_minute + 1):
        limiter.admit(HEAVY)
        if number % per_second == 0:
            clock.advance(1.0)
    for category in (HEAVY, RESOURCE_INTENSIVE):
        with pytest.raises(ApiError) as caught:
            limiter.admit(category)
        error = caught.value
        assert error.status == 429
        assert error.message == DAILY_MESSAGE
        assert error.headers["X-RateLimit-Type"] == "Daily-limit"
        assert error.headers["X-RateLimit-Category"] == category
        assert error.headers["X-RateLimit-Limit"] == str(daily)
        assert error.headers["Retry-After"] == _next_midnight(clock.now)
    assert limiter.admit(LIGHT)["X-RateLimit-Category"] == LIGHT


def _next_midnight(timestamp: float) -> str:
    day = int(timestamp // 86_400) + 1
    return datetime.fromtimestamp(day * 86_400, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_daily_budget_is_reported_when_it_binds() -> None:
    clock = FakeClock()
    limiter = RateLimiter("free", enforce=True, clock=clock)
    for _ in range(5_998):
        limiter.admit(LIGHT)
        clock.advance(0.25)
    # In a new window 3 requests are left for the second but 1 for the day.
    clock.advance(1.0)
    headers = limiter.admit(LIGHT)
    assert headers["X-RateLimit-Limit"] == "6000"
    assert headers["X-RateLimit-Remaining"] == "1"


# Speedup


@pytest.mark.parametrize(("speedup", "admitted"), [(1.0, 10), (8.0, 80)])
def test_speedup_scales_requests_per_second(
    clock: FakeClock, speedup: float, admitted: int, connect: Connect
) -> None:
    fake = start_fake(clock, plan="pro", enforce_limits=True, speedup=speedup)
    try:
        client = connect(fake)
        responses = []
        # Pro allows 10 Heavy requests a second. With speedup 8, each eighth of
        # a clock second is a new window. Eighths add up exactly in floats.
        for _ in range(8):
            responses += client.get_many(PATHS[HEAVY], 10)
            clock.advance(0.125)
        stats = fake.rate_stats()[HEAVY]
    finally:
        fake.stop()
    assert statuses(responses).count(200) == admitted
    assert stats.rejected_qps == 80 - admitted
    assert responses[-1].headers["X-RateLimit-Limit"] == "10"
    assert fake.speedup == speedup


def test_speedup_shortens_day() -> None:
    clock = FakeClock(datetime(2026, 1, 5, 13, tzinfo=UTC).timestamp())
    limiter = RateLimiter("free", enforce=True, speedup=2.0, clock=clock)
    for _ in range(1000):
        limiter.admit(HEAVY)
        clock.advance(0.5)
    with pytest.raises(ApiError) as caught:
        limiter.admit(HEAVY)
    error = caught.value
    clock.now = datetime(2026, 1, 6, tzinfo=UTC).timestamp()
    headers = limiter.admit(HEAVY)
    # Emulated days last 12 clock hours, so the one that began at 12:00 UTC
    # ends at 00:00 UTC.
    assert error.headers["Retry-After"] == NEXT_MIDNIGHT
    assert headers["X-RateLimit-Limit"] == "1"


@pytest.mark.parametrize("speedup", [0.0, -1.0, float("inf"), float("nan")])
def test_invalid_speedup_is_rejected(speedup: float) -> None:
    with pytest.raises(ValueError, match="speedup"):
        FakeZoom(speedup=speedup)


# Latency, records and the command line


def test_latency_and_jitter_delay_responses() -> None:
    with FakeZoom(latency=0.05, latency_jitter=0.02) as fake:
        client = Client(fake.port)
        started = time.monotonic()
        response = client.request_token()
        elapsed = time.monotonic() - started
    client.close()
    assert response.status_code == 200
    assert elapsed >= 0.05


def test_negative_latency_jitter_is_rejected() -> None:
    with pytest.raises(ValueError, match="latency_jitter"):
        FakeZoom(latency_jitter=-0.1)


def test_records_can_be_turned_off(clock: FakeClock, connect: Connect) -> None:
    fake = start_fake(clock, record_requests=False)
    try:
        client = connect(fake)
        client.get_many(PATHS[LIGHT], 3)
        records = fake.requests
        stats = fake.rate_stats()
    finally:
        fake.stop()
    assert records == []
    assert stats[LIGHT].requests == 3


def test_cli_parses_limit_options() -> None:
    args = build_parser().parse_args(
        ["--enforce-limits", "--speedup", "10", "--latency-jitter", "0.2"]
    )
    defaults = build_parser().parse_args([])
    assert args.enforce_limits is True
    assert args.speedup == 10.0
    assert args.latency_jitter == 0.2
    assert defaults.enforce_limits is False
    assert defaults.speedup == 1.0


def test_cli_rejects_zero_speedup() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "zoom_fake", "--speedup", "0"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "speedup 0 is invalid" in result.stderr


def test_cli_serves_with_limits_enforced() -> None:
    # Speedup 0.001 makes a per-second window last 1000 s, so the five
    # requests below fall into one window whatever the wall clock reads.
    command = [sys.executable, "-m", "zoom_fake", "--active-users", "2"]
    command += ["--plan", "free", "--enforce-limits", "--speedup", "0.001"]
    process = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        url = shlex.split(line.removeprefix("export ZOOM_TOKEN_URL="))[0]
        client = Client(urlsplit(url).port or 0)
        client.new_token()
        responses = client.get_many(PATHS[LIGHT], 5)
        client.close()
    finally:
        process.terminate()
        process.wait(timeout=15)
    assert statuses(responses) == [200, 200, 200, 200, 429]
    assert responses[-1].headers["X-RateLimit-Type"] == "QPS"
