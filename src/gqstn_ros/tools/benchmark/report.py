"""What a run leaves: Table II as text (with the paper's figures beside it), results.json,
attempts.csv, the bar plot, and one replay file (attempts/*.npz) per attempt, which
`replay_attempt` re-scores without ROS."""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Sequence
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

import numpy as np

from gqstn_ros.planner_registry import OWN_HEAD, SHIPPED_JUDGE_MODEL, planner_labels
from gqstn_ros.tools.benchmark.scenario import DEFAULT_PIPELINE, AttemptRecord, BenchmarkConfig
from gqstn_ros.tools.benchmark.scoring import (
    MethodSummary,
    PhysicalRobustness,
    detection_time_ratio,
    summarize,
)

# method -> how the table and the plot name it (answering planners too: Grasp.planner)
METHOD_LABELS = {**planner_labels(), DEFAULT_PIPELINE: "default", "minor_axis": "minor axis"}
# The paper's Table II, for reference beside the measured one.
PAPER_TABLE_II = {
    "multigrasp": (95.0, 21.7, 0.014),
    "gqstn": (96.7, 61.7, 0.024),
    "prop_gqcnn": (98.3, 48.3, 1.5),
}


def json_ready(value: Any) -> Any:
    """NaN and inf become null (strict JSON)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: json_ready(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(item) for item in value]
    return value


def _percent(value: float) -> str:
    return "   n/a" if not math.isfinite(value) else f"{100 * value:5.1f}%"


def _seconds(value: float) -> str:
    return "     n/a" if not math.isfinite(value) else f"{value:8.3f}"


def format_table(rows: Sequence[MethodSummary], ratio: float) -> str:
    """Table II as text, with the paper's numbers beside ours."""
    header = (
        f"{'Method':<12} {'Attempts':>8} {'Success':>8} {'Robust pred.':>12} "
        f"{'Detect mean':>11} {'median':>8} {'Phys. robust':>12}   paper (succ/robust/time)"
    )
    lines = ["TABLE II (simulated physical benchmark)", header, "-" * len(header)]
    for row in rows:
        paper = PAPER_TABLE_II.get(row.method)
        paper_text = f"{paper[0]:.1f}% / {paper[1]:.1f}% / {paper[2]:g} s" if paper else ""
        lines.append(
            f"{METHOD_LABELS.get(row.method, row.method):<12} {row.attempts:>8} "
            f"{_percent(row.success_rate):>8} {_percent(row.robust_prediction_rate):>12} "
            f"{_seconds(row.detection_time_mean):>9} s {_seconds(row.detection_time_median):>6} s "
            f"{_percent(row.physical_robust_rate):>12}   {paper_text}"
        )
    lines.append(
        "Detection time ratio Prop+GQ-CNN / GQ-STN (this run): "
        + (f"{ratio:.1f}x" if math.isfinite(ratio) else "n/a (needs both methods' detections)")
        + " (paper: ~60x)"
    )
    # A grasp's planning time ends when the node made or chose it; the round trip (the
    # client's clock) also counts the default pipeline's wait for alternatives it did not take.
    lines.append(
        "/detect_grasp round trip, mean: "
        + ", ".join(
            f"{METHOD_LABELS.get(row.method, row.method)} "
            + (f"{row.round_trip_mean:.3f} s" if math.isfinite(row.round_trip_mean) else "n/a")
            for row in rows
        )
    )
    for row in rows:
        if row.failures:
            listed = ", ".join(f"{name} x{count}" for name, count in row.failures.items())
            lines.append(f"{METHOD_LABELS.get(row.method, row.method)} failures: {listed}")
    lines += answered_lines(rows)
    return "\n".join(lines)


def answered_lines(rows: Sequence[Any]) -> list[str]:
    """A line per row (with `method` and `answered_by`: planner -> count) whose grasps came from
    other planners than its method, the default pipeline's: how often it answered each."""
    lines = []
    for row in rows:
        if set(row.answered_by) - {row.method}:
            listed = ", ".join(
                f"{METHOD_LABELS.get(name, name)} x{count}"
                for name, count in row.answered_by.items()
            )
            lines.append(f"{METHOD_LABELS.get(row.method, row.method)} answered: {listed}")
    return lines


def _table_with_options(rows: Sequence[MethodSummary], config: BenchmarkConfig) -> str:
    """table_ii.txt: the table, then a line for each option that changes how methods ran."""
    table = format_table(rows, detection_time_ratio(rows))
    if config.symmetric_views > 1:
        table += (
            f"\nGQ-STN and MultiGrasp ran on {config.symmetric_views} symmetric copies of each "
            "view (--symmetric-views), keeping the grasp GQ-CNN rated highest"
        )
    judge = config.judge_model or f"{SHIPPED_JUDGE_MODEL} (the inference node's default)"
    if config.judge_model == OWN_HEAD:
        judge = "their own GQ-CNN heads, as in the paper"
    table += (
        f"\nGQ-STN's and MultiGrasp's grasps, and the default pipeline's choice, judged by {judge} "
        "(--judge-model)"
    )
    return table


