"""The floors: the naive minor-axis grasp and the random grasp on the object."""

from __future__ import annotations

import numpy as np
import pytest

from gqstn_ros.camera_model import KINECT_V1, CameraIntrinsics
from gqstn_ros.detection import GraspPlanner, PlanningError
from gqstn_ros.grasping.baselines import (
    MinorAxisPlanner,
    ObjectBlobConfig,
    RandomPixelPlanner,
    find_object_blob,
)
from gqstn_ros.grasping.grasp import grasps_2d_to_3d
from gqstn_ros.gripper import ROBOTIQ_2F85

BOX_ANGLE = 0.4  # rad, the long side's direction in the image


def box_scene(intrinsics: CameraIntrinsics = KINECT_V1, table: float = 0.7) -> np.ndarray:
    """Looking down at a table `table` m away: a 60 x 30 x 40 mm box (long side along
    BOX_ANGLE) centred 30 mm right of the optical axis, top face rendered exactly."""
    v, u = np.mgrid[0 : intrinsics.height, 0 : intrinsics.width]
    top = table - 0.04
    x = (u - intrinsics.cx) * top / intrinsics.fx - 0.03
    y = (v - intrinsics.cy) * top / intrinsics.fy
    along = np.cos(BOX_ANGLE) * x + np.sin(BOX_ANGLE) * y
    across = -np.sin(BOX_ANGLE) * x + np.cos(BOX_ANGLE) * y
    inside = (np.abs(along) <= 0.03) & (np.abs(across) <= 0.015)
    return np.where(inside, top, table).astype(np.float32)


def test_minor_axis_grasp_closes_across_the_short_side_at_the_centroid() -> None:
    planner = MinorAxisPlanner()
    assert isinstance(planner, GraspPlanner)
    (grasp,) = planner.plan(box_scene(), KINECT_V1)
    centres, axes, widths = grasps_2d_to_3d(
        np.array([grasp.center_px]),
        np.array([grasp.angle]),
        np.array([grasp.width_px]),
        np.array([grasp.depth]),
        KINECT_V1,
    )
    assert np.allclose(centres[0, :2], [0.03, 0.0], atol=0.002)
    across = np.array([-np.sin(BOX_ANGLE), np.cos(BOX_ANGLE)])
    assert abs(abs(axes[0, :2] @ across) - 1.0) < 0.01  # jaws close across the 30 mm side
    assert widths[0] == pytest.approx(0.030 + ObjectBlobConfig().width_margin, abs=0.004)
    assert 0.7 - 0.04 < grasp.depth < 0.7 - 0.006  # between the box top and the table


def test_random_grasp_is_on_the_object_and_reproducible() -> None:
    depth = box_scene()
    first = [RandomPixelPlanner(seed=3).plan(depth, KINECT_V1)[0] for _ in range(2)]
    planner = RandomPixelPlanner(seed=3)
    again = [planner.plan(depth, KINECT_V1)[0] for _ in range(2)]
    assert first[0].center_px == again[0].center_px
    assert again[0].center_px != again[1].center_px  # each call draws anew
    blob = find_object_blob(depth, KINECT_V1, ObjectBlobConfig())
    for grasp in again:
        distance = np.linalg.norm(blob.pixels - np.array(grasp.center_px), axis=1).min()
        assert distance < 2.0
        width_m = grasp.width_px * grasp.depth / KINECT_V1.fx
        assert width_m == pytest.approx(ROBOTIQ_2F85.max_width, rel=0.02)


def test_empty_table_is_no_object() -> None:
    empty = np.full((480, 640), 0.7, dtype=np.float32)
    for planner in (MinorAxisPlanner(), RandomPixelPlanner()):
        with pytest.raises(PlanningError, match="no object above the table"):
            planner.plan(empty, KINECT_V1)


def test_blob_config_is_validated() -> None:
    with pytest.raises(ValueError, match="width_margin"):
        ObjectBlobConfig(width_margin=0.0)


def test_heights_above_a_tilted_table_match_the_point_cloud() -> None:
    from gqstn_ros.grasping.baselines import heights_above_table
    from gqstn_ros.table_plane import fit_table_plane

    # A table tilted about the camera's x axis (depth grows with v), a box 40 mm above it.
    v, u = np.mgrid[0 : KINECT_V1.height, 0 : KINECT_V1.width]
    ray_y = (v - KINECT_V1.cy) / KINECT_V1.fy
    slope = 0.2  # table: z = 0.7 + slope * y
    depth = (0.7 / (1.0 - slope * ray_y)).astype(np.float32)
    box = (np.abs(u - 320) < 30) & (np.abs(v - 240) < 20)
    depth[box] = (0.66 / (1.0 - slope * ray_y[box])).astype(np.float32)
    heights = heights_above_table(depth, KINECT_V1)
    points = KINECT_V1.point_cloud(depth.astype(np.float64))
    plane = fit_table_plane(points)
    np.testing.assert_allclose(heights, points @ plane.normal - plane.offset, atol=1e-5)
    assert np.abs(heights[~box]).max() < 1e-4
    tilt = np.cos(np.arctan(slope))  # the box stands 40 mm deeper along z, less along the normal
    np.testing.assert_allclose(heights[box], 0.04 * tilt, atol=1e-4)
