"""World configuration: defaults, camera poses, and ValueErrors naming the bad field."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gqstn_ros.geometry import matrix_to_quaternion
from gqstn_ros.sim.world_config import (
    DEFAULT_CAMERA_HEIGHT,
    CameraConfig,
    CameraPose,
    DropConfig,
    KinectNoiseConfig,
    PhysicsConfig,
    TableConfig,
    WorldConfig,
)


def test_default_camera_looks_straight_down_from_70_cm() -> None:
    pose = WorldConfig().camera.pose
    assert pose.position == (0.0, 0.0, DEFAULT_CAMERA_HEIGHT) == (0.0, 0.0, 0.70)
    # Optical z (forward) = world -z, x (image right) = world +x, y (image down) = world -y.
    assert np.allclose(pose.rotation, np.diag([1.0, -1.0, -1.0]))


def test_looking_down_with_tilts_keeps_the_target_on_the_optical_axis() -> None:
    pose = CameraPose.looking_down(
        height=0.7, target_x=0.05, target_y=-0.02, tilt_about_x=0.2, tilt_about_y=-0.1, yaw=0.4
    )
    position, axis = np.array(pose.position), pose.rotation[:, 2]
    assert position[2] == pytest.approx(0.7)
    hit = position + axis * (position[2] / -axis[2])
    assert np.allclose(hit, [0.05, -0.02, 0.0])
    assert math.degrees(math.acos(-axis[2])) > 10  # really tilted
    assert np.allclose(pose.rotation.T @ pose.rotation, np.eye(3))


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: TableConfig(size_x=-1.0), "table.size_x"),
        (lambda: TableConfig(thickness=0.0), "table.thickness"),
        (lambda: TableConfig(floor_depth=0.01), "table.floor_depth"),
        (lambda: DropConfig(radius=-0.1), "drop.radius"),
        (lambda: DropConfig(min_clearance=0.2, max_clearance=0.1), "drop.max_clearance"),
        (lambda: PhysicsConfig(timestep=0.0), "physics.timestep"),
        (lambda: PhysicsConfig(timestep=0.05), "physics.timestep"),
        (lambda: PhysicsConfig(linear_speed_threshold=-1.0), "physics.linear_speed_threshold"),
        (lambda: PhysicsConfig(max_settle_time=float("nan")), "physics.max_settle_time"),
        (lambda: CameraPose(quaternion=(1.0, 1.0, 0.0, 0.0)), "camera.quaternion"),
        (lambda: CameraPose(position=(0.0, float("inf"), 0.7)), "camera.position"),
        (lambda: CameraConfig(near_clip=-0.1), "camera.near_clip"),
        (lambda: CameraConfig(near_clip=1.0, far_clip=0.5), "camera.far_clip"),
        (lambda: KinectNoiseConfig(axial_sigma_base=-1e-3), "noise.axial_sigma_base"),
        (lambda: KinectNoiseConfig(projector_baseline=0.0), "noise.projector_baseline"),
        (lambda: KinectNoiseConfig(disparity_subpixel_steps=-8), "noise.disparity_subpixel_steps"),
        (lambda: KinectNoiseConfig(edge_dropout_probability=1.5), "noise.edge_dropout_probability"),
        (lambda: KinectNoiseConfig(hole_radius_px=(3.0, 1.0)), "noise.hole_radius_px"),
        (lambda: KinectNoiseConfig(min_range=2.0, max_range=1.0), "noise.max_range"),
        (lambda: WorldConfig(object_families=("box", "teapot")), "object_families"),
        (lambda: WorldConfig(object_families=()), "object_families"),
        (lambda: WorldConfig(num_objects=0), "num_objects"),
        (lambda: WorldConfig(drop=DropConfig(center_x=2.0)), "drop.center_x"),
    ],
)
def test_bad_configs_raise_naming_the_field(build, field: str) -> None:
    with pytest.raises(ValueError, match=field.replace(".", r"\.")):
        build()


def _camera(pose: CameraPose) -> CameraConfig:
    return CameraConfig(pose=pose)


@pytest.mark.parametrize(
    "pose",
    [
        # Looking up.
        CameraPose(quaternion=(1.0, 0.0, 0.0, 0.0)),
        # Looking horizontally along world +y.
        CameraPose(
            quaternion=tuple(
                matrix_to_quaternion(np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]]))
            )
        ),
        # Below the table top.
        CameraPose(position=(0.0, 0.0, -0.2)),
        # Looking down at a point beside the 1 m x 0.8 m table.
        CameraPose.looking_down(target_x=0.9),
    ],
)
def test_a_camera_that_does_not_see_the_table_raises(pose: CameraPose) -> None:
    with pytest.raises(ValueError, match=r"camera\.pose"):
        WorldConfig(camera=_camera(pose))


def test_small_tilts_are_accepted() -> None:
    WorldConfig(camera=_camera(CameraPose.looking_down(tilt_about_x=0.25, tilt_about_y=0.25)))
