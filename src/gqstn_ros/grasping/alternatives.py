"""The default pipeline's alternatives to the primary planner's grasp, judged by one GQ-CNN.

`/detect_grasp` without a named planner answers the best of three grasps on the same view:

1. the default planner's own grasp (GQ-STN), its q from its own judge;
2. the naive minor-axis grasp of the object (`baselines.MinorAxisPlanner`: the largest object,
   or the request's target), kept only when the object's silhouette is no wider than the
   stroke plus the margin the planner opens beyond it (the opening is capped at the stroke)
   and the fingers clear the other objects;
3. Prop+GQ-CNN's grasp, from the fallback node; asked on every request (`FALLBACK_ALWAYS`) or
   only when the grasp so far is not robust (`FALLBACK_NOT_ROBUST`).

Both alternatives are judged by the GQ-CNN that judged the primary grasp. One replaces the grasp
so far when it can be carried out as planned and the grasp so far cannot, else only when judged
strictly better (`preferred`). A grasp cannot be carried out (`ExecutionCheck.fault`) when it
closes on air (`target.closes_on_object`: a GQ-CNN's crop can look good on the table beside a
small object) or when its palm lands on the object before the fingers reach the grasp depth
(`gripper_contact.palm_blocked`: the crop does not show how far the fingers reach, so a grasp
on the shoulder of a tall bottle can look good). The inference node and the generalization
benchmark's `default` planner both follow these rules, from this module. No rclpy here.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from gqstn_ros.camera_model import CameraIntrinsics
from gqstn_ros.detection import (
    FALLBACK_ALWAYS,
    FALLBACK_WHEN,
    PlannedGrasp,
    PlanningError,
)
from gqstn_ros.grasping.baselines import MinorAxisPlanner, table_of_frame
from gqstn_ros.grasping.gripper_contact import palm_blocked
from gqstn_ros.grasping.target import (
    OBJECT_HEIGHT_M,
    GraspTarget,
    clear_of_other_objects,
    closes_on_object,
    finger_clearance,
)
from gqstn_ros.gripper import GripperConfig
from gqstn_ros.table_plane import TablePlane


def asks_fallback(fallback_when: str, robust: bool) -> bool:
    """Whether Prop+GQ-CNN's grasp is asked for, given the grasp so far is `robust`."""
    if fallback_when not in FALLBACK_WHEN:
        raise ValueError(
            f"fallback_when must be one of {', '.join(FALLBACK_WHEN)}, got {fallback_when!r}"
        )
    return fallback_when == FALLBACK_ALWAYS or not robust


def judged_better(judged_q: float | None, current_q: float) -> bool:
    """Whether an alternative judged `judged_q` (None: it could not be judged) replaces a grasp
    of q `current_q`: only when strictly better, so that a tie keeps the grasp so far."""
    return judged_q is not None and judged_q > current_q


def preferred(
    judged_q: float | None, feasible: bool, current_q: float, current_feasible: bool
) -> bool:
    """Whether an alternative judged `judged_q` (None: it could not be judged) replaces a grasp
    of q `current_q`; `feasible`, `current_feasible`: whether each can be carried out as
    planned (`ExecutionCheck.fault` is None). A grasp that can beats one that cannot; between
    two of a kind, `judged_better`."""
    if feasible != current_feasible:
        return feasible
    return judged_better(judged_q, current_q)


# What `ExecutionCheck.fault` says of a grasp that cannot be carried out as planned.
CLOSES_ON_AIR = "closes on nothing between its jaws"
PALM_BLOCKED = (
    "its palm comes to rest on what stands under it before the fingers reach the grasp depth"
)


