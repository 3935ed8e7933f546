"""Whether a top-down gripper reaches a grasp's depth, read from the depth image.

`palm_blocked` tells a grasp deeper than the fingers reach. The palm spans the whole stroke
and both fingers along the jaw axis, the finger width across it (the palm of the simulated lift,
`lift_check`), and its underside is `finger_depth` above the fingertips. When it lands on what
stands under it (the object's top, or a taller object beside it) before the grasp centre gets to
its depth, by more than `REACH_TOLERANCE_M` (the simulated lift's own tolerance), the grasp does
not happen as planned: a robot that descends to the commanded depth pushes it with its palm.
GQ-CNN's 32x32 crop does not show the palm, so a network can rate such a grasp high (the
shoulder of a bottle whose neck and cap stand 60 mm above it).

As everywhere in this package (`grasp.grasps_2d_to_3d`), the gripper approaches along the
camera's optical axis: the palm's footprint is a rectangle in metres across that axis, about
the grasp centre, and a surface stands under it when its own 3-D point lies inside that
rectangle, wherever it appears in the image (a tall object off the image centre appears
further out than its foot). No rclpy here.
"""

from __future__ import annotations

import cv2
import numpy as np

from gqstn_ros.camera_model import CameraIntrinsics
from gqstn_ros.grasping.target import FINGERTIP_BELOW_CENTER_M
from gqstn_ros.gripper import GripperConfig

# How far above the grasp depth the palm may stop and the grasp still count as reached (metres);
# the simulated lift's default (`lift_check.LiftConfig.reach_tolerance`) is this one.
REACH_TOLERANCE_M = 0.005
# The palm rests on what stands under at least this many samples of its footprint.
MIN_BLOCKING_SAMPLES = 3
PALM_SAMPLES_ALONG = 32  # footprint samples along the jaw axis
PALM_SAMPLES_ACROSS = 5  # footprint samples across it
# Passes of the lookup of the surface under each footprint sample (module docstring of
# `palm_rest_depths`): each pass reads the depth where the sample's line of sight meets the
# depth the pass before found.
_LOOKUP_PASSES = 3


def nearest_depth(depth_m: np.ndarray) -> float:
    """The nearest positive, finite depth of the frame (m); inf when it has none."""
    depth = np.asarray(depth_m)
    valid = depth[np.isfinite(depth) & (depth > 0)]
    return float(valid.min()) if valid.size else float("inf")


