"""Executor node across processes over real DDS: ExecutorNode runs in a peer process
(test/peers/executor_node_peer.py) with the simulated UR5 + 2F-85, or with a recorded-motion
arm double and the real Robotiq driver talking Modbus RTU to the fake 2F-85 server."""

import math
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import rclpy
from gqstn_msgs.action import ExecuteGrasp
from gqstn_msgs.msg import Grasp
from rclpy.action import ActionClient
from rclpy.executors import SingleThreadedExecutor
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy

from gqstn_ros.camera_model import KINECT_V1
from gqstn_ros.geometry import RigidTransform, quaternion_from_xyzw
from gqstn_ros.grasping.grasp import grasp_frame_rotation, grasp_pose_in_camera
from gqstn_ros.hardware.attempt_log import read_attempts
from gqstn_ros.nodes.grasp_messages import pose_to_transform, transform_to_pose
from ros_test_support import (
    EXECUTION_STAGES,
    PeerProcess,
    call_service,
    running_peer,
    send_goal,
    spin_until,
)

pytestmark = pytest.mark.ros

TIMEOUT_S = 30.0
MOTION_STAGES = list(EXECUTION_STAGES[1:])  # all but "detecting"
# The node's default hand-eye calibration (config/executor_node.yaml): camera 0.7 m above
# (0.5, 0, 0) of base_link, looking down.
HAND_EYE = RigidTransform.from_pose([0.5, 0.0, 0.7], [0.0, 0.7071068, -0.7071068, 0.0])


class ExecutorClient:
    """A client node of the test process: sends goals, records feedback from the action's
    feedback topic (rclpy's ActionClient drops feedback that arrives after the result)."""

    def __init__(self) -> None:
        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.node = rclpy.create_node("executor_test_client", context=self.context)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self.client = ActionClient(self.node, ExecuteGrasp, "/execute_grasp")
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

    def execute(self, goal: ExecuteGrasp.Goal, timeout_s: float = TIMEOUT_S):
        """(result, feedback stages, seconds until the result)."""
        assert self.client.wait_for_server(timeout_sec=TIMEOUT_S), "no /execute_grasp server"
        start = time.monotonic()
        handle = send_goal(self.executor, self.client, goal, TIMEOUT_S)
        assert handle.accepted
        result_future = handle.get_result_async()
        assert spin_until(self.executor, result_future.done, timeout_s), "no result in time"
        elapsed = time.monotonic() - start
        goal_id = bytes(handle.goal_id.uuid)
        result = result_future.result().result
        # Let the feedback (another topic) arrive; its count is known only for the stages run.
        spin_until(self.executor, lambda: False, 0.3)
        return result, self.feedback.get(goal_id, []), elapsed

    def open_gripper(self) -> tuple[bool, str]:
        """Call the executor's ~/open_gripper service: (success, message)."""
        from std_srvs.srv import Trigger

        service = self.node.create_client(Trigger, "/executor_node/open_gripper")
        assert service.wait_for_service(timeout_sec=TIMEOUT_S)
        # Opening an open gripper changes nothing: repeatable.
        response = call_service(
            self.executor, service, Trigger.Request(), TIMEOUT_S, repeatable=True
        )
        self.node.destroy_client(service)
        return response.success, response.message

    def set_parameter(self, name: str, value: float) -> None:
        successful, reason = self.try_set_parameter(name, value)
        assert successful, reason

    def try_set_parameter(self, name: str, value: float) -> tuple[bool, str]:
        """Set a double parameter of the executor node: (accepted, refusal reason)."""
        from rcl_interfaces.msg import Parameter, ParameterType, ParameterValue
        from rcl_interfaces.srv import SetParameters

        service = self.node.create_client(SetParameters, "/executor_node/set_parameters")
        assert service.wait_for_service(timeout_sec=TIMEOUT_S)
        value_msg = ParameterValue(type=ParameterType.PARAMETER_DOUBLE, double_value=value)
        request = SetParameters.Request(parameters=[Parameter(name=name, value=value_msg)])
        response = call_service(self.executor, service, request, TIMEOUT_S, repeatable=True)
        result = response.results[0]
        self.node.destroy_client(service)
        return result.successful, result.reason

    def close(self) -> None:
        self.client.destroy()
        self.executor.shutdown()
        self.node.destroy_node()
        rclpy.shutdown(context=self.context)


@pytest.fixture
def client() -> Iterator[ExecutorClient]:
    executor_client = ExecutorClient()
    yield executor_client
    executor_client.close()


