"""Target selection: the object a grasp must be on, and fingers that clear the other objects.

A `GraspTarget` is the caller's choice of object in the frame a planner sees (DetectGrasp's
`target_mask` and `target_roi`): a boolean region, the mask's nonzero pixels within the ROI
(either alone: the mask, or the whole ROI). A planner given a target

- looks at the target: the networks' view window and Prop+GQ-CNN's view and search window are
  centred on `GraspTarget.center_px`;
- returns only grasps whose centre pixel lies in the region (`GraspTarget.contains`);
- returns only grasps whose fingers clear the other objects (`finger_clearance`): each finger,
  open to the grasp's width, descends top-down to the grasp depth, its tip reaching
  `fingertip_below_center` further; the pad's footprint (thickness along the jaw axis, width
  across it, as `grasping.antipodal` measures it) must not cover a pixel of another object
  (`GraspTarget.obstacles`: above the table, off the target) nearer to the camera than the
  fingertip. Pixels of the target itself are the planner's own business (its GQ-CNN judges
  them), as without a target.

Without a target, in a pile, the object a grasp is on is the one under its centre:
`clear_of_other_objects` finds the objects of the frame (`object_labels`: connected regions above
the table of at least MIN_OBJECT_AREA_M2) and applies the same rule against every object but
that one. It fits the table plane only when a finger meets something nearer than its tip, so
that a grasp on a lone object costs no more than the footprint lookup.

`target_visibility` tells a target that can be grasped from one hidden under another object or
outside the view. `closes_on_object` tells a grasp with something between its jaws from one
that closes on air. No rclpy here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import cv2
import numpy as np

from gqstn_ros.camera_model import CameraIntrinsics
from gqstn_ros.grasping.antipodal import AntipodalConfig
from gqstn_ros.grasping.baselines import (
    ObjectBlobConfig,
    heights_above_plane,
    heights_above_table,
    table_of_frame,
)
from gqstn_ros.gripper import GripperConfig
from gqstn_ros.table_plane import TablePlane

# A target is visible when at least this many of its pixels hold a valid depth above the table.
MIN_VISIBLE_TARGET_PIXELS = 5
# Height above the fitted table plane from which a pixel belongs to an object (metres);
# the nodes' scene check (min_object_height_m) uses the same default.
OBJECT_HEIGHT_M = ObjectBlobConfig().object_height_threshold
# How far below the grasp depth the fingertips reach (metres), as the depth sampler assumes.
FINGERTIP_BELOW_CENTER_M = AntipodalConfig().fingertip_below_center
# Smallest region above the table that counts as an object (m2 on the table; the nodes' scene
# check, min_object_area_m2, has the same default): smaller ones are sensor artefacts.
MIN_OBJECT_AREA_M2 = 2.0e-4
# Samples of a finger pad's footprint per pixel of its side (at least 3 along each side).
_FOOTPRINT_SAMPLES_PER_PX = 1.0
_MAX_FOOTPRINT_SAMPLES = 24  # per side of a pad: bounds the cost of a very close camera
# `closes_on_object`: an object between the jaws shows on at least this many frame pixels, each
# judged by the median depth of its 3x3 neighbourhood (sensor noise is not an object); the
# region is sampled about once a pixel, up to this many samples a side.
MIN_CLOSING_REGION_PIXELS = 3
_CLOSING_NEIGHBOURHOOD = np.array([(dv, du) for dv in (-1, 0, 1) for du in (-1, 0, 1)])
_MAX_CLOSING_SAMPLES = 400


@dataclass(frozen=True)
class GraspTarget:
    """The object to grasp, as pixels of the planner's frame.

    region: (H, W) bool, True on the target (not empty); roi: (u_min, v_min, u_max, v_max)
    (max exclusive) of the caller's rectangle when one was given, else None; heights_m: (H, W)
    heights above the table plane of the frame the target is in (`heights_above_table`), when
    already computed (`with_heights`): `obstacles` and `target_visibility` then take them
    instead of fitting the plane again, whatever frame they are given.
    """

    region: np.ndarray
    roi: tuple[int, int, int, int] | None = None
    heights_m: np.ndarray | None = None

    def __post_init__(self) -> None:
        region = np.asarray(self.region)
        if region.ndim != 2 or region.dtype != np.bool_:
            raise ValueError(f"GraspTarget.region must be a 2-D bool array, got {region.dtype}")
        if not region.any():
            raise ValueError("GraspTarget.region has no pixel")
        if self.heights_m is not None and np.shape(self.heights_m) != region.shape:
            raise ValueError(
                f"GraspTarget.heights_m has shape {np.shape(self.heights_m)}, the region "
                f"{region.shape}"
            )

    def with_heights(self, depth_m: np.ndarray, intrinsics: CameraIntrinsics) -> GraspTarget:
        """This target with the heights of the inpainted frame `depth_m` above its table."""
        return replace(self, heights_m=heights_above_table(depth_m, intrinsics))

    def heights(self, depth_m: np.ndarray, intrinsics: CameraIntrinsics) -> np.ndarray:
        """(H, W) heights above the table: `heights_m` when known, else computed."""
        if self.heights_m is not None:
            return self.heights_m
        return heights_above_table(depth_m, intrinsics)

    @classmethod
    def from_mask_and_roi(
        cls,
        shape: tuple[int, int],
        mask: np.ndarray | None = None,
        roi: tuple[int, int, int, int] | None = None,
    ) -> GraspTarget:
        """The target of an (H, W) frame: `mask` ((H, W), nonzero = target) within `roi`
        ((u_min, v_min, u_max, v_max), max exclusive, inside the frame). ValueError when
        neither is given, a size does not fit, or the two leave no pixel."""
        height, width = shape
        if mask is None and roi is None:
            raise ValueError("a target needs a mask, a region of interest or both")
        region = np.ones((height, width), dtype=bool)
        if mask is not None:
            mask = np.asarray(mask)
            if mask.shape != (height, width):
                raise ValueError(f"mask is {mask.shape[1]}x{mask.shape[0]}, frame {width}x{height}")
            region = mask != 0
        if roi is not None:
            u_min, v_min, u_max, v_max = (int(value) for value in roi)
            if not (0 <= u_min < u_max <= width and 0 <= v_min < v_max <= height):
                raise ValueError(f"roi {tuple(roi)} is not inside the {width}x{height} frame")
            inside = np.zeros_like(region)
            inside[v_min:v_max, u_min:u_max] = True
            region = region & inside
            roi = (u_min, v_min, u_max, v_max)
        if not region.any():
            raise ValueError("the mask has no nonzero pixel inside the region of interest")
        return cls(region, roi)

    @property
    def shape(self) -> tuple[int, int]:
        return self.region.shape

    @property
    def pixel_count(self) -> int:
        return int(np.count_nonzero(self.region))

    def contains(self, centers_px: np.ndarray) -> np.ndarray:
        """(N,) bool: the pixel holding each (u, v) centre ((N, 2), continuous pixel
        coordinates: pixel i spans [i - 0.5, i + 0.5]) is a target pixel."""
        centers = np.asarray(centers_px, dtype=np.float64).reshape(-1, 2)
        height, width = self.region.shape
        u = np.floor(centers[:, 0] + 0.5)
        v = np.floor(centers[:, 1] + 0.5)
        inside = np.isfinite(u) & np.isfinite(v) & (u >= 0) & (u < width) & (v >= 0) & (v < height)
        result = np.zeros(len(centers), dtype=bool)
        result[inside] = self.region[v[inside].astype(np.int64), u[inside].astype(np.int64)]
        return result

    def center_px(self) -> tuple[float, float]:
        """(u, v) where a view of the target is centred: the middle of its bounding box."""
        u_min, v_min, u_max, v_max = self.bounds()
        return (0.5 * (u_min + u_max - 1), 0.5 * (v_min + v_max - 1))

    def bounds(self, margin_px: int = 0) -> tuple[int, int, int, int]:
        """(u_min, v_min, u_max, v_max) of the target's pixels (max exclusive), grown by
        `margin_px` on every side and clipped to the frame."""
        rows = np.flatnonzero(self.region.any(axis=1))
        cols = np.flatnonzero(self.region.any(axis=0))
        height, width = self.region.shape
        return (
            max(int(cols[0]) - margin_px, 0),
            max(int(rows[0]) - margin_px, 0),
            min(int(cols[-1]) + 1 + margin_px, width),
            min(int(rows[-1]) + 1 + margin_px, height),
        )

    def nearest_pixels(self, points_px: np.ndarray) -> np.ndarray:
        """(N, 2) (u, v) of the target pixel nearest to each (u, v) point ((N, 2))."""
        points = np.asarray(points_px, dtype=np.float64).reshape(-1, 2)
        v, u = np.nonzero(self.region)
        pixels = np.stack([u, v], axis=1).astype(np.float64)
        nearest = np.empty_like(points)
        for index, point in enumerate(points):  # N is small (a network's few candidates)
            distances = np.sum((pixels - point) ** 2, axis=1)
            nearest[index] = pixels[int(np.argmin(distances))]
        return nearest

    def obstacles(
        self,
        depth_m: np.ndarray,
        intrinsics: CameraIntrinsics,
        object_height_m: float = OBJECT_HEIGHT_M,
    ) -> np.ndarray:
        """(H, W) bool: pixels of another object, more than `object_height_m` above the table
        plane fitted to the inpainted frame and off the target."""
        return (self.heights(depth_m, intrinsics) > object_height_m) & ~self.region


def target_visibility(
    target: GraspTarget,
    depth_m: np.ndarray,
    intrinsics: CameraIntrinsics,
    valid: np.ndarray | None = None,
    object_height_m: float = OBJECT_HEIGHT_M,
) -> int:
    """How many target pixels hold a valid depth more than `object_height_m` above the table
    plane fitted to the inpainted frame `depth_m`; `valid` ((H, W) bool): the pixels the
    camera measured (before inpainting), None = all of them."""
    seen = target.region & (target.heights(depth_m, intrinsics) > object_height_m)
    if valid is not None:
        seen &= np.asarray(valid, dtype=bool)
    return int(np.count_nonzero(seen))


def finger_footprints(
    centers_px: np.ndarray,
    angles: np.ndarray,
    widths_px: np.ndarray,
    depths: np.ndarray,
    gripper: GripperConfig,
    focal_px: float,
) -> np.ndarray:
    """(N, 2, S, 2) pixel positions (u, v) sampling the two finger pads' footprints of N
    top-down grasps (centres (N, 2) px, jaw axis angles (N,) rad, openings (N,) px at the
    grasp depth, depths (N,) m): each pad is finger_thickness along the jaw axis, centred on
    the jaw at half the opening from the centre, by finger_width across it (metres converted
    at the grasp depth with `focal_px`), sampled on a grid about one sample a pixel."""
    centers = np.asarray(centers_px, dtype=np.float64).reshape(-1, 2)
    angles = np.asarray(angles, dtype=np.float64).reshape(-1)
    widths = np.asarray(widths_px, dtype=np.float64).reshape(-1)
    depths = np.asarray(depths, dtype=np.float64).reshape(-1)
    px_per_m = focal_px / np.where(depths > 0, depths, np.inf)
    thickness_px = gripper.finger_thickness * px_per_m
    pad_width_px = gripper.finger_width * px_per_m
    along_count = int(np.clip(np.ceil(thickness_px.max(initial=0) * _FOOTPRINT_SAMPLES_PER_PX), 3,
                              _MAX_FOOTPRINT_SAMPLES))  # fmt: skip
    across_count = int(np.clip(np.ceil(pad_width_px.max(initial=0) * _FOOTPRINT_SAMPLES_PER_PX),
                               3, _MAX_FOOTPRINT_SAMPLES))  # fmt: skip
    along_unit = np.linspace(-0.5, 0.5, along_count)
    across_unit = np.linspace(-0.5, 0.5, across_count)
    axis = np.stack([np.cos(angles), np.sin(angles)], axis=1)  # (N, 2) jaw axis
    normal = np.stack([-axis[:, 1], axis[:, 0]], axis=1)  # (N, 2) across the jaws
    along = along_unit[None, :, None] * thickness_px[:, None, None]  # (N, A, 1)
    across = across_unit[None, None, :] * pad_width_px[:, None, None]  # (N, 1, C)
    fingers = []
    for side in (-1.0, 1.0):
        jaw = centers + side * 0.5 * widths[:, None] * axis  # (N, 2)
        pad = (
            jaw[:, None, None, :]
            + along[..., None] * axis[:, None, None, :]
            + across[..., None] * normal[:, None, None, :]
        )  # (N, A, C, 2)
        fingers.append(pad.reshape(len(centers), -1, 2))
    return np.stack(fingers, axis=1)


def _footprint_lookup(
    depth: np.ndarray,
    centers_px: np.ndarray,
    angles: np.ndarray,
    widths_px: np.ndarray,
    depths: np.ndarray,
    gripper: GripperConfig,
    focal_px: float,
    fingertip_below_center: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Flat pixel indices (N, 2, S) of the footprint samples, and (N, 2, S) bool: the sample
    lies in the frame and its pixel is nearer to the camera than the grasp's fingertip."""
    height, width = depth.shape
    footprints = finger_footprints(centers_px, angles, widths_px, depths, gripper, focal_px)
    u = np.floor(footprints[..., 0] + 0.5)
    v = np.floor(footprints[..., 1] + 0.5)
    inside = (u >= 0) & (u < width) & (v >= 0) & (v < height)
    flat = (np.clip(v, 0, height - 1) * width + np.clip(u, 0, width - 1)).astype(np.int64)
    tips = np.asarray(depths, dtype=np.float64).reshape(-1) + fingertip_below_center
    return flat, inside & (depth.ravel()[flat] < tips[:, None, None])


