"""Clear the table: the clutter benchmark's configuration, records, stopping rule, scoring and
report (no ROS here; `clutter_runner` runs it through the nodes).

A run drops `piles` piles of `objects` objects of the families the shipped models never saw
(`gqstn_ros.sim.clutter`); every method meets every pile (the same seed, the same objects and
drop). On each pile a method picks, one `/detect_grasp` then one `/execute_grasp` per attempt,
until the table is empty or after `max_consecutive_failures` failed attempts in a row
(`stop_reason`). An attempt succeeds when the object it lifted stayed at least `lift_threshold`
above where it rested during the hold (Table II's rule); a lifted object is then carried to the
bin (`/sim/finish_pick`), and the objects left on the table settle. An object that falls off the
table is lost.

`targets` is the client's target policy (`targeting`): "any" sends no target; "named" names an
object by its mask in every request; "after-failure" names one only after a failed pick, until a
pick succeeds; "avoid-failed" asks again naming another object when an untargeted grasp is on an
object that failed since the last success. The masks come from the simulated world's
segmentation of the frame sent.

Per method (`summarize_clutter`): the share of objects cleared (in the bin at the end, over the
objects on the table once the pile settled), success per attempt, picks per hour on the
simulated robot's clock (the arm's and gripper's simulated motion time plus the planner's
detection time; carrying to the bin is not simulated and not counted) and on the wall clock of
this machine (every attempt's detection, execution, hold and the table settling), and the
detection time. Of the attempts that named an object: how many lifted one (the object `/sim/hold`
follows, lifted at least 1 cm), how many of those lifted the named one (the share of lifted
objects that are the one asked for), and how many were answered "target not visible"; objects on
the table too hidden to be named (fewer than `targeting.MIN_TARGET_PIXELS` pixels in the frame)
are counted per attempt.
"""

from __future__ import annotations

import csv
import json
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from gqstn_ros.sim.clutter import MAX_PILE_OBJECTS
from gqstn_ros.tools.benchmark.report import METHOD_LABELS, answered_lines, json_ready
from gqstn_ros.tools.benchmark.scenario import BenchmarkConfig
from gqstn_ros.tools.benchmark.targeting import TARGET_POLICIES

DEFAULT_CLUTTER_OBJECTS = 10
QUICK_CLUTTER_OBJECTS = 5  # --quick: 5 objects, one pile per method
MAX_CONSECUTIVE_FAILURES = 3
SECONDS_PER_HOUR = 3600.0


@dataclass(frozen=True)
class ClutterConfig:
    """One clutter run: `objects` per pile, `piles` piles, each cleared by every method of
    `base.methods`; `base` holds the options shared with Table II (models, output, seed,
    camera rate, lift rule, timeouts)."""

    objects: int = DEFAULT_CLUTTER_OBJECTS
    piles: int = 1
    max_consecutive_failures: int = MAX_CONSECUTIVE_FAILURES
    targets: str = "any"  # the target policy (`targeting.TARGET_POLICIES`)
    base: BenchmarkConfig = field(default_factory=BenchmarkConfig)

    def __post_init__(self) -> None:
        if not 1 <= self.objects <= MAX_PILE_OBJECTS:
            raise ValueError(f"objects must be in [1, {MAX_PILE_OBJECTS}], got {self.objects}")
        if self.piles < 1:
            raise ValueError(f"piles must be at least 1, got {self.piles}")
        if self.max_consecutive_failures < 1:
            raise ValueError(
                f"max_consecutive_failures must be at least 1, got {self.max_consecutive_failures}"
            )
        if self.targets not in TARGET_POLICIES:
            raise ValueError(
                f"targets must be one of {', '.join(TARGET_POLICIES)}, got {self.targets!r}"
            )

    @property
    def methods(self) -> tuple[str, ...]:
        return self.base.methods

    @property
    def max_attempts_per_pile(self) -> int:
        """Attempts a pile can take when every success clears an object: each object picked
        after the longest tolerated run of failures, then the failures that stop the run. The
        runner stops a pile there whatever the world reports."""
        limit = self.max_consecutive_failures
        return self.objects * limit + limit


def pile_seed(base_seed: int, pile: int) -> int:
    """The seed of pile `pile` (its objects and drop): every method meets the same pile."""
    return base_seed * 10_000 + 5_000 + pile


def stop_reason(objects_on_table: int, consecutive_failures: int, limit: int) -> str:
    """Why picking on a pile stops now ('' to go on): the table is empty, or `limit` attempts
    in a row failed."""
    if objects_on_table <= 0:
        return "table empty"
    if consecutive_failures >= limit:
        return f"{consecutive_failures} consecutive failures"
    return ""


