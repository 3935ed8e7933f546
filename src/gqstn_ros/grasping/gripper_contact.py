"""Whether a top-down gripper reaches a grasp's depth, read from the depth image.

`palm_blocked` tells a grasp deeper than the fingers reach. The palm spans the whole stroke
and both fingers along the jaw axis, the finger width across it (the palm of the simulated lift,
`lift_check`), and its underside is `finger_depth` above the fingertips. When it lands on the
top of the object before the grasp centre gets to its depth (by more than `REACH_TOLERANCE_M`,
the simulated lift's own tolerance), the grasp does not happen as planned: a robot that
descends to the commanded depth pushes the object with its palm. GQ-CNN's 32x32 crop does not
show the palm, so a network can rate such a grasp high (the shoulder of a bottle whose neck
and cap stand 60 mm above it). No rclpy here.
"""

from __future__ import annotations

import cv2
import numpy as np

from gqstn_ros.camera_model import CameraIntrinsics
from gqstn_ros.grasping.antipodal import AntipodalConfig
from gqstn_ros.gripper import GripperConfig

# How far below the grasp depth the fingertips reach (metres), as the depth sampler assumes.
FINGERTIP_BELOW_CENTER_M = AntipodalConfig().fingertip_below_center
# How far above the grasp depth the palm may stop and the grasp still count as reached (metres);
# the simulated lift's default (`lift_check.LiftConfig.reach_tolerance`) is this one.
REACH_TOLERANCE_M = 0.005
# The palm rests on the object where at least this many samples of its footprint stand under it.
MIN_BLOCKING_PIXELS = 3
_MAX_ALONG = 32  # footprint samples along the jaw axis (one a pixel where the palm is smaller)
_MAX_ACROSS = 5  # footprint samples across it


def palm_rest_depths(
    depth_m: np.ndarray,
    intrinsics: CameraIntrinsics,
    centers_px: np.ndarray,
    angles: np.ndarray,
    depths: np.ndarray,
    gripper: GripperConfig,
    fingertip_below_center: float = FINGERTIP_BELOW_CENTER_M,
) -> np.ndarray:
    """(N,) the gripper depth (m) at which the palm of each of N top-down grasps (centres (N, 2)
    px, jaw axis angles (N,) rad, gripper depths (N,) m: they size the footprint in pixels)
    comes to rest on what stands under it: the deepest the grasp centre gets. The palm's
    footprint is the stroke plus both fingers' thickness along the jaw axis by the finger width
    across it; its underside is `finger_depth - fingertip_below_center` above the grasp centre.
    It rests on the `MIN_BLOCKING_PIXELS`-th highest of up to `_MAX_ALONG` x `_MAX_ACROSS`
    samples of the footprint, each the highest point of the 3x3-median depth (a flying pixel,
    or a line one pixel wide, is not an object) within half the samples' spacing of it. inf
    where nothing tells: the pose is not finite or the footprint lies outside the frame."""
    depth = np.asarray(depth_m, dtype=np.float32)
    centers = np.asarray(centers_px, dtype=np.float64).reshape(-1, 2)
    angles = np.asarray(angles, dtype=np.float64).reshape(-1)
    grasp_depths = np.asarray(depths, dtype=np.float64).reshape(-1)
    rest = np.full(len(centers), np.inf)
    usable = (
        np.isfinite(centers).all(axis=1) & np.isfinite(angles) & np.isfinite(grasp_depths)
        & (grasp_depths > 0)
    )  # fmt: skip
    if not usable.any():
        return rest
    index = np.flatnonzero(usable)
    centers, angles, grasp_depths = centers[index], angles[index], grasp_depths[index]
    height, width = depth.shape
    focal = 0.5 * (intrinsics.fx + intrinsics.fy)
    px_per_m = focal / grasp_depths  # (M,)
    along_px = (gripper.max_width + 2.0 * gripper.finger_thickness) * px_per_m
    across_px = gripper.finger_width * px_per_m
    along_count = int(np.clip(np.ceil(along_px.max()) + 1, 3, _MAX_ALONG))
    across_count = int(np.clip(np.ceil(across_px.max()) + 1, 3, _MAX_ACROSS))
    along = np.linspace(-0.5, 0.5, along_count)[None, :, None] * along_px[:, None, None]
    across = np.linspace(-0.5, 0.5, across_count)[None, None, :] * across_px[:, None, None]
    cos, sin = np.cos(angles)[:, None, None], np.sin(angles)[:, None, None]
    u = np.floor(centers[:, 0, None, None] + along * cos - across * sin + 0.5).astype(np.int64)
    v = np.floor(centers[:, 1, None, None] + along * sin + across * cos + 0.5).astype(np.int64)
    u, v = u.reshape(len(index), -1), v.reshape(len(index), -1)
    inside = (u >= 0) & (u < width) & (v >= 0) & (v < height)
    if not inside.any():
        return rest
    # The part of the frame the footprints cover, with a margin: its 3x3 median, then its
    # minimum over a square as wide as the samples are apart, so that what stands between
    # two samples is seen by both.
    spacing = max(along_px.max() / (along_count - 1), across_px.max() / (across_count - 1))
    reach = int(np.ceil(spacing / 2))
    u_min, u_max = (
        max(int(u[inside].min()) - reach - 1, 0),
        min(int(u[inside].max()) + reach + 2, width),
    )
    v_min, v_max = (
        max(int(v[inside].min()) - reach - 1, 0),
        min(int(v[inside].max()) + reach + 2, height),
    )
    smoothed = cv2.medianBlur(np.ascontiguousarray(depth[v_min:v_max, u_min:u_max]), 3)
    if reach > 0:
        smoothed = cv2.erode(smoothed, np.ones((2 * reach + 1, 2 * reach + 1), np.uint8))
    rows = np.clip(v - v_min, 0, v_max - v_min - 1)
    columns = np.clip(u - u_min, 0, u_max - u_min - 1)
    surface = smoothed[rows, columns].astype(np.float64)
    surface = np.where(inside & (surface > 0), surface, np.inf)  # (M, samples)
    kth = np.partition(surface, MIN_BLOCKING_PIXELS - 1, axis=1)[:, MIN_BLOCKING_PIXELS - 1]
    rest[index] = kth + (gripper.finger_depth - fingertip_below_center)
    return rest


def palm_blocked(
    depth_m: np.ndarray,
    intrinsics: CameraIntrinsics,
    centers_px: np.ndarray,
    angles: np.ndarray,
    depths: np.ndarray,
    gripper: GripperConfig,
    fingertip_below_center: float = FINGERTIP_BELOW_CENTER_M,
    tolerance_m: float = REACH_TOLERANCE_M,
) -> np.ndarray:
    """(N,) bool: the palm of each of N top-down grasps (centres (N, 2) px, jaw axis angles (N,)
    rad, gripper depths (N,) m) comes to rest (`palm_rest_depths`) more than `tolerance_m` short
    of the grasp depth: the fingers do not reach it. False where nothing tells."""
    grasp_depths = np.asarray(depths, dtype=np.float64).reshape(-1)
    rest = palm_rest_depths(
        depth_m, intrinsics, centers_px, angles, grasp_depths, gripper, fingertip_below_center
    )
    with np.errstate(invalid="ignore"):
        return np.isfinite(grasp_depths) & (grasp_depths > rest + tolerance_m)
