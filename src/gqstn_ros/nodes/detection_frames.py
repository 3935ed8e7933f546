"""The frames the inference node plans on: the latest `/depth/inpainted` frame paired with its
camera_info, and a frame prepared for one request.

A frame and its camera_info travel on two topics, so either can arrive first: `LatestFrame`
keeps the newest frame and the recent camera_infos, and pairs the frame with the camera_info of
the same stamp, else with the newest one of the same size. Pure (no rclpy node).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from sensor_msgs.msg import CameraInfo, Image, RegionOfInterest
from std_msgs.msg import Header

from gqstn_ros.camera_model import CameraIntrinsics
from gqstn_ros.depth_image import intrinsics_to_camera_info
from gqstn_ros.grasping.target import GraspTarget
from gqstn_ros.nodes.planning_requests import RequestRefusedError
from gqstn_ros.nodes.topics import INPAINTED_INFO_TOPIC

CAMERA_INFO_HISTORY = 10  # camera_info messages kept for pairing with frames


@dataclass(frozen=True)
class ReceivedFrame:
    """The latest /depth/inpainted frame, as received."""

    image: Image
    received_s: float  # time.monotonic() at receipt


@dataclass(frozen=True)
class DetectionFrame:
    """An inpainted frame ready for a planner."""

    depth_m: np.ndarray  # (H, W) float32 metres, finite
    intrinsics: CameraIntrinsics
    header: Header


@dataclass(frozen=True)
class RequestTarget:
    """The object a request names: as pixels of its frame, and the request's own fields (sent
    on to the fallback with that frame)."""

    target: GraspTarget
    mask: Image
    roi: RegionOfInterest


class LatestFrame:
    """The newest received frame and the recent camera_info messages (see the module
    docstring); filled by the node's subscriptions, read by its requests."""

    def __init__(self) -> None:
        self.received: ReceivedFrame | None = None
        self.recent_infos: deque[CameraInfo] = deque(maxlen=CAMERA_INFO_HISTORY)

    def add_frame(self, image: Image) -> None:
        self.received = ReceivedFrame(image, time.monotonic())

    def add_camera_info(self, info: CameraInfo) -> None:
        self.recent_infos.append(info)

    def camera_info_of(self, image: Image) -> CameraInfo | None:
        """The received camera_info of `image`: same stamp, else the newest of its size."""
        same_size = [
            info
            for info in self.recent_infos
            if (info.width, info.height) == (image.width, image.height)
        ]
        for info in reversed(same_size):
            if info.header.stamp == image.header.stamp:
                return info
        return same_size[-1] if same_size else None

    def camera_info_for_size(self, width: int, height: int, configured: list[float]) -> CameraInfo:
        """A camera_info for a request image without one: the latest received of its size,
        else `configured` ([width, height, fx, fy, cx, cy], the camera_intrinsics parameter)
        when it has that size; RequestRefusedError otherwise."""
        for received in reversed(self.recent_infos):
            if (received.width, received.height) == (width, height):
                return received
        if (int(configured[0]), int(configured[1])) == (width, height):
            intrinsics = CameraIntrinsics(int(configured[0]), int(configured[1]), *configured[2:])
            return intrinsics_to_camera_info(intrinsics)
        raise RequestRefusedError(
            f"the request has no camera_info and none is known for a {width}x{height} image "
            f"(configured camera_intrinsics are {int(configured[0])}x{int(configured[1])})"
        )

    def take(
        self, max_age_s: float, no_frame_reason: Callable[[], str]
    ) -> tuple[Image, CameraInfo]:
        """The latest frame and its camera_info; RequestRefusedError when there is none
        (`no_frame_reason()` says why), it was received more than `max_age_s` ago (0: no
        limit) or its camera_info has not arrived."""
        received = self.received
        if received is None:
            raise RequestRefusedError(no_frame_reason())
        age_s = time.monotonic() - received.received_s
        if max_age_s > 0 and age_s > max_age_s:
            raise RequestRefusedError(
                f"latest depth frame is stale: received {age_s:.2f} s ago "
                f"(max_frame_age_s {max_age_s:g})"
            )
        info = self.camera_info_of(received.image)
        if info is None:
            raise RequestRefusedError(
                f"no matching camera_info received on {INPAINTED_INFO_TOPIC} for the latest "
                f"{received.image.width}x{received.image.height} frame"
            )
        return received.image, info
