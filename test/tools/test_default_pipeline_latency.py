"""benchmarks/default_pipeline_latency.py end to end on one frame: the real fallback and
inference nodes answer the three kinds of request, and the table says which grasps won. Its
times are not checked (the benchmark measures them)."""

from __future__ import annotations

import sys

import pytest

from ros_test_support import REPO_ROOT, run_program

pytestmark = pytest.mark.ros

RUN_TIMEOUT_S = 300.0  # two nodes loading torch and models on a busy 2-core machine


def test_the_three_kinds_of_request_are_timed_through_the_real_nodes() -> None:
    script = REPO_ROOT / "benchmarks" / "default_pipeline_latency.py"
    command = [sys.executable, str(script), "--requests", "2", "--warmup", "0", "--frames", "1"]
    finished = run_program(command, RUN_TIMEOUT_S)
    assert finished.returncode == 0, finished.stdout + finished.stderr
    rows = {
        line.split("|")[1].strip(): line
        for line in finished.stdout.splitlines()
        if line.startswith("| ") and "---" not in line
    }
    assert set(rows) >= {"own", "named", "pipeline"}, finished.stdout
    assert "gqstn 2" in rows["own"], rows["own"]  # disable_fallback: GQ-STN's grasp
    assert "| 1.00 |" in rows["own"], rows["own"]  # the ratio's reference
