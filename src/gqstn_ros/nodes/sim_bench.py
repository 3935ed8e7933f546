"""Simulated bench: the MuJoCo world's Kinect, UR5 and gripper with the grasp executor, one process.

The console script `sim_world_node` runs `main()`: two nodes on a QuietMultiThreadedExecutor
(`gqstn_ros.nodes.executors`), sharing one simulated world:
- `sim_world` (`gqstn_ros.nodes.sim_world_node.SimWorldNode`): the camera, the world's services
  and markers;
- `executor_node` (`gqstn_ros.nodes.executor_node.ExecutorNode`) driving `SimArm` and
  `SimGripper` of the same world, exactly as it drives the real UR5 and 2F-85
  (`run_executor: false` leaves it out: the simulated camera and world only).

The executor node must name a gripper profile of the simulated gripper's geometry (both read the
same `gripper` value when it is set for the process), else the process stops at start. This
module composes the two nodes; neither node module imports the other.
"""

from __future__ import annotations

import os
from typing import NoReturn

import rclpy
from rclpy.node import Node

from gqstn_ros.nodes.executors import QuietMultiThreadedExecutor
from gqstn_ros.nodes.parameters import ParameterValueError
from gqstn_ros.nodes.shutdown import run_node_process
from gqstn_ros.nodes.sim_world_node import NODE_NAME, SimWorldNode
from gqstn_ros.sim.robot import SimArm, SimGripper

EXECUTOR_NODE_NAME = "executor_node"


def build_nodes(nodes: list[Node]) -> None:
    """The simulated world and, unless `run_executor` is false, the executor node driving its
    arm and gripper; each is appended to `nodes` as soon as it exists."""
    world_node = SimWorldNode()
    nodes.append(world_node)
    if not world_node.parameters["run_executor"]:
        return
    # Imported here: the executor node (and ur_rtde) is not needed by a camera-only world.
    from gqstn_ros.nodes.executor_node import ExecutorNode  # noqa: PLC0415

    executor_node = ExecutorNode(
        arm=SimArm(world_node.world),
        gripper=SimGripper(world_node.world),
        node_name=EXECUTOR_NODE_NAME,
    )
    nodes.append(executor_node)
    simulated, executed = world_node.gripper, executor_node.gripper_profile
    differences = simulated.geometry_differences(executed)
    if differences:
        raise ParameterValueError(
            f"{EXECUTOR_NODE_NAME} parameter gripper: {executed.name!r} differs from "
            f"the simulated gripper {simulated.name!r} ({NODE_NAME} parameter gripper): "
            f"{'; '.join(differences)} (simulated vs executor)"
        )


def main(args: list[str] | None = None) -> NoReturn:
    """Run the world (and its executor node) until SIGINT or SIGTERM (exit code 0; 2 for an
    invalid configuration), see `gqstn_ros.nodes.shutdown`."""
    # Mesa's shader disk cache (OSMesa rendering) writes from a thread of its own that can hold
    # the process's exit for seconds on a busy machine (measured: 2 of 12 SIGINTs mid-pick with
    # a CPU burner per core took 2.4-5.3 s, 14 of 14 took 0.5 s without the cache). The few
    # depth shaders compile in milliseconds: the process runs without it unless told otherwise.
    os.environ.setdefault("MESA_SHADER_CACHE_DISABLE", "true")
    rclpy.init(args=args)
    run_node_process(
        build_nodes,
        NODE_NAME,
        lambda: QuietMultiThreadedExecutor(num_threads=4),
        ParameterValueError,
    )


if __name__ == "__main__":
    main()
