import numpy as np
import pytest

from gqstn_ros.grasping import primitives
from gqstn_ros.grasping.lift_check import (
    LIFT_BLOCKED,
    LIFT_HELD,
    LIFT_OUTCOMES,
    LIFT_SLIPPED,
    simulate_lift,
)


@pytest.fixture
def yawed_box():
    shape = primitives.box((0.04, 0.06, 0.05))
    pose = primitives.resting_pose(shape.vertices, yaw=0.3, xy=(0.05, -0.02))
    return shape, pose


def test_lift_of_a_good_box_grasp_succeeds(yawed_box):
    shape, pose = yawed_box
    center = pose[:3, 3] + [0.0, 0.0, 0.025]
    result = simulate_lift(shape.convex_parts, pose, center, pose[:3, 0], 0.06)
    assert result.success
    assert result.object_rise > 0.09 and all(result.fingers_in_contact)
    assert result.outcome == LIFT_HELD
    assert result.on_table is False and result.off_the_table()


def test_lift_of_a_grasp_missing_the_object_fails(yawed_box):
    shape, pose = yawed_box
    center = pose[:3, 3] + [0.0, 0.0, 0.025] + 0.08 * pose[:3, 1]
    result = simulate_lift(shape.convex_parts, pose, center, pose[:3, 0], 0.06)
    assert not result.success and abs(result.object_rise) < 0.005
    assert result.outcome == LIFT_SLIPPED  # closed on nothing: the box stayed on the table
    assert result.on_table and not result.off_the_table()


def test_a_heavy_bar_gripped_off_centre_pivots_and_leans_on_the_table():
    # 2 kg, 25 cm long, gripped 9 cm from its centre of mass: it turns between the fingers
    # until its far end rests on the table. Neither level (success) nor off the table.
    length, side, mass = 0.25, 0.03, 2.0
    shape = primitives.box((length, side, side))
    pose = primitives.resting_pose(shape.vertices, yaw=0.0, xy=(0.0, 0.0))
    inertia = mass / 12 * np.diag([2 * side**2, length**2 + side**2, length**2 + side**2])
    center = pose[:3, 3] + [0.0, 0.0, side / 2] + 0.09 * pose[:3, 0]
    result = simulate_lift(
        shape.convex_parts, pose, center, pose[:3, 1], 0.05,
        object_inertial=(mass, np.zeros(3), inertia),
    )  # fmt: skip
    assert not result.success and result.outcome == LIFT_SLIPPED
    assert all(result.fingers_in_contact) and 0.03 < result.object_rise < 0.09
    assert result.on_table and not result.off_the_table()


def test_lift_blocked_by_the_object_fails(yawed_box):
    shape, pose = yawed_box
    center = pose[:3, 3] + [0.0, 0.0, 0.025]
    # Opening narrower than the box: the fingers land on its top.
    result = simulate_lift(shape.convex_parts, pose, center, pose[:3, 0], 0.03)
    assert not result.success and result.outcome != LIFT_HELD
    # An opening beyond the stroke is blocked before anything moves.
    wide = simulate_lift(shape.convex_parts, pose, center, pose[:3, 0], 0.2)
    assert not wide.success and wide.outcome == LIFT_BLOCKED


def test_bad_lift_input_raises(yawed_box):
    shape, pose = yawed_box
    with pytest.raises(ValueError, match="convex part 0"):
        simulate_lift([np.zeros((2, 3))], pose, [0, 0, 0.02], [1, 0, 0], 0.05)
    with pytest.raises(ValueError, match="horizontal"):
        simulate_lift(shape.convex_parts, pose, [0, 0, 0.02], [0, 0, 1], 0.05)


