"""Support for tests that run ROS 2 nodes in separate processes over real DDS.

Every test session gets its own ROS domain on the loopback interface, so that parallel runs and
other ROS programs on the machine never see each other's topics.
"""

from __future__ import annotations

import importlib.util
import math
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from copy import deepcopy
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from gqstn_ros.nodes.shutdown import stopped_with_parent
from gqstn_ros.nodes.topics import ASK_AGAIN_AFTER_S

TEST_DIR = Path(__file__).resolve().parent
REPO_ROOT = TEST_DIR.parent
READY_LINE = "READY"


def isolate_ros_domain() -> None:
    """Put this process (and the peers it starts) on a private DDS domain, loopback only, with
    the Fast DDS profile that the launch file gives the nodes (`node_graph.node_environment`)."""
    from gqstn_ros.node_graph import (
        REPO_CONFIG_DIR,
        GraphArguments,
        claim_private_domain,
        node_environment,
    )

    if "GQSTN_TEST_DOMAIN_SET" not in os.environ:
        # A domain no other test run, benchmark or bench of this machine uses meanwhile.
        os.environ["ROS_DOMAIN_ID"] = str(claim_private_domain())
        os.environ["GQSTN_TEST_DOMAIN_SET"] = "1"
    os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
    os.environ.setdefault("RMW_IMPLEMENTATION", "rmw_fastrtps_cpp")

    os.environ.update(node_environment(GraphArguments(), REPO_CONFIG_DIR, os.environ))


def peer_environment() -> dict[str, str]:
    env = dict(os.environ)
    paths = [str(REPO_ROOT / "src"), str(TEST_DIR)]
    if env.get("PYTHONPATH"):
        paths.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(paths)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def run_program(
    command: list[str], timeout_s: float, logs: Path | None = None
) -> subprocess.CompletedProcess:
    """`command` run to its end, output captured, in the peers' environment from the
    repository root; it (and so the nodes it starts) stops when this process dies.

    Past `timeout_s` it gets SIGINT (a benchmark then stops its own nodes), SIGKILL 15 s
    later, and the test fails with its output and the last lines of each log in `logs`."""
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
        env=peer_environment(),
        preexec_fn=stopped_with_parent(),  # noqa: PLW1509 (takes no lock)
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGINT)
        try:
            stdout, stderr = process.communicate(timeout=15.0)
        except subprocess.TimeoutExpired:
            process.kill()
            stdout, stderr = process.communicate()
        tails = "".join(
            f"\n--- {path.name} (last lines) ---\n" + "\n".join(path.read_text().splitlines()[-40:])
            for path in sorted(logs.glob("*.log") if logs is not None and logs.is_dir() else [])
        )
        raise AssertionError(
            f"{' '.join(command)} did not end within {timeout_s:g} s (exit {process.returncode} "
            f"after SIGINT)\n{stdout}{stderr}{tails}"
        ) from None
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


