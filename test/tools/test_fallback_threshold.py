"""benchmarks/fallback_threshold.py on results written as the generalization tool writes them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ros_test_support import load_benchmark_script


def load_script():
    return load_benchmark_script("fallback_threshold")


def attempt(planner: str, success: bool, q: float = 0.0, found: bool = True) -> dict:
    return {"planner": planner, "found": found, "success": success, "q_value": q}


def write_run(folder: Path, scenes: list[list[dict]]) -> Path:
    folder.mkdir()
    records = [
        {"family": "bowl", "camera": f"camera_{index % 2}", "attempts": attempts}
        for index, attempts in enumerate(scenes)
    ]
    (folder / "results.json").write_text(json.dumps({"scenes": records}))
    return folder


def scene(gqstn_q: float, gqstn_lifts: bool, prop_lifts: bool, prop_found: bool = True) -> list:
    return [
        attempt("default", gqstn_lifts),
        attempt("gqstn", gqstn_lifts, gqstn_q),
        attempt("prop_gqcnn", prop_lifts, 0.9, prop_found),
        attempt("minor_axis", False),
    ]


def test_the_rule_takes_prop_below_the_threshold_unless_it_found_nothing(tmp_path) -> None:
    script = load_script()
    rows = script.scenes(
        [
            write_run(
                tmp_path / "run",
                [
                    scene(0.2, False, True),  # low q: Prop's grasp lifts
                    scene(0.8, True, False),  # high q: GQ-STN's grasp lifts
                    scene(0.1, True, False, prop_found=False),  # Prop found none: GQ-STN's
                ],
            )
        ]
    )
    figures = script.sweep(rows, [0.0, 0.5, 2.0])
    assert figures[0.0] == pytest.approx(200 / 3)  # GQ-STN alone: scenes 2 and 3
    assert figures[0.5] == pytest.approx(100.0)
    assert figures[2.0] == pytest.approx(200 / 3)  # Prop first: scenes 1 and 3
    assert script.chosen_threshold(figures) == 0.5


def test_a_tie_is_broken_towards_the_nodes_threshold() -> None:
    script = load_script()
    assert script.chosen_threshold({0.3: 80.0, 0.6: 80.0, 0.9: 79.0}) == 0.6


def test_main_prints_the_choice_and_the_pooled_tables(tmp_path, capsys) -> None:
    script = load_script()
    fit = write_run(tmp_path / "fit", [scene(0.2, False, True), scene(0.8, True, False)])
    report = write_run(tmp_path / "report", [scene(0.4, False, True)])
    assert script.main(["--fit", str(fit), "--report", str(report)]) == 0
    out = capsys.readouterr().out
    assert "chosen on the fit runs: t = 0.5 (100.0 %); on the report runs 100.0 %" in out
    assert "| bowl | 3 |" in out and "| camera_0 | 2 |" in out


def test_a_run_without_the_planners_is_refused_naming_it(tmp_path) -> None:
    script = load_script()
    run = write_run(tmp_path / "run", [[attempt("gqstn", True, 0.9)]])
    with pytest.raises(SystemExit, match=r"planners .*default.* were not run"):
        script.scenes([run])


def test_runs_of_two_success_rules_are_refused(tmp_path) -> None:
    script = load_script()
    held, level = tmp_path / "held", tmp_path / "level"
    for folder, rule in ((held, "held"), (level, "level")):
        folder.mkdir()
        (folder / "results.json").write_text(
            json.dumps({"config": {"success_rule": rule}, "scenes": []})
        )
    with pytest.raises(SystemExit, match="different rules"):
        script.scenes([held, level])
