"""The robust label's weight step (grip force against the object's weight at its centre of mass)
and its agreement with the MuJoCo lift, which closes with the same grip force."""

import itertools
from dataclasses import replace

import numpy as np
import pytest
from scipy.optimize import linprog

from gqstn_ros.grasping import primitives
from gqstn_ros.grasping.lift_check import (
    measure_family_agreement,
    scaled_mass,
    simulate_lift,
)
from gqstn_ros.grasping.robustness import (
    FAILURE_REASONS,
    REASON_COLLISION,
    REASON_NO_FORCE_CLOSURE,
    REASON_WEIGHT,
    GraspContacts,
    GraspQualityEvaluator,
    RobustnessConfig,
)
from gqstn_ros.gripper import ROBOTIQ_2F85
from gqstn_ros.sim.objects import (
    MAX_PART_DENSITY,
    ObjectModel,
    generate_object,
    object_from_solid,
    t_solid,
)

WIDTH = 0.06  # m, opening of the grasps across the hammer's 3 cm handle
HEAD_DENSITY = 8000.0  # kg/m^3, steel


def _lp_capacity(evaluator, points, normals, spread, mu):
    """The weight capacity (N) by a general LP over the contact wrench generators: F times the
    convex hull of {0} and each contact's soft-finger wrenches (cone edges; unit normal force
    with +-mu ((2/3) r + spread) torsion), holding up the largest weight at the centre of mass."""
    cfg = evaluator.config
    columns, owner = [], []
    for c in range(2):
        inward = -normals[c]
        helper = np.array([0.0, 0.0, 1.0]) if abs(inward[2]) < 0.9 else np.array([1.0, 0, 0])
        t1 = np.cross(inward, helper)
        t1 /= np.linalg.norm(t1)
        t2 = np.cross(inward, t1)
        arm = points[c] - evaluator.center_of_mass
        for k in range(cfg.num_cone_edges):
            phase = 2 * np.pi * k / cfg.num_cone_edges
            force = inward + mu * (np.cos(phase) * t1 + np.sin(phase) * t2)
            columns.append(np.r_[force, np.cross(arm, force)])
            owner.append(c)
        torsion = mu * ((2 / 3) * cfg.contact_patch_radius + spread[c])
        for sign in (1.0, -1.0):
            columns.append(np.r_[inward, np.cross(arm, inward) + sign * torsion * inward])
            owner.append(c)
    generators = np.array(columns).T
    n = generators.shape[1]
    equality = np.zeros((6, n + 1))
    equality[:, :n] = generators
    equality[2, n] = -1.0  # the contacts lift the weight W: net force (0, 0, W), no torque
    bound = np.zeros((2, n + 1))
    bound[owner, np.arange(n)] = 1.0  # each contact's normal force <= grip force
    result = linprog(
        np.r_[np.zeros(n), -1.0],
        A_ub=bound,
        b_ub=np.full(2, evaluator.gripper.grip_force),
        A_eq=equality,
        b_eq=np.zeros(6),
        bounds=[(0, None)] * (n + 1),
        method="highs",
    )
    assert result.status == 0
    return result.x[n]


