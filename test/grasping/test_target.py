"""Target selection geometry: the target's pixels, the view centre, the other objects, and the
finger footprints that must clear them."""

from __future__ import annotations

import numpy as np
import pytest

from gqstn_ros.camera_model import KINECT_V1
from gqstn_ros.grasping.target import (
    FINGERTIP_BELOW_CENTER_M,
    MIN_VISIBLE_TARGET_PIXELS,
    GraspTarget,
    finger_clearance,
    finger_footprints,
    target_visibility,
)
from gqstn_ros.gripper import default_gripper

SHAPE = (480, 640)
TABLE_M = 0.7


def two_boxes() -> tuple[np.ndarray, np.ndarray]:
    """Table at 0.7 m; box A (u 200-249, v 200-259, top 0.64 m) and box B (u 360-399,
    v 210-249, top 0.65 m); and B's mask."""
    depth = np.full(SHAPE, TABLE_M, dtype=np.float32)
    depth[200:260, 200:250] = 0.64
    depth[210:250, 360:400] = 0.65
    mask = np.zeros(SHAPE, dtype=np.uint8)
    mask[210:250, 360:400] = 1
    return depth, mask


def test_mask_and_roi_make_the_region() -> None:
    _, mask = two_boxes()
    by_mask = GraspTarget.from_mask_and_roi(SHAPE, mask)
    assert by_mask.pixel_count == 40 * 40 and by_mask.roi is None
    by_roi = GraspTarget.from_mask_and_roi(SHAPE, None, (10, 20, 30, 25))
    assert by_roi.pixel_count == 20 * 5 and by_roi.roi == (10, 20, 30, 25)
    both = GraspTarget.from_mask_and_roi(SHAPE, mask, (380, 0, 640, 230))
    assert both.pixel_count == 20 * 20
    assert both.bounds() == (380, 210, 400, 230)


@pytest.mark.parametrize(
    ("mask_shape", "roi", "message"),
    [
        ((480, 639), None, "mask is 639x480, frame 640x480"),
        (None, (600, 0, 641, 10), "not inside the 640x480 frame"),
        (None, (5, 5, 5, 10), "not inside"),
        (SHAPE, (0, 0, 100, 100), "no nonzero pixel inside the region of interest"),
        (None, None, "needs a mask, a region of interest or both"),
    ],
)
def test_a_target_that_does_not_fit_is_refused(mask_shape, roi, message) -> None:
    mask = None
    if mask_shape is not None:
        mask = np.zeros(mask_shape, dtype=np.uint8)
        mask[-5:, -5:] = 1
    with pytest.raises(ValueError, match=message):
        GraspTarget.from_mask_and_roi(SHAPE, mask, roi)


def test_contains_takes_the_pixel_holding_each_centre() -> None:
    target = GraspTarget.from_mask_and_roi(SHAPE, None, (10, 20, 12, 22))  # pixels 10-11, 20-21
    centers = np.array(
        [[10.0, 20.0], [11.49, 21.49], [9.49, 20.0], [11.5, 20.0], [-3.0, 20.0], [np.nan, 1.0]]
    )
    assert target.contains(centers).tolist() == [True, True, False, False, False, False]


def test_center_bounds_and_nearest_pixels() -> None:
    _, mask = two_boxes()
    target = GraspTarget.from_mask_and_roi(SHAPE, mask)
    assert target.center_px() == (379.5, 229.5)
    assert target.bounds(5) == (355, 205, 405, 255)
    corner = GraspTarget.from_mask_and_roi(SHAPE, None, (0, 0, 4, 4))
    assert corner.bounds(10) == (0, 0, 14, 14)  # clipped to the frame
    nearest = target.nearest_pixels(np.array([[300.0, 230.0], [380.0, 100.0], [385.0, 220.0]]))
    np.testing.assert_array_equal(nearest, [[360, 230], [380, 210], [385, 220]])


def test_obstacles_are_the_other_objects_only() -> None:
    depth, mask = two_boxes()
    obstacles = GraspTarget.from_mask_and_roi(SHAPE, mask).obstacles(depth, KINECT_V1)
    expected = np.zeros(SHAPE, dtype=bool)
    expected[200:260, 200:250] = True  # box A; not B (the target), not the table
    np.testing.assert_array_equal(obstacles, expected)


def test_a_target_on_the_bare_table_or_unmeasured_is_not_visible() -> None:
    depth, mask = two_boxes()
    target = GraspTarget.from_mask_and_roi(SHAPE, mask)
    assert target_visibility(target, depth, KINECT_V1) == 40 * 40
    on_table = GraspTarget.from_mask_and_roi(SHAPE, None, (500, 400, 520, 420))
    assert target_visibility(on_table, depth, KINECT_V1) == 0
    valid = np.ones(SHAPE, dtype=bool)
    valid[210:250, 360:400] = False  # the camera measured none of B's pixels
    valid[215, 365] = True
    assert target_visibility(target, depth, KINECT_V1, valid) == 1 < MIN_VISIBLE_TARGET_PIXELS


