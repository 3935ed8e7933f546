"""The executor under faults, measured on the simulated bench's own process (MuJoCo UR5 and
gripper at real-time pace): how fast a cancel mid-pick stops the arm and answers, and how fast
the process exits after SIGINT mid-pick, with and without a CPU burner on every core.

    .venv/bin/python benchmarks/executor_faults.py [--runs 20] [--load both|idle|busy]
        [--delay 0.5]

Each run starts `python -m gqstn_ros.nodes.sim_bench` (world and executor, active), sends
a pick beside the object, and --delay seconds after the executor reports the `descending`
stage (the arm moving down at 5 cm/s from 22 cm to 12 cm above the table) either cancels
the goal (cancel: the time until the CANCELED result, and the arm's height when it stopped) or
sends SIGINT to the process (sigint: the time until the process ended, its exit code, and
whether its output holds a traceback or an ERROR line). Prints one line a run and a summary
per case: the times' median and maximum and how many runs met the goals (cancel answered within
2 s with the arm stopped short of the grasp; SIGINT: exit code 0 within 2 s, no traceback, no
ERROR line, the attempt logged as cancelled).
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import rclpy
from action_msgs.msg import GoalStatus
from gqstn_msgs.action import ExecuteGrasp
from gqstn_msgs.msg import Grasp
from rclpy.action import ActionClient
from rclpy.executors import SingleThreadedExecutor
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from ros_benchmark_support import NodeProcess, use_private_ros_domain

from gqstn_ros.geometry import RigidTransform
from gqstn_ros.grasping.grasp import grasp_frame_rotation
from gqstn_ros.hardware.attempt_log import read_attempts
from gqstn_ros.nodes.grasp_messages import transform_to_pose
from gqstn_ros.tools.action_goals import send_goal
from gqstn_ros.tools.cpu_load import cpu_burners

# A pick beside the object, 12 cm above the table: descends from 22 cm for 2 s.
GRASP_POSITION = (0.4, 0.3, 0.12)
GOAL_S = 2.0
TIMEOUT_S = 60.0


def clear_grasp() -> Grasp:
    rotation = grasp_frame_rotation(np.array([0.0, 0.0, -1.0]), np.array([0.0, 1.0, 0.0]))
    grasp = Grasp()
    grasp.header.frame_id = "base_link"
    grasp.pose = transform_to_pose(RigidTransform(rotation, np.asarray(GRASP_POSITION)))
    grasp.width = 0.03
    grasp.planner = "prop_gqcnn"
    return grasp


class Client:
    """One node of this process: the /execute_grasp client and the feedback it saw."""

    def __init__(self) -> None:
        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.node = rclpy.create_node("executor_faults_benchmark", context=self.context)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self.stages: dict[bytes, list[str]] = {}
        qos = QoSProfile(
            history=HistoryPolicy.KEEP_LAST, depth=100, reliability=ReliabilityPolicy.RELIABLE
        )
        self.node.create_subscription(
            ExecuteGrasp.Impl.FeedbackMessage,
            "/execute_grasp/_action/feedback",
            lambda m: self.stages.setdefault(bytes(m.goal_id.uuid), []).append(m.feedback.stage),
            qos,
        )

    def spin_until(self, condition, timeout_s: float = TIMEOUT_S) -> bool:
        deadline = time.monotonic() + timeout_s
        while not condition() and time.monotonic() < deadline:
            self.executor.spin_once(timeout_sec=0.01)
        return bool(condition())

    def pick_until_descending(self, delay_s: float) -> tuple[ActionClient, object]:
        """A fresh action client (a restarted server is a new one), a goal, `delay_s` into its
        descent."""
        action = ActionClient(self.node, ExecuteGrasp, "/execute_grasp")
        if not action.wait_for_server(timeout_sec=TIMEOUT_S):
            raise RuntimeError("no /execute_grasp server")
        handle = send_goal(
            self.spin_until,
            action,
            ExecuteGrasp.Goal(grasp=clear_grasp()),
            TIMEOUT_S,
        )
        if not handle.accepted:
            raise RuntimeError("the goal was not accepted")
        key = bytes(handle.goal_id.uuid)
        if not self.spin_until(lambda: "descending" in self.stages.get(key, [])):
            raise RuntimeError("the executor never reported descending")
        self.spin_until(lambda: False, delay_s)
        return action, handle

    def close(self) -> None:
        self.executor.shutdown()
        self.node.destroy_node()
        rclpy.shutdown(context=self.context)


def start_world(log: Path) -> NodeProcess:
    world = NodeProcess(
        "sim_world_node",
        [
            "-p",
            "autostart:=activate",
            "-p",
            "publish_rate_hz:=2.0",
            "-p",
            "stats_period_s:=0.0",
            "-p",
            f"attempt_log_path:={log}",
        ],
    )
    world.wait_for_log("active: motion allowed", TIMEOUT_S)
    return world


def stopped_height(message: str) -> float:
    text = message.split("the arm stopped at (")[1].split(")", maxsplit=1)[0]
    return float(text.split(",")[2])


def cancel_run(client: Client, log: Path, delay_s: float) -> dict:
    world = start_world(log)
    try:
        action, handle = client.pick_until_descending(delay_s)
        start = time.monotonic()
        cancel = handle.cancel_goal_async()
        result = handle.get_result_async()
        client.spin_until(result.done)
        elapsed = time.monotonic() - start
        client.spin_until(cancel.done, 5.0)
        status, message = result.result().status, result.result().result.message
        height = stopped_height(message) if "the arm stopped at (" in message else float("nan")
        action.destroy()
    finally:
        world.stop()
    stopped_short = GRASP_POSITION[2] + 0.005 < height
    ok = status == GoalStatus.STATUS_CANCELED and elapsed <= GOAL_S and stopped_short
    return {"time_s": elapsed, "ok": ok, "detail": f"stopped at z {height:.3f} m"}


def sigint_run(client: Client, log: Path, delay_s: float) -> dict:
    world = start_world(log)
    action, _handle = client.pick_until_descending(delay_s)
    world.process.send_signal(signal.SIGINT)
    start = time.monotonic()
    try:
        code = world.process.wait(30.0)
    except subprocess.TimeoutExpired:
        world.process.kill()
        code = world.process.wait(10.0)
    elapsed = time.monotonic() - start
    world.reader.join(5.0)
    action.destroy()
    output = world.output()
    clean = "Traceback" not in output and "[ERROR]" not in output
    attempts = read_attempts(log)
    cancelled = bool(attempts) and attempts[-1]["outcome"] == "cancelled"
    ok = code == 0 and elapsed <= GOAL_S and clean and cancelled
    height = stopped_height(attempts[-1]["message"]) if cancelled else float("nan")
    detail = (
        f"code {code}, clean output {clean}, attempt cancelled {cancelled}, arm stopped at z "
        f"{height:.3f} m"
    )
    return {"time_s": elapsed, "ok": ok, "detail": detail}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20, help="runs per case")
    parser.add_argument("--load", choices=("both", "idle", "busy"), default="both")
    parser.add_argument("--delay", type=float, default=0.5, help="s into the descent")
    options = parser.parse_args()
    if options.runs < 1:
        parser.error("--runs must be at least 1")
    if not 0 <= options.delay <= 1.5:
        parser.error("--delay must be in [0, 1.5] s (the descent takes 2 s)")
    use_private_ros_domain()
    loads = {"both": (False, True), "idle": (False,), "busy": (True,)}[options.load]
    client = Client()
    summary = []
    try:
        with tempfile.TemporaryDirectory() as folder:
            for busy in loads:
                for name, run in (("cancel", cancel_run), ("sigint", sigint_run)):
                    label = f"{name} mid-pick, {'CPU burners on every core' if busy else 'idle'}"
                    results = []
                    with cpu_burners() if busy else contextlib.nullcontext():
                        for index in range(options.runs):
                            log = Path(folder) / f"{name}-{busy}-{index}.jsonl"
                            outcome = run(client, log, options.delay)
                            results.append(outcome)
                            print(
                                f"{label} #{index + 1}: {outcome['time_s']:.2f} s, "
                                f"{'ok' if outcome['ok'] else 'NOT OK'} ({outcome['detail']})",
                                flush=True,
                            )
                    times = [r["time_s"] for r in results]
                    summary.append(
                        f"{label}: median {statistics.median(times):.2f} s, max "
                        f"{max(times):.2f} s, goal met in {sum(r['ok'] for r in results)} of "
                        f"{len(results)} runs"
                    )
    finally:
        client.close()
    print("\n".join(summary))


if __name__ == "__main__":
    main()