class PeerProcess:
    """A Python program started in its own process that prints READY once it serves.

    A thread collects its output (stdout and stderr) so that a failure can show it.
    """

    def __init__(self, args: list[str], name: str) -> None:
        self.name = name
        self.lines: list[str] = []
        self.ready = threading.Event()
        self.process = subprocess.Popen(
            [sys.executable, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=peer_environment(),
            preexec_fn=stopped_with_parent(),  # noqa: PLW1509 (takes no lock)
        )
        self.reader = threading.Thread(target=self._collect_output, daemon=True)
        self.reader.start()

    def _collect_output(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)
            if line.strip() == READY_LINE:
                self.ready.set()

    def output(self) -> str:
        return "".join(self.lines)

    def wait_ready(self, timeout_s: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_s
        while not self.ready.wait(0.05):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"peer {self.name} did not become ready:\n{self.output()}")

    def is_running(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout_s: float = 10.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # rclpy shuts down cleanly
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout_s)
        self.reader.join(timeout_s)
        return self.process.returncode


@contextmanager
def running_peer(script: str, *args: str, name: str | None = None) -> Iterator[PeerProcess]:
    """Start test/peers/<script> in its own process, wait for READY, stop it afterwards."""
    peer = PeerProcess([str(TEST_DIR / "peers" / script), *args], name or script)
    try:
        peer.wait_ready()
        yield peer
    finally:
        peer.stop()


def spin_until(executor: Any, condition: Any, timeout_s: float) -> bool:
    """Spin `executor` until `condition()` is true or the timeout passes; returns condition()."""
    deadline = time.monotonic() + timeout_s
    while not condition() and time.monotonic() < deadline:
        executor.spin_once(timeout_sec=0.05)
    return bool(condition())


def send_goal(executor: Any, client: Any, goal: Any, timeout_s: float, **options: Any) -> Any:
    """`client`'s goal handle for `goal` (`gqstn_ros.tools.action_goals.send_goal`: a reply
    lost to discovery is asked for again, the goal still runs once), spinning `executor`."""
    from gqstn_ros.tools.action_goals import send_goal as send

    return send(
        lambda condition, seconds: spin_until(executor, condition, seconds),
        client,
        goal,
        timeout_s,
        **options,
    )


# A request whose effect does not depend on how often it arrives is sent again after this long
# without a reply (a reply can be lost while DDS matches a new client; see the constant).
RESEND_AFTER_S = ASK_AGAIN_AFTER_S


def call_service(
    executor: Any, client: Any, request: Any, timeout_s: float, *, repeatable: bool
) -> Any:
    """Send `request` on `client`, spin `executor` until a reply comes, return it.

    `repeatable`: the request is a query, a plan or a value to set (sending it twice changes
    nothing), so it is sent once more after RESEND_AFTER_S without a reply (once only: more
    copies of a slow plan would fill the node's admission and be refused "busy:"); the first
    reply to either copy is returned. An action with an effect (a transition, a pick) is sent
    once.
    AssertionError (naming the service) when no reply comes within `timeout_s`.
    """
    started = time.monotonic()
    futures = [client.call_async(request)]
    while time.monotonic() - started < timeout_s:
        executor.spin_once(timeout_sec=0.05)
        for future in futures:
            if future.done():
                for other in futures:
                    if other is not future and not other.done():
                        client.remove_pending_request(other)
                return future.result()
        if repeatable and len(futures) == 1 and time.monotonic() - started >= RESEND_AFTER_S:
            futures.append(client.call_async(request))
    raise AssertionError(f"no reply from {client.srv_name} within {timeout_s} s")


# --- a deterministic grasp computed from a request, on both sides of a DDS round trip ----------


def grasp_from_depth_request(depth_msg: Any, camera_info: Any, planner: str) -> Any:
    """A Grasp whose every field is a function of the request, so both sides can compute it.

    The grasp sits at the closest valid pixel of the depth image, its thumbnail is the 32x32
    window there, and the other fields are derived from the image and the intrinsics.
    """
    from gqstn_msgs.msg import Grasp

    from gqstn_ros.depth_image import camera_info_to_intrinsics, depth_to_metres, metres_to_image

    depth = depth_to_metres(depth_msg)
    intrinsics = camera_info_to_intrinsics(camera_info)
    filled = np.where(np.isnan(depth), np.inf, depth)
    row, col = np.unravel_index(int(np.argmin(filled)), depth.shape)
    z = float(depth[row, col])
    point = intrinsics.deproject(np.array([col, row], dtype=np.float64), z)
    angle = math.atan2(float(row) - intrinsics.cy, float(col) - intrinsics.cx + 1.0) / 2.0
    grasp = Grasp()
    grasp.header = deepcopy(depth_msg.header)
    grasp.pose.position.x, grasp.pose.position.y, grasp.pose.position.z = (float(v) for v in point)
    grasp.pose.orientation.z = math.sin(angle / 2.0)
    grasp.pose.orientation.w = math.cos(angle / 2.0)
    grasp.width = 0.05
    grasp.depth = z + 0.01
    grasp.q_value = float(np.clip(np.nanmean(depth), 0.0, 1.0))
    grasp.robust = grasp.q_value >= 0.5
    grasp.center_px = [float(col), float(row)]
    grasp.angle = angle
    grasp.width_px = grasp.width / intrinsics.metres_per_pixel(z)
    grasp.planner = planner or "gqstn"
    grasp.planning_time = float(depth_msg.header.stamp.nanosec) * 1e-9
    top = int(np.clip(row - 16, 0, depth.shape[0] - 32))
    left = int(np.clip(col - 16, 0, depth.shape[1] - 32))
    grasp.thumbnail = metres_to_image(depth[top : top + 32, left : left + 32], "32FC1")
    grasp.thumbnail.header = deepcopy(depth_msg.header)
    return grasp


def message_differences(expected: Any, actual: Any) -> list[str]:
    """Every field (recursively) where two ROS messages differ; empty when they are equal.

    `expected` is first passed through serialization so that it holds exactly what the wire can
    carry (float32 fields rounded). (Serialized bytes are not compared: CDR alignment padding
    is uninitialized memory.)
    """
    from rclpy.serialization import deserialize_message, serialize_message

    wire_expected = deserialize_message(serialize_message(expected), type(expected))
    return _field_differences(wire_expected, actual, "")


def _field_differences(expected: Any, actual: Any, path: str) -> list[str]:
    if hasattr(expected, "get_fields_and_field_types"):
        differences: list[str] = []
        for field in expected.get_fields_and_field_types():
            differences += _field_differences(
                getattr(expected, field), getattr(actual, field), f"{path}.{field}"
            )
        return differences
    is_message_list = isinstance(expected, (list, tuple)) and bool(expected)
    if is_message_list and hasattr(expected[0], "get_fields_and_field_types"):
        if len(expected) != len(actual):
            return [f"{path}: length {len(expected)} != {len(actual)}"]
        differences = []
        for index, (a, b) in enumerate(zip(expected, actual, strict=True)):
            differences += _field_differences(a, b, f"{path}[{index}]")
        return differences
    a, b = np.asarray(expected), np.asarray(actual)
    if a.shape != b.shape or not np.array_equal(a, b, equal_nan=a.dtype.kind == "f"):
        return [f"{path}: {expected!r:.80} != {actual!r:.80}"]
    return []


def synthetic_depth_request(
    seed: int, stamp_nanosec: int = 0, width: int = 640, height: int = 480
) -> tuple[Any, Any]:
    """A Kinect-sized 32FC1 frame (table at 0.7 m, a box on it, some holes) and its CameraInfo."""
    from std_msgs.msg import Header

    from gqstn_ros.camera_model import KINECT_V1
    from gqstn_ros.depth_image import intrinsics_to_camera_info, metres_to_image

    rng = np.random.default_rng(seed)
    depth = np.full((height, width), 0.7, dtype=np.float32)
    depth += rng.normal(0.0, 0.001, size=depth.shape).astype(np.float32)
    top, left = rng.integers(100, 300), rng.integers(100, 450)
    depth[top : top + 60, left : left + 90] = 0.62 - 0.01 * rng.random()
    holes = rng.random(depth.shape) < 0.01
    depth[holes] = 0.0
    header = Header(frame_id="camera_depth_optical_frame")
    header.stamp.sec, header.stamp.nanosec = 1700000000 + seed, stamp_nanosec
    intrinsics = KINECT_V1.scaled(width, height)
    return metres_to_image(depth, "32FC1", header), intrinsics_to_camera_info(intrinsics, header)


EXECUTION_STAGES = (
    "detecting",
    "approaching",
    "descending",
    "closing",
    "lifting",
    "checking",
    "retreating",
)


def executed_grasp(grasp: Any) -> Any:
    """The grasp an execution peer reports back: re-expressed in base_link, shifted 1 m up."""

    executed = deepcopy(grasp)
    executed.header.frame_id = "base_link"
    executed.pose.position.z = grasp.pose.position.z + 1.0
    return executed


def load_benchmark_script(name: str) -> ModuleType:
    """benchmarks/<name>.py as a module (the scripts are not a package), for testing its parts."""
    spec = importlib.util.spec_from_file_location(name, REPO_ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
