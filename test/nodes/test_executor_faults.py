"""Fault injection on the executor, across processes over real DDS: a cancel mid-pick, SIGINT
mid-pick with CPU burners on every core, kill -9 mid-pick, goals and parameter changes outside
the safety limits, a pick while the previous object is still held, motion only when active.

The simulated bench's own process (`python -m gqstn_ros.nodes.sim_bench`, the MuJoCo UR5
and gripper at real-time pace) for the motion cases; the executor peer (recorded-motion arm and
the Robotiq driver against the fake 2F-85, or the simulated box world) for the others. Every
wait is on an event (a feedback stage, a log line, a result), never on a fixed sleep.
"""

from __future__ import annotations

import json
import math
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rclpy
from action_msgs.msg import GoalStatus
from gqstn_msgs.action import ExecuteGrasp
from gqstn_msgs.msg import Grasp
from lifecycle_msgs.msg import Transition
from lifecycle_msgs.srv import ChangeState, GetState
from rcl_interfaces.srv import SetParameters
from rclpy.action import ActionClient
from rclpy.executors import SingleThreadedExecutor
from rclpy.parameter import Parameter
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from std_srvs.srv import Trigger

from gqstn_ros.geometry import RigidTransform
from gqstn_ros.grasping.grasp import grasp_frame_rotation
from gqstn_ros.hardware.attempt_log import read_attempts
from gqstn_ros.nodes.grasp_messages import transform_to_pose
from gqstn_ros.tools.cpu_load import cpu_burners
from ros_test_support import PeerProcess, call_service, send_goal, spin_until

pytestmark = pytest.mark.ros

TIMEOUT_S = 30.0
EXECUTOR = "/executor_node"
# A pick beside the object (table centre = base_link (0.5, 0)), 12 cm above the table: a long,
# collision-free motion (about 6 s at real-time pace) to interrupt.
CLEAR_GRASP = (0.4, 0.3, 0.12)
PRE_GRASP_HEIGHT = 0.10
# SIGINT ends the process with code 0 within this (s), under CPU load too.
SIGINT_EXIT_BOUND_S = 2.0
PEER = str(Path(__file__).resolve().parents[1] / "peers" / "executor_node_peer.py")


def base_grasp(position, jaw=(0.0, 1.0, 0.0), width=0.03) -> Grasp:
    rotation = grasp_frame_rotation(np.array([0.0, 0.0, -1.0]), np.asarray(jaw, float))
    grasp = Grasp()
    grasp.header.frame_id = "base_link"
    grasp.pose = transform_to_pose(RigidTransform(rotation, np.asarray(position, dtype=float)))
    grasp.width = width
    grasp.planner = "prop_gqcnn"
    return grasp


