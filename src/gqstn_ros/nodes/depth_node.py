"""Depth node: raw depth frames in, validated and inpainted metres out.

Subscribes `/camera/depth/image_raw` (16UC1 millimetres or 32FC1 metres) and
`/camera/depth/camera_info` with sensor-data QoS (best effort, keep last 1), pairs each frame
with the latest camera_info, converts to metres, optionally crops and resizes, fills invalid
pixels (0, NaN, inf) with `depth_processing.inpaint_depth`, and publishes `/depth/inpainted`
(32FC1) and `/depth/inpainted/camera_info` with the same header. A frame it cannot use is
logged with the reason and dropped; the node keeps running.

The frame preparation (`prepare_depth_frame`) is pure and shared with the inference and
fallback nodes, which inpaint the images that come with service requests the same way.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import cv2
import numpy as np
import rclpy
from rclpy.node import Node
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CameraInfo, Image

from gqstn_ros.camera_model import CameraIntrinsics
from gqstn_ros.depth_image import (
    DepthImageError,
    camera_info_to_intrinsics,
    depth_to_metres,
    intrinsics_to_camera_info,
    metres_to_image,
)
from gqstn_ros.depth_processing import DepthFrameError, InpaintConfig, inpaint_depth, invalid_mask
from gqstn_ros.nodes.limit_parameters import (
    camera_parameter_spec,
    image_limits,
    load_camera_range,
    max_image_pixels_spec,
)
from gqstn_ros.nodes.parameters import (
    NodeParameters,
    ParameterSpec,
    spin_node,
)
from gqstn_ros.nodes.request_limits import (
    CameraRange,
    RequestLimitError,
    check_camera_info,
    check_depth_image,
    mask_out_of_range,
)

NODE_NAME = "depth_node"
RAW_DEPTH_TOPIC = "/camera/depth/image_raw"
RAW_INFO_TOPIC = "/camera/depth/camera_info"
INPAINTED_TOPIC = "/depth/inpainted"
INPAINTED_INFO_TOPIC = "/depth/inpainted/camera_info"

# Sensor data: the newest frame matters, a lost one does not (REP 2003 keeps it best effort).
SENSOR_QOS = QoSProfile(
    history=HistoryPolicy.KEEP_LAST, depth=1, reliability=ReliabilityPolicy.BEST_EFFORT
)
# Reliable keep-last-1 output: matches both reliable and best-effort subscribers.
FRAME_OUTPUT_QOS = QoSProfile(
    history=HistoryPolicy.KEEP_LAST, depth=1, reliability=ReliabilityPolicy.RELIABLE
)

# Two problems of the same kind are one log line a second at most (a camera sends 30 a second).
BAD_FRAME_LOG_PERIOD_S = 1.0


class RejectedFrameError(ValueError):
    """A depth frame that is dropped (or a request image that is refused), with the reason."""


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


def prepare_depth_frame(
    image: Image,
    intrinsics: CameraIntrinsics,
    inpaint: InpaintConfig,
    geometry: FrameGeometry | None = None,
    camera_range: CameraRange | None = None,
) -> PreparedFrame:
    """Validate, convert to metres, crop, inpaint and resize one depth image.

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
        try:
            depth_m = mask_out_of_range(depth_m, camera_range)
        except RequestLimitError as error:
            raise RejectedFrameError(str(error)) from error
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


DEPTH_NODE_PARAMETERS = (
    ParameterSpec(
        "inpaint_scale",
        InpaintConfig.scale,
        "Inpaint invalid pixels at this fraction of the resolution (1.0 = full resolution)",
        min_value=0.05,
        max_value=1.0,
    ),
    ParameterSpec(
        "inpaint_radius_px",
        InpaintConfig.radius_px,
        "Neighbourhood radius of the Navier-Stokes inpainting, pixels at the reduced resolution",
        min_value=1,
        max_value=32,
    ),
    ParameterSpec(
        "max_invalid_ratio",
        InpaintConfig.max_invalid_ratio,
        "Drop frames with a larger fraction of invalid pixels (0, NaN, inf)",
        min_value=0.01,
        max_value=1.0,
    ),
    ParameterSpec(
        "crop_x", 0, "Left column of the crop window, pixels", min_value=0, max_value=8192
    ),
    ParameterSpec("crop_y", 0, "Top row of the crop window, pixels", min_value=0, max_value=8192),
    ParameterSpec(
        "crop_width", 0, "Crop window width, pixels (0: no crop)", min_value=0, max_value=8192
    ),
    ParameterSpec(
        "crop_height", 0, "Crop window height, pixels (0: no crop)", min_value=0, max_value=8192
    ),
    ParameterSpec(
        "output_width",
        0,
        "Resize the (cropped) frame to this width, pixels (0: keep)",
        min_value=0,
        max_value=8192,
    ),
    ParameterSpec(
        "output_height",
        0,
        "Resize the (cropped) frame to this height, pixels (0: keep)",
        min_value=0,
        max_value=8192,
    ),
    ParameterSpec(
        "stats_period_s",
        60.0,
        "Log frame counts, invalid-pixel ratio and latency this often, seconds",
        min_value=0.1,
        max_value=3600.0,
        read_only=True,
    ),
    camera_parameter_spec(),
    max_image_pixels_spec(),
)


