"""The table plane of a tabletop depth frame: the surface the objects stand on.

A wide camera high above a table also sees what lies beyond the table's edges (the floor, a
lower bench), and that may fill more of the frame than the table. So the table is found in two
steps, on about 5000 pixels sampled on a grid:

1. The dominant plane: least squares on the pixels of the densest band of depths (the median
   depth may lie between a table and a floor), refitted on the pixels near the plane
   (`TablePlaneConfig.refits` times, the distance shrinking to `inlier_distance`). A plane
   more than 60 degrees from facing the camera, or through it, is no table.
2. A higher level: when a large share of the frame stands clearly above that plane, a plane
   fitted to those pixels replaces it if its largest connected piece is large (`min_share` of
   the frame) and wide (`min_span` of the frame's width or height: a table runs out of the
   view, an object's top face lies inside it), and it is nearly parallel (`max_angle_deg`).
   Repeated for up to `levels` levels.

Every consumer of "the table" (the object blob of the naive planners, targets, the request's
scene check, the networks' working depth) uses this one function.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from gqstn_ros.camera_model import CameraIntrinsics

# A table is seen at most this far from the optical axis (degrees between the plane's normal
# and the axis) and at least this far from the camera (m).
MAX_TABLE_TILT_DEG = 60.0
MIN_TABLE_DEPTH_M = 0.05
# Sample stride: about this many pixels of a frame are fitted (a plane needs few; the cost
# grows with them).
_SAMPLED_PIXELS = 5000


class NoTablePlaneError(ValueError):
    """Too few pixels of the frame lie near any plane."""


@dataclass(frozen=True)
class TablePlaneConfig:
    """How the table plane is found (metres unless said)."""

    inlier_distance: float = 0.004  # pixels this close to the plane refit it
    initial_band: float = 0.05  # first fit: pixels this close to the densest depth
    refits: int = 3
    # A level above the plane found: pixels at least this far above it ...
    level_rise: float = 0.02
    # ... holding at least this share of the frame's pixels on one plane ...
    min_share: float = 0.15
    # ... spanning at least this share of the frame's width or height ...
    min_span: float = 0.75
    # ... at most this many degrees from parallel to the plane below.
    max_angle_deg: float = 20.0
    levels: int = 3

    def __post_init__(self) -> None:
        for name in ("inlier_distance", "initial_band", "level_rise"):
            if not getattr(self, name) > 0:
                raise ValueError(f"TablePlaneConfig.{name} must be > 0, got {getattr(self, name)}")
        for name in ("min_share", "min_span"):
            if not 0 < getattr(self, name) <= 1:
                raise ValueError(
                    f"TablePlaneConfig.{name} must be in (0, 1], got {getattr(self, name)}"
                )
        if not 0 < self.max_angle_deg < 90:
            raise ValueError(
                f"TablePlaneConfig.max_angle_deg must be in (0, 90), got {self.max_angle_deg}"
            )
        if self.refits < 0 or self.levels < 0:
            raise ValueError("TablePlaneConfig: refits >= 0 and levels >= 0")


@dataclass(frozen=True)
class TablePlane:
    """A plane in the optical frame: unit normal (towards the camera) and offset (n . p =
    offset for points p on it)."""

    normal: np.ndarray
    offset: float

    def heights(self, points: np.ndarray) -> np.ndarray:
        """(..., 3) optical-frame points -> (...) their height above the plane (m)."""
        return np.asarray(points) @ self.normal - self.offset

    def depth_at(self, intrinsics: CameraIntrinsics, u: float, v: float) -> float:
        """The depth (optical z, m) of the plane on the ray through pixel (u, v); NaN when the
        ray does not meet it in front of the camera."""
        x, y = (u - intrinsics.cx) / intrinsics.fx, (v - intrinsics.cy) / intrinsics.fy
        ray = np.array([x, y, 1.0])
        facing = float(self.normal @ ray)
        depth = self.offset / facing if facing != 0 else math.nan
        return depth if depth > 0 else math.nan


def sample_step(height: int, width: int) -> int:
    """Stride of the pixels a plane is fitted to: about `_SAMPLED_PIXELS` of them."""
    return max(1, int(np.sqrt(height * width / _SAMPLED_PIXELS)))


def sampled_points(depth_m: np.ndarray, intrinsics: CameraIntrinsics) -> np.ndarray:
    """(h, w, 3) optical-frame points of every `sample_step`-th row and column of an (H, W)
    depth frame (m)."""
    depth = np.asarray(depth_m, dtype=np.float64)
    height, width = depth.shape
    if (width, height) != (intrinsics.width, intrinsics.height):
        raise ValueError(
            f"depth image is {width}x{height}, camera is {intrinsics.width}x{intrinsics.height}"
        )
    step = sample_step(height, width)
    v, u = np.mgrid[0:height:step, 0:width:step]
    return intrinsics.deproject(np.stack([u, v], axis=-1), depth[::step, ::step])


def fit_table_plane(grid: np.ndarray, config: TablePlaneConfig | None = None) -> TablePlane:
    """The table plane of an (h, w, 3) grid of optical-frame points sampled on the frame's
    pixel grid (`sampled_points`, or a whole point cloud); see the module docstring.
    NoTablePlaneError when too few points lie near a plane."""
    config = config or TablePlaneConfig()
    grid = np.asarray(grid, dtype=np.float64)
    if grid.ndim != 3 or grid.shape[2] != 3:
        raise ValueError(f"points must be an (h, w, 3) grid, got shape {grid.shape}")
    flat = grid.reshape(-1, 3)
    valid = np.all(np.isfinite(flat), axis=1) & (flat[:, 2] > 0)
    plane = _fit_plane(flat[valid], config)
    needed = config.min_share * np.count_nonzero(valid)
    for _ in range(config.levels):
        above = valid & (flat @ plane.normal - plane.offset > config.level_rise)
        if np.count_nonzero(above) < needed:
            break
        try:
            upper = _fit_plane(flat[above], config)
        except NoTablePlaneError:
            break
        on_upper = above & (np.abs(flat @ upper.normal - upper.offset) < config.inlier_distance)
        angle = math.degrees(math.acos(min(1.0, abs(float(upper.normal @ plane.normal)))))
        if angle > config.max_angle_deg:
            break
        # One connected surface (objects of one height scattered over the view are not a
        # table): the largest 8-connected piece of the level on the sample grid.
        count, _, stats, _ = cv2.connectedComponentsWithStats(
            on_upper.reshape(grid.shape[:2]).astype(np.uint8), connectivity=8
        )
        if count <= 1:
            break
        largest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
        span = max(
            stats[largest, cv2.CC_STAT_HEIGHT] / grid.shape[0],
            stats[largest, cv2.CC_STAT_WIDTH] / grid.shape[1],
        )
        if stats[largest, cv2.CC_STAT_AREA] < needed or span < config.min_span:
            break
        plane = upper
    return plane


def frame_table_plane(
    depth_m: np.ndarray, intrinsics: CameraIntrinsics, config: TablePlaneConfig | None = None
) -> TablePlane:
    """The table plane of an inpainted (H, W) depth frame (m); NoTablePlaneError when none."""
    return fit_table_plane(sampled_points(depth_m, intrinsics), config)


def _fit_plane(sample: np.ndarray, config: TablePlaneConfig) -> TablePlane:
    """The dominant plane of (N, 3) points: least squares on those in the densest band of
    depths, refitted on those near the plane."""
    if sample.shape[0] < 3:
        raise _no_plane(sample.shape[0], sample.shape[0])
    columns = np.ascontiguousarray(sample.T)  # (3, N): row-wise sums and products are fast
    inliers = np.abs(columns[2] - _densest_depth(columns[2], config.initial_band)) < (
        config.initial_band
    )
    normal, offset = np.array([0.0, 0.0, -1.0]), 0.0
    # Refit distances shrink from half the first band to `inlier_distance`, so that object tops
    # inside the first band, which pull the first fit off the table, fall out step by step.
    distances = np.geomspace(config.initial_band / 2, config.inlier_distance, config.refits + 1)
    for distance in distances:
        chosen = columns[:, inliers]
        if chosen.shape[1] < 3:
            raise _no_plane(chosen.shape[1], sample.shape[0])
        centre = chosen.sum(axis=1) / chosen.shape[1]
        centred = chosen - centre[:, None]
        # The direction of least spread: the eigenvector of the scatter matrix with the
        # smallest eigenvalue.
        _, vectors = np.linalg.eigh(centred @ centred.T)
        least = vectors[:, 0]
        normal = least if least[2] < 0 else -least  # towards the camera (-z in optical frame)
        offset = float(normal @ centre)
        inliers = np.abs(normal @ columns - offset) < distance
    if np.count_nonzero(inliers) < 3:
        raise _no_plane(np.count_nonzero(inliers), sample.shape[0])
    # A plane seen edge-on, or through the camera (the points of one image column), is no table.
    if -normal[2] < math.cos(math.radians(MAX_TABLE_TILT_DEG)) or -offset < MIN_TABLE_DEPTH_M:
        raise NoTablePlaneError(
            f"no table plane found in the frame (the best plane, normal {np.round(normal, 3)}, "
            f"{-offset:.3f} m from the camera, cannot be a table under it)"
        )
    return TablePlane(normal, offset)


def _densest_depth(depths: np.ndarray, half_band: float) -> float:
    """The centre of the depth band 2 * `half_band` wide that holds the most of `depths`: the
    table when it fills most of the view, the nearer or larger level when a floor shows
    beside it (the frame's median may then lie between the two)."""
    ordered = np.sort(depths)
    ends = np.searchsorted(ordered, ordered + 2 * half_band, side="right")
    start = int(np.argmax(ends - np.arange(len(ordered))))
    return float(ordered[(start + ends[start] - 1) // 2])  # the band's middle depth


def _no_plane(held: int, sampled: int) -> NoTablePlaneError:
    return NoTablePlaneError(
        f"no table plane found in the frame (a plane holds {held} of {sampled} sampled "
        "pixels with a depth)"
    )
