"""Limits on what a request or a depth topic may carry, checked before any work is done.

Pure (no rclpy): the inference, fallback and depth nodes call these on every
`/detect_grasp` and `/plan_grasp` request and every depth frame, before converting or
inpainting anything, so that one request can neither exhaust the node's memory nor occupy
its planner for minutes, and a frame no camera could have produced is refused instead of
answered with a grasp. Every refusal is a `RequestLimitError` whose message names the field,
the value and the limit (and the parameter that sets it, where one does). The limits are
listed in the README (Interfaces) and in the comments of `src/gqstn_msgs/srv`.

What the middleware does before a node sees a message is outside these checks: a request is
deserialized whole by DDS first, so an oversized image still costs its own size once, briefly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from gqstn_ros.camera_model import CameraIntrinsics
from gqstn_ros.detection import PlanningError
from gqstn_ros.grasping.baselines import ObjectBlobConfig, find_object_blob
from gqstn_ros.grasping.target import (
    MIN_VISIBLE_TARGET_PIXELS,
    GraspTarget,
    target_visibility,
)
from gqstn_ros.table_plane import TablePlane

MAX_IMAGE_SIDE_PX = 8192  # width and height of any image, pixels
DEFAULT_MAX_IMAGE_PIXELS = 2048 * 2048  # width x height of a depth image (parameter default)
MAX_FRAME_ID_LENGTH = 256  # characters of a header frame_id
MAX_DISTORTION_MODEL_LENGTH = 64  # characters of camera_info.distortion_model
MAX_DISTORTION_COEFFICIENTS = 14  # entries of camera_info.d (OpenCV's largest model)
MAX_PLANNER_NAME_LENGTH = 64  # characters of DetectGrasp.planner
FIELD_OF_VIEW_DEG = (1.0, 170.0)  # plausible horizontal and vertical field of view, degrees
# The scene check looks at the frame at 1/SCENE_CHECK_STRIDE of its resolution.
SCENE_CHECK_STRIDE = 4
TARGET_MASK_ENCODINGS = ("mono8", "8UC1")  # target_mask: one byte a pixel, nonzero = target


class RequestLimitError(ValueError):
    """A request field or a frame outside its limits; the message names the field and the limit."""


@dataclass(frozen=True)
class ImageLimits:
    """Size limits of a depth image (a request's or a topic's).

    max_pixels: the largest width x height accepted (the nodes' `max_image_pixels` parameter).
    Each side is also at most MAX_IMAGE_SIDE_PX.
    """

    max_pixels: int = DEFAULT_MAX_IMAGE_PIXELS

    def __post_init__(self) -> None:
        if not 1 <= self.max_pixels <= MAX_IMAGE_SIDE_PX**2:
            raise ValueError(
                f"ImageLimits.max_pixels must be in [1, {MAX_IMAGE_SIDE_PX**2}], "
                f"got {self.max_pixels}"
            )


@dataclass(frozen=True)
class SceneCheck:
    """When a frame shows something to grasp: more than `min_height_m` above the table plane
    (fitted to the frame) over at least `min_area_m2` (metric, whatever the camera).
    `min_area_m2` 0 turns the check off."""

    min_height_m: float = 0.006
    min_area_m2: float = 2.0e-4

    def __post_init__(self) -> None:
        if not (math.isfinite(self.min_height_m) and self.min_height_m > 0):
            raise ValueError(f"SceneCheck.min_height_m must be > 0, got {self.min_height_m}")
        if not (math.isfinite(self.min_area_m2) and self.min_area_m2 >= 0):
            raise ValueError(f"SceneCheck.min_area_m2 must be >= 0, got {self.min_area_m2}")


def _check_text(value: str, limit: int, field: str) -> None:
    if len(value) > limit:
        raise RequestLimitError(f"{field} has {len(value)} characters, more than the limit {limit}")


def check_depth_image(image: Any, limits: ImageLimits, field: str = "depth") -> None:
    """Refuse a sensor_msgs/Image whose size or frame_id is outside the limits.

    Encoding, step and data length are checked where the image is converted
    (`depth_image.depth_to_metres`); this check comes first and costs nothing.
    """
    width, height = int(image.width), int(image.height)
    if width == 0 or height == 0:
        raise RequestLimitError(f"{field} has zero size ({width}x{height})")
    if width > MAX_IMAGE_SIDE_PX or height > MAX_IMAGE_SIDE_PX:
        raise RequestLimitError(
            f"{field} is {width}x{height}: each side must be at most {MAX_IMAGE_SIDE_PX} pixels"
        )
    if width * height > limits.max_pixels:
        raise RequestLimitError(
            f"{field} is {width}x{height} = {width * height} pixels, more than the limit "
            f"{limits.max_pixels} (parameter max_image_pixels)"
        )
    _check_text(image.header.frame_id, MAX_FRAME_ID_LENGTH, f"{field}.header.frame_id")


def check_camera_info(info: Any, field: str = "camera_info") -> None:
    """Refuse a sensor_msgs/CameraInfo no pinhole camera could have: a focal length giving a
    field of view outside FIELD_OF_VIEW_DEG, a principal point outside the image, or oversized
    text and distortion fields. Its size must be the image's (checked where they are paired)."""
    width, height = int(info.width), int(info.height)
    if width == 0 or height == 0:
        raise RequestLimitError(f"{field} has zero size ({width}x{height})")
    if width > MAX_IMAGE_SIDE_PX or height > MAX_IMAGE_SIDE_PX:
        raise RequestLimitError(
            f"{field} is {width}x{height}: each side must be at most {MAX_IMAGE_SIDE_PX} pixels"
        )
    _check_text(info.header.frame_id, MAX_FRAME_ID_LENGTH, f"{field}.header.frame_id")
    _check_text(info.distortion_model, MAX_DISTORTION_MODEL_LENGTH, f"{field}.distortion_model")
    if len(info.d) > MAX_DISTORTION_COEFFICIENTS:
        raise RequestLimitError(
            f"{field}.d has {len(info.d)} coefficients, more than the limit "
            f"{MAX_DISTORTION_COEFFICIENTS}"
        )
    k = np.asarray(info.k, dtype=np.float64)
    if k.shape != (9,) or not np.all(np.isfinite(k)) or k[0] <= 0 or k[4] <= 0:
        raise RequestLimitError(f"{field} K has no valid focal lengths (fx={k[0]}, fy={k[4]})")
    low, high = FIELD_OF_VIEW_DEG
    for axis, focal, size in (("horizontal", k[0], width), ("vertical", k[4], height)):
        fov = math.degrees(2.0 * math.atan(size / (2.0 * focal)))
        if not low <= fov <= high:
            raise RequestLimitError(
                f"{field} K: focal length {focal:g} px over {size} px gives a {axis} field of "
                f"view of {fov:.3g} deg, outside the plausible {low:g}-{high:g} deg"
            )
    cx, cy = k[2], k[5]
    if not (-0.5 <= cx <= width - 0.5 and -0.5 <= cy <= height - 0.5):
        raise RequestLimitError(
            f"{field} K: principal point ({cx:g}, {cy:g}) lies outside the {width}x{height} image"
        )


def check_count(value: int, maximum: int, field: str, parameter: str | None = None) -> None:
    """Refuse a requested count above `maximum` (set by the node's parameter `parameter`, or
    fixed when None)."""
    if value > maximum:
        source = f"parameter {parameter}" if parameter else "a fixed limit"
        raise RequestLimitError(f"{field} {value} is above the limit {maximum} ({source})")


def check_planner_name(name: str) -> None:
    _check_text(name, MAX_PLANNER_NAME_LENGTH, "planner")


def check_object_above_table(
    depth_m: np.ndarray, intrinsics: CameraIntrinsics, check: SceneCheck
) -> None:
    """Refuse a frame (inpainted, (H, W) metres, finite) that shows no object above the table.

    The table plane is fitted to the frame (as `grasping.baselines.find_object_blob`, at
    1/SCENE_CHECK_STRIDE of the resolution); the largest connected region more than
    `check.min_height_m` above it must cover at least `check.min_area_m2` on the table. On an
    empty table every planner still returns its best-looking grasp of the bare surface.
    """
    if check.min_area_m2 == 0:
        return
    small = np.ascontiguousarray(depth_m[::SCENE_CHECK_STRIDE, ::SCENE_CHECK_STRIDE])
    small_intrinsics = intrinsics.scaled(small.shape[1], small.shape[0])
    requirement = (
        f"nothing stands more than {check.min_height_m * 1e3:g} mm above the table plane over "
        f"{check.min_area_m2 * 1e4:g} cm2 or more (parameters min_object_height_m, "
        f"min_object_area_m2)"
    )
    config = ObjectBlobConfig(object_height_threshold=check.min_height_m, min_blob_pixels=1)
    try:
        blob = find_object_blob(small, small_intrinsics, config)
    except PlanningError as error:
        raise RequestLimitError(f"no object above the table: {requirement}") from error
    table_depth = TablePlane(blob.normal, blob.offset).depth_at(
        small_intrinsics, small_intrinsics.cx, small_intrinsics.cy
    )
    if not math.isfinite(table_depth):
        table_depth = float(np.median(small))
    pixel_area = (table_depth / small_intrinsics.fx) * (table_depth / small_intrinsics.fy)
    min_pixels = max(1, math.ceil(check.min_area_m2 / pixel_area))
    if len(blob.pixels) < min_pixels:
        area_cm2 = len(blob.pixels) * pixel_area * 1e4
        raise RequestLimitError(
            f"no object above the table: {requirement}; the largest region above it covers "
            f"{area_cm2:.2g} cm2"
        )


def _mask_given(mask: Any) -> bool:
    """A target_mask with a size or data (an empty one has neither; its encoding is ignored)."""
    return bool(mask.width or mask.height or len(mask.data))


def target_given(mask: Any, roi: Any) -> bool:
    """True when a request names a target: a target_mask with any size or data, or a
    target_roi with any offset or size set (all empty = any object)."""
    mask_given = _mask_given(mask)
    roi_given = bool(roi.x_offset or roi.y_offset or roi.width or roi.height)
    return mask_given or roi_given


def check_target_fields(mask: Any, roi: Any, size: tuple[int, int] | None) -> None:
    """Refuse a target_mask (sensor_msgs/Image) or target_roi (sensor_msgs/RegionOfInterest)
    outside its limits (DetectGrasp.srv): encoding, step, data length, an all-zero mask, a ROI
    of zero size; and, when `size` ((width, height) of the depth used) is known, a mask of
    another size or a ROI reaching outside it. Cheap: run before any work."""
    mask_given = _mask_given(mask)
    if mask_given:
        width, height = int(mask.width), int(mask.height)
        if width == 0 or height == 0:
            raise RequestLimitError(
                f"target_mask has zero size ({width}x{height}) but is not empty (encoding "
                f"{mask.encoding!r}, {len(mask.data)} bytes): send an empty image for no mask"
            )
        if mask.encoding not in TARGET_MASK_ENCODINGS:
            raise RequestLimitError(
                f"target_mask has encoding {mask.encoding!r}: expected one of "
                f"{', '.join(TARGET_MASK_ENCODINGS)}"
            )
        if size is not None and (width, height) != size:
            raise RequestLimitError(
                f"target_mask is {width}x{height}, the depth used is {size[0]}x{size[1]}: "
                "the mask must have the depth's size"
            )
        if width > MAX_IMAGE_SIDE_PX or height > MAX_IMAGE_SIDE_PX:
            raise RequestLimitError(
                f"target_mask is {width}x{height}: each side must be at most "
                f"{MAX_IMAGE_SIDE_PX} pixels"
            )
        if int(mask.step) < width:
            raise RequestLimitError(
                f"target_mask step {mask.step} is less than its width {width} (one byte a pixel)"
            )
        if len(mask.data) != int(mask.step) * height:
            raise RequestLimitError(
                f"target_mask has {len(mask.data)} bytes of data, expected step x height = "
                f"{int(mask.step) * height}"
            )
        if not np.any(mask_array(mask)):
            raise RequestLimitError("target_mask is empty: it has no nonzero pixel")
    roi_given = bool(roi.x_offset or roi.y_offset or roi.width or roi.height)
    if roi_given:
        if roi.width == 0 or roi.height == 0:
            raise RequestLimitError(
                f"target_roi has zero size ({roi.width}x{roi.height} at x_offset "
                f"{roi.x_offset}, y_offset {roi.y_offset}): all zero means no ROI"
            )
        if size is not None and (
            roi.x_offset + roi.width > size[0] or roi.y_offset + roi.height > size[1]
        ):
            raise RequestLimitError(
                f"target_roi ({roi.width}x{roi.height} at x_offset {roi.x_offset}, y_offset "
                f"{roi.y_offset}) reaches outside the {size[0]}x{size[1]} depth used"
            )


def mask_array(mask: Any) -> np.ndarray:
    """(height, width) uint8 view of a mono8 / 8UC1 image (layout checked by
    `check_target_fields`)."""
    data = np.frombuffer(bytes(mask.data), dtype=np.uint8)
    return data.reshape(int(mask.height), int(mask.step))[:, : int(mask.width)]


def target_from_request(mask: Any, roi: Any, size: tuple[int, int]) -> GraspTarget | None:
    """The request's target in the depth used ((width, height) `size`), None for any object;
    RequestLimitError (naming the field) for a field outside its limits, or a mask with no
    nonzero pixel inside the ROI."""
    if not target_given(mask, roi):
        return None
    check_target_fields(mask, roi, size)
    mask_given = _mask_given(mask)
    roi_given = bool(roi.width or roi.height)
    box = (
        (roi.x_offset, roi.y_offset, roi.x_offset + roi.width, roi.y_offset + roi.height)
        if roi_given
        else None
    )
    try:
        return GraspTarget.from_mask_and_roi(
            (size[1], size[0]), mask_array(mask) if mask_given else None, box
        )
    except ValueError as error:
        raise RequestLimitError(f"target_mask and target_roi: {error}") from error


def check_target_visible(
    target: GraspTarget,
    depth_m: np.ndarray,
    intrinsics: CameraIntrinsics,
    check: SceneCheck,
    valid: np.ndarray | None = None,
) -> None:
    """Refuse a target with fewer than MIN_VISIBLE_TARGET_PIXELS pixels holding a valid depth
    (`valid`, before inpainting; None = all) more than `check.min_height_m` above the table
    plane of the inpainted frame `depth_m`: "target not visible: ..."."""
    try:
        seen = target_visibility(target, depth_m, intrinsics, valid, check.min_height_m)
    except PlanningError as error:
        raise RequestLimitError(f"target not visible: {error}") from error
    if seen < MIN_VISIBLE_TARGET_PIXELS:
        raise RequestLimitError(
            f"target not visible: {seen} of its {target.pixel_count} pixels hold a valid depth "
            f"more than {check.min_height_m * 1e3:g} mm above the table (at least "
            f"{MIN_VISIBLE_TARGET_PIXELS} needed; is it hidden under another object, or off "
            "the table?)"
        )
