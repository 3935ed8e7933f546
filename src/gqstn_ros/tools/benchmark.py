"""The simulated physical benchmark (the paper's Table II) through the real node graph.

    python -m gqstn_ros.tools.benchmark [--objects all|NAME ...] [--trials 5]
        [--methods gqstn multigrasp prop_gqcnn] [--quick] [--output runs/benchmark]
        [--models models] [--seed 0]

Brings up the bench's node graph in simulation (`gqstn_ros.node_graph`, one process per node
as `gqstn_ros.tools.run_graph` starts them: sim_world_node with the executor, depth_node,
inference_node, fallback_node) and acts as a ROS 2 client of it. For every object x trial x
method:

1. set `object_name` / `seed` on `sim_world` through its parameter service and call
   `/sim/reset_scene` (the object is dropped at a random pose near the table centre and
   settled; the seed depends on object and trial only, so every method meets the same scene);
2. read the ground truth (`/sim/object_state`: the object's true pose, the camera's pose);
3. wait for a depth frame taken after the reset on `/depth/inpainted` (the simulated Kinect's
   frame through the depth node);
4. call `/detect_grasp` with that frame (planner = the method, fallback disabled so each method
   is measured alone; sending the frame makes the planner see exactly the frame kept for
   replay, whatever the inference node's own subscription received) and score the grasp's
   physical robustness independently: the robust Ferrari-Canny label
   (`grasping.robustness.GraspQualityEvaluator`) on the object's true mesh and pose;
5. execute it with `/execute_grasp` (even when not robust), then `/sim/hold` lets 1 s pass with
   the arm still: success = the object is at least 10 cm above where it settled during the
   whole second.

Every fault (no model, planner error, unreachable grasp, gripper closing on nothing, object
falling off, simulation diverging, a node dying, a timeout) is a failed attempt with its reason,
and the benchmark goes on. Table II (per method: success rate, robust prediction rate, mean and
median detection time, physical robustness; the detection time ratio Prop+GQ-CNN / GQ-STN) is
printed and saved with every attempt as JSON and CSV, with a bar plot; each attempt's depth
frames, grasp and ground truth are kept in attempts/*.npz so a failure can be replayed
(`--replay FILE.npz` re-scores a kept attempt without ROS).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import signal
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from gqstn_ros.detection import PLANNER_NAMES
from gqstn_ros.planner_registry import SYMMETRIC_VIEW_COUNTS
from gqstn_ros.sim.benchmark_objects import BENCHMARK_OBJECT_NAMES

DEFAULT_METHODS = ("gqstn", "multigrasp", "prop_gqcnn")
METHOD_LABELS = {
    "gqstn": "GQ-STN",
    "multigrasp": "MultiGrasp",
    "directgrasp": "DirectGrasp",
    "prop_gqcnn": "Prop+GQ-CNN",
}
# The paper's Table II, for reference beside the measured one.
PAPER_TABLE_II = {
    "multigrasp": (95.0, 21.7, 0.014),
    "gqstn": (96.7, 61.7, 0.024),
    "prop_gqcnn": (98.3, 48.3, 1.5),
}
QUICK_TRIALS = 1  # --quick: every object once per method (36 attempts)
SIM_WORLD_NODE = "sim_world"
RESET_SERVICE = "/sim/reset_scene"
OBJECT_STATE_SERVICE = "/sim/object_state"
HOLD_SERVICE = "/sim/hold"
DETECT_SERVICE = "/detect_grasp"
EXECUTE_ACTION = "/execute_grasp"
INPAINTED_TOPIC = "/depth/inpainted"
RAW_DEPTH_TOPIC = "/camera/depth/image_raw"
FRAMES_KEPT = 8  # recent depth frames kept to find the one a grasp was planned on
STOP_TIMEOUT_S = 10.0


# ---------------------------------------------------------------------------------- configuration
@dataclass(frozen=True)
class BenchmarkConfig:
    """One benchmark run. Times in seconds, lengths in metres."""

    objects: tuple[str, ...] = BENCHMARK_OBJECT_NAMES
    trials: int = 5
    methods: tuple[str, ...] = DEFAULT_METHODS
    output_dir: Path = Path("runs/benchmark")
    models_dir: Path = Path("models")
    seed: int = 0
    model_backend: str = "torch"
    # GQ-STN and MultiGrasp run on this many symmetric copies of the view (1: the paper's pass).
    symmetric_views: int = 1
    # A GQ-CNN checkpoint judging GQ-STN's and MultiGrasp's grasps ('' = their own heads).
    judge_model: str = ""
    # The simulated Kinect publishes this many frames a second during the benchmark: each frame
    # is rendered, noised and inpainted, and the 30 Hz of the real sensor would take CPU from
    # the planners being timed on a small machine. Detection uses the latest frame either way.
    camera_rate_hz: float = 5.0
    real_time_factor: float = 0.0  # 0: the simulated arm moves as fast as the physics computes
    lift_threshold: float = 0.10  # success: lifted at least this high ...
    hold_duration_s: float = 1.0  # ... during this long
    startup_timeout_s: float = 180.0
    service_timeout_s: float = 60.0
    frame_timeout_s: float = 20.0
    detect_timeout_s: float = 120.0  # Prop+GQ-CNN takes seconds on a CPU
    execute_timeout_s: float = 180.0
    show_progress: bool = True

    def __post_init__(self) -> None:
        if not self.objects:
            raise ValueError("objects: name at least one benchmark object")
        unknown = [name for name in self.objects if name not in BENCHMARK_OBJECT_NAMES]
        if unknown:
            raise ValueError(
                f"objects: unknown benchmark object(s) {', '.join(unknown)}; expected "
                f"'all' or some of {', '.join(BENCHMARK_OBJECT_NAMES)}"
            )
        if not self.methods:
            raise ValueError("methods: name at least one method")
        unknown = [name for name in self.methods if name not in PLANNER_NAMES]
        if unknown:
            raise ValueError(
                f"methods: unknown method(s) {', '.join(unknown)}; expected some of "
                f"{', '.join(PLANNER_NAMES)}"
            )
        if len(set(self.objects)) != len(self.objects) or len(set(self.methods)) != len(
            self.methods
        ):
            raise ValueError("objects and methods must not repeat a name")
        if self.trials < 1:
            raise ValueError(f"trials must be at least 1, got {self.trials}")
        if not 0 <= self.seed < 2**20:
            raise ValueError(f"seed must be in [0, 2**20), got {self.seed}")
        if self.model_backend not in ("torch", "onnxruntime"):
            raise ValueError(
                f"model_backend must be torch or onnxruntime, got {self.model_backend}"
            )
        if self.symmetric_views not in SYMMETRIC_VIEW_COUNTS:
            raise ValueError(
                f"symmetric_views must be one of {', '.join(map(str, SYMMETRIC_VIEW_COUNTS))}, "
                f"got {self.symmetric_views}"
            )
        if not 0.5 <= self.camera_rate_hz <= 60.0:
            raise ValueError(f"camera_rate_hz must be in [0.5, 60], got {self.camera_rate_hz}")
        for name in (
            "real_time_factor",
            "lift_threshold",
            "hold_duration_s",
        ):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a non-negative number, got {value}")
        for name in (
            "startup_timeout_s",
            "service_timeout_s",
            "frame_timeout_s",
            "detect_timeout_s",
            "execute_timeout_s",
        ):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive number, got {value}")

    @property
    def attempt_count(self) -> int:
        return len(self.objects) * self.trials * len(self.methods)


def scene_seed(base_seed: int, object_index: int, trial: int) -> int:
    """The drop seed of one object and trial: every method meets the same scene."""
    return base_seed * 10_000 + object_index * 100 + trial


# ---------------------------------------------------------------------------------- records
@dataclass
class AttemptRecord:
    """One grasp attempt. Times in seconds, lengths in metres; NaN where not reached."""

    object_name: str
    trial: int
    method: str
    seed: int
    success: bool = False
    reason: str = ""  # "" on success; else "<category>: <detail>"
    category: str = ""  # success | no model | planner error | unreachable | ...
    stage: str = "reset"  # the last stage reached
    detected: bool = False
    detection_time: float = math.nan  # planning_time of the Grasp (the planner's own clock)
    detection_round_trip: float = math.nan  # /detect_grasp call as seen by the client
    q_value: float = math.nan
    robust_prediction: bool = False  # the planner's own robust flag
    physical_robust_quality: float = math.nan  # robust Ferrari-Canny on the true mesh and pose
    physical_robust: bool = False
    grasp_center_px_u: float = math.nan
    grasp_center_px_v: float = math.nan
    grasp_angle: float = math.nan
    grasp_width: float = math.nan
    grasp_depth: float = math.nan
    executor_success: bool = False
    executor_message: str = ""
    lifted_height_min: float = math.nan  # lowest lift over the hold (ground truth)
    object_on_table: bool = True
    wall_time: float = 0.0
    replay_file: str = ""

    def fail(self, category: str, detail: str) -> None:
        self.success = False
        self.category = category
        self.reason = f"{category}: {detail}" if detail else category


class AttemptFailure(Exception):  # noqa: N818 (an attempt's outcome, not a program error)
    """Ends an attempt as failed: `category` (e.g. "no model") and a detail."""

    def __init__(self, category: str, detail: str) -> None:
        super().__init__(f"{category}: {detail}")
        self.category = category
        self.detail = detail


def classify_detection_failure(message: str) -> str:
    """The category of a /detect_grasp refusal."""
    text = message.lower()
    if "no model" in text:
        return "no model"
    if "stale" in text or "no depth frame" in text:
        return "no depth frame"
    return "planner error"


def classify_execution_failure(message: str) -> str:
    """The category of an /execute_grasp failure."""
    text = message.lower()
    if "unreachable" in text or "plan refused" in text:
        return "unreachable"
    if "diverged" in text:
        return "sim diverged"
    if "protective stop" in text:
        return "collision"
    if "nothing held" in text:
        return "closed on nothing"
    if "not connected" in text:
        return "hardware not connected"
    return "execution failed"


# ---------------------------------------------------------------------------------- summary
@dataclass(frozen=True)
class MethodSummary:
    """Table II's row of one method (rates in [0, 1], times in seconds)."""

    method: str
    attempts: int
    successes: int
    success_rate: float
    detections: int
    robust_prediction_rate: float  # robust flag set, over all attempts
    detection_time_mean: float  # over detected grasps
    detection_time_median: float
    round_trip_mean: float
    physical_robust_rate: float  # physically robust grasps, over all attempts
    physical_quality_mean: float  # over detected grasps
    failures: dict[str, int]