class Client:
    """The test's ROS node: /execute_grasp goals with their feedback, cancel, lifecycle,
    parameters and Trigger services of the executor node."""

    def __init__(self) -> None:
        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.node = rclpy.create_node("executor_fault_client", context=self.context)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self.action = ActionClient(self.node, ExecuteGrasp, "/execute_grasp")
        self.clients: dict[str, Any] = {}  # service name -> its client, kept across calls
        self.feedback: dict[bytes, list[str]] = {}
        qos = QoSProfile(
            history=HistoryPolicy.KEEP_LAST, depth=100, reliability=ReliabilityPolicy.RELIABLE
        )
        self.node.create_subscription(
            ExecuteGrasp.Impl.FeedbackMessage,
            "/execute_grasp/_action/feedback",
            lambda m: self.feedback.setdefault(bytes(m.goal_id.uuid), []).append(m.feedback.stage),
            qos,
        )

    def spin_until(self, condition, timeout_s: float = TIMEOUT_S) -> bool:
        return spin_until(self.executor, condition, timeout_s)

    def send(self, grasp: Grasp, dry_run: bool = False):
        assert self.action.wait_for_server(timeout_sec=TIMEOUT_S), "no /execute_grasp server"
        goal = ExecuteGrasp.Goal(grasp=grasp, dry_run=dry_run)
        handle = send_goal(self.executor, self.action, goal, TIMEOUT_S)
        assert handle.accepted
        return handle

    def stages(self, handle) -> list[str]:
        return self.feedback.get(bytes(handle.goal_id.uuid), [])

    def wait_for_stage(self, handle, stage: str, timeout_s: float = TIMEOUT_S) -> None:
        assert self.spin_until(lambda: stage in self.stages(handle), timeout_s), (
            f"stage {stage} never reported: {self.stages(handle)}"
        )

    def result(self, handle, timeout_s: float = TIMEOUT_S):
        """(status, result) of a goal."""
        future = handle.get_result_async()
        assert self.spin_until(future.done, timeout_s), "no result in time"
        return future.result().status, future.result().result

    def execute(self, grasp: Grasp, dry_run: bool = False, timeout_s: float = TIMEOUT_S):
        handle = self.send(grasp, dry_run)
        return self.result(handle, timeout_s)[1]

    def call(self, service_type, name: str, request) -> Any:
        """One client per service, kept. A query (GetState) or a parameter set to a value is
        repeatable (`call_service`); a lifecycle transition is sent once."""
        if name not in self.clients:
            self.clients[name] = self.node.create_client(service_type, name)
        client = self.clients[name]
        assert client.wait_for_service(timeout_sec=TIMEOUT_S), f"no {name}"
        repeatable = service_type in (GetState, SetParameters)
        return call_service(self.executor, client, request, TIMEOUT_S, repeatable=repeatable)

    def transition(self, transition_id: int) -> bool:
        request = ChangeState.Request()
        request.transition.id = transition_id
        return self.call(ChangeState, f"{EXECUTOR}/change_state", request).success

    def state(self) -> str:
        return self.call(GetState, f"{EXECUTOR}/get_state", GetState.Request()).current_state.label

    def set_parameter(self, name: str, value: Any) -> tuple[bool, str]:
        message = Parameter(name, value=value).to_parameter_msg()
        response = self.call(
            SetParameters, f"{EXECUTOR}/set_parameters", SetParameters.Request(parameters=[message])
        )
        return response.results[0].successful, response.results[0].reason

    def close(self) -> None:
        self.action.destroy()
        self.executor.shutdown()
        self.node.destroy_node()
        rclpy.shutdown(context=self.context)


@pytest.fixture
def client() -> Iterator[Client]:
    fault_client = Client()
    yield fault_client
    fault_client.close()


def start_sim_world(start_node, log: Path):
    """The simulated bench's process (world and executor), active, frames at 2 Hz."""
    node = start_node(
        "sim_world_node",
        "-p",
        "autostart:=activate",
        "-p",
        "publish_rate_hz:=2.0",
        "-p",
        "stats_period_s:=0.0",
        "-p",
        f"attempt_log_path:={log}",
    )
    node.wait_for_log("active: motion allowed", timeout_s=60.0)
    return node


def start_peer(tmp_path: Path, *args: str, **parameters: str) -> tuple[PeerProcess, Path]:
    log = tmp_path / "attempts.jsonl"
    ros_args = ["--ros-args", "-p", f"attempt_log_path:={log}"]
    for name, value in {"autostart": "activate", **parameters}.items():
        ros_args += ["-p", f"{name}:={value}"]
    peer = PeerProcess([PEER, *args, *ros_args], "executor_node_peer")
    peer.wait_ready()
    return peer, log


def moves(peer: PeerProcess) -> int:
    return sum(line.startswith("MOVE ") for line in peer.lines)


def stopped_position(message: str) -> np.ndarray:
    """The arm position a cancelled attempt's message reports."""
    text = message.split("the arm stopped at (")[1].split(")", maxsplit=1)[0]
    return np.array([float(v) for v in text.split(",")])


def test_cancel_mid_pick_stops_the_arm_and_logs_the_attempt_as_cancelled(
    client, start_node, tmp_path
) -> None:
    log = tmp_path / "attempts.jsonl"
    world = start_sim_world(start_node, log)
    handle = client.send(base_grasp(CLEAR_GRASP))
    client.wait_for_stage(handle, "descending")
    cancelled_at = time.monotonic()
    cancel = handle.cancel_goal_async()
    assert client.spin_until(cancel.done)
    assert len(cancel.result().goals_canceling) == 1, "the executor accepted the cancel"
    status, result = client.result(handle)
    answered_in = time.monotonic() - cancelled_at
    assert status == GoalStatus.STATUS_CANCELED, (status, result.message)
    assert not result.success
    assert result.message.startswith("cancelled: cancel requested during descending"), (
        result.message
    )
    assert "not opened, a held object is not dropped" in result.message
    # Stopped on the way down (22 cm to 12 cm above the table, 2 s), short of the grasp.
    z = stopped_position(result.message)[2]
    assert CLEAR_GRASP[2] + 0.005 < z < CLEAR_GRASP[2] + PRE_GRASP_HEIGHT + 0.002, z
    assert answered_in < 2.0, f"the result came {answered_in:.2f} s after the cancel"
    assert client.stages(handle)[-1] == "descending", "no stage after the cancel"
    attempts = read_attempts(log)
    assert attempts[-1]["outcome"] == "cancelled", attempts[-1]
    assert attempts[-1]["stage_reached"] == "descending"
    # The executor goes on: the next goal is executed, not refused as busy.
    result = client.execute(base_grasp(CLEAR_GRASP), dry_run=True)
    assert result.success, result.message
    assert world.is_running()


