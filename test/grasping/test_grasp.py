import numpy as np
import pytest

from gqstn_ros.camera_model import KINECT_V1, CameraIntrinsics
from gqstn_ros.grasping.grasp import HAND_POSE_DEPTH, Grasp2D, Grasp3D


def test_2d_3d_round_trip_and_metric_width():
    grasp = Grasp2D(center_px=(400.0, 100.0), angle=0.7, width_px=58.0, depth=0.7)
    grasp_3d = grasp.to_3d(KINECT_V1)
    # 58 px at 0.7 m with f = 580 px is 7 cm.
    assert grasp_3d.width == pytest.approx(0.07, rel=1e-9)
    assert grasp_3d.depth == pytest.approx(0.7)
    assert grasp_3d.axis[2] == 0.0
    back = grasp_3d.to_2d(KINECT_V1)
    np.testing.assert_allclose(back.center_px, grasp.center_px, atol=1e-9)
    assert back.angle == pytest.approx(grasp.angle)
    assert back.width_px == pytest.approx(grasp.width_px)


def test_anisotropic_focal_lengths_round_trip():
    camera = CameraIntrinsics(width=100, height=80, fx=100.0, fy=150.0, cx=50.0, cy=40.0)
    grasp = Grasp2D(center_px=(30.0, 20.0), angle=-1.0, width_px=40.0, depth=0.5)
    back = grasp.to_3d(camera).to_2d(camera)
    assert back.angle == pytest.approx(grasp.angle)
    assert back.width_px == pytest.approx(grasp.width_px)


def test_hand_pose_row_layout():
    grasp = Grasp2D(center_px=(12.0, 34.0), angle=0.25, width_px=20.0, depth=0.6)
    row = grasp.to_hand_pose(KINECT_V1)
    assert row.shape == (7,)
    assert row[0] == 34.0 and row[1] == 12.0 and row[HAND_POSE_DEPTH] == 0.6
    assert row[4] == pytest.approx(34.0 - KINECT_V1.cy)
    assert Grasp2D.from_hand_pose(row) == grasp


def test_grasp3d_pose_frame():
    grasp = Grasp3D(center=[0.0, 0.1, 0.6], axis=[0.0, 2.0, 0.0], width=0.05)
    pose = grasp.pose
    np.testing.assert_allclose(pose[:3, 0], [0, 0, 1])
    np.testing.assert_allclose(pose[:3, 1], [0, 1, 0])
    np.testing.assert_allclose(pose[:3, :3] @ pose[:3, :3].T, np.eye(3), atol=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"depth": 0.0}, "depth"),
        ({"width_px": -1.0}, "width_px"),
        ({"angle": np.nan}, "angle"),
    ],
)
def test_bad_grasp2d_raises(kwargs, message):
    args = {"center_px": (1.0, 2.0), "angle": 0.0, "width_px": 10.0, "depth": 0.5} | kwargs
    with pytest.raises(ValueError, match=message):
        Grasp2D(**args)


def test_bad_grasp3d_raises():
    with pytest.raises(ValueError, match="perpendicular"):
        Grasp3D(center=[0, 0, 1], axis=[0, 0, 1], width=0.05)
    with pytest.raises(ValueError, match="axis"):
        Grasp3D(center=[0, 0, 1], axis=[0, 0, 0], width=0.05)
