"""Grasp poses and frames (REP 103/105), written once for the nodes, the executor and tests.

The grasp frame of `gqstn_msgs/Grasp.pose` (DESIGN.md): origin at the grasp centre at gripper
depth, x = approach (into the scene), y = jaw closing axis, z = x cross y. A `HandEye`
calibration is the camera optical frame's pose in `base_link`. Quaternions here are (x, y, z,
w), the geometry_msgs order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gqstn_ros.camera_model import CameraIntrinsics
from gqstn_ros.grasping.grasp import TOP_DOWN_APPROACH, grasps_2d_to_3d
from gqstn_ros.sim.world_config import matrix_to_quaternion, quaternion_to_matrix


def quaternion_xyzw_to_matrix(quaternion_xyzw: np.ndarray | tuple[float, ...]) -> np.ndarray:
    """(3, 3) rotation of a unit quaternion (x, y, z, w); raises ValueError if not unit."""
    q = np.asarray(quaternion_xyzw, dtype=np.float64).reshape(-1)
    if q.shape != (4,) or not np.all(np.isfinite(q)) or abs(np.linalg.norm(q) - 1.0) > 1e-3:
        raise ValueError(f"quaternion (x, y, z, w) must be 4 finite numbers of norm 1, got {q}")
    return quaternion_to_matrix((q[3], q[0], q[1], q[2]))


def matrix_to_quaternion_xyzw(rotation: np.ndarray) -> np.ndarray:
    w, x, y, z = matrix_to_quaternion(rotation)
    return np.array([x, y, z, w])


@dataclass(frozen=True)
class RigidTransform:
    """A pose: rotation (3, 3) and translation (3,), mapping child coordinates to parent."""

    rotation: np.ndarray
    translation: np.ndarray

    @classmethod
    def from_pose(cls, position, quaternion_xyzw) -> RigidTransform:
        position = np.asarray(position, dtype=np.float64).reshape(-1)
        if position.shape != (3,) or not np.all(np.isfinite(position)):
            raise ValueError(f"position must be 3 finite numbers, got {position}")
        return cls(quaternion_xyzw_to_matrix(quaternion_xyzw), position)

    @property
    def quaternion_xyzw(self) -> np.ndarray:
        return matrix_to_quaternion_xyzw(self.rotation)

    def matrix(self) -> np.ndarray:
        out = np.eye(4)
        out[:3, :3], out[:3, 3] = self.rotation, self.translation
        return out

    def compose(self, child: RigidTransform) -> RigidTransform:
        """self * child: a pose given in this transform's child frame, expressed in its parent."""
        return RigidTransform(
            self.rotation @ child.rotation, self.rotation @ child.translation + self.translation
        )

    def inverse(self) -> RigidTransform:
        return RigidTransform(self.rotation.T, -self.rotation.T @ self.translation)


def grasp_frame_rotation(approach: np.ndarray, jaw_axis: np.ndarray) -> np.ndarray:
    """(3, 3) rotation whose columns are the grasp frame axes: x = approach, y = jaw axis
    (made orthogonal to the approach), z = x cross y."""
    x = np.asarray(approach, dtype=np.float64)
    x = x / np.linalg.norm(x)
    y = np.asarray(jaw_axis, dtype=np.float64)
    y = y - x * (x @ y)
    norm = np.linalg.norm(y)
    if norm < 1e-9:
        raise ValueError("the jaw axis is parallel to the approach")
    y = y / norm
    return np.stack([x, y, np.cross(x, y)], axis=1)


def grasp_pose_in_camera(
    center_px: tuple[float, float],
    angle: float,
    width_px: float,
    depth: float,
    intrinsics: CameraIntrinsics,
) -> tuple[RigidTransform, float]:
    """A top-down image grasp -> (its grasp frame in the camera optical frame, width in m)."""
    centers, axes, widths = grasps_2d_to_3d(
        np.array([center_px]),
        np.array([angle]),
        np.array([width_px]),
        np.array([depth]),
        intrinsics,
    )
    rotation = grasp_frame_rotation(TOP_DOWN_APPROACH, axes[0])
    return RigidTransform(rotation, centers[0]), float(widths[0])
