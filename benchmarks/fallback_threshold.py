"""When should the default pipeline fall back from GQ-STN to Prop+GQ-CNN? A sweep of the
threshold on GQ-STN's q, chosen on some generalization runs and reported on others.

Usage: .venv/bin/python benchmarks/fallback_threshold.py --fit RUN [RUN ...]
       --report RUN [RUN ...] [--thresholds 0 0.3 0.5 ... 2]

RUN: an output folder of `python -m gqstn_ros.tools.generalization` whose planners include
`default`, `gqstn`, `prop_gqcnn` and `minor_axis` (its results.json). Each planner there was
executed by the MuJoCo lift on the same frame, so a rule that picks one planner's grasp per
scene is scored from the recorded lifts without running anything again:

    rule(t): GQ-STN's grasp when its q >= t or Prop+GQ-CNN found no grasp, else Prop+GQ-CNN's.

t = 0 is GQ-STN alone; a t above 1 is "Prop+GQ-CNN first, GQ-STN when it finds nothing". The
node's own rule (`default`, recorded as run) also compares the two grasps by GQ-STN's GQ-CNN
before it takes Prop+GQ-CNN's; the sweep leaves that comparison out. The threshold is chosen on
the --fit runs only (highest success; on a tie the one nearest the node's q_threshold), then
the --report runs give its success beside the recorded default and each planner alone. Prints
both tables and, pooled over every run given, success by family and by camera of the default,
GQ-STN, Prop+GQ-CNN and the naive minor-axis grasp.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

import numpy as np

from gqstn_ros.detection import ROBUST_Q_THRESHOLD
from gqstn_ros.tools.generalization import shared_success_rule

THRESHOLDS = (0.0, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 2.0)
PLANNERS = ("default", "gqstn", "prop_gqcnn", "minor_axis")


def scenes(runs: list[Path]) -> list[dict]:
    """One row a scene: its family and camera, each planner's attempt by name. SystemExit when
    the runs count success by different rules (`--success-rule`)."""
    rows, configs = [], {}
    for run in runs:
        results = json.loads((run / "results.json").read_text())
        configs[str(run)] = results.get("config", {})
        for scene in results["scenes"]:
            attempts = {attempt["planner"]: attempt for attempt in scene["attempts"]}
            missing = [name for name in PLANNERS if name not in attempts]
            if missing:
                raise SystemExit(f"{run}/results.json: planners {missing} were not run")
            rows.append({"family": scene["family"], "camera": scene["camera"], **attempts})
    try:
        shared_success_rule(configs)
    except ValueError as error:
        raise SystemExit(str(error)) from error
    return rows


def rule_success(row: dict, threshold: float) -> bool:
    """Whether rule(threshold)'s grasp lifted in `row`'s scene."""
    gqstn, prop = row["gqstn"], row["prop_gqcnn"]
    keep = gqstn["q_value"] >= threshold or not prop["found"]
    return bool(gqstn["success"] if keep else prop["success"])


def sweep(rows: list[dict], thresholds: list[float]) -> dict[float, float]:
    """Success (%) of rule(t) for every t."""
    return {t: 100.0 * float(np.mean([rule_success(row, t) for row in rows])) for t in thresholds}


def planner_success(rows: list[dict], name: str) -> float:
    return 100.0 * float(np.mean([row[name]["success"] for row in rows]))


def chosen_threshold(fit: dict[float, float]) -> float:
    """The highest success; on a tie the threshold nearest the node's q_threshold."""
    best = max(fit.values())
    ties = [t for t, success in fit.items() if np.isclose(success, best)]
    return min(ties, key=lambda t: abs(t - ROBUST_Q_THRESHOLD))


def print_sweep(label: str, rows: list[dict], thresholds: list[float]) -> dict[float, float]:
    figures = sweep(rows, thresholds)
    alone = ", ".join(f"{name} {planner_success(rows, name):.1f} %" for name in PLANNERS)
    print(f"\n{label}: {len(rows)} scenes; recorded: {alone}")
    print("| t | " + " | ".join(f"{t:g}" for t in thresholds) + " |")
    print("| --- " * (len(thresholds) + 1) + "|")
    print("| rule(t) | " + " | ".join(f"{figures[t]:.1f} %" for t in thresholds) + " |")
    return figures


def print_pooled(rows: list[dict], key: str) -> None:
    groups: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        groups[row[key]].append(row)
    print(f"\nSuccess by {key}, pooled ({len(rows)} scenes):")
    print(f"| {key} | scenes | " + " | ".join(PLANNERS) + " |")
    print("| --- " * (len(PLANNERS) + 2) + "|")
    for name, members in groups.items():
        cells = " | ".join(f"{planner_success(members, p):.1f} %" for p in PLANNERS)
        print(f"| {name} | {len(members)} | {cells} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fit", nargs="+", type=Path, required=True)
    parser.add_argument("--report", nargs="+", type=Path, required=True)
    parser.add_argument("--thresholds", nargs="+", type=float, default=list(THRESHOLDS))
    args = parser.parse_args(argv)
    fit_rows, report_rows = scenes(args.fit), scenes(args.report)
    scenes([*args.fit, *args.report])  # one success rule for all
    fit = print_sweep("fit runs", fit_rows, args.thresholds)
    chosen = chosen_threshold(fit)
    report = print_sweep("report runs", report_rows, args.thresholds)
    print(
        f"\nchosen on the fit runs: t = {chosen:g} ({fit[chosen]:.1f} %); on the report runs "
        f"{report[chosen]:.1f} % against the recorded default "
        f"{planner_success(report_rows, 'default'):.1f} %"
    )
    everything = fit_rows + report_rows
    print_pooled(everything, "family")
    print_pooled(everything, "camera")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