def start_peer(tmp_path: Path, *args: str, parameters: dict[str, str] | None = None):
    log = tmp_path / "attempts.jsonl"
    ros_args = ["--ros-args", "-p", f"attempt_log_path:={log}"]
    for name, value in {"autostart": "activate", **(parameters or {})}.items():
        ros_args += ["-p", f"{name}:={value}"]
    peer = PeerProcess(
        [
            str(Path(__file__).resolve().parents[1] / "peers" / "executor_node_peer.py"),
            *args,
            *ros_args,
        ],
        "executor_node_peer",
    )
    peer.wait_ready()
    return peer, log


def camera_grasp(width: float = 0.04) -> Grasp:
    """A top-down grasp near the image centre, 0.68 m from the camera (2 cm above the table)."""
    pose, _ = grasp_pose_in_camera((330.0, 250.0), 0.4, 50.0, 0.68, KINECT_V1)
    grasp = Grasp()
    grasp.header.frame_id = "camera_depth_optical_frame"
    grasp.header.stamp.sec = 1700000000
    grasp.pose = transform_to_pose(pose)
    grasp.width = width
    grasp.planner = "gqstn"
    grasp.q_value = 0.9
    return grasp


def base_grasp(position, jaw=(0.0, 1.0, 0.0), width=0.03, approach=(0.0, 0.0, -1.0)) -> Grasp:
    rotation = grasp_frame_rotation(np.asarray(approach, float), np.asarray(jaw, float))
    grasp = Grasp()
    grasp.header.frame_id = "base_link"
    grasp.pose = transform_to_pose(RigidTransform(rotation, np.asarray(position, dtype=float)))
    grasp.width = width
    grasp.planner = "prop_gqcnn"
    return grasp


def moves(peer: PeerProcess) -> list[np.ndarray]:
    return [
        np.array([float(v) for v in line.split()[1:]])
        for line in peer.lines
        if line.startswith("MOVE ")
    ]


def test_a_detection_whose_reply_is_lost_is_asked_for_again(client, tmp_path) -> None:
    # The executor's own /detect_grasp query (a goal without a grasp) gets no reply to its first
    # request: it asks again after topics.ASK_AGAIN_AFTER_S and executes the grasp of the reply.
    peer, _ = start_peer(tmp_path, "recorded", "0.03", "0", parameters={"detect_timeout": "30.0"})
    try:
        with running_peer(
            "top_down_detect_grasp_server.py", "--leave-first-unanswered"
        ) as detector:
            result, stages, _ = client.execute(ExecuteGrasp.Goal(grasp=Grasp(), dry_run=True))
            requests = [line.strip() for line in detector.lines if line.startswith("REQUEST")]
        assert result.success, result.message
        assert stages == ["detecting"]
        assert requests == ["REQUEST 1", "REQUEST 2"]
    finally:
        peer.stop()


