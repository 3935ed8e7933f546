import numpy as np
import pytest

from gqstn_ros.grasping import primitives
from gqstn_ros.grasping.robustness import (
    GraspQualityEvaluator,
    RobustnessConfig,
    label_grasps,
)

X_AXIS = np.array([1.0, 0.0, 0.0])


@pytest.fixture
def box_evaluator(box_on_table):
    shape, pose = box_on_table  # 4 x 6 x 5 cm box standing on the table at the origin
    return GraspQualityEvaluator.from_object(shape.vertices, shape.faces, pose)


def test_box_across_narrow_faces_is_force_closure_with_positive_epsilon(box_evaluator):
    centers = np.array([[0.0, 0.0, 0.025]])
    quality, closure = box_evaluator.epsilon(
        centers, X_AXIS[None], np.array([0.06]), np.array([0.5])
    )
    assert closure[0] and quality[0] > 0.01
    result = box_evaluator.evaluate(centers, X_AXIS[None], [0.06], rng=0)
    assert result.robust[0] and result.nominal_collision_free[0]


def test_grasp_wider_than_stroke_is_rejected(box_evaluator):
    result = box_evaluator.evaluate([[0.0, 0.0, 0.025]], [X_AXIS], [0.09], rng=0)
    assert not result.nominal_collision_free[0]
    assert result.robust_quality[0] == 0.0 and not result.robust[0]


def test_sphere_side_grasp_without_friction_is_not_force_closure():
    shape = primitives.sphere(0.03, 3)
    pose = primitives.resting_pose(shape.vertices)
    config = RobustnessConfig(friction_coef=0.0, friction_sigma=0.0, num_perturbations=3)
    evaluator = GraspQualityEvaluator.from_object(shape.vertices, shape.faces, pose, config=config)
    centers = np.array([[0.0, 0.0, 0.03], [0.0, 0.01, 0.03]])
    quality, closure = evaluator.epsilon(
        centers, np.tile(X_AXIS, (2, 1)), np.array([0.08, 0.08]), np.zeros(2)
    )
    assert not closure.any() and np.all(quality == 0)
    # With friction the centred grasp holds.
    quality, closure = evaluator.epsilon(
        centers[:1], X_AXIS[None], np.array([0.08]), np.array([0.5])
    )
    assert closure[0] and quality[0] > 0


def test_finger_collisions_with_table_and_object_are_detected(box_evaluator):
    centers = np.array(
        [
            [0.0, 0.0, 0.025],  # fine
            [0.0, 0.0, 0.002],  # fingertips 3 mm below the table
            [0.0, 0.0, 0.025],  # opening narrower than the 4 cm box: fingers land on it
            [0.0, 0.0, 0.060],  # above the box: jaws close on nothing
        ]
    )
    widths = np.array([0.06, 0.06, 0.03, 0.06])
    ok = box_evaluator.reachable_and_collision_free(centers, np.tile(X_AXIS, (4, 1)), widths)
    np.testing.assert_array_equal(ok, [True, False, False, True])
    result = box_evaluator.evaluate(centers, np.tile(X_AXIS, (4, 1)), widths, rng=0)
    np.testing.assert_array_equal(result.robust, [True, False, False, False])


def test_labels_are_deterministic_for_a_seed(box_on_table):
    shape, pose = box_on_table
    rng = np.random.default_rng(0)
    centers = np.column_stack([rng.normal(0, 0.01, (20, 2)), np.full(20, 0.03)])
    axes = np.column_stack(
        [np.cos(rng.uniform(0, 3, 20)), np.sin(rng.uniform(0, 3, 20)), np.zeros(20)]
    )
    widths = np.full(20, 0.075)
    first = label_grasps(shape.vertices, shape.faces, pose, centers, axes, widths, rng=5)
    second = label_grasps(shape.vertices, shape.faces, pose, centers, axes, widths, rng=5)
    np.testing.assert_array_equal(first.robust_quality, second.robust_quality)
    assert 0 < first.robust.sum() < 20


def test_bad_input_names_the_problem(box_evaluator, box_on_table):
    with pytest.raises(ValueError, match="same number of grasps"):
        box_evaluator.evaluate(np.zeros((2, 3)), np.tile(X_AXIS, (3, 1)), [0.05, 0.05])
    with pytest.raises(ValueError, match="vertical"):
        box_evaluator.evaluate([[0, 0, 0.02]], [[0, 0, 1.0]], [0.05])
    with pytest.raises(ValueError, match="widths"):
        box_evaluator.evaluate([[0, 0, 0.02]], [X_AXIS], [-0.01])
    shape, _ = box_on_table
    with pytest.raises(ValueError, match="rotation"):
        GraspQualityEvaluator.from_object(shape.vertices, shape.faces, np.diag([2.0, 1, 1, 1]))
    with pytest.raises(ValueError, match="friction_coef"):
        RobustnessConfig(friction_coef=-0.1)
