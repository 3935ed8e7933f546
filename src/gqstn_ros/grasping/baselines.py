"""Floors every learned planner must beat: a naive minor-axis grasp and a random grasp.

Both see the same inpainted depth frame as the networks. They find the object the way a user's
one-line heuristic would: fit the table plane to the frame (`gqstn_ros.table_plane`), call
everything more than `object_height_threshold` above it the object, and keep the largest
connected blob.

- `MinorAxisPlanner`: the grasp across the minor axis of the blob's silhouette, at its centroid
  (the principal axes of the blob's table-plane coordinates), opened to the blob's extent along
  that axis plus a margin, at half the object's height (at most the finger depth).
- `RandomPixelPlanner`: a random blob pixel, a random angle, the full stroke, the same height
  rule. Reproducible: the n-th call of a planner made with seed s draws from (s, n).

Both are `detection.GraspPlanner`s with q_value 0 (they have no quality estimate).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import cv2
import numpy as np

from gqstn_ros.camera_model import CameraIntrinsics
from gqstn_ros.detection import PlannedGrasp, PlanningError
from gqstn_ros.gripper import GripperConfig, default_gripper
from gqstn_ros.table_plane import (
    NoTablePlaneError,
    TablePlane,
    TablePlaneConfig,
    frame_table_plane,
)

if TYPE_CHECKING:  # target.py imports this module
    from gqstn_ros.grasping.target import GraspTarget

_THUMBNAIL = np.zeros((32, 32), dtype=np.float32)


@dataclass(frozen=True)
class ObjectBlobConfig:
    """How the object is told from the table (metres)."""

    object_height_threshold: float = 0.006  # above the fitted table plane = object
    table: TablePlaneConfig = field(default_factory=TablePlaneConfig)  # how the table is found
    min_blob_pixels: int = 20
    width_margin: float = 0.012  # opening beyond the blob's extent, both jaws together
    fingertip_clearance: float = 0.006  # the jaw line stays this far above the table

    def __post_init__(self) -> None:
        for name in ("object_height_threshold", "width_margin", "fingertip_clearance"):
            if not getattr(self, name) > 0:
                raise ValueError(f"ObjectBlobConfig.{name} must be > 0, got {getattr(self, name)}")
        if self.min_blob_pixels < 1:
            raise ValueError("ObjectBlobConfig.min_blob_pixels must be >= 1")


@dataclass(frozen=True)
class ObjectBlob:
    """The largest object blob of a frame: pixels (N, 2) (u, v), their points in the optical
    frame (N, 3) m, their height above the table (N,) m, and the table plane's unit normal
    (pointing to the camera) and offset (n . p = d for points p on the table)."""

    pixels: np.ndarray
    points: np.ndarray
    heights: np.ndarray
    normal: np.ndarray
    offset: float


def heights_above_table(
    depth_m: np.ndarray, intrinsics: CameraIntrinsics, config: ObjectBlobConfig | None = None
) -> np.ndarray:
    """(H, W) float32 height (m) of every pixel of an inpainted frame above its table plane
    (`table_plane.frame_table_plane`); PlanningError when no plane is found."""
    config = config or ObjectBlobConfig()
    return heights_above_plane(depth_m, intrinsics, table_of_frame(depth_m, intrinsics, config))


def heights_above_plane(
    depth_m: np.ndarray, intrinsics: CameraIntrinsics, plane: TablePlane
) -> np.ndarray:
    """(H, W) float32 height (m) of every pixel of a frame above `plane`: z * (n . ((u - cx) /
    fx, (v - cy) / fy, 1)) - offset, without the frame's point cloud."""
    depth = np.asarray(depth_m)
    height, width = depth.shape
    nx, ny, nz = plane.normal
    columns = (nx * (np.arange(width) - intrinsics.cx) / intrinsics.fx).astype(np.float32)
    rows = (ny * (np.arange(height) - intrinsics.cy) / intrinsics.fy + nz).astype(np.float32)
    ray = rows[:, None] + columns[None, :]  # n . (ray through each pixel at z = 1)
    return depth.astype(np.float32) * ray - np.float32(plane.offset)


def table_of_frame(
    depth_m: np.ndarray, intrinsics: CameraIntrinsics, config: ObjectBlobConfig | None = None
) -> TablePlane:
    """The table plane of an inpainted frame (`table_plane.frame_table_plane`); PlanningError
    when there is none."""
    config = config or ObjectBlobConfig()
    try:
        return frame_table_plane(depth_m, intrinsics, config.table)
    except NoTablePlaneError as error:
        raise PlanningError(str(error)) from error


def find_object_blob(
    depth_m: np.ndarray,
    intrinsics: CameraIntrinsics,
    config: ObjectBlobConfig,
    region: np.ndarray | None = None,
) -> ObjectBlob:
    """The largest blob standing out of the table plane (within `region`, an (H, W) bool mask
    of the frame, when given); PlanningError when there is none."""
    cloud = intrinsics.point_cloud(np.asarray(depth_m, dtype=np.float64))
    plane = table_of_frame(depth_m, intrinsics, config)
    normal, offset = plane.normal, plane.offset
    points = cloud.reshape(-1, 3)
    heights = points @ normal - offset
    above = (heights > config.object_height_threshold).reshape(depth_m.shape)
    if region is not None:
        if region.shape != above.shape:
            raise ValueError(f"region is {region.shape}, the depth image {above.shape}")
        above &= region
    above = above.astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(above, connectivity=8)
    if count <= 1:
        raise PlanningError("no object above the table")
    largest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    if stats[largest, cv2.CC_STAT_AREA] < config.min_blob_pixels:
        raise PlanningError("no object above the table (largest blob too small)")
    v, u = np.nonzero(labels == largest)
    flat = v * depth_m.shape[1] + u
    return ObjectBlob(
        pixels=np.stack([u, v], axis=1).astype(np.float64),
        points=points[flat],
        heights=heights[flat],
        normal=normal,
        offset=offset,
    )


