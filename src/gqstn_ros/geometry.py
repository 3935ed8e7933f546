"""Rigid-body geometry: the bottom layer of gqstn_ros, importing numpy and nothing of the package.

Rotations, rigid transforms, pose conversions and angle wrapping, written once for the
simulation, the labels, the planners, the networks and the nodes.

Quaternion convention: (w, x, y, z), scalar first, Hamilton product, a unit quaternion q and -q
being the same rotation; `matrix_to_quaternion` returns the one with w >= 0. It is MuJoCo's
order, and the order of the quaternions stored in datasets (`camera_poses`,
`scene_object_poses`). Every function and class here takes and returns that order. Code at a
boundary whose external API uses another order converts there, and only there, with
`quaternion_from_xyzw` / `quaternion_to_xyzw`: ROS messages (geometry_msgs/Quaternion,
`/tf`), the `hand_eye.orientation_xyzw` parameter and the attempt log are (x, y, z, w).

Pose formats:
- a (4, 4) homogeneous transform (`RigidTransform.matrix`), mapping child coordinates to parent;
- pose7: (x, y, z, qw, qx, qy, qz), position and quaternion (datasets);
- pose6: (x, y, z, rx, ry, rz), position and axis-angle rotation vector (Universal Robots' TCP
  pose, as ur_rtde and the simulated arm take it).

Lengths are in metres, angles in radians.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# |q| of a quaternion given as a pose's orientation must be within this of 1.
UNIT_QUATERNION_TOLERANCE = 1e-3


# ------------------------------------------------------------------------------ angles
def wrap_angle(angle: float | np.ndarray) -> float | np.ndarray:
    """Map grasp axis angles (radians) to (-pi/2, pi/2]; an axis and its reverse are equal.

    This is wrapping modulo pi (an axis has no direction), as the planar grasp angle needs.
    """
    wrapped = np.mod(np.asarray(angle, dtype=np.float64), np.pi)  # [0, pi)
    wrapped = np.where(wrapped > np.pi / 2, wrapped - np.pi, wrapped)
    return float(wrapped) if np.ndim(wrapped) == 0 else wrapped


# ------------------------------------------------------------------------------ quaternions
def quaternion_from_xyzw(quaternion_xyzw: np.ndarray | tuple[float, ...]) -> np.ndarray:
    """(w, x, y, z) of a quaternion given as (x, y, z, w) (a ROS message's order)."""
    q = np.asarray(quaternion_xyzw, dtype=np.float64).reshape(-1)
    if q.shape != (4,):
        raise ValueError(f"a quaternion (x, y, z, w) has 4 numbers, got {quaternion_xyzw}")
    return np.array([q[3], q[0], q[1], q[2]])


def quaternion_to_xyzw(quaternion: np.ndarray | tuple[float, ...]) -> np.ndarray:
    """(x, y, z, w) of a quaternion (w, x, y, z), for a ROS message."""
    q = np.asarray(quaternion, dtype=np.float64).reshape(-1)
    if q.shape != (4,):
        raise ValueError(f"a quaternion (w, x, y, z) has 4 numbers, got {quaternion}")
    return np.array([q[1], q[2], q[3], q[0]])


def quaternion_to_matrix(quaternion: np.ndarray | tuple[float, ...]) -> np.ndarray:
    """(3, 3) rotation matrix of a quaternion (w, x, y, z), normalised first."""
    w, x, y, z = np.asarray(quaternion, dtype=np.float64) / np.linalg.norm(quaternion)
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )


def matrix_to_quaternion(rotation: np.ndarray) -> np.ndarray:
    """Unit quaternion (w, x, y, z), w >= 0, of a (3, 3) rotation matrix."""
    r = np.asarray(rotation, dtype=np.float64)
    trace = np.trace(r)
    if trace > 0:
        s = 2.0 * math.sqrt(trace + 1.0)
        q = [0.25 * s, (r[2, 1] - r[1, 2]) / s, (r[0, 2] - r[2, 0]) / s, (r[1, 0] - r[0, 1]) / s]
    elif r[0, 0] > r[1, 1] and r[0, 0] > r[2, 2]:
        s = 2.0 * math.sqrt(1.0 + r[0, 0] - r[1, 1] - r[2, 2])
        q = [(r[2, 1] - r[1, 2]) / s, 0.25 * s, (r[0, 1] + r[1, 0]) / s, (r[0, 2] + r[2, 0]) / s]
    elif r[1, 1] > r[2, 2]:
        s = 2.0 * math.sqrt(1.0 + r[1, 1] - r[0, 0] - r[2, 2])
        q = [(r[0, 2] - r[2, 0]) / s, (r[0, 1] + r[1, 0]) / s, 0.25 * s, (r[1, 2] + r[2, 1]) / s]
    else:
        s = 2.0 * math.sqrt(1.0 + r[2, 2] - r[0, 0] - r[1, 1])
        q = [(r[1, 0] - r[0, 1]) / s, (r[0, 2] + r[2, 0]) / s, (r[1, 2] + r[2, 1]) / s, 0.25 * s]
    q = np.array(q)
    q /= np.linalg.norm(q)
    return q if q[0] >= 0 else -q


