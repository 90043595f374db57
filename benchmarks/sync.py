"""Full-sync benchmark against the emulator with Zoom's rate limits enforced.

Run it from the repository root::

    .venv/bin/python -m benchmarks.sync
    .venv/bin/python -m benchmarks.sync --sizes large --speedup 8 --json out.json

For each account size it starts the emulator (Business plan, limits enforced,
time sped up by ``--speedup``, latency plus jitter) and runs a full sync in a
child process. It then moves the emulated clock one day on, runs an
incremental sync, and measures the store against raw ``sqlite3.executemany``. One size
also gets the same full sync with a single worker, the sequential baseline.
The sync children use the project's own runner. Only their pacer clock runs
``--speedup`` times faster, as the emulator's rate-limit clock does, so both
sides agree on what a second is.

Figures are printed as a table and written as JSON. Rates and latencies are
given in emulated seconds, so they compare with Zoom's published limits;
wall times are real seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from zoom_auth import PLAN_LIMITS
from zoom_fake import AccountSpec, FakeZoom

PLAN = "business"
RATE_SHARE = 0.8
JOBS = ("users", "meetings", "meeting_instances", "participants")
DAY = 86_400.0

# Account sizes of the benchmark: the emulator's "large" preset, one fifth of
# it, one twentieth for a quick check, and "tiny" for the test suite.
SIZES = {
    "tiny": {"active_users": 9, "inactive_users": 1, "pending_users": 0},
    "small": {"active_users": 94, "inactive_users": 5, "pending_users": 1},
    "medium": {"active_users": 376, "inactive_users": 20, "pending_users": 4},
    "large": {},
}


class ShiftedClock:
    """Wall clock plus an offset that the benchmark moves to skip a day."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    results: dict[str, Any] = {
        "command": " ".join(["python -m benchmarks.sync", *(argv or sys.argv[1:])]),
        "machine": machine(),
        "settings": {
            "plan": PLAN,
            "rate_share": RATE_SHARE,
            "speedup": args.speedup,
            "latency_s": args.latency,
            "latency_jitter_s": args.jitter,
            "jobs": list(JOBS),
            "dashboards": args.dashboards,
        },
        "sizes": {},
    }
    with tempfile.TemporaryDirectory(prefix="zoom-etl-bench-") as folder:
        for size in args.sizes:
            baseline = size == args.baseline_size
            print(f"== {size}: full sync, incremental sync{', baseline' * baseline}")
            results["sizes"][size] = bench_size(args, size, Path(folder), baseline)
    print_table(results)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
        print(f"\nJSON written to {args.json}")
    return 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.sync", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--sizes",
        type=lambda text: text.split(","),
        default=["medium", "large"],
        help=f"comma-separated account sizes among {', '.join(SIZES)} "
        "(default medium,large)",
    )
    parser.add_argument(
        "--baseline-size",
        default="medium",
        help="size that also gets the one-worker sync (default medium; none to skip)",
    )
    parser.add_argument(
        "--speedup",
        type=float,
        default=8.0,
        help="how much faster emulated time runs than real time (default 8)",
    )
    parser.add_argument(
        "--latency",
        type=float,
        default=0.15,
        help="emulated seconds each response takes at least (default 0.15)",
    )
    parser.add_argument(
        "--jitter",
        type=float,
        default=0.1,
        help="up to this many more emulated seconds per response (default 0.1)",
    )
    parser.add_argument(
        "--dashboards",
        action="store_true",
        help="read meeting instances from the account-wide dashboard",
    )
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)
    unknown = [size for size in args.sizes if size not in SIZES]
    if unknown:
        parser.error(f"unknown size {unknown[0]!r}; use one of {', '.join(SIZES)}")
    return args


def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
    }


def bench_size(args: argparse.Namespace, size: str, folder: Path, baseline: bool):
    anchor = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    spec = AccountSpec.sized("large", seed=7, anchor=anchor, **SIZES[size])
    clock = ShiftedClock()
    fake = FakeZoom(
        account=spec,
        plan=PLAN,
        dashboards=True,
        enforce_limits=True,
        speedup=args.speedup,
        latency=args.latency / args.speedup,
        latency_jitter=args.jitter / args.speedup,
        record_requests=False,
        clock=clock,
    )
    database = folder / f"{size}.db"
    figures: dict[str, Any] = {"account": account_counts(spec)}
    # Built up front, so no request waits for the emulator's indexes.
    fake.account.build_indexes()
    with fake:
        figures["full"] = measured_sync(args, fake, clock, database, workers=None)
        if baseline:
            one = folder / f"{size}-one-worker.db"
            figures["one_worker"] = measured_sync(args, fake, clock, one, workers=1)
            speedup = figures["one_worker"]["wall_s"] / figures["full"]["wall_s"]
            figures["speedup_over_one_worker"] = round(speedup, 2)
        clock.offset += DAY
        figures["incremental"] = measured_sync(
            args, fake, clock, database, workers=None
        )
    full, incremental = figures["full"], figures["incremental"]
    figures["incremental_request_share"] = round(
        incremental["requests"] / max(full["requests"], 1), 4
    )
    # Zoom lists scheduled meetings per user with no filter for changes, so
    # the meetings job reads every user on every run. The share without it
    # shows what the incremental jobs cost.
    history = [job for job in JOBS if job != "meetings"]
    figures["incremental_request_share_without_meetings"] = round(
        sum(incremental["requests_by_job"].get(job, 0) for job in history)
        / max(sum(full["requests_by_job"].get(job, 0) for job in history), 1),
        4,
    )
    figures["store"] = child(["store", str(database), str(folder / f"store-{size}")])
    return figures


