"""Peer process: our ExecutorNode serving /execute_grasp, with one of two hardware setups.

    executor_node_peer.py sim [--ros-args ...]
        the simulated UR5 and 2F-85 (gqstn_ros.sim.robot, MuJoCo) with a box on the table;
        prints "GRASP x y z jx jy jz width" (a grasp on the box, in base_link) before READY.
    executor_node_peer.py recorded OBJECT_WIDTH DISCONNECT_AT_MOVE [--ros-args ...]
        RecordedMotionArm, a test double that records the commanded moves and loses its
        connection in the middle of move number DISCONNECT_AT_MOVE (0: never), with the real
        RobotiqGripper driver talking Modbus RTU over TCP to the fake 2F-85 server, holding
        an object OBJECT_WIDTH m wide (0: none).

Every move the arm is commanded is printed as "MOVE x y z rx ry rz", every stop as "STOP".
The node takes its lifecycle transitions as its `autostart` parameter says (tests pass
`-p autostart:=activate` to pick).
"""

import sys
import threading
import time

import numpy as np
import rclpy
from rclpy.executors import ExternalShutdownException, MultiThreadedExecutor

from gqstn_ros.hardware.fake_robotiq_server import FakeGripperConfig, FakeRobotiqServer
from gqstn_ros.hardware.interfaces import HardwareError, MotionLimits
from gqstn_ros.hardware.robotiq_gripper import RobotiqConfig, RobotiqGripper
from gqstn_ros.nodes.executor_node import ExecutorNode
from ros_test_support import READY_LINE

MOVE_DURATION_S = 0.05  # a recorded move takes this long: stages take time, as on a robot


class RecordedMotionArm:
    """Test double of `hardware.interfaces.Arm`: records moves, is where it was sent, and can
    lose its connection mid-motion (it is no simulation: it never refuses a pose)."""

    def __init__(self, disconnect_at_move: int) -> None:
        self.moves: list[np.ndarray] = []
        self._pose = np.array([0.25, 0.0, 0.35, np.pi, 0.0, 0.0])
        self._connected = False
        self._disconnect_at_move = disconnect_at_move
        self._lock = threading.Lock()

    def connect(self, timeout: float) -> None:
        self._connected = True

    def is_connected(self) -> bool:
        return self._connected

    def tcp_pose(self) -> np.ndarray:
        if not self._connected:
            raise HardwareError("recorded arm: not connected")
        return self._pose.copy()

    def move_linear(self, pose: np.ndarray, limits: MotionLimits) -> None:
        if not self._connected:
            raise HardwareError("recorded arm: not connected")
        with self._lock:
            self.moves.append(np.asarray(pose, dtype=float).copy())
            number = len(self.moves)
        print("MOVE " + " ".join(f"{v:.5f}" for v in pose), flush=True)
        if number == self._disconnect_at_move:
            time.sleep(MOVE_DURATION_S / 2)
            self._connected = False
            raise HardwareError("recorded arm: connection to the robot lost during moveL")
        time.sleep(MOVE_DURATION_S)
        self._pose = np.asarray(pose, dtype=float).copy()

    def stop(self) -> None:
        print("STOP", flush=True)

    def disconnect(self) -> None:
        self._connected = False


def sim_hardware():
    from gqstn_ros.sim.objects import generate_object
    from gqstn_ros.sim.robot import SimArm, SimGripper, SimRobotWorld

    world = SimRobotWorld(generate_object("box", 3), seed=1)
    # The box lies on a 37 mm face; its 21 mm thickness (local z) is horizontal: grasp across it.
    box = world._world_to_base(world.object_pose_in_world())
    jaw = box[:3, 2]
    print("GRASP " + " ".join(f"{v:.6f}" for v in (*box[:3, 3], *jaw, 0.0214)), flush=True)
    return SimArm(world), SimGripper(world), world


def main() -> None:
    mode = sys.argv[1]
    rclpy.init(args=sys.argv)
    server = None
    if mode == "sim":
        arm, gripper, _world = sim_hardware()
    else:
        object_width, disconnect_at = float(sys.argv[2]), int(sys.argv[3])
        fake = FakeGripperConfig(
            object_width=object_width or None, activation_time=0.05, time_scale=4.0
        )
        server = FakeRobotiqServer(fake).start()
        arm = RecordedMotionArm(disconnect_at)
        gripper = RobotiqGripper(RobotiqConfig(port=server.tcp_url, motion_timeout=3.0))
    node = ExecutorNode(arm, gripper)
    executor = MultiThreadedExecutor(num_threads=4)
    executor.add_node(node)
    print(READY_LINE, flush=True)
    try:
        executor.spin()
    except (KeyboardInterrupt, ExternalShutdownException):
        node.begin_shutdown()
    finally:
        executor.shutdown()
        node.destroy_node()
        rclpy.try_shutdown()
        if server is not None:
            server.stop()


if __name__ == "__main__":
    main()
