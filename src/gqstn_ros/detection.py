"""What a grasp planner returns, the interface every planner implements, and what it declares.

The inference and fallback nodes, the evaluation (Table I) and the benchmarks talk to planners
only through `GraspPlanner`: GQ-STN, DirectGrasp, MultiGrasp (one network pass each),
Prop+GQ-CNN (sampling and ranking) and any planner a plug-in adds. A planner takes an inpainted
depth frame in metres and the camera intrinsics, and returns its grasps best first. Each
planner declares itself with a `PlannerSpec` (`gqstn_ros.planner_registry` collects them). No
rclpy here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from gqstn_ros.camera_model import CameraIntrinsics

# A grasp is called robust when its q_value (GQ-CNN's probability that it is robust) is at least
# this: the paper's judge. The nodes' default `q_threshold`, and the threshold of every robust
# rate that training, evaluation and the benchmarks report on q. (The label's threshold on the
# robust Ferrari-Canny epsilon is another quantity: `RobustnessConfig.robust_threshold`.)
ROBUST_Q_THRESHOLD = 0.5
# When the default pipeline asks Prop+GQ-CNN for its grasp (`grasping.alternatives`): on every
# request, or only when the grasp so far is not robust.
FALLBACK_ALWAYS = "always"
FALLBACK_NOT_ROBUST = "not_robust"
FALLBACK_WHEN = (FALLBACK_ALWAYS, FALLBACK_NOT_ROBUST)


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


@dataclass(frozen=True)
class PlannerSpec:
    """What a planner declares of itself; its folder's `__init__.py` holds one as `PLANNER`.

    name: the planner's name on /detect_grasp, in node parameters and in results (lower case
    letters, digits and underscores). label: how tables and plots name it ("GQ-STN").
    network: the module whose `NETWORK` (a `networks.configs.NetworkSpec`) is the one-shot
    network the planner runs; such a planner is loaded by `networks.planners.NetworkPlanner`
    from checkpoint `<name>.pt` (its network's kind is its name), trained by
    `training.train_detector --kind <name>` and exported to ONNX. loader: "module:function"
    that returns the planner, called as `function(models_dir, backend=..., gripper=...,
    **options)`; None for a network planner (the generic loader). checkpoints: the files of the
    models folder it reads. options: the loader's keyword options beyond `backend` and
    `gripper` that callers may pass (`planner_registry.options_for`). fallback: the planner
    the fallback node serves (/plan_grasp) when the inference node does not load it.
    loaded_by_default: the inference node loads it when its `planners` parameter is not set.

    This module imports nothing heavy, so that naming a planner costs no model import: the
    spec names its code by module path.
    """

    name: str
    label: str
    network: str | None = None
    loader: str | None = None
    checkpoints: tuple[str, ...] = ()
    options: tuple[str, ...] = ()
    fallback: bool = False
    loaded_by_default: bool = False

    def __post_init__(self) -> None:
        if not self.name or not all(c.islower() or c.isdigit() or c == "_" for c in self.name):
            raise ValueError(
                f"planner name {self.name!r}: lower case letters, digits and underscores only"
            )
        if not self.label:
            raise ValueError(f"planner {self.name}: the label must not be empty")
        if self.network is None and self.loader is None:
            raise ValueError(f"planner {self.name}: give its network module or its loader")
        if self.loader is not None and self.loader.count(":") != 1:
            raise ValueError(
                f"planner {self.name}: loader {self.loader!r} must be 'module:function'"
            )


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