def summarize(records: Sequence[AttemptRecord], methods: Sequence[str]) -> list[MethodSummary]:
    """Per-method Table II rows of `records`."""
    rows = []
    for method in methods:
        mine = [r for r in records if r.method == method]
        detected = [r for r in mine if r.detected]
        count = len(mine)

        def rate(values: list[bool], total: int) -> float:
            return sum(values) / total if total else math.nan

        def stat(values: list[float], reduce: Callable[[np.ndarray], Any]) -> float:
            finite = np.asarray([v for v in values if math.isfinite(v)], dtype=np.float64)
            return float(reduce(finite)) if finite.size else math.nan

        failures: dict[str, int] = {}
        for record in mine:
            if not record.success:
                failures[record.category] = failures.get(record.category, 0) + 1
        rows.append(
            MethodSummary(
                method=method,
                attempts=count,
                successes=sum(r.success for r in mine),
                success_rate=rate([r.success for r in mine], count),
                detections=len(detected),
                robust_prediction_rate=rate([r.robust_prediction for r in mine], count),
                detection_time_mean=stat([r.detection_time for r in detected], np.mean),
                detection_time_median=stat([r.detection_time for r in detected], np.median),
                round_trip_mean=stat([r.detection_round_trip for r in detected], np.mean),
                physical_robust_rate=rate([r.physical_robust for r in mine], count),
                physical_quality_mean=stat([r.physical_robust_quality for r in detected], np.mean),
                failures=dict(sorted(failures.items())),
            )
        )
    return rows


