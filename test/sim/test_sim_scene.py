"""MuJoCo scene: objects dropped on the table settle on it, clutter, failures reported."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from gqstn_ros.sim.objects import generate_object
from gqstn_ros.sim.scene import Scene, random_quaternion
from gqstn_ros.sim.world_config import PhysicsConfig, WorldConfig

# Soft contacts let objects sink this little into the table (m).
CONTACT_TOLERANCE = 1e-3


@pytest.mark.parametrize(
    ("family", "seed"),
    [
        ("box", 0),
        ("sphere", 1),
        ("cylinder", 2),
        ("prism_concave", 3),
        ("mug", 4),
        ("u_shape", 5),
        ("sheet", 6),
        ("oversized", 7),
        ("stick", 8),
    ],
)
def test_a_dropped_object_settles_on_the_table(family: str, seed: int) -> None:
    scene = Scene.build([generate_object(family, seed)], seed=seed)
    start = scene.object_pose(0)[0]
    assert start[2] > scene.objects[0].bounding_radius  # released above the table
    result = scene.settle()
    assert result.settled and result.ok and result.fell_off == ()
    assert result.sim_time < scene.config.physics.max_settle_time
    assert result.max_linear_speed < scene.config.physics.linear_speed_threshold
    lowest = scene.object_vertices_world(0)[:, 2].min()
    assert abs(lowest) < CONTACT_TOLERANCE  # resting on the table top (z = 0)
    position, quaternion = scene.object_pose(0)
    assert np.linalg.norm(position[:2]) < 0.2  # still near the centre
    assert np.linalg.norm(quaternion) == pytest.approx(1.0)


def test_clutter_settles_with_every_object_on_the_table(clutter_scene: Scene) -> None:
    assert len(clutter_scene.objects) == 3
    lowest = [clutter_scene.object_vertices_world(i)[:, 2].min() for i in range(3)]
    assert min(lowest) > -CONTACT_TOLERANCE  # nothing sinks into the table
    assert min(abs(z) for z in lowest) < CONTACT_TOLERANCE  # something rests on it
    assert clutter_scene.objects_off_table() == ()


def test_same_seed_same_settled_poses_other_seed_differs() -> None:
    def settled_pose(seed: int) -> np.ndarray:
        scene = Scene.build([generate_object("prism_convex", 1)], seed=seed)
        scene.settle()
        return np.concatenate(scene.object_pose(0))

    assert np.array_equal(settled_pose(3), settled_pose(3))
    assert not np.allclose(settled_pose(3), settled_pose(4))


def test_an_object_pushed_off_the_table_is_reported(caplog: pytest.LogCaptureFixture) -> None:
    scene = Scene.build([generate_object("box", 0)], seed=0)
    edge = scene.config.table.size_x / 2
    scene.set_object_pose(0, np.array([edge + 0.1, 0.0, 0.05]), np.array([1.0, 0, 0, 0]))
    with caplog.at_level(logging.WARNING):
        result = scene.settle()
    assert result.fell_off == (0,) and not result.ok
    assert "fell off" in result.message and "fell off" in caplog.text
    assert scene.object_pose(0)[0][2] < -scene.config.table.thickness


def test_too_short_a_settle_time_is_reported() -> None:
    config = WorldConfig(physics=PhysicsConfig(max_settle_time=0.05))
    scene = Scene.build([generate_object("box", 0)], config, seed=0)
    result = scene.settle()
    assert not result.settled and not result.ok
    assert result.steps == round(0.05 / config.physics.timestep)
    assert "did not settle" in result.message


def test_random_scene_and_bad_inputs() -> None:
    scene = Scene.build_random(WorldConfig(num_objects=2, object_families=("box", "disc")), 9)
    assert len(scene.objects) == 2
    assert {o.family for o in scene.objects} <= {"box", "disc"}
    assert scene.settle().ok
    with pytest.raises(ValueError, match="at least one object"):
        Scene.build([])
    box = generate_object("box", 0)
    with pytest.raises(ValueError, match="unique"):
        Scene.build([box, box])
    with pytest.raises(IndexError):
        scene.object_pose(2)
    with pytest.raises(ValueError, match="unit"):
        scene.set_object_pose(0, np.zeros(3), np.array([2.0, 0, 0, 0]))


def test_random_quaternions_are_unit_and_spread() -> None:
    rng = np.random.default_rng(0)
    quaternions = np.array([random_quaternion(rng) for _ in range(2000)])
    assert np.allclose(np.linalg.norm(quaternions, axis=1), 1.0)
    # Uniform on SO(3): the x, y, z components average out.
    assert np.abs(quaternions[:, 1:].mean(axis=0)).max() < 0.05
