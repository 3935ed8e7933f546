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
# A palm stands on the object where at least this many pixels of its footprint stand above it.
MIN_BLOCKING_PIXELS = 3
_MAX_ALONG = 400  # footprint samples along the jaw axis (about one a pixel)
_MAX_ACROSS = 64  # footprint samples across it


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
    rad, gripper depths (N,) m) lands on something before the grasp centre reaches its depth.
    The palm's footprint is the stroke plus both fingers' thickness along the jaw axis by the
    finger width across it; its underside is `finger_depth - fingertip_below_center` above the
    grasp centre. Blocked when at least `MIN_BLOCKING_PIXELS` of the footprint (each the median
    depth of its 3x3 neighbourhood, so that a flying pixel is not an object) stand more than
    `tolerance_m` above that underside. False for a grasp whose pose is not finite (nothing
    tells)."""
    depth = np.asarray(depth_m, dtype=np.float32)
    centers = np.asarray(centers_px, dtype=np.float64).reshape(-1, 2)
    angles = np.asarray(angles, dtype=np.float64).reshape(-1)
    grasp_depths = np.asarray(depths, dtype=np.float64).reshape(-1)
    blocked = np.zeros(len(centers), dtype=bool)
    usable = (
        np.isfinite(centers).all(axis=1) & np.isfinite(angles) & np.isfinite(grasp_depths)
        & (grasp_depths > 0)
    )  # fmt: skip
    if not usable.any():
        return blocked
    index = np.flatnonzero(usable)
    centers, angles, grasp_depths = centers[index], angles[index], grasp_depths[index]
    height, width = depth.shape
    focal = 0.5 * (intrinsics.fx + intrinsics.fy)
    px_per_m = focal / grasp_depths  # (M,)
    along_px = (gripper.max_width + 2.0 * gripper.finger_thickness) * px_per_m
    across_px = gripper.finger_width * px_per_m
    along_count = int(np.clip(np.ceil(along_px.max()), 3, _MAX_ALONG))
    across_count = int(np.clip(np.ceil(across_px.max()), 3, _MAX_ACROSS))
    along = np.linspace(-0.5, 0.5, along_count)[None, :, None] * along_px[:, None, None]
    across = np.linspace(-0.5, 0.5, across_count)[None, None, :] * across_px[:, None, None]
    cos, sin = np.cos(angles)[:, None, None], np.sin(angles)[:, None, None]
    u = np.floor(centers[:, 0, None, None] + along * cos - across * sin + 0.5).astype(np.int64)
    v = np.floor(centers[:, 1, None, None] + along * sin + across * cos + 0.5).astype(np.int64)
    u, v = u.reshape(len(index), -1), v.reshape(len(index), -1)
    inside = (u >= 0) & (u < width) & (v >= 0) & (v < height)
    if not inside.any():
        return blocked
    # The 3x3 median of the part of the frame the footprints cover (one pixel of margin).
    u_min, u_max = max(int(u[inside].min()) - 1, 0), min(int(u[inside].max()) + 2, width)
    v_min, v_max = max(int(v[inside].min()) - 1, 0), min(int(v[inside].max()) + 2, height)
    smoothed = cv2.medianBlur(np.ascontiguousarray(depth[v_min:v_max, u_min:u_max]), 3)
    rows = np.clip(v - v_min, 0, v_max - v_min - 1)
    columns = np.clip(u - u_min, 0, u_max - u_min - 1)
    surface = smoothed[rows, columns].astype(np.float64)
    limit = grasp_depths - (gripper.finger_depth - fingertip_below_center) - tolerance_m
    above = inside & (surface > 0) & (surface < limit[:, None])
    flat = rows * (u_max - u_min) + columns
    counts = np.array([np.unique(f[a]).size for f, a in zip(flat, above, strict=True)])
    blocked[index] = counts >= MIN_BLOCKING_PIXELS
    return blocked
