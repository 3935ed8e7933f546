"""Attempt log: one durable JSON line per attempt; a truncated last line is skipped."""

import json
import logging

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
    import os

    synced: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd)))
    AttemptLog(tmp_path / "a.jsonl").append(record(0))
    assert len(synced) == 1
