"""The simulated bench's ground truth as JSON-ready dicts: what the world node's
`/sim/object_state`, `/sim/hold` and `/sim/finish_pick` answer (`gqstn_ros.nodes.sim_world_node`
describes every key).

Poses are (4, 4) homogeneous transforms as nested lists, world <- frame. Every function takes
the world's lock for what it reads or moves; none knows ROS.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from gqstn_ros.hardware.interfaces import HardwareError
from gqstn_ros.sim.clutter import BinConfig
from gqstn_ros.sim.robot import SimRobotWorld

WORLD_FRAME = "world"
# In pile mode an object this far (m) above where it settled, off the table top, is carried by
# the gripper: finishing the pick puts it in the bin.
BIN_LIFT_M = 0.05
# A hold names the object it follows when lifted at least this much (m) at its start.
HELD_MIN_LIFT_M = 0.01
# A hold is simulated in slices this long; the lift is sampled after each (s).
HOLD_SAMPLE_PERIOD_S = 0.05


@dataclass(frozen=True)
class LoadedScene:
    """What the last reset loaded: a benchmark object (`name`, rebuilt by
    `benchmark_object(name)`) or a pile (`pile`), dropped with `seed`."""

    name: str
    seed: int
    pile: bool = False


def object_state(world: SimRobotWorld, scene: LoadedScene) -> dict[str, Any]:
    """The world's true state: `object_pose` of the object's mesh frame (the frame of
    `benchmark_object(name).vertices`), `camera_pose` of the camera optical frame, `base_pose`
    of base_link, the lift, table contact, settling, the gripper, and a pile's objects."""
    with world.lock:
        settle = world.last_settle
        status = world.gripper_status()
        camera = world.config.world.camera.pose
        camera_pose = np.eye(4)
        camera_pose[:3, :3] = camera.rotation
        camera_pose[:3, 3] = camera.position
        return {
            "frame": WORLD_FRAME,
            "object_name": scene.name,
            "seed": scene.seed,
            "sim_time": world.sim_time,
            "object_pose": world.object_pose_in_world().tolist(),
            "lifted_height": world.object_lifted_height(),
            # Resting on the table top: false while lifted and once fallen off.
            "on_table": world.object_on_table() and world.object_touches_table(),
            "fell_off_table": not world.object_on_table(),
            "settled": bool(settle.ok) if settle is not None else False,
            "settle_message": settle.message if settle is not None else "",
            "gripper_opening": float(status.opening),
            "gripper_object_detected": bool(status.object_detected),
            "fault": world.fault,
            "camera_pose": camera_pose.tolist(),
            "base_pose": world.base_in_world.matrix().tolist(),
            **(pile_summary(world) if scene.pile else {"scene_mode": "single"}),
        }


def pile_summary(world: SimRobotWorld) -> dict[str, Any]:
    """The pile's objects (name, pose, lift, where: table, bin or lost) and their counts."""
    objects = world.pile_state()
    return {
        "scene_mode": "pile",
        "objects": objects,
        "objects_on_table": sum(o["where"] == "table" for o in objects),
        "objects_in_bin": sum(o["where"] == "bin" for o in objects),
        "objects_lost": sum(o["where"] == "lost" for o in objects),
    }


def finish_pick(world: SimRobotWorld, scene: LoadedScene, bin_config: BinConfig) -> dict[str, Any]:
    """A pile's pick ends: the carried object (if any) to the bin, the arm home with the gripper
    open, the table settled; the state with `binned` (a name or None) and `fault` ('' unless
    the simulation diverged while settling)."""
    binned = None
    fault = ""
    with world.lock:
        held = world.held_object()
        if (
            held is not None
            and world.object_lift(held) >= BIN_LIFT_M
            and not world.object_index_touches_table(held)
        ):
            world.put_in_bin(held, bin_config)
            binned = world.object_models[held].name
        world.home_and_open()
        try:
            world.settle_table()
        except HardwareError as error:
            fault = str(error)
    return {**object_state(world, scene), "binned": binned, "fault": fault or world.fault}


def hold(world: SimRobotWorld, scene: LoadedScene, duration_s: float) -> dict[str, Any]:
    """Let `duration_s` of simulated time pass with the arm and gripper holding still.

    Returns the state at the end with the lift (m above the settled height) at the start, its
    minimum over the samples taken every HOLD_SAMPLE_PERIOD_S, and `hold_fault` (a diverging
    simulation ends the hold early). A pile's hold follows the object (not in the bin) lifted
    highest, or object 0 when every object is in the bin, named `held_object` when lifted at
    least HELD_MIN_LIFT_M.
    """
    held = world.held_object(min_lift=-math.inf) if scene.pile else None
    if held is not None:

        def lift() -> float:
            return world.object_lift(held)
    else:
        lift = world.object_lifted_height
    start = lift()
    lowest = start
    elapsed = 0.0
    fault = ""
    while elapsed < duration_s - 1e-9:
        step = min(HOLD_SAMPLE_PERIOD_S, duration_s - elapsed)
        try:
            # The world's own stepping: divergence checks, camera cache, lock slices.
            world.advance(step)
        except HardwareError as error:
            fault = str(error)
            break
        elapsed += step
        lowest = min(lowest, lift())
    state = object_state(world, scene)
    if scene.pile and held is not None:
        # The single-object keys describe the followed object: `on_table` false only once it
        # fell off the table (resting on another object is on the table).
        named = start >= HELD_MIN_LIFT_M
        state["held_object"] = world.object_models[held].name if named else None
        lost = state["objects"][held]["where"] == "lost"
        state.update(on_table=not lost, fell_off_table=lost)
    elif scene.pile:
        state["held_object"] = None
    state.update(
        hold_duration_s=elapsed,
        lifted_height_start=start,
        lifted_height_min=lowest,
        hold_fault=fault,
    )
    return state
