"""benchmarks/paired_runs.py on results written as the two benchmarks write them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ros_test_support import load_benchmark_script


def load_script():
    return load_benchmark_script("paired_runs")


def table_ii_run(folder: Path, lifts: list[tuple[bool, float]]) -> Path:
    """A Table II run: GQ-STN's attempts on the mug, trial by trial (lifted, q)."""
    folder.mkdir()
    attempts = [
        {"object_name": "mug", "trial": trial, "method": "gqstn", "success": lifted, "q_value": q}
        for trial, (lifted, q) in enumerate(lifts)
    ]
    (folder / "results.json").write_text(json.dumps({"attempts": attempts}))
    return folder


def generalization_run(folder: Path, lifts: list[bool]) -> Path:
    """A generalization run: one settled scene per entry, the default's lift; an unsettled last."""
    folder.mkdir()
    scenes = [
        {"index": index, "settled": True,
         "attempts": [{"planner": "default", "success": lifted, "q_value": 0.9}]}
        for index, lifted in enumerate(lifts)
    ]  # fmt: skip
    scenes.append({"index": len(lifts), "settled": False, "attempts": []})
    (folder / "results.json").write_text(json.dumps({"scenes": scenes}))
    return folder


def test_pairs_count_what_was_gained_and_lost_with_intervals(tmp_path, capsys) -> None:
    script = load_script()
    low, high = script.wilson_interval(9, 10)
    assert low == pytest.approx(0.5958, abs=1e-4) and high == pytest.approx(0.9821, abs=1e-4)
    before = table_ii_run(tmp_path / "b", [(True, 0.9), (False, 0.2), (False, 0.3), (True, None)])
    after = table_ii_run(tmp_path / "a", [(True, 0.9), (True, 0.7), (False, 0.6), (False, 0.4)])
    assert script.main(["--before", str(before), "--after", str(after)]) == 0
    row = capsys.readouterr().out.splitlines()[2]
    # 2 of 4 before, 2 of 4 after; trial 1 gained, trial 3 lost; a missing q is not banded.
    assert row.startswith("| gqstn | 4 | 50.0 % (15.0-85.0) | 50.0 % (15.0-85.0) | 1 | 1 |")
    assert row.endswith("| 100.0 % of 1 / 0.0 % of 2 | 66.7 % of 3 / 0.0 % of 1 |")


def test_generalization_runs_pair_scene_by_scene_per_seed(tmp_path, capsys) -> None:
    script = load_script()
    before = [generalization_run(tmp_path / f"b{i}", [True, False]) for i in range(2)]
    after = [generalization_run(tmp_path / f"a{i}", [True, True]) for i in range(2)]
    argv = ["--before", *map(str, before), "--after", *map(str, after), "--methods", "default"]
    assert script.main(argv) == 0
    row = capsys.readouterr().out.splitlines()[2]
    assert row.split(" | ")[1:2] == ["4"]  # two seeds of two settled scenes, kept apart
    assert "| 2 | 0 |" in row  # scene 1 of each seed gained


def test_bad_input_is_refused_naming_it(tmp_path, capsys) -> None:
    script = load_script()
    run = generalization_run(tmp_path / "r", [True])
    with pytest.raises(SystemExit):
        script.main(["--before", str(run), "--after", str(run), str(run)])
    assert "pair each after run" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        script.main(["--before", str(tmp_path), "--after", str(run)])
    assert "has no results.json" in capsys.readouterr().err
    (tmp_path / "odd").mkdir()
    (tmp_path / "odd" / "results.json").write_text("{}")
    with pytest.raises(SystemExit, match="neither Table II attempts nor scenes"):
        script.main(["--before", str(tmp_path / "odd"), "--after", str(run)])