def write_results(
    output_dir: Path,
    config: BenchmarkConfig,
    records: Sequence[AttemptRecord],
    timing: dict[str, Any],
) -> dict[str, Path]:
    """results.json, attempts.csv, table_ii.txt and table_ii.png in `output_dir`; their paths
    under the keys json, csv, table and plot."""
    output_dir.mkdir(parents=True, exist_ok=True)
    rows = summarize(records, config.methods)
    paths = {
        "json": output_dir / "results.json",
        "csv": output_dir / "attempts.csv",
        "table": output_dir / "table_ii.txt",
        "plot": output_dir / "table_ii.png",
    }
    config_dict = {
        f.name: (str(v) if isinstance(v, Path) else v)
        for f in fields(config)
        for v in [getattr(config, f.name)]
    }
    document = {
        "config": config_dict,
        "timing": timing,
        "summary": [asdict(row) for row in rows],
        "detection_time_ratio_prop_gqcnn_over_gqstn": detection_time_ratio(rows),
        "attempts": [asdict(record) for record in records],
    }
    paths["json"].write_text(json.dumps(json_ready(document), indent=2) + "\n")
    with paths["csv"].open("w", newline="") as stream:
        names = [f.name for f in fields(AttemptRecord)]
        writer = csv.DictWriter(stream, fieldnames=names)
        writer.writeheader()
        for record in records:
            writer.writerow(asdict(record))
    paths["table"].write_text(_table_with_options(rows, config) + "\n")
    plot_table(rows, paths["plot"])
    return paths


def plot_table(rows: Sequence[MethodSummary], path: Path) -> None:
    """Bar plot of Table II: rates (left) and detection time (right, log scale)."""
    import matplotlib  # noqa: PLC0415 (only the report needs it)

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    labels = [METHOD_LABELS.get(row.method, row.method) for row in rows]
    metrics = (
        ("success rate", [row.success_rate for row in rows]),
        ("robust prediction rate", [row.robust_prediction_rate for row in rows]),
        ("physically robust", [row.physical_robust_rate for row in rows]),
    )
    figure, (rates_axis, time_axis) = plt.subplots(1, 2, figsize=(11, 4))
    positions = np.arange(len(rows))
    width = 0.8 / len(metrics)
    for index, (name, values) in enumerate(metrics):
        heights = [100 * v if math.isfinite(v) else 0.0 for v in values]
        rates_axis.bar(positions + (index - 1) * width, heights, width, label=name)
    rates_axis.set_xticks(positions, labels)
    rates_axis.set_ylabel("%")
    rates_axis.set_ylim(0, 105)
    rates_axis.legend(loc="lower right", fontsize=8)
    rates_axis.set_title("Simulated physical benchmark")
    times = [row.detection_time_mean for row in rows]
    time_axis.bar(positions, [t if math.isfinite(t) else 0.0 for t in times], 0.5)
    time_axis.set_xticks(positions, labels)
    time_axis.set_ylabel("mean detection time (s)")
    if any(math.isfinite(t) and t > 0 for t in times):
        time_axis.set_yscale("log")
    time_axis.set_title("Grasp detection time")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


# ---------------------------------------------------------------------------------- replay files
def replay_path(attempts_dir: Path, record: AttemptRecord) -> Path:
    """attempts/<object>_t<trial>_<method>.npz: one file per attempt of a run."""
    return attempts_dir / f"{record.object_name}_t{record.trial}_{record.method}.npz"


def save_replay(attempts_dir: Path, record: AttemptRecord, arrays: dict[str, Any]) -> Path:
    """Keeps an attempt: `arrays` (depth frames, intrinsics, poses, grasp: whatever the attempt
    reached) and the record as JSON under "record"; the file's path."""
    path = replay_path(attempts_dir, record)
    kept = {key: np.asarray(value) for key, value in arrays.items()}
    kept["record"] = np.asarray(json.dumps(json_ready(asdict(record))))
    np.savez_compressed(path, **kept)
    return path


def replay_attempt(path: Path) -> dict[str, Any]:
    """A kept attempt (attempts/*.npz): its record, and its grasp re-scored on the true mesh."""
    with np.load(path, allow_pickle=False) as kept:
        arrays = {key: kept[key] for key in kept.files}
    record = json.loads(str(arrays.pop("record")))
    replayed: dict[str, Any] = {"record": record, "arrays": sorted(arrays)}
    if {"grasp_in_camera", "object_pose", "camera_pose"} <= set(arrays):
        quality, robust = PhysicalRobustness().score(
            record["object_name"],
            arrays["object_pose"],
            arrays["camera_pose"],
            arrays["grasp_in_camera"],
            float(record["grasp_width"]),
            int(record["seed"]),
        )
        replayed.update(physical_robust_quality=quality, physical_robust=robust)
    return replayed