class ExecutionCheck:
    """Whether grasps on one inpainted frame can be carried out as planned: they close on an
    object (`target.closes_on_object`: something more than `object_height_m` above the table
    between the jaws) and the palm lets the fingers reach the grasp depth
    (`gripper_contact.palm_blocked`). The frame's table plane is fitted once, on the first
    grasp; on a frame without one every grasp counts as closing on an object (nothing tells
    otherwise)."""

    def __init__(
        self,
        depth_m: np.ndarray,
        intrinsics: CameraIntrinsics,
        gripper: GripperConfig,
        object_height_m: float = OBJECT_HEIGHT_M,
    ) -> None:
        self.depth_m = depth_m
        self.intrinsics = intrinsics
        self.gripper = gripper
        self.object_height_m = object_height_m
        self._plane: TablePlane | None = None
        self._no_table = False

    def closes(
        self, center_px: Sequence[float], angle: float, width_px: float, depth: float
    ) -> bool:
        """Whether the top-down grasp (centre (u, v) px, jaw angle rad, opening px, gripper
        depth m) has something between its jaws."""
        if self._plane is None and not self._no_table:
            try:
                self._plane = table_of_frame(self.depth_m, self.intrinsics)
            except PlanningError:
                self._no_table = True
        if self._no_table:
            return True
        return bool(
            closes_on_object(
                self.depth_m, self.intrinsics, np.array([center_px], dtype=np.float64),
                np.array([angle]), np.array([width_px]), np.array([depth]), self.gripper,
                plane=self._plane, object_height_m=self.object_height_m,
            )[0]
        )  # fmt: skip

    def palm_blocked(self, center_px: Sequence[float], angle: float, depth: float) -> bool:
        """Whether the palm of the top-down grasp (centre (u, v) px, jaw angle rad, gripper depth
        m) lands on something before the fingers reach the grasp depth."""
        return bool(
            palm_blocked(
                self.depth_m, self.intrinsics, np.array([center_px], dtype=np.float64),
                np.array([angle]), np.array([depth]), self.gripper,
            )[0]
        )  # fmt: skip

    def fault(
        self, center_px: Sequence[float], angle: float, width_px: float, depth: float
    ) -> str | None:
        """Why the top-down grasp cannot be carried out as planned (`CLOSES_ON_AIR`,
        `PALM_BLOCKED`), None when it can."""
        if not self.closes(center_px, angle, width_px, depth):
            return CLOSES_ON_AIR
        if self.palm_blocked(center_px, angle, depth):
            return PALM_BLOCKED
        return None

    def grasp_closes(self, grasp: PlannedGrasp) -> bool:
        """`closes` for a PlannedGrasp."""
        return self.closes(grasp.center_px, grasp.angle, grasp.width_px, grasp.depth)

    def grasp_fault(self, grasp: PlannedGrasp) -> str | None:
        """`fault` for a PlannedGrasp."""
        return self.fault(grasp.center_px, grasp.angle, grasp.width_px, grasp.depth)


def minor_axis_alternative(
    depth_m: np.ndarray,
    intrinsics: CameraIntrinsics,
    gripper: GripperConfig,
    target: GraspTarget | None = None,
) -> PlannedGrasp:
    """The minor-axis grasp on `target` (else the largest object) of the inpainted frame;
    PlanningError saying why when there is none, the object is wider than the stroke across
    its minor axis, or a finger lands on another object."""
    planner = MinorAxisPlanner(gripper)
    grasp, across_m = planner.plan_across(depth_m, intrinsics, target)
    # The silhouette's extent in a noisy frame runs up to about one margin past the object's;
    # within that the opening, capped at the stroke, is judged like any other grasp.
    if across_m > gripper.max_width + planner.config.width_margin:
        raise PlanningError(
            f"the object is wider than the stroke of gripper {gripper.name} across its minor "
            f"axis ({across_m * 1e3:.0f} mm)"
        )
    pose = (
        np.array([grasp.center_px], dtype=np.float64), np.array([grasp.angle]),
        np.array([grasp.width_px]), np.array([grasp.depth]),
    )  # fmt: skip
    if target is None:
        clear = clear_of_other_objects(depth_m, intrinsics, *pose, gripper)
    else:
        focal = 0.5 * (intrinsics.fx + intrinsics.fy)
        obstacles = target.obstacles(depth_m, intrinsics)
        clear = finger_clearance(depth_m, obstacles, *pose, gripper, focal)
    if not clear[0]:
        raise PlanningError("the minor-axis grasp's fingers land on another object")
    return grasp
