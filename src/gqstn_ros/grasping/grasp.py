"""Planar (top-down) parallel-jaw grasps in the image and in the camera frame.

Conventions (see docs/interface.md and camera_model.py): the camera optical frame has z forward,
x right, y down; pixels are (u, v) = (column, row). A `Grasp2D` is the 5-D grasp of the paper,
{x, y, z, theta, w}: centre pixel, axis angle in the image plane measured from the image x (u)
axis towards +v, in (-pi/2, pi/2] (a jaw axis has no direction), opening in pixels, and the
gripper depth along the optical axis. A `Grasp3D` is the same grasp in the optical frame: centre
point at gripper depth, unit jaw (closing) axis, approach direction (the optical axis for
top-down grasps) and opening in metres.

The conversions between the two are written once, vectorized (`grasps_2d_to_3d`,
`grasps_3d_to_2d`); the dataclass methods call them.

The grasp frame of `gqstn_msgs/Grasp.pose`: origin at the grasp centre at gripper depth,
x = approach (into the scene), y = jaw closing axis, z = x cross y (`grasp_frame_rotation`);
`grasp_pose_in_camera` places a top-down image grasp in the camera optical frame.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from gqstn_ros.camera_model import CameraIntrinsics
from gqstn_ros.geometry import RigidTransform, wrap_angle

# Columns of a Dex-Net 2.0 / gqcnn "hand_poses" row (7 float32 values per datapoint), as
# written by dex-net's tools/generate_gqcnn_dataset.py and read by gqcnn (read_pose_data takes
# column 2, the gripper depth, as the network's pose input for parallel-jaw grippers). Pixel
# coordinates are those of the stored image, and (cx, cy) its principal point (Dex-Net's
# "shifted" intrinsics of the cropped image). This is the parallel-jaw (Dex-Net 2.0) layout;
# gqcnn's suction gripper modes read other columns (2 and 4) of their own datasets:
#   0: grasp centre row (v) in the image, pixels
#   1: grasp centre column (u), pixels
#   2: gripper depth along the optical axis, metres
#   3: grasp axis angle in the image plane, radians
#   4: centre row relative to the principal point (v - cy), pixels
#   5: centre column relative to the principal point (u - cx), pixels
#   6: grasp opening (width), pixels
HAND_POSE_ROW, HAND_POSE_COL, HAND_POSE_DEPTH, HAND_POSE_ANGLE = 0, 1, 2, 3
HAND_POSE_ROW_FROM_CENTER, HAND_POSE_COL_FROM_CENTER, HAND_POSE_WIDTH_PX = 4, 5, 6
HAND_POSE_SIZE = 7

TOP_DOWN_APPROACH = np.array([0.0, 0.0, 1.0])  # the optical axis, in the optical frame


def _validate_positive(name: str, values: np.ndarray) -> None:
    if not np.all(np.isfinite(values)) or np.any(values <= 0):
        raise ValueError(f"{name} must be positive and finite, got {values}")


def grasps_2d_to_3d(
    centers_px: np.ndarray,
    angles: np.ndarray,
    widths_px: np.ndarray,
    depths: np.ndarray,
    intrinsics: CameraIntrinsics,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lift N image grasps to the optical frame.

    centers_px: (N, 2) (u, v) pixels; angles: (N,) radians; widths_px: (N,) pixels;
    depths: (N,) metres. Returns centres (N, 3) metres, unit jaw axes (N, 3) (z = 0, pointing
    along +angle) and widths (N,) metres: the jaw end points are deprojected at the grasp depth.
    """
    centers_px = np.asarray(centers_px, dtype=np.float64).reshape(-1, 2)
    angles = np.asarray(angles, dtype=np.float64).reshape(-1)
    widths_px = np.asarray(widths_px, dtype=np.float64).reshape(-1)
    depths = np.asarray(depths, dtype=np.float64).reshape(-1)
    _validate_positive("grasp depth", depths)
    if np.any(widths_px < 0) or not np.all(np.isfinite(widths_px)):
        raise ValueError(f"grasp width_px must be finite and >= 0, got {widths_px}")
    half = 0.5 * widths_px[:, None] * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    centers = intrinsics.deproject(centers_px, depths)
    ends = intrinsics.deproject(
        np.concatenate([centers_px - half, centers_px + half]), np.concatenate([depths, depths])
    )
    first, second = np.split(ends, 2)
    widths = np.linalg.norm(second - first, axis=1)
    # The jaw axis direction: the image direction scaled by 1/f per axis (equal for fx = fy).
    axes = np.stack(
        [np.cos(angles) / intrinsics.fx, np.sin(angles) / intrinsics.fy, np.zeros_like(angles)], 1
    )
    axes /= np.linalg.norm(axes, axis=1, keepdims=True)
    return centers, axes, widths


