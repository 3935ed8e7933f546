"""How a top-down gripper meets the object, read from the depth image: where its palm stops on
the way down, and whether each pad first meets a face or a slope when it closes.

`palm_blocked` tells a grasp deeper than the gripper reaches: the palm, which spans the whole
stroke across the finger width and sits `finger_depth` above the fingertips, lands on the top
of the object before the grasp centre gets to its depth (by more than `REACH_TOLERANCE_M`, the
simulated lift's own tolerance). Such a grasp does not happen as planned; on a robot that
descends blind, the palm hits the object. GQ-CNN's crop does not show the palm, so a network
can rate it high.

A top-down parallel grasp squeezes horizontally. A pad whose fingertip first meets the object
on a surface that rises gently (the shoulder of a bottle, the upper half of a ball) presses on
a normal tilted up by more than the friction angle: the squeeze pushes the object down
instead of holding it, and the lift slides it out of the jaws. The force closure of two such
contacts needs the surface to rise at least 1 / mu per unit of closing travel (a slope of at
least 90 degrees - atan(mu)).

`pad_contact_rises` walks each pad of a grasp from its open position towards the grasp centre
on the frame, taking at each step the highest surface under the pad's width (each pixel the
median depth of its 3x3 neighbourhood, so that sensor noise is not a face). The pad meets the
object at the first step where that surface stands nearer to the camera than the fingertip.
The rise there is the height gained over the last `run_m` of travel, divided by it: a jump
(a vertical face, seen from above as a depth edge) gives a large rise, a slope its tangent.
`meets_a_slope` says which grasps have a pad meeting a surface that rises less than
1 / `gripper.pad_friction`. No rclpy here.
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
# The closing travel over which the rise at the contact is measured (metres): a few pixels of
# every shipped camera at its working depth, so that one pixel's noise does not make a slope.
CONTACT_RUN_M = 0.003
_NEIGHBOURHOOD = np.array([(dv, du) for dv in (-1, 0, 1) for du in (-1, 0, 1)])
_MAX_STEPS = 400  # samples along a pad's travel (about one a pixel)
_MAX_ACROSS = 64  # samples across a pad's width


def pad_contact_rises(
    depth_m: np.ndarray,
    intrinsics: CameraIntrinsics,
    centers_px: np.ndarray,
    angles: np.ndarray,
    widths_px: np.ndarray,
    depths: np.ndarray,
    gripper: GripperConfig,
    run_m: float = CONTACT_RUN_M,
    fingertip_below_center: float = FINGERTIP_BELOW_CENTER_M,
) -> np.ndarray:
    """(N, 2) rise over run of the surface where each pad of N top-down grasps (centres (N, 2)
    px, jaw axis angles (N,) rad, openings (N,) px, gripper depths (N,) m) first meets the
    object, closing from its open position to the centre; column 0 is the pad at
    centre + opening / 2 along the jaw axis. NaN where nothing tells: the pad meets nothing
    before the centre, already stands on the object where it opens, or the grasp's pose is not
    finite. A vertical face gives a large rise (the depth jumps within the run)."""
    depth = np.asarray(depth_m, dtype=np.float64)
    centers = np.asarray(centers_px, dtype=np.float64).reshape(-1, 2)
    angles = np.asarray(angles, dtype=np.float64).reshape(-1)
    widths = np.asarray(widths_px, dtype=np.float64).reshape(-1)
    grasp_depths = np.asarray(depths, dtype=np.float64).reshape(-1)
    count = len(centers)
    rises = np.full((count, 2), np.nan)
    usable = (
        np.isfinite(centers).all(axis=1) & np.isfinite(angles) & np.isfinite(widths)
        & np.isfinite(grasp_depths) & (grasp_depths > 0) & (widths > 0)
    )  # fmt: skip
    if not usable.any():
        return rises
    height, width = depth.shape
    focal = 0.5 * (intrinsics.fx + intrinsics.fy)
    for index in np.flatnonzero(usable):
        center, angle = centers[index], angles[index]
        half = 0.5 * widths[index]
        metres_per_px = grasp_depths[index] / focal
        tip = grasp_depths[index] + fingertip_below_center
        steps = int(np.clip(np.ceil(half), 2, _MAX_STEPS))
        pad_px = gripper.finger_width / metres_per_px
        across_count = int(np.clip(np.ceil(pad_px), 3, _MAX_ACROSS))
        travel = np.linspace(half, 0.0, steps)  # px from the centre, outside in
        across = np.linspace(-0.5, 0.5, across_count) * pad_px
        axis = np.array([np.cos(angle), np.sin(angle)])
        normal = np.array([-np.sin(angle), np.cos(angle)])
        step_m = (travel[0] - travel[1]) * metres_per_px
        lag = max(1, int(np.ceil(run_m / step_m - 1e-9)))
        for side, sign in enumerate((1.0, -1.0)):
            points = (
                center + sign * travel[:, None, None] * axis + across[None, :, None] * normal
            )  # (steps, across, 2)
            u = np.floor(points[..., 0] + 0.5).astype(np.int64)
            v = np.floor(points[..., 1] + 0.5).astype(np.int64)
            inside = (u >= 0) & (u < width) & (v >= 0) & (v < height)
            rows = np.clip(v[..., None] + _NEIGHBOURHOOD[:, 0], 0, height - 1)
            columns = np.clip(u[..., None] + _NEIGHBOURHOOD[:, 1], 0, width - 1)
            surface = np.median(depth[rows, columns], axis=-1)
            surface = np.where(inside & (surface > 0), surface, np.inf)
            nearest = surface.min(axis=1)  # (steps,) the highest surface under the pad
            met = np.flatnonzero(nearest < tip)
            if met.size == 0 or met[0] == 0:
                continue  # closes on nothing, or opens onto the object
            contact = met[0]
            before = max(0, contact - lag)
            run = (contact - before) * step_m
            rises[index, side] = (nearest[before] - nearest[contact]) / run
    return rises


def meets_a_slope(
    depth_m: np.ndarray,
    intrinsics: CameraIntrinsics,
    centers_px: np.ndarray,
    angles: np.ndarray,
    widths_px: np.ndarray,
    depths: np.ndarray,
    gripper: GripperConfig,
) -> np.ndarray:
    """(N,) bool: a pad of each grasp first meets the object where its surface rises less than
    1 / `gripper.pad_friction` (`pad_contact_rises`): the squeeze lies outside the friction cone
    there and pushes the object out of the jaws. False where nothing tells."""
    rises = pad_contact_rises(depth_m, intrinsics, centers_px, angles, widths_px, depths, gripper)
    limit = 1.0 / gripper.pad_friction
    return np.any(np.nan_to_num(rises, nan=np.inf) < limit, axis=1)


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
    along_count = int(np.clip(np.ceil(along_px.max()), 3, _MAX_STEPS))
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
