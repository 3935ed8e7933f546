"""Grasp attempts as JSON lines, one per attempt, written so that they survive a crash.

Each record is appended with a single write, flushed and `os.fsync`ed before `append`
returns, so a crash (or power loss) can at worst leave the last line truncated; `read_attempts`
skips such a line (and reports it) instead of failing on the whole log.
"""

from __future__ import annotations

import json
import logging
import math
import os
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

LOGGER = logging.getLogger(__name__)


@dataclass
class AttemptRecord:
    """One grasp attempt.

    grasp: the grasp as executed (frame, position, quaternion_xyzw, width, planner, ...);
    stage_reached: the last stage entered (DESIGN.md stages, or "planning");
    outcome: "success" | "failure" | "dry_run" | "refused";
    stage_durations: seconds spent in each stage entered, in order.
    """

    grasp: dict[str, Any]
    stage_reached: str
    outcome: str
    message: str
    stage_durations: dict[str, float] = field(default_factory=dict)
    dry_run: bool = False
    started_at: float = field(default_factory=time.time)  # Unix time, s
    duration: float = 0.0  # s

    def to_json(self) -> str:
        return json.dumps(asdict(self), allow_nan=False, default=_jsonable, sort_keys=True)


def _jsonable(value: Any) -> Any:
    if hasattr(value, "tolist"):  # numpy arrays and scalars
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _finite(value: Any) -> Any:
    """JSON has no NaN: non-finite floats become None (recursively)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    return value


class AttemptLog:
    """Appends `AttemptRecord`s to `path` (JSON lines); thread-safe, durable per record."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    def append(self, record: AttemptRecord) -> None:
        """Write `record` as one line; returns once it is on disk (flush + fsync)."""
        record.grasp = _finite(record.grasp)
        record.stage_durations = _finite(record.stage_durations)
        line = (record.to_json() + "\n").encode("utf-8")
        with self._lock:
            # O_APPEND: every write lands at the end, even with several writers.
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                if os.fstat(fd).st_size > 0 and not _ends_with_newline(fd):
                    # A crash truncated the last record: start ours on a line of its own.
                    line = b"\n" + line
                written = 0
                while written < len(line):
                    written += os.write(fd, line[written:])
                os.fsync(fd)
            finally:
                os.close(fd)


def _ends_with_newline(fd: int) -> bool:
    size = os.fstat(fd).st_size
    return os.pread(fd, 1, size - 1) == b"\n"


def read_attempts(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Every complete record of the log at `path`, oldest first.

    A line that is not valid JSON (a record truncated by a crash) is skipped with a warning;
    a missing file is an empty log.
    """
    path = Path(path)
    if not path.exists():
        return []
    records: list[dict[str, Any]] = []
    with path.open("rb") as stream:
        for number, raw in enumerate(stream, start=1):
            text = raw.decode("utf-8", errors="replace").strip()
            if not text:
                continue
            try:
                record = json.loads(text)
            except json.JSONDecodeError as error:
                LOGGER.warning("%s line %d skipped (truncated or corrupt): %s", path, number, error)
                continue
            if isinstance(record, dict):
                records.append(record)
            else:
                LOGGER.warning("%s line %d skipped: not a JSON object", path, number)
    return records