def test_sigint_mid_pick_under_cpu_load_stops_the_arm_and_exits_0(
    client, start_node, tmp_path
) -> None:
    log = tmp_path / "attempts.jsonl"
    world = start_sim_world(start_node, log)
    with cpu_burners(os.cpu_count() or 2):
        handle = client.send(base_grasp(CLEAR_GRASP))
        client.wait_for_stage(handle, "descending")
        world.process.send_signal(signal.SIGINT)
        signalled = time.monotonic()
        code = world.process.wait(30)
        exit_s = time.monotonic() - signalled
    world.reader.join(5)
    output = world.output()
    print(f"SIGINT mid-pick under load: exit code {code} after {exit_s:.2f} s")
    assert code == 0, output
    assert exit_s <= SIGINT_EXIT_BOUND_S, f"exited {exit_s:.2f} s after SIGINT"
    assert "Traceback" not in output and "[ERROR]" not in output, output
    (attempt,) = read_attempts(log)
    assert attempt["outcome"] == "cancelled", attempt
    assert attempt["message"].startswith(
        "cancelled: the executor process is stopping (SIGINT/SIGTERM) during descending"
    ), attempt["message"]
    z = stopped_position(attempt["message"])[2]
    assert CLEAR_GRASP[2] + 0.005 < z < CLEAR_GRASP[2] + PRE_GRASP_HEIGHT + 0.002, z


def test_kill_9_mid_pick_leaves_a_valid_log_with_the_attempt_interrupted(
    client, start_node, tmp_path
) -> None:
    log = tmp_path / "attempts.jsonl"
    world = start_sim_world(start_node, log)
    handle = client.send(base_grasp(CLEAR_GRASP))
    client.wait_for_stage(handle, "descending")
    world.process.send_signal(signal.SIGKILL)
    assert world.process.wait(30) == -signal.SIGKILL
    lines = log.read_text().splitlines()
    entries = [json.loads(line) for line in lines]  # every line is whole, valid JSON
    assert [e["event"] for e in entries] == ["started", "stage", "stage"], entries
    (attempt,) = read_attempts(log)
    assert attempt["outcome"] == "interrupted" and attempt["stage_reached"] == "descending"
    assert attempt["grasp"]["frame"] == "base_link", "the executed grasp was written ahead"
    assert math.isclose(attempt["grasp"]["position"][2], CLEAR_GRASP[2], abs_tol=1e-6)
    # The next start of the executor writes the end the killed process could not.
    restarted = start_sim_world(start_node, log)
    restarted.wait_for_log("logged as interrupted")
    last = json.loads(log.read_text().splitlines()[-1])
    assert last["event"] == "interrupted" and last["attempt_id"] == attempt["attempt_id"]
    # A new client: the old one still counts the killed server until its DDS lease expires,
    # and would send its goal before discovering the restarted one.
    fresh = Client()
    try:
        result = fresh.execute(base_grasp(CLEAR_GRASP), dry_run=True)
    finally:
        fresh.close()
    assert result.success, result.message
    assert [a["outcome"] for a in read_attempts(log)] == ["interrupted", "dry_run"]