def test_dry_run_and_refusals_are_answered_and_logged(client, tmp_path) -> None:
    peer, log = start_peer(tmp_path, "recorded", "0.03", "0", parameters={"detect_timeout": "1.0"})
    try:
        grasp = camera_grasp()
        result, stages, _ = client.execute(ExecuteGrasp.Goal(grasp=grasp, dry_run=True))
        assert result.success, result.message
        assert result.message.startswith("dry run: nothing moved")
        assert stages == []  # no motion stage was run
        assert result.grasp.header.frame_id == "base_link"
        expected = HAND_EYE.compose(pose_to_transform(grasp.pose))
        executed = pose_to_transform(result.grasp.pose)
        np.testing.assert_allclose(executed.translation, expected.translation, atol=1e-6)
        assert 0.45 < executed.translation[0] < 0.55 and abs(executed.translation[2] - 0.02) < 1e-3
        np.testing.assert_allclose(executed.rotation[:, 0], [0, 0, -1], atol=1e-6)  # down
        # the jaw axis is the camera grasp's, up to its sign
        assert abs(executed.rotation[:, 1] @ expected.rotation[:, 1]) == pytest.approx(1.0)
        assert result.lift_height == 0.0  # nothing lifted
        assert ", lift (" in result.message  # the plan's lift waypoint, reported
        assert result.grasp.width == pytest.approx(0.04) and result.grasp.planner == "gqstn"

        refusals = [
            (camera_grasp(width=0.09), "wider than the stroke (85.0 mm)"),
            (base_grasp([1.5, 0.0, 0.05]), "grasp outside workspace"),
            (base_grasp([0.5, 0.0, 0.05], approach=(0.0, 0.0, 1.0)), "approach not pointing down"),
        ]
        zero_quaternion = base_grasp([0.5, 0.0, 0.05])
        zero_quaternion.pose.orientation.w = zero_quaternion.pose.orientation.x = 0.0
        zero_quaternion.pose.orientation.y = zero_quaternion.pose.orientation.z = 0.0
        refusals.append((zero_quaternion, "grasp pose invalid"))
        wrong_frame = base_grasp([0.5, 0.0, 0.05])
        wrong_frame.header.frame_id = "tool0"
        refusals.append((wrong_frame, "grasp frame 'tool0' unknown"))
        for goal_grasp, expected_message in refusals:
            result, stages, _ = client.execute(ExecuteGrasp.Goal(grasp=goal_grasp, dry_run=True))
            assert not result.success
            assert expected_message in result.message, peer.output()
            assert stages == []

        # Empty planner: detect through /detect_grasp, which nobody serves: bounded by 1 s.
        result, stages, elapsed = client.execute(ExecuteGrasp.Goal(grasp=Grasp()))
        assert not result.success
        assert "no /detect_grasp service within 1.0 s" in result.message
        assert stages == ["detecting"]
        assert elapsed < 5.0

        # Now with a detector: its grasp (camera frame) is executed, re-expressed in base_link.
        # Give DDS discovery of the new service time: a run-time parameter change.
        client.set_parameter("detect_timeout", 15.0)
        with running_peer("top_down_detect_grasp_server.py") as detector:
            result, stages, _ = client.execute(ExecuteGrasp.Goal(grasp=Grasp(), dry_run=True))
            line = next(line for line in detector.lines if line.startswith("GRASP "))
        assert result.success, result.message
        assert stages == ["detecting"]  # detected, then planned only
        values = [float(v) for v in line.split()[1:]]
        detected = HAND_EYE.compose(
            RigidTransform.from_pose(values[:3], quaternion_from_xyzw(values[3:7]))
        )
        executed = pose_to_transform(result.grasp.pose)
        np.testing.assert_allclose(executed.translation, detected.translation, atol=1e-6)
        assert result.grasp.width == pytest.approx(values[7], abs=1e-6)
        assert result.grasp.planner == "gqstn" and result.grasp.header.frame_id == "base_link"
        assert moves(peer) == []  # nothing moved
        assert peer.is_running()
    finally:
        peer.stop()
    records = read_attempts(log)
    assert [r["outcome"] for r in records] == ["dry_run"] + ["refused"] * 5 + [
        "failure",
        "dry_run",
    ]
    assert records[0]["stage_reached"] == "planning"  # a dry run stops after planning
    assert records[0]["grasp"]["frame"] == "base_link"
    assert records[-2]["stage_reached"] == "detecting"


def test_the_gripper_profile_sets_the_stroke_and_the_force_range(
    client, start_node, tmp_path
) -> None:
    """gripper:=robotiq_2f140: a 120 mm grasp (refused by the 2F-85, 85 mm) is planned with the
    140 mm stroke; gripper_force is bounded by the 2F-140's 10-125 N, at start and at run time."""
    peer, _ = start_peer(
        tmp_path,
        "recorded",
        "0.03",
        "0",
        parameters={"gripper": "robotiq_2f140", "max_gripper_force": "200.0"},
    )
    try:
        result, stages, _ = client.execute(
            ExecuteGrasp.Goal(grasp=camera_grasp(width=0.12), dry_run=True)
        )
        assert result.success, result.message
        assert stages == []
        assert "opening 130.0 mm" in result.message  # 120 mm + the 10 mm opening margin
        result, _, _ = client.execute(ExecuteGrasp.Goal(grasp=camera_grasp(0.145), dry_run=True))
        assert not result.success and "wider than the stroke (140.0 mm)" in result.message
        accepted, reason = client.try_set_parameter("gripper_force", 150.0)
        assert not accepted and "gripper_force" in reason and "125" in reason, reason
        client.set_parameter("gripper_force", 100.0)
        assert peer.is_running()
    finally:
        peer.stop()
    too_strong = start_node(
        "executor_node",
        "-p",
        "gripper:=robotiq_2f140",
        "-p",
        "gripper_force:=200.0",
        "-p",
        f"attempt_log_path:={tmp_path / 'attempts.jsonl'}",
    )
    assert too_strong.process.wait(60) == 2
    too_strong.reader.join(5)
    assert (
        "invalid configuration: parameter gripper_force: 200.0 is outside [10, 125], the grip "
        "force range of gripper robotiq_2f140 (N)"
    ) in too_strong.output()


