"""PlannedGrasp -> gqstn_msgs/Grasp, base_link transform, gripper markers and debug image."""

from __future__ import annotations

import math

import numpy as np
import pytest
from std_msgs.msg import Header

from gqstn_ros.camera_model import KINECT_V1
from gqstn_ros.depth_image import depth_to_metres
from gqstn_ros.detection import PlannedGrasp
from gqstn_ros.geometry import RigidTransform
from gqstn_ros.gripper import ROBOTIQ_2F85
from gqstn_ros.nodes.grasp_messages import (
    grasp_debug_image,
    grasp_in_frame,
    gripper_markers,
    planned_grasp_to_msg,
    pose_to_transform,
)

HEADER = Header(frame_id="camera_depth_optical_frame")


def planned(q_value: float = 0.8, angle: float = 0.3) -> PlannedGrasp:
    thumbnail = np.linspace(0.6, 0.7, 32 * 32, dtype=np.float32).reshape(32, 32)
    return PlannedGrasp((400.0, 200.0), angle, 60.0, 0.6, q_value, thumbnail, "gqstn")


def test_planned_grasp_becomes_the_design_message() -> None:
    msg = planned_grasp_to_msg(planned(), KINECT_V1, HEADER, 0.5, 0.012)
    assert msg.header.frame_id == "camera_depth_optical_frame"
    assert msg.robust and msg.q_value == pytest.approx(0.8) and msg.planner == "gqstn"
    assert list(msg.center_px) == [400.0, 200.0] and msg.width_px == 60.0
    # Pinhole geometry: centre at depth 0.6 m, opening 60 px * 0.6 m / 580 px.
    position = msg.pose.position
    assert (position.x, position.y, position.z) == pytest.approx(
        ((400 - 319.5) * 0.6 / 580, (200 - 239.5) * 0.6 / 580, 0.6)
    )
    assert msg.width == pytest.approx(60 * 0.6 / 580)
    rotation = pose_to_transform(msg.pose).rotation
    np.testing.assert_allclose(rotation[:, 0], [0, 0, 1], atol=1e-9)  # approach: optical axis
    np.testing.assert_allclose(rotation[:, 1], [math.cos(0.3), math.sin(0.3), 0], atol=1e-9)
    thumbnail = depth_to_metres(msg.thumbnail)
    np.testing.assert_array_equal(thumbnail, planned().thumbnail)
    assert not planned_grasp_to_msg(planned(0.4), KINECT_V1, HEADER, 0.5, 0.0).robust


def test_grasp_in_base_link() -> None:
    msg = planned_grasp_to_msg(planned(), KINECT_V1, HEADER, 0.5, 0.0)
    # Camera 0.7 m above base_link's origin looking down (x_cam = -y_base, z_cam = -z_base).
    hand_eye = RigidTransform.from_pose((0.5, 0.0, 0.7), (0.0, 0.707107, -0.707107, 0.0))
    moved = grasp_in_frame(msg, hand_eye, "base_link")
    assert moved.header.frame_id == "base_link" and msg.header.frame_id != "base_link"
    expected = hand_eye.compose(pose_to_transform(msg.pose))
    base = pose_to_transform(moved.pose)
    np.testing.assert_allclose(base.translation, expected.translation, atol=1e-9)
    assert base.translation[2] == pytest.approx(0.7 - 0.6, abs=1e-5)  # 10 cm above the base
    np.testing.assert_allclose(base.rotation[:, 0], [0, 0, -1], atol=1e-5)  # approach: down
    assert moved.q_value == msg.q_value and list(moved.center_px) == list(msg.center_px)


def test_gripper_markers_put_fingers_around_the_grasp() -> None:
    msg = planned_grasp_to_msg(planned(), KINECT_V1, HEADER, 0.5, 0.0)
    markers = gripper_markers(msg).markers
    assert [m.id for m in markers] == [0, 1, 2, 3]
    fingers = [
        np.array([m.pose.position.x, m.pose.position.y, m.pose.position.z]) for m in markers[:2]
    ]
    centre = pose_to_transform(msg.pose).translation
    gap = np.linalg.norm(fingers[1] - fingers[0])
    assert gap == pytest.approx(msg.width + ROBOTIQ_2F85.finger_thickness, abs=1e-6)
    np.testing.assert_allclose((fingers[0] + fingers[1]) / 2 - centre, [0, 0, -0.02], atol=1e-6)
    palm = markers[2]
    assert palm.pose.position.z == pytest.approx(centre[2] - ROBOTIQ_2F85.finger_depth - 0.01)
    assert markers[0].color.g > markers[0].color.r  # robust: green
    assert "q=0.80" in markers[3].text


def test_debug_image_draws_the_jaw_line() -> None:
    depth = np.full((480, 640), 0.7, dtype=np.float32)
    msg = planned_grasp_to_msg(planned(angle=0.0), KINECT_V1, HEADER, 0.5, 0.0)
    image = grasp_debug_image(depth, msg, HEADER)
    assert (image.encoding, image.width, image.height, image.step) == ("bgr8", 640, 480, 1920)
    pixels = np.frombuffer(bytes(image.data), dtype=np.uint8).reshape(480, 640, 3)
    assert pixels[200, 400, 1] > 150 and pixels[200, 400, 0] < 100  # green on the jaw line
    assert pixels[400, 100].tolist() == [0, 0, 0]  # far from the grasp: the (flat) depth