@dataclass
class ClutterAttempt:
    """One pick on a pile. Times in seconds, lengths in metres; NaN where not reached."""

    method: str
    pile: int
    seed: int
    index: int  # the attempt's rank on its pile, from 0
    success: bool = False
    category: str = ""  # success | no object seen | planner error | not lifted | ...
    reason: str = ""
    detected: bool = False
    detection_time: float = math.nan  # the Grasp's planning_time (the node's clock)
    detection_round_trip: float = math.nan
    q_value: float = math.nan
    grasp_center_px_u: float = math.nan
    grasp_center_px_v: float = math.nan
    grasp_angle: float = math.nan
    grasp_width: float = math.nan
    grasp_depth: float = math.nan
    answered_by: str = ""  # the planner whose grasp the node answered (Grasp.planner)
    executor_success: bool = False
    executor_message: str = ""
    held_object: str = ""  # the object lifted highest during the hold
    binned_object: str = ""  # the object carried to the bin after the attempt
    lifted_height_min: float = math.nan
    robot_time: float = 0.0  # simulated motion time of the attempt + its detection time
    wall_time: float = 0.0
    objects_on_table_before: int = 0
    objects_on_table_after: int = 0
    target_object: str = ""  # the object the request named by mask ('' = any object)
    target_label: int = 0  # its label in the frame's segmentation (0 = none named)
    target_pixels: int = 0  # its visible pixels in the frame
    objects_not_visible: int = 0  # on the table, too hidden in the frame to be named
    aimed_object: str = ""  # the object under the grasp's centre (segmentation; nearest if none)
    aimed_label: int = 0
    lifted_named: bool = False  # the object lifted (held_object) is the one named
    # "avoid-failed": the object of an untargeted grasp not executed (it failed since the last
    # success) before the request was sent again naming another, and that grasp's planning time
    declined_object: str = ""
    declined_detection_time: float = math.nan
    replay_file: str = ""

    def forget_detection(self) -> None:
        """Back to "no grasp detected" (a request sent again: its answer replaces this one)."""
        blank = ClutterAttempt(self.method, self.pile, self.seed, self.index)
        for name in (
            "detected", "detection_time", "detection_round_trip", "q_value", "grasp_center_px_u",
            "grasp_center_px_v", "grasp_angle", "grasp_width", "grasp_depth", "aimed_object",
            "aimed_label",
        ):  # fmt: skip
            setattr(self, name, getattr(blank, name))

    def fail(self, category: str, detail: str) -> None:
        self.success = False
        self.category = category
        self.reason = f"{category}: {detail}" if detail else category


@dataclass
class PileRun:
    """One method clearing one pile."""

    method: str
    pile: int
    seed: int
    objects_dropped: int
    objects_at_start: int = 0  # on the table once the pile settled
    lost_at_drop: int = 0  # fell off the table when dropped
    cleared: int = 0  # in the bin at the end
    lost: int = 0  # fell off the table during the picks
    remaining: int = 0  # on the table at the end
    attempts: int = 0
    successes: int = 0
    stop_reason: str = ""
    empty_table_answer: str = ""  # /detect_grasp on the cleared table (the refusal expected)
    wall_time: float = 0.0
    error: str = ""  # a pile that could not be set up says why


@dataclass(frozen=True)
class ClutterSummary:
    """The clutter table's row of one method (shares in [0, 1], times in s)."""

    method: str
    piles: int
    objects: int  # on the table at the start, over every pile
    cleared: int
    cleared_share: float
    lost: int
    attempts: int
    successes: int
    success_per_attempt: float
    robot_time_s: float
    wall_time_s: float
    picks_per_hour_robot: float
    picks_per_hour_wall: float
    detection_time_mean: float
    detection_time_median: float
    failures: dict[str, int]
    targeted_attempts: int = 0  # attempts that named an object
    targeted_lifted: int = 0  # ... and lifted one (the named one or another)
    targeted_lifted_named: int = 0  # ... and lifted the named one
    named_share: float = math.nan  # lifted the named one, over targeted attempts that lifted one
    target_not_visible: int = 0  # targeted attempts answered "target not visible"
    declined: int = 0  # untargeted grasps not executed, on an object that failed ("avoid-failed")
    # Detected grasps by the planner that made them (Grasp.planner), most frequent first.
    answered_by: dict[str, int] = field(default_factory=dict)


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator > 0 else math.nan


