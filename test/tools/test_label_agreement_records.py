"""benchmarks/label_agreement.py writes one record per grasp, lift outcome included, with what
replays its lift."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from ros_test_support import load_benchmark_script


def test_grasp_records_are_written_with_every_column(tmp_path) -> None:
    from gqstn_ros.grasping.lift_check import measure_family_agreement
    from gqstn_ros.grasping.robustness import RobustnessConfig

    script = load_benchmark_script("label_agreement")
    report = measure_family_agreement(
        ["box"], 4, seed=2, grasps_per_object=4, robustness_config=RobustnessConfig()
    )
    records = script.grasp_records("test", report)
    path = tmp_path / "records.csv"
    script.write_records(str(path), records)
    with path.open() as stream:
        rows = list(csv.DictReader(stream))
    assert len(rows) == 4 and set(rows[0]) == set(script.RECORD_COLUMNS)
    for row, lifted, off_table in zip(rows, report.lifted, report.lifted_off_table, strict=True):
        assert row["lift_held"] == str(bool(lifted))
        assert row["lift_off_table"] == str(bool(off_table))
        assert row["perturbed_lifts_held"] == ""  # no perturbed lifts in this run


def test_records_carry_the_share_of_perturbed_lifts_held(tmp_path, capsys) -> None:
    from gqstn_ros.grasping.lift_check import measure_family_agreement
    from gqstn_ros.grasping.robustness import RobustnessConfig

    script = load_benchmark_script("label_agreement")
    report = measure_family_agreement(
        ["box"], 2, seed=2, grasps_per_object=2, robustness_config=RobustnessConfig(),
        perturbed_lifts=2,
    )  # fmt: skip
    path = tmp_path / "records.csv"
    script.write_records(str(path), script.grasp_records("test", report))
    with path.open() as stream:
        shares = [float(row["perturbed_lifts_held"]) for row in csv.DictReader(stream)]
    np.testing.assert_allclose(shares, report.held_under_perturbation)
    script.print_lift_repeatability(report, 2)
    printed = capsys.readouterr().out
    figures = report.lift_repeatability()
    assert "box" in printed and "pooled" in printed
    assert f"{figures['nominal_vs_robust_lift']:6.1%}" in printed


def test_a_record_replays_its_lift(tmp_path) -> None:
    from gqstn_ros.grasping.lift_check import measure_family_agreement, replay_family_lift
    from gqstn_ros.grasping.robustness import RobustnessConfig

    script = load_benchmark_script("label_agreement")
    # Heavy objects among light ones: the scale and its cap are replayed too.
    report = measure_family_agreement(
        ["tool"], 4, seed=5, grasps_per_object=2, mass_scales=(1.0, 11.0),
        robustness_config=RobustnessConfig(),
    )  # fmt: skip
    path = tmp_path / "records.csv"
    script.write_records(str(path), script.grasp_records("test", report))
    with path.open() as stream:
        rows = list(csv.DictReader(stream))
    for row, outcome, rise in zip(rows, report.lift_outcomes, report.lift_rises, strict=True):
        again = replay_family_lift(
            row["family"], int(row["object_seed"]), float(row["mass_scale"]),
            int(row["settle_seed"]), np.array(row["grasp_center_m"].split(), dtype=float),
            np.array(row["grasp_axis"].split(), dtype=float), float(row["grasp_width_m"]),
        )  # fmt: skip
        assert again.outcome == outcome and abs(again.object_rise - rise) < 1e-3, row["object"]
    # The replay columns follow the grasps through subsets and concatenation.
    both = report.concatenate([report, report.subset(np.array([False, True, False, True]))])
    assert both.grasps.shape == (7, 6) and both.settle_seeds.shape == (6,)
    np.testing.assert_array_equal(both.grasps[:, 4:], report.grasps[:, [1, 3]])


def test_recorded_grasps_are_labelled_again_without_new_lifts(tmp_path, capsys) -> None:
    from gqstn_ros.grasping.lift_check import measure_family_agreement
    from gqstn_ros.grasping.robustness import RobustnessConfig

    script = load_benchmark_script("label_agreement")
    report = measure_family_agreement(
        ["box"], 6, seed=2, grasps_per_object=3, robustness_config=RobustnessConfig()
    )
    path = tmp_path / "records.csv"
    script.write_records(str(path), script.grasp_records("held_out", report))
    with path.open() as stream:
        records = list(csv.DictReader(stream))
    strict = RobustnessConfig(**script.parse_change("robust_threshold=10"))
    labels = script.relabel_records(records, [RobustnessConfig(), strict, RobustnessConfig()])
    assert labels.shape == (3, 6)
    # The same perturbations for every label: the same config labels alike.
    np.testing.assert_array_equal(labels[0], labels[2])
    assert not labels[1].any()  # no epsilon reaches 10
    # Other perturbation draws than the recorded run's, the same grasps: mostly the same label.
    assert np.mean(labels[0] == report.labels) >= 0.75
    script.print_relabelled(records, ["defaults", "strict", "again"], labels)
    printed = capsys.readouterr().out
    held = report.lifted
    assert "held_out: 6 recorded grasps" in printed
    assert f"strict: {np.mean(~held):.1%}" in printed and "box" in printed


def test_a_label_change_names_what_is_wrong() -> None:
    script = load_benchmark_script("label_agreement")
    assert script.parse_change("exact_descent=false squeeze_turn_step=0.1 weight_cone_edges=6") == {
        "exact_descent": False, "squeeze_turn_step": 0.1, "weight_cone_edges": 6,
    }  # fmt: skip
    for text, message in (
        ("no_such_field=1", "no_such_field"),
        ("weight_cone_edges=six", "weight_cone_edges takes finite int values"),
        ("exact_descent=maybe", "exact_descent takes true or false"),
        ("robust_threshold=inf", "robust_threshold takes finite float values"),
        ("friction_coef=-1", "friction_coef must be >= 0"),
        ("flush_tolerance=0.001 flush_tolerance=0.002", "given twice"),
        ("  ", "at least one"),
    ):
        with pytest.raises(ValueError, match=message):
            script.parse_change(text)


def test_relabel_refuses_what_it_cannot_read(tmp_path, monkeypatch, capsys) -> None:
    script = load_benchmark_script("label_agreement")

    def run(*argv: str) -> str:
        monkeypatch.setattr("sys.argv", ["label_agreement.py", *argv])
        with pytest.raises(SystemExit):
            script.main()
        return capsys.readouterr().err

    empty = tmp_path / "empty.csv"
    script.write_records(str(empty), [])
    assert "holds no grasp records" in run("--relabel", str(empty))
    partial = tmp_path / "partial.csv"
    partial.write_text("set,family\nheld_out,box\n")
    assert "lacks the record columns" in run("--relabel", str(partial))
    assert "--change needs --relabel" in run("--change", "exact_descent=false")
    unknown = tmp_path / "unknown.csv"
    unknown.write_text(
        ",".join(script.RELABEL_COLUMNS)
        + "\nheld_out,no_such_family,True,1,1.0,2,0 0 0.02,1 0 0,0.05\n"
    )
    assert "no_such_family" in run("--relabel", str(unknown))
    assert "--change: 'no_such_field=1' is not FIELD=VALUE" in run(
        "--relabel", str(empty), "--change", "no_such_field=1"
    )
