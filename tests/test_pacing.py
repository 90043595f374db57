"""Client-side pacing per rate-limit category, with an injected clock."""

from __future__ import annotations

import threading
from time import monotonic
from time import sleep as real_sleep

import pytest

from jobs.config import ConfigError, config_from_mapping
from tests.conftest import make_session
from zoom_auth import ENDPOINTS, PLAN_LIMITS, Pacer, TokenBucket, TransientError
from zoom_fake import AccountSpec, FakeZoom


class FakeTime:
    """A clock that moves only when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []
        self.lock = threading.Lock()

    def clock(self) -> float:
        with self.lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self.lock:
            self.sleeps.append(seconds)


def test_bucket_spaces_calls_at_rate():
    time = FakeTime()
    bucket = TokenBucket(10, clock=time.clock, sleep=time.sleep)

    waits = [bucket.acquire() for _ in range(5)]

    assert waits == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4])
    assert time.sleeps == pytest.approx([0.1, 0.2, 0.3, 0.4])


def test_bucket_does_not_bank_idle_time():
    time = FakeTime()
    bucket = TokenBucket(2, clock=time.clock, sleep=time.sleep)
    bucket.acquire()
    time.now += 60

    waits = [bucket.acquire() for _ in range(3)]

    assert waits == pytest.approx([0.0, 0.5, 1.0])


def test_threads_get_distinct_slots():
    time = FakeTime()
    bucket = TokenBucket(4, clock=time.clock, sleep=time.sleep)
    waits: list[float] = []
    barrier = threading.Barrier(8)

    def call() -> None:
        barrier.wait()
        waits.append(bucket.acquire())

    threads = [threading.Thread(target=call) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)

    assert sorted(waits) == pytest.approx([i * 0.25 for i in range(8)])


@pytest.mark.parametrize("plan", sorted(PLAN_LIMITS))
def test_pacer_uses_share_of_plan(plan):
    time = FakeTime()
    pacer = Pacer(plan, 0.5, clock=time.clock, sleep=time.sleep)

    for category, limit in PLAN_LIMITS[plan].items():
        pacer.acquire(category)
        second = pacer.acquire(category)
        assert second == pytest.approx(1 / (limit * 0.5))


def test_categories_paced_independently():
    time = FakeTime()
    pacer = Pacer("pro", 1.0, clock=time.clock, sleep=time.sleep)

    pacer.acquire("Heavy")
    light = pacer.acquire("Light")
    heavy = pacer.acquire("Heavy")

    assert light == 0
    assert heavy == pytest.approx(0.1)


def test_every_endpoint_category_is_paced():
    pacer = Pacer("business")

    assert {e.category for e in ENDPOINTS.values()} <= set(pacer.buckets)


def test_session_paces_by_endpoint_category():
    time = FakeTime()
    # Without enforced limits the emulator's headers carry the Business
    # limits, so a Business pacer keeps its rates.
    with FakeZoom(account=AccountSpec(seed=3, active_users=3)) as fake:
        pacer = Pacer("business", 1.0, clock=time.clock, sleep=time.sleep)
        session = make_session(fake, pacer=pacer)

        for _ in range(3):
            session.get("/users/{userId}", userId="me")
        list(session.paginate("/users", "users"))
        list(session.paginate("/users", "users"))

    assert time.sleeps == pytest.approx([1 / 80, 2 / 80, 1 / 60])


def test_session_adapts_pace_to_rate_limit_headers():
    time = FakeTime()
    with FakeZoom(account=AccountSpec(seed=3, active_users=3)) as fake:
        pacer = Pacer("free", 0.5, clock=time.clock, sleep=time.sleep)
        session = make_session(fake, pacer=pacer)
        assert pacer.rate("Light") == pytest.approx(2)

        session.get("/users/{userId}", userId="me")

    # The emulator reports Business's 80 Light requests per second.
    assert pacer.rate("Light") == pytest.approx(40)
    assert pacer.rate("Medium") == pytest.approx(1)


def test_pacer_waits_a_window_when_none_remains():
    time = FakeTime()
    pacer = Pacer("pro", 1.0, clock=time.clock, sleep=time.sleep)

    pacer.observe("Heavy", limit=10, remaining=0)
    pacer.acquire("Heavy")
    pacer.observe("Resource-intensive", limit=20, remaining=0)
    pacer.acquire("Resource-intensive")

    assert time.sleeps == pytest.approx([1.0, 60.0])
    assert pacer.rate("Resource-intensive") == pytest.approx(20 / 60)


def test_pacer_leaves_daily_limits_alone():
    pacer = Pacer("pro", 0.8)

    pacer.observe("Heavy", limit=30_000, remaining=0)

    assert pacer.rate("Heavy") == pytest.approx(8)


@pytest.mark.parametrize(
    ("plan", "share", "message"),
    [
        ("enterprise-plus", 0.8, "not a known plan"),
        ("pro", 1.5, "at most 1"),
        ("pro", 0, "at least 0.01"),
        ("pro", 0.0001, "at least 0.01"),
    ],
    ids=["unknown-plan", "share-over-1", "share-zero", "share-tiny"],
)
def test_bad_plan_settings_rejected(tmp_path, plan, share, message):
    zoom = {
        "account_id": "a",
        "client_id": "b",
        "client_secret": "c" * 10,
        "plan": plan,
        "rate_share": share,
    }

    with pytest.raises(ConfigError) as caught:
        config_from_mapping({"zoom": zoom}, base_dir=tmp_path, env={})

    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("sync", "message"),
    [
        ({"workers": 65}, "sync.workers must be at most 64, not 65"),
        ({"workers": 0}, "sync.workers must be a whole number of at least 1"),
        ({"request_budget": -5}, "sync.request_budget must be a whole number"),
    ],
    ids=["workers-too-many", "workers-zero", "budget-negative"],
)
def test_bad_sync_counts_rejected(tmp_path, sync, message):
    zoom = {"account_id": "a", "client_id": "b", "client_secret": "c" * 10}

    with pytest.raises(ConfigError) as caught:
        config_from_mapping({"zoom": zoom, "sync": sync}, base_dir=tmp_path, env={})

    assert message in str(caught.value)


def test_paced_session_gets_no_429():
    # Both sides run their rate clocks 20 times faster than real time, so the
    # free plan's 4 Light and 2 Medium requests per second take little time.
    speedup = 20.0
    with FakeZoom(
        account=AccountSpec(seed=3, active_users=3),
        plan="free",
        enforce_limits=True,
        speedup=speedup,
    ) as fake:
        pacer = Pacer(
            "free",
            0.8,
            clock=lambda: monotonic() * speedup,
            sleep=lambda seconds: real_sleep(seconds / speedup),
        )
        session = make_session(fake, pacer=pacer)

        for _ in range(30):
            session.get("/users/{userId}", userId="me")
        for _ in range(10):
            list(session.paginate("/users", "users"))
        stats = fake.rate_stats()

    assert stats["Light"].requests == 30
    assert stats["Medium"].requests == 10
    assert stats["Light"].rejected_qps == 0
    assert stats["Medium"].rejected_qps == 0


def test_unpaced_burst_is_rejected():
    with FakeZoom(
        account=AccountSpec(seed=3, active_users=3), plan="free", enforce_limits=True
    ) as fake:
        session = make_session(fake, max_attempts=1)
        rejected = 0
        for _ in range(10):
            try:
                session.get("/users/{userId}", userId="me")
            except TransientError:
                rejected += 1
        stats = fake.rate_stats()

    assert rejected > 0
    assert stats["Light"].rejected_qps == rejected


def test_cancel_ends_bucket_wait():
    time = FakeTime()
    cancel = threading.Event()

    def sleep(seconds: float) -> None:
        time.sleeps.append(seconds)
        cancel.set()

    bucket = TokenBucket(0.1, clock=time.clock, sleep=sleep)
    bucket.acquire()

    waited = bucket.acquire(cancel)

    # The 10 s wait is cut into 0.25 s steps and ends after the first.
    assert time.sleeps == [0.25]
    assert waited == pytest.approx(0.25)
