"""The emulator's named account sizes, and how it serves a large account.

Counts come from the Account model, which the routes serve, so the presets are
checked without serving every record. HTTP requests go to a FakeZoom on
127.0.0.1 or to ``python -m zoom_fake`` run as a subprocess. The account is
anchored to a fixed date and the clock is injected.
"""

from __future__ import annotations

import dataclasses
import os
import random
import selectors
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

import pytest
import requests

from zoom_fake import Account, AccountSpec, FakeZoom
from zoom_fake.__main__ import account_spec, build_parser
from zoom_fake.dates import DateRange, date_range, earliest_report_date, midnight
from zoom_fake.spec import ACCOUNT_SIZES, SIZE_COUNTS, describe_size
from zoom_fake.timeline import MEETING, Instance, MeetingPlan

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = (2.0, 10.0)
ANCHOR = datetime(2026, 3, 15, tzinfo=UTC)
NOW = ANCHOR + timedelta(hours=12)
# Fields that count things in the whole account rather than per user.
ACCOUNT_WIDE = (
    "active_users", "inactive_users", "pending_users", "webinar_users", "groups",
)  # fmt: skip
# Instances sampled to estimate the participant rows of a large account. Rows
# per instance vary widely, so fewer than about 1,000 give an estimate that can
# be 5% off.
ROW_SAMPLE = 1_000


def fixed_clock() -> float:
    return NOW.timestamp()


def sized_account(size: str) -> Account:
    spec = AccountSpec.sized(size, anchor=ANCHOR)
    return Account(spec, "sizeTestAccount", clock=fixed_clock)


def recent_ended(account: Account) -> list[tuple[MeetingPlan, int]]:
    """Return the meeting instances the per-user report serves for six months.

    They have ended by the clock and started on or after the first day of the
    sixth month before it.
    """
    now = account.now()
    earliest = midnight(earliest_report_date(now.date()))
    timeline = account.timeline
    found = []
    for plan in timeline.iter_plans(MEETING):
        for index in range(len(plan.starts)):
            timing = timeline.timing(plan, index)
            if timing.end <= now and timing.start >= earliest:
                found.append((plan, index))
    return found


def participant_rows(account: Account, instances: list[tuple[MeetingPlan, int]]) -> int:
    timeline = account.timeline
    return sum(
        len(timeline.participants(timeline.instance(plan, index)))
        for plan, index in instances
    )


@pytest.fixture(scope="module")
def large() -> Account:
    return sized_account("large")


@pytest.fixture(scope="module")
def large_recent(large: Account) -> list[tuple[MeetingPlan, int]]:
    return recent_ended(large)


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


def bearer(http: requests.Session, token_url: str, exports: dict[str, str]) -> str:
    grant = http.post(
        token_url,
        auth=(exports["client_id"], exports["client_secret"]),
        data={"grant_type": "account_credentials", "account_id": exports["account"]},
        timeout=TIMEOUT,
    )
    assert grant.status_code == 200, grant.text
    return str(grant.json()["access_token"])


def fake_bearer(http: requests.Session, fake: FakeZoom) -> str:
    exports = {
        "client_id": fake.client_id,
        "client_secret": fake.client_secret,
        "account": fake.account_id,
    }
    return bearer(http, fake.token_url, exports)


