"""Shared parts of the ROS benchmarks: a private DDS domain, one of our nodes in its own process,
and rendered Kinect-like depth frames. Imported by the benchmark scripts next to it (run as
`python benchmarks/<script>.py`, which puts this folder on sys.path)."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

from gqstn_ros.node_graph import (
    FASTDDS_PROFILE_BUNDLED,
    FASTDDS_PROFILE_NONE,
    FASTDDS_PROFILE_VARIABLES,
    REPO_CONFIG_DIR,
    GraphArguments,
    claim_private_domain,
    node_environment,
    process_module,
)
from gqstn_ros.nodes.shutdown import stop_signals_held, stopped_with_parent

REPO_ROOT = Path(__file__).resolve().parents[1]


# The benchmarks' --fastdds-profile choices: the nodes' profile as launched, or Fast DDS's own.
FASTDDS_PROFILE_CHOICES = (FASTDDS_PROFILE_BUNDLED, FASTDDS_PROFILE_NONE)


def use_private_ros_domain(fastdds_profile: str = FASTDDS_PROFILE_BUNDLED) -> None:
    """A DDS domain of this run only, on loopback: no other ROS program sees the benchmark.

    Call before rclpy is initialised; the node processes inherit the environment. The domain is
    the environment's ROS_DOMAIN_ID where set, else one this process claims
    (`node_graph.claim_private_domain`), as the tests and the main benchmark do.
    `fastdds_profile`: 'bundled' runs this process and the nodes with the Fast DDS profile the
    launch file gives the nodes (config/fastdds_large_frames.xml), 'none' with Fast DDS's
    defaults (any profile named by the environment is dropped), for comparison.
    """
    if fastdds_profile not in FASTDDS_PROFILE_CHOICES:
        raise ValueError(f"fastdds_profile must be one of {FASTDDS_PROFILE_CHOICES}")
    if not os.environ.get("ROS_DOMAIN_ID"):
        os.environ["ROS_DOMAIN_ID"] = str(claim_private_domain())
    os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
    os.environ.setdefault("RMW_IMPLEMENTATION", "rmw_fastrtps_cpp")
    for name in FASTDDS_PROFILE_VARIABLES:
        os.environ.pop(name, None)
    if fastdds_profile == FASTDDS_PROFILE_BUNDLED:
        os.environ.update(node_environment(GraphArguments(), REPO_CONFIG_DIR, os.environ))


def kinect_frames(count: int, seed: int) -> list[np.ndarray]:
    """`count` (480, 640) float32 depth frames in metres with Kinect noise and holes (0).

    Each is a settled MuJoCo table scene of 5 random objects seen by the simulated Kinect
    (`sim.camera.DepthCamera`, `sim.sensor_models.apply_sensor_noise`: edge dropout, projector
    shadows, random holes); a scene whose objects did not settle on the table is redrawn.
    """
    from gqstn_ros.sim.camera import DepthCamera  # noqa: PLC0415 (MuJoCo only when asked)
    from gqstn_ros.sim.scene import Scene  # noqa: PLC0415
    from gqstn_ros.sim.sensor_models import apply_sensor_noise  # noqa: PLC0415
    from gqstn_ros.sim.world_config import WorldConfig  # noqa: PLC0415

    logging.getLogger("gqstn_ros.sim.scene").setLevel(logging.ERROR)  # unsettled: redrawn
    config = WorldConfig(num_objects=5)
    frames: list[np.ndarray] = []
    scene_seed = seed
    while len(frames) < count:
        scene = Scene.build_random(config, scene_seed)
        scene_seed += 1
        if not scene.settle().ok:
            continue
        with DepthCamera(scene) as camera:
            clean = camera.render()
        frames.append(apply_sensor_noise(clean.depth, clean.intrinsics, config.noise, scene_seed))
    return frames


class NodeProcess:
    """`python -m gqstn_ros.nodes.<module> --ros-args ...` in its own process, with
    repository's src/ on PYTHONPATH; a thread collects its log (stdout and stderr). The node
    stops when this process dies, even when it is killed."""

    def __init__(
        self, module: str, ros_args: list[str], extra_env: dict[str, str] | None = None
    ) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            [str(REPO_ROOT / "src"), *filter(None, [env.get("PYTHONPATH")])]
        )
        env["PYTHONUNBUFFERED"] = "1"
        env.update(extra_env or {})
        self.name = module
        self.lines: list[str] = []
        with stop_signals_held():  # as run_graph starts a node
            self.process = subprocess.Popen(
                [sys.executable, "-m", process_module(module), "--ros-args", *ros_args],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                env=env,
                preexec_fn=stopped_with_parent(),  # noqa: PLW1509 (takes no lock)
            )
        self.reader = threading.Thread(target=self._collect, daemon=True)
        self.reader.start()

    @property
    def pid(self) -> int:
        return self.process.pid

    def _collect(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)

    def output(self) -> str:
        return "".join(self.lines)

    def wait_for_log(self, text: str, timeout_s: float) -> str:
        """Wait until `text` is in the node's log; returns the log. Raises RuntimeError with
        the log when the node exits or the timeout passes first."""
        deadline = time.monotonic() + timeout_s
        while text not in self.output():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{self.name} never logged {text!r}:\n{self.output()}")
            time.sleep(0.05)
        return self.output()

    def cpu_seconds(self) -> float:
        """User + system CPU time of the node process so far (all its threads), seconds."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        utime, stime = int(fields[11]), int(fields[12])  # fields 14 and 15 of proc(5)
        return (utime + stime) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        """SIGINT (rclpy shuts down cleanly), then kill after 10 s."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(10.0)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10.0)
        self.reader.join(5.0)