def palm_rest_depths(
    depth_m: np.ndarray,
    intrinsics: CameraIntrinsics,
    centers_px: np.ndarray,
    angles: np.ndarray,
    depths: np.ndarray,
    gripper: GripperConfig,
) -> np.ndarray:
    """(N,) the gripper depth (m) at which the palm of each of N top-down grasps (centres (N, 2)
    px, jaw axis angles (N,) rad, gripper depths (N,) m) comes to rest on what stands under it:
    the deepest the grasp centre gets, descending along the optical axis. `depth_m` is an
    inpainted frame (no invalid pixels).

    The footprint, `PALM_SAMPLES_ALONG` x `PALM_SAMPLES_ACROSS` points of the palm's rectangle
    about the grasp centre (metres, across the optical axis), is looked up in the frame: each
    point's surface depth is found by following its line of sight from the grasp depth, reading
    the depth where the line meets the depth read before (`_LOOKUP_PASSES` passes; at an edge,
    where the last two passes still differ, the farther of the two), on the
    3x3-median depth (a flying pixel, or a line one pixel wide, is not an object) taken at its
    minimum over a square as wide as the samples are apart (what stands between samples counts).
    The palm rests on the `MIN_BLOCKING_SAMPLES`-th highest surface; its underside is
    `finger_depth - FINGERTIP_BELOW_CENTER_M` above the grasp centre. inf where nothing tells:
    the pose is not finite, the footprint lies outside the frame, or the frame has no valid
    depth. A grasp's figure does not depend on the other grasps of the call."""
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
    fx, fy, cx, cy = intrinsics.fx, intrinsics.fy, intrinsics.cx, intrinsics.cy
    # The grasp centre and the palm's axes in metres across the optical axis.
    centre_x = (centers[:, 0] - cx) * grasp_depths / fx
    centre_y = (centers[:, 1] - cy) * grasp_depths / fy
    axis = np.stack([np.cos(angles) / fx, np.sin(angles) / fy], axis=1)
    axis /= np.linalg.norm(axis, axis=1, keepdims=True)
    normal = np.stack([-axis[:, 1], axis[:, 0]], axis=1)
    length = gripper.max_width + 2.0 * gripper.finger_thickness
    along = np.linspace(-0.5, 0.5, PALM_SAMPLES_ALONG) * length
    across = np.linspace(-0.5, 0.5, PALM_SAMPLES_ACROSS) * gripper.finger_width
    offsets = along[None, :, None, None] * axis[:, None, None, :] + (
        across[None, None, :, None] * normal[:, None, None, :]
    )  # (M, along, across, 2) metres
    sample_x = (centre_x[:, None, None] + offsets[..., 0]).reshape(len(index), -1)
    sample_y = (centre_y[:, None, None] + offsets[..., 1]).reshape(len(index), -1)
    # Pixels between samples at the grasp depth: the square each sample reads its minimum over.
    spacing_m = max(
        length / (PALM_SAMPLES_ALONG - 1), gripper.finger_width / (PALM_SAMPLES_ACROSS - 1)
    )
    reaches = np.ceil(0.5 * spacing_m * max(fx, fy) / grasp_depths).astype(np.int64)
    # The part of the frame any line of sight can meet, from the grasp depth up to the nearest
    # depth of the frame, with the widest square's margin: filtered once.
    nearest = nearest_depth(depth)
    if not np.isfinite(nearest):
        return rest
    bounds = []
    for z in (grasp_depths[:, None], np.minimum(nearest, grasp_depths)[:, None]):
        bounds += [cx + fx * sample_x / z, cy + fy * sample_y / z]
    margin = int(reaches.max()) + 2
    u_min = int(np.clip(np.floor(min(bounds[0].min(), bounds[2].min())) - margin, 0, width))
    u_max = int(np.clip(np.ceil(max(bounds[0].max(), bounds[2].max())) + margin, 0, width))
    v_min = int(np.clip(np.floor(min(bounds[1].min(), bounds[3].min())) - margin, 0, height))
    v_max = int(np.clip(np.ceil(max(bounds[1].max(), bounds[3].max())) + margin, 0, height))
    if u_max - u_min < 1 or v_max - v_min < 1:
        return rest
    smoothed = cv2.medianBlur(np.ascontiguousarray(depth[v_min:v_max, u_min:u_max]), 3)
    crop_h, crop_w = smoothed.shape
    underside_above_center = gripper.finger_depth - FINGERTIP_BELOW_CENTER_M
    for reach in np.unique(reaches).tolist():
        rows = np.flatnonzero(reaches == reach)
        kernel = np.ones((2 * reach + 1, 2 * reach + 1), np.uint8)
        surface_map = cv2.erode(smoothed, kernel) if reach > 0 else smoothed
        xs, ys = sample_x[rows], sample_y[rows]
        z = np.repeat(grasp_depths[rows, None], xs.shape[1], axis=1)
        inside = np.ones(xs.shape, dtype=bool)
        before = z
        for _ in range(_LOOKUP_PASSES):
            u = np.floor(cx + fx * xs / z + 0.5).astype(np.int64) - u_min
            v = np.floor(cy + fy * ys / z + 0.5).astype(np.int64) - v_min
            inside = (u >= 0) & (u < crop_w) & (v >= 0) & (v < crop_h)
            read = surface_map[np.clip(v, 0, crop_h - 1), np.clip(u, 0, crop_w - 1)]
            # Deeper than the grasp cannot stop the palm: the lookup stays within its bounds.
            read = np.minimum(read.astype(np.float64), grasp_depths[rows, None])
            before, z = z, np.where(inside & (read > 0), read, z)
        # A line of sight that still swaps between two surfaces grazes an edge: the farther.
        found = np.where(inside, np.maximum(z, before), np.inf)
        kth = np.partition(found, MIN_BLOCKING_SAMPLES - 1, axis=1)[:, MIN_BLOCKING_SAMPLES - 1]
        rest[index[rows]] = kth + underside_above_center
    return rest


def palm_blocked(
    depth_m: np.ndarray,
    intrinsics: CameraIntrinsics,
    centers_px: np.ndarray,
    angles: np.ndarray,
    depths: np.ndarray,
    gripper: GripperConfig,
    tolerance_m: float = REACH_TOLERANCE_M,
) -> np.ndarray:
    """(N,) bool: the palm of each of N top-down grasps (centres (N, 2) px, jaw axis angles (N,)
    rad, gripper depths (N,) m) comes to rest (`palm_rest_depths`) more than `tolerance_m` short
    of the grasp depth: the fingers do not reach it. False where nothing tells. Only grasps
    deeper than the frame's nearest point allows are looked up."""
    centers = np.asarray(centers_px, dtype=np.float64).reshape(-1, 2)
    angles = np.asarray(angles, dtype=np.float64).reshape(-1)
    grasp_depths = np.asarray(depths, dtype=np.float64).reshape(-1)
    underside_above_center = gripper.finger_depth - FINGERTIP_BELOW_CENTER_M
    nearest = nearest_depth(depth_m)
    with np.errstate(invalid="ignore"):
        deep = np.isfinite(grasp_depths) & (
            grasp_depths > nearest + underside_above_center + tolerance_m
        )
    blocked = np.zeros(len(grasp_depths), dtype=bool)
    if deep.any():
        rest = palm_rest_depths(
            depth_m, intrinsics, centers[deep], angles[deep], grasp_depths[deep], gripper
        )
        blocked[deep] = grasp_depths[deep] > rest + tolerance_m
    return blocked


def raised_to_rest(
    center_px: tuple[float, float],
    width_px: float,
    depth: float,
    rest_depth: float,
    intrinsics: CameraIntrinsics,
) -> tuple[tuple[float, float], float]:
    """(centre (u, v) px, opening px) of a top-down grasp (centre px, opening px at `depth` m)
    moved up the optical axis to `rest_depth`: the same point across the axis and the same
    opening in metres, seen nearer."""
    scale = depth / rest_depth
    u = intrinsics.cx + (center_px[0] - intrinsics.cx) * scale
    v = intrinsics.cy + (center_px[1] - intrinsics.cy) * scale
    return (float(u), float(v)), float(width_px * scale)
