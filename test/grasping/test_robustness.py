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


def _footprint_clear_reference(evaluator, centers, axes, widths):
    """The collision test written out plainly: every footprint sample looked up in the height
    map (no shortcuts), fingers and palm tested for every grasp."""
    cfg, grip = evaluator.config, evaluator.gripper
    heightmap = evaluator._heightmap
    tip_z = centers[:, 2] - cfg.fingertip_below_center
    axis = axes[:, :2] / np.linalg.norm(axes[:, :2], axis=1, keepdims=True)
    lateral = np.stack([-axis[:, 1], axis[:, 0]], axis=1)
    step = 2.0 * cfg.heightmap_resolution
    across = np.linspace(-0.5, 0.5, max(2, int(np.ceil(grip.finger_width / step)) + 1))
    along = np.linspace(0.0, 1.0, max(2, int(np.ceil(grip.finger_thickness / step)) + 1))
    palm = np.linspace(-1.0, 1.0, max(2, int(np.ceil(2 * grip.max_width / step)) + 1))

    def highest(offsets_axis):  # (G, A) offsets along the axis -> (G,) highest point
        points = (
            centers[:, None, None, :2]
            + offsets_axis[:, :, None, None] * axis[:, None, None, :]
            + (across * grip.finger_width)[None, None, :, None] * lateral[:, None, None, :]
        )
        index = np.rint((points - heightmap.origin) / heightmap.resolution).astype(int)
        inside = np.all((index >= 0) & (index < heightmap.heights.shape), axis=-1)
        index = np.clip(index, 0, np.array(heightmap.heights.shape) - 1)
        values = np.where(inside, heightmap.heights[index[..., 0], index[..., 1]], -np.inf)
        return values.reshape(len(centers), -1).max(axis=1)

    finger_offsets = 0.5 * widths[:, None] + along[None, :] * grip.finger_thickness
    fingers = np.maximum(highest(finger_offsets), highest(-finger_offsets))
    palm_top = highest(palm[None, :] * (0.5 * widths[:, None] + grip.finger_thickness))
    return (
        (widths <= grip.max_width)
        & (widths >= grip.min_width)
        & (tip_z >= cfg.table_clearance)
        & (fingers <= tip_z)
        & (palm_top <= tip_z + grip.finger_depth)
    )


@pytest.mark.parametrize(
    "shape",
    [primitives.box((0.05, 0.03, 0.12)), primitives.l_shape(0.08, 0.06, 0.025, 0.04)],
    ids=["tall_box", "l_shape"],
)
def test_collision_test_matches_the_plain_footprint_lookup(shape):
    """The fast collision test (shortcuts on the height map's top, grasps that already failed
    skipped) gives exactly the plain footprint test's answers, palm collisions included."""
    pose = primitives.resting_pose(shape.vertices, yaw=0.4)
    evaluator = GraspQualityEvaluator.from_object(shape.vertices, shape.faces, pose)
    rng = np.random.default_rng(3)
    count = 400
    top = evaluator.mesh.bounds[1, 2]
    centers = np.column_stack(
        [rng.normal(0.0, 0.03, (count, 2)), rng.uniform(-0.01, top + 0.03, count)]
    )
    angle = rng.uniform(0, np.pi, count)
    axes = np.column_stack([np.cos(angle), np.sin(angle), rng.normal(0, 0.1, count)])
    widths = rng.uniform(0.0, 0.1, count)
    fast = evaluator.reachable_and_collision_free(centers, axes, widths)
    np.testing.assert_array_equal(
        fast, _footprint_clear_reference(evaluator, centers, axes, widths)
    )
    assert 0.1 < fast.mean() < 0.9  # both outcomes well represented


def test_hull_equations_are_convex_hull_equations():
    """The Ferrari-Canny hull goes straight to Qhull: the same facets as scipy's ConvexHull."""
    from scipy.spatial import ConvexHull

    from gqstn_ros.grasping.robustness import _hull_equations

    rng = np.random.default_rng(0)
    for points in (rng.normal(size=(12, 6)), rng.normal(size=(12, 6)) * [1, 1, 1, 0.1, 0.1, 0]):
        np.testing.assert_array_equal(
            _hull_equations(points, b"QJ"), ConvexHull(points, qhull_options="QJ").equations
        )


def _turned_about_z(vector: np.ndarray, degrees: float) -> np.ndarray:
    angle = np.deg2rad(degrees)
    c, s = np.cos(angle), np.sin(angle)
    return np.array([c * vector[0] - s * vector[1], s * vector[0] + c * vector[1], vector[2]])


