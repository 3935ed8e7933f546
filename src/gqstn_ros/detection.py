"""What a grasp planner returns, and the interface every planner implements.

The inference and fallback nodes, the evaluation (Table I) and the benchmarks talk to planners
only through `GraspPlanner`: GQ-STN, DirectGrasp, MultiGrasp (one network pass each) and
Prop+GQ-CNN (sampling and ranking). A planner takes an inpainted depth frame in metres and the
camera intrinsics, and returns its grasps best first. No rclpy here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from gqstn_ros.camera_model import CameraIntrinsics

PLANNER_NAMES = ("gqstn", "multigrasp", "directgrasp", "prop_gqcnn")
# A grasp is called robust when its q_value (GQ-CNN's probability that it is robust) is at least
# this: the paper's judge. The nodes' default `q_threshold`, and the threshold of every robust
# rate that training, evaluation and the benchmarks report on q. (The label's threshold on the
# robust Ferrari-Canny epsilon is another quantity: `RobustnessConfig.robust_threshold`.)
ROBUST_Q_THRESHOLD = 0.5


class PlanningError(ValueError):
    """A request a planner cannot answer (bad input, nothing graspable): the message says why."""


@dataclass(frozen=True)
class PlannedGrasp:
    """One top-down grasp in the depth frame, with its GQ-CNN verdict.

    center_px: (u, v) pixels of the frame; angle: jaw axis image angle, radians, (-pi/2, pi/2];
    width_px: jaw opening in pixels at the grasp depth; depth: gripper depth along the optical
    axis, metres; q_value: GQ-CNN's robustness probability in [0, 1]; thumbnail: the
    (32, 32) float32 crop (metres) GQ-CNN judged, aligned with the grasp axis.
    """

    center_px: tuple[float, float]
    angle: float
    width_px: float
    depth: float
    q_value: float
    thumbnail: np.ndarray
    planner: str


@runtime_checkable
class GraspPlanner(Protocol):
    """A grasp planner: `plan` returns up to `top_k` grasps, best first.

    depth_m: (H, W) float32 metres, finite everywhere (an inpainted frame). Raises
    `PlanningError` with a message naming the problem for an input it cannot plan on.
    """

    name: str

    def plan(
        self, depth_m: np.ndarray, intrinsics: CameraIntrinsics, top_k: int = 1
    ) -> list[PlannedGrasp]: ...
