"""The robust label's physical models of the descent, the contacts, the squeeze and the weight,
each against the MuJoCo lift of the same grasp where it claims a physical behaviour."""

from dataclasses import replace

import numpy as np
import pytest
from scipy.optimize import linprog

from gqstn_ros.grasping import primitives
from gqstn_ros.grasping.lift_check import LiftConfig, measure_family_agreement, simulate_lift
from gqstn_ros.grasping.robustness import (
    LIFT_CALIBRATED,
    REASON_COLLISION,
    REASON_NO_FORCE_CLOSURE,
    GraspContacts,
    GraspQualityEvaluator,
    RobustnessConfig,
)
from gqstn_ros.gripper import ROBOTIQ_2F85

X_AXIS = np.array([1.0, 0.0, 0.0])
# The label with the models calibrated against the lift, and the defaults (all of them off: the
# label of datasets written before them).
CALIBRATED = RobustnessConfig.lift_calibrated()
LEGACY = RobustnessConfig()


def _box_inertia(mass: float, extent: np.ndarray) -> np.ndarray:
    x, y, z = extent
    return mass / 12.0 * np.diag([y * y + z * z, x * x + z * z, x * x + y * y])


def _evaluator(shape, pose, mass, config=CALIBRATED):
    """The label of `shape` at `pose` with `mass` kg at the object frame's origin."""
    return GraspQualityEvaluator.from_object(
        shape.vertices, shape.faces, pose, config=config, mass=mass, center_of_mass=np.zeros(3)
    )


def _lift(shape, pose, center, axis, width, mass, config=None):
    """The MuJoCo lift of a solid of `mass` kg, centre of mass at its frame's origin."""
    extent = shape.vertices.max(axis=0) - shape.vertices.min(axis=0)
    inertial = (mass, np.zeros(3), _box_inertia(mass, extent))
    return simulate_lift(
        shape.convex_parts, pose, center, axis, width, config=config, object_inertial=inertial
    )


def _one(evaluator, center, axis, width, rng=0):
    return evaluator.evaluate(center[None], axis[None], [width], rng=rng)


# ---------------------------------------------------------------------------------- descent
def test_the_legacy_descent_is_the_plain_collision_test():
    """With the descent models off, `descend` reaches exactly the grasps the conservative
    collision test clears, and closes them where and as wide as they were commanded."""
    shape = primitives.l_shape(0.08, 0.06, 0.025, 0.04)
    pose = primitives.resting_pose(shape.vertices, yaw=0.4)
    evaluator = GraspQualityEvaluator.from_object(shape.vertices, shape.faces, pose, config=LEGACY)
    rng = np.random.default_rng(3)
    count = 400
    centers = np.column_stack([rng.normal(0.0, 0.03, (count, 2)), rng.uniform(-0.01, 0.07, count)])
    angle = rng.uniform(0, np.pi, count)
    axes = np.column_stack([np.cos(angle), np.sin(angle), np.zeros(count)])
    widths = rng.uniform(0.0, 0.1, count)
    descent = evaluator.descend(centers, axes, widths)
    np.testing.assert_array_equal(
        descent.reached, evaluator.reachable_and_collision_free(centers, axes, widths)
    )
    assert 0.1 < descent.reached.mean() < 0.9
    np.testing.assert_array_equal(descent.centers, centers)
    np.testing.assert_array_equal(descent.widths, widths)
    assert not descent.shoved.any()


