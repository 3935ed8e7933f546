"""depth_node in its own process: raw frames published from this process over DDS, inpainted
frames received back; bad frames are dropped with a logged reason and the node keeps going."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import Header

from gqstn_ros.camera_model import KINECT_V1
from gqstn_ros.depth_frames import FrameGeometry, RejectedFrameError, prepare_depth_frame
from gqstn_ros.depth_image import (
    array_to_image,
    camera_info_to_intrinsics,
    depth_to_metres,
    intrinsics_to_camera_info,
    metres_to_image,
)
from gqstn_ros.depth_processing import InpaintConfig
from ros_test_support import spin_until

TIMEOUT_S = 15.0


def depth_with_holes(seed: int) -> np.ndarray:
    """(480, 640) metres: table at 0.7 m, a box at 0.62 m, 1 % random holes, a 40x60 hole."""
    rng = np.random.default_rng(seed)
    depth = np.full((480, 640), 0.7, dtype=np.float32)
    depth[150:230, 250:380] = 0.62
    depth[rng.random(depth.shape) < 0.01] = 0.0
    depth[300:340, 400:460] = 0.0
    return depth


def header(stamp_sec: int) -> Header:
    result = Header(frame_id="camera_depth_optical_frame")
    result.stamp.sec = stamp_sec
    return result


class DepthLink:
    """This process's end of the depth node's topics."""

    def __init__(self, client_node) -> None:
        self.node, self.executor = client_node
        qos = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE)
        self.image_publisher = self.node.create_publisher(Image, "/camera/depth/image_raw", qos)
        self.info_publisher = self.node.create_publisher(
            CameraInfo, "/camera/depth/camera_info", qos
        )
        self.frames: dict[int, Image] = {}
        self.infos: dict[int, CameraInfo] = {}
        out_qos = QoSProfile(depth=5, reliability=ReliabilityPolicy.RELIABLE)
        self.node.create_subscription(
            Image,
            "/depth/inpainted",
            lambda m: self.frames.update({m.header.stamp.sec: m}),
            out_qos,
        )
        self.node.create_subscription(
            CameraInfo,
            "/depth/inpainted/camera_info",
            lambda m: self.infos.update({m.header.stamp.sec: m}),
            out_qos,
        )

    def wait_connected(self) -> None:
        assert spin_until(
            self.executor,
            lambda: (
                self.image_publisher.get_subscription_count() > 0
                and self.info_publisher.get_subscription_count() > 0
                and self.node.count_publishers("/depth/inpainted") > 0
            ),
            TIMEOUT_S,
        ), "the depth node's topics never appeared"

    def publish_until(self, image: Image, info: CameraInfo, done: Callable[[], bool]) -> bool:
        """Publish camera_info then the image every 0.2 s (best effort) until `done()`."""
        for _ in range(int(TIMEOUT_S / 0.2)):
            self.info_publisher.publish(info)
            self.image_publisher.publish(image)
            if spin_until(self.executor, done, 0.2):
                return True
        return False


def good_frame(stamp_sec: int) -> tuple[np.ndarray, Image, CameraInfo]:
    depth = depth_with_holes(stamp_sec)
    return (
        depth,
        metres_to_image(depth, "16UC1", header(stamp_sec)),
        intrinsics_to_camera_info(KINECT_V1, header(stamp_sec)),
    )


def assert_inpainted(link: DepthLink, stamp_sec: int, sent_m: np.ndarray) -> None:
    frame = link.frames[stamp_sec]
    assert frame.encoding == "32FC1" and (frame.width, frame.height) == (640, 480)
    received = depth_to_metres(frame)  # NaN where invalid
    assert np.all(np.isfinite(received)), "the inpainted frame still has invalid pixels"
    valid = sent_m > 0
    np.testing.assert_allclose(received[valid], np.rint(sent_m[valid] * 1e3) * 1e-3, atol=1e-6)
    assert np.all((received[~valid] > 0.6) & (received[~valid] < 0.71))
    assert spin_until(link.executor, lambda: stamp_sec in link.infos, TIMEOUT_S)
    assert camera_info_to_intrinsics(link.infos[stamp_sec]) == KINECT_V1


@pytest.mark.ros
def test_16uc1_frame_with_holes_comes_back_inpainted(start_node, client_node) -> None:
    depth_node = start_node("depth_node", "-p", "stats_period_s:=0.5")
    link = DepthLink(client_node)
    link.wait_connected()
    sent, image, info = good_frame(1)
    assert link.publish_until(image, info, lambda: 1 in link.frames), depth_node.output()
    assert_inpainted(link, 1, sent)
    depth_node.wait_for_log("frames received")  # the periodic statistics line
    assert depth_node.is_running()


@pytest.mark.ros
def test_bad_frames_are_dropped_with_a_reason_and_good_ones_pass(start_node, client_node) -> None:
    depth_node = start_node("depth_node")
    link = DepthLink(client_node)
    link.wait_connected()

    def wrong_encoding(image: Image, info: CameraInfo) -> tuple[Image, CameraInfo]:
        image.encoding = "rgb8"
        return image, info

    def truncated(image: Image, info: CameraInfo) -> tuple[Image, CameraInfo]:
        image.data = image.data[:-10]
        return image, info

    def zero_size(image: Image, info: CameraInfo) -> tuple[Image, CameraInfo]:
        image.width = image.height = image.step = 0
        image.data = []
        return image, info

    def all_invalid(image: Image, info: CameraInfo) -> tuple[Image, CameraInfo]:
        return metres_to_image(np.full((480, 640), np.nan), "32FC1", image.header), info

    def small_camera_info(image: Image, info: CameraInfo) -> tuple[Image, CameraInfo]:
        return image, intrinsics_to_camera_info(KINECT_V1.scaled(320, 240), info.header)

    cases = [
        (wrong_encoding, "unsupported depth encoding 'rgb8'"),
        (truncated, "data length"),
        (zero_size, "zero size"),
        (all_invalid, "invalid pixels"),
        (small_camera_info, "mismatched camera_info: camera_info is 320x240"),
    ]
    for index, (spoil, reason) in enumerate(cases):
        bad_stamp, good_stamp = 100 + 2 * index, 101 + 2 * index
        _, image, info = good_frame(bad_stamp)
        bad_image, bad_info = spoil(image, info)
        assert link.publish_until(bad_image, bad_info, lambda r=reason: r in depth_node.output()), (
            f"no log line with {reason!r}:\n{depth_node.output()}"
        )
        assert bad_stamp not in link.frames
        sent, image, info = good_frame(good_stamp)
        assert link.publish_until(image, info, lambda s=good_stamp: s in link.frames), (
            f"after {spoil.__name__}: no good frame came through\n{depth_node.output()}"
        )
        assert_inpainted(link, good_stamp, sent)
    assert "dropped depth frame" in depth_node.output()
    assert depth_node.is_running()


@pytest.mark.ros
def test_32fc1_nan_and_inf_are_inpainted(start_node, client_node) -> None:
    start_node("depth_node")
    link = DepthLink(client_node)
    link.wait_connected()
    depth = depth_with_holes(7)
    depth[10:20, 10:20] = np.nan
    depth[30:40, 30:40] = np.inf
    image = array_to_image(depth, "32FC1", header(7))  # stored as is: 0, NaN and inf
    info = intrinsics_to_camera_info(KINECT_V1, header(7))
    assert link.publish_until(image, info, lambda: 7 in link.frames)
    received = depth_to_metres(link.frames[7])
    assert np.all(np.isfinite(received))
    assert np.all(np.abs(received[10:40, 10:40] - 0.7) < 0.01)


# --- the pure frame preparation, shared with the inference and fallback nodes -------------


def test_prepare_depth_frame_crops_and_resizes_with_matching_intrinsics() -> None:
    depth = depth_with_holes(3)
    image = metres_to_image(depth, "16UC1")
    geometry = FrameGeometry(
        crop_x=80, crop_y=0, crop_width=480, crop_height=480, output_width=240, output_height=240
    )
    prepared = prepare_depth_frame(image, KINECT_V1, InpaintConfig(), geometry)
    assert prepared.depth_m.shape == (240, 240) and prepared.depth_m.dtype == np.float32
    assert np.all(np.isfinite(prepared.depth_m))
    assert prepared.intrinsics == KINECT_V1.cropped(80, 0, 480, 480).scaled(240, 240)
    assert prepared.invalid_ratio == pytest.approx(float((depth[:, 80:560] == 0).mean()))
    # The box (rows 150-230, columns 250-380) lands where the new intrinsics project it.
    box_pixel = prepared.intrinsics.project(KINECT_V1.deproject(np.array([315.0, 190.0]), 0.62))
    assert prepared.depth_m[round(box_pixel[1]), round(box_pixel[0])] == pytest.approx(0.62)


@pytest.mark.parametrize(
    ("geometry", "message"),
    [
        (FrameGeometry(crop_x=400, crop_width=300, crop_height=100), "outside"),
        (FrameGeometry(), "camera_info is 320x240"),
    ],
)
def test_prepare_depth_frame_refuses_with_reason(geometry: FrameGeometry, message: str) -> None:
    image = metres_to_image(depth_with_holes(0), "16UC1")
    intrinsics = KINECT_V1 if "outside" in message else KINECT_V1.scaled(320, 240)
    with pytest.raises(RejectedFrameError, match=message):
        prepare_depth_frame(image, intrinsics, InpaintConfig(), geometry)


def test_frame_geometry_refuses_half_set_sizes() -> None:
    with pytest.raises(ValueError, match="crop_width and crop_height"):
        FrameGeometry(crop_width=10)
    with pytest.raises(ValueError, match="output_width and output_height"):
        FrameGeometry(output_height=10)