@dataclass
class FrameStatistics:
    """Counts since the last statistics log line."""

    received: int = 0
    published: int = 0
    dropped: int = 0
    invalid_ratio_sum: float = 0.0
    latency_sum_s: float = 0.0

    def summary(self) -> str:
        published = max(self.published, 1)
        return (
            f"frames received {self.received}, published {self.published}, "
            f"dropped {self.dropped}; mean invalid pixels "
            f"{self.invalid_ratio_sum / published:.1%}, mean processing latency "
            f"{1e3 * self.latency_sum_s / published:.1f} ms"
        )


class DepthNode(Node):
    """Validates and inpaints raw depth frames (see the module docstring)."""

    def __init__(self) -> None:
        super().__init__(NODE_NAME)
        self.parameters = NodeParameters(self, DEPTH_NODE_PARAMETERS)
        self.camera_range = load_camera_range(self.parameters)
        self.image_limits = image_limits(self.parameters)
        self.latest_info: CameraInfo | None = None
        self.statistics = FrameStatistics()
        self.total_published = 0
        self._last_problem: tuple[str, float] = ("", 0.0)
        self.depth_publisher = self.create_publisher(Image, INPAINTED_TOPIC, FRAME_OUTPUT_QOS)
        self.info_publisher = self.create_publisher(
            CameraInfo, INPAINTED_INFO_TOPIC, FRAME_OUTPUT_QOS
        )
        self.create_subscription(CameraInfo, RAW_INFO_TOPIC, self.on_camera_info, SENSOR_QOS)
        self.create_subscription(Image, RAW_DEPTH_TOPIC, self.on_depth_image, SENSOR_QOS)
        self.create_timer(self.parameters["stats_period_s"], self.log_statistics)
        self.get_logger().info(
            f"depth node ready: {RAW_DEPTH_TOPIC} -> {INPAINTED_TOPIC} "
            f"(inpaint scale {self.parameters['inpaint_scale']})"
        )

    def inpaint_config(self) -> InpaintConfig:
        return InpaintConfig(
            scale=self.parameters["inpaint_scale"],
            radius_px=self.parameters["inpaint_radius_px"],
            max_invalid_ratio=self.parameters["max_invalid_ratio"],
        )

    def frame_geometry(self) -> FrameGeometry:
        names = ("crop_x", "crop_y", "crop_width", "crop_height", "output_width", "output_height")
        return FrameGeometry(**{name: self.parameters[name] for name in names})

    def on_camera_info(self, info: CameraInfo) -> None:
        self.latest_info = info

    def on_depth_image(self, image: Image) -> None:
        started = time.perf_counter()
        self.statistics.received += 1
        try:
            if self.latest_info is None:
                raise RejectedFrameError(f"no camera_info received yet on {RAW_INFO_TOPIC}")
            self.check_limits(image, self.latest_info)
            prepared = prepare_depth_frame(
                image,
                camera_info_to_intrinsics(self.latest_info),
                self.inpaint_config(),
                self.frame_geometry(),
                self.camera_range,
            )
        except (RejectedFrameError, DepthImageError, ValueError) as error:
            self.statistics.dropped += 1
            self.report_problem(f"dropped depth frame: {error}")
            return
        self.depth_publisher.publish(metres_to_image(prepared.depth_m, header=image.header))
        self.info_publisher.publish(intrinsics_to_camera_info(prepared.intrinsics, image.header))
        self.statistics.published += 1
        self.total_published += 1
        self.statistics.invalid_ratio_sum += prepared.invalid_ratio
        self.statistics.latency_sum_s += time.perf_counter() - started

    def check_limits(self, image: Image, info: CameraInfo) -> None:
        """Refuse (RequestLimitError) a frame or camera_info outside the limits of
        `gqstn_ros.nodes.request_limits`, before any conversion."""
        check_depth_image(image, self.image_limits, f"frame on {RAW_DEPTH_TOPIC}")
        check_camera_info(info, f"camera_info on {RAW_INFO_TOPIC}")

    def report_problem(self, message: str) -> None:
        """Log a dropped frame: a new reason at once, a repeated one once a second."""
        now = time.monotonic()
        last_message, last_time = self._last_problem
        if message != last_message or now - last_time >= BAD_FRAME_LOG_PERIOD_S:
            self.get_logger().warning(message)
            self._last_problem = (message, now)

    def log_statistics(self) -> None:
        if self.statistics.received:
            self.get_logger().info(self.statistics.summary())
        self.statistics = FrameStatistics()


def main(args: list[str] | None = None) -> None:
    rclpy.init(args=args)
    spin_node(DepthNode, NODE_NAME, num_threads=1)


if __name__ == "__main__":
    main()