def test_a_pick_while_the_object_is_held_is_refused_until_the_gripper_is_opened(
    client, tmp_path
) -> None:
    peer, log = start_peer(tmp_path, "sim")
    try:
        line = next(line for line in peer.lines if line.startswith("GRASP "))
        values = [float(v) for v in line.split()[1:]]
        box = base_grasp(values[:3], jaw=values[3:6], width=values[6])
        result = client.execute(box, timeout_s=60.0)
        assert result.success, result.message
        result = client.execute(box)  # the box is still in the gripper, lifted
        assert not result.success
        assert result.message.startswith("refused: the gripper holds an object (2"), result.message
        assert "/executor_node/open_gripper" in result.message
        opened = client.call(Trigger, f"{EXECUTOR}/open_gripper", Trigger.Request())
        assert opened.success and opened.message == "gripper open at 85.0 mm", opened.message
        result = client.execute(box, timeout_s=60.0)  # the box fell: not refused for holding
        assert not result.message.startswith("refused"), result.message
    finally:
        peer.stop()
    assert [a["outcome"] for a in read_attempts(log)][:2] == ["success", "refused"]


def test_motion_only_when_active(client, tmp_path) -> None:
    """autostart none: nothing moves until configure and activate; deactivate refuses again."""
    peer, log = start_peer(tmp_path, "recorded", "0.03", "0", autostart="none")
    try:
        grasp = base_grasp([0.5, 0.1, 0.03])
        assert client.state() == "unconfigured"
        result = client.execute(grasp)
        assert not result.success
        assert result.message.startswith("refused: executor_node is unconfigured"), result.message
        assert "ros2 lifecycle set /executor_node activate" in result.message
        assert client.execute(grasp, dry_run=True).success, "plans in any state"
        assert client.transition(Transition.TRANSITION_CONFIGURE)
        assert client.state() == "inactive"
        result = client.execute(grasp)
        assert result.message.startswith("refused: executor_node is inactive"), result.message
        assert moves(peer) == 0, "nothing moved before activation"
        assert client.transition(Transition.TRANSITION_ACTIVATE)
        result = client.execute(grasp)
        assert result.success, result.message
        assert moves(peer) == 4
        assert client.transition(Transition.TRANSITION_DEACTIVATE)
        assert client.call(Trigger, f"{EXECUTOR}/open_gripper", Trigger.Request()).message == (
            "refused: executor_node is inactive, not active"
        )
        result = client.execute(grasp)
        assert result.message.startswith("refused: executor_node is inactive"), result.message
        assert moves(peer) == 4
    finally:
        peer.stop()
    outcomes = [a["outcome"] for a in read_attempts(log)]
    assert outcomes == ["refused", "dry_run", "refused", "success", "refused"]


def test_limits_are_read_only_or_confined_and_goals_outside_are_refused(
    client, start_node, tmp_path
) -> None:
    peer, _ = start_peer(tmp_path, "recorded", "0.03", "0")
    try:
        for name, value in (
            ("workspace_min", [-10.0, -10.0, -10.0]),
            ("workspace_max", [10.0, 10.0, 10.0]),
            ("tcp_to_grasp_centre", 0.4),
            ("max_arm_speed", 3.0),
            ("max_gripper_force", 235.0),
            ("autostart", "activate"),
            ("attempt_log_path", "/tmp/elsewhere.jsonl"),
        ):
            accepted, reason = client.set_parameter(name, value)
            assert not accepted, name
            assert reason == f"Trying to set a read-only parameter: {name}.", reason
        for name, value, limit in (
            ("arm_speed", 3.0, "0.5"),
            ("descend_speed", 0.6, "0.5"),
            ("arm_acceleration", 10.0, "1.5"),
            ("gripper_force", 235.0, "100"),
        ):
            accepted, reason = client.set_parameter(name, value)
            assert not accepted, name
            assert name in reason and limit in reason, reason
        assert client.set_parameter("arm_speed", 0.4) == (True, "")
        # A plan 3.5 m below the base, or beside the table: refused, nothing moves.
        for position in ([0.5, 0.0, -3.5], [0.5, 2.0, 0.05]):
            result = client.execute(base_grasp(position))
            assert not result.success
            assert result.message.startswith("plan refused: grasp outside workspace"), (
                result.message
            )
        assert moves(peer) == 0
        assert peer.is_running()
    finally:
        peer.stop()
    too_fast = start_node(
        "executor_node",
        "-p",
        "arm_speed:=1.0",
        "-p",
        f"attempt_log_path:={tmp_path / 'attempts.jsonl'}",
    )
    assert too_fast.process.wait(60) == 2
    too_fast.reader.join(5)
    assert (
        "invalid configuration: parameter arm_speed: 1.0 is outside [0.001, 0.5], "
        "max_arm_speed (m/s), set at start"
    ) in too_fast.output()