def _grasp_at(
    blob: ObjectBlob,
    centre_xy_index: np.ndarray,
    centre_point: np.ndarray,
    axis_camera: np.ndarray,
    width_m: float,
    intrinsics: CameraIntrinsics,
    gripper: GripperConfig,
    config: ObjectBlobConfig,
    planner: str,
) -> PlannedGrasp:
    """A PlannedGrasp about `centre_point` (optical frame, on the table plane's normal through
    the object) with jaw axis `axis_camera`, at half the local object height."""
    local = blob.heights[centre_xy_index]
    top = float(np.max(local)) if local.size else float(np.max(blob.heights))
    height = max(config.fingertip_clearance, top - min(0.5 * top, gripper.finger_depth - 0.01))
    # The point `height` above the table on the normal through the centre's table foot.
    foot = centre_point - (centre_point @ blob.normal - blob.offset) * blob.normal
    centre = foot + height * blob.normal
    if centre[2] <= 0:
        raise PlanningError("the grasp centre would be behind the camera")
    width_m = float(np.clip(width_m, gripper.min_width, gripper.max_width))
    ends = np.stack([centre - 0.5 * width_m * axis_camera, centre + 0.5 * width_m * axis_camera])
    ends_px = intrinsics.project(ends)
    centre_px = intrinsics.project(centre)
    delta = ends_px[1] - ends_px[0]
    angle = float(np.arctan2(delta[1], delta[0]))
    angle = angle - np.pi if angle > np.pi / 2 else angle + np.pi if angle <= -np.pi / 2 else angle
    width_px = float(np.linalg.norm(delta))
    return PlannedGrasp(
        center_px=(float(centre_px[0]), float(centre_px[1])),
        angle=angle,
        width_px=width_px,
        depth=float(centre[2]),
        q_value=0.0,
        thumbnail=_THUMBNAIL,
        planner=planner,
    )


def _table_axes(normal: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two unit vectors spanning the table plane (optical frame)."""
    first = np.cross(normal, [0.0, 1.0, 0.0])
    first /= np.linalg.norm(first)
    return first, np.cross(normal, first)


class MinorAxisPlanner:
    """The grasp across the minor axis of the object's silhouette, at its centroid."""

    name = "minor_axis"

    def __init__(
        self, gripper: GripperConfig | None = None, config: ObjectBlobConfig | None = None
    ) -> None:
        self.gripper = gripper if gripper is not None else default_gripper()
        self.config = config or ObjectBlobConfig()

    def plan(
        self,
        depth_m: np.ndarray,
        intrinsics: CameraIntrinsics,
        top_k: int = 1,
        target: GraspTarget | None = None,
    ) -> list[PlannedGrasp]:
        """[the grasp] on the largest object, or on `target`'s pixels when given."""
        return [self.plan_across(depth_m, intrinsics, target)[0]]

    def plan_across(
        self, depth_m: np.ndarray, intrinsics: CameraIntrinsics, target: GraspTarget | None = None
    ) -> tuple[PlannedGrasp, float]:
        """(the grasp, the object's extent across its minor axis in m, before the margin is
        added and the opening capped at the stroke)."""
        region = None if target is None else target.region
        blob = find_object_blob(depth_m, intrinsics, self.config, region)
        e1, e2 = _table_axes(blob.normal)
        planar = np.stack([blob.points @ e1, blob.points @ e2], axis=1)
        centroid = planar.mean(axis=0)
        _, vectors = np.linalg.eigh(np.cov((planar - centroid).T))
        minor = vectors[:, 0]  # eigh sorts eigenvalues ascending
        extent = planar @ minor
        across = float(extent.max() - extent.min())
        axis = minor[0] * e1 + minor[1] * e2
        centre_point = blob.points[np.argmin(np.linalg.norm(planar - centroid, axis=1))]
        near = np.linalg.norm(planar - centroid, axis=1) < 0.01
        grasp = _grasp_at(
            blob, near, centre_point, axis, across + self.config.width_margin, intrinsics,
            self.gripper, self.config, self.name,
        )  # fmt: skip
        return grasp, across


class RandomPixelPlanner:
    """A random object pixel, a random angle, the full stroke (see the module docstring)."""

    name = "random"

    def __init__(
        self,
        gripper: GripperConfig | None = None,
        seed: int = 0,
        config: ObjectBlobConfig | None = None,
    ) -> None:
        self.gripper = gripper if gripper is not None else default_gripper()
        self.seed = int(seed)
        self.calls = 0
        self.config = config or ObjectBlobConfig()

    def plan(
        self, depth_m: np.ndarray, intrinsics: CameraIntrinsics, top_k: int = 1
    ) -> list[PlannedGrasp]:
        rng = np.random.default_rng([self.seed, self.calls])
        self.calls += 1
        blob = find_object_blob(depth_m, intrinsics, self.config)
        index = int(rng.integers(blob.points.shape[0]))
        e1, e2 = _table_axes(blob.normal)
        angle = rng.uniform(0.0, np.pi)
        axis = np.cos(angle) * e1 + np.sin(angle) * e2
        near = np.linalg.norm(blob.points - blob.points[index], axis=1) < 0.01
        grasp = _grasp_at(
            blob,
            near,
            blob.points[index],
            axis,
            self.gripper.max_width,
            intrinsics,
            self.gripper,
            self.config,
            self.name,
        )
        return [grasp]