def summarize_clutter(
    piles: Sequence[PileRun], attempts: Sequence[ClutterAttempt], methods: Sequence[str]
) -> list[ClutterSummary]:
    """Per-method rows of a clutter run (see the module docstring)."""
    rows = []
    for method in methods:
        mine = [a for a in attempts if a.method == method]
        runs = [p for p in piles if p.method == method]
        objects = sum(p.objects_at_start for p in runs)
        cleared = sum(p.cleared for p in runs)
        successes = sum(a.success for a in mine)
        robot = float(sum(a.robot_time for a in mine))
        wall = float(sum(a.wall_time for a in mine))
        times = np.asarray(
            [a.detection_time for a in mine if a.detected and math.isfinite(a.detection_time)]
        )
        failures: dict[str, int] = {}
        for attempt in mine:
            if not attempt.success:
                failures[attempt.category] = failures.get(attempt.category, 0) + 1
        targeted = [a for a in mine if a.target_object]
        lifted = [a for a in targeted if a.held_object]
        named = sum(a.lifted_named for a in targeted)
        rows.append(
            ClutterSummary(
                method=method,
                piles=len(runs),
                objects=objects,
                cleared=cleared,
                cleared_share=_ratio(cleared, objects),
                lost=sum(p.lost for p in runs),
                attempts=len(mine),
                successes=successes,
                success_per_attempt=_ratio(successes, len(mine)),
                robot_time_s=robot,
                wall_time_s=wall,
                picks_per_hour_robot=SECONDS_PER_HOUR * _ratio(successes, robot),
                picks_per_hour_wall=SECONDS_PER_HOUR * _ratio(successes, wall),
                detection_time_mean=float(times.mean()) if times.size else math.nan,
                detection_time_median=float(np.median(times)) if times.size else math.nan,
                failures=dict(sorted(failures.items())),
                targeted_attempts=len(targeted),
                targeted_lifted=len(lifted),
                targeted_lifted_named=named,
                named_share=_ratio(named, len(lifted)),
                target_not_visible=sum(a.category == "target not visible" for a in targeted),
                declined=sum(bool(a.declined_object) for a in mine),
                answered_by=dict(
                    Counter(
                        a.answered_by for a in mine if a.detected and a.answered_by
                    ).most_common()
                ),
            )
        )
    return rows


def _percent(value: float) -> str:
    return "n/a" if not math.isfinite(value) else f"{100 * value:.1f}%"


def _number(value: float, digits: int) -> str:
    return "n/a" if not math.isfinite(value) else f"{value:.{digits}f}"


def format_clutter_table(rows: Sequence[ClutterSummary], targets: str = "any") -> str:
    """The clutter table as text (`targets`: the run's target policy, named in the title)."""
    header = (
        f"{'Method':<12} {'Piles':>5} {'Objects':>7} {'Cleared':>8} {'Lost':>4} "
        f"{'Attempts':>8} {'Success/att.':>12} {'Picks/h robot':>13} {'Picks/h wall':>12} "
        f"{'Detect mean':>11} {'median':>8}"
    )
    lines = [
        f"CLEAR THE TABLE (simulated, unseen objects; target policy: {targets})",
        header,
        "-" * len(header),
    ]
    for row in rows:
        lines.append(
            f"{METHOD_LABELS.get(row.method, row.method):<12} {row.piles:>5} {row.objects:>7} "
            f"{_percent(row.cleared_share):>8} {row.lost:>4} {row.attempts:>8} "
            f"{_percent(row.success_per_attempt):>12} "
            f"{_number(row.picks_per_hour_robot, 0):>13} "
            f"{_number(row.picks_per_hour_wall, 0):>12} "
            f"{_number(row.detection_time_mean, 3):>9} s "
            f"{_number(row.detection_time_median, 3):>6} s"
        )
    lines.append(
        "Picks/h robot: successful picks over the simulated arm's motion time plus detection "
        "time (carrying to the bin not simulated); wall: over this machine's time per attempt."
    )
    for row in rows:
        if row.targeted_attempts:
            lines.append(
                f"{METHOD_LABELS.get(row.method, row.method)} named targets: "
                f"{row.targeted_attempts} attempts named an object, {row.targeted_lifted} lifted "
                f"one, {row.targeted_lifted_named} the named one "
                f"({_percent(row.named_share)} of lifted objects), "
                f"{row.target_not_visible} answered 'target not visible'"
                + (
                    f"; {row.declined} of them after a grasp on an object that had failed"
                    if row.declined
                    else ""
                )
            )
    for row in rows:
        if row.failures:
            listed = ", ".join(f"{name} x{count}" for name, count in row.failures.items())
            lines.append(f"{METHOD_LABELS.get(row.method, row.method)} failures: {listed}")
    lines += answered_lines(rows)
    return "\n".join(lines)


