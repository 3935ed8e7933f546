"""The 12-object benchmark set: valid solids, graspable by the 2F-85, settling on the table."""

from __future__ import annotations

import numpy as np
import pytest

from gqstn_ros.gripper import ROBOTIQ_2F85
from gqstn_ros.sim.benchmark_objects import (
    BENCHMARK_OBJECT_NAMES,
    BENCHMARK_SEED_BASE,
    benchmark_object,
    benchmark_objects,
)
from gqstn_ros.sim.objects import check_watertight
from gqstn_ros.sim.robot import SimRobotWorld


def test_twelve_named_objects_outside_the_training_seed_space() -> None:
    objects = benchmark_objects()
    assert len(objects) == 12
    assert [o.name for o in objects] == list(BENCHMARK_OBJECT_NAMES)
    assert len(set(BENCHMARK_OBJECT_NAMES)) == 12
    assert all(o.seed >= BENCHMARK_SEED_BASE and o.family == "benchmark" for o in objects)
    # Built from fixed dimensions: the same object every time.
    again = benchmark_object("mug")
    np.testing.assert_array_equal(again.vertices, objects[0].vertices)


def test_objects_are_watertight_household_sized_and_fit_the_stroke() -> None:
    for obj in benchmark_objects():
        check_watertight(obj.vertices, obj.faces)
        assert 0.01 < obj.mass < 1.0, obj.name
        assert obj.extents.max() < 0.25, obj.name
        # Fits between the jaws in at least one direction.
        assert obj.extents.min() < ROBOTIQ_2F85.max_width, obj.name
        # The convex collision parts stay within the mesh's bounding box.
        lower, upper = obj.vertices.min(axis=0), obj.vertices.max(axis=0)
        for part in obj.convex_parts:
            assert np.all(part >= lower - 1e-9) and np.all(part <= upper + 1e-9), obj.name


def test_objects_are_varied() -> None:
    extents = np.array([np.sort(o.extents) for o in benchmark_objects()])
    # No two objects share their sorted bounding box (within 2 mm).
    for i in range(len(extents)):
        for j in range(i + 1, len(extents)):
            assert np.abs(extents[i] - extents[j]).max() > 0.002


def test_unknown_name_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown benchmark object 'teapot'"):
        benchmark_object("teapot")


def test_every_object_settles_on_the_table() -> None:
    objects = benchmark_objects()
    world = SimRobotWorld(objects[0], seed=0)
    for index, obj in enumerate(objects):
        result = world.reset(obj, seed=index)
        assert result.ok, f"{obj.name}: {result.message}"
        assert world.object_on_table()
        # Dropped near the table centre (within the drop disc plus the object's size).
        position = world.object_pose_in_world()[:3, 3]
        assert np.hypot(position[0], position[1]) < 0.05 + obj.bounding_radius
