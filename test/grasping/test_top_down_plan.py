"""Top-down plan: waypoints, opening and every refusal of the planner."""

import math

import numpy as np
import pytest

from gqstn_ros.geometry import RigidTransform, pose6_to_matrix
from gqstn_ros.grasping.grasp import grasp_frame_rotation
from gqstn_ros.grasping.top_down_plan import (
    PlanError,
    TopDownConfig,
    TopDownPlanner,
    top_down_tool_rotation,
)

DOWN = np.array([0.0, 0.0, -1.0])


def grasp_at(position, jaw=(0.0, 1.0, 0.0), approach=DOWN) -> RigidTransform:
    return RigidTransform(
        grasp_frame_rotation(np.asarray(approach), np.asarray(jaw)),
        np.asarray(position, dtype=float),
    )


def test_vertical_grasp_waypoints_stack_above_the_grasp() -> None:
    config = TopDownConfig(pre_grasp_height=0.1, lift_height=0.15, retreat_height=0.2)
    plan = TopDownPlanner(config).plan(grasp_at([0.5, 0.05, 0.02]), width=0.04)
    np.testing.assert_allclose(plan.grasp[:3], [0.5, 0.05, 0.02], atol=1e-12)
    np.testing.assert_allclose(plan.pre_grasp[:3], [0.5, 0.05, 0.12], atol=1e-12)
    np.testing.assert_allclose(plan.lift[:3], [0.5, 0.05, 0.17], atol=1e-12)
    np.testing.assert_allclose(plan.retreat[:3], [0.5, 0.05, 0.22], atol=1e-12)
    assert plan.opening == pytest.approx(0.05)  # width + 10 mm margin
    for pose in plan.waypoints().values():
        tool = pose6_to_matrix(pose)[:3, :3]
        np.testing.assert_allclose(tool[:, 2], DOWN, atol=1e-9)  # tool z: straight down
        # tool y: the jaw axis (either direction: a jaw axis has none)
        assert abs(tool[:, 1] @ np.array([0.0, 1.0, 0.0])) == pytest.approx(1.0)
        np.testing.assert_allclose(pose[3:], plan.grasp[3:], atol=1e-12)  # no wrist turn
    executed = plan.grasp_in_base
    np.testing.assert_allclose(executed.rotation[:, 0], DOWN, atol=1e-12)  # x = approach
    assert np.linalg.det(executed.rotation) == pytest.approx(1.0)


def test_tool_yaw_is_kept_within_a_quarter_turn() -> None:
    """A jaw axis and its reverse give the same tool pose: the one with the smaller yaw."""
    for angle in np.linspace(-math.pi, math.pi, 17):
        jaw = np.array([math.sin(angle), -math.cos(angle), 0.0])  # yaw `angle` from -y
        a, b = top_down_tool_rotation(jaw), top_down_tool_rotation(-jaw)
        np.testing.assert_allclose(a, b, atol=1e-12)
        assert a[:, 1] @ np.array([0.0, -1.0, 0.0]) >= -1e-12
        np.testing.assert_allclose(a.T @ a, np.eye(3), atol=1e-12)
        assert np.linalg.det(a) == pytest.approx(1.0)


def test_tilted_approach_within_tolerance_is_straightened() -> None:
    tilt = math.radians(10)
    approach = np.array([math.sin(tilt), 0.0, -math.cos(tilt)])
    plan = TopDownPlanner().plan(grasp_at([0.5, 0.0, 0.05], approach=approach), width=0.03)
    assert plan.approach_error == pytest.approx(tilt)
    np.testing.assert_allclose(pose6_to_matrix(plan.grasp)[:3, 2], DOWN, atol=1e-9)


def test_tcp_offset_moves_the_tool_back_along_the_approach() -> None:
    plan = TopDownPlanner(TopDownConfig(tcp_to_grasp_centre=0.03)).plan(
        grasp_at([0.5, 0.0, 0.05]), width=0.03
    )
    assert plan.grasp[2] == pytest.approx(0.08)
    np.testing.assert_allclose(plan.grasp_in_base.translation, [0.5, 0.0, 0.05])


def test_opening_is_clipped_to_the_stroke() -> None:
    plan = TopDownPlanner().plan(grasp_at([0.5, 0.0, 0.05]), width=0.084)
    assert plan.opening == pytest.approx(0.085)


@pytest.mark.parametrize(
    ("position", "width", "approach", "expected"),
    [
        ([1.5, 0.0, 0.05], 0.04, DOWN, "grasp outside workspace"),
        ([0.5, 0.0, -0.05], 0.04, DOWN, "grasp outside workspace"),
        ([0.5, 0.0, 0.45], 0.04, DOWN, "retreat waypoint outside workspace"),
        ([0.5, 0.0, 0.05], 0.09, DOWN, "wider than the stroke"),
        ([0.5, 0.0, 0.05], -0.01, DOWN, "width is negative"),
        ([0.5, 0.0, 0.05], float("nan"), DOWN, "width is not a finite number"),
        ([0.5, float("nan"), 0.05], 0.04, DOWN, "NaN"),
        ([0.5, 0.0, 0.05], 0.04, [0.0, 0.0, 1.0], "approach not pointing down"),
        ([0.5, 0.0, 0.05], 0.04, [math.sin(0.5), 0.0, -math.cos(0.5)], "28.6 deg"),
    ],
)
def test_refusals_name_the_problem(position, width, approach, expected) -> None:
    with pytest.raises(PlanError, match=expected):
        TopDownPlanner().plan(grasp_at(position, approach=approach), width=width)


def test_orientation_that_is_not_a_rotation_is_refused() -> None:
    rotation = np.stack([DOWN, DOWN, np.zeros(3)], axis=1)
    with pytest.raises(PlanError, match="not a rotation"):
        TopDownPlanner().plan(RigidTransform(rotation, np.array([0.5, 0.0, 0.05])), 0.04)


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"workspace_min": (0.0, 0.0, 0.0), "workspace_max": (1.0, 0.0, 1.0)}, "below"),
        ({"lift_height": -0.1}, "lift_height"),
        ({"approach_tolerance": 2.0}, "approach_tolerance"),
        ({"min_width": 0.1}, "gripper widths"),
    ],
)
def test_config_validation(kwargs, expected) -> None:
    with pytest.raises(ValueError, match=expected):
        TopDownConfig(**kwargs)


def test_grasp_exactly_at_the_stroke_survives_float32_rounding() -> None:
    width = float(np.float32(0.085))  # 0.0850000009..., as a Grasp message carries it
    plan = TopDownPlanner().plan(grasp_at([0.5, 0.0, 0.05]), width=width)
    assert plan.opening == pytest.approx(0.085)
    with pytest.raises(PlanError, match="wider than the stroke"):
        TopDownPlanner().plan(grasp_at([0.5, 0.0, 0.05]), width=0.0851)