# ------------------------------------------------------------------------------ rotation vectors
def rotation_vector_to_matrix(rotation_vector: np.ndarray) -> np.ndarray:
    """(3, 3) rotation of an axis-angle vector (3,) (Rodrigues)."""
    r = np.asarray(rotation_vector, dtype=np.float64).reshape(3)
    angle = float(np.linalg.norm(r))
    if angle < 1e-12:
        return np.eye(3)
    k = r / angle
    skew = np.array([[0.0, -k[2], k[1]], [k[2], 0.0, -k[0]], [-k[1], k[0], 0.0]])
    return np.eye(3) + math.sin(angle) * skew + (1.0 - math.cos(angle)) * skew @ skew


def matrix_to_rotation_vector(rotation: np.ndarray) -> np.ndarray:
    """Axis-angle vector (3,), angle in [0, pi], of a (3, 3) rotation matrix."""
    r = np.asarray(rotation, dtype=np.float64)
    cos_angle = np.clip((np.trace(r) - 1.0) / 2.0, -1.0, 1.0)
    angle = math.acos(cos_angle)
    if angle < 1e-9:
        return np.zeros(3)
    if angle < math.pi - 1e-4:
        axis = np.array([r[2, 1] - r[1, 2], r[0, 2] - r[2, 0], r[1, 0] - r[0, 1]])
        return axis / (2.0 * math.sin(angle)) * angle
    # Near pi: the axis is the eigenvector of the symmetric part, sign fixed by the skew part.
    symmetric = (r + np.eye(3)) / 2.0
    column = int(np.argmax(np.diag(symmetric)))
    axis = symmetric[:, column] / math.sqrt(max(symmetric[column, column], 1e-300))
    skew = np.array([r[2, 1] - r[1, 2], r[0, 2] - r[2, 0], r[1, 0] - r[0, 1]])
    if axis @ skew < 0:
        axis = -axis
    return axis / np.linalg.norm(axis) * angle


# ------------------------------------------------------------------------------ poses
def pose6_to_matrix(pose: np.ndarray) -> np.ndarray:
    """(4, 4) transform of a pose6 (x, y, z, rx, ry, rz); raises ValueError if malformed."""
    p = np.asarray(pose, dtype=np.float64).reshape(-1)
    if p.shape != (6,) or not np.all(np.isfinite(p)):
        raise ValueError(f"pose must be 6 finite numbers (x, y, z, rx, ry, rz), got {pose}")
    matrix = np.eye(4)
    matrix[:3, :3] = rotation_vector_to_matrix(p[3:])
    matrix[:3, 3] = p[:3]
    return matrix


def matrix_to_pose6(matrix: np.ndarray) -> np.ndarray:
    """pose6 (x, y, z, rx, ry, rz) of a (4, 4) transform."""
    m = np.asarray(matrix, dtype=np.float64)
    return np.concatenate([m[:3, 3], matrix_to_rotation_vector(m[:3, :3])])


def pose7_to_matrix(pose: np.ndarray) -> np.ndarray:
    """(4, 4) float64 transform of a pose7 (x, y, z, qw, qx, qy, qz); the quaternion is
    normalised (in the precision it is given in: a float32 dataset row as stored)."""
    p = np.asarray(pose)
    matrix = np.eye(4)
    matrix[:3, :3] = quaternion_to_matrix(p[3:7])
    matrix[:3, 3] = p[:3]
    return matrix


def matrix_to_pose7(matrix: np.ndarray) -> np.ndarray:
    """pose7 (x, y, z, qw, qx, qy, qz), qw >= 0, of a (4, 4) transform."""
    m = np.asarray(matrix, dtype=np.float64)
    return np.concatenate([m[:3, 3], matrix_to_quaternion(m[:3, :3])])


# ------------------------------------------------------------------------------ transforms
@dataclass(frozen=True)
class RigidTransform:
    """A pose: rotation (3, 3) and translation (3,), mapping child coordinates to parent."""

    rotation: np.ndarray
    translation: np.ndarray

    @classmethod
    def from_pose(
        cls, position: np.ndarray | tuple[float, ...], quaternion: np.ndarray | tuple[float, ...]
    ) -> RigidTransform:
        """From a position (3,) and a unit quaternion (w, x, y, z); ValueError if either is
        malformed or |q| is off 1 by more than `UNIT_QUATERNION_TOLERANCE`."""
        position = np.asarray(position, dtype=np.float64).reshape(-1)
        if position.shape != (3,) or not np.all(np.isfinite(position)):
            raise ValueError(f"position must be 3 finite numbers, got {position}")
        q = np.asarray(quaternion, dtype=np.float64).reshape(-1)
        if (
            q.shape != (4,)
            or not np.all(np.isfinite(q))
            or abs(np.linalg.norm(q) - 1.0) > UNIT_QUATERNION_TOLERANCE
        ):
            raise ValueError(f"quaternion must be 4 finite numbers of norm 1, got {q}")
        return cls(quaternion_to_matrix(q), position)

    @classmethod
    def identity(cls) -> RigidTransform:
        return cls(np.eye(3), np.zeros(3))

    @property
    def quaternion(self) -> np.ndarray:
        """The rotation as a unit quaternion (w, x, y, z), w >= 0."""
        return matrix_to_quaternion(self.rotation)

    def matrix(self) -> np.ndarray:
        """(4, 4) homogeneous transform."""
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
