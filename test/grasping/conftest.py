import pytest

from gqstn_ros.camera_model import CameraIntrinsics
from gqstn_ros.grasping import primitives


@pytest.fixture
def small_camera() -> CameraIntrinsics:
    return CameraIntrinsics(width=160, height=120, fx=290.0, fy=290.0, cx=79.5, cy=59.5)


@pytest.fixture
def box_on_table():
    shape = primitives.box((0.04, 0.06, 0.05))
    pose = primitives.resting_pose(shape.vertices)
    return shape, pose
