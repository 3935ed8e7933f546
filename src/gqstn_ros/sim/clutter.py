"""Clutter on the simulated bench: a pile of objects the shipped models never saw, and the bin
beside the table that picked objects go to.

`pile_objects(count, seed)` draws `count` objects of `EXTENDED_FAMILIES` (the families added
to the original fifteen the shipped networks trained on), reproducibly from `seed`, with unique
names. `place_pile` drops a scene's objects in a low pile: each at a random spot within
`PILE_RADIUS` of the drop centre, released just above the objects already placed under it (as
the dataset generator's "pile" layout). `BinConfig` is the bin: a region beside the table, below
its top and out of the camera's view; `bin_slot` the resting place of the k-th object put in it.
No rclpy here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from gqstn_ros.sim.objects import EXTENDED_FAMILIES, ObjectModel, generate_random_object
from gqstn_ros.sim.scene import Scene, random_quaternion

DEFAULT_PILE_OBJECTS = 10
MAX_PILE_OBJECTS = 30
# A pile starts its objects within this distance of the drop centre (m), as the dataset
# generator's "pile" layout.
PILE_RADIUS = 0.05
# The objects of a pile: every extended family but those built to defeat the gripper.
PILE_FAMILIES: tuple[str, ...] = tuple(EXTENDED_FAMILIES)


@dataclass(frozen=True)
class BinConfig:
    """The bin: a square region of the floor beside the table's +x edge (world frame, m).

    `centre` is the bin floor's centre; objects put in it rest at `bin_slot` positions spaced
    `slot_spacing` apart, out of the camera's view and away from the table and the arm."""

    centre: tuple[float, float, float] = (0.8, 0.0, -0.5)
    slot_spacing: float = 0.15
    slots_per_row: int = 6

    def bin_slot(self, index: int) -> np.ndarray:
        """(3,) the resting position of the `index`-th object put in the bin (0-based)."""
        if index < 0:
            raise ValueError(f"bin slot index must be non-negative, got {index}")
        row, column = divmod(index, self.slots_per_row)
        x, y, z = self.centre
        offset = (column - (self.slots_per_row - 1) / 2) * self.slot_spacing
        return np.array([x + row * self.slot_spacing, y + offset, z])


def pile_objects(
    count: int, seed: int, families: Sequence[str] = PILE_FAMILIES
) -> tuple[ObjectModel, ...]:
    """`count` objects drawn from `families` by `seed` (the same seed, the same objects), with
    names made unique by an index suffix where two draws share one."""
    if not 1 <= count <= MAX_PILE_OBJECTS:
        raise ValueError(f"a pile holds 1 to {MAX_PILE_OBJECTS} objects, got {count}")
    seeds = np.random.default_rng([seed, 17]).integers(0, 2**31, count)
    objects: list[ObjectModel] = []
    for index, object_seed in enumerate(seeds):
        drawn = generate_random_object(int(object_seed), tuple(families))
        if any(o.name == drawn.name for o in objects):
            drawn = ObjectModel(**{**drawn.__dict__, "name": f"{drawn.name}_{index}"})
        objects.append(drawn)
    return tuple(objects)


def place_pile(scene: Scene, rng: np.random.Generator, radius: float = PILE_RADIUS) -> None:
    """Put every object of `scene` at its release pose of a pile (call `scene.settle` next)."""
    drop = scene.config.drop
    centre = np.array([drop.center_x, drop.center_y])
    placed: list[tuple[np.ndarray, float, float]] = []  # (x-y, bounding radius, top z)
    for index, obj in enumerate(scene.objects):
        size = obj.bounding_radius
        angle = rng.uniform(0.0, 2.0 * np.pi)
        xy = centre + radius * np.sqrt(rng.uniform()) * np.array([np.cos(angle), np.sin(angle)])
        below = [top for other, r, top in placed if np.linalg.norm(xy - other) < size + r]
        clearance = rng.uniform(drop.min_clearance, drop.max_clearance)
        height = max(below, default=0.0) + clearance + size
        scene.set_object_pose(index, np.array([xy[0], xy[1], height]), random_quaternion(rng))
        placed.append((xy, size, height + size))