def detection_time_ratio(rows: Sequence[MethodSummary]) -> float:
    """Mean detection time of Prop+GQ-CNN over GQ-STN's in the same run (NaN if either lacks)."""
    by_method = {row.method: row for row in rows}
    if "prop_gqcnn" not in by_method or "gqstn" not in by_method:
        return math.nan
    slow, fast = by_method["prop_gqcnn"].detection_time_mean, by_method["gqstn"].detection_time_mean
    if not (math.isfinite(slow) and math.isfinite(fast)) or fast <= 0:
        return math.nan
    return slow / fast


def _percent(value: float) -> str:
    return "   n/a" if not math.isfinite(value) else f"{100 * value:5.1f}%"


def _seconds(value: float) -> str:
    return "     n/a" if not math.isfinite(value) else f"{value:8.3f}"


def format_table(rows: Sequence[MethodSummary], ratio: float) -> str:
    """Table II as text, with the paper's numbers beside ours."""
    header = (
        f"{'Method':<12} {'Attempts':>8} {'Success':>8} {'Robust pred.':>12} "
        f"{'Detect mean':>11} {'median':>8} {'Phys. robust':>12}   paper (succ/robust/time)"
    )
    lines = ["TABLE II (simulated physical benchmark)", header, "-" * len(header)]
    for row in rows:
        paper = PAPER_TABLE_II.get(row.method)
        paper_text = f"{paper[0]:.1f}% / {paper[1]:.1f}% / {paper[2]:g} s" if paper else ""
        lines.append(
            f"{METHOD_LABELS.get(row.method, row.method):<12} {row.attempts:>8} "
            f"{_percent(row.success_rate):>8} {_percent(row.robust_prediction_rate):>12} "
            f"{_seconds(row.detection_time_mean):>9} s {_seconds(row.detection_time_median):>6} s "
            f"{_percent(row.physical_robust_rate):>12}   {paper_text}"
        )
    lines.append(
        "Detection time ratio Prop+GQ-CNN / GQ-STN (this run): "
        + (f"{ratio:.1f}x" if math.isfinite(ratio) else "n/a (needs both methods' detections)")
        + " (paper: ~60x)"
    )
    for row in rows:
        if row.failures:
            listed = ", ".join(f"{name} x{count}" for name, count in row.failures.items())
            lines.append(f"{METHOD_LABELS.get(row.method, row.method)} failures: {listed}")
    return "\n".join(lines)


def write_results(
    output_dir: Path,
    config: BenchmarkConfig,
    records: Sequence[AttemptRecord],
    timing: dict[str, float],
) -> dict[str, Path]:
    """results.json, attempts.csv, table_ii.txt and table_ii.png in `output_dir`."""
    output_dir.mkdir(parents=True, exist_ok=True)
    rows = summarize(records, config.methods)
    ratio = detection_time_ratio(rows)
    table = format_table(rows, ratio)
    if config.symmetric_views > 1:
        table += (
            f"\nGQ-STN and MultiGrasp ran on {config.symmetric_views} symmetric copies of each "
            "view (--symmetric-views), keeping the grasp GQ-CNN rated highest"
        )
    if config.judge_model:
        table += (
            f"\nGQ-STN's and MultiGrasp's grasps judged by {config.judge_model} (--judge-model)"
        )
    paths = {
        "json": output_dir / "results.json",
        "csv": output_dir / "attempts.csv",
        "table": output_dir / "table_ii.txt",
        "plot": output_dir / "table_ii.png",
    }
    config_dict = {
        f.name: (str(v) if isinstance(v, Path) else v)
        for f in fields(config)
        for v in [getattr(config, f.name)]
    }
    document = {
        "config": config_dict,
        "timing": timing,
        "summary": [asdict(row) for row in rows],
        "detection_time_ratio_prop_gqcnn_over_gqstn": ratio,
        "attempts": [asdict(record) for record in records],
    }
    paths["json"].write_text(json.dumps(_json_ready(document), indent=2) + "\n")
    with paths["csv"].open("w", newline="") as stream:
        names = [f.name for f in fields(AttemptRecord)]
        writer = csv.DictWriter(stream, fieldnames=names)
        writer.writeheader()
        for record in records:
            writer.writerow(asdict(record))
    paths["table"].write_text(table + "\n")
    plot_table(rows, paths["plot"])
    return paths


