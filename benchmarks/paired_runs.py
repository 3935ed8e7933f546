"""Two sets of runs of the same scenes, attempt by attempt: what a change gained and lost.

Usage: .venv/bin/python benchmarks/paired_runs.py --before RUN [RUN ...] --after RUN [RUN ...]
       [--methods NAME ...]

RUN: an output folder of the Table II benchmark (`python -m gqstn_ros.tools.benchmark`: its
attempts are keyed by object, trial and method) or of the generalization benchmark (`python -m
gqstn_ros.tools.generalization`: keyed by scene and planner); the i-th --after run must meet the
same scenes as the i-th --before run (same seed). Per method found in both: the attempts paired,
the successes before and after with their 95 % Wilson score intervals, the attempts only the
after runs lifted (gained) and only the before runs lifted (lost), and, per side, the success of
the grasps whose q is at least the robust threshold against those below it. Prints a markdown
table.
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Sequence
from pathlib import Path

from gqstn_ros.detection import ROBUST_Q_THRESHOLD

WILSON_Z = 1.96  # 95 % two-sided

Outcome = tuple[bool, float]  # (lifted, q)


def wilson_interval(successes: int, count: int, z: float = WILSON_Z) -> tuple[float, float]:
    """The Wilson score interval of a success rate, (low, high) in [0, 1]; (nan, nan) for no
    attempts."""
    if count == 0:
        return math.nan, math.nan
    rate = successes / count
    denominator = 1 + z * z / count
    centre = (rate + z * z / (2 * count)) / denominator
    half = z * math.sqrt(rate * (1 - rate) / count + z * z / (4 * count * count)) / denominator
    return centre - half, centre + half


def load_outcomes(run: Path, tag: int) -> dict[tuple, Outcome]:
    """(tag, scene key..., method) -> outcome of every attempt of `run` (`tag`: which pair of runs
    it belongs to, so that the same scene of two seeds stays apart)."""
    results = json.loads((run / "results.json").read_text())
    outcomes: dict[tuple, Outcome] = {}
    if "attempts" in results:  # Table II
        for attempt in results["attempts"]:
            key = (tag, attempt["object_name"], attempt["trial"], attempt["method"])
            q = attempt["q_value"]
            outcomes[key] = (bool(attempt["success"]), math.nan if q is None else float(q))
        return outcomes
    if "scenes" not in results:
        raise SystemExit(f"{run}/results.json holds neither Table II attempts nor scenes")
    for scene in results["scenes"]:
        if not scene["settled"]:
            continue
        for attempt in scene["attempts"]:
            key = (tag, scene["index"], attempt["planner"])
            q = attempt["q_value"]
            outcomes[key] = (bool(attempt["success"]), math.nan if q is None else float(q))
    return outcomes


def load_side(runs: Sequence[Path]) -> dict[tuple, Outcome]:
    merged: dict[tuple, Outcome] = {}
    for tag, run in enumerate(runs):
        merged.update(load_outcomes(run, tag))
    return merged


def _rate(successes: int, count: int) -> str:
    if count == 0:
        return "-"
    low, high = wilson_interval(successes, count)
    return f"{100 * successes / count:.1f} % ({100 * low:.1f}-{100 * high:.1f})"


def _by_q(outcomes: Sequence[Outcome]) -> str:
    """Success of the grasps at or above the robust threshold, then of those below it."""
    parts = []
    for above in (True, False):
        mine = [
            lifted
            for lifted, q in outcomes
            if math.isfinite(q) and (q >= ROBUST_Q_THRESHOLD) == above
        ]
        share = f"{100 * sum(mine) / len(mine):.1f} %" if mine else "-"
        parts.append(f"{share} of {len(mine)}")
    return " / ".join(parts)


def paired_table(
    before: dict[tuple, Outcome], after: dict[tuple, Outcome], methods: Sequence[str] | None
) -> str:
    """The markdown table (see the module docstring)."""
    shared = sorted(set(before) & set(after), key=str)
    found = list(dict.fromkeys(key[-1] for key in shared))
    names = [name for name in methods if name in found] if methods else found
    lines = [
        f"| method | paired | before (95 % interval) | after (95 % interval) | gained | lost "
        f"| before: q >= {ROBUST_Q_THRESHOLD:g} / below | after: q >= {ROBUST_Q_THRESHOLD:g} / "
        "below |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name in names:
        keys = [key for key in shared if key[-1] == name]
        was = [before[key] for key in keys]
        now = [after[key] for key in keys]
        gained = sum(n[0] and not w[0] for w, n in zip(was, now, strict=True))
        lost = sum(w[0] and not n[0] for w, n in zip(was, now, strict=True))
        lines.append(
            f"| {name} | {len(keys)} | {_rate(sum(w[0] for w in was), len(keys))} "
            f"| {_rate(sum(n[0] for n in now), len(keys))} | {gained} | {lost} "
            f"| {_by_q(was)} | {_by_q(now)} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", nargs="+", type=Path, required=True)
    parser.add_argument("--after", nargs="+", type=Path, required=True)
    parser.add_argument("--methods", nargs="+", default=None, help="default: every shared one")
    args = parser.parse_args(argv)
    if len(args.before) != len(args.after):
        parser.error(
            f"--before names {len(args.before)} runs and --after {len(args.after)}: "
            "pair each after run with the before run of the same scenes"
        )
    for run in (*args.before, *args.after):
        if not (run / "results.json").is_file():
            parser.error(f"{run} has no results.json (not a benchmark output folder)")
    print(paired_table(load_side(args.before), load_side(args.after), args.methods))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