def object_labels(
    depth_m: np.ndarray,
    intrinsics: CameraIntrinsics,
    object_height_m: float = OBJECT_HEIGHT_M,
    min_area_m2: float = MIN_OBJECT_AREA_M2,
) -> np.ndarray:
    """(H, W) int32: 0 on the table, k > 0 on the k-th object: a connected (8-neighbour)
    region more than `object_height_m` above the table plane fitted to the inpainted frame,
    covering at least `min_area_m2` (pixel area at the table's depth under the image centre)."""
    return _labels_and_heights(depth_m, intrinsics, None, object_height_m, min_area_m2)[0]


def _labels_and_heights(
    depth_m: np.ndarray,
    intrinsics: CameraIntrinsics,
    plane: TablePlane | None,
    object_height_m: float,
    min_area_m2: float,
) -> tuple[np.ndarray, np.ndarray]:
    """`object_labels` and the (H, W) heights above the table they were cut from (`plane`:
    the frame's table plane, fitted when not given)."""
    if plane is None:
        plane = table_of_frame(depth_m, intrinsics)
    heights = heights_above_plane(depth_m, intrinsics, plane)
    above = (heights > object_height_m).astype(np.uint8)
    _, labels, stats, _ = cv2.connectedComponentsWithStats(above, connectivity=8)
    table_depth = plane.depth_at(intrinsics, intrinsics.cx, intrinsics.cy)
    if not math.isfinite(table_depth):
        table_depth = float(np.median(np.asarray(depth_m)[::4, ::4]))
    pixel_area = table_depth * table_depth / (intrinsics.fx * intrinsics.fy)
    small = stats[:, cv2.CC_STAT_AREA] * pixel_area < min_area_m2
    small[0] = True  # the table
    return np.where(small[labels], 0, labels).astype(np.int32), heights