def write_clutter_results(
    output_dir: Path,
    config: ClutterConfig,
    piles: Sequence[PileRun],
    attempts: Sequence[ClutterAttempt],
    timing: dict[str, Any],
) -> dict[str, Path]:
    """results.json, attempts.csv, piles.csv, table_clutter.txt and table_clutter.png in
    `output_dir`; their paths under json, csv, piles, table and plot."""
    output_dir.mkdir(parents=True, exist_ok=True)
    rows = summarize_clutter(piles, attempts, config.methods)
    paths = {
        "json": output_dir / "results.json",
        "csv": output_dir / "attempts.csv",
        "piles": output_dir / "piles.csv",
        "table": output_dir / "table_clutter.txt",
        "plot": output_dir / "table_clutter.png",
    }
    base = {
        f.name: (str(v) if isinstance(v, Path) else v)
        for f in fields(config.base)
        for v in [getattr(config.base, f.name)]
        if f.name != "objects"
    }
    document = {
        "mode": "clutter",
        "config": {
            "objects": config.objects,
            "piles": config.piles,
            "max_consecutive_failures": config.max_consecutive_failures,
            "targets": config.targets,
            **base,
        },
        "timing": timing,
        "summary": [asdict(row) for row in rows],
        "piles": [asdict(pile) for pile in piles],
        "attempts": [asdict(attempt) for attempt in attempts],
    }
    paths["json"].write_text(json.dumps(json_ready(document), indent=2) + "\n")
    for key, kind, records in (
        ("csv", ClutterAttempt, attempts),
        ("piles", PileRun, piles),
    ):
        with paths[key].open("w", newline="") as stream:
            writer = csv.DictWriter(stream, fieldnames=[f.name for f in fields(kind)])
            writer.writeheader()
            for item in records:
                writer.writerow(asdict(item))
    paths["table"].write_text(format_clutter_table(rows, config.targets) + "\n")
    plot_clutter(rows, paths["plot"])
    return paths


def plot_clutter(rows: Sequence[ClutterSummary], path: Path) -> None:
    """Bars: cleared share and success per attempt (left), picks per hour (right)."""
    import matplotlib  # noqa: PLC0415 (only the report needs it)

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    labels = [METHOD_LABELS.get(row.method, row.method) for row in rows]
    positions = np.arange(len(rows))
    figure, (share_axis, rate_axis) = plt.subplots(1, 2, figsize=(11, 4))
    for offset, (name, values) in zip(
        (-0.2, 0.2),
        (
            ("objects cleared", [row.cleared_share for row in rows]),
            ("success per attempt", [row.success_per_attempt for row in rows]),
        ),
        strict=True,
    ):
        heights = [100 * v if math.isfinite(v) else 0.0 for v in values]
        share_axis.bar(positions + offset, heights, 0.4, label=name)
    share_axis.set_xticks(positions, labels)
    share_axis.set_ylabel("%")
    share_axis.set_ylim(0, 105)
    share_axis.legend(loc="lower right", fontsize=8)
    share_axis.set_title("Clear the table")
    for offset, (name, values) in zip(
        (-0.2, 0.2),
        (
            ("simulated robot time", [row.picks_per_hour_robot for row in rows]),
            ("wall time", [row.picks_per_hour_wall for row in rows]),
        ),
        strict=True,
    ):
        rate_axis.bar(
            positions + offset, [v if math.isfinite(v) else 0.0 for v in values], 0.4, label=name
        )
    rate_axis.set_xticks(positions, labels)
    rate_axis.set_ylabel("picks per hour")
    rate_axis.legend(loc="upper right", fontsize=8)
    rate_axis.set_title("Pick rate")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def clutter_replay_path(attempts_dir: Path, attempt: ClutterAttempt) -> Path:
    """attempts/pile<k>_<method>_a<NN>.npz: one file per attempt of a clutter run."""
    return attempts_dir / f"pile{attempt.pile}_{attempt.method}_a{attempt.index:02d}.npz"


def save_clutter_replay(
    attempts_dir: Path, attempt: ClutterAttempt, arrays: dict[str, Any]
) -> Path:
    """Keeps an attempt: `arrays` (depth frames, intrinsics, camera pose, every object's name,
    pose and place before the attempt, grasp: what the attempt reached) and the record as
    JSON under "record"; the file's path (read it with `report.replay_attempt`)."""
    path = clutter_replay_path(attempts_dir, attempt)
    kept = {key: np.asarray(value) for key, value in arrays.items()}
    kept["record"] = np.asarray(json.dumps(json_ready(asdict(attempt))))
    np.savez_compressed(path, **kept)
    return path