def test_pick_with_the_robotiq_driver_and_a_disconnecting_arm(client, tmp_path) -> None:
    """Moves 1-4 pick (approach, descend, lift, retreat); a goal while the object is held is
    refused until the gripper is opened; the arm drops during move 6 (the descent of the next
    goal); the goal after is answered; the last picks again."""
    peer, log = start_peer(tmp_path, "recorded", "0.03", "6")
    try:
        goal = ExecuteGrasp.Goal(grasp=base_grasp([0.5, 0.1, 0.03], jaw=(1.0, 1.0, 0.0)))
        result, stages, _ = client.execute(goal)
        assert result.success, result.message
        assert stages == MOTION_STAGES
        assert "holding 30.0 mm" in result.message  # the fake gripper's object, via Modbus
        assert result.lift_height == pytest.approx(0.15, abs=1e-6)
        recorded = moves(peer)
        assert len(recorded) == 4
        heights = [pose[2] for pose in recorded]
        np.testing.assert_allclose(heights, [0.13, 0.03, 0.18, 0.23], atol=1e-5)
        for pose in recorded:
            np.testing.assert_allclose(pose[:2], [0.5, 0.1], atol=1e-5)
            np.testing.assert_allclose(pose[3:], recorded[0][3:], atol=1e-5)

        result, stages, _ = client.execute(goal)  # the object is still in the gripper
        assert not result.success and stages == []
        assert result.message.startswith("refused: the gripper holds an object (30.0 mm"), (
            result.message
        )
        assert len(moves(peer)) == 4, "nothing moved"
        opened, message = client.open_gripper()
        assert opened and message == "gripper open at 85.0 mm", message

        result, stages, _ = client.execute(goal)
        assert not result.success
        assert result.message.startswith("descending: recorded arm: connection to the robot lost")
        assert stages == MOTION_STAGES[:2]

        result, _, _ = client.execute(goal)  # answered, not hung: the arm reconnects meanwhile
        assert not result.success and "arm not connected" in result.message

        deadline = time.monotonic() + 10.0
        while time.monotonic() < deadline:
            result, _, _ = client.execute(goal)
            if result.success or "still connecting" not in result.message:
                break
        assert result.success, result.message
        assert peer.is_running()
    finally:
        peer.stop()
    outcomes = [r["outcome"] for r in read_attempts(log)]
    assert outcomes[:4] == ["success", "refused", "failure", "failure"]
    assert outcomes[-1] == "success"


def test_simulated_ur5_picks_the_box(client, tmp_path) -> None:
    peer, _ = start_peer(tmp_path, "sim")
    try:
        line = next(line for line in peer.lines if line.startswith("GRASP "))
        values = [float(v) for v in line.split()[1:]]
        goal = ExecuteGrasp.Goal(grasp=base_grasp(values[:3], jaw=values[3:6], width=values[6]))
        result, stages, elapsed = client.execute(goal, timeout_s=60.0)
        assert result.success, result.message
        assert stages == MOTION_STAGES
        assert result.lift_height == pytest.approx(0.15, abs=0.01)
        held = float(result.message.split("holding ")[1].split(" mm")[0])
        assert math.isclose(held, 21.4, abs_tol=3.0), result.message  # the box's thickness
        print(f"simulated pick: {elapsed:.1f} s, {result.message}")
    finally:
        peer.stop()


def test_main_builds_the_real_drivers_and_answers_while_the_arm_is_unreachable(
    client, start_node, tmp_path
) -> None:
    """The console-script node: ur_rtde against a closed port, the Robotiq driver against the
    fake 2F-85; goals are answered with the reason, dry runs still plan."""
    from gqstn_ros.hardware.fake_robotiq_server import FakeRobotiqServer

    config = Path(__file__).resolve().parents[2] / "config" / "executor_node.yaml"
    with FakeRobotiqServer() as gripper:
        node = start_node(
            "executor_node",
            "--params-file",
            str(config),
            "-p",
            "robot_ip:=127.0.0.1",
            "-p",
            f"gripper_port:={gripper.tcp_url}",
            "-p",
            f"attempt_log_path:={tmp_path / 'attempts.jsonl'}",
            "-p",
            "autostart:=configure",  # as the real robot's graph starts it
        )
        node.wait_for_log("arm not connected")
        # The gripper is tried although the arm is not there (both problems show at once).
        node.wait_for_log("; gripper connected")
        goal = ExecuteGrasp.Goal(grasp=base_grasp([0.5, 0.0, 0.05]))
        result, stages, _ = client.execute(goal)
        assert not result.success
        assert "arm not connected: robot at 127.0.0.1:30004 refused the connection" in (
            result.message
        )
        assert stages == []
        result, _, _ = client.execute(ExecuteGrasp.Goal(grasp=goal.grasp, dry_run=True))
        assert result.success, result.message
        assert node.is_running()
