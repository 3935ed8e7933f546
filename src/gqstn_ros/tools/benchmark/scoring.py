"""How an attempt is judged and the run summed up: failure categories, the lift-and-hold success
rule, the physical robustness of a grasp on the object's true mesh and pose, and Table II's
per-method rows."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gqstn_ros.tools.benchmark.scenario import AttemptFailure, AttemptRecord


def classify_detection_failure(message: str) -> str:
    """The category of a /detect_grasp refusal."""
    text = message.lower()
    if "no model" in text:
        return "no model"
    if "no object above the table" in text:
        return "no object seen"
    if "target not visible" in text:
        return "target not visible"
    if "stale" in text or "no depth frame" in text:
        return "no depth frame"
    return "planner error"


def classify_execution_failure(message: str) -> str:
    """The category of an /execute_grasp failure."""
    text = message.lower()
    if "unreachable" in text or "plan refused" in text:
        return "unreachable"
    if "diverged" in text:
        return "sim diverged"
    if "protective stop" in text:
        return "collision"
    if "nothing held" in text:
        return "closed on nothing"
    if "not connected" in text:
        return "hardware not connected"
    return "execution failed"


def judge_hold(
    held: Mapping[str, Any], executor_success: bool, executor_message: str, lift_threshold: float
) -> None:
    """Returns when the attempt succeeded: the object stayed at least `lift_threshold` (m) above
    where it settled during the whole hold. Else raises AttemptFailure with the reason.

    `held` is `/sim/hold`'s ground truth (its JSON, with "ok" the service's success flag);
    `executor_success` / `executor_message` are `/execute_grasp`'s result. A simulation fault
    during the hold comes first, then the executor's own failure, then what the object did.
    """
    lifted = (
        held["ok"]
        and held["lifted_height_start"] >= lift_threshold
        and held["lifted_height_min"] >= lift_threshold
    )
    if lifted:
        return
    if held.get("hold_fault") or held.get("fault"):
        raise AttemptFailure("sim diverged", held.get("hold_fault") or held.get("fault"))
    if not executor_success:
        raise AttemptFailure(classify_execution_failure(executor_message), executor_message)
    height = 100 * float(held["lifted_height_start"])
    lowest = 100 * float(held["lifted_height_min"])
    if not held["on_table"] and lowest < 0:
        raise AttemptFailure("fell off", "the object left the table")
    if height < 100 * lift_threshold:
        raise AttemptFailure("not lifted", f"the object is {height:.1f} cm above its rest")
    raise AttemptFailure(
        "slipped", f"lifted {height:.1f} cm, down to {lowest:.1f} cm during the hold"
    )


class PhysicalRobustness:
    """The robust Ferrari-Canny label of detected grasps on the object's true mesh and pose."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, bytes], Any] = {}

    def evaluator(self, object_name: str, object_pose: np.ndarray) -> Any:
        from gqstn_ros.grasping.robustness import GraspQualityEvaluator  # noqa: PLC0415
        from gqstn_ros.sim.benchmark_objects import benchmark_object  # noqa: PLC0415

        key = (object_name, np.round(object_pose, 6).tobytes())
        if key not in self._cache:
            self._cache.clear()  # one scene at a time: the methods of a trial share it
            model = benchmark_object(object_name)
            self._cache[key] = GraspQualityEvaluator.from_object(
                model.vertices, model.faces, object_pose
            )
        return self._cache[key]

    def score(
        self,
        object_name: str,
        object_pose: np.ndarray,  # (4, 4) world <- object mesh frame
        camera_pose: np.ndarray,  # (4, 4) world <- camera optical frame
        grasp_in_camera: np.ndarray,  # (4, 4) grasp frame (x approach, y jaw axis) in camera
        width: float,
        seed: int,
    ) -> tuple[float, bool]:
        """(robust quality, robust label) of one grasp (see grasping.robustness)."""
        grasp_in_world = camera_pose @ grasp_in_camera
        centre = grasp_in_world[:3, 3][None]  # (1, 3)
        axis = grasp_in_world[:3, 1][None]  # (1, 3) the jaw closing axis
        if np.linalg.norm(axis[0, :2]) < 1e-6:
            return 0.0, False  # a vertical jaw axis is no top-down grasp
        result = self.evaluator(object_name, object_pose).evaluate(
            centre, axis, np.array([width]), rng=seed
        )
        return float(result.robust_quality[0]), bool(result.robust[0])


@dataclass(frozen=True)
class MethodSummary:
    """Table II's row of one method (rates in [0, 1], times in seconds)."""

    method: str
    attempts: int
    successes: int
    success_rate: float
    detections: int
    robust_prediction_rate: float  # robust flag set, over all attempts
    detection_time_mean: float  # over detected grasps
    detection_time_median: float
    round_trip_mean: float
    physical_robust_rate: float  # physically robust grasps, over all attempts
    physical_quality_mean: float  # over detected grasps
    failures: dict[str, int]
    # Detected grasps by the planner that made them (Grasp.planner): the method itself unless
    # the default pipeline answered another planner's grasp.
    answered_by: dict[str, int] = field(default_factory=dict)


def _rate(values: list[bool], total: int) -> float:
    return sum(values) / total if total else math.nan


def _stat(values: list[float], reduce: Callable[[np.ndarray], Any]) -> float:
    finite = np.asarray([v for v in values if math.isfinite(v)], dtype=np.float64)
    return float(reduce(finite)) if finite.size else math.nan


def summarize(records: Sequence[AttemptRecord], methods: Sequence[str]) -> list[MethodSummary]:
    """Per-method Table II rows of `records`."""
    rows = []
    for method in methods:
        mine = [r for r in records if r.method == method]
        detected = [r for r in mine if r.detected]
        count = len(mine)
        failures: dict[str, int] = {}
        for record in mine:
            if not record.success:
                failures[record.category] = failures.get(record.category, 0) + 1
        answered_by = Counter(r.answered_by for r in detected if r.answered_by)
        rows.append(
            MethodSummary(
                method=method,
                attempts=count,
                successes=sum(r.success for r in mine),
                success_rate=_rate([r.success for r in mine], count),
                detections=len(detected),
                robust_prediction_rate=_rate([r.robust_prediction for r in mine], count),
                detection_time_mean=_stat([r.detection_time for r in detected], np.mean),
                detection_time_median=_stat([r.detection_time for r in detected], np.median),
                round_trip_mean=_stat([r.detection_round_trip for r in detected], np.mean),
                physical_robust_rate=_rate([r.physical_robust for r in mine], count),
                physical_quality_mean=_stat([r.physical_robust_quality for r in detected], np.mean),
                failures=dict(sorted(failures.items())),
                answered_by=dict(answered_by.most_common()),
            )
        )
    return rows


def detection_time_ratio(rows: Sequence[MethodSummary]) -> float:
    """Mean detection time of Prop+GQ-CNN over GQ-STN's in the same run (NaN if either lacks)."""
    by_method = {row.method: row for row in rows}
    if "prop_gqcnn" not in by_method or "gqstn" not in by_method:
        return math.nan
    slow, fast = by_method["prop_gqcnn"].detection_time_mean, by_method["gqstn"].detection_time_mean
    if not (math.isfinite(slow) and math.isfinite(fast)) or fast <= 0:
        return math.nan
    return slow / fast
