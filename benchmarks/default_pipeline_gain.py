"""The default pipeline against its parts and against an earlier rule, pooled over several
generalization runs: success by planner, by family and by camera, and the paired difference.

Usage: .venv/bin/python benchmarks/default_pipeline_gain.py --runs RUN [RUN ...]
       [--baseline-runs RUN [RUN ...]] [--baseline-label "earlier rule"]

RUN: an output folder of `python -m gqstn_ros.tools.generalization` (its results.json). The
--runs give every planner they ran; runs of the same frames (seed, cameras, families, scenes)
are merged, each planner from the one run that has it. Each --baseline-runs folder must be a
run of the same frames whose `default` planner followed another rule, e.g. `--planners default
--default-fallback-when not_robust --no-default-minor-axis`. Its default is reported beside the
others as BASELINE, with the scenes lifted by only one of the two.
Every run pooled must follow the same success rule (`--success-rule`; runs written before the
rule existed followed `level`). Prints markdown tables; flags every family and camera on which
the default lifts less than the naive minor-axis grasp; by family, the lift measure that is not
the success rule (level when success is held, and the other way round).
"""

from __future__ import annotations

import argparse
import json
import math
from collections import defaultdict
from pathlib import Path

import numpy as np

from gqstn_ros.tools.generalization import calibration, shared_success_rule

DEFAULT = "default"
NAIVE = "minor_axis"
BASELINE = "baseline"
SAME_FRAMES_KEYS = ("seed", "cameras", "families", "scenes_per_camera")
OTHER_MEASURE = {"held": "level", "level": "held"}  # success rule -> the other lift measure


def load_run(run: Path) -> tuple[dict, list[dict]]:
    results = json.loads((run / "results.json").read_text())
    return results["config"], results["scenes"]


def merged_runs(runs: list[Path]) -> list[tuple[Path, dict, list[dict]]]:
    """(first folder, config, scenes) per set of frames: runs of the same seed, cameras,
    families and scenes are merged scene by scene, each planner taken from the one run that
    has it."""
    merged: dict[tuple, tuple[Path, dict, list[dict]]] = {}
    for run in runs:
        config, scenes = load_run(run)
        key = tuple(str(config[name]) for name in SAME_FRAMES_KEYS)
        if key not in merged:
            merged[key] = (run, config, scenes)
            continue
        first, _, kept = merged[key]
        for scene, other in zip(kept, scenes, strict=True):
            if (other["camera"], other["object_seed"]) != (scene["camera"], scene["object_seed"]):
                raise SystemExit(f"{run}: scene {other['index']} differs from that of {first}")
            known = {attempt["planner"] for attempt in scene["attempts"]}
            twice = known & {attempt["planner"] for attempt in other["attempts"]}
            if twice:
                raise SystemExit(f"{run} and {first} both ran {', '.join(sorted(twice))}")
            scene["attempts"] = scene["attempts"] + other["attempts"]
    return list(merged.values())


def pooled_rule(runs: list[Path]) -> str:
    """The success rule all `runs` share; SystemExit naming the runs when they differ."""
    try:
        return shared_success_rule({str(run): load_run(run)[0] for run in runs})
    except ValueError as error:
        raise SystemExit(str(error)) from error


def pooled_rows(runs: list[Path], baselines: list[Path]) -> list[dict]:
    """One row a scene: family, camera, and each planner's attempt by name (the baseline's
    default as BASELINE)."""
    baseline_scenes = {}
    for run in baselines:
        config, scenes = load_run(run)
        baseline_scenes[tuple(str(config[key]) for key in SAME_FRAMES_KEYS)] = (run, scenes)
    rows = []
    for run, config, scenes in merged_runs(runs):
        key = tuple(str(config[name]) for name in SAME_FRAMES_KEYS)
        if baselines and key not in baseline_scenes:
            raise SystemExit(f"{run}: no --baseline-runs folder has its seed, cameras and families")
        others = baseline_scenes[key][1] if baselines else [None] * len(scenes)
        for scene, other in zip(scenes, others, strict=True):
            if not scene["settled"]:
                continue
            row = {"family": scene["family"], "camera": scene["camera"]}
            row.update({attempt["planner"]: attempt for attempt in scene["attempts"]})
            if other is not None:
                if (other["camera"], other["object_seed"]) != (
                    scene["camera"],
                    scene["object_seed"],
                ):
                    raise SystemExit(f"{run}: scene {scene['index']} differs from its baseline's")
                row[BASELINE] = next(a for a in other["attempts"] if a["planner"] == DEFAULT)
            rows.append(row)
    return rows