@pytest.mark.parametrize("radius", [0.005, 0.0])
def test_weight_capacity_is_the_linear_programme_optimum(radius):
    """The closed-form solution equals a general LP solver's optimum on random contact pairs
    (tilted normals, patch spreads, friction, centre of mass off the grasp line)."""
    shape = primitives.box((0.04, 0.2, 0.05))
    pose = primitives.resting_pose(shape.vertices)
    evaluator = GraspQualityEvaluator.from_object(
        shape.vertices,
        shape.faces,
        pose,
        config=RobustnessConfig(contact_patch_radius=radius),
        mass=0.5,
        center_of_mass=[0.0, 0.05, 0.0],
    )
    rng = np.random.default_rng(0)
    count = 150
    centers = rng.normal(0.0, 0.03, (count, 3))
    centers[:, 2] += 0.05
    axes = rng.normal(size=(count, 3)) * [1.0, 1.0, 0.2]
    axes /= np.linalg.norm(axes, axis=1, keepdims=True)
    half = rng.uniform(0.005, 0.04, count)[:, None]
    points = np.stack([centers - half * axes, centers + half * axes], axis=1)
    normals = np.stack([-axes, axes], axis=1) + rng.normal(0.0, 0.2, (count, 2, 3))
    normals /= np.linalg.norm(normals, axis=2, keepdims=True)
    spread = rng.choice([0.0, 0.004, 0.012], (count, 2))
    friction = rng.uniform(0.2, 1.0, count)
    contacts = GraspContacts(np.ones(count, dtype=bool), points, normals, spread)
    capacity = evaluator.weight_capacity(contacts, friction)
    expected = [
        _lp_capacity(evaluator, points[i], normals[i], spread[i], friction[i]) for i in range(count)
    ]
    np.testing.assert_allclose(capacity, expected, rtol=1e-7, atol=1e-9)
    assert np.sum(capacity > 0) > count // 4  # plenty of grasps that hold something
    # Each jaw pressing with the grip force on a line through the centre of mass (no torque):
    # with point contacts the weight is carried by friction alone, 2 mu F.
    on_line = GraspContacts(
        np.ones(1, dtype=bool),
        evaluator.center_of_mass + np.array([[[-0.02, 0.0, 0.0], [0.02, 0.0, 0.0]]]),
        np.array([[[-1.0, 0.0, 0.0], [1.0, 0.0, 0.0]]]),
    )
    np.testing.assert_allclose(
        evaluator.weight_capacity(on_line, np.array([0.5])), 2 * 0.5 * ROBOTIQ_2F85.grip_force
    )


@pytest.fixture(scope="module")
def hammer():
    """A T-shaped steel hammer lying flat: a 3 x 14 cm handle (y) and a 10 cm head across its
    far end, 2.5 cm thick; its centre of mass lies on the handle, 3.5 cm from the head."""
    model = object_from_solid("hammer", "t_shape", 0, t_solid(0.10, 0.14, 0.03, 0.025),
                              density=HEAD_DENSITY)  # fmt: skip
    pose = primitives.resting_pose(model.vertices, yaw=0.3)
    return model, pose


def _handle_grasp(pose, offset):
    """A grasp across the handle, `offset` m from the centre of mass along it (negative: towards
    the light end), at half the hammer's thickness."""
    center = pose[:3, 3] + offset * pose[:3, 1]
    center[2] = 0.0125
    return center, pose[:3, 0].copy()


def _label_and_lift(model, pose, offset, gripper):
    center, axis = _handle_grasp(pose, offset)
    evaluator = GraspQualityEvaluator.from_object_model(model, pose, gripper)
    result = evaluator.evaluate(center[None], axis[None], [WIDTH], rng=0)
    lift = simulate_lift(
        list(model.convex_parts), pose, center, axis, WIDTH, gripper, object_inertial=model.inertial
    )
    return result, lift


def test_heavy_head_twists_out_of_a_grasp_at_the_light_end(hammer):
    """Grasped 8.5 cm from the centre of mass on the light end, the hammer is in force closure
    in every perturbed copy, yet two pads pressed with 60 N cannot resist the head's torque:
    the label says it cannot hold the weight, and the MuJoCo lift loses it (it twists down)."""
    model, pose = hammer
    result, lift = _label_and_lift(model, pose, -0.085, ROBOTIQ_2F85)
    assert result.force_closure_rate[0] == 1.0 and result.closure_quality[0] > 0.005
    assert not result.robust[0] and result.reasons[0] == REASON_WEIGHT
    assert result.weight_hold_rate[0] == 0.0
    assert not lift.success and lift.object_rise < 0.08
    # Near the centre of mass the same gripper holds it, in the label and in the lift.
    result, lift = _label_and_lift(model, pose, 0.0, ROBOTIQ_2F85)
    assert result.robust[0] and result.weight_hold_rate[0] == 1.0 and result.reasons[0] == ""
    assert lift.success