def test_finger_footprints_sit_at_the_jaws() -> None:
    gripper = default_gripper()
    depth_m, focal = 0.6, 600.0  # 1000 px per metre
    prints = finger_footprints(
        np.array([[100.0, 50.0]]), np.array([0.0]), np.array([60.0]), np.array([depth_m]),
        gripper, focal,
    )  # fmt: skip
    assert prints.shape[:2] == (1, 2)
    thickness, width = gripper.finger_thickness * 1000, gripper.finger_width * 1000
    left, right = prints[0, 0], prints[0, 1]
    half = thickness / 2
    np.testing.assert_allclose([left[:, 0].min(), left[:, 0].max()], [70 - half, 70 + half])
    np.testing.assert_allclose([right[:, 0].min(), right[:, 0].max()], [130 - half, 130 + half])
    np.testing.assert_allclose(
        [left[:, 1].min(), left[:, 1].max()], [50 - width / 2, 50 + width / 2]
    )
    turned = finger_footprints(
        np.array([[100.0, 50.0]]), np.array([np.pi / 2]), np.array([60.0]), np.array([depth_m]),
        gripper, focal,
    )  # fmt: skip
    np.testing.assert_allclose(turned[0, :, :, 1].mean(axis=1), [20.0, 80.0], atol=1e-9)


def test_a_finger_on_a_taller_neighbour_is_rejected_and_one_beside_it_is_not() -> None:
    depth, mask = two_boxes()
    target = GraspTarget.from_mask_and_roi(SHAPE, mask)
    obstacles = target.obstacles(depth, KINECT_V1)
    focal = 0.5 * (KINECT_V1.fx + KINECT_V1.fy)
    gripper = default_gripper()
    # Across B along u at its top: jaws at u 380 -+ 30 (fingers at 350 and 410) clear A.
    # A grasp on B centred far enough left that the left finger lands on A (u 200-249, nearer
    # than the fingertips at 0.66 + 0.005 m) is rejected; the same grasp turned along v is not.
    centers = np.array([[380.0, 230.0], [280.0, 230.0], [280.0, 230.0]])
    angles = np.array([0.0, 0.0, np.pi / 2])
    widths = np.array([60.0, 70.0, 70.0])
    depths = np.full(3, 0.66)
    clear = finger_clearance(depth, obstacles, centers, angles, widths, depths, gripper, focal)
    assert clear.tolist() == [True, False, True]
    # A neighbour below the fingertips is no obstacle: a grasp deep under A's top is clear
    # only when A is lower than its fingertips.
    low = depth.copy()
    low[200:260, 200:250] = 0.66 + FINGERTIP_BELOW_CENTER_M + 0.002
    low_obstacles = target.obstacles(low, KINECT_V1)
    assert finger_clearance(
        low, low_obstacles, centers[1:2], angles[1:2], widths[1:2], depths[1:2], gripper, focal
    ).tolist() == [True]
    # The target's own pixels are never obstacles: a grasp whose finger lands on B is clear.
    on_b = finger_clearance(
        depth, obstacles, np.array([[370.0, 230.0]]), np.array([0.0]), np.array([20.0]),
        np.array([0.66]), gripper, focal,
    )  # fmt: skip
    assert on_b.tolist() == [True]


def test_objects_are_the_regions_above_the_table_big_enough() -> None:
    from gqstn_ros.grasping.target import object_labels

    depth, _ = two_boxes()
    depth[400:403, 100:103] = 0.6  # 9 pixels: a sensor artefact, not an object
    labels = object_labels(depth, KINECT_V1)
    assert len(np.unique(labels)) == 3  # the table and two boxes
    assert labels[230, 220] != 0 and labels[230, 380] != 0 and labels[230, 220] != labels[230, 380]
    assert labels[401, 101] == 0 and labels[100, 100] == 0


def test_without_a_target_the_object_under_the_centre_is_the_one_grasped() -> None:
    from gqstn_ros.grasping.target import clear_of_other_objects, object_at

    depth, mask = two_boxes()
    gripper = default_gripper()
    # On B opened wide along u: the left finger (u 242) lands on A. On B along v: both fingers
    # on the table. Centred on the table: no object claimed, not judged.
    centers = np.array([[362.0, 230.0], [380.0, 230.0], [300.0, 230.0]])
    angles = np.array([0.0, np.pi / 2, 0.0])
    widths = np.array([240.0, 60.0, 120.0])
    clear = clear_of_other_objects(
        depth, KINECT_V1, centers, angles, widths, np.full(3, 0.66), gripper
    )
    assert clear.tolist() == [False, True, True]
    under = object_at(depth, KINECT_V1, (380.0, 230.0))
    np.testing.assert_array_equal(under.region, mask != 0)
    assert object_at(depth, KINECT_V1, (500.0, 400.0)) is None


def test_heights_fitted_once_serve_obstacles_and_visibility() -> None:
    depth, mask = two_boxes()
    target = GraspTarget.from_mask_and_roi(SHAPE, mask)
    fitted = target.with_heights(depth, KINECT_V1)
    np.testing.assert_array_equal(
        fitted.obstacles(depth, KINECT_V1), target.obstacles(depth, KINECT_V1)
    )
    # Given heights are used as they are (here: a frame where B stands on a bare table).
    flat = np.zeros(SHAPE, dtype=np.float32)
    assert target_visibility(GraspTarget(target.region, heights_m=flat), depth, KINECT_V1) == 0
    assert target_visibility(fitted, depth, KINECT_V1) == 40 * 40
    with pytest.raises(ValueError, match="heights_m has shape"):
        GraspTarget(target.region, heights_m=np.zeros((2, 2)))
