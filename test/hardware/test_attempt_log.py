"""Attempt log: durable JSON lines written ahead (start, stages, end); a truncated last line is
skipped; an attempt whose process was killed reads as interrupted."""

import json
import logging
import os
import signal
import subprocess
import sys
import time

from gqstn_ros.hardware.attempt_log import AttemptLog, AttemptRecord, read_attempts


def record(index: int, outcome: str = "success") -> AttemptRecord:
    return AttemptRecord(
        grasp={"frame": "base_link", "position": [0.5, 0.0, 0.01 * index], "width": 0.04},
        stage_reached="retreating",
        outcome=outcome,
        message=f"attempt {index}",
        stage_durations={"approaching": 1.5, "descending": 0.5, "closing": 0.25},
    )


def test_every_attempt_is_one_line_read_back_in_order(tmp_path) -> None:
    path = tmp_path / "logs" / "attempts.jsonl"
    log = AttemptLog(path)
    for index in range(3):
        log.append(record(index, "failure" if index == 1 else "success"))
    lines = path.read_text().splitlines()
    assert len(lines) == 3
    assert all(json.loads(line)["stage_reached"] == "retreating" for line in lines)
    records = read_attempts(path)
    assert [r["message"] for r in records] == ["attempt 0", "attempt 1", "attempt 2"]
    assert [r["outcome"] for r in records] == ["success", "failure", "success"]
    assert records[2]["grasp"]["position"] == [0.5, 0.0, 0.02]
    assert records[0]["stage_durations"] == {"approaching": 1.5, "descending": 0.5, "closing": 0.25}


def test_truncated_last_line_is_skipped_and_the_log_goes_on(tmp_path, caplog) -> None:
    path = tmp_path / "attempts.jsonl"
    log = AttemptLog(path)
    log.append(record(0))
    log.append(record(1))
    # A crash in the middle of the third write: half a line, no newline.
    full = record(2).to_json()
    with path.open("a") as stream:
        stream.write(full[: len(full) // 2])
    with caplog.at_level(logging.WARNING):
        records = read_attempts(path)
    assert [r["message"] for r in records] == ["attempt 0", "attempt 1"]
    assert "line 3 skipped" in caplog.text
    # The next attempt starts on a line of its own: it is not glued to the broken one.
    log.append(record(3))
    assert [r["message"] for r in read_attempts(path)] == ["attempt 0", "attempt 1", "attempt 3"]


def test_nan_values_become_null_and_missing_log_is_empty(tmp_path) -> None:
    assert read_attempts(tmp_path / "none.jsonl") == []
    path = tmp_path / "attempts.jsonl"
    entry = record(0)
    entry.grasp["q_value"] = float("nan")
    AttemptLog(path).append(entry)
    assert read_attempts(path)[0]["grasp"]["q_value"] is None


def test_append_syncs_to_disk(tmp_path, monkeypatch) -> None:
    synced: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd)))
    AttemptLog(tmp_path / "a.jsonl").append(record(0))
    assert len(synced) == 1


# --- write-ahead: started, stages, end; a process killed mid-attempt ------------------------

WRITER = """
import sys, time
from gqstn_ros.hardware.attempt_log import AttemptLog
log = AttemptLog(sys.argv[1])
attempt = log.start({"frame": "base_link", "width": 0.03}, dry_run=False, started_at=time.time())
log.stage(attempt, "approaching")
log.stage(attempt, "descending", grasp={"frame": "base_link", "width": 0.031})
print("STAGED", flush=True)
stage = 0
while True:  # a busy writer: kill -9 lands between or during writes
    log.stage(attempt, f"stage{stage % 7}")
    stage += 1
"""


def run_writer_and_kill(path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout.readline().strip() == "STAGED"
    time.sleep(0.2)  # some hundred more lines
    process.send_signal(signal.SIGKILL)
    assert process.wait(10) == -signal.SIGKILL
    process.stdout.close()


def test_an_attempt_is_on_disk_from_its_start_and_completed_at_its_end(tmp_path) -> None:
    path = tmp_path / "attempts.jsonl"
    log = AttemptLog(path)
    attempt = log.start({"frame": "camera", "width": 0.04}, dry_run=False, started_at=time.time())
    assert [json.loads(line)["event"] for line in path.read_text().splitlines()] == ["started"]
    (running,) = read_attempts(path)
    assert running["outcome"] == "in_progress" and running["attempt_id"] == attempt
    log.stage(attempt, "approaching", grasp={"frame": "base_link", "width": 0.04})
    log.stage(attempt, "closing")
    (running,) = read_attempts(path)
    assert running["stage_reached"] == "closing" and running["grasp"]["frame"] == "base_link"
    done = record(7, "cancelled")
    done.attempt_id = attempt
    log.append(done)
    (ended,) = read_attempts(path)
    assert ended["outcome"] == "cancelled" and ended["message"] == "attempt 7"
    assert ended["stage_reached"] == "retreating" and ended["event"] == "completed"
    assert log.close_interrupted() == [], "a completed attempt is not interrupted"
    events = [json.loads(line)["event"] for line in path.read_text().splitlines()]
    assert events == ["started", "stage", "stage", "completed"]


def test_kill_9_mid_attempt_leaves_valid_lines_and_an_interrupted_attempt(tmp_path) -> None:
    path = tmp_path / "attempts.jsonl"
    AttemptLog(path).append(record(0))  # an earlier, complete attempt
    run_writer_and_kill(path)
    lines = path.read_text().splitlines()
    assert len(lines) > 10
    for line in lines:
        json.loads(line)  # every line whole: each is one write(2) of a complete line
    first, killed = read_attempts(path)
    assert first["outcome"] == "success"
    assert killed["outcome"] == "interrupted", killed
    assert killed["stage_reached"].startswith("stage") and killed["grasp"]["width"] == 0.031
    assert "ended during stage" in killed["message"] and "killed or crashed" in killed["message"]
    # The next executor start writes the end the killed process could not.
    log = AttemptLog(path)
    assert log.close_interrupted() == [killed["attempt_id"]]
    assert log.close_interrupted() == [], "closed once"
    last = json.loads(path.read_text().splitlines()[-1])
    assert last["event"] == "interrupted" and last["attempt_id"] == killed["attempt_id"]
    first, closed = read_attempts(path)
    assert closed["outcome"] == "interrupted" and closed["stage_reached"] == killed["stage_reached"]
    # A later complete attempt follows on a line of its own.
    log.append(record(9))
    assert [r["outcome"] for r in read_attempts(path)] == ["success", "interrupted", "success"]


def test_an_open_attempt_of_a_live_process_is_in_progress_not_interrupted(tmp_path) -> None:
    path = tmp_path / "attempts.jsonl"
    writer = AttemptLog(path)
    writer.start({}, dry_run=True, started_at=time.time())
    # Another executor starting on the same log leaves this process's attempt open.
    assert AttemptLog(path).close_interrupted() == []
    assert read_attempts(path)[0]["outcome"] == "in_progress"
    # A pid reused by another process (another start time) does not count as the writer.
    lines = path.read_text().splitlines()
    entry = json.loads(lines[0])
    entry["process_start_ticks"] = -1
    path.write_text(json.dumps(entry) + "\n")
    assert read_attempts(path)[0]["outcome"] == "interrupted"
    entry["pid"], entry["process_start_ticks"] = os.getpid(), None
    entry["host"] = "another-host"
    path.write_text(json.dumps(entry) + "\n")
    assert read_attempts(path)[0]["outcome"] == "in_progress", "another host cannot be checked"