@pytest.mark.parametrize(("palm_overlap", "held"), [(0.003, True), (0.009, False)])
def test_a_palm_landing_within_the_tolerance_closes_where_it_stopped(palm_overlap, held):
    """A grasp so deep on a 6 cm tall box that the palm meets the box top 3 mm early: the palm
    stops there, the jaws close 3 mm higher and the label and the lift both hold the box; 9 mm
    early (beyond the 5 mm tolerance) it is a collision, and the lift's palm does not get down
    to the grasp either."""
    shape = primitives.box((0.04, 0.06, 0.06))
    pose = primitives.resting_pose(shape.vertices)
    config = CALIBRATED
    center = pose[:3, 3].copy()
    center[2] = 0.06 - palm_overlap - ROBOTIQ_2F85.finger_depth + config.fingertip_below_center
    evaluator = _evaluator(shape, pose, 0.3, config)
    descent = evaluator.descend(center[None], X_AXIS[None], np.array([0.06]))
    result = _one(evaluator, center, X_AXIS, 0.06)
    assert descent.reached[0] == held and result.robust[0] == held
    if held:
        assert descent.centers[0, 2] == pytest.approx(center[2] + palm_overlap, abs=1.5e-3)
    else:
        assert result.reasons[0] == REASON_COLLISION
    strict = _evaluator(shape, pose, 0.3, replace(config, palm_stop_tolerance=0.0))
    assert not strict.descend(center[None], X_AXIS[None], np.array([0.06])).reached[0]
    assert _lift(shape, pose, center, X_AXIS, 0.06, 0.3).success == held


def test_a_finger_grazing_the_box_edge_is_not_a_collision():
    """A square box turned 45 degrees, grasped with the jaws opened exactly to its diagonal, so
    that two of its vertical edges just touch the inside of the fingers: the conservative height
    map calls that a landing, the exact check does not, and the lift goes down past the edges
    and holds the box."""
    shape = primitives.box((0.03, 0.03, 0.04))
    pose = primitives.resting_pose(shape.vertices, yaw=np.deg2rad(45.0))
    corners = (pose[:3, :3] @ shape.vertices.T).T
    width = 2.0 * float(np.max(np.abs(corners[:, 0])))
    center = pose[:3, 3].copy()
    center[2] = 0.02
    evaluator = _evaluator(shape, pose, 0.1)
    assert evaluator.descend(center[None], X_AXIS[None], np.array([width])).reached[0]
    assert _one(evaluator, center, X_AXIS, width).robust[0]
    conservative = _evaluator(shape, pose, 0.1, LEGACY)
    assert not conservative.descend(center[None], X_AXIS[None], np.array([width])).reached[0]
    assert _lift(shape, pose, center, X_AXIS, width, 0.1).success


def _stub_and_post():
    """A 1.2 cm wide, 3 cm tall stub and a 7 cm tall post 3.6 cm from it, on a common 8 mm base
    (x along the profile, 3 cm deep in y): three boxes, the label's mesh and the lift's parts."""
    boxes = [  # (x range, z range)
        ((0.000, 0.012), (0.008, 0.030)),
        ((0.000, 0.060), (0.000, 0.008)),
        ((0.048, 0.060), (0.008, 0.070)),
    ]
    vertices, faces, parts = [], [], []
    for (x0, x1), (z0, z1) in boxes:
        part = primitives.box((x1 - x0, 0.03, z1 - z0))
        offset = np.array([(x0 + x1) / 2, 0.0, (z0 + z1) / 2])
        faces.append(part.faces + sum(len(v) for v in vertices))
        vertices.append(part.vertices + offset)
        parts.append(part.convex_parts[0] + offset)
    return primitives.PrimitiveShape(
        "stub_and_post", np.concatenate(vertices), np.concatenate(faces), parts
    )


def test_the_palm_spans_the_gripper_body_not_only_the_opening():
    """The stub gripped across with a 3 cm opening at 2 cm height: both fingers clear the stub
    and the base, and a palm over the opening alone would clear the post; the gripper body spans
    the full stroke, lands on the post 1.5 cm early, and the lift's palm stops there too."""
    shape = _stub_and_post()
    pose = np.eye(4)
    center = np.array([0.006, 0.0, 0.02])
    evaluator = _evaluator(shape, pose, 0.2)
    descent = evaluator.descend(center[None], X_AXIS[None], np.array([0.03]))
    assert not descent.reached[0]
    assert _one(evaluator, center, X_AXIS, 0.03).reasons[0] == REASON_COLLISION
    over_opening = _evaluator(shape, pose, 0.2, replace(CALIBRATED, exact_descent=False))
    assert over_opening.descend(center[None], X_AXIS[None], np.array([0.03])).reached[0]
    assert not _lift(shape, pose, center, X_AXIS, 0.03, 0.2).success