def test_squeeze_turns_a_box_grasped_off_its_faces_flush_within_the_limit(box_on_table):
    """25 degrees off the 4 cm faces, the pads first touch two opposite box edges: out of force
    closure as commanded. The squeeze turns the box flush (the MuJoCo lift holds it), so the
    label evaluates the aligned grasp; a limit below 25 degrees leaves it out of force closure."""
    from gqstn_ros.grasping.lift_check import simulate_lift

    shape, pose = box_on_table
    center = np.array([[0.0, 0.0, 0.025]])
    axis = _turned_about_z(X_AXIS, 25.0)[None]
    width, friction = np.array([0.075]), np.array([0.5])
    evaluators = {
        degrees: GraspQualityEvaluator.from_object(
            shape.vertices,
            shape.faces,
            pose,
            config=RobustnessConfig(squeeze_alignment_max_angle=float(np.deg2rad(degrees))),
        )
        for degrees in (0.0, 20.0, 45.0)
    }
    for degrees in (0.0, 20.0):
        quality, closure = evaluators[degrees].epsilon(center, axis, width, friction)
        assert not closure[0] and quality[0] == 0.0, degrees
    quality, closure = evaluators[45.0].epsilon(center, axis, width, friction)
    assert closure[0] and quality[0] > 0.01
    # The commanded grasp itself: flush box faces give the straight grasp's quality.
    straight, _ = evaluators[45.0].epsilon(center, X_AXIS[None], width, friction)
    np.testing.assert_allclose(quality, straight, rtol=1e-6)
    assert RobustnessConfig().squeeze_alignment_max_angle == pytest.approx(np.deg2rad(45.0), 1e-4)
    lift = simulate_lift(shape.convex_parts, pose, center[0], axis[0], float(width[0]))
    assert lift.success, lift


def test_squeeze_alignment_needs_parallel_faces():
    """A triangular prism grasped across its two slanted faces (normals 120 degrees apart in
    the table plane, each 30 degrees off the closing line: outside the 26.6 degree friction
    cone): no turn lays both faces flush on the pads, so the grasp stays out of force closure."""
    triangle = np.array([[0.03, 0.0], [-0.015, 0.026], [-0.015, -0.026]])
    shape = primitives.extruded_polygon(triangle, 0.05)
    pose = primitives.resting_pose(shape.vertices)
    evaluators = [
        GraspQualityEvaluator.from_object(
            shape.vertices,
            shape.faces,
            pose,
            config=RobustnessConfig(squeeze_alignment_max_angle=float(np.deg2rad(degrees))),
        )
        for degrees in (0.0, 45.0)
    ]
    rng = np.random.default_rng(3)
    angles = np.deg2rad(rng.uniform(80.0, 100.0, 20))  # about the y axis, across both faces
    axes = np.column_stack([np.cos(angles), np.sin(angles), np.zeros(20)])
    centers = np.column_stack([rng.normal(0.0, 0.002, (20, 2)), np.full(20, 0.025)])
    widths, friction = np.full(20, 0.08), np.full(20, 0.5)
    contacts = evaluators[1].find_contacts(centers, axes, widths)
    assert contacts.touched.all()
    for evaluator in evaluators:
        quality, closure = evaluator.epsilon(centers, axes, widths, friction)
        assert not closure.any() and np.all(quality == 0.0)


def test_a_full_stroke_grasp_rounded_by_float32_still_fits_the_stroke(box_evaluator):
    """A planner narrows a too-wide grasp to exactly 85 mm; float32 makes it 85.0000009 mm.
    That grasp fits the stroke (the label used to score it 0); 85.1 mm does not."""
    center, axis = np.array([[0.0, 0.0, 0.025]]), np.array([[0.0, 1.0, 0.0]])
    full_stroke = float(np.float32(0.085))
    assert full_stroke > 0.085
    results = [
        box_evaluator.evaluate(center, axis, [width], rng=0) for width in (0.085, full_stroke)
    ]
    assert results[0].robust[0] and results[1].robust[0]
    np.testing.assert_allclose(results[1].robust_quality, results[0].robust_quality, rtol=1e-6)
    too_wide = box_evaluator.evaluate(center, axis, [0.0851], rng=0)
    assert not too_wide.nominal_collision_free[0] and too_wide.robust_quality[0] == 0.0