def account_counts(spec: AccountSpec) -> dict[str, int]:
    return {
        "users": spec.active_users + spec.inactive_users + spec.pending_users,
        "participants_per_instance": spec.participants_per_instance,
        "history_days": spec.history_days,
    }


def measured_sync(
    args: argparse.Namespace,
    fake: FakeZoom,
    clock: ShiftedClock,
    database: Path,
    workers: int | None,
) -> dict[str, Any]:
    before = fake.rate_stats()
    run = child(
        [
            "sync",
            fake.token_url,
            str(database),
            str(args.speedup),
            str(clock.offset),
            str(workers or 0),
            "1" if args.dashboards else "0",
        ]
    )
    after = fake.rate_stats()
    served = {
        category: asdict(after[category]) for category in after if after[category]
    }
    for category, counts in served.items():
        for name, value in asdict(before[category]).items():
            counts[name] -= value
    rejected = sum(c["rejected_qps"] + c["rejected_daily"] for c in served.values())
    requests = sum(c["requests"] for c in served.values())
    limits = PLAN_LIMITS[PLAN]
    allowed = {c: limits[c] * RATE_SHARE * args.speedup for c in limits}
    wall = run["wall_s"]
    by_category = {c: n["requests"] for c, n in served.items() if n["requests"]}
    bound = max(n / allowed[c] for c, n in by_category.items()) if by_category else 0
    run.update(
        requests=requests,
        requests_by_category=by_category,
        responses_429=rejected,
        share_429=round(rejected / max(requests, 1), 5),
        achieved_rate_fraction={
            c: round(n / wall / allowed[c], 3) for c, n in by_category.items()
        },
        rate_limit_bound_s=round(bound, 2),
        wall_over_bound=round(wall / bound, 3) if bound else None,
    )
    print(
        f"   {'one worker' if workers == 1 else 'sync':<10} {wall:8.1f} s  "
        f"{requests:7d} requests  {rejected} 429s  bound {bound:.1f} s"
    )
    return run


def child(arguments: list[str]) -> dict[str, Any]:
    """Run a measuring child process and return the JSON it prints last."""
    command = [sys.executable, "-m", "benchmarks.measure", *arguments]
    done = subprocess.run(
        command, capture_output=True, text=True, check=False, timeout=6 * 3600
    )
    if done.returncode != 0:
        sys.stderr.write(done.stderr[-4000:])
        msg = f"{' '.join(command[2:4])} exited {done.returncode}"
        raise SystemExit(msg)
    return json.loads(done.stdout.strip().splitlines()[-1])


def print_table(results: dict[str, Any]) -> None:
    sizes = results["sizes"]
    rows: list[tuple[str, ...]] = []

    def add(label: str, pick) -> None:
        rows.append((label, *(str(pick(f)) for f in sizes.values())))

    add("users", lambda f: f["account"]["users"])
    add("wall time, s", lambda f: f["full"]["wall_s"])
    add("requests", lambda f: f["full"]["requests"])
    for category in ("Light", "Medium", "Heavy", "Resource-intensive"):
        add(
            f"  {category}",
            lambda f, c=category: f["full"]["requests_by_category"].get(c, 0),
        )
    add("429 responses", lambda f: f["full"]["responses_429"])
    add("failed resources", lambda f: f["full"]["failures"])
    add(
        "Heavy rate / allowed",
        lambda f: f["full"]["achieved_rate_fraction"].get("Heavy", "-"),
    )
    add("rate-limit bound, s", lambda f: f["full"]["rate_limit_bound_s"])
    add("wall / bound", lambda f: f["full"]["wall_over_bound"])
    add("workers", lambda f: f["full"]["workers"])
    add("peak RSS, MB", lambda f: f["full"]["peak_rss_mb"])
    add("store rows/s", lambda f: f["store"]["store_rows_per_s"])
    add("executemany rows/s", lambda f: f["store"]["raw_rows_per_s"])
    add("store slowdown", lambda f: f["store"]["slowdown"])
    add("incremental requests", lambda f: f["incremental"]["requests"])
    add("  share of full", lambda f: f["incremental_request_share"])
    add(
        "  share without meetings job",
        lambda f: f["incremental_request_share_without_meetings"],
    )
    add("one-worker wall, s", lambda f: f.get("one_worker", {}).get("wall_s", "-"))
    add("speed-up", lambda f: f.get("speedup_over_one_worker", "-"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    header = ("", *sizes)
    widths = [max(w, len(h)) for w, h in zip(widths, header, strict=True)]
    print()
    for row in (header, *rows):
        cells = [row[0].ljust(widths[0])]
        cells += [cell.rjust(width) for cell, width in zip(row[1:], widths[1:])]
        print("  ".join(cells))


if __name__ == "__main__":
    sys.exit(main())