def get_ok(
    http: requests.Session, base: str, token: str, path: str, params: dict[str, Any]
) -> Any:
    headers = {"Authorization": f"Bearer {token}"}
    response = http.get(base + path, headers=headers, params=params, timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    return response.json()


def paged(
    http: requests.Session,
    fake: FakeZoom,
    token: str,
    path: str,
    key: str,
    params: dict[str, Any],
) -> list[dict[str, Any]]:
    """Return every record of a list route, following next_page_token."""
    query = dict(params)
    records: list[dict[str, Any]] = []
    for _ in range(1000):
        body = get_ok(http, fake.url, token, path, query)
        records.extend(body[key])
        if not body["next_page_token"]:
            return records
        query["next_page_token"] = body["next_page_token"]
    raise AssertionError(f"{path} did not end after 1000 pages")


def uuid_path(uuid: str) -> str:
    """Encode a UUID for a path as Zoom requires: twice for "/..." or "//"."""
    once = quote(uuid, safe="")
    return quote(once, safe="") if uuid.startswith("/") or "//" in uuid else once


def read_lines(stream: IO[bytes], count: int, timeout: float = 20.0) -> list[str]:
    """Read ``count`` lines from a pipe, failing after ``timeout`` seconds."""
    selector = selectors.DefaultSelector()
    selector.register(stream, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    buffer = b""
    while buffer.count(b"\n") < count:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"only {buffer!r} arrived before the timeout"
        if not selector.select(remaining):
            continue
        chunk = os.read(stream.fileno(), 4096)
        assert chunk, f"the pipe closed after {buffer!r}"
        buffer += chunk
    selector.close()
    return buffer.decode().splitlines()[:count]


# Presets


def test_small_size_is_default_spec() -> None:
    assert ACCOUNT_SIZES["small"] == AccountSpec()
    assert AccountSpec.sized("small") == AccountSpec()


def test_sized_changes_given_fields() -> None:
    spec = AccountSpec.sized("large", seed=9, groups=3)
    preset = ACCOUNT_SIZES["large"]
    assert spec.seed == 9
    assert spec.groups == 3
    assert dataclasses.replace(spec, seed=preset.seed, groups=preset.groups) == preset


def test_sized_rejects_unknown_size() -> None:
    with pytest.raises(ValueError, match="'huge' is unknown; use one of small"):
        AccountSpec.sized("huge")


def test_sized_checks_changed_fields() -> None:
    with pytest.raises(ValueError, match="active_users"):
        AccountSpec.sized("large", active_users=0)


def test_xlarge_is_ten_times_large() -> None:
    large, xlarge = ACCOUNT_SIZES["large"], ACCOUNT_SIZES["xlarge"]
    for field in dataclasses.fields(AccountSpec):
        value = getattr(large, field.name)
        expected = 10 * value if field.name in ACCOUNT_WIDE else value
        assert getattr(xlarge, field.name) == expected, field.name


def test_size_counts_scale_tenfold() -> None:
    large, xlarge = SIZE_COUNTS["large"], SIZE_COUNTS["xlarge"]
    assert set(SIZE_COUNTS) == set(ACCOUNT_SIZES)
    assert xlarge.users == 10 * large.users
    assert xlarge.instances == pytest.approx(10 * large.instances, rel=0.02)
    assert xlarge.participant_rows == pytest.approx(
        10 * large.participant_rows, rel=0.02
    )


# Counts of the large account


def test_large_user_statuses(large: Account) -> None:
    pending = len(large.user_indexes("pending"))
    hosts = [index for index in range(large.user_count) if large.hosts_meetings(index)]
    assert large.user_count == SIZE_COUNTS["large"].users == 2_000
    assert 1 <= pending <= 0.02 * large.user_count
    assert len(large.user_indexes("inactive")) >= 1
    assert len(hosts) == large.user_count - pending


def test_small_counts_match_summary() -> None:
    account = sized_account("small")
    instances = recent_ended(account)
    stated = SIZE_COUNTS["small"]
    assert account.user_count == stated.users
    assert len(instances) == pytest.approx(stated.instances, rel=0.02)
    assert participant_rows(account, instances) == pytest.approx(
        stated.participant_rows, rel=0.02
    )


def test_large_instances_match_summary(
    large_recent: list[tuple[MeetingPlan, int]],
) -> None:
    assert len(large_recent) == pytest.approx(SIZE_COUNTS["large"].instances, rel=0.02)
    assert len(large_recent) == pytest.approx(20_000, rel=0.05)


def test_large_rows_match_summary(
    large: Account, large_recent: list[tuple[MeetingPlan, int]]
) -> None:
    sample = random.Random(5).sample(large_recent, ROW_SAMPLE)
    per_instance = participant_rows(large, sample) / ROW_SAMPLE
    estimate = per_instance * len(large_recent)
    assert 9.5 <= per_instance <= 11.0
    assert estimate == pytest.approx(SIZE_COUNTS["large"].participant_rows, rel=0.05)


def test_large_other_records_stay_few(
    large: Account, large_recent: list[tuple[MeetingPlan, int]]
) -> None:
    webinar_hosts = large.webinar_users
    webinars = sum(len(large.webinars_for(user_id)) for user_id in webinar_hosts)
    first = midnight(earliest_report_date(large.now().date())).date()
    last = large.now().date()
    sign_ins = large.activity_logs(first, last)
    operations = large.operation_logs(first, last)
    sampled_hosts = random.Random(6).sample(range(large.user_count - 20), 25)
    recordings = [
        len(large.recordings_for(large.person(index).id)) for index in sampled_hosts
    ]
    assert len(large.groups) == 20
    assert len(webinar_hosts) == 20
    assert webinars <= 0.01 * len(large_recent)
    assert max(recordings) <= 2
    assert len(sign_ins) < len(large_recent) / 2
    assert len(operations) < len(sign_ins)


# Serving a large account


def test_large_report_reads_host_only(http: requests.Session) -> None:
    spec = AccountSpec.sized("large", anchor=ANCHOR)
    hosts = [3, 250, 1_000, 1_700, 1_950]
    months = list(_month_windows(earliest_report_date(NOW.date()), NOW.date()))
    with FakeZoom(account=spec, clock=fixed_clock) as fake:
        account = fake.account
        token = fake_bearer(http, fake)
        listed = []
        for host in hosts:
            user_id = account.person(host).id
            for first, last in months:
                path = f"/v2/report/users/{user_id}/meetings"
                params = {"from": first.isoformat(), "to": last.isoformat()}
                listed += paged(http, fake, token, path, "meetings", params)
        rows = 0
        for meeting in listed:
            path = f"/v2/report/meetings/{uuid_path(meeting['uuid'])}/participants"
            params = {"page_size": 300}
            rows += len(paged(http, fake, token, path, "participants", params))
        host_ids = [account.person(host).id for host in hosts]
        instances = [len(account.instances_for(user_id)) for user_id in host_ids]
        plans_built = account.cache_info()["plans"].misses
    assert len(listed) == sum(instances)
    assert rows > len(listed)
    assert not account.usage.index_built
    assert plans_built <= len(hosts) * spec.meetings_per_user


def _month_windows(first: date, last: date) -> Iterator[tuple[date, date]]:
    """Yield the calendar months from ``first`` to ``last``, the last one cut."""
    start = first
    while start <= last:
        following = (start.replace(day=28) + timedelta(days=4)).replace(day=1)
        yield start, min(following - timedelta(days=1), last)
        start = following


# Enough meetings that some instances in one month start in the same second,
# which the dashboard orders by UUID.
DASHBOARD_SPEC = AccountSpec(seed=3, active_users=200, meetings_per_user=20)
DASHBOARD_WINDOW = date_range(NOW.date() - timedelta(days=30), NOW.date())


@pytest.fixture(scope="module")
def dashboard_fake() -> Iterator[FakeZoom]:
    spec = dataclasses.replace(DASHBOARD_SPEC, anchor=ANCHOR)
    with FakeZoom(account=spec, clock=fixed_clock) as fake:
        yield fake


@pytest.fixture(scope="module")
def every_instance(dashboard_fake: FakeZoom) -> list[Instance]:
    timeline = dashboard_fake.account.timeline
    return [
        instance
        for plan in timeline.iter_plans(MEETING)
        for instance in timeline.instances(plan)
    ]


@pytest.mark.parametrize(
    ("kind", "date_type"),
    [("past", "start_time"), ("past", "end_time"), ("pastOne", "start_time")],
    ids=["past-by-start", "past-by-end", "past-one"],
)
def test_dashboard_order_matches_scan(
    http: requests.Session,
    dashboard_fake: FakeZoom,
    every_instance: list[Instance],
    kind: str,
    date_type: str,
) -> None:
    window = DASHBOARD_WINDOW
    params = {
        "from": window.first_text,
        "to": window.last_text,
        "type": kind,
        "query_date_type": date_type,
        "page_size": 300,
    }
    token = fake_bearer(http, dashboard_fake)
    path = "/v2/metrics/meetings"
    served = paged(http, dashboard_fake, token, path, "meetings", params)
    expected = [
        instance
        for instance in every_instance
        if _is_listed(instance, window, kind, date_type)
    ]
    expected.sort(key=lambda instance: (instance.start, instance.uuid))
    starts = Counter(instance.start for instance in expected)
    assert [meeting["uuid"] for meeting in served] == [i.uuid for i in expected]
    assert len(expected) > 50
    if kind == "past":
        assert any(count > 1 for count in starts.values())


def _is_listed(
    instance: Instance, window: DateRange, kind: str, date_type: str
) -> bool:
    """Tell whether ``GET /metrics/meetings`` lists an instance, checked directly."""
    moment = instance.end if date_type == "end_time" else instance.start
    alone = kind != "pastOne" or instance.people == 1
    return window.contains(moment) and instance.has_ended(NOW) and alone


# Command line


def test_cli_size_selects_preset() -> None:
    parser = build_parser()
    default = account_spec(parser.parse_args([]))
    large = account_spec(parser.parse_args(["--size", "large", "--groups", "3"]))
    anchored = account_spec(
        parser.parse_args(["--size", "xlarge", "--anchor", "2026-03-15"])
    )
    assert default == AccountSpec()
    assert large == AccountSpec.sized("large", groups=3)
    assert anchored == AccountSpec.sized("xlarge", anchor=ANCHOR)


def test_cli_help_states_size_counts() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "zoom_fake", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    text = " ".join(result.stdout.split())
    assert result.returncode == 0
    for size in ACCOUNT_SIZES:
        assert describe_size(size) in text
    assert "2,000 users; about 20,200 meeting instances" in text
    assert "small 8, large 1880, xlarge 18800" in text


def test_cli_rejects_unknown_size() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "zoom_fake", "--size", "huge"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "invalid choice: 'huge'" in result.stderr


def test_cli_serves_large_size(http: requests.Session) -> None:
    # No meetings keeps start-up short; the users still come from the preset.
    command = [sys.executable, "-m", "zoom_fake", "--size", "large"]
    command += ["--meetings-per-user", "0", "--port", "0"]
    process = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0
    )
    try:
        assert process.stdout is not None
        lines = read_lines(process.stdout, 4)
        exports = dict(line.removeprefix("export ").split("=", 1) for line in lines)
        names = {"client_id": "ZOOM_CLIENT_ID", "client_secret": "ZOOM_CLIENT_SECRET"}
        credentials = {key: exports[name] for key, name in names.items()}
        credentials["account"] = exports["ZOOM_ACCOUNT_ID"]
        token_url = exports["ZOOM_TOKEN_URL"]
        token = bearer(http, token_url, credentials)
        base = token_url.removesuffix("/oauth/token")
        totals = {
            status: get_ok(
                http, base, token, "/v2/users", {"status": status, "page_size": 1}
            )["total_records"]
            for status in ("active", "inactive", "pending")
        }
        meetings = get_ok(http, base, token, "/v2/users/me/meetings", {})
        process.send_signal(signal.SIGTERM)
        exit_code = process.wait(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=15)
    assert totals == {"active": 1_880, "inactive": 100, "pending": 20}
    assert meetings["total_records"] == 0
    assert exit_code == 0
