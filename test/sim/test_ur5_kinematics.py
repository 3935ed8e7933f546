"""UR5 forward / inverse kinematics: closed form against forward kinematics and known values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gqstn_ros.geometry import pose6_to_matrix
from gqstn_ros.sim.ur5_kinematics import (
    UnreachablePose,
    UR5Config,
    UR5Kinematics,
    default_tcp_config,
)


def test_forward_kinematics_matches_published_zero_pose() -> None:
    # At zero joints the UR5 lies stretched along -x: flange at (a2 + a3, -(d4 + d6), d1 - d5).
    flange = UR5Kinematics().flange_transform(np.zeros(6))
    np.testing.assert_allclose(flange[:3, 3], [-0.81725, -0.19145, -0.005491], atol=1e-6)
    np.testing.assert_allclose(flange[:3, :3], [[1, 0, 0], [0, 0, -1], [0, 1, 0]], atol=1e-12)


def test_forward_kinematics_upright_pose() -> None:
    # Shoulder lift -pi/2 points the upper arm and forearm straight up, the wrist too.
    flange = UR5Kinematics().flange_transform(np.array([0.0, -math.pi / 2, 0, -math.pi / 2, 0, 0]))
    np.testing.assert_allclose(
        flange[:3, 3], [0.0, -0.19145, 0.089159 + 0.425 + 0.39225 + 0.09465], atol=1e-6
    )


def test_inverse_of_forward_is_the_pose_for_random_joints() -> None:
    kinematics = UR5Kinematics(default_tcp_config())
    rng = np.random.default_rng(0)
    for _ in range(200):
        joints = rng.uniform(-math.pi, math.pi, 6)
        pose = kinematics.forward(joints)
        solutions = kinematics.inverse(pose, joints)
        assert 1 <= len(solutions) <= 8
        for solution in solutions:
            np.testing.assert_allclose(kinematics.forward(solution), pose, atol=1e-8)
        # The nearest solution is the configuration the pose came from.
        np.testing.assert_allclose(solutions[0], joints, atol=1e-6)


def test_generic_pose_has_eight_solutions() -> None:
    kinematics = UR5Kinematics(default_tcp_config())
    pose = pose6_to_matrix(np.array([0.4, 0.1, 0.2, math.pi, 0.0, 0.0]))
    assert len(kinematics.inverse(pose)) == 8


def test_pose_beyond_reach_is_refused() -> None:
    kinematics = UR5Kinematics(default_tcp_config())
    with pytest.raises(UnreachablePose, match="no UR5 joint configuration"):
        kinematics.inverse(pose6_to_matrix(np.array([1.5, 0.0, 0.3, math.pi, 0.0, 0.0])))


def test_joint_limits_remove_solutions() -> None:
    pose = pose6_to_matrix(np.array([0.4, 0.1, 0.2, math.pi, 0.0, 0.0]))
    free = UR5Kinematics(default_tcp_config()).inverse(pose)
    narrow = UR5Config(
        joint_lower=(-math.pi, -math.pi, 0.0, -math.pi, -math.pi, -math.pi),
        joint_upper=(math.pi, 0.0, math.pi, math.pi, math.pi, math.pi),
        tcp_offset=default_tcp_config().tcp_offset,
    )
    limited = UR5Kinematics(narrow).inverse(pose)
    assert 0 < len(limited) < len(free)
    assert all(UR5Kinematics(narrow).within_limits(q) for q in limited)
    impossible = UR5Config(joint_lower=(-0.1,) * 6, joint_upper=(0.1,) * 6)
    with pytest.raises(UnreachablePose, match="joint limits"):
        UR5Kinematics(impossible).inverse(pose)


def test_bad_inputs_name_the_problem() -> None:
    with pytest.raises(ValueError, match="joint_upper"):
        UR5Config(joint_lower=(0.0,) * 6, joint_upper=(0.0,) * 6)
    with pytest.raises(ValueError, match="joints must be 6"):
        UR5Kinematics().forward(np.zeros(5))
