"""Load on the machine's cores for benchmarks and tests that measure or check behaviour on a
busy machine."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from gqstn_ros.nodes.shutdown import stopped_with_parent

BUSY_LOOP = "while True:\n    pass"


@contextmanager
def cpu_burners(count: int | None = None) -> Iterator[None]:
    """`count` processes (default: one per core) each spinning a core while the block runs.

    They are killed when the block ends, and get SIGTERM if this process dies first."""
    burners = [
        subprocess.Popen(
            [sys.executable, "-c", BUSY_LOOP],
            preexec_fn=stopped_with_parent(),  # noqa: PLW1509 (takes no lock)
        )
        for _ in range(os.cpu_count() or 2 if count is None else count)
    ]
    try:
        yield
    finally:
        for burner in burners:
            burner.kill()
            burner.wait(10)
