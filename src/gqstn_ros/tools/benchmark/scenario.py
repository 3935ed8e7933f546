"""What the benchmark attempts: its configuration, the scenes (object, trial, seed) every method
meets, and the record each attempt leaves."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from gqstn_ros.planner_registry import DEFAULT_PIPELINE, PLANNER_NAMES, SYMMETRIC_VIEW_COUNTS
from gqstn_ros.sim.benchmark_objects import BENCHMARK_OBJECT_NAMES

# A method is a planner named in each /detect_grasp request, or DEFAULT_PIPELINE: a request
# that names none, answered by the inference node's default pipeline (`grasping.alternatives`:
# of GQ-STN's grasp, the minor-axis grasp and Prop+GQ-CNN's, one that can be carried out
# first, then the one the judge rates higher), as a user's call is.
METHOD_NAMES = (*PLANNER_NAMES, DEFAULT_PIPELINE)
DEFAULT_METHODS = ("gqstn", "multigrasp", "prop_gqcnn", DEFAULT_PIPELINE)


def request_planner(method: str) -> tuple[str, bool]:
    """The /detect_grasp request fields (planner, disable_fallback) of `method`: the planner
    with the fallback disabled, so that it is measured alone; DEFAULT_PIPELINE: no planner and
    the fallback allowed, as a user's request."""
    if method == DEFAULT_PIPELINE:
        return "", False
    return method, True


QUICK_TRIALS = 1  # --quick: every object once per method (48 attempts with the 4 methods)


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
    # The judge of GQ-STN's and MultiGrasp's grasps, as the launch file's judge_model argument
    # ('' = the inference node's default judge; planner_registry.OWN_HEAD = their own heads).
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
        self._check_names()
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
        self._check_numbers()

    def _check_names(self) -> None:
        """ValueError naming what is wrong with the objects and methods."""
        _check_known(
            "objects", "benchmark object", self.objects, BENCHMARK_OBJECT_NAMES, "'all' or "
        )
        _check_known("methods", "method", self.methods, METHOD_NAMES, "")
        if len(set(self.objects)) != len(self.objects) or len(set(self.methods)) != len(
            self.methods
        ):
            raise ValueError("objects and methods must not repeat a name")

    def _check_numbers(self) -> None:
        """ValueError naming a length, duration or timeout that is not a valid number."""
        for name in ("real_time_factor", "lift_threshold", "hold_duration_s"):
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


def _check_known(
    field: str, what: str, names: Sequence[str], known: Sequence[str], choices_prefix: str
) -> None:
    """ValueError when `names` is empty or holds a name not in `known` (naming it)."""
    if not names:
        raise ValueError(f"{field}: name at least one {what}")
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ValueError(
            f"{field}: unknown {what}(s) {', '.join(unknown)}; expected "
            f"{choices_prefix}some of {', '.join(known)}"
        )


def scene_seed(base_seed: int, object_index: int, trial: int) -> int:
    """The drop seed of one object and trial: every method meets the same scene."""
    return base_seed * 10_000 + object_index * 100 + trial


@dataclass(frozen=True)
class PlannedAttempt:
    """One attempt to make: `method` on the scene of `object_name`'s `trial` (drop `seed`)."""

    object_name: str
    trial: int
    method: str
    seed: int


def planned_attempts(config: BenchmarkConfig) -> Iterator[PlannedAttempt]:
    """Every attempt of `config`, in run order: objects, then trials, then methods (the methods
    of one trial follow each other on the same scene)."""
    for object_index, object_name in enumerate(config.objects):
        for trial in range(config.trials):
            seed = scene_seed(config.seed, object_index, trial)
            for method in config.methods:
                yield PlannedAttempt(object_name, trial, method, seed)


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
    # The Grasp's planning_time: the inference node's time from the request to the answered
    # grasp (the default pipeline: after the alternatives judged before it).
    detection_time: float = math.nan
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
    answered_by: str = ""  # the planner whose grasp the node answered (Grasp.planner)
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