def test_doubled_grip_force_holds_what_the_operating_force_cannot(hammer):
    """The label and the lift take the grip force from the same gripper profile: doubling it
    turns the weight failure at the light end into a robust grasp that the lift holds."""
    model, pose = hammer
    strong = replace(ROBOTIQ_2F85, grip_force=2 * ROBOTIQ_2F85.grip_force)
    weak_result, weak_lift = _label_and_lift(model, pose, -0.085, ROBOTIQ_2F85)
    strong_result, strong_lift = _label_and_lift(model, pose, -0.085, strong)
    assert weak_result.reasons[0] == REASON_WEIGHT and not weak_lift.success
    assert strong_result.robust[0] and strong_lift.success
    # The capacity scales with the grip force: twice the force holds twice the weight.
    center, axis = _handle_grasp(pose, -0.085)
    capacities = []
    for gripper in (ROBOTIQ_2F85, strong):
        evaluator = GraspQualityEvaluator.from_object_model(model, pose, gripper)
        contacts = evaluator.find_contacts(center[None], axis[None], np.array([WIDTH]))
        capacities.append(evaluator.weight_capacity(contacts, np.array([0.5]))[0])
    np.testing.assert_allclose(capacities[1], 2 * capacities[0], rtol=1e-9)


def test_robust_quality_falls_monotonically_with_the_mass(box_on_table):
    """The same grasps and perturbations on ever heavier copies of one box: the share of copies
    that hold the weight and the robust quality never rise; a light box is labelled as without
    the weight step, and one too heavy for the grip is robust nowhere."""
    shape, pose = box_on_table
    rng = np.random.default_rng(2)
    count = 30
    centers = np.column_stack([rng.normal(0, 0.008, (count, 2)), rng.uniform(0.01, 0.045, count)])
    angle = rng.uniform(0, np.pi, count)
    axes = np.column_stack([np.cos(angle), np.sin(angle), np.zeros(count)])
    widths = np.full(count, 0.08)
    results = []
    for mass in (0.01, 0.5, 2.0, 5.0, 10.0, 100.0):
        evaluator = GraspQualityEvaluator.from_object(shape.vertices, shape.faces, pose, mass=mass)
        results.append(evaluator.evaluate(centers, axes, widths, rng=4))
    for lighter, heavier in itertools.pairwise(results):
        assert np.all(heavier.weight_hold_rate <= lighter.weight_hold_rate)
        assert np.all(heavier.robust_quality <= lighter.robust_quality)
        np.testing.assert_array_equal(heavier.closure_quality, lighter.closure_quality)
    # 10 g: only copies at the very edge of force closure (epsilon ~ 1e-5) cannot hold it.
    np.testing.assert_allclose(results[0].robust_quality, results[0].closure_quality, atol=1e-4)
    np.testing.assert_array_equal(results[0].robust, results[0].closure_quality >= 0.0005)
    assert results[0].robust.sum() > count // 3
    assert results[2].weight_hold_rate.sum() < results[0].weight_hold_rate.sum()
    # 100 kg is more than 2 mu F of friction can lift at all.
    assert not results[-1].robust.any() and not results[-1].weight_hold_rate.any()
    assert set(results[-1].reasons) <= set(FAILURE_REASONS)
    # Without a mass, or with the step off, the label is the force-closure label.
    unknown = GraspQualityEvaluator.from_object(shape.vertices, shape.faces, pose)
    off = GraspQualityEvaluator.from_object(
        shape.vertices,
        shape.faces,
        pose,
        config=RobustnessConfig(weight_safety_factor=0.0),
        mass=100.0,
    )
    for evaluator in (unknown, off):
        result = evaluator.evaluate(centers, axes, widths, rng=4)
        np.testing.assert_array_equal(result.robust_quality, results[0].closure_quality)
        np.testing.assert_array_equal(result.weight_hold_rate, result.force_closure_rate)


def test_the_object_model_gives_mass_centre_and_friction():
    """An ObjectModel whose centre of mass is off its mesh's centroid (denser parts): the label
    takes the model's mass and its origin as the centre of mass, not a uniform-density guess."""
    solid = t_solid(0.10, 0.14, 0.03, 0.025)
    uniform = object_from_solid("t", "t_shape", 0, solid, density=1000.0)
    shifted = ObjectModel(
        **{
            **uniform.__dict__,
            "vertices": uniform.vertices - [0.0, 0.02, 0.0],
            "convex_parts": tuple(p - [0.0, 0.02, 0.0] for p in uniform.convex_parts),
            "mass": 0.7,
        }
    )
    pose = primitives.resting_pose(shifted.vertices, yaw=0.5, xy=(0.1, 0.2))
    evaluator = GraspQualityEvaluator.from_object_model(shifted, pose)
    assert evaluator.mass == 0.7
    np.testing.assert_allclose(evaluator.center_of_mass, pose[:3, 3], atol=1e-12)
    assert np.linalg.norm(evaluator.mesh.center_of_mass - pose[:3, 3]) > 0.015
    assert evaluator.checks_weight
    # Without a surface of its own the label's friction; with one, the object's.
    assert evaluator.config.friction_coef == RobustnessConfig().friction_coef
    slippery = GraspQualityEvaluator.from_object_model(replace(shifted, friction=0.2), pose)
    assert slippery.config.friction_coef == 0.2


