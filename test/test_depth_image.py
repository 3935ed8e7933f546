"""Depth images between sensor_msgs/Image and numpy, against the sensor_msgs/Image rules."""

import struct

import numpy as np
import pytest
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import Header

from gqstn_ros.camera_model import KINECT_V1, CameraIntrinsics
from gqstn_ros.depth_image import (
    DepthImageError,
    array_to_image,
    camera_info_to_intrinsics,
    check_camera_info_matches,
    depth_to_metres,
    image_to_array,
    intrinsics_to_camera_info,
    metres_to_image,
)


def random_depth_m(height: int = 48, width: int = 64, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.uniform(0.3, 1.2, size=(height, width)).astype(np.float32)


def hand_packed_image(
    pixels: list[list[float]], encoding: str, bigendian: bool, padding: int
) -> Image:
    """Build the message byte by byte with struct, independently of the module under test."""
    code = {"16UC1": "H", "32FC1": "f"}[encoding]
    order = ">" if bigendian else "<"
    rows = [struct.pack(f"{order}{len(row)}{code}", *row) + b"\xab" * padding for row in pixels]
    msg = Image()
    msg.height, msg.width = len(pixels), len(pixels[0])
    msg.encoding = encoding
    msg.is_bigendian = bigendian
    msg.step = len(rows[0])
    msg.data = b"".join(rows)
    return msg


@pytest.mark.parametrize("bigendian", [False, True])
@pytest.mark.parametrize("padding", [0, 3, 16])
def test_reads_hand_packed_16uc1(bigendian: bool, padding: int) -> None:
    pixels = [[0, 1, 500, 65535], [700, 701, 702, 0]]
    msg = hand_packed_image(pixels, "16UC1", bigendian, padding)
    assert msg.step == 4 * 2 + padding
    np.testing.assert_array_equal(image_to_array(msg), np.array(pixels, dtype=np.uint16))
    metres = depth_to_metres(msg)
    assert metres.dtype == np.float32
    assert np.isnan(metres[0, 0]) and np.isnan(metres[1, 3])  # 0 means no data
    assert metres[0, 2] == pytest.approx(0.5)
    assert metres[1, 1] == pytest.approx(0.701)


@pytest.mark.parametrize("bigendian", [False, True])
@pytest.mark.parametrize("padding", [0, 4, 13])
def test_reads_hand_packed_32fc1(bigendian: bool, padding: int) -> None:
    pixels = [[0.5, 0.0, float("nan"), 1.25], [float("inf"), -1.0, 0.7, 2.0]]
    msg = hand_packed_image(pixels, "32FC1", bigendian, padding)
    raw = image_to_array(msg)
    assert raw.dtype == np.float32 and raw.dtype.isnative
    assert raw[0, 0] == pytest.approx(0.5) and np.isinf(raw[1, 0])
    metres = depth_to_metres(msg)
    invalid = np.isnan(metres)
    np.testing.assert_array_equal(invalid, [[False, True, True, False], [True, True, False, False]])
    assert metres[1, 2] == pytest.approx(0.7)


@pytest.mark.parametrize("encoding", ["16UC1", "32FC1"])
@pytest.mark.parametrize("bigendian", [False, True])
@pytest.mark.parametrize("padding", [0, 7])
def test_round_trip_metres(encoding: str, bigendian: bool, padding: int) -> None:
    depth = random_depth_m()
    depth[3, 4] = np.nan
    depth[5, 6] = 0.0
    depth[7, 8] = np.inf
    msg = metres_to_image(depth, encoding, is_bigendian=bigendian, row_padding=padding)
    assert msg.step == depth.shape[1] * (2 if encoding == "16UC1" else 4) + padding
    assert len(msg.data) == msg.step * msg.height
    back = depth_to_metres(msg)
    invalid = ~np.isfinite(depth) | (depth <= 0)
    np.testing.assert_array_equal(np.isnan(back), invalid)
    tolerance = 0.5e-3 + 1e-6 if encoding == "16UC1" else 0.0
    np.testing.assert_allclose(back[~invalid], depth[~invalid], atol=tolerance, rtol=0)


def test_round_trip_raw_arrays_keep_dtype_and_values() -> None:
    mm = np.arange(12, dtype=np.uint16).reshape(3, 4) * 1000
    np.testing.assert_array_equal(image_to_array(array_to_image(mm, "16UC1")), mm)
    metres = random_depth_m(5, 7)
    np.testing.assert_array_equal(image_to_array(array_to_image(metres, "32FC1")), metres)


def test_header_is_kept() -> None:
    header = Header(frame_id="camera_depth_optical_frame")
    header.stamp.sec, header.stamp.nanosec = 12, 345
    msg = metres_to_image(random_depth_m(), "32FC1", header)
    assert msg.header.frame_id == "camera_depth_optical_frame"
    assert (msg.header.stamp.sec, msg.header.stamp.nanosec) == (12, 345)


def test_result_does_not_alias_message_data() -> None:
    msg = metres_to_image(random_depth_m(), "32FC1")
    pixels = image_to_array(msg)
    pixels[:] = 9.0
    assert depth_to_metres(msg)[0, 0] != pytest.approx(9.0)


@pytest.mark.parametrize("encoding", ["rgb8", "mono16", "16SC1", "", "32FC3"])
def test_unsupported_encoding_is_named(encoding: str) -> None:
    msg = metres_to_image(random_depth_m(), "32FC1")
    msg.encoding = encoding
    with pytest.raises(DepthImageError, match=f"unsupported depth encoding {encoding!r}"):
        depth_to_metres(msg)


def test_data_length_mismatch_is_named() -> None:
    msg = metres_to_image(random_depth_m(4, 5), "32FC1")
    msg.data = msg.data[:-1]
    with pytest.raises(DepthImageError, match=r"data length 79 does not match .* = 80 bytes"):
        depth_to_metres(msg)


def test_step_too_short_is_named() -> None:
    msg = metres_to_image(random_depth_m(4, 5), "16UC1")
    msg.step = 9
    with pytest.raises(DepthImageError, match="step 9 is shorter than one row"):
        image_to_array(msg)


@pytest.mark.parametrize(("height", "width"), [(0, 0), (0, 10), (10, 0)])
def test_zero_size_is_named(height: int, width: int) -> None:
    msg = Image(height=height, width=width, encoding="32FC1", step=width * 4)
    with pytest.raises(DepthImageError, match="zero size"):
        depth_to_metres(msg)


def test_writing_refuses_bad_arrays() -> None:
    with pytest.raises(DepthImageError, match="must be 2-D"):
        array_to_image(np.zeros((2, 3, 1), np.float32), "32FC1")
    with pytest.raises(DepthImageError, match="zero size"):
        array_to_image(np.zeros((0, 3), np.float32), "32FC1")
    with pytest.raises(DepthImageError, match="cannot store float32 pixels as 16UC1"):
        array_to_image(np.zeros((2, 3), np.float32), "16UC1")
    with pytest.raises(DepthImageError, match=r"beyond 65\.535 m"):
        metres_to_image(np.full((2, 2), 70.0, np.float32), "16UC1")
    with pytest.raises(DepthImageError, match="unsupported depth encoding 'bgr8'"):
        metres_to_image(np.ones((2, 2), np.float32), "bgr8")


def test_camera_info_round_trip_and_checks() -> None:
    info = intrinsics_to_camera_info(KINECT_V1)
    assert camera_info_to_intrinsics(info) == KINECT_V1
    assert list(info.p)[:3] == [KINECT_V1.fx, 0.0, KINECT_V1.cx]
    image = metres_to_image(np.ones((480, 640), np.float32))
    check_camera_info_matches(info, image)
    small = metres_to_image(np.ones((240, 320), np.float32))
    with pytest.raises(DepthImageError, match="camera_info is 640x480 but the depth image is 320x"):
        check_camera_info_matches(info, small)
    with pytest.raises(DepthImageError, match="no valid focal lengths"):
        camera_info_to_intrinsics(CameraInfo(width=640, height=480))
    with pytest.raises(DepthImageError, match="zero size"):
        camera_info_to_intrinsics(CameraInfo())


def test_intrinsics_project_deproject_and_resize() -> None:
    cam = CameraIntrinsics(width=640, height=480, fx=580.0, fy=570.0, cx=320.0, cy=240.0)
    points = np.array([[0.1, -0.05, 0.7], [0.0, 0.0, 1.0]])
    pixels = cam.project(points)
    np.testing.assert_allclose(pixels[1], [320.0, 240.0])
    np.testing.assert_allclose(cam.deproject(pixels, points[:, 2]), points)
    half = cam.scaled(320, 240)
    # The same 3-D point lands on the same place of the resized image (pixel centres convention).
    np.testing.assert_allclose((half.project(points) + 0.5) * 2 - 0.5, pixels)
    crop = cam.cropped(100, 50, 224, 224)
    np.testing.assert_allclose(crop.project(points), pixels - [100, 50])
    with pytest.raises(ValueError, match="outside the 640x480 image"):
        cam.cropped(500, 0, 224, 224)
    with pytest.raises(ValueError, match="behind the camera"):
        cam.project(np.array([0.0, 0.0, -1.0]))
    with pytest.raises(ValueError, match="focal lengths must be positive"):
        CameraIntrinsics(width=10, height=10, fx=0.0, fy=1.0, cx=5.0, cy=5.0)


def test_mono8_image_holds_labels_row_by_row_and_refuses_values_outside_a_byte() -> None:
    from gqstn_ros.depth_image import mono8_image

    labels = np.array([[0, 1, 2], [255, 7, 0]], dtype=np.int64)
    header = Header(frame_id="camera_depth_optical_frame")
    msg = mono8_image(labels, header)
    assert (msg.height, msg.width, msg.step, msg.encoding) == (2, 3, 3, "mono8")
    assert msg.header.frame_id == "camera_depth_optical_frame"
    assert np.array_equal(np.frombuffer(bytes(msg.data), np.uint8).reshape(2, 3), labels)
    with pytest.raises(ValueError, match=r"in \[0, 255\], got \[0, 256\]"):
        mono8_image(np.array([[0, 256]]))
    with pytest.raises(ValueError, match="must be 2-D"):
        mono8_image(np.zeros(4, np.uint8))
