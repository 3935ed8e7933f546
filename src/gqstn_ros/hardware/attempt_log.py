"""Grasp attempts as a write-ahead JSON-lines log that survives a crash or a kill -9.

An attempt is written when it starts, at every stage it enters and when it ends, one JSON
object a line, each tagged with the attempt's id and its kind in `event`:

    {"event": "started", "attempt_id": ..., "pid": ..., "host": ..., "grasp": ..., ...}
    {"event": "stage", "attempt_id": ..., "stage": "descending", "at": ...}
    {"event": "completed", "attempt_id": ..., "outcome": "success", ...}   (an AttemptRecord)
    {"event": "interrupted", "attempt_id": ..., "outcome": "interrupted", ...}

Every line is one `write` of a whole line on a file opened with O_APPEND, flushed and
`os.fsync`ed before the call returns: a killed process leaves whole lines behind, and a power
loss at worst a truncated last line, which `read_attempts` skips (and reports) instead of
failing on the whole log; the next write starts on a line of its own.

An attempt that started and never ended belongs to a process that died mid-attempt (kill -9,
crash, power loss): `read_attempts` reports it with outcome "interrupted" as soon as that
process is gone, and `AttemptLog.close_interrupted` (called when the executor starts) writes
the "interrupted" line for it. Lines without `event` (logs written before the write-ahead
format) are complete attempts.
"""

from __future__ import annotations

import json
import logging
import math
import os
import socket
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

LOGGER = logging.getLogger(__name__)

STARTED = "started"
STAGE = "stage"
COMPLETED = "completed"
INTERRUPTED = "interrupted"
IN_PROGRESS = "in_progress"
EVENTS = (STARTED, STAGE, COMPLETED, INTERRUPTED)


@dataclass
class AttemptRecord:
    """One grasp attempt, as it ended.

    grasp: the grasp as executed (frame, position, quaternion_xyzw, width, planner, ...);
    stage_reached: the last stage entered (the stages of docs/interface.md, or "planning");
    outcome: "success" | "failure" | "dry_run" | "refused" | "cancelled" | "interrupted";
    stage_durations: seconds spent in each stage entered, in order;
    attempt_id: the id given to `AttemptLog.start` ("" for an attempt logged only at its end).
    """

    grasp: dict[str, Any]
    stage_reached: str
    outcome: str
    message: str
    stage_durations: dict[str, float] = field(default_factory=dict)
    dry_run: bool = False
    started_at: float = field(default_factory=time.time)  # Unix time, s
    duration: float = 0.0  # s
    attempt_id: str = ""

    def to_json(self) -> str:
        return _dumps({"event": COMPLETED, **asdict(self)})


def _dumps(entry: dict[str, Any]) -> str:
    return json.dumps(_finite(entry), allow_nan=False, default=_jsonable, sort_keys=True)


def _jsonable(value: Any) -> Any:
    if hasattr(value, "tolist"):  # numpy arrays and scalars
        return _finite(value.tolist())
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


def _process_start_ticks(pid: int) -> int | None:
    """When process `pid` started (clock ticks since boot, /proc/<pid>/stat field 22), or None
    where /proc cannot tell (the process is gone, or no /proc). Tells a reused pid apart."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may hold spaces: split after it.
    fields = stat[stat.rfind(")") + 2 :].split()
    try:
        return int(fields[19])
    except (IndexError, ValueError):
        return None


def process_alive(pid: int, host: str, start_ticks: int | None) -> bool:
    """Whether the process that wrote a "started" line may still be running: True for another
    host (it cannot be checked from here), else whether `pid` runs and started at `start_ticks`
    (when recorded)."""
    if host != socket.gethostname():
        return True
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by another user
    if start_ticks is None:
        return True
    return _process_start_ticks(pid) == start_ticks


class AttemptLog:
    """Writes attempts to `path` (JSON lines, see the module docstring); thread-safe, each line
    on disk before the call returns. Several processes may append to one log."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self._host = socket.gethostname()
        self._start_ticks = _process_start_ticks(self._pid)

    def start(self, grasp: dict[str, Any], dry_run: bool, started_at: float) -> str:
        """Record that an attempt starts (before anything moves); returns its id."""
        attempt_id = uuid.uuid4().hex
        self._write(
            {
                "event": STARTED,
                "attempt_id": attempt_id,
                "pid": self._pid,
                "host": self._host,
                "process_start_ticks": self._start_ticks,
                "started_at": started_at,
                "dry_run": dry_run,
                "grasp": grasp,
                "stage_reached": "planning",
            }
        )
        return attempt_id

    def stage(self, attempt_id: str, stage: str, grasp: dict[str, Any] | None = None) -> None:
        """Record that attempt `attempt_id` enters `stage` (with the grasp as planned, when
        it is known by then)."""
        entry: dict[str, Any] = {
            "event": STAGE,
            "attempt_id": attempt_id,
            "stage": stage,
            "at": time.time(),
        }
        if grasp is not None:
            entry["grasp"] = grasp
        self._write(entry)

    def append(self, record: AttemptRecord) -> None:
        """Record how an attempt ended (its "completed" line)."""
        self._write({"event": COMPLETED, **asdict(record)})

    def close_interrupted(self) -> list[str]:
        """Write an "interrupted" line for every attempt of this log whose process died before
        it ended; returns their ids. Attempts of live processes (or other hosts) are left open."""
        closed = []
        for attempt in read_attempts(self.path):
            if attempt.get("event") != STARTED or attempt["outcome"] != INTERRUPTED:
                continue
            self._write(
                {
                    "event": INTERRUPTED,
                    "attempt_id": attempt["attempt_id"],
                    "outcome": INTERRUPTED,
                    "message": attempt["message"],
                    "stage_reached": attempt["stage_reached"],
                    "closed_at": time.time(),
                    "closed_by_pid": self._pid,
                }
            )
            closed.append(attempt["attempt_id"])
        return closed

    def _write(self, entry: dict[str, Any]) -> None:
        line = (_dumps(entry) + "\n").encode("utf-8")
        with self._lock:
            # O_APPEND: every write lands at the end, even with several writers.
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                if os.fstat(fd).st_size > 0 and not _ends_with_newline(fd):
                    # A crash truncated the last line: start ours on a line of its own.
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


