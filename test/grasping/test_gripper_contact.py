"""The palm check: a grasp deeper than the fingers reach is told from the depth image, and the
simulated lift agrees."""

from __future__ import annotations

import numpy as np
from depth_rendering import CAMERA_HEIGHT, render_depth

from gqstn_ros.camera_model import CameraIntrinsics
from gqstn_ros.grasping import primitives
from gqstn_ros.grasping.gripper_contact import REACH_TOLERANCE_M, palm_blocked
from gqstn_ros.grasping.lift_check import LIFT_BLOCKED, LIFT_HELD, simulate_lift
from gqstn_ros.grasping.mesh_geometry import TriangleMesh
from gqstn_ros.gripper import ROBOTIQ_2F85

CAMERA = CameraIntrinsics(width=320, height=240, fx=300.0, fy=300.0, cx=159.5, cy=119.5)
# The palm's underside stands this far above the grasp centre (fingertips 5 mm below it).
UNDERSIDE_ABOVE_CENTRE_M = ROBOTIQ_2F85.finger_depth - 0.005


def blocked(depth: np.ndarray, centre_px, angle: float, grasp_depth: float) -> bool:
    return bool(
        palm_blocked(
            depth, CAMERA, np.array([centre_px], dtype=np.float64), np.array([angle]),
            np.array([grasp_depth]), ROBOTIQ_2F85,
        )[0]
    )  # fmt: skip


def boxes(specs: list[tuple[float, float, float, float, float]]) -> np.ndarray:
    """Looking straight down at the table: boxes (x, y centre m, x size, y size, height m),
    their top faces rendered exactly."""
    v, u = np.mgrid[0 : CAMERA.height, 0 : CAMERA.width]
    depth = np.full(u.shape, CAMERA_HEIGHT)
    for x, y, size_x, size_y, height in specs:
        top = CAMERA_HEIGHT - height
        inside = (np.abs((u - CAMERA.cx) * top / CAMERA.fx - x) <= size_x / 2) & (
            np.abs((v - CAMERA.cy) * top / CAMERA.fy - y) <= size_y / 2
        )
        depth = np.where(inside, np.minimum(depth, top), depth)
    return depth.astype(np.float32)


def test_a_grasp_deeper_than_the_fingers_reach_is_blocked_by_the_palm_in_the_image_and_the_lift():
    # An upright cylinder 170 mm tall and 52 mm across, as a bottle: gripped 25 mm below its
    # top the fingers reach; 45 mm below, the palm lands on its top 10 mm too high.
    shape = primitives.cylinder(0.026, 0.17)
    pose = primitives.resting_pose(shape.vertices)
    depth = render_depth(TriangleMesh(shape.vertices, shape.faces).transformed(pose), CAMERA)
    top = CAMERA_HEIGHT - 0.17
    centre_px = (CAMERA.cx, CAMERA.cy)
    for below_top, expected, outcome in ((0.025, False, LIFT_HELD), (0.045, True, LIFT_BLOCKED)):
        assert blocked(depth, centre_px, 0.0, top + below_top) is expected, below_top
        centre = np.array([0.0, 0.0, 0.17 - below_top])
        lift = simulate_lift(shape.convex_parts, pose, centre, np.array([1.0, 0.0, 0.0]), 0.07)
        assert lift.outcome == outcome, (below_top, lift)
    # Within the lift's tolerance of the top: the palm touches it, and the grasp still counts.
    within = top + UNDERSIDE_ABOVE_CENTRE_M + 0.8 * REACH_TOLERANCE_M
    beyond = top + UNDERSIDE_ABOVE_CENTRE_M + 1.5 * REACH_TOLERANCE_M
    assert not blocked(depth, centre_px, 0.0, within)
    assert blocked(depth, centre_px, 0.0, beyond)


def test_the_palm_spans_the_stroke_along_the_jaws_and_the_finger_width_across():
    # A 20 mm cube under the grasp, a 90 mm tall box 55 mm from the grasp centre.
    grasp_depth = CAMERA_HEIGHT - 0.02 + 0.015
    centre_px = CAMERA.project(np.array([0.0, 0.0, grasp_depth]))
    along = boxes([(0.0, 0.0, 0.02, 0.02, 0.02), (0.055, 0.0, 0.02, 0.02, 0.09)])
    across = boxes([(0.0, 0.0, 0.02, 0.02, 0.02), (0.0, 0.055, 0.02, 0.02, 0.09)])
    assert blocked(along, centre_px, 0.0, grasp_depth)  # under the palm, beyond the fingers
    assert not blocked(across, centre_px, 0.0, grasp_depth)  # beside the palm
    assert blocked(across, centre_px, np.pi / 2, grasp_depth)  # the jaws turned towards it
    assert not blocked(boxes([(0.0, 0.0, 0.02, 0.02, 0.02)]), centre_px, 0.0, grasp_depth)


def test_a_flying_pixel_does_not_block_the_palm_and_a_bad_pose_tells_nothing():
    grasp_depth = CAMERA_HEIGHT - 0.02 + 0.015
    depth = boxes([(0.0, 0.0, 0.02, 0.02, 0.02)])
    centre_px = (CAMERA.cx, CAMERA.cy)
    spiked = depth.copy()
    spiked[int(CAMERA.cy), int(CAMERA.cx) + 30] = 0.3  # one pixel 0.4 m off the table
    assert not blocked(spiked, centre_px, 0.0, grasp_depth)
    result = palm_blocked(
        depth, CAMERA, np.array([[np.nan, 1.0], centre_px, centre_px]),
        np.array([0.0, 0.0, 0.0]), np.array([grasp_depth, np.inf, 0.0]), ROBOTIQ_2F85,
    )  # fmt: skip
    assert result.tolist() == [False, False, False]
    # A frame with no valid depth tells nothing: no grasp is blocked, and nothing is computed
    # from invalid pixels.
    with np.errstate(all="raise"):
        for invalid in (np.zeros_like(depth), np.full_like(depth, np.nan)):
            assert not blocked(invalid, centre_px, 0.0, grasp_depth)