@pytest.fixture(scope="module")
def ball():
    """A 4 cm ball (icosphere) resting on the table."""
    shape = primitives.sphere(0.02, 3)
    return shape, primitives.resting_pose(shape.vertices)


def test_a_finger_landing_on_the_far_flank_is_pushed_open(ball):
    """Jaws opened 3.4 cm around a 4 cm ball at 2.5 cm height: both fingers land on the ball's
    flanks, which face away from the grasp; pressed down by the arm, the fingers slide out
    against their grip force and the jaws close from a wider opening (label and lift). With a
    gentle arm (50 N) the fingers do not give way: a collision."""
    shape, pose = ball
    center = pose[:3, 3].copy()
    center[2] = 0.025
    evaluator = _evaluator(shape, pose, 0.05)
    descent = evaluator.descend(center[None], X_AXIS[None], np.array([0.034]))
    assert descent.reached[0] and descent.widths[0] > 0.034 and not descent.shoved[0]
    assert _one(evaluator, center, X_AXIS, 0.034).robust[0]
    gentle = _evaluator(shape, pose, 0.05, replace(CALIBRATED, descent_push_force=50.0))
    assert not gentle.descend(center[None], X_AXIS[None], np.array([0.034])).reached[0]
    assert _lift(shape, pose, center, X_AXIS, 0.034, 0.05).success


def test_a_light_ball_under_a_finger_slides_away_and_is_held(ball):
    """A 6 cm opening whose +x finger comes down 1.7 cm from the centre of a 4 cm ball, on its
    flank (58 degrees, steeper than twice the friction angle): with the fingers held rigid
    (no finger_yield), a 50 g ball slides away from the finger into the opening and the jaws
    close on it; a 1 kg ball is too heavy for a 20 N push, and without a push nothing moves.
    The lift holds the light ball."""
    shape, pose = ball
    center = pose[:3, 3] + [0.017 - 0.03, 0.0, 0.0]
    center[2] = 0.015
    rigid = replace(CALIBRATED, finger_yield=False, descent_push_force=20.0)
    light = _evaluator(shape, pose, 0.05, rigid)
    descent = light.descend(center[None], X_AXIS[None], np.array([0.06]))
    assert descent.reached[0] and descent.shoved[0]
    assert descent.centers[0, 0] > center[0]  # the ball moved -x: the grasp, seen from it, +x
    assert _one(light, center, X_AXIS, 0.06).robust[0]
    heavy = _evaluator(shape, pose, 1.0, rigid)
    assert not heavy.descend(center[None], X_AXIS[None], np.array([0.06])).reached[0]
    no_shove = _evaluator(shape, pose, 0.05, replace(rigid, descent_push_force=0.0))
    assert not no_shove.descend(center[None], X_AXIS[None], np.array([0.06])).reached[0]
    assert _lift(shape, pose, center, X_AXIS, 0.06, 0.05).success


def test_the_calibrated_label_switches_on_every_model_and_the_defaults_none():
    assert CALIBRATED.palm_stop_tolerance == 0.005 and CALIBRATED.descent_push_force == 500.0
    assert CALIBRATED.squeeze_turn_step == pytest.approx(np.deg2rad(10.0))
    for name, value in LIFT_CALIBRATED.items():
        assert getattr(CALIBRATED, name) == value
        assert getattr(LEGACY, name) != value, name
    assert RobustnessConfig.lift_calibrated(descent_push_force=20.0).descent_push_force == 20.0


def test_descent_settings_are_validated():
    for name, value in (
        ("palm_stop_tolerance", -0.001),
        ("descent_push_force", -1.0),
        ("descent_push_force", float("inf")),
        ("squeeze_turn_step", -0.1),
        ("weight_cone_edges", 2),
    ):
        with pytest.raises(ValueError, match=name):
            RobustnessConfig(**{name: value})


