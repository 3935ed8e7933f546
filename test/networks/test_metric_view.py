"""The metric view: any camera shows the network the table at the scale it was trained at."""

from __future__ import annotations

import numpy as np
import pytest
from model_support import checkpoints_for_gripper

from gqstn_ros.camera_model import KINECT_V1, CameraIntrinsics
from gqstn_ros.detection import PlanningError
from gqstn_ros.gripper import default_gripper
from gqstn_ros.networks.planners import load_network_planner
from gqstn_ros.preprocessing import (
    NetworkInputConfig,
    pixel_window_in_metres,
    view_window,
    working_depth,
)

REALSENSE_D415 = CameraIntrinsics(1280, 720, 1004.0, 1004.0, 639.5, 359.5)
AZURE_KINECT_NFOV = CameraIntrinsics(640, 576, 504.0, 504.0, 319.5, 287.5)


def box_on_table(intrinsics: CameraIntrinsics, table_depth: float) -> np.ndarray:
    """A camera looking straight down at a table `table_depth` m away with a 50 x 30 x 50 mm
    box on it, centred 20 mm right and 10 mm up of the optical axis, turned 1.3 rad: its top
    face rendered exactly (pinhole), float32 metres."""
    v, u = np.mgrid[0 : intrinsics.height, 0 : intrinsics.width]
    top = table_depth - 0.05
    x = (u - intrinsics.cx) * top / intrinsics.fx - 0.02
    y = (v - intrinsics.cy) * top / intrinsics.fy + 0.01
    cos, sin = np.cos(1.3), np.sin(1.3)
    along, across = cos * x + sin * y, -sin * x + cos * y
    inside = (np.abs(along) <= 0.025) & (np.abs(across) <= 0.015)
    return np.where(inside, top, table_depth).astype(np.float32)


def test_metric_window_covers_the_same_metres_for_every_camera() -> None:
    config = NetworkInputConfig().with_metric_view()
    assert config.view_size_m == pytest.approx(pixel_window_in_metres(320))
    for intrinsics, table in ((KINECT_V1, 0.7), (REALSENSE_D415, 0.7), (KINECT_V1, 1.0)):
        depth = box_on_table(intrinsics, table)
        window = view_window(depth, intrinsics, config)
        assert working_depth(depth, intrinsics) == pytest.approx(table)
        assert window.side_px * table / intrinsics.fx == pytest.approx(config.view_size_m)
        assert (window.center_u, window.center_v) == (intrinsics.cx, intrinsics.cy)
    # The Kinect at the training depth keeps the paper's 320-pixel window.
    kinect = view_window(box_on_table(KINECT_V1, 0.7), KINECT_V1, config)
    assert kinect.side_px == pytest.approx(320.0)
    pixels = view_window(box_on_table(REALSENSE_D415, 0.7), REALSENSE_D415, NetworkInputConfig())
    assert pixels.side_px == 320.0


def _metric_grasp(planner, intrinsics: CameraIntrinsics, table: float) -> np.ndarray:
    (grasp,) = planner.plan(box_on_table(intrinsics, table), intrinsics)
    z = grasp.depth
    return np.array(
        [
            (grasp.center_px[0] - intrinsics.cx) * z / intrinsics.fx,
            (grasp.center_px[1] - intrinsics.cy) * z / intrinsics.fy,
            grasp.width_px * z / intrinsics.fx,
            grasp.angle,
            table - z,  # grasp height above the table
        ]
    )


def _differences(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    centre = float(np.linalg.norm(a[:2] - b[:2]))
    angle = abs((a[3] - b[3] + np.pi / 2) % np.pi - np.pi / 2)
    return centre, float(abs(a[2] - b[2])), float(angle)


def test_same_scene_seen_by_other_cameras_gives_the_same_grasp_in_metres(models_dir) -> None:
    metric = load_network_planner("gqstn", models_dir)
    reference = _metric_grasp(metric, KINECT_V1, 0.7)
    for intrinsics, table in ((REALSENSE_D415, 0.7), (AZURE_KINECT_NFOV, 0.9), (KINECT_V1, 1.0)):
        grasp = _metric_grasp(metric, intrinsics, table)
        centre, width, angle = _differences(grasp, reference)
        assert centre < 0.004 and width < 0.005 and angle < 0.2, (intrinsics, grasp, reference)
        assert abs(grasp[4] - reference[4]) < 0.005
    # The fixed pixel window shows the D415's view 1.7 times magnified: another grasp.
    pixel = load_network_planner("gqstn", models_dir, view_scale="checkpoint")
    centre, width, angle = _differences(_metric_grasp(pixel, REALSENSE_D415, 0.7), reference)
    assert centre > 0.004 or width > 0.005 or angle > 0.2


def test_camera_too_close_for_the_metric_view_is_refused(models_dir) -> None:
    planner = load_network_planner("gqstn", models_dir)
    tiny = CameraIntrinsics(160, 120, 580.0, 580.0, 79.5, 59.5)
    with pytest.raises(PlanningError, match="too close to the table"):
        planner.plan(box_on_table(tiny, 0.7), tiny)


def test_bad_view_scale_is_refused(models_dir) -> None:
    with pytest.raises(ValueError, match="view_scale must be one of"):
        load_network_planner("gqstn", models_dir, view_scale="zoomed")
    with pytest.raises(ValueError, match="view_size_m"):
        NetworkInputConfig(view_size_m=-1.0)


def test_a_view_far_outside_the_trained_depths_is_refused(models_dir, tmp_path) -> None:
    recorded = checkpoints_for_gripper(
        models_dir, tmp_path, default_gripper(), ["gqstn.pt"], depth_range=(0.5, 0.9)
    )
    planner = load_network_planner("gqstn", recorded)
    assert planner.trained_depth_range == pytest.approx((0.5, 0.9))
    assert len(planner.plan(box_on_table(KINECT_V1, 1.2), KINECT_V1)) == 1  # within the slack
    with pytest.raises(PlanningError) as refused:
        planner.plan(box_on_table(KINECT_V1, 3.0), KINECT_V1)
    message = str(refused.value)
    assert "working depth 3.0" in message and "0.50-0.90 m" in message and "gqstn" in message
    # A checkpoint that records no depths (trained before they were recorded) plans at any.
    assert load_network_planner("gqstn", models_dir).trained_depth_range is None