def _json_ready(value: Any) -> Any:
    """NaN and inf become null (strict JSON)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _json_ready(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(item) for item in value]
    return value


def plot_table(rows: Sequence[MethodSummary], path: Path) -> None:
    """Bar plot of Table II: rates (left) and detection time (right, log scale)."""
    import matplotlib  # noqa: PLC0415 (only the report needs it)

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    labels = [METHOD_LABELS.get(row.method, row.method) for row in rows]
    metrics = (
        ("success rate", [row.success_rate for row in rows]),
        ("robust prediction rate", [row.robust_prediction_rate for row in rows]),
        ("physically robust", [row.physical_robust_rate for row in rows]),
    )
    figure, (rates_axis, time_axis) = plt.subplots(1, 2, figsize=(11, 4))
    positions = np.arange(len(rows))
    width = 0.8 / len(metrics)
    for index, (name, values) in enumerate(metrics):
        heights = [100 * v if math.isfinite(v) else 0.0 for v in values]
        rates_axis.bar(positions + (index - 1) * width, heights, width, label=name)
    rates_axis.set_xticks(positions, labels)
    rates_axis.set_ylabel("%")
    rates_axis.set_ylim(0, 105)
    rates_axis.legend(loc="lower right", fontsize=8)
    rates_axis.set_title("Simulated physical benchmark")
    times = [row.detection_time_mean for row in rows]
    time_axis.bar(positions, [t if math.isfinite(t) else 0.0 for t in times], 0.5)
    time_axis.set_xticks(positions, labels)
    time_axis.set_ylabel("mean detection time (s)")
    if any(math.isfinite(t) and t > 0 for t in times):
        time_axis.set_yscale("log")
    time_axis.set_title("Grasp detection time")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


# ---------------------------------------------------------------------------------- node graph
def parameters_yaml(config: BenchmarkConfig, attempt_log: Path) -> str:
    """The benchmark's parameter overrides, keyed by node name (a ROS 2 params file)."""
    planners = list(dict.fromkeys(config.methods))
    models = json.dumps(str(config.models_dir.resolve()))
    return "\n".join(
        [
            "# Written by gqstn_ros.tools.benchmark: overrides for one benchmark run.",
            f"{SIM_WORLD_NODE}:",
            "  ros__parameters:",
            f"    publish_rate_hz: {config.camera_rate_hz}",
            f"    real_time_factor: {config.real_time_factor}",
            f"    hold_duration_s: {config.hold_duration_s}",
            "    stats_period_s: 0.0",
            # The benchmark resets before each attempt itself and judges the hold after it.
            "    reset_after_attempt: false",
            "executor_node:",
            "  ros__parameters:",
            f"    attempt_log_path: {json.dumps(str(attempt_log.resolve()))}",
            "inference_node:",
            "  ros__parameters:",
            f"    planners: {json.dumps(planners)}",
            f"    models_dir: {models}",
            "    allow_fallback: false",
            "    max_frame_age_s: 5.0",
            f"    symmetric_views: {config.symmetric_views}",
            f"    judge_model: {json.dumps(config.judge_model)}",
            "fallback_node:",
            "  ros__parameters:",
            f"    models_dir: {models}",
            "",
        ]
    )


class GraphProcesses:
    """The bench's node graph, one process per node, output to logs/<node>.log."""

    def __init__(self, config: BenchmarkConfig, params_file: Path, log_dir: Path) -> None:
        from gqstn_ros.node_graph import (  # noqa: PLC0415
            GraphArguments,
            default_config_dir,
            network_environment,
            node_environment,
            nodes_to_start,
        )
        from gqstn_ros.tools.run_graph import node_command  # noqa: PLC0415

        arguments = GraphArguments(
            use_sim=True,
            model_backend=config.model_backend,
            symmetric_views=config.symmetric_views,
            judge_model=config.judge_model,
            params_file=str(params_file),
        )
        config_dir = default_config_dir()
        self.specs = nodes_to_start(arguments)
        self.commands = [node_command(spec, config_dir) for spec in self.specs]
        self.extra_env = node_environment(arguments, config_dir, os.environ)
        # The benchmark's own client (created after this) joins the nodes' DDS domain and
        # discovery range.
        os.environ.update(network_environment(arguments, os.environ))
        self.log_dir = log_dir
        self.processes: dict[str, subprocess.Popen] = {}
        self._logs: list[TextIO] = []

    def start(self) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        # A node that crashes leaves its Python traceback in its log (faulthandler).
        environment = {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "PYTHONFAULTHANDLER": "1",
            "OMP_NUM_THREADS": "1",
            **self.extra_env,
        }
        for spec, command in zip(self.specs, self.commands, strict=True):
            log = (self.log_dir / f"{spec.label}.log").open("a")
            log.write(f"$ {' '.join(command)}\n")
            log.flush()
            self._logs.append(log)
            self.processes[spec.label] = subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=environment,
                start_new_session=True,  # Ctrl-C reaches the runner, which stops the nodes
            )

    def dead(self) -> dict[str, int]:
        """Nodes that exited, with their exit codes."""
        return {
            label: code
            for label, process in self.processes.items()
            if (code := process.poll()) is not None
        }

    def log_tail(self, label: str, lines: int = 15) -> str:
        path = self.log_dir / f"{label}.log"
        if not path.is_file():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> dict[str, int]:
        """SIGINT every node, wait, kill the ones that ignore it; their exit codes."""
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
        codes = {}
        deadline = time.monotonic() + STOP_TIMEOUT_S
        for label, process in self.processes.items():
            try:
                codes[label] = process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                codes[label] = process.wait(STOP_TIMEOUT_S)
        for log in self._logs:
            log.close()
        self._logs.clear()
        self.processes.clear()
        return codes