# --------------------------------------------------------------------------------- contacts
def test_a_pad_face_grips_a_lying_rod_above_its_fingertips():
    """A lying 1.6 cm rod grasped with the fingertips 2 mm above the table: the lowest row of
    pad rays meets the rod's underside (its surface faces down, out past the fingertip edge), so
    the flat pad touches the rod higher up, at its widest: the pad's normal, force closure. As
    the rim's own surface normal, the two contacts push the rod down into the table: no force
    closure. The lift holds the rod."""
    rod = primitives.cylinder(0.008, 0.1, 48)
    rotation = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])
    pose = primitives.resting_pose(rod.vertices, rotation=rotation)
    center = pose[:3, 3].copy()
    center[2] = 0.007  # fingertips at 2 mm: the pad's lowest rays at 3.5 mm, under the axis
    facing = _evaluator(rod, pose, 0.05)
    contacts = facing.find_contacts(center[None], X_AXIS[None], np.array([0.03]))
    np.testing.assert_allclose(np.abs(contacts.normals[0, :, 0]), 1.0, atol=1e-9)
    assert facing.force_closure(contacts, np.array([0.5]))[0]
    assert _one(facing, center, X_AXIS, 0.03).robust[0]
    rim = _evaluator(rod, pose, 0.05, replace(CALIBRATED, rim_contact_by_facing=False))
    rim_contacts = rim.find_contacts(center[None], X_AXIS[None], np.array([0.03]))
    assert np.all(rim_contacts.normals[0, :, 2] < -0.2)
    assert not rim.force_closure(rim_contacts, np.array([0.5]))[0]
    assert _lift(rod, pose, center, X_AXIS, 0.03, 0.05).success


def test_a_fingertip_on_the_upper_half_of_a_ball_presses_with_its_edge(ball):
    """Fingertips 3 mm below the top of a 4 cm ball: the surface under the fingertip edge faces
    up, into the pad, so the edge presses on it (the surface normal) in both settings; the ball
    is squeezed out, not gripped, in the label and in the lift."""
    shape, pose = ball
    center = pose[:3, 3].copy()
    center[2] = 0.04 - 0.003 + RobustnessConfig().fingertip_below_center
    for config in (CALIBRATED, replace(CALIBRATED, rim_contact_by_facing=False)):
        evaluator = _evaluator(shape, pose, 0.05, config)
        contacts = evaluator.find_contacts(center[None], X_AXIS[None], np.array([0.05]))
        assert np.all(contacts.normals[0, :, 2] > 0.5)
        assert not _one(evaluator, center, X_AXIS, 0.05).robust[0]
    assert not _lift(shape, pose, center, X_AXIS, 0.05, 0.05).success


# ---------------------------------------------------------------------------------- squeeze
@pytest.fixture(scope="module")
def pentagon():
    """A regular pentagonal prism (2.5 cm to its corners, 4 cm tall): no two faces parallel."""
    angle = np.linspace(0.0, 2.0 * np.pi, 6)[:-1]
    shape = primitives.extruded_polygon(0.025 * np.column_stack([np.cos(angle), np.sin(angle)]),
                                        0.04)  # fmt: skip
    return shape, primitives.resting_pose(shape.vertices)


def test_the_squeeze_turns_a_prism_into_force_closure(pentagon):
    """Grasped 12 degrees off a corner-to-face line and 6 mm off the centre, the pentagon's two
    contacts make a couple about the vertical: not in force closure as commanded. The squeeze
    turns it until the pads hold it (the label with the turn, and the lift); without the turn the
    label calls it not robust."""
    shape, pose = pentagon
    axis = np.array([np.cos(np.deg2rad(12.0)), np.sin(np.deg2rad(12.0)), 0.0])
    center = pose[:3, 3] + 0.006 * np.array([-axis[1], axis[0], 0.0])
    center[2] = 0.02
    turned = _one(_evaluator(shape, pose, 0.1), center, axis, 0.07)
    assert turned.robust[0] and turned.force_closure_rate[0] > 0.5
    fixed = _evaluator(shape, pose, 0.1, replace(CALIBRATED, squeeze_turn_step=0.0))
    still = _one(fixed, center, axis, 0.07)
    assert not still.robust[0] and still.reasons[0] == REASON_NO_FORCE_CLOSURE
    assert _lift(shape, pose, center, axis, 0.07, 0.1).success


