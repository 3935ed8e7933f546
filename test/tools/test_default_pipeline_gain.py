"""benchmarks/default_pipeline_gain.py on results written as the generalization tool writes them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ros_test_support import load_benchmark_script


def load_script():
    return load_benchmark_script("default_pipeline_gain")


def write_run(
    folder: Path, seed: int, lifts: list[dict[str, bool]], rule: str | None = None
) -> Path:
    """A run of one scene per entry of `lifts` (planner -> lifted), families a and b in turn;
    `rule`: the run's success rule (None: a run written before the rule existed)."""
    folder.mkdir()
    config = {"seed": seed, "cameras": ["cam"], "families": ["a", "b"], "scenes_per_camera": 4}
    if rule is not None:
        config["success_rule"] = rule
    scenes = [
        {
            "index": index,
            "camera": "cam",
            "family": "ab"[index % 2],
            "object_seed": 100 + index,
            "settled": True,
            "attempts": [
                {
                    "planner": name,
                    "found": True,
                    "success": lifted,
                    "robust_success": lifted,
                    # the default's failures hold the object turned between the fingers
                    "held": lifted or name == "default",
                    # a perfectly calibrated default; the naive grasp has no q (0)
                    "q_value": float(lifted) if name == "default" else 0.0,
                }
                for name, lifted in planners.items()
            ],
        }
        for index, planners in enumerate(lifts)
    ]
    (folder / "results.json").write_text(json.dumps({"config": config, "scenes": scenes}))
    return folder


def test_the_default_is_paired_with_its_baseline_and_flagged_below_the_naive_grasp(
    tmp_path, capsys
) -> None:
    script = load_script()
    runs = write_run(
        tmp_path / "new",
        7,
        [
            {"default": True, "minor_axis": True},
            {"default": True, "minor_axis": False},
            {"default": False, "minor_axis": True},  # family a: 1 of 2 against 2 of 2
            {"default": True, "minor_axis": False},
        ],
    )
    baseline = write_run(
        tmp_path / "old",
        7,
        [{"default": lifted} for lifted in (True, False, True, False)],
    )
    rows = script.pooled_rows([runs], [baseline])
    assert script.rate(rows, "default") == pytest.approx(75.0)
    assert script.rate(rows, "baseline") == pytest.approx(50.0)
    assert script.main(["--runs", str(runs), "--baseline-runs", str(baseline)]) == 0
    printed = capsys.readouterr().out
    assert "Lifted only by the default: 2; only by the baseline: 1" in printed
    # Runs written before the success rule existed counted level lifts and have no `level`.
    assert "success rule: level" in printed
    assert "| default | 75.0 % | 75.0 % | 100.0 % | - | 0.000 | 100.0 % | 100.0 % |" in printed
    assert "| minor_axis | 50.0 % | 50.0 % | 50.0 % | - | - | - | - |" in printed
    assert "The default below the naive grasp on: family a" in printed
    # Held, level or not: the default's failed lift on family a left the object in its hand.
    assert "| a | 100.0 % | 100.0 % | 100.0 % |" in printed


def test_a_baseline_of_other_frames_is_refused(tmp_path) -> None:
    script = load_script()
    runs = write_run(tmp_path / "new", 7, [{"default": True}])
    other_seed = write_run(tmp_path / "old", 8, [{"default": True}])
    with pytest.raises(SystemExit, match="no --baseline-runs folder has its seed"):
        script.pooled_rows([runs], [other_seed])


def test_runs_of_the_same_frames_are_merged_planner_by_planner(tmp_path) -> None:
    script = load_script()
    lifts = (True, False, True, True)
    pipeline = write_run(tmp_path / "default", 7, [{"default": lifted} for lifted in lifts])
    floors = write_run(tmp_path / "floors", 7, [{"minor_axis": not lifted} for lifted in lifts])
    rows = script.pooled_rows([pipeline, floors], [])
    assert len(rows) == 4
    assert script.rate(rows, "default") == pytest.approx(75.0)
    assert script.rate(rows, "minor_axis") == pytest.approx(25.0)
    again = write_run(tmp_path / "again", 7, [{"default": True}] * 4)
    with pytest.raises(SystemExit, match="both ran default"):
        script.pooled_rows([pipeline, again], [])


def test_runs_without_the_default_or_the_held_field_are_reported(tmp_path, capsys) -> None:
    script = load_script()
    gqstn_only = write_run(tmp_path / "gqstn", 7, [{"gqstn": True}, {"gqstn": False}])
    assert script.main(["--runs", str(gqstn_only)]) == 0
    assert "| gqstn | 50.0 % | 50.0 % | 50.0 % |" in capsys.readouterr().out
    older = write_run(tmp_path / "older", 8, [{"default": True}, {"default": False}])
    results = json.loads((older / "results.json").read_text())
    for scene in results["scenes"]:
        for attempt in scene["attempts"]:
            del attempt["held"]  # written before the field existed
    (older / "results.json").write_text(json.dumps(results))
    assert script.main(["--runs", str(older)]) == 0
    printed = capsys.readouterr().out
    assert "| default | 50.0 % | 50.0 % | - |" in printed and "Held, level or not" not in printed


def test_held_runs_report_level_by_family_and_rules_are_not_mixed(tmp_path, capsys) -> None:
    script = load_script()
    lifts = [{"default": True, "minor_axis": True}, {"default": True, "minor_axis": False}]
    held = write_run(tmp_path / "held", 3, lifts, rule="held")
    data = json.loads((held / "results.json").read_text())
    for scene in data["scenes"]:  # family a's lifts rose level, family b's hung turned
        for attempt in scene["attempts"]:
            attempt["level"] = attempt["success"] and scene["family"] == "a"
    (held / "results.json").write_text(json.dumps(data))
    assert script.main(["--runs", str(held)]) == 0
    printed = capsys.readouterr().out
    assert "success rule: held" in printed
    assert "| default | 100.0 % | 100.0 % | 100.0 % | 50.0 % |" in printed
    assert "Level by family:" in printed and "| b | 0.0 % | 0.0 % |" in printed
    level = write_run(tmp_path / "level", 3, lifts, rule="level")
    with pytest.raises(SystemExit, match="different rules"):
        script.main(["--runs", str(held), "--baseline-runs", str(level)])
