"""The geometry layer: quaternions (w, x, y, z), conversions at the (x, y, z, w) boundary, pose6
and pose7, rigid transforms, angle wrapping (that it sits at the bottom of the package:
test_architecture.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gqstn_ros.geometry import (
    RigidTransform,
    matrix_to_pose6,
    matrix_to_pose7,
    matrix_to_quaternion,
    pose6_to_matrix,
    pose7_to_matrix,
    quaternion_from_xyzw,
    quaternion_to_matrix,
    quaternion_to_xyzw,
    rotation_vector_to_matrix,
    wrap_angle,
)


def random_rotation(rng: np.random.Generator) -> np.ndarray:
    q = rng.normal(size=4)
    return quaternion_to_matrix(q / np.linalg.norm(q))


def test_wrap_angle_range_and_axis_symmetry() -> None:
    angles = np.linspace(-10, 10, 101)
    wrapped = wrap_angle(angles)
    assert np.all(wrapped > -np.pi / 2) and np.all(wrapped <= np.pi / 2)
    # An axis and its reverse are the same grasp.
    np.testing.assert_allclose(np.cos(2 * wrapped), np.cos(2 * angles), atol=1e-9)
    assert wrap_angle(-np.pi / 2) == pytest.approx(np.pi / 2)
    assert isinstance(wrap_angle(3.0), float)


def test_quaternion_round_trip() -> None:
    rng = np.random.default_rng(0)
    for _ in range(20):
        q = rng.normal(size=4)
        q /= np.linalg.norm(q)
        q = q if q[0] >= 0 else -q
        assert np.allclose(matrix_to_quaternion(quaternion_to_matrix(q)), q)


def test_quaternion_is_scalar_first() -> None:
    # A half turn about z: (w, x, y, z) = (0, 0, 0, 1); a quarter turn about x: w = cos(pi/4).
    np.testing.assert_allclose(quaternion_to_matrix((0.0, 0.0, 0.0, 1.0)), np.diag([-1, -1, 1.0]))
    quarter_x = (math.cos(math.pi / 4), math.sin(math.pi / 4), 0.0, 0.0)
    np.testing.assert_allclose(
        quaternion_to_matrix(quarter_x), [[1, 0, 0], [0, 0, -1], [0, 1, 0]], atol=1e-12
    )
    np.testing.assert_allclose(matrix_to_quaternion(np.eye(3)), [1.0, 0.0, 0.0, 0.0])


def test_xyzw_conversions_reorder_and_invert_each_other() -> None:
    np.testing.assert_array_equal(quaternion_from_xyzw([1.0, 2.0, 3.0, 4.0]), [4, 1, 2, 3])
    np.testing.assert_array_equal(quaternion_to_xyzw([4.0, 1.0, 2.0, 3.0]), [1, 2, 3, 4])
    q = np.array([0.5, -0.5, 0.5, 0.5])
    np.testing.assert_array_equal(quaternion_from_xyzw(quaternion_to_xyzw(q)), q)
    with pytest.raises(ValueError, match="4 numbers"):
        quaternion_from_xyzw([0.0, 0.0, 1.0])


def test_pose6_round_trip_including_half_turns() -> None:
    rng = np.random.default_rng(1)
    poses = [np.array([0.1, 0.2, 0.3, math.pi, 0.0, 0.0]), np.array([0, 0, 0, 0, 0, 0.0])]
    for _ in range(50):
        axis = rng.normal(size=3)
        poses.append(
            np.concatenate([rng.normal(size=3), axis / np.linalg.norm(axis) * rng.uniform(0, 3.1)])
        )
    for pose in poses:
        matrix = pose6_to_matrix(pose)
        np.testing.assert_allclose(pose6_to_matrix(matrix_to_pose6(matrix)), matrix, atol=1e-9)
    with pytest.raises(ValueError, match="6 finite numbers"):
        pose6_to_matrix(np.array([0.0, 0.0, np.nan, 0.0, 0.0, 0.0]))


def test_pose7_round_trip_and_rotation_vector_agree() -> None:
    rng = np.random.default_rng(2)
    for _ in range(20):
        matrix = np.eye(4)
        matrix[:3, :3], matrix[:3, 3] = random_rotation(rng), rng.normal(size=3)
        pose7 = matrix_to_pose7(matrix)
        assert pose7.shape == (7,) and pose7[3] >= 0
        np.testing.assert_allclose(pose7_to_matrix(pose7), matrix, atol=1e-12)
        rotation_vector = matrix_to_pose6(matrix)[3:]
        np.testing.assert_allclose(
            rotation_vector_to_matrix(rotation_vector), matrix[:3, :3], atol=1e-9
        )


def test_rigid_transform_compose_inverse_and_pose() -> None:
    rng = np.random.default_rng(3)
    a = RigidTransform(random_rotation(rng), rng.normal(size=3))
    b = RigidTransform(random_rotation(rng), rng.normal(size=3))
    np.testing.assert_allclose(a.compose(b).matrix(), a.matrix() @ b.matrix(), atol=1e-12)
    identity = a.compose(a.inverse())
    np.testing.assert_allclose(identity.matrix(), RigidTransform.identity().matrix(), atol=1e-12)
    again = RigidTransform.from_pose(a.translation, a.quaternion)
    np.testing.assert_allclose(again.matrix(), a.matrix(), atol=1e-12)
    with pytest.raises(ValueError, match="norm 1"):
        RigidTransform.from_pose((0.0, 0.0, 0.0), (0.0, 0.0, 0.0, 0.0))
    with pytest.raises(ValueError, match="position"):
        RigidTransform.from_pose((0.0, math.nan, 0.0), (1.0, 0.0, 0.0, 0.0))
