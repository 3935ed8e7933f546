"""Depth node: raw depth frames in, validated and inpainted metres out.

Subscribes `/camera/depth/image_raw` (16UC1 millimetres or 32FC1 metres) and
`/camera/depth/camera_info` with sensor-data QoS (best effort, keep last 1), pairs each frame
with the latest camera_info, converts to metres, optionally crops and resizes, fills invalid
pixels (0, NaN, inf) with `depth_processing.inpaint_depth`, and publishes `/depth/inpainted`
(32FC1) and `/depth/inpainted/camera_info` with the same header. A frame it cannot use is
logged with the reason and dropped; the node keeps running.

The frame preparation is `gqstn_ros.depth_frames.prepare_depth_frame`, the same the inference
and fallback nodes use for the images that come with service requests.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import rclpy
from rclpy.node import Node
from sensor_msgs.msg import CameraInfo, Image

from gqstn_ros.depth_frames import FrameGeometry, RejectedFrameError, prepare_depth_frame
from gqstn_ros.depth_image import (
    DepthImageError,
    camera_info_to_intrinsics,
    intrinsics_to_camera_info,
    metres_to_image,
)
from gqstn_ros.depth_processing import InpaintConfig
from gqstn_ros.nodes.limit_parameters import (
    camera_parameter_spec,
    image_limits,
    load_camera_range,
    max_image_pixels_spec,
)
from gqstn_ros.nodes.parameters import NodeParameters, ParameterSpec, inpaint_specs, spin_node
from gqstn_ros.nodes.request_limits import check_camera_info, check_depth_image
from gqstn_ros.nodes.topics import (
    FRAME_OUTPUT_QOS,
    INPAINTED_INFO_TOPIC,
    INPAINTED_TOPIC,
    RAW_DEPTH_TOPIC,
    RAW_INFO_TOPIC,
    SENSOR_QOS,
)

NODE_NAME = "depth_node"

# Two problems of the same kind are one log line a second at most (a camera sends 30 a second).
BAD_FRAME_LOG_PERIOD_S = 1.0


DEPTH_NODE_PARAMETERS = (
    *inpaint_specs("frames", "Drop"),
    ParameterSpec(
        "inpaint_radius_px",
        InpaintConfig.radius_px,
        "Neighbourhood radius of the Navier-Stokes inpainting, pixels at the reduced resolution",
        min_value=1,
        max_value=32,
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