def read_lines(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Every valid JSON object line of the log at `path`, in order. A line that is not valid
    JSON (truncated by a power loss) is skipped with a warning; a missing file is empty."""
    path = Path(path)
    if not path.exists():
        return []
    entries: list[dict[str, Any]] = []
    with path.open("rb") as stream:
        for number, raw in enumerate(stream, start=1):
            text = raw.decode("utf-8", errors="replace").strip()
            if not text:
                continue
            try:
                entry = json.loads(text)
            except json.JSONDecodeError as error:
                LOGGER.warning("%s line %d skipped (truncated or corrupt): %s", path, number, error)
                continue
            if isinstance(entry, dict):
                entries.append(entry)
            else:
                LOGGER.warning("%s line %d skipped: not a JSON object", path, number)
    return entries


def read_attempts(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """One record per attempt of the log at `path`, in the order they started.

    A completed attempt is its "completed" line (the fields of `AttemptRecord`, with
    `event`); an attempt with no end yet has outcome "in_progress" while its process runs and
    "interrupted" once it is gone, with `stage_reached` the last stage it entered, `message`
    saying so and `event` "started" (or "interrupted" once `close_interrupted` wrote its line).
    """
    attempts: dict[str, dict[str, Any]] = {}
    ended: dict[str, dict[str, Any]] = {}
    order: list[str] = []
    legacy = 0
    for entry in read_lines(path):
        event = entry.get("event")
        attempt_id = entry.get("attempt_id") or ""
        if event is None or (event == COMPLETED and attempt_id not in attempts):
            # A record logged only at its end (older logs, or without a start).
            key = attempt_id or f"legacy-{legacy}"
            legacy += 1
            attempts[key] = {"event": COMPLETED, **entry}
            ended[key] = attempts[key]
            order.append(key)
        elif event == STARTED:
            attempts[attempt_id] = dict(entry)
            order.append(attempt_id)
        elif event == STAGE and attempt_id in attempts:
            attempts[attempt_id]["stage_reached"] = entry.get("stage", "")
            attempts[attempt_id]["last_stage_at"] = entry.get("at")
            if "grasp" in entry:
                attempts[attempt_id]["grasp"] = entry["grasp"]
        elif event in (COMPLETED, INTERRUPTED) and attempt_id in attempts:
            if attempt_id in ended and ended[attempt_id].get("event") == COMPLETED:
                continue  # an attempt ends once; a completed line wins
            merged = {**attempts[attempt_id], **entry}
            attempts[attempt_id] = ended[attempt_id] = merged
    records = []
    for key in order:
        attempt = attempts[key]
        if key not in ended:
            attempt = _open_attempt(attempt)
        for internal in ("pid", "host", "process_start_ticks"):
            attempt.pop(internal, None)
        records.append(attempt)
    return records


def _open_attempt(attempt: dict[str, Any]) -> dict[str, Any]:
    """An attempt with a "started" line and no end: in progress or interrupted."""
    pid, host = int(attempt.get("pid", -1)), str(attempt.get("host", ""))
    stage = attempt.get("stage_reached", "planning")
    if process_alive(pid, host, attempt.get("process_start_ticks")):
        return {**attempt, "outcome": IN_PROGRESS, "message": f"in progress: {stage}"}
    return {
        **attempt,
        "outcome": INTERRUPTED,
        "message": (
            f"interrupted: the executor process (pid {pid} on {host}) ended during stage "
            f"{stage} without recording an end (killed or crashed)"
        ),
    }
