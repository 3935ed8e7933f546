"""The default pipeline's rules: when Prop+GQ-CNN is asked, when an alternative wins, and the
minor-axis alternative on the largest object, on a target, and refused beside another object."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from gqstn_ros.camera_model import KINECT_V1
from gqstn_ros.detection import FALLBACK_ALWAYS, FALLBACK_NOT_ROBUST, PlannedGrasp, PlanningError
from gqstn_ros.grasping.alternatives import (
    CLOSES_ON_AIR,
    PALM_BLOCKED,
    ExecutionCheck,
    asks_fallback,
    judged_better,
    minor_axis_alternative,
    preferred,
)
from gqstn_ros.grasping.grasp import grasps_2d_to_3d
from gqstn_ros.grasping.target import GraspTarget
from gqstn_ros.gripper import ROBOTIQ_2F85

TABLE_M = 0.7


def boxes_scene(boxes: list[tuple[float, float, float, float, float]]) -> np.ndarray:
    """Looking down at a table TABLE_M away: axis-aligned boxes (x, y centre m in the table
    plane under the optical axis, x size, y size, height m), top faces rendered exactly."""
    intrinsics = KINECT_V1
    v, u = np.mgrid[0 : intrinsics.height, 0 : intrinsics.width]
    depth = np.full(u.shape, TABLE_M)
    for x, y, size_x, size_y, height in boxes:
        top = TABLE_M - height
        px = (u - intrinsics.cx) * top / intrinsics.fx
        py = (v - intrinsics.cy) * top / intrinsics.fy
        inside = (np.abs(px - x) <= size_x / 2) & (np.abs(py - y) <= size_y / 2)
        depth = np.where(inside, np.minimum(depth, top), depth)
    return depth.astype(np.float32)


def object_mask(depth: np.ndarray, top_centre: tuple[float, float, float]) -> np.ndarray:
    """(H, W) bool: the pixels of the box whose top face is centred at `top_centre` (optical
    frame, m), as a segmentation would give them."""
    u, v = KINECT_V1.project(np.array(top_centre))
    return np.abs(depth - depth[int(v), int(u)]) < 1e-6


def grasp_centre_and_axis(grasp) -> tuple[np.ndarray, np.ndarray]:
    centres, axes, _ = grasps_2d_to_3d(
        np.array([grasp.center_px]), np.array([grasp.angle]), np.array([grasp.width_px]),
        np.array([grasp.depth]), KINECT_V1,
    )  # fmt: skip
    return centres[0], axes[0]


def test_prop_gqcnn_is_asked_always_or_only_for_a_grasp_that_is_not_robust() -> None:
    assert asks_fallback(FALLBACK_ALWAYS, robust=True)
    assert asks_fallback(FALLBACK_ALWAYS, robust=False)
    assert not asks_fallback(FALLBACK_NOT_ROBUST, robust=True)
    assert asks_fallback(FALLBACK_NOT_ROBUST, robust=False)
    with pytest.raises(ValueError, match="fallback_when must be one of always, not_robust"):
        asks_fallback("sometimes", robust=True)


def test_an_alternative_wins_only_when_judged_strictly_better() -> None:
    assert judged_better(0.8, 0.7)
    assert not judged_better(0.7, 0.7)  # a tie keeps the grasp so far
    assert not judged_better(0.2, 0.7)
    assert not judged_better(None, 0.0)  # not judged: never replaces


def test_the_minor_axis_alternative_closes_across_the_largest_object() -> None:
    # A 60 x 30 mm box and a small 20 x 20 mm one far from it.
    depth = boxes_scene([(0.0, 0.0, 0.06, 0.03, 0.04), (0.15, 0.1, 0.02, 0.02, 0.03)])
    grasp = minor_axis_alternative(depth, KINECT_V1, ROBOTIQ_2F85)
    centre, axis = grasp_centre_and_axis(grasp)
    assert grasp.planner == "minor_axis"
    assert np.allclose(centre[:2], [0.0, 0.0], atol=0.003)
    assert abs(axis[1]) > 0.99  # across the 30 mm side (y)


def test_the_minor_axis_alternative_is_on_the_target() -> None:
    depth = boxes_scene([(0.0, 0.0, 0.06, 0.03, 0.04), (0.15, 0.1, 0.04, 0.02, 0.03)])
    region = object_mask(depth, (0.15, 0.1, TABLE_M - 0.03))
    target = GraspTarget(region).with_heights(depth, KINECT_V1)
    grasp = minor_axis_alternative(depth, KINECT_V1, ROBOTIQ_2F85, target)
    centre, _ = grasp_centre_and_axis(grasp)
    assert region[round(grasp.center_px[1]), round(grasp.center_px[0])]
    assert np.allclose(centre[:2], [0.15, 0.1], atol=0.01)


def test_no_minor_axis_alternative_whose_finger_lands_on_another_object() -> None:
    # A 60 x 30 mm box with a taller box 5 mm beside its long side: a finger closing across
    # the 30 mm side descends onto the taller box.
    depth = boxes_scene([(0.0, 0.0, 0.06, 0.03, 0.04), (0.0, 0.03, 0.06, 0.02, 0.08)])
    target = GraspTarget(object_mask(depth, (0.0, 0.0, TABLE_M - 0.04))).with_heights(
        depth, KINECT_V1
    )
    with pytest.raises(PlanningError, match="fingers land on another object"):
        minor_axis_alternative(depth, KINECT_V1, ROBOTIQ_2F85, target)


def test_no_minor_axis_alternative_on_an_empty_table() -> None:
    empty = np.full((480, 640), TABLE_M, dtype=np.float32)
    with pytest.raises(PlanningError, match="no object above the table"):
        minor_axis_alternative(empty, KINECT_V1, ROBOTIQ_2F85)


def test_no_minor_axis_alternative_on_an_object_wider_than_the_stroke() -> None:
    depth = boxes_scene([(0.0, 0.0, 0.12, 0.11, 0.04)])  # 110 mm across its minor axis
    with pytest.raises(PlanningError, match="wider than the stroke of gripper robotiq_2f85"):
        minor_axis_alternative(depth, KINECT_V1, ROBOTIQ_2F85)
    # 80 and 92 mm: the opening is capped at the stroke (a noisy silhouette runs wide)
    for across, opening in ((0.07, 0.082), (0.08, 0.085), (0.092, 0.085)):
        narrow = boxes_scene([(0.0, 0.0, 0.12, across, 0.04)])
        grasp = minor_axis_alternative(narrow, KINECT_V1, ROBOTIQ_2F85)
        assert grasp.width_px * grasp.depth / KINECT_V1.fx == pytest.approx(opening, abs=0.003)


def test_a_grasp_that_can_be_carried_out_beats_one_that_cannot() -> None:
    assert preferred(0.2, True, 0.99, False)
    assert not preferred(0.99, False, 0.2, True)
    assert preferred(None, True, 0.99, False)  # even when it cannot be judged
    assert preferred(0.8, True, 0.7, True) and not preferred(0.7, True, 0.7, True)
    assert preferred(0.8, False, 0.7, False)  # two of a kind: the judge decides


def planned(depth: np.ndarray, centre_xy: tuple[float, float], angle: float, width_m: float):
    """A top-down grasp centred at `centre_xy` (m, table plane under the optical axis), 10 mm
    above the table, jaws at `angle` in the image, opened `width_m`."""
    grasp_depth = TABLE_M - 0.01
    u, v = KINECT_V1.project(np.array([*centre_xy, grasp_depth]))
    width_px = width_m * KINECT_V1.fx / grasp_depth
    return PlannedGrasp(
        center_px=(float(u), float(v)), angle=angle, width_px=width_px, depth=grasp_depth,
        q_value=0.9, thumbnail=np.zeros((32, 32), np.float32), planner="gqstn",
    )  # fmt: skip


def test_a_grasp_closes_on_an_object_only_when_one_stands_between_its_jaws() -> None:
    # A 12 mm cube, like the tiny family's objects, 40 mm right of the optical axis.
    depth = boxes_scene([(0.04, 0.0, 0.012, 0.012, 0.012)])
    check = ExecutionCheck(depth, KINECT_V1, ROBOTIQ_2F85)
    on_it = planned(depth, (0.04, 0.0), 0.0, 0.03)
    assert check.grasp_closes(on_it)
    # Wide open beside it, the cube still between the jaws.
    beside = planned(depth, (0.02, 0.0), 0.0, 0.07)
    assert check.grasp_closes(beside)
    # 17 mm beside it across the jaws: the pads (22 mm wide) sweep past it.
    for centre, angle in (((0.04, 0.017), 0.0), ((0.023, 0.0), np.pi / 2)):
        grasp = planned(depth, centre, angle, 0.073)
        assert not check.grasp_closes(grasp)
    # Fingertips above the object's top: they close over it.
    high = planned(depth, (0.04, 0.0), 0.0, 0.03)
    high = dataclasses.replace(high, depth=TABLE_M - 0.06)
    assert not check.grasp_closes(high)


def test_sensor_noise_is_not_an_object_between_the_jaws() -> None:
    # Pixel noise of 3 mm (a RealSense at about 1 m): one pixel in 40 stands 6 mm out of the
    # table, so a rule counting raw pixels would find "objects" under every grasp.
    rng = np.random.default_rng(0)
    bare = boxes_scene([]) + rng.normal(0.0, 0.003, (KINECT_V1.height, KINECT_V1.width))
    check = ExecutionCheck(bare.astype(np.float32), KINECT_V1, ROBOTIQ_2F85)
    for centre in ((0.0, 0.0), (0.05, -0.03), (-0.08, 0.06)):
        for angle in (0.0, 0.7, np.pi / 2):
            assert not check.grasp_closes(planned(bare, centre, angle, 0.08))
    # Under the same noise a 12 mm cube and a 5 mm stick (4 pixels wide) still count.
    noise = rng.normal(0.0, 0.003, (KINECT_V1.height, KINECT_V1.width))
    scene = boxes_scene([(0.04, 0.0, 0.012, 0.012, 0.012), (-0.05, 0.0, 0.005, 0.1, 0.012)])
    check = ExecutionCheck((scene + noise).astype(np.float32), KINECT_V1, ROBOTIQ_2F85)
    assert check.grasp_closes(planned(scene, (0.04, 0.0), 0.0, 0.03))
    assert check.grasp_closes(planned(scene, (-0.05, 0.0), 0.0, 0.03))


def test_the_closing_check_takes_the_height_an_object_must_stand_out() -> None:
    depth = boxes_scene([(0.04, 0.0, 0.03, 0.03, 0.008)])  # an 8 mm high tile
    grasp = planned(depth, (0.04, 0.0), 0.0, 0.05)
    assert ExecutionCheck(depth, KINECT_V1, ROBOTIQ_2F85).grasp_closes(grasp)
    assert not ExecutionCheck(depth, KINECT_V1, ROBOTIQ_2F85, object_height_m=0.01).grasp_closes(
        grasp
    )


def test_a_grasp_with_an_impossible_pose_closes_on_nothing() -> None:
    depth = boxes_scene([(0.04, 0.0, 0.012, 0.012, 0.012)])
    check = ExecutionCheck(depth, KINECT_V1, ROBOTIQ_2F85)
    on_it = planned(depth, (0.04, 0.0), 0.0, 0.03)
    for bad in (
        dataclasses.replace(on_it, depth=0.0),
        dataclasses.replace(on_it, depth=float("nan")),
        dataclasses.replace(on_it, center_px=(float("nan"), 240.0)),
        dataclasses.replace(on_it, width_px=float("inf")),
    ):
        assert not check.grasp_closes(bad)


def test_the_execution_check_says_why_a_grasp_cannot_be_carried_out() -> None:
    # A 30 mm cube and, 0.1 m away, a post 120 mm tall.
    depth = boxes_scene([(0.04, 0.0, 0.03, 0.03, 0.03), (-0.06, 0.0, 0.03, 0.03, 0.12)])
    check = ExecutionCheck(depth, KINECT_V1, ROBOTIQ_2F85)
    cube = planned(depth, (0.04, 0.0), 0.0, 0.05)
    assert check.grasp_fault(cube) is None
    assert check.grasp_fault(planned(depth, (0.04, 0.06), 0.0, 0.05)) == CLOSES_ON_AIR
    # On the post 10 mm above the table: its top stands 75 mm above the palm's underside.
    post = planned(depth, (-0.06, 0.0), 0.0, 0.05)
    assert check.grasp_closes(post) and check.grasp_fault(post) == PALM_BLOCKED
    # 25 mm below its top the fingers reach.
    assert check.grasp_fault(dataclasses.replace(post, depth=TABLE_M - 0.095)) is None
