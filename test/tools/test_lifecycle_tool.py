"""python -m gqstn_ros.tools.lifecycle against the executor node in a peer process: state,
transitions refused and taken, a node that is not there."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ros_test_support import PeerProcess, peer_environment

pytestmark = pytest.mark.ros

PEER = str(Path(__file__).resolve().parents[1] / "peers" / "executor_node_peer.py")


def lifecycle(*args: str) -> tuple[int, str]:
    result = subprocess.run(
        [sys.executable, "-m", "gqstn_ros.tools.lifecycle", *args],
        capture_output=True,
        text=True,
        env=peer_environment(),
        timeout=120,
    )
    return result.returncode, result.stdout + result.stderr


def test_the_executor_is_configured_and_activated_from_the_command_line(tmp_path) -> None:
    peer = PeerProcess(
        [
            PEER,
            "recorded",
            "0.03",
            "0",
            "--ros-args",
            "-p",
            f"attempt_log_path:={tmp_path / 'attempts.jsonl'}",
        ],
        "executor_node_peer",
    )
    peer.wait_ready()
    try:
        assert lifecycle("get", "--timeout", "30") == (0, "/executor_node: unconfigured\n")
        code, output = lifecycle("activate")
        assert code == 1, output
        assert output == (
            "/executor_node refused activate (its log says why)\n/executor_node: unconfigured\n"
        )
        assert lifecycle("configure") == (0, "/executor_node: inactive\n")
        assert lifecycle("activate") == (0, "/executor_node: active\n")
        assert "active: motion allowed" in peer.output()
        assert lifecycle("deactivate") == (0, "/executor_node: inactive\n")
    finally:
        peer.stop()
    code, output = lifecycle("get", "--node", "/no_such_node", "--timeout", "1")
    assert code == 2 and "did not answer" not in output, output
    assert output == "/no_such_node did not report its state within 1 s\n"
    code, output = lifecycle("activate", "--node", "executor_node")
    assert code == 2 and "fully qualified" in output, output


def test_a_transition_whose_reply_is_lost_counts_once_the_node_is_in_its_state() -> None:
    # A node that takes the transition but never replies, as when DDS drops the reply to a
    # client it has only just discovered: the tool reads the state instead.
    import threading

    import rclpy
    from lifecycle_msgs.srv import ChangeState, GetState
    from rclpy.callback_groups import ReentrantCallbackGroup
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.task import Future

    context = rclpy.Context()
    rclpy.init(context=context)
    node = rclpy.create_node("silent_lifecycle", context=context)
    group = ReentrantCallbackGroup()
    state = {"label": "inactive", "transitions": 0}

    async def change_state(request, response):
        state["label"], state["transitions"] = "active", state["transitions"] + 1
        await Future()  # no reply leaves
        return response

    def get_state(_request, response):
        response.current_state.label = state["label"]
        return response

    node.create_service(
        ChangeState, "/silent_lifecycle/change_state", change_state, callback_group=group
    )
    node.create_service(GetState, "/silent_lifecycle/get_state", get_state, callback_group=group)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)
    spinner = threading.Thread(target=executor.spin, daemon=True)
    spinner.start()
    try:
        code, output = lifecycle("activate", "--node", "/silent_lifecycle", "--timeout", "30")
        assert (code, output) == (0, "/silent_lifecycle: active\n")
        assert state["transitions"] == 1  # the transition was not sent twice
    finally:
        executor.shutdown()
        rclpy.try_shutdown(context=context)