# ---------------------------------------------------------------------------------- ROS client
class BenchClient:
    """The benchmark's ROS 2 node: parameter, reset, ground-truth and detection clients, the
    execution action client and the depth subscriptions; spun on demand."""

    def __init__(self, config: BenchmarkConfig) -> None:
        import rclpy  # noqa: PLC0415 (the pure parts of this module need no ROS)
        from gqstn_msgs.action import ExecuteGrasp  # noqa: PLC0415
        from gqstn_msgs.srv import DetectGrasp  # noqa: PLC0415
        from rcl_interfaces.srv import SetParameters  # noqa: PLC0415
        from rclpy.action import ActionClient  # noqa: PLC0415
        from rclpy.executors import SingleThreadedExecutor  # noqa: PLC0415
        from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy  # noqa: PLC0415
        from sensor_msgs.msg import CameraInfo, Image  # noqa: PLC0415
        from std_srvs.srv import Trigger  # noqa: PLC0415

        self.config = config
        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.node = rclpy.create_node(f"gqstn_benchmark_{os.getpid()}", context=self.context)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self.parameters = self.node.create_client(
            SetParameters, f"/{SIM_WORLD_NODE}/set_parameters"
        )
        self.reset = self.node.create_client(Trigger, RESET_SERVICE)
        self.object_state = self.node.create_client(Trigger, OBJECT_STATE_SERVICE)
        self.hold = self.node.create_client(Trigger, HOLD_SERVICE)
        self.detect = self.node.create_client(DetectGrasp, DETECT_SERVICE)
        self.execute = ActionClient(self.node, ExecuteGrasp, EXECUTE_ACTION)
        self.inpainted: deque = deque(maxlen=FRAMES_KEPT)  # (stamp ns, Image)
        self.infos: deque = deque(maxlen=FRAMES_KEPT)
        self.raw: deque = deque(maxlen=FRAMES_KEPT)
        frames = QoSProfile(
            history=HistoryPolicy.KEEP_LAST, depth=2, reliability=ReliabilityPolicy.RELIABLE
        )
        self.node.create_subscription(
            Image, INPAINTED_TOPIC, lambda m: self.inpainted.append((_stamp_ns(m), m)), frames
        )
        self.node.create_subscription(
            CameraInfo,
            f"{INPAINTED_TOPIC}/camera_info",
            lambda m: self.infos.append((_stamp_ns(m), m)),
            frames,
        )
        self.node.create_subscription(
            Image, RAW_DEPTH_TOPIC, lambda m: self.raw.append((_stamp_ns(m), m)), frames
        )
        self._types = {
            "SetParameters": SetParameters,
            "Trigger": Trigger,
            "DetectGrasp": DetectGrasp,
            "ExecuteGrasp": ExecuteGrasp,
        }

    # --- spinning ------------------------------------------------------------------------------
    def spin_until(self, condition: Callable[[], Any], timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while not condition():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return bool(condition())
            self.executor.spin_once(timeout_sec=min(0.05, remaining))
        return True

    def ready(self) -> list[str]:
        """What the graph does not serve yet (empty when ready)."""
        missing = [
            client.srv_name
            for client in (self.parameters, self.reset, self.object_state, self.hold, self.detect)
            if not client.service_is_ready()
        ]
        if not self.execute.server_is_ready():
            missing.append(EXECUTE_ACTION)
        if not self.inpainted:
            missing.append(f"frames on {INPAINTED_TOPIC}")
        return missing

    def call(self, client: Any, request: Any, timeout_s: float, what: str) -> Any:
        """The response of `client` to `request`, or AttemptFailure("timeout", ...)."""
        if not self.spin_until(client.service_is_ready, timeout_s):
            raise AttemptFailure("timeout", f"{client.srv_name} not available ({what})")
        future = client.call_async(request)
        if not self.spin_until(future.done, timeout_s):
            client.remove_pending_request(future)
            raise AttemptFailure("timeout", f"{what}: no answer in {timeout_s:g} s")
        response = future.result()
        if response is None:
            raise AttemptFailure("timeout", f"{what}: the call failed")
        return response

    # --- benchmark steps -----------------------------------------------------------------------
    def set_scene(self, object_name: str, seed: int) -> None:
        from rcl_interfaces.msg import Parameter, ParameterType, ParameterValue  # noqa: PLC0415

        request = self._types["SetParameters"].Request(
            parameters=[
                Parameter(
                    name="object_name",
                    value=ParameterValue(
                        type=ParameterType.PARAMETER_STRING, string_value=object_name
                    ),
                ),
                Parameter(
                    name="seed",
                    value=ParameterValue(type=ParameterType.PARAMETER_INTEGER, integer_value=seed),
                ),
            ]
        )
        response = self.call(
            self.parameters, request, self.config.service_timeout_s, "setting the scene"
        )
        refused = [r.reason for r in response.results if not r.successful]
        if refused:
            raise AttemptFailure("reset failed", f"parameters refused: {'; '.join(refused)}")

    def trigger(self, client: Any, what: str) -> Any:
        return self.call(
            client, self._types["Trigger"].Request(), self.config.service_timeout_s, what
        )

    def ground_truth(self, client: Any, what: str) -> dict[str, Any]:
        response = self.trigger(client, what)
        try:
            state = json.loads(response.message)
        except json.JSONDecodeError:
            raise AttemptFailure("sim error", f"{what}: {response.message}") from None
        state["ok"] = bool(response.success)
        return state

    def frame_after(self, stamp_ns: int) -> tuple[int, Any, Any]:
        """The newest inpainted frame stamped after `stamp_ns` with its camera_info (waits)."""

        def newest() -> tuple[int, Any, Any] | None:
            for stamp, image in reversed(self.inpainted):
                if stamp <= stamp_ns:
                    return None
                info = self.kept(self.infos, stamp)
                if info is not None:
                    return stamp, image, info
            return None

        if not self.spin_until(lambda: newest() is not None, self.config.frame_timeout_s):
            raise AttemptFailure(
                "no depth frame",
                f"no {INPAINTED_TOPIC} frame (with camera_info) after the reset within "
                f"{self.config.frame_timeout_s:g} s",
            )
        found = newest()
        assert found is not None
        return found

    def kept(self, frames: deque, stamp_ns: int) -> Any:
        return next((message for stamp, message in frames if stamp == stamp_ns), None)

    def detect_grasp(self, method: str, image: Any, info: Any) -> tuple[Any, float]:
        """/detect_grasp on `image` (with its camera_info) by `method`, fallback disabled;
        the grasp and the call's round trip (s)."""
        request = self._types["DetectGrasp"].Request(
            depth=image, camera_info=info, planner=method, disable_fallback=True
        )
        started = time.perf_counter()
        response = self.call(
            self.detect, request, self.config.detect_timeout_s, f"{DETECT_SERVICE} ({method})"
        )
        round_trip = time.perf_counter() - started
        if not response.success:
            raise AttemptFailure(classify_detection_failure(response.message), response.message)
        return response.grasp, round_trip

    def execute_grasp(self, grasp: Any, on_stage: Callable[[str], None]) -> Any:
        ExecuteGrasp = self._types["ExecuteGrasp"]  # noqa: N806 (a message type)
        timeout = self.config.execute_timeout_s
        if not self.spin_until(self.execute.server_is_ready, self.config.service_timeout_s):
            raise AttemptFailure("timeout", f"{EXECUTE_ACTION} not available")
        sent = self.execute.send_goal_async(
            ExecuteGrasp.Goal(grasp=grasp, dry_run=False),
            feedback_callback=lambda feedback: on_stage(feedback.feedback.stage),
        )
        if not self.spin_until(sent.done, self.config.service_timeout_s):
            raise AttemptFailure("timeout", f"{EXECUTE_ACTION} goal not answered")
        handle = sent.result()
        if handle is None or not handle.accepted:
            raise AttemptFailure("execution failed", f"{EXECUTE_ACTION} refused the goal")
        done = handle.get_result_async()
        if not self.spin_until(done.done, timeout):
            handle.cancel_goal_async()
            raise AttemptFailure("timeout", f"{EXECUTE_ACTION} did not finish in {timeout:g} s")
        return done.result().result

    def close(self) -> None:
        import rclpy  # noqa: PLC0415

        self.executor.shutdown()
        self.execute.destroy()
        self.node.destroy_node()
        rclpy.try_shutdown(context=self.context)


def _stamp_ns(message: Any) -> int:
    return int(message.header.stamp.sec) * 1_000_000_000 + int(message.header.stamp.nanosec)


# ---------------------------------------------------------------------------------- robustness
class PhysicalRobustness:
    """The robust Ferrari-Canny label of detected grasps on the object's true mesh and pose."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, bytes], Any] = {}

    def evaluator(self, object_name: str, object_pose: np.ndarray) -> Any:
        from gqstn_ros.grasping.robustness import GraspQualityEvaluator  # noqa: PLC0415
        from gqstn_ros.sim.benchmark_objects import benchmark_object  # noqa: PLC0415

        key = (object_name, np.round(object_pose, 6).tobytes())
        if key not in self._cache:
            self._cache.clear()  # one scene at a time: the methods of a trial share it
            model = benchmark_object(object_name)
            self._cache[key] = GraspQualityEvaluator.from_object(
                model.vertices, model.faces, object_pose
            )
        return self._cache[key]

    def score(
        self,
        object_name: str,
        object_pose: np.ndarray,  # (4, 4) world <- object mesh frame
        camera_pose: np.ndarray,  # (4, 4) world <- camera optical frame
        grasp_in_camera: np.ndarray,  # (4, 4) grasp frame (x approach, y jaw axis) in camera
        width: float,
        seed: int,
    ) -> tuple[float, bool]:
        """(robust quality, robust label) of one grasp (see grasping.robustness)."""
        grasp_in_world = camera_pose @ grasp_in_camera
        centre = grasp_in_world[:3, 3][None]  # (1, 3)
        axis = grasp_in_world[:3, 1][None]  # (1, 3) the jaw closing axis
        if np.linalg.norm(axis[0, :2]) < 1e-6:
            return 0.0, False  # a vertical jaw axis is no top-down grasp
        result = self.evaluator(object_name, object_pose).evaluate(
            centre, axis, np.array([width]), rng=seed
        )
        return float(result.robust_quality[0]), bool(result.robust[0])


# ---------------------------------------------------------------------------------- the runner
class BenchmarkRunner:
    """Runs the attempts of `config` against a started graph (see the module docstring)."""

    def __init__(
        self,
        config: BenchmarkConfig,
        client: BenchClient,
        graph: GraphProcesses,
        log: Callable[[str], None] = print,
    ) -> None:
        self.config = config
        self.client = client
        self.graph = graph
        self.log = log
        self.robustness = PhysicalRobustness()
        self.attempts_dir = config.output_dir / "attempts"
        self.attempts_dir.mkdir(parents=True, exist_ok=True)

    def wait_ready(self) -> None:
        """Wait until the graph serves everything; RuntimeError (with the logs) if it does not."""
        deadline = time.monotonic() + self.config.startup_timeout_s
        missing = self.client.ready()
        while missing and time.monotonic() < deadline:
            dead = self.graph.dead()
            if dead:
                raise RuntimeError(self._dead_message(dead))
            self.client.spin_until(lambda: False, 0.5)
            missing = self.client.ready()
        if missing:
            raise RuntimeError(
                f"the node graph did not come up in {self.config.startup_timeout_s:g} s: "
                f"missing {', '.join(missing)} (logs in {self.graph.log_dir})"
            )

    def _dead_message(self, dead: dict[str, int]) -> str:
        parts = []
        for label, code in dead.items():
            parts.append(f"{label} exited with code {code}:\n{self.graph.log_tail(label)}")
        return "node(s) died: " + "\n".join(parts)

    def attempt(
        self, object_name: str, object_index: int, trial: int, method: str
    ) -> AttemptRecord:
        """One attempt, always recorded (a fault is a failure with its reason)."""
        seed = scene_seed(self.config.seed, object_index, trial)
        record = AttemptRecord(object_name=object_name, trial=trial, method=method, seed=seed)
        replay: dict[str, Any] = {}
        started = time.monotonic()
        try:
            self._run(record, replay)
            record.category = "success" if record.success else record.category
        except AttemptFailure as failure:
            record.fail(failure.category, failure.detail)
        except Exception as error:  # a runner bug must not end the benchmark
            record.fail("internal error", f"{type(error).__name__}: {error}")
        dead = self.graph.dead()
        if dead:
            record.fail("node died", ", ".join(f"{k} (code {v})" for k, v in dead.items()))
        record.wall_time = time.monotonic() - started
        record.replay_file = str(self._save_replay(record, replay))
        return record

    def _run(self, record: AttemptRecord, replay: dict[str, Any]) -> None:
        client, config = self.client, self.config
        # 1. The scene.
        client.set_scene(record.object_name, record.seed)
        reset = client.trigger(client.reset, RESET_SERVICE)
        reset_done_ns = time.time_ns()
        if not reset.success:
            category = "fell off" if "fell off" in reset.message.lower() else "reset failed"
            raise AttemptFailure(category, f"scene not ready: {reset.message}")
        state = client.ground_truth(client.object_state, OBJECT_STATE_SERVICE)
        if state.get("object_name") != record.object_name or state.get("seed") != record.seed:
            raise AttemptFailure("reset failed", f"the world holds {state.get('object_name')}")
        object_pose = np.asarray(state["object_pose"], dtype=np.float64)
        camera_pose = np.asarray(state["camera_pose"], dtype=np.float64)
        replay.update(object_pose=object_pose, camera_pose=camera_pose)
        if not state["on_table"]:
            raise AttemptFailure("fell off", "the object fell off the table when dropped")

        # 2. A frame taken after the reset (one frame period of margin) through the depth node,
        # sent with the request: the planner sees exactly the frame kept for replay, whatever
        # frames the inference node's own subscription received or lost.
        record.stage = "detecting"
        period_ns = int(1e9 / config.camera_rate_hz)
        stamp_ns, image, info = client.frame_after(reset_done_ns + period_ns)
        self._keep_frames(stamp_ns, image, info, replay)
        grasp, round_trip = client.detect_grasp(record.method, image, info)
        record.detected = True
        record.detection_time = float(grasp.planning_time)
        record.detection_round_trip = round_trip
        record.q_value = float(grasp.q_value)
        record.robust_prediction = bool(grasp.robust)
        record.grasp_center_px_u, record.grasp_center_px_v = (float(v) for v in grasp.center_px)
        record.grasp_angle = float(grasp.angle)
        record.grasp_width = float(grasp.width)
        record.grasp_depth = float(grasp.depth)
        from gqstn_ros.nodes.grasp_messages import pose_to_transform  # noqa: PLC0415

        grasp_in_camera = pose_to_transform(grasp.pose).matrix()
        replay.update(grasp_in_camera=grasp_in_camera, grasp_planner=grasp.planner)
        record.physical_robust_quality, record.physical_robust = self.robustness.score(
            record.object_name,
            object_pose,
            camera_pose,
            grasp_in_camera,
            record.grasp_width,
            record.seed,
        )

        # 3. Execution, then the 1 s hold judged on the ground truth.
        record.stage = "executing"

        def on_stage(stage: str) -> None:
            record.stage = stage

        result = client.execute_grasp(grasp, on_stage)
        record.executor_success = bool(result.success)
        record.executor_message = result.message
        held = client.ground_truth(client.hold, HOLD_SERVICE)
        record.lifted_height_min = float(held["lifted_height_min"])
        record.object_on_table = bool(held["on_table"])
        replay.update(final_object_pose=np.asarray(held["object_pose"]))
        lifted = (
            held["ok"]
            and held["lifted_height_start"] >= config.lift_threshold
            and held["lifted_height_min"] >= config.lift_threshold
        )
        if lifted:
            record.success = True
            record.stage = "held"
            return
        if held.get("hold_fault") or held.get("fault"):
            raise AttemptFailure("sim diverged", held.get("hold_fault") or held.get("fault"))
        if not result.success:
            raise AttemptFailure(classify_execution_failure(result.message), result.message)
        height = 100 * float(held["lifted_height_start"])
        lowest = 100 * float(held["lifted_height_min"])
        if not held["on_table"] and lowest < 0:
            raise AttemptFailure("fell off", "the object left the table")
        if height < 100 * config.lift_threshold:
            raise AttemptFailure("not lifted", f"the object is {height:.1f} cm above its rest")
        raise AttemptFailure(
            "slipped", f"lifted {height:.1f} cm, down to {lowest:.1f} cm during the hold"
        )

    def _keep_frames(self, stamp_ns: int, image: Any, info: Any, replay: dict[str, Any]) -> None:
        from gqstn_ros.depth_image import camera_info_to_intrinsics, depth_to_metres  # noqa: PLC0415

        replay["depth_inpainted"] = depth_to_metres(image)  # (H, W) float32 m
        raw = self.client.kept(self.client.raw, stamp_ns)
        if raw is not None:
            replay["depth_raw"] = depth_to_metres(raw)  # (H, W) float32 m, NaN = no data
        k = camera_info_to_intrinsics(info)
        replay["intrinsics"] = np.array([k.width, k.height, k.fx, k.fy, k.cx, k.cy])
        replay["frame_stamp_ns"] = np.int64(stamp_ns)

    def _save_replay(self, record: AttemptRecord, replay: dict[str, Any]) -> Path:
        path = self.attempts_dir / (f"{record.object_name}_t{record.trial}_{record.method}.npz")
        arrays = {key: np.asarray(value) for key, value in replay.items()}
        arrays["record"] = np.asarray(json.dumps(_json_ready(asdict(record))))
        np.savez_compressed(path, **arrays)
        return path

    def run(self, progress: Any = None) -> list[AttemptRecord]:
        """Every attempt of the configuration (objects, then trials, then methods)."""
        records = []
        for object_index, object_name in enumerate(self.config.objects):
            for trial in range(self.config.trials):
                for method in self.config.methods:
                    record = self.attempt(object_name, object_index, trial, method)
                    records.append(record)
                    outcome = "success" if record.success else record.reason
                    message = f"{object_name} #{trial} {method}: {outcome[:100]}"
                    if progress is not None:
                        progress.update(1)
                        progress.set_postfix_str(message[:60])
                        progress.write(message)
                    else:
                        self.log(message)
                    if record.category == "node died":
                        self.restart_graph()
        return records

    def restart_graph(self) -> None:
        """After a node died: stop the graph and start it again (the benchmark goes on)."""
        self.log("restarting the node graph after a node died")
        self.graph.stop()
        self.graph.start()
        self.wait_ready()


@contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM ends the run like Ctrl-C, so that the nodes are stopped and results written."""

    def on_term(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_benchmark(config: BenchmarkConfig) -> tuple[list[AttemptRecord], dict[str, Path]]:
    """Start the graph, run every attempt, stop the graph, write the results."""
    output = config.output_dir
    output.mkdir(parents=True, exist_ok=True)
    params_file = output / "benchmark_params.yaml"
    params_file.write_text(parameters_yaml(config, output / "executor_attempts.jsonl"))
    graph = GraphProcesses(config, params_file, output / "logs")
    records: list[AttemptRecord] = []
    timing: dict[str, float] = {}
    started = time.monotonic()
    client = None
    interrupted = False
    with _terminate_as_interrupt():
        try:
            print(
                f"benchmark: {len(config.objects)} objects x {config.trials} trials x "
                f"{len(config.methods)} methods = {config.attempt_count} attempts; "
                f"models from {config.models_dir}, node logs in {graph.log_dir}",
                flush=True,
            )
            graph.start()
            client = BenchClient(config)
            runner = BenchmarkRunner(config, client, graph)
            runner.wait_ready()
            timing["startup_s"] = time.monotonic() - started
            print(f"node graph ready in {timing['startup_s']:.1f} s", flush=True)
            attempts_started = time.monotonic()
            progress = _progress_bar(config)
            try:
                records = runner.run(progress)
            finally:
                if progress is not None:
                    progress.close()
            timing["attempts_s"] = time.monotonic() - attempts_started
        except KeyboardInterrupt:
            interrupted = True
            print("interrupted: stopping the node graph", flush=True)
        finally:
            if client is not None:
                client.close()
            codes = graph.stop()
            timing["total_s"] = time.monotonic() - started
    if records and timing.get("attempts_s"):
        timing["attempts_per_s"] = len(records) / timing["attempts_s"]
    timing["node_exit_codes"] = codes  # type: ignore[assignment]
    paths = write_results(output, config, records, timing)
    rows = summarize(records, config.methods)
    print(format_table(rows, detection_time_ratio(rows)))
    print(
        f"{len(records)} attempts in {timing['total_s']:.0f} s "
        f"(startup {timing.get('startup_s', math.nan):.0f} s); results in {output}"
    )
    if interrupted:
        raise KeyboardInterrupt
    return records, paths


def _progress_bar(config: BenchmarkConfig) -> Any:
    if not config.show_progress:
        return None
    try:
        from tqdm import tqdm  # noqa: PLC0415
    except ImportError:
        return None
    return tqdm(total=config.attempt_count, unit="attempt", dynamic_ncols=True)


# ---------------------------------------------------------------------------------- replay
def replay_attempt(path: Path) -> dict[str, Any]:
    """A kept attempt (attempts/*.npz): its record, and its grasp re-scored on the true mesh."""
    with np.load(path, allow_pickle=False) as kept:
        arrays = {key: kept[key] for key in kept.files}
    record = json.loads(str(arrays.pop("record")))
    replayed: dict[str, Any] = {"record": record, "arrays": sorted(arrays)}
    if {"grasp_in_camera", "object_pose", "camera_pose"} <= set(arrays):
        quality, robust = PhysicalRobustness().score(
            record["object_name"],
            arrays["object_pose"],
            arrays["camera_pose"],
            arrays["grasp_in_camera"],
            float(record["grasp_width"]),
            int(record["seed"]),
        )
        replayed.update(physical_robust_quality=quality, physical_robust=robust)
    return replayed


# ---------------------------------------------------------------------------------- command line
def parse_config(argv: Sequence[str]) -> tuple[BenchmarkConfig, argparse.Namespace]:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--objects", nargs="+", default=["all"], help="'all' or benchmark object names"
    )
    parser.add_argument("--trials", type=int, default=5, help="trials per object and method")
    parser.add_argument(
        "--methods", nargs="+", default=list(DEFAULT_METHODS), choices=PLANNER_NAMES
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"{QUICK_TRIALS} trial per object and method (the default of scripts/bench.sh)",
    )
    parser.add_argument("--output", type=Path, default=Path("runs/benchmark"))
    parser.add_argument("--models", type=Path, default=None, help="default: the package's models")
    parser.add_argument("--seed", type=int, default=0, help="base seed of the scenes")
    parser.add_argument("--backend", default="torch", choices=("torch", "onnxruntime"))
    parser.add_argument(
        "--symmetric-views",
        type=int,
        default=BenchmarkConfig.symmetric_views,
        choices=SYMMETRIC_VIEW_COUNTS,
        help="GQ-STN and MultiGrasp run on this many quarter-turned and mirrored copies of the "
        "view, keeping the grasp GQ-CNN rates highest (1: the paper's single pass)",
    )
    parser.add_argument(
        "--judge-model",
        default="",
        help="GQ-CNN checkpoint that judges GQ-STN's and MultiGrasp's grasps (q, robust label, "
        "choice among symmetric views) instead of their own heads; relative: inside --models",
    )
    parser.add_argument(
        "--camera-rate", type=float, default=BenchmarkConfig.camera_rate_hz, help="frames/s"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--replay", type=Path, default=None, help="re-score a kept attempt")
    options = parser.parse_args(argv)
    objects = BENCHMARK_OBJECT_NAMES if options.objects == ["all"] else tuple(options.objects)
    if options.models is None:
        from gqstn_ros.planner_registry import default_models_dir  # noqa: PLC0415

        options.models = default_models_dir()
    try:
        config = BenchmarkConfig(
            objects=objects,
            trials=QUICK_TRIALS if options.quick else options.trials,
            methods=tuple(options.methods),
            output_dir=options.output,
            models_dir=options.models,
            seed=options.seed,
            model_backend=options.backend,
            symmetric_views=options.symmetric_views,
            judge_model=options.judge_model,
            camera_rate_hz=options.camera_rate,
            show_progress=not options.no_progress,
        )
    except ValueError as error:
        parser.error(str(error))
        raise  # parser.error exits
    return config, options


def main(argv: Sequence[str] | None = None) -> int:
    config, options = parse_config(sys.argv[1:] if argv is None else argv)
    if options.replay is not None:
        print(json.dumps(_json_ready(replay_attempt(options.replay)), indent=2))
        return 0
    try:
        run_benchmark(config)
    except KeyboardInterrupt:
        return 130
    except RuntimeError as error:  # the graph did not come up
        print(f"benchmark: {error}", file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
