"""Serve the Zoom emulator from a shell.

``python -m zoom_fake`` prints shell ``export`` lines with the token URL and the
demo credentials, then serves until SIGINT or SIGTERM and exits 0. Paste the
lines into the shell that runs the client, or redirect them to a file and
source it from there.

``--size large`` or ``--size xlarge`` serves a benchmark-sized account. The
emulator builds the account's indexes before it prints the lines, which takes
seconds for these sizes, so the first requests do not wait for them.
"""

from __future__ import annotations

import argparse
import dataclasses
import ipaddress
import logging
import math
import shlex
import signal
import sys
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from types import FrameType

from zoom_fake.account import AccountSpec
from zoom_fake.server import PLANS, FakeZoom
from zoom_fake.spec import ACCOUNT_SIZES, describe_size


def _port(text: str) -> int:
    port = int(text)
    if not 0 <= port <= 65535:
        msg = f"port {port} is out of range; use 0 to 65535 (0 picks a free port)"
        raise argparse.ArgumentTypeError(msg)
    return port


def _seconds(text: str) -> float:
    value = float(text)
    if not math.isfinite(value) or value < 0:
        msg = f"{text} is not a number of seconds; use a finite value of 0 or more"
        raise argparse.ArgumentTypeError(msg)
    return value


def _positive_seconds(text: str) -> float:
    value = _seconds(text)
    if value == 0:
        raise argparse.ArgumentTypeError("a token lifetime must be above 0 seconds")
    return value


def _speedup(text: str) -> float:
    value = float(text)
    if not math.isfinite(value) or value <= 0:
        msg = f"speedup {text} is invalid; use a finite factor above 0, e.g. 1 or 10"
        raise argparse.ArgumentTypeError(msg)
    return value


def _anchor(text: str) -> datetime:
    try:
        day = datetime.strptime(text, "%Y-%m-%d")
    except ValueError:
        msg = f"{text} is not a date; use YYYY-MM-DD, e.g. 2026-01-05"
        raise argparse.ArgumentTypeError(msg) from None
    return day.replace(tzinfo=UTC)


_COUNT_OPTIONS = (
    ("--seed", "seed of the generated data"),
    ("--active-users", "active users; the first is the owner"),
    ("--inactive-users", "deactivated users"),
    ("--pending-users", "invited users without an id"),
    ("--meetings-per-user", "scheduled meetings per active or inactive user"),
    ("--no-host-users", "active users whose meeting list fails with code 3161"),
    ("--vanished-users", "active users listed but returning 404 code 1001"),
    ("--history-days", "days of generated history before the anchor"),
    ("--future-days", "days of scheduled activity after the anchor"),
    ("--instances-per-recurring-meeting", "weekly instances of a recurring meeting"),
    ("--participants-per-instance", "average unique participants of a meeting"),
    ("--webinar-users", "users with the webinar add-on"),
    ("--webinars-per-user", "webinars per user with the add-on"),
    ("--recordings-per-user", "cloud recordings per host"),
    ("--groups", "groups in the account"),
    ("--activity-logs-per-user", "sign-in and sign-out events per user"),
    ("--operation-logs-per-user", "operation log entries per user"),
)


