"""The simulated UR5 + 2F-85 bench: grasps, refusals, limits, faults and the hand-eye frame;
another gripper profile's stroke and fingers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gqstn_ros.geometry import matrix_to_pose6, pose6_to_matrix
from gqstn_ros.hardware.interfaces import Arm, Gripper, HardwareError, MotionLimits
from gqstn_ros.profiles import load_gripper_profile
from gqstn_ros.sim.objects import box_solid, object_from_solid
from gqstn_ros.sim.robot import (
    SimArm,
    SimGripper,
    SimGripperConfig,
    SimRobotConfig,
    SimRobotWorld,
    TrapezoidalProfile,
)
from gqstn_ros.sim.scene import object_label

LIMITS = MotionLimits(speed=0.25, acceleration=0.5)
BOX = object_from_solid("test_box", "box", 0, box_solid(0.05, 0.07, 0.06))


@pytest.fixture(scope="module")
def world() -> SimRobotWorld:
    world = SimRobotWorld(BOX, seed=1)
    yield world
    world.close()


@pytest.fixture
def bench(world: SimRobotWorld) -> tuple[SimRobotWorld, SimArm, SimGripper]:
    result = world.reset(BOX, seed=1)
    assert result.ok, result.message
    arm, gripper = SimArm(world), SimGripper(world)
    arm.connect(1.0)
    gripper.connect(1.0)
    gripper.activate()
    return world, arm, gripper


def top_down_grasp(world: SimRobotWorld) -> np.ndarray:
    """(4, 4) TCP pose in base_link grasping the box across its narrowest horizontal side."""
    object_in_world = world.object_pose_in_world()
    rotation = object_in_world[:3, :3]
    extents = world.object_model.extents
    horizontal = [(extents[i], i) for i in range(3) if abs(rotation[2, i]) < 0.5]
    jaw = rotation[:, min(horizontal)[1]].copy()
    jaw[2] = 0.0
    jaw = world.base_in_world.rotation.T @ (jaw / np.linalg.norm(jaw))
    approach = world.base_in_world.rotation.T @ np.array([0.0, 0.0, -1.0])
    top = float((world.object_model.vertices @ rotation.T + object_in_world[:3, 3])[:, 2].max())
    grasp = np.eye(4)
    grasp[:3, :3] = np.stack([np.cross(jaw, approach), jaw, approach], axis=1)
    centre_in_world = object_in_world[:3, 3].copy()
    centre_in_world[2] = top - 0.03  # pads 3 cm down the sides
    grasp[:3, 3] = world.base_in_world.inverse().rotation @ centre_in_world + (
        world.base_in_world.inverse().translation
    )
    return grasp


def raised(pose: np.ndarray, height: float) -> np.ndarray:
    out = pose.copy()
    out[2, 3] += height
    return out


def test_drivers_implement_the_hardware_protocols(world: SimRobotWorld) -> None:
    assert isinstance(SimArm(world), Arm)
    assert isinstance(SimGripper(world), Gripper)


def test_top_down_grasp_lifts_the_box_and_holds_it(bench) -> None:
    world, arm, gripper = bench
    grasp = top_down_grasp(world)
    arm.move_linear(matrix_to_pose6(raised(grasp, 0.15)), LIMITS)
    assert gripper.open(0.085, 0.1, 40.0).opening == pytest.approx(0.085, abs=1e-3)
    arm.move_linear(matrix_to_pose6(grasp), LIMITS)
    np.testing.assert_allclose(arm.tcp_pose(), matrix_to_pose6(grasp), atol=1e-6)
    closed = gripper.close(0.1, 60.0)
    assert closed.object_detected
    assert closed.opening == pytest.approx(0.05, abs=0.003)  # the box is 5 cm across
    arm.move_linear(matrix_to_pose6(raised(grasp, 0.15)), LIMITS)
    assert world.object_lifted_height() >= 0.10
    world.advance(1.0)  # hold 1 s
    assert world.object_lifted_height() >= 0.10
    assert gripper.status().object_detected
    assert world.object_on_table()  # above the table, not off it


def test_closing_on_nothing_detects_no_object(bench) -> None:
    _, _, gripper = bench
    status = gripper.close(0.15, 100.0)
    assert not status.object_detected
    assert status.opening < 0.002
    assert status.fault == ""


def test_unreachable_pose_is_refused_without_moving(bench) -> None:
    world, arm, _ = bench
    before, time_before = arm.tcp_pose(), world.sim_time
    far = np.array([1.5, 0.0, 0.3, math.pi, 0.0, 0.0])
    with pytest.raises(HardwareError, match="pose unreachable"):
        arm.move_linear(far, LIMITS)
    np.testing.assert_allclose(arm.tcp_pose(), before)
    assert world.sim_time == time_before


def test_motion_respects_speed_and_acceleration_limits(bench) -> None:
    world, arm, _ = bench
    start = pose6_to_matrix(arm.tcp_pose())
    target = start.copy()
    target[:3, 3] += [0.2, 0.1, -0.05]
    distance = float(np.linalg.norm(target[:3, 3] - start[:3, 3]))
    limits = MotionLimits(speed=0.1, acceleration=0.4)
    time_before = world.sim_time
    arm.move_linear(matrix_to_pose6(target), limits)
    elapsed = world.sim_time - time_before
    assert elapsed >= distance / limits.speed
    expected = TrapezoidalProfile(distance, limits.speed, limits.acceleration).duration
    assert elapsed == pytest.approx(expected + world.config.settle_after_motion, abs=0.01)
    # The gripper followed the commanded straight line to the target.
    actual = world.base_in_world.inverse().matrix() @ world.gripper_pose_in_world()
    np.testing.assert_allclose(actual[:3, 3], target[:3, 3], atol=2e-3)


def test_trapezoidal_profile() -> None:
    cruise = TrapezoidalProfile(distance=1.0, speed=0.5, acceleration=1.0)
    assert cruise.duration == pytest.approx(2.5)  # 0.5 s up, 1.5 s at speed, 0.5 s down
    assert cruise.position(0.5) == pytest.approx(0.125)
    assert cruise.position(2.5) == pytest.approx(1.0)
    triangle = TrapezoidalProfile(distance=0.04, speed=0.5, acceleration=1.0)
    assert triangle.duration == pytest.approx(0.4)  # never reaches the speed
    assert triangle.position(0.2) == pytest.approx(0.02)
    times = np.linspace(0, cruise.duration, 200)
    speeds = np.diff([cruise.position(t) for t in times]) / np.diff(times)
    assert speeds.max() <= 0.5 + 1e-9


def test_pushing_into_the_table_is_a_protective_stop(bench) -> None:
    _, arm, _ = bench
    start = pose6_to_matrix(arm.tcp_pose())
    beside = start.copy()
    beside[:3, 3] = [0.5, 0.25, 0.10]  # over the table, away from the object
    arm.move_linear(matrix_to_pose6(beside), LIMITS)
    with pytest.raises(HardwareError, match="protective stop"):
        arm.move_linear(matrix_to_pose6(raised(beside, -0.2)), LIMITS)
    assert arm.tcp_pose()[2] > -0.03  # stopped near the table top


def test_object_falling_off_the_table_is_seen(bench) -> None:
    world, _, _ = bench
    world.scene.set_object_pose(0, np.array([0.6, 0.0, 0.1]), np.array([1.0, 0.0, 0.0, 0.0]))
    world.advance(1.0)
    assert not world.object_on_table()


def test_diverging_simulation_is_a_hardware_error_until_reset(bench) -> None:
    world, arm, gripper = bench
    with world.lock:
        world.data.qvel[world._object_qvel] = 1e4
    with pytest.raises(HardwareError, match="simulation diverged"):
        arm.move_linear(matrix_to_pose6(raised(pose6_to_matrix(arm.tcp_pose()), 0.01)), LIMITS)
    with pytest.raises(HardwareError, match="simulation diverged"):
        gripper.close(0.1, 50.0)
    with pytest.raises(HardwareError, match=r"simulation diverged.*reset the world"):
        world.advance(0.1)
    world.reset(BOX, seed=2)
    assert gripper.close(0.1, 50.0).fault == ""


def test_a_short_fast_spin_is_not_divergence_but_a_runaway_one_is(bench) -> None:
    world, _, _ = bench
    spin = world._object_qvel + 5  # the free joint's angular velocity about z
    with world.lock:
        world.data.qvel[spin] = 80.0  # a light object snapping into place between the pads
    world.advance(0.01)
    assert world.fault == ""
    with world.lock:
        world.data.qvel[spin] = 5000.0
    with pytest.raises(HardwareError, match=r"simulation diverged: a body turns at .* rad/s"):
        world.advance(0.01)
    world.reset(BOX, seed=1)
    assert world.fault == ""


def test_advance_lets_simulated_time_pass_in_whole_steps(bench) -> None:
    world, arm, _ = bench
    timestep = world.model.opt.timestep
    pose = arm.tcp_pose()
    start = world.sim_time
    world.advance(0.25)
    assert world.sim_time - start == pytest.approx(round(0.25 / timestep) * timestep)
    np.testing.assert_allclose(arm.tcp_pose(), pose)  # the arm held still
    assert abs(world.object_lifted_height()) < 2e-3  # the settled object stays put
    world.advance(0.0)  # nothing to do
    assert world.sim_time - start == pytest.approx(round(0.25 / timestep) * timestep)


@pytest.mark.parametrize("duration", [-0.1, float("nan"), float("inf")])
def test_advance_refuses_a_bad_duration(bench, duration: float) -> None:
    world, _, _ = bench
    start = world.sim_time
    with pytest.raises(ValueError, match="duration_s must be a non-negative finite"):
        world.advance(duration)
    assert world.sim_time == start


def test_divergence_during_advance_is_a_hardware_error(bench) -> None:
    world, _, _ = bench
    with world.lock:
        world.data.qvel[world._object_qvel] = 1e4
    with pytest.raises(HardwareError, match="simulation diverged"):
        world.advance(0.1)
    assert world.fault.startswith("simulation diverged")
    world.reset(BOX, seed=1)
    assert world.fault == ""


def test_disconnected_drivers_refuse(world: SimRobotWorld) -> None:
    with pytest.raises(HardwareError, match="not connected"):
        SimArm(world).tcp_pose()
    gripper = SimGripper(world)
    gripper.connect(1.0)
    with pytest.raises(HardwareError, match="not activated"):
        gripper.close(0.1, 50.0)


def test_hand_eye_transform_maps_the_seen_object_to_its_base_position(bench) -> None:
    world, _, _ = bench
    frame = world.render_clean()
    rows, cols = np.nonzero(frame.segmentation == object_label(0))
    assert rows.size > 100
    # The object's visible top: deproject its pixels, take their mean in base_link.
    points_camera = frame.intrinsics.deproject(
        np.column_stack([cols, rows]).astype(np.float64), frame.depth[rows, cols]
    )
    points_base = points_camera @ world.camera_in_base.rotation.T + world.camera_in_base.translation
    object_base = world.base_in_world.inverse().matrix() @ world.object_pose_in_world()
    np.testing.assert_allclose(points_base[:, :2].mean(axis=0), object_base[:2, 3], atol=0.01)
    assert points_base[:, 2].max() < 0.1  # a 7 cm box on the table top (z = 0)
    # The default bench: camera 0.7 m above the table centre, 0.5 m in front of the base.
    np.testing.assert_allclose(world.camera_in_base.translation, [0.5, 0.0, 0.7], atol=1e-12)


def test_noisy_depth_sees_the_table_at_70_cm(bench) -> None:
    world, _, _ = bench
    depth = world.render_depth()
    assert depth.shape == (480, 640) and depth.dtype == np.float32
    valid = depth > 0
    assert 0.8 < valid.mean() < 1.0  # holes and shadows, but mostly data
    assert np.median(depth[valid]) == pytest.approx(0.70, abs=0.01)


def test_bad_configuration_and_commands_are_refused(bench) -> None:
    _, arm, gripper = bench
    with pytest.raises(ValueError, match="weld_time_constant"):
        SimRobotConfig(weld_time_constant=0.001)
    with pytest.raises(ValueError, match="divergence_angular_speed"):
        SimRobotConfig(divergence_angular_speed=0.0)
    with pytest.raises(ValueError, match=r"limits\.speed"):
        arm.move_linear(arm.tcp_pose(), MotionLimits(speed=0.0))
    with pytest.raises(ValueError, match="gripper force"):
        gripper.close(0.1, float("nan"))
    with pytest.raises(HardwareError, match="pose unreachable"):
        arm.move_linear(np.array([0.1, 0.2, 0.3]), LIMITS)


def test_a_gripper_profile_gives_the_simulated_gripper_its_stroke_and_fingers() -> None:
    """The 2F-140 profile: 140 mm stroke, its pads and force range; it lifts a 100 mm box,
    wider than the 2F-85's 85 mm stroke in every direction."""
    robotiq_2f140 = load_gripper_profile("robotiq_2f140")
    wide_box = object_from_solid("wide_box", "box", 0, box_solid(0.10, 0.105, 0.11))
    config = SimRobotConfig(gripper=SimGripperConfig(geometry=robotiq_2f140))
    assert (config.gripper.min_force, config.gripper.max_force) == (10.0, 125.0)
    world = SimRobotWorld(wide_box, seed=1, config=config)
    try:
        np.testing.assert_allclose(
            world.model.geom("finger_left").size,
            np.array([0.027, 0.010, 0.050]) / 2,  # finger width, thickness, depth
        )
        arm, gripper = SimArm(world), SimGripper(world)
        arm.connect(1.0)
        gripper.connect(1.0)
        gripper.activate()
        grasp = top_down_grasp(world)
        arm.move_linear(matrix_to_pose6(raised(grasp, 0.15)), LIMITS)
        assert gripper.open(0.2, 0.1, 40.0).opening == pytest.approx(0.14, abs=1e-3)
        arm.move_linear(matrix_to_pose6(grasp), LIMITS)
        closed = gripper.close(0.1, robotiq_2f140.grip_force)
        assert closed.object_detected
        assert closed.opening == pytest.approx(0.10, abs=0.003)
        arm.move_linear(matrix_to_pose6(raised(grasp, 0.15)), LIMITS)
        world.advance(1.0)
        assert world.object_lifted_height() >= 0.10
    finally:
        world.close()