def clear_of_other_objects(
    depth_m: np.ndarray,
    intrinsics: CameraIntrinsics,
    centers_px: np.ndarray,
    angles: np.ndarray,
    widths_px: np.ndarray,
    depths: np.ndarray,
    gripper: GripperConfig,
    fingertip_below_center: float = FINGERTIP_BELOW_CENTER_M,
) -> np.ndarray:
    """(N,) bool, without a target: neither finger of each grasp lands on a pixel of an object
    other than the one under its centre (`object_labels`) nearer to the camera than its
    fingertip. A grasp centred on no object (on the table, between objects) is not judged
    here (True): it claims no object for the others to be told from."""
    depth = np.asarray(depth_m, dtype=np.float64)
    centers = np.asarray(centers_px, dtype=np.float64).reshape(-1, 2)
    focal = 0.5 * (intrinsics.fx + intrinsics.fy)
    flat, near = _footprint_lookup(
        depth, centers, angles, widths_px, depths, gripper, focal, fingertip_below_center
    )
    if not near.any():
        return np.ones(len(centers), dtype=bool)
    labels = object_labels(depth_m, intrinsics).ravel()
    height, width = depth.shape
    u = np.clip(np.floor(centers[:, 0] + 0.5), 0, width - 1).astype(np.int64)
    v = np.clip(np.floor(centers[:, 1] + 0.5), 0, height - 1).astype(np.int64)
    own = labels[v * width + u]
    touched = labels[flat]
    hit = near & (touched != 0) & (touched != own[:, None, None]) & (own != 0)[:, None, None]
    return ~hit.any(axis=(1, 2))