def build_parser() -> argparse.ArgumentParser:
    """Return the command-line parser."""
    parser = argparse.ArgumentParser(
        prog="python -m zoom_fake",
        description="Serve a Zoom OAuth and API v2 emulator with a generated account.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument(
        "--port", type=_port, default=0, help="port to listen on; 0 picks a free one"
    )
    parser.add_argument(
        "--size",
        choices=tuple(ACCOUNT_SIZES),
        default="small",
        help="account preset that sets every count option below. A count option "
        "overrides one value (default small). "
        + " ".join(describe_size(size) for size in ACCOUNT_SIZES),
    )
    for option, text in _COUNT_OPTIONS:
        field = option[2:].replace("-", "_")
        values = ", ".join(
            f"{size} {getattr(spec, field)}" for size, spec in ACCOUNT_SIZES.items()
        )
        parser.add_argument(
            option, type=int, default=None, help=f"{text} (default by size: {values})"
        )
    parser.add_argument(
        "--anchor",
        type=_anchor,
        default=None,
        help="UTC date the generated history is laid out around, YYYY-MM-DD "
        "(default: today)",
    )
    parser.add_argument(
        "--plan",
        choices=PLANS,
        default="business",
        help="account plan; reports need pro or business, dashboards business "
        "(default business)",
    )
    parser.add_argument(
        "--no-dashboards",
        action="store_true",
        help="disable the Dashboard feature, so /metrics/* responds with code 200",
    )
    parser.add_argument(
        "--token-lifetime",
        type=_positive_seconds,
        default=3599,
        help="seconds an access token lives (default 3599)",
    )
    parser.add_argument(
        "--latency",
        type=_seconds,
        default=0.0,
        help="seconds added before every response (default 0)",
    )
    parser.add_argument(
        "--latency-jitter",
        type=_seconds,
        default=0.0,
        help="up to this many more seconds, drawn at random, added before every "
        "response (default 0)",
    )
    parser.add_argument(
        "--enforce-limits",
        action="store_true",
        help="reject requests over Zoom's per-second and daily rate limits for "
        "--plan with 429, as Zoom does",
    )
    parser.add_argument(
        "--speedup",
        type=_speedup,
        default=1.0,
        help="factor by which time runs faster for rate limiting: windows and "
        "days last 1/FACTOR as long, so FACTOR times as many requests pass per "
        "second (default 1)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the emulator until SIGINT or SIGTERM.

    Returns:
        The exit status: 0 after a signal, 1 when the address cannot be bound.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        spec = account_spec(args)
    except ValueError as error:
        parser.error(str(error))
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not _is_loopback(args.host):
        print(
            f"warning: listening on {args.host} exposes the emulator and its public "
            "demo credentials to other machines; use --host 127.0.0.1 unless you "
            "need that",
            file=sys.stderr,
        )
    stopped = threading.Event()
    _stop_on_signals(stopped)
    fake = FakeZoom(
        spec,
        token_lifetime=args.token_lifetime,
        latency=args.latency,
        latency_jitter=args.latency_jitter,
        enforce_limits=args.enforce_limits,
        speedup=args.speedup,
        # Nothing reads the records of a served emulator, and keeping them
        # would grow memory with every request.
        record_requests=False,
        host=args.host,
        port=args.port,
        plan=args.plan,
        dashboards=not args.no_dashboards,
    )
    # Building the indexes before listening keeps their cost, seconds for the
    # "xlarge" preset, out of the first responses.
    fake.account.build_indexes()
    if stopped.is_set():
        return 0
    try:
        fake.start()
    except OSError as error:
        print(
            f"error: cannot listen on {args.host}:{args.port}: {error.strerror}; "
            "choose another --port or --host",
            file=sys.stderr,
        )
        return 1
    try:
        _print_exports(fake)
        while not stopped.wait(timeout=1.0):
            pass
    finally:
        fake.stop()
    return 0


def account_spec(args: argparse.Namespace) -> AccountSpec:
    """Return the ``--size`` preset with the count options given changed.

    Raises:
        ValueError: A count is invalid.
    """
    changes = {
        field.name: getattr(args, field.name)
        for field in dataclasses.fields(AccountSpec)
        if getattr(args, field.name, None) is not None
    }
    return AccountSpec.sized(args.size, **changes)


def _print_exports(fake: FakeZoom) -> None:
    values = (
        ("ZOOM_TOKEN_URL", fake.token_url),
        ("ZOOM_ACCOUNT_ID", fake.account_id),
        ("ZOOM_CLIENT_ID", fake.client_id),
        ("ZOOM_CLIENT_SECRET", fake.client_secret),
    )
    for name, value in values:
        print(f"export {name}={shlex.quote(value)}")
    print(f"# Zoom emulator serving {fake.url} (API under /v2); stop it with Ctrl-C")
    sys.stdout.flush()


def _stop_on_signals(stopped: threading.Event) -> None:
    def handle(signum: int, frame: FrameType | None) -> None:
        stopped.set()

    signal.signal(signal.SIGINT, handle)
    signal.signal(signal.SIGTERM, handle)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


if __name__ == "__main__":
    sys.exit(main())
