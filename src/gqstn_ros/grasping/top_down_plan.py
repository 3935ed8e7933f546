"""Top-down grasp execution plan: a grasp pose in `base_link` -> UR tool waypoints.

Pure (numpy only). The input grasp frame follows docs/interface.md: x = approach (into the
scene), y = jaw closing axis. The executed grasp is exactly vertical: the approach must lie within
`approach_tolerance` of base_link's -z and is then straightened to -z, keeping the jaw axis's
horizontal direction (yaw). A jaw axis has no direction, so of the two equivalent yaws the one
nearer the tool's zero yaw is taken (less wrist rotation).

Tool frame (the TCP set on the controller; the same as the simulated UR5's, `sim.robot`):
z = approach (out of the flange), y = jaw closing axis, x = y cross z. Waypoints are UR poses
(x, y, z, rx, ry, rz), metres and an axis-angle rotation vector, in base_link:

    pre_grasp --descend--> grasp --close--> lift --check--> retreat

all on the vertical line through the grasp centre. `tcp_to_grasp_centre` is how far the
commanded TCP sits behind the grasp centre along the approach (0 when the controller's TCP is
set between the finger pads at gripper depth).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from gqstn_ros.geometry import RigidTransform, matrix_to_pose6
from gqstn_ros.gripper import STROKE_TOLERANCE_M, default_gripper

DOWN = np.array([0.0, 0.0, -1.0])  # base_link -z: the top-down approach
UP = -DOWN


class PlanError(ValueError):
    """The grasp cannot be executed top-down; the message names the problem."""


@dataclass(frozen=True)
class TopDownConfig:
    """Geometry of a top-down pick (metres, radians, base_link)."""

    pre_grasp_height: float = 0.10  # above the grasp, where the descent starts
    lift_height: float = 0.15  # above the grasp, after closing
    retreat_height: float = 0.20  # above the grasp, where the attempt ends
    workspace_min: tuple[float, float, float] = (0.2, -0.5, 0.0)  # box every waypoint stays in
    workspace_max: tuple[float, float, float] = (0.9, 0.5, 0.6)
    approach_tolerance: float = math.radians(15.0)  # max angle of the approach from -z
    tcp_to_grasp_centre: float = 0.0  # TCP behind the grasp centre along the approach
    opening_margin: float = 0.01  # opened this much wider than the grasp before descending
    # The gripper's stroke (default: `gripper.default_gripper()`'s).
    min_width: float = field(default_factory=lambda: default_gripper().min_width)
    max_width: float = field(default_factory=lambda: default_gripper().max_width)

    def __post_init__(self) -> None:
        for name in ("pre_grasp_height", "lift_height", "retreat_height", "opening_margin"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a non-negative finite number, got {value}")
        if not (math.isfinite(self.tcp_to_grasp_centre)):
            raise ValueError(f"tcp_to_grasp_centre must be finite, got {self.tcp_to_grasp_centre}")
        if not 0 < self.approach_tolerance < math.pi / 2:
            raise ValueError(
                f"approach_tolerance must be in (0, pi/2) rad, got {self.approach_tolerance}"
            )
        low, high = np.asarray(self.workspace_min, float), np.asarray(self.workspace_max, float)
        if low.shape != (3,) or high.shape != (3,) or not np.all(np.isfinite([low, high])):
            raise ValueError("workspace_min / workspace_max must be 3 finite numbers each")
        if np.any(low >= high):
            raise ValueError(
                f"workspace_min must be below workspace_max on every axis, "
                f"got {low.tolist()} and {high.tolist()}"
            )
        if not 0 <= self.min_width < self.max_width:
            raise ValueError(
                f"gripper widths must satisfy 0 <= min_width < max_width, "
                f"got {self.min_width}, {self.max_width}"
            )


@dataclass(frozen=True)
class TopDownPlan:
    """Waypoints (6,) UR poses in base_link, the opening before closing (m) and the executed
    (vertical) grasp frame in base_link."""

    pre_grasp: np.ndarray
    grasp: np.ndarray
    lift: np.ndarray
    retreat: np.ndarray
    opening: float
    grasp_in_base: RigidTransform
    approach_error: float  # rad, how far the requested approach was from -z

    def waypoints(self) -> dict[str, np.ndarray]:
        return {
            "pre_grasp": self.pre_grasp,
            "grasp": self.grasp,
            "lift": self.lift,
            "retreat": self.retreat,
        }


class TopDownPlanner:
    """Plans a vertical pick of a grasp given in base_link (see the module docstring)."""

    def __init__(self, config: TopDownConfig | None = None) -> None:
        self.config = config or TopDownConfig()

    def plan(self, grasp_in_base: RigidTransform, width: float) -> TopDownPlan:
        """Waypoints for `grasp_in_base` (grasp frame: x approach, y jaw axis) opened to fit
        `width` (m); raises PlanError naming the problem."""
        c = self.config
        rotation = np.asarray(grasp_in_base.rotation, dtype=np.float64)
        centre = np.asarray(grasp_in_base.translation, dtype=np.float64).reshape(-1)
        if rotation.shape != (3, 3) or centre.shape != (3,):
            raise PlanError(
                f"grasp pose must have a (3, 3) rotation and a (3,) position, "
                f"got {rotation.shape} and {centre.shape}"
            )
        if not (np.all(np.isfinite(rotation)) and np.all(np.isfinite(centre))):
            raise PlanError(f"grasp pose contains NaN or inf: position {centre.tolist()}")
        if not math.isfinite(width):
            raise PlanError(f"grasp width is not a finite number: {width}")
        if width < 0:
            raise PlanError(f"grasp width is negative: {width:.4f} m")
        # Widths arrive as float32 on the wire (85 mm reads 85.0000009 mm): a micrometre of
        # tolerance, so a grasp exactly at the stroke is not refused.
        if width > c.max_width + STROKE_TOLERANCE_M:
            raise PlanError(
                f"grasp width {width * 1000:.1f} mm is wider than the stroke "
                f"({c.max_width * 1000:.1f} mm)"
            )
        if abs(np.linalg.det(rotation) - 1.0) > 1e-3:
            raise PlanError("grasp orientation is not a rotation (determinant != 1)")

        approach = rotation[:, 0] / np.linalg.norm(rotation[:, 0])
        approach_error = math.acos(float(np.clip(approach @ DOWN, -1.0, 1.0)))
        if approach_error > c.approach_tolerance:
            raise PlanError(
                f"approach not pointing down: {math.degrees(approach_error):.1f} deg from "
                f"base_link -z (tolerance {math.degrees(c.approach_tolerance):.1f} deg), "
                f"approach {np.round(approach, 3).tolist()}"
            )
        tool_rotation = top_down_tool_rotation(rotation[:, 1])
        # Grasp frame of the executed grasp: x = approach (-z), y = jaw, z = x cross y.
        executed = RigidTransform(
            np.stack([tool_rotation[:, 2], tool_rotation[:, 1], -tool_rotation[:, 0]], axis=1),
            centre.copy(),
        )
        tcp_at_grasp = centre - DOWN * c.tcp_to_grasp_centre

        def pose_above(height: float) -> np.ndarray:
            matrix = np.eye(4)
            matrix[:3, :3] = tool_rotation
            matrix[:3, 3] = tcp_at_grasp + UP * height
            return matrix_to_pose6(matrix)

        plan = TopDownPlan(
            pre_grasp=pose_above(c.pre_grasp_height),
            grasp=pose_above(0.0),
            lift=pose_above(c.lift_height),
            retreat=pose_above(c.retreat_height),
            opening=float(np.clip(width + c.opening_margin, c.min_width, c.max_width)),
            grasp_in_base=executed,
            approach_error=approach_error,
        )
        low, high = np.asarray(c.workspace_min), np.asarray(c.workspace_max)
        if np.any(centre < low) or np.any(centre > high):
            raise PlanError(
                f"grasp outside workspace: centre {np.round(centre, 3).tolist()} not in the box "
                f"{list(c.workspace_min)} .. {list(c.workspace_max)} (base_link)"
            )
        for name, pose in plan.waypoints().items():
            if np.any(pose[:3] < low) or np.any(pose[:3] > high):
                raise PlanError(
                    f"{name} waypoint outside workspace: {np.round(pose[:3], 3).tolist()} not "
                    f"in the box {list(c.workspace_min)} .. {list(c.workspace_max)} (base_link)"
                )
        return plan


def top_down_tool_rotation(jaw_axis: np.ndarray) -> np.ndarray:
    """(3, 3) tool rotation in base_link: z = straight down, y = the jaw axis's horizontal
    direction (sign chosen so that the tool's yaw is in (-pi/2, pi/2]), x = y cross z."""
    jaw = np.asarray(jaw_axis, dtype=np.float64).reshape(3)
    horizontal = np.array([jaw[0], jaw[1], 0.0])
    norm = float(np.linalg.norm(horizontal))
    if norm < 1e-6:
        raise PlanError("jaw axis is vertical: no top-down grasp closes along it")
    y = horizontal / norm
    # The tool's zero yaw has its y axis along base_link -y (tool z down, x along +x); keep
    # the jaw direction within 90 deg of it.
    if y[1] > 1e-9 or (abs(y[1]) <= 1e-9 and y[0] < 0):
        y = -y
    z = DOWN
    x = np.cross(y, z)
    return np.stack([x, y, z], axis=1)