def test_the_squeeze_turns_objects_beyond_45_degrees_into_a_grip():
    """The calibrated label lets the squeeze rotate an object up to 90 degrees. On settled
    cylinders of the calibration family (seed 0, at 1, 4 and 11 times their density), the
    grasps it calls robust that a squeeze of at most 45 degrees leaves out of force closure are
    held by the MuJoCo lift, and rotating further loses no grasp that 45 degrees holds."""
    assert CALIBRATED.squeeze_alignment_max_angle == pytest.approx(np.deg2rad(90.0))
    narrow = replace(CALIBRATED, squeeze_alignment_max_angle=float(np.deg2rad(45.0)))
    report = measure_family_agreement(
        ["cylinder"], 20, seed=0, mass_scales=(1.0, 4.0, 11.0), alternative_configs=(narrow,),
        robustness_config=CALIBRATED,
    )  # fmt: skip
    narrow_robust = report.alternative_qualities[0] >= narrow.robust_threshold
    turned_further = report.labels & ~narrow_robust
    assert turned_further.any()
    assert np.all(report.lifted[turned_further])
    assert not np.any(narrow_robust & ~report.labels)


# ----------------------------------------------------------------------------------- weight
def _octagon_lp_capacity(evaluator, points, normals, spread, mu):
    """The weight capacity (N) of two contacts by a general LP over (f_1, t_1, f_2, t_2): each
    contact's force within its linearized cone and friction shared with the torsion by the
    ellipse's inscribed octagon, normal force at most the grip force, balancing W at the centre
    of mass; maximise W."""
    cfg = evaluator.config
    edges = cfg.weight_cone_edges
    rows, bounds = [], []
    for c in range(2):
        inward = -normals[c]
        helper = np.array([0.0, 0.0, 1.0]) if abs(inward[2]) < 0.9 else np.array([1.0, 0, 0])
        t1 = np.cross(inward, helper)
        t1 /= np.linalg.norm(t1)
        t2 = np.cross(inward, t1)
        torsion = mu * ((2 / 3) * cfg.contact_patch_radius + spread[c])
        reach = mu * np.cos(np.pi / edges)
        for k in range(edges):
            phase = 2 * np.pi * (k + 0.5) / edges
            facet = np.cos(phase) * t1 + np.sin(phase) * t2
            for angle in (np.pi / 8, 3 * np.pi / 8):
                for sign in (1.0, -1.0):
                    row = np.zeros(9)  # f_1 (3), t_1, f_2 (3), t_2, W
                    force = np.cos(angle) * facet / reach - np.cos(np.pi / 8) * inward
                    row[4 * c : 4 * c + 3] = force
                    row[4 * c + 3] = sign * np.sin(angle) / torsion
                    rows.append(row)
        bound = np.zeros(9)
        bound[4 * c : 4 * c + 3] = inward
        bounds.append(bound)
    equality = np.zeros((6, 9))
    for c in range(2):
        inward = -normals[c]
        arm = points[c] - evaluator.center_of_mass
        equality[:3, 4 * c : 4 * c + 3] = np.eye(3)
        equality[3:, 4 * c : 4 * c + 3] = np.array(
            [[0, -arm[2], arm[1]], [arm[2], 0, -arm[0]], [-arm[1], arm[0], 0]]
        )
        equality[3:, 4 * c + 3] = inward
    equality[2, 8] = -1.0  # the forces lift W at the centre of mass (no torque about it)
    result = linprog(
        np.r_[np.zeros(8), -1.0],
        A_ub=np.vstack([rows, bounds]),
        b_ub=np.r_[np.zeros(len(rows)), np.full(2, evaluator.gripper.grip_force)],
        A_eq=equality,
        b_eq=np.zeros(6),
        bounds=[(None, None)] * 8 + [(0, None)],
        method="highs",
    )
    assert result.status == 0
    return result.x[8]


