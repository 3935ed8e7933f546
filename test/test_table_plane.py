"""The table plane: the surface the objects stand on, also when a floor fills most of the view."""

from __future__ import annotations

import numpy as np
import pytest

from gqstn_ros.camera_model import CameraIntrinsics
from gqstn_ros.grasping.baselines import MinorAxisPlanner
from gqstn_ros.grasping.grasp import grasps_2d_to_3d
from gqstn_ros.preprocessing import working_depth
from gqstn_ros.table_plane import (
    NoTablePlaneError,
    TablePlaneConfig,
    fit_table_plane,
    frame_table_plane,
)

# A wide camera (87 x 58 degrees, as a RealSense D455) 1.0 m above a table.
WIDE = CameraIntrinsics(848, 480, 447.0, 447.0, 423.5, 239.5)
TABLE_DEPTH = 1.0
FLOOR_DEPTH = 1.75


def tabletop(
    table_half_x: float = 0.25,
    box_half: tuple[float, float] = (0.04, 0.015),
    box_height: float = 0.05,
) -> np.ndarray:
    """Looking straight down: a table band 2 * `table_half_x` m wide (running out of the view
    at the top and bottom), the floor beyond its edges, a box centred on the optical axis."""
    v, u = np.mgrid[0 : WIDE.height, 0 : WIDE.width]
    ray_x, ray_y = (u - WIDE.cx) / WIDE.fx, (v - WIDE.cy) / WIDE.fy
    depth = np.full(u.shape, FLOOR_DEPTH)
    on_table = np.abs(ray_x * TABLE_DEPTH) <= table_half_x
    depth[on_table] = TABLE_DEPTH
    top = TABLE_DEPTH - box_height
    on_box = (np.abs(ray_x * top) <= box_half[0]) & (np.abs(ray_y * top) <= box_half[1])
    depth[on_box] = top
    return depth.astype(np.float32)


def test_the_floor_filling_most_of_the_view_is_not_the_table() -> None:
    depth = tabletop()
    table_share = np.mean(depth == TABLE_DEPTH)
    assert 0.2 < table_share < 0.5  # the floor fills more of the view: its median
    assert np.median(depth) == pytest.approx(FLOOR_DEPTH)
    plane = frame_table_plane(depth, WIDE)
    assert plane.depth_at(WIDE, WIDE.cx, WIDE.cy) == pytest.approx(TABLE_DEPTH, abs=1e-4)
    assert working_depth(depth, WIDE) == pytest.approx(TABLE_DEPTH, abs=1e-4)


def test_the_naive_grasp_lands_on_the_object_beside_a_floor() -> None:
    (grasp,) = MinorAxisPlanner().plan(tabletop(), WIDE)
    centres, axes, widths = grasps_2d_to_3d(
        np.array([grasp.center_px]),
        np.array([grasp.angle]),
        np.array([grasp.width_px]),
        np.array([grasp.depth]),
        WIDE,
    )
    assert np.allclose(centres[0, :2], 0.0, atol=0.004)  # on the box, not on the table band
    assert abs(axes[0, 1]) > 0.99  # across the box's 30 mm side
    assert widths[0] == pytest.approx(0.03 + 0.012, abs=0.006)  # the box plus the margin
    assert TABLE_DEPTH - 0.05 < grasp.depth < TABLE_DEPTH


def test_a_large_object_inside_the_view_stays_an_object() -> None:
    # A 60 x 40 cm crate top, 16 % of the frame: large, but the table runs on beyond it.
    depth = tabletop(table_half_x=2.0, box_half=(0.3, 0.2), box_height=0.15)
    assert np.mean(depth < TABLE_DEPTH) > TablePlaneConfig().min_share
    assert working_depth(depth, WIDE) == pytest.approx(TABLE_DEPTH, abs=1e-4)


def test_a_frame_without_a_plane_is_refused_and_the_working_depth_falls_back() -> None:
    with pytest.raises(NoTablePlaneError, match="no table plane"):
        fit_table_plane(np.full((4, 4, 3), np.nan))
    # No pixel with a depth: no plane, and the working depth is the frame's median.
    assert working_depth(np.zeros((WIDE.height, WIDE.width), np.float32), WIDE) == 0.0


def test_the_config_is_validated() -> None:
    with pytest.raises(ValueError, match="min_share"):
        TablePlaneConfig(min_share=0.0)
    with pytest.raises(ValueError, match="max_angle_deg"):
        TablePlaneConfig(max_angle_deg=90.0)
    with pytest.raises(ValueError, match="inlier_distance"):
        TablePlaneConfig(inlier_distance=-1.0)


def test_a_plane_through_the_camera_is_no_table() -> None:
    # Every point on the rays of one image column: a plane through the camera fits them all.
    depths = np.linspace(0.8, 1.8, 60)
    column = np.stack([-0.5 * depths, np.linspace(-0.3, 0.3, 60) * depths, depths], axis=-1)
    with pytest.raises(NoTablePlaneError, match="cannot be a table"):
        fit_table_plane(column.reshape(6, 10, 3))


def test_the_first_fit_starts_from_the_densest_depths_not_the_median() -> None:
    # A view split between a table (47 %) and a floor beyond it (53 %), both tilted so that
    # their depths spread: the median lies in the floor's band or between the two.
    _, u = np.mgrid[0 : WIDE.height, 0 : WIDE.width]
    ray_x = (u - WIDE.cx) / WIDE.fx
    slope = 0.15  # depth grows along x
    table = 0.85 / (1.0 - slope * ray_x)
    floor = 1.6 / (1.0 - slope * ray_x)
    depth = np.where(u < 0.47 * WIDE.width, table, floor).astype(np.float32)
    plane = frame_table_plane(depth, WIDE)
    assert plane.depth_at(WIDE, 100.0, WIDE.cy) == pytest.approx(table[240, 100], abs=1e-3)


def test_boxes_of_one_height_scattered_over_the_view_are_not_the_table() -> None:
    # A Kinect 0.7 m above a table; two 8 cm boxes at opposite edges of the view, together
    # over 15 % of it and spanning its width, but not one surface.
    kinect = CameraIntrinsics(640, 480, 580.0, 580.0, 319.5, 239.5)
    depth = np.full((480, 640), 0.70, dtype=np.float32)
    depth[100:380, 0:110] = 0.62
    depth[100:380, 530:640] = 0.62
    assert np.mean(depth < 0.7) > TablePlaneConfig().min_share
    assert working_depth(depth, kinect) == pytest.approx(0.70, abs=1e-4)


def test_a_mid_height_object_inside_the_first_band_does_not_pull_the_fit_off_the_table() -> None:
    kinect = CameraIntrinsics(640, 480, 580.0, 580.0, 319.5, 239.5)
    depth = np.full((480, 640), 0.70, dtype=np.float32)
    depth[150:330, 220:420] = 0.66  # a 4 cm box, 12 % of the view, within 5 cm of the table
    plane = frame_table_plane(depth, kinect)
    assert plane.depth_at(kinect, 10.0, 10.0) == pytest.approx(0.70, abs=1e-4)