def test_label_agreement_explains_itself_and_lifts_perturbed_copies():
    from gqstn_ros.grasping.lift_check import measure_label_agreement

    plain = measure_label_agreement(12, seed=5, grasps_per_object=6)
    robust = measure_label_agreement(12, seed=5, grasps_per_object=6, perturbed_lifts=2)
    # The perturbed lifts draw from their own stream: the grasps and single lifts are the same.
    np.testing.assert_array_equal(plain.labels, robust.labels)
    np.testing.assert_array_equal(plain.lifted, robust.lifted)
    assert plain.object_names == robust.object_names and plain.held_under_perturbation is None
    assert robust.held_under_perturbation.shape == (12,)
    assert set(np.unique(robust.held_under_perturbation)) <= {0.0, 0.5, 1.0}
    assert 0.0 <= robust.robust_lift_agreement <= 1.0
    # The label's reasons: a robust label needs a collision-free grasp in force closure.
    assert plain.nominal_collision_free.shape == plain.force_closure_rate.shape == (12,)
    assert np.all(plain.force_closure_rate[plain.labels] > 0)


def test_lift_repeatability_bounds_what_a_label_can_agree_with():
    from gqstn_ros.grasping.lift_check import AgreementReport

    # Four grasps: p (share of perturbed lifts held) 1, 0.75, 0.25, 0; the unperturbed lifts
    # held, dropped, held, dropped; the label says robust, robust, not, not.
    report = AgreementReport(
        robust_quality=np.array([1.0, 1.0, 0.0, 0.0]),
        labels=np.array([True, True, False, False]),
        lifted=np.array([True, False, True, False]),
        object_names=["a", "b", "c", "d"],
        held_under_perturbation=np.array([1.0, 0.75, 0.25, 0.0]),
    )
    figures = report.lift_repeatability()
    # The unperturbed lift sides with its perturbed majority on a and d only.
    assert figures["nominal_vs_robust_lift"] == 0.5
    assert figures["best_label_vs_one_copy"] == (1.0 + 0.75 + 0.75 + 1.0) / 4
    # This label is the perturbed majority: it reaches the bound.
    assert figures["label_vs_one_copy"] == figures["best_label_vs_one_copy"]
    assert report.agreement == 0.5 and report.robust_lift_agreement == 1.0
    without = AgreementReport(
        robust_quality=np.zeros(1), labels=np.zeros(1, bool), lifted=np.zeros(1, bool),
        object_names=["a"],
    )  # fmt: skip
    assert all(np.isnan(v) for v in without.lift_repeatability().values())
    # Held in half of its perturbed lifts is a robust lift.
    tie = AgreementReport(
        robust_quality=np.zeros(1), labels=np.zeros(1, bool), lifted=np.ones(1, bool),
        object_names=["a"], held_under_perturbation=np.array([0.5]),
    )  # fmt: skip
    assert tie.lift_repeatability()["nominal_vs_robust_lift"] == 1.0


def test_family_agreement_records_how_each_lift_ended():
    from gqstn_ros.grasping.lift_check import measure_family_agreement
    from gqstn_ros.grasping.robustness import RobustnessConfig

    report = measure_family_agreement(
        ["box"], 6, seed=2, grasps_per_object=6, robustness_config=RobustnessConfig()
    )
    assert report.lift_outcomes.shape == report.lift_rises.shape == (6,)
    assert set(report.lift_outcomes) <= set(LIFT_OUTCOMES)
    # A lift succeeds exactly when it ended held, having risen by about the lift height.
    np.testing.assert_array_equal(report.lifted, report.lift_outcomes == LIFT_HELD)
    assert np.all(report.lift_rises[report.lifted] > 0.09)
    assert np.all(report.lift_rises[report.lift_outcomes == LIFT_BLOCKED] == 0.0)
    assert np.all(report.object_masses > 0)
    # The columns follow the grasps through subsets and concatenation.
    both = report.concatenate([report, report.subset(report.lifted)])
    assert len(both.lift_outcomes) == 6 + report.lifted.sum()
    np.testing.assert_array_equal(both.lift_rises[6:], report.lift_rises[report.lifted])
    # A level lift also leaves the object off the table; a blocked one never does.
    assert report.lifted_off_table.shape == (6,)
    assert np.all(report.lifted_off_table[report.lifted])
    assert not np.any(report.lifted_off_table[report.lift_outcomes == LIFT_BLOCKED])
    assert np.all(both.lifted_off_table[6:])