@pytest.mark.parametrize("seed", range(6))
def test_elliptic_weight_capacity_is_its_linear_programme_optimum(box_on_table, seed):
    """The closed-form weight capacity with the elliptic limit surface equals a general LP
    solver's optimum over the same constraints, and is at least the diamond's (the diamond lies
    inside the octagon: it shares its vertices on the force and torsion axes)."""
    shape, pose = box_on_table
    rng = np.random.default_rng(seed)
    evaluator = _evaluator(shape, pose, 0.2)
    diamond = _evaluator(shape, pose, 0.2, replace(CALIBRATED, elliptic_limit_surface=False))
    points = pose[:3, 3] + np.array([[-0.02, 0.0, 0.0], [0.02, 0.0, 0.0]])
    points += rng.normal(0.0, 0.01, (2, 3)) * [0.0, 1.0, 1.0]
    normals = np.array([[-1.0, 0.0, 0.0], [1.0, 0.0, 0.0]]) + rng.normal(0.0, 0.1, (2, 3))
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    spread = rng.uniform(0.0, 0.015, 2)
    contacts = GraspContacts(np.array([True]), points[None], normals[None], spread[None])
    mu = np.array([0.6])
    capacity = evaluator.weight_capacity(contacts, mu)[0]
    reference = _octagon_lp_capacity(evaluator, points, normals, spread, 0.6)
    assert capacity == pytest.approx(reference, rel=1e-6, abs=1e-9)
    lower = diamond.weight_capacity(contacts, mu)[0]
    assert capacity >= lower - 1e-9


# ---------------------------------------------------------------------------- nominal rule
def test_a_grasp_whose_unperturbed_instance_misses_is_not_robust(box_on_table):
    """A grasp whose pads pass 0.5 mm beside a box: the unperturbed jaws close on air, while 3 of
    its 10 perturbed copies grip the box's corner, enough for a robust label from the copies
    alone. With nominal_must_hold its robust quality is 0 and its copies are not evaluated; the
    lift of the grasp fails."""
    shape, pose = box_on_table
    center = pose[:3, 3] + [0.0, 0.0, 0.0]
    center[1] += 0.03 + 0.011 + 0.0015  # the box's +y face at 3 cm, the pad's half width 1.1 cm
    center[2] = 0.025
    evaluator = _evaluator(shape, pose, 0.1)
    result = _one(evaluator, center, X_AXIS, 0.06)
    assert result.robust_quality[0] == 0.0 and result.force_closure_rate[0] == 0.0
    assert result.reasons[0] == REASON_NO_FORCE_CLOSURE
    every_copy = _evaluator(shape, pose, 0.1, replace(CALIBRATED, nominal_must_hold=False))
    fragile = _one(every_copy, center, X_AXIS, 0.06)
    assert 0.0 < fragile.force_closure_rate[0] < 0.5 and fragile.robust[0]
    assert not _lift(shape, pose, center, X_AXIS, 0.06, 0.1).success


# ------------------------------------------------------------------------------------- lift
def test_a_light_ball_squeezed_hard_stays_in_the_grasp():
    """A 10 g ball of 3.6 cm squeezed at 60 N: MuJoCo's soft contacts alone let it creep out of
    the jaws while they lift; with the no-slip passes the lift holds it, as Coulomb friction
    does."""
    shape = primitives.sphere(0.018, 3)
    pose = primitives.resting_pose(shape.vertices)
    center = pose[:3, 3].copy()
    center[2] = 0.016
    held = _lift(shape, pose, center, X_AXIS, 0.05, 0.01)
    assert held.success and all(held.fingers_in_contact)
    soft = _lift(shape, pose, center, X_AXIS, 0.05, 0.01, LiftConfig(noslip_iterations=0))
    assert soft.object_rise < held.object_rise


def test_lift_settings_are_validated():
    with pytest.raises(ValueError, match="noslip_iterations"):
        LiftConfig(noslip_iterations=-1)