def rate(rows: list[dict], planner: str, field: str = "success") -> float:
    return 100.0 * sum(bool(row[planner][field]) for row in rows) / len(rows)


def measure_rate(rows: list[dict], planner: str, field: str) -> str:
    """The share of scenes whose nominal lift was `held` (in the gripper off the table, level
    or not) or `level` ("-" when a run predates the field)."""
    if any(field not in row[planner] for row in rows):
        return "-"
    return f"{rate(rows, planner, field):.1f} %"


def q_calibration(rows: list[dict], planner: str) -> str:
    """ECE of the planner's q as the lift probability, and the precision and recall of
    `robust` (q >= 0.5), pooled over the scenes where it found a grasp ("- | - | -" without q:
    the floors report none)."""
    found = [row[planner] for row in rows if row[planner].get("found", True)]
    q = np.array([attempt.get("q_value", math.nan) for attempt in found], dtype=np.float64)
    if not len(q) or not np.isfinite(q).all() or not q.any():
        return "- | - | -"
    figures = calibration(q, np.array([bool(attempt["success"]) for attempt in found]))
    precision, recall = 100 * figures["precision"], 100 * figures["recall"]
    return f"{figures['ece']:.3f} | {precision:.1f} % | {recall:.1f} %"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=Path, nargs="+", required=True)
    parser.add_argument("--baseline-runs", type=Path, nargs="*", default=[])
    parser.add_argument("--baseline-label", default="earlier rule")
    args = parser.parse_args(argv)
    rule = pooled_rule([*args.runs, *args.baseline_runs])
    rows = pooled_rows(args.runs, args.baseline_runs)
    planners = [name for name in rows[0] if name not in ("family", "camera")]
    label = {BASELINE: f"default, {args.baseline_label}"}

    print(f"{len(rows)} scenes from {len(args.runs)} runs; success rule: {rule}\n")
    print(
        "| planner | success | robust success | held, level or not | level | ECE of q "
        "| precision of robust | recall |\n"
        "| --- | --- | --- | --- | --- | --- | --- | --- |"
    )
    for name in planners:
        print(
            f"| {label.get(name, name)} | {rate(rows, name):.1f} % "
            f"| {rate(rows, name, 'robust_success'):.1f} % "
            f"| {measure_rate(rows, name, 'held')} | {measure_rate(rows, name, 'level')} "
            f"| {q_calibration(rows, name)} |"
        )
    if BASELINE in planners:
        only_new = sum(row[DEFAULT]["success"] and not row[BASELINE]["success"] for row in rows)
        only_old = sum(row[BASELINE]["success"] and not row[DEFAULT]["success"] for row in rows)
        print(f"\nLifted only by the default: {only_new}; only by the baseline: {only_old}")

    shown = [name for name in (DEFAULT, BASELINE, "gqstn", "prop_gqcnn", NAIVE) if name in planners]
    below_naive = []
    for key in ("family", "camera"):
        groups: dict[str, list[dict]] = defaultdict(list)
        for row in rows:
            groups[row[key]].append(row)
        print(f"\n| {key} | scenes | " + " | ".join(label.get(n, n) for n in shown) + " |")
        print("| --- | --- |" + " --- |" * len(shown))
        for group, members in groups.items():
            cells = " | ".join(f"{rate(members, name):.1f} %" for name in shown)
            print(f"| {group} | {len(members)} | {cells} |")
            if NAIVE in planners and rate(members, DEFAULT) < rate(members, NAIVE):
                below_naive.append(f"{key} {group}")
    if NAIVE in planners:
        print("\nThe default below the naive grasp on: " + (", ".join(below_naive) or "none"))
    other = OTHER_MEASURE[rule]
    if DEFAULT not in planners or measure_rate(rows, DEFAULT, other) == "-":
        return 0
    groups = defaultdict(list)
    for row in rows:
        groups[row["family"]].append(row)
    print(f"\n{'Level' if other == 'level' else 'Held, level or not,'} by family:\n")
    print("| family | " + " | ".join(label.get(n, n) for n in shown) + " |")
    print("| --- |" + " --- |" * len(shown))
    for group, members in groups.items():
        cells = " | ".join(measure_rate(members, name, other) for name in shown)
        print(f"| {group} | {cells} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