def object_at(
    depth_m: np.ndarray, intrinsics: CameraIntrinsics, center_px: tuple[float, float]
) -> GraspTarget | None:
    """The object (`object_labels`) under `center_px` as a target; None on the table."""
    labels = object_labels(depth_m, intrinsics)
    height, width = labels.shape
    u = int(np.clip(np.floor(center_px[0] + 0.5), 0, width - 1))
    v = int(np.clip(np.floor(center_px[1] + 0.5), 0, height - 1))
    if labels[v, u] == 0:
        return None
    return GraspTarget(labels == labels[v, u])


def object_nearest(
    depth_m: np.ndarray,
    intrinsics: CameraIntrinsics,
    center_px: tuple[float, float],
    plane: TablePlane | None = None,
    object_height_m: float = OBJECT_HEIGHT_M,
) -> GraspTarget | None:
    """The object (`object_labels`: more than `object_height_m` above the frame's table
    `plane`, fitted when not given) with a pixel nearest to `center_px` as a target, holding
    the frame's heights above the table (`GraspTarget.heights_m`); None when the frame has no
    object."""
    labels, heights = _labels_and_heights(
        depth_m, intrinsics, plane, object_height_m, MIN_OBJECT_AREA_M2
    )
    v, u = np.nonzero(labels)
    if not len(u):
        return None
    nearest = int(np.argmin((u - center_px[0]) ** 2 + (v - center_px[1]) ** 2))
    return GraspTarget(labels == labels[v[nearest], u[nearest]], heights_m=heights)


