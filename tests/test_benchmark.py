"""The benchmark script runs end to end on a tiny account and reports every figure."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import REPO_ROOT


def test_benchmark_reports_every_figure(tmp_path):
    output = tmp_path / "bench.json"
    command = [
        sys.executable,
        "-m",
        "benchmarks.sync",
        "--sizes",
        "tiny",
        "--baseline-size",
        "tiny",
        "--speedup",
        "20",
        "--json",
        str(output),
    ]

    done = subprocess.run(
        command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=240
    )

    assert done.returncode == 0, done.stderr[-2000:]
    assert "wall / bound" in done.stdout
    figures = json.loads(output.read_text())["sizes"]["tiny"]
    full = figures["full"]
    assert full["failures"] == 0
    assert set(full["statuses"].values()) == {"ok"}
    assert full["requests_by_category"]["Heavy"] > 0
    assert full["rate_limit_bound_s"] > 0
    assert full["peak_rss_mb"] > 0
    assert figures["one_worker"]["requests"] == full["requests"]
    assert 0 < figures["incremental"]["requests"] < full["requests"]
    assert figures["store"]["rows"] > 0
    assert figures["store"]["slowdown"] > 0
