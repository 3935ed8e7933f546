"""Depth frame preparation: a depth image message in, validated and inpainted metres out.

`prepare_depth_frame` converts a sensor_msgs/Image (16UC1 millimetres or 32FC1 metres) to
metres, optionally crops it, makes depths outside the camera's range invalid, fills invalid
pixels (0, NaN, inf) with `depth_processing.inpaint_depth` and optionally resizes it. The depth
node prepares every frame of its topic with it, the inference and fallback nodes every image
that comes with a request; it is pure (no rclpy) and raises `RejectedFrameError` naming the
problem.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
from sensor_msgs.msg import Image

from gqstn_ros.camera_model import CameraIntrinsics
from gqstn_ros.depth_image import DepthImageError, depth_to_metres
from gqstn_ros.depth_processing import DepthFrameError, InpaintConfig, inpaint_depth, invalid_mask

# A frame whose valid pixels lie outside the camera's range by more than this share is refused;
# below it, those pixels are treated as invalid (no measurement) and inpainted.
MAX_OUT_OF_RANGE_RATIO = 0.05


class RejectedFrameError(ValueError):
    """A depth frame that is dropped (or a request image that is refused), with the reason."""


@dataclass(frozen=True)
class CameraRange:
    """Where a camera measures depth at all: `near_m` to `far_m` metres (a camera profile's
    noise.min_range and noise.max_range); `camera` names it in refusals."""

    camera: str
    near_m: float
    far_m: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.far_m) and 0 < self.near_m < self.far_m):
            raise ValueError(
                f"CameraRange of {self.camera}: need 0 < near_m < far_m (finite), got "
                f"{self.near_m}-{self.far_m}"
            )


@dataclass(frozen=True)
class FrameGeometry:
    """Optional crop window then resize applied to every frame; 0 sizes mean 'keep'."""

    crop_x: int = 0
    crop_y: int = 0
    crop_width: int = 0  # 0: no crop
    crop_height: int = 0
    output_width: int = 0  # 0: no resize
    output_height: int = 0

    def __post_init__(self) -> None:
        for name in ("crop_x", "crop_y", "crop_width", "crop_height"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if (self.crop_width == 0) != (self.crop_height == 0):
            raise ValueError("crop_width and crop_height must both be 0 (no crop) or both > 0")
        if (self.output_width == 0) != (self.output_height == 0):
            raise ValueError("output_width and output_height must both be 0 or both > 0")


@dataclass(frozen=True)
class PreparedFrame:
    """An inpainted depth frame: (H, W) float32 metres, finite and > 0 everywhere."""

    depth_m: np.ndarray
    intrinsics: CameraIntrinsics
    invalid_ratio: float  # fraction of the (cropped) input pixels that were filled


def mask_out_of_range(depth_m: np.ndarray, camera_range: CameraRange) -> np.ndarray:
    """`depth_m` (H, W, metres) with its valid pixels outside `camera_range` made invalid (NaN),
    as the sensor itself would report them.

    Raises RejectedFrameError naming the range when more than MAX_OUT_OF_RANGE_RATIO of the
    valid pixels lie outside it: such a frame (e.g. every pixel at 1e9 m) is no frame of this
    camera, and a grasp planned on it would be a wrong answer.
    """
    near, far = camera_range.near_m, camera_range.far_m
    valid = ~invalid_mask(depth_m)
    count = int(valid.sum())
    if count == 0:
        return depth_m
    outside = valid & ((depth_m < near) | (depth_m > far))
    outside_count = int(outside.sum())
    if outside_count == 0:
        return depth_m
    ratio = outside_count / count
    if ratio > MAX_OUT_OF_RANGE_RATIO:
        median = float(np.median(depth_m[valid]))
        raise RejectedFrameError(
            f"{ratio:.1%} of the valid depths lie outside the range of camera "
            f"{camera_range.camera}, {near:g}-{far:g} m (median depth {median:.4g} m; at most "
            f"{MAX_OUT_OF_RANGE_RATIO:.0%} may: parameter camera names the camera profile)"
        )
    masked = np.array(depth_m, dtype=np.float32, copy=True)
    masked[outside] = np.nan
    return masked


def prepare_depth_frame(
    image: Image,
    intrinsics: CameraIntrinsics,
    inpaint: InpaintConfig,
    geometry: FrameGeometry | None = None,
    camera_range: CameraRange | None = None,
) -> PreparedFrame:
    """Validate, convert to metres, crop, inpaint and resize one depth image (sensor_msgs/Image).

    `intrinsics` must describe `image` (same size). Raises `RejectedFrameError` naming the problem:
    unsupported encoding, data length mismatch, zero size, size mismatch, a crop outside the
    frame, depths outside `camera_range` (beyond a few pixels, which become invalid), or a frame
    without enough valid pixels.
    """
    geometry = geometry or FrameGeometry()
    try:
        depth_m = depth_to_metres(image)  # (H, W), NaN where invalid
    except DepthImageError as error:
        raise RejectedFrameError(str(error)) from error
    if (intrinsics.width, intrinsics.height) != (image.width, image.height):
        raise RejectedFrameError(
            f"mismatched camera_info: camera_info is {intrinsics.width}x{intrinsics.height} "
            f"but the depth image is {image.width}x{image.height}"
        )
    if geometry.crop_width:
        try:
            intrinsics = intrinsics.cropped(
                geometry.crop_x, geometry.crop_y, geometry.crop_width, geometry.crop_height
            )
        except ValueError as error:
            raise RejectedFrameError(str(error)) from error
        depth_m = depth_m[
            geometry.crop_y : geometry.crop_y + geometry.crop_height,
            geometry.crop_x : geometry.crop_x + geometry.crop_width,
        ]
    if camera_range is not None:
        depth_m = mask_out_of_range(depth_m, camera_range)
    invalid_ratio = float(invalid_mask(depth_m).mean())
    try:
        filled = inpaint_depth(depth_m, inpaint)
    except DepthFrameError as error:
        raise RejectedFrameError(str(error)) from error
    if geometry.output_width and (filled.shape[1], filled.shape[0]) != (
        geometry.output_width,
        geometry.output_height,
    ):
        shrinking = geometry.output_width < filled.shape[1]
        filled = cv2.resize(
            filled,
            (geometry.output_width, geometry.output_height),
            interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR,
        )
        intrinsics = intrinsics.scaled(geometry.output_width, geometry.output_height)
    return PreparedFrame(np.ascontiguousarray(filled, dtype=np.float32), intrinsics, invalid_ratio)