def finger_clearance(
    depth_m: np.ndarray,
    obstacles: np.ndarray,
    centers_px: np.ndarray,
    angles: np.ndarray,
    widths_px: np.ndarray,
    depths: np.ndarray,
    gripper: GripperConfig,
    focal_px: float,
    fingertip_below_center: float = FINGERTIP_BELOW_CENTER_M,
) -> np.ndarray:
    """(N,) bool: neither finger of each grasp lands on an obstacle pixel nearer to the camera
    than its fingertip (grasp depth + `fingertip_below_center`) on its way down.

    depth_m: the inpainted (H, W) frame, metres; obstacles: (H, W) bool, pixels of other
    objects (`GraspTarget.obstacles`). Footprint samples outside the frame see nothing.
    """
    depth = np.asarray(depth_m, dtype=np.float64)
    flat, near = _footprint_lookup(
        depth, centers_px, angles, widths_px, depths, gripper, focal_px, fingertip_below_center
    )
    return ~(near & np.asarray(obstacles, dtype=bool).ravel()[flat]).any(axis=(1, 2))


def closes_on_object(
    depth_m: np.ndarray,
    intrinsics: CameraIntrinsics,
    centers_px: np.ndarray,
    angles: np.ndarray,
    widths_px: np.ndarray,
    depths: np.ndarray,
    gripper: GripperConfig,
    plane: TablePlane | None = None,
    object_height_m: float = OBJECT_HEIGHT_M,
    fingertip_below_center: float = FINGERTIP_BELOW_CENTER_M,
) -> np.ndarray:
    """(N,) bool: something stands between the jaws of each of N top-down grasps (centres (N, 2)
    px, jaw axis angles (N,) rad, openings (N,) px, gripper depths (N,) m) for them to close on.

    The closing region is the rectangle the pads sweep: the opening along the jaw axis by the
    pad width across it (metres converted at the grasp depth). At least
    `MIN_CLOSING_REGION_PIXELS` of its pixels must stand more than `object_height_m` above the
    table (`plane`: the frame's table plane, fitted when not given) and nearer to the camera
    than the fingertips; only the sampled pixels are lifted to heights, each at the median depth
    of its 3x3 neighbourhood, so that a sensor's pixel noise does not make an object of the
    table while a body two pixels wide still counts. A grasp that fails this closes on air: it
    lifts nothing, whatever a GQ-CNN makes of its crop.
    """
    depth = np.asarray(depth_m, dtype=np.float64)
    centers = np.asarray(centers_px, dtype=np.float64).reshape(-1, 2)
    angles = np.asarray(angles, dtype=np.float64).reshape(-1)
    widths = np.asarray(widths_px, dtype=np.float64).reshape(-1)
    grasp_depths = np.asarray(depths, dtype=np.float64).reshape(-1)
    if plane is None:
        plane = table_of_frame(depth, intrinsics)
    # A grasp with a non-finite pose or a depth not in front of the camera closes on nothing.
    usable = (
        np.isfinite(centers).all(axis=1) & np.isfinite(angles) & np.isfinite(widths)
        & np.isfinite(grasp_depths) & (grasp_depths > 0)
    )  # fmt: skip
    centers, angles = np.where(usable[:, None], centers, 0.0), np.where(usable, angles, 0.0)
    widths, grasp_depths = np.where(usable, widths, 0.0), np.where(usable, grasp_depths, 1.0)
    height, width = depth.shape
    focal = 0.5 * (intrinsics.fx + intrinsics.fy)
    pad_width_px = gripper.finger_width * focal / grasp_depths
    along_count = int(np.clip(np.ceil(widths.max(initial=0)), 3, _MAX_CLOSING_SAMPLES))
    across_count = int(np.clip(np.ceil(pad_width_px.max(initial=0)), 3, _MAX_CLOSING_SAMPLES))
    along = np.linspace(-0.5, 0.5, along_count)[None, :, None] * widths[:, None, None]
    across = np.linspace(-0.5, 0.5, across_count)[None, None, :] * pad_width_px[:, None, None]
    axis = np.stack([np.cos(angles), np.sin(angles)], axis=1)[:, None, None, :]
    normal = np.stack([-np.sin(angles), np.cos(angles)], axis=1)[:, None, None, :]
    points = centers[:, None, None, :] + along[..., None] * axis + across[..., None] * normal
    u = np.floor(points[..., 0] + 0.5).reshape(len(centers), -1)
    v = np.floor(points[..., 1] + 0.5).reshape(len(centers), -1)
    inside = (u >= 0) & (u < width) & (v >= 0) & (v < height)
    rows, columns = np.clip(v, 0, height - 1), np.clip(u, 0, width - 1)
    flat = (rows * width + columns).astype(np.int64)
    neighbour_rows = np.clip(rows[..., None] + _CLOSING_NEIGHBOURHOOD[:, 0], 0, height - 1)
    neighbour_columns = np.clip(columns[..., None] + _CLOSING_NEIGHBOURHOOD[:, 1], 0, width - 1)
    surface = np.median(depth[neighbour_rows.astype(np.int64), neighbour_columns.astype(np.int64)],
                        axis=-1)  # fmt: skip
    tips = grasp_depths + fingertip_below_center
    ray = np.stack(  # heights: z * (n . ray) - offset
        [(columns - intrinsics.cx) / intrinsics.fx, (rows - intrinsics.cy) / intrinsics.fy],
        axis=-1,
    )
    heights = surface * (ray @ plane.normal[:2] + plane.normal[2]) - plane.offset
    caught = inside & (heights > object_height_m) & (surface < tips[:, None])
    # A pixel sampled twice (a grid finer than the frame) counts once.
    counts = np.array([np.unique(f[c]).size for f, c in zip(flat, caught, strict=True)])
    return usable & (counts >= MIN_CLOSING_REGION_PIXELS)
