"""The Cloudflare Worker's own suite, run in workerd through Miniflare (edge-worker/test/)."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from cells.core.config.stack_files import PROJECT_ROOT

WORKER = PROJECT_ROOT / "edge-worker"


def test_the_worker_routing_table_passes_in_workerd() -> None:
    if not (WORKER / "node_modules" / "miniflare").is_dir():
        pytest.fail("edge-worker/node_modules is missing: run `./dev test` (it runs npm ci) first")
    node = shutil.which("node")
    assert node, "node is required for the Worker tests"
    done = subprocess.run([node, "--test", "test/"], cwd=WORKER, capture_output=True, text=True, timeout=300)
    summary = dict(re.findall(r"^# (tests|pass|fail) (\d+)$", done.stdout, re.M))
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert int(summary["fail"]) == 0
    # The routing table alone holds more than twenty cases; the file holds them and the KV tests.
    assert int(summary["pass"]) >= 50, summary
