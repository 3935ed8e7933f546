"""Single-frame grasp detection latency through `NetworkPlanner`: 640x480 inpainted frame in,
grasp out (view extraction, network, GQ-CNN head, conversion to frame pixels), batch 1.

Usage: .venv/bin/python benchmarks/detection_latency.py [--frames 100] [--paper-frames 20]
       [--threads 2] [--models-dir models] [--symmetric-views 1 4] [--grasp-checks]

Without --models-dir the networks are randomly initialised (latency does not depend on the
weights; the grasps are meaningless), in the `paper` and `cpu` configurations: GQ-STN in both,
DirectGrasp and MultiGrasp in `cpu`. With --models-dir the checkpoints found there are timed.
Prints median and p99 milliseconds per frame for PyTorch and onnxruntime, for each count of
symmetric views (the network on that many turned and mirrored copies of the view, one batch),
with the ratio to the single view of the same planner and backend timed in the same run.

--grasp-checks (with --models-dir) times what the table plane adds to GQ-STN's single pass, on
frames planned in turn by both planners of each pair: the planner with `replan_on_air` against
the same planner without it, then with `raise_to_reach` as well against without it, and the
metric view's working depth (the table plane under the view centre) against the frame's median
depth it replaced; and, when the folder holds the inference node's default judge, GQ-STN judged
by it against GQ-STN's own head (both with the inference node's defaults otherwise), then the
angle sweep of a doubtful grasp (`sweep_angles_below_q`, the inference node's default) against
none, both judged, with how many frames' grasps are doubtful.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from gqstn_ros.camera_model import KINECT_V1
from gqstn_ros.detection import ROBUST_Q_THRESHOLD
from gqstn_ros.networks.checkpoint import save_checkpoint
from gqstn_ros.networks.configs import build_model, model_config
from gqstn_ros.networks.planners import load_network_planner
from gqstn_ros.planner_registry import (
    NETWORK_PLANNERS,
    SHIPPED_JUDGE_MODEL,
    SYMMETRIC_VIEW_COUNTS,
)
from gqstn_ros.preprocessing import NetworkInputConfig, Normalization, working_depth

RANDOM_RUNS = (("gqstn", "paper"), ("gqstn", "cpu"), ("directgrasp", "cpu"), ("multigrasp", "cpu"))


def tabletop_frame(seed: int) -> np.ndarray:
    """(480, 640) float32 metres: a table at 0.7 m, three boxes, sensor-like noise."""
    rng = np.random.default_rng(seed)
    depth = np.full((480, 640), 0.7, dtype=np.float32)
    for _ in range(3):
        top, left = rng.integers(120, 330), rng.integers(200, 420)
        depth[top : top + rng.integers(20, 60), left : left + rng.integers(20, 60)] -= rng.uniform(
            0.02, 0.08
        )
    return depth + rng.normal(0.0, 0.001, depth.shape).astype(np.float32)


def random_models(directory: Path, config_name: str, kinds: list[str]) -> Path:
    """Randomly initialised checkpoints of `kinds` (and gqcnn) in configuration `config_name`."""
    directory.mkdir(parents=True, exist_ok=True)
    norm = Normalization()
    provenance = {"data": "random initialisation (latency benchmark)", "code": "benchmark"}
    inputs = NetworkInputConfig()  # every configuration sees the paper's view geometry
    gqcnn = build_model("gqcnn", model_config("gqcnn", config_name))
    save_checkpoint(
        directory / "gqcnn.pt", gqcnn, "gqcnn", gqcnn.config, norm, provenance, None, inputs
    )
    for kind in kinds:
        model = build_model(kind, model_config(kind, config_name), norm, gqcnn)
        save_checkpoint(
            directory / f"{kind}.pt", model, kind, model.config, norm, provenance, None, inputs
        )
    return directory


def time_planner(planner, frames: list[np.ndarray], count: int) -> np.ndarray:
    for frame in frames[:3]:  # warm-up
        planner.plan(frame, KINECT_V1)
    times = []
    for index in range(count):
        frame = frames[index % len(frames)]
        start = time.perf_counter()
        planner.plan(frame, KINECT_V1)
        times.append(time.perf_counter() - start)
    return np.array(times) * 1e3


def time_in_turn(first, second, frames: list[np.ndarray], count: int) -> np.ndarray:
    """(2, count) ms of `first(frame)` and `second(frame)`, called in turn on each frame so
    that both see the same machine load."""
    for frame in frames[:3]:  # warm-up
        first(frame), second(frame)
    times = np.zeros((2, count))
    for index in range(count):
        frame = frames[index % len(frames)]
        for row, call in enumerate((first, second)):
            start = time.perf_counter()
            call(frame)
            times[row, index] = time.perf_counter() - start
    return times * 1e3


def grasp_check_costs(models_dir: Path, frames: list[np.ndarray], count: int) -> None:
    """Print what the table plane costs GQ-STN's single pass (see the module docstring)."""
    with_check = load_network_planner("gqstn", models_dir, replan_on_air=True)
    without = load_network_planner("gqstn", models_dir, replan_on_air=False)
    raising = load_network_planner("gqstn", models_dir, replan_on_air=True, raise_to_reach=True)
    pairs = [
        (
            "GQ-STN plan, replan_on_air on / off",
            lambda frame: with_check.plan(frame, KINECT_V1),
            lambda frame: without.plan(frame, KINECT_V1),
        ),
        (
            "GQ-STN plan, raise_to_reach on / off",
            lambda frame: raising.plan(frame, KINECT_V1),
            lambda frame: with_check.plan(frame, KINECT_V1),
        ),
        (
            "working depth, table plane / frame median",
            lambda frame: working_depth(frame, KINECT_V1),
            lambda frame: float(np.median(frame[::4, ::4])),
        ),
    ]
    if (models_dir / SHIPPED_JUDGE_MODEL).is_file():  # the inference node's default judge
        judged = load_network_planner(
            "gqstn", models_dir, replan_on_air=True, judge_model=SHIPPED_JUDGE_MODEL,
            raise_to_reach=True,
        )  # fmt: skip
        swept = load_network_planner(
            "gqstn", models_dir, replan_on_air=True, judge_model=SHIPPED_JUDGE_MODEL,
            raise_to_reach=True, sweep_angles_below_q=ROBUST_Q_THRESHOLD,
        )  # fmt: skip
        pairs.append(
            (
                f"GQ-STN plan, {SHIPPED_JUDGE_MODEL} / own head",
                lambda frame: judged.plan(frame, KINECT_V1),
                lambda frame: raising.plan(frame, KINECT_V1),
            )
        )
        pairs.append(
            (
                "GQ-STN plan, sweep_angles_below_q 0.5 / off",
                lambda frame: swept.plan(frame, KINECT_V1),
                lambda frame: judged.plan(frame, KINECT_V1),
            )
        )
        doubtful = sum(
            judged.plan(frame, KINECT_V1)[0].q_value < ROBUST_Q_THRESHOLD for frame in frames
        )
        print(
            f"frames whose grasp its judge rates below {ROBUST_Q_THRESHOLD}: "
            f"{doubtful} of {len(frames)}"
        )
    print(f"{'what (first / second)':<44} {'median ms':>18} {'p99 ms':>16} {'ratio':>7}")
    for label, first, second in pairs:
        times = time_in_turn(first, second, frames, count)
        medians = np.median(times, axis=1)
        p99 = np.percentile(times, 99, axis=1)
        print(
            f"{label:<44} {medians[0]:>8.2f} / {medians[1]:>7.2f} {p99[0]:>7.1f} / {p99[1]:>6.1f} "
            f"{medians[0] / medians[1]:>6.2f}x",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=100, help="timed frames per cpu run")
    parser.add_argument("--paper-frames", type=int, default=20, help="timed frames, paper runs")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--models-dir", type=Path, default=None)
    parser.add_argument(
        "--symmetric-views", type=int, nargs="+", default=[1], choices=SYMMETRIC_VIEW_COUNTS
    )
    parser.add_argument(
        "--grasp-checks",
        action="store_true",
        help="only time what the table plane adds to GQ-STN (needs --models-dir)",
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    frames = [tabletop_frame(seed) for seed in range(8)]
    if args.grasp_checks:
        if args.models_dir is None:
            parser.error("--grasp-checks needs --models-dir")
        grasp_check_costs(args.models_dir, frames, args.frames)
        return

    with tempfile.TemporaryDirectory() as scratch:
        scratch_dir = Path(scratch)
        if args.models_dir is not None:
            names = [n for n in NETWORK_PLANNERS if (args.models_dir / f"{n}.pt").is_file()]
            runs = [(name, "trained", args.models_dir) for name in names]
        else:
            runs = []
            for config_name in ("paper", "cpu"):
                kinds = [kind for kind, name in RANDOM_RUNS if name == config_name]
                directory = random_models(scratch_dir / config_name, config_name, kinds)
                runs += [(kind, config_name, directory) for kind in kinds]
        weights = "checkpoints" if args.models_dir else "random-initialised weights"
        print(f"batch 1, {args.threads} threads, 640x480 frame -> grasp; {weights}")
        print(
            f"{'planner':<12} {'config':<8} {'backend':<12} {'views':>5} {'median ms':>10} "
            f"{'p99 ms':>8} {'x 1 view':>9}"
        )
        for name, config_name, directory in runs:
            count = args.paper_frames if config_name == "paper" else args.frames
            for backend in ("torch", "onnxruntime"):
                single_median = None
                for views in sorted(set(args.symmetric_views) | {1}):
                    planner = load_network_planner(
                        name,
                        directory,
                        backend,
                        onnx_cache_dir=scratch_dir / "onnx",
                        onnx_threads=args.threads,
                        symmetric_views=views,
                    )
                    times = time_planner(planner, frames, count)
                    median = float(np.median(times))
                    single_median = single_median or median
                    if views not in args.symmetric_views:
                        continue  # timed only as the reference
                    print(
                        f"{name:<12} {config_name:<8} {backend:<12} {views:>5} {median:>10.1f} "
                        f"{np.percentile(times, 99):>8.1f} {median / single_median:>8.2f}x",
                        flush=True,
                    )


if __name__ == "__main__":
    main()