def grasps_3d_to_2d(
    centers: np.ndarray, axes: np.ndarray, widths: np.ndarray, intrinsics: CameraIntrinsics
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Project N optical-frame grasps to the image (inverse of `grasps_2d_to_3d`).

    centers: (N, 3) metres (z > 0); axes: (N, 3) jaw axes (the component along the optical axis
    is dropped: the image sees the axis projected on the image plane); widths: (N,) metres.
    Returns centers_px (N, 2), angles (N,) in (-pi/2, pi/2], widths_px (N,), depths (N,).
    """
    centers = np.asarray(centers, dtype=np.float64).reshape(-1, 3)
    axes = np.asarray(axes, dtype=np.float64).reshape(-1, 3)
    widths = np.asarray(widths, dtype=np.float64).reshape(-1)
    planar = axes[:, :2]
    norms = np.linalg.norm(planar, axis=1)
    if np.any(norms < 1e-9):
        raise ValueError("a grasp axis along the optical axis has no image angle")
    planar = planar / norms[:, None]
    depths = centers[:, 2]
    _validate_positive("grasp depth (centre z)", depths)
    centers_px = intrinsics.project(centers)
    direction_px = planar * np.array([intrinsics.fx, intrinsics.fy])
    angles = wrap_angle(np.arctan2(direction_px[:, 1], direction_px[:, 0]))
    half = 0.5 * widths[:, None] * planar
    ends_3d = np.concatenate(
        [centers - np.pad(half, ((0, 0), (0, 1))), centers + np.pad(half, ((0, 0), (0, 1)))]
    )
    first, second = np.split(intrinsics.project(ends_3d), 2)
    widths_px = np.linalg.norm(second - first, axis=1)
    return centers_px, np.atleast_1d(angles), widths_px, depths


@dataclass(frozen=True)
class Grasp2D:
    """A top-down grasp in the depth image.

    center_px: (u, v) pixels; angle: jaw axis angle from the image u axis towards +v, radians,
    wrapped to (-pi/2, pi/2]; width_px: jaw opening in pixels; depth: gripper depth along the
    optical axis, metres.
    """

    center_px: tuple[float, float]
    angle: float
    width_px: float
    depth: float

    def __post_init__(self) -> None:
        center = tuple(float(c) for c in self.center_px)
        if len(center) != 2 or not all(np.isfinite(center)):
            raise ValueError(f"grasp center_px must be two finite numbers, got {self.center_px}")
        if not np.isfinite(self.angle):
            raise ValueError(f"grasp angle must be finite, got {self.angle}")
        if not (np.isfinite(self.width_px) and self.width_px >= 0):
            raise ValueError(f"grasp width_px must be finite and >= 0, got {self.width_px}")
        if not (np.isfinite(self.depth) and self.depth > 0):
            raise ValueError(f"grasp depth must be positive, got {self.depth}")
        object.__setattr__(self, "center_px", center)
        object.__setattr__(self, "angle", wrap_angle(float(self.angle)))
        object.__setattr__(self, "width_px", float(self.width_px))
        object.__setattr__(self, "depth", float(self.depth))

    @property
    def axis_px(self) -> np.ndarray:
        """(2,) unit jaw axis in the image (du, dv)."""
        return np.array([np.cos(self.angle), np.sin(self.angle)])

    @property
    def endpoints_px(self) -> np.ndarray:
        """(2, 2) jaw positions (u, v) in pixels: centre -/+ half the opening along the axis."""
        half = 0.5 * self.width_px * self.axis_px
        center = np.asarray(self.center_px)
        return np.stack([center - half, center + half])

    def to_3d(self, intrinsics: CameraIntrinsics) -> Grasp3D:
        centers, axes, widths = grasps_2d_to_3d(
            np.asarray([self.center_px]), [self.angle], [self.width_px], [self.depth], intrinsics
        )
        return Grasp3D(center=centers[0], axis=axes[0], width=float(widths[0]))

    def to_hand_pose(self, intrinsics: CameraIntrinsics) -> np.ndarray:
        """(7,) Dex-Net 2.0 hand_poses row (column layout in HAND_POSE_* above)."""
        u, v = self.center_px
        row = np.zeros(HAND_POSE_SIZE)
        row[HAND_POSE_ROW], row[HAND_POSE_COL] = v, u
        row[HAND_POSE_DEPTH], row[HAND_POSE_ANGLE] = self.depth, self.angle
        row[HAND_POSE_ROW_FROM_CENTER] = v - intrinsics.cy
        row[HAND_POSE_COL_FROM_CENTER] = u - intrinsics.cx
        row[HAND_POSE_WIDTH_PX] = self.width_px
        return row

    @classmethod
    def from_hand_pose(cls, hand_pose: np.ndarray) -> Grasp2D:
        """The grasp of a (7,) Dex-Net 2.0 hand_poses row."""
        hand_pose = np.asarray(hand_pose, dtype=np.float64)
        if hand_pose.shape != (HAND_POSE_SIZE,):
            raise ValueError(f"a hand_poses row has {HAND_POSE_SIZE} values, got {hand_pose.shape}")
        return cls(
            center_px=(hand_pose[HAND_POSE_COL], hand_pose[HAND_POSE_ROW]),
            angle=hand_pose[HAND_POSE_ANGLE],
            width_px=hand_pose[HAND_POSE_WIDTH_PX],
            depth=hand_pose[HAND_POSE_DEPTH],
        )


@dataclass(frozen=True)
class Grasp3D:
    """A parallel-jaw grasp in the camera optical frame.

    center: (3,) metres, midway between the jaws at gripper depth; axis: (3,) unit jaw closing
    axis; width: jaw opening, metres; approach: (3,) unit approach direction (default the
    optical axis: top-down).
    """

    center: np.ndarray
    axis: np.ndarray
    width: float
    approach: np.ndarray = field(default_factory=TOP_DOWN_APPROACH.copy)

    def __post_init__(self) -> None:
        center = np.asarray(self.center, dtype=np.float64).reshape(-1)
        axis = np.asarray(self.axis, dtype=np.float64).reshape(-1)
        approach = np.asarray(self.approach, dtype=np.float64).reshape(-1)
        if center.shape != (3,) or not np.all(np.isfinite(center)):
            raise ValueError(f"grasp center must be 3 finite numbers, got {self.center}")
        for name, vector in (("axis", axis), ("approach", approach)):
            norm = np.linalg.norm(vector)
            if vector.shape != (3,) or not np.isfinite(norm) or norm < 1e-9:
                raise ValueError(f"grasp {name} must be a non-zero 3-vector, got {vector}")
        axis, approach = axis / np.linalg.norm(axis), approach / np.linalg.norm(approach)
        if abs(float(axis @ approach)) > 1e-6:
            raise ValueError("grasp axis must be perpendicular to the approach direction")
        if not (np.isfinite(self.width) and self.width >= 0):
            raise ValueError(f"grasp width must be finite and >= 0, got {self.width}")
        object.__setattr__(self, "center", center)
        object.__setattr__(self, "axis", axis)
        object.__setattr__(self, "approach", approach)
        object.__setattr__(self, "width", float(self.width))

    @property
    def depth(self) -> float:
        """Gripper depth along the optical axis, metres."""
        return float(self.center[2])

    @property
    def pose(self) -> np.ndarray:
        """4x4 grasp frame in the camera frame (Grasp.msg, docs/interface.md): origin at the
        centre, x = approach, y = jaw closing axis, z = x cross y."""
        transform = np.eye(4)
        transform[:3, 0] = self.approach
        transform[:3, 1] = self.axis
        transform[:3, 2] = np.cross(self.approach, self.axis)
        transform[:3, 3] = self.center
        return transform

    def to_2d(self, intrinsics: CameraIntrinsics) -> Grasp2D:
        centers_px, angles, widths_px, depths = grasps_3d_to_2d(
            self.center[None], self.axis[None], [self.width], intrinsics
        )
        return Grasp2D(
            tuple(centers_px[0]), float(angles[0]), float(widths_px[0]), float(depths[0])
        )


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