def test_reasons_name_collision_closure_and_weight(box_on_table):
    shape, pose = box_on_table
    evaluator = GraspQualityEvaluator.from_object(shape.vertices, shape.faces, pose, mass=0.2)
    centers = np.array([[0.0, 0.0, 0.025], [0.0, 0.0, 0.025], [0.0, 0.0, 0.060]])
    axes = np.array([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    result = evaluator.evaluate(centers, axes, [0.06, 0.03, 0.06], rng=0)
    # Fine; fingers land on the box; jaws close above it on nothing.
    assert list(result.reasons) == ["", REASON_COLLISION, REASON_NO_FORCE_CLOSURE]
    assert result.robust[0] and not result.robust[1:].any()


def test_weight_step_settings_are_validated(box_on_table):
    shape, pose = box_on_table
    for value in (-0.5, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="weight_safety_factor"):
            RobustnessConfig(weight_safety_factor=value)
    with pytest.raises(ValueError, match="flush_tolerance"):
        RobustnessConfig(flush_tolerance=-0.001)
    for mass in (0.0, -1.0, float("nan")):
        with pytest.raises(ValueError, match="mass"):
            GraspQualityEvaluator.from_object(shape.vertices, shape.faces, pose, mass=mass)
    with pytest.raises(ValueError, match="center_of_mass"):
        GraspQualityEvaluator.from_object(
            shape.vertices, shape.faces, pose, mass=1.0, center_of_mass=[0.0, 0.0]
        )
    with pytest.raises(ValueError, match="center_of_mass"):
        GraspQualityEvaluator(
            GraspQualityEvaluator.from_object(shape.vertices, shape.faces, pose).mesh,
            center_of_mass=[0.0, np.nan, 0.0],
        )


def test_scaled_mass_keeps_shape_and_centre_within_realistic_densities():
    tool = generate_object("tool", 3)
    heavy = scaled_mass(tool, 2.0)
    assert heavy.mass == pytest.approx(2.0 * tool.mass)
    np.testing.assert_allclose(heavy.inertia, 2.0 * tool.inertia)
    np.testing.assert_array_equal(heavy.vertices, tool.vertices)  # the origin stays the CoM
    assert scaled_mass(tool, 1.0) is tool
    capped = scaled_mass(tool, 1000.0)
    assert max(capped.part_densities) == pytest.approx(MAX_PART_DENSITY)
    assert capped.mass == pytest.approx(tool.mass * MAX_PART_DENSITY / max(tool.part_densities))
    with pytest.raises(ValueError, match="mass scale"):
        scaled_mass(tool, 0.0)


def test_family_agreement_reports_per_family_with_reasons():
    report = measure_family_agreement(["tool", "box"], 6, seed=3, mass_scales=(1.0, 4.0))
    assert report.families is not None and len(report.families) == len(report.labels) == 12
    parts = report.by_family()
    assert list(parts) == ["tool", "box"]
    for family, part in parts.items():
        assert set(part.families) == {family} and len(part.labels) == 6
        assert part.confusion.sum() == 6
    np.testing.assert_array_equal(sum(part.confusion for part in parts.values()), report.confusion)
    assert set(report.reasons[report.labels]) == {""}
    assert set(report.reasons[~report.labels]) <= set(FAILURE_REASONS)
    # A family's grasps come from its own stream: alone it gives the same labels and lifts.
    alone = measure_family_agreement(["box"], 6, seed=3, mass_scales=(1.0, 4.0))
    np.testing.assert_array_equal(alone.labels, parts["box"].labels)
    np.testing.assert_array_equal(alone.lifted, parts["box"].lifted)
    with pytest.raises(ValueError, match="unknown object family"):
        measure_family_agreement(["no_such_family"], 6, seed=3)
