"""benchmarks/label_agreement.py writes one record per grasp, lift outcome included."""

from __future__ import annotations

import csv

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
