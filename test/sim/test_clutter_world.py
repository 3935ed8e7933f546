"""The simulated bench with a pile: unseen objects dropped together, picked ones put in the bin
beside the table, the arm sent home, the rest settled."""

from __future__ import annotations

import numpy as np
import pytest

from gqstn_ros.sim.benchmark_objects import benchmark_object
from gqstn_ros.sim.clutter import BinConfig, pile_objects
from gqstn_ros.sim.objects import EXTENDED_FAMILIES, FAMILIES
from gqstn_ros.sim.robot import SimRobotWorld


def test_pile_objects_are_unseen_reproducible_and_uniquely_named() -> None:
    first, again = pile_objects(6, 11), pile_objects(6, 11)
    assert [o.name for o in first] == [o.name for o in again]
    assert len({o.name for o in first}) == 6
    assert all(o.family in EXTENDED_FAMILIES and o.family not in FAMILIES for o in first)
    assert [o.name for o in pile_objects(6, 12)] != [o.name for o in first]
    with pytest.raises(ValueError, match="1 to 30"):
        pile_objects(0, 1)


def test_bin_slots_are_apart_and_beside_the_table() -> None:
    bin_config = BinConfig()
    slots = np.array([bin_config.bin_slot(k) for k in range(12)])
    gaps = np.linalg.norm(slots[:, None] - slots[None], axis=-1) + np.eye(12)
    assert gaps.min() >= bin_config.slot_spacing - 1e-9
    assert np.all(slots[:, 0] > 0.5) and np.all(slots[:, 2] < 0)  # past the +x edge, below


def test_pile_reset_bin_and_settle_keep_count_of_every_object() -> None:
    world = SimRobotWorld(benchmark_object("mug"), 0)
    world.reset_pile(pile_objects(4, 3), 3)
    places = [o["where"] for o in world.pile_state()]
    assert len(places) == 4 and set(places) <= {"table", "lost"}
    on_table = [i for i, where in enumerate(places) if where == "table"]
    assert on_table, places
    depth_before = world.render_depth()
    world.put_in_bin(on_table[0], BinConfig())
    world.home_and_open()
    world.settle_table()
    after = world.pile_state()
    assert after[on_table[0]]["where"] == "bin"
    assert sum(o["where"] == "bin" for o in after) == 1
    assert np.allclose(np.array(after[on_table[0]]["pose"])[:3, 3], BinConfig().bin_slot(0))
    # The binned object left the camera's view: the frame changed where it lay.
    assert np.count_nonzero(np.abs(world.render_depth() - depth_before) > 0.01) > 50
    # Nothing is lifted after settling, the gripper is open at home.
    assert world.held_object(min_lift=0.01) is None
    assert world.gripper_opening() == pytest.approx(world.config.gripper.geometry.max_width, 1e-3)
    with pytest.raises(ValueError, match="in the bin already"):
        world.put_in_bin(on_table[0], BinConfig())


def test_single_object_reset_is_unchanged_by_the_pile_mode() -> None:
    world = SimRobotWorld(benchmark_object("tea_box"), 5)
    pose = world.object_pose_in_world()
    world.reset_pile(pile_objects(3, 1), 1)
    world.reset(benchmark_object("tea_box"), 5)
    assert np.allclose(world.object_pose_in_world(), pose, atol=1e-9)
    assert len(world.pile_state()) == 1
