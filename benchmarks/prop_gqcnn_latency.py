"""Latency of Prop+GQ-CNN for 1000 candidates on rendered 640x480 scenes, per ranking model.

Usage: .venv/bin/python benchmarks/prop_gqcnn_latency.py [--runs 30] [--candidates 1000]
       [--ranking cpu fast] [--models models] [--batch-size 256] [--threads 2] [--no-cem]

Scenes: one object each (box, mug, cylinder), dropped and settled in MuJoCo, rendered by the
simulated Kinect with its noise and holes, then inpainted. Each run plans on one scene, in
turn, and times, for every ranking model in the same run (interleaved, so that a load change
on the machine hits all of them alike):

- sampling: depth validation, view, search window and antipodal sampling of `--candidates`
  grasps (`PropGQCNNPlanner.propose`); it does not depend on the ranking model;
- ranking: crops of all candidates (vectorized) and GQ-CNN in batches (`PropGQCNNPlanner.score`),
  and the same plumbing with the network replaced by a constant (what is not the network);
- the whole plan without CEM (`plan`, `--candidates` proposals) and with the cross-entropy
  method (Dex-Net 2.0 defaults: 250 seeds, 3 x 50 mixture samples);
- GQ-STN's whole plan on the same frame (`--gqstn`, default on: models/gqstn.pt through
  `planner_registry.load_planner`, torch), so that the ratio Prop+GQ-CNN / GQ-STN is measured in
  the same run, not quoted.

Ranking models: GQ-CNN configurations of `gqstn_ros.networks.configs` (`cpu`: models/gqcnn.pt,
`fast`: models/gqcnn_fast.pt, `paper`: Dex-Net 2.0 widths, no file). A model whose checkpoint
exists in `--models` is loaded from it (the planner's path); otherwise it is built from its
configuration with random weights: latency does not depend on the weights. Prints the median
and 99th percentile of the wall time in milliseconds, and the median CPU time of the process
(all threads; on a machine shared with other jobs the wall time also holds the waits for a
core, the CPU time does not).

On a machine whose cores other jobs keep busy, run it with OMP_WAIT_POLICY=PASSIVE (or
`--threads 1`): with OpenMP's default spinning, a thread waiting at a barrier for its partner,
which waits for a core, turns 17 ms of crop extraction into 360 ms (measured at nice 15 beside
two training jobs). Figures of 2025-11-22 on the shared 2-core machine, nice 15,
OMP_WAIT_POLICY=PASSIVE, 2 threads, 30 plans, medians (p99): sampling 7.3 ms (11.7); ranking
with `fast` 56.7 ms (82.0), of which crops 17.7 ms; with `cpu` 1151 ms (1322); sampling +
ranking with `fast` 64 ms; plan with CEM 51 ms (`fast`), 448 ms (`cpu`).
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from gqstn_ros.depth_processing import inpaint_depth
from gqstn_ros.networks.checkpoint import load_checkpoint
from gqstn_ros.networks.configs import model_config
from gqstn_ros.networks.gqcnn import GQCNN
from gqstn_ros.planner_registry import load_planner
from gqstn_ros.planners.prop_gqcnn.planner import (
    FAST_GQCNN_CHECKPOINT,
    GQCNN_CHECKPOINT,
    PropConfig,
    PropGQCNNPlanner,
    validate_depth,
    with_cem,
)
from gqstn_ros.preprocessing import NetworkInputConfig, Normalization, extract_view
from gqstn_ros.sim.camera import DepthCamera
from gqstn_ros.sim.objects import generate_object
from gqstn_ros.sim.scene import Scene
from gqstn_ros.sim.sensor_models import apply_sensor_noise
from gqstn_ros.sim.world_config import WorldConfig

SCENES = (("box", 1), ("mug", 0), ("cylinder", 2))
CHECKPOINTS = {"cpu": GQCNN_CHECKPOINT, "fast": FAST_GQCNN_CHECKPOINT}  # in --models
GOAL_MS = 100.0  # sampling + ranking of 1000 candidates on 2 cores


def render(family: str, seed: int):
    config = WorldConfig()
    scene = Scene.build([generate_object(family, seed)], config, seed)
    scene.settle()
    with DepthCamera(scene) as camera:
        frame = camera.render()
    noisy = apply_sensor_noise(frame.depth, frame.intrinsics, config.noise, seed)
    return inpaint_depth(noisy), frame.intrinsics, frame.backend


@dataclass
class Timings:
    """Wall and process CPU seconds of repeated measurements of one stage."""

    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    def measure(self, work: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """work(*args, **kwargs), timed."""
        wall, cpu = time.perf_counter(), time.process_time()
        result = work(*args, **kwargs)
        self.cpu.append(time.process_time() - cpu)
        self.wall.append(time.perf_counter() - wall)
        return result

    def row(self, name: str, note: str = "") -> str:
        wall, cpu = np.array(self.wall) * 1e3, np.array(self.cpu) * 1e3
        return (
            f"{name:<40} {np.median(wall):>10.1f} {np.percentile(wall, 99):>9.1f} "
            f"{np.median(cpu):>10.1f} {len(wall):>6}  {note}"
        )


@dataclass
class RankingModel:
    """A ranking network and the planners that use it."""

    name: str
    source: str
    multiply_accumulates: int
    planner: PropGQCNNPlanner
    cem_planner: PropGQCNNPlanner
    ranking: Timings = field(default_factory=Timings)
    plan: Timings = field(default_factory=Timings)
    cem: Timings = field(default_factory=Timings)


def ranking_model(name: str, models: Path, config: PropConfig) -> RankingModel:
    path = models / CHECKPOINTS.get(name, "")
    if name in CHECKPOINTS and path.is_file():
        loaded = load_checkpoint(path, expected_kind="gqcnn")
        gqcnn, normalization, inputs = loaded.model, loaded.normalization, loaded.input_config
        gqcnn_config, source = loaded.config, f"trained, {path}"
    else:
        gqcnn_config = model_config("gqcnn", name)
        gqcnn, normalization, inputs = GQCNN(gqcnn_config).eval(), Normalization(), None
        source = "random weights (no checkpoint)"
    inputs = (inputs or NetworkInputConfig()).with_metric_view()  # the loader's default scale
    return RankingModel(
        name=name,
        source=source,
        multiply_accumulates=gqcnn_config.multiply_accumulates,
        planner=PropGQCNNPlanner(gqcnn, normalization, inputs, config, ranking_model=name),
        cem_planner=PropGQCNNPlanner(
            gqcnn, normalization, inputs, with_cem(config), ranking_model=name
        ),
    )


def sample(
    planner: PropGQCNNPlanner,
    depth_m: np.ndarray,
    intrinsics,
    count: int,
    rng: np.random.Generator,
):
    """The planner's steps before ranking: view (1, 1, D, D), its window, the candidates."""
    depth = validate_depth(depth_m, intrinsics)
    view, window = extract_view(depth, planner.input_config)
    roi = planner.search_window(window, depth.shape)
    candidates = planner.propose(depth, intrinsics, count, rng, roi)
    return torch.from_numpy(view)[None, None], window, candidates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--candidates", type=int, default=1000)
    parser.add_argument(
        "--ranking", nargs="+", choices=("paper", "cpu", "fast"), default=["cpu", "fast"]
    )
    parser.add_argument("--models", type=Path, default=Path("models"), help="checkpoint folder")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-cem", action="store_true", help="skip the CEM measurement")
    parser.add_argument(
        "--no-gqstn", action="store_true", help="skip GQ-STN's plan (the ratio's baseline)"
    )
    args = parser.parse_args()
    if args.runs < 1 or args.candidates < 1 or args.batch_size < 1 or args.threads < 1:
        parser.error("--runs, --candidates, --batch-size and --threads must be positive")
    torch.set_num_threads(args.threads)
    cv2.setNumThreads(args.threads)
    torch.manual_seed(0)
    config = PropConfig(num_candidates=args.candidates, batch_size=args.batch_size)
    models = [ranking_model(name, args.models, config) for name in args.ranking]
    # The crop extraction alone (the part of ranking that is not the network).
    plumbing = PropGQCNNPlanner(_Zero(), Normalization(), NetworkInputConfig(), config)
    frames = [render(family, seed) for family, seed in SCENES]
    gqstn = None if args.no_gqstn else load_planner("gqstn", args.models, "torch")
    gqstn_plan = Timings()
    print(
        f"torch threads {torch.get_num_threads()}, "
        f"OMP_WAIT_POLICY {os.environ.get('OMP_WAIT_POLICY', 'unset')}, "
        f"{os.cpu_count()} CPUs visible, "
        f"load average {os.getloadavg()[0]:.1f}; render backend {frames[0][2]}; "
        f"scenes {', '.join(f for f, _ in SCENES)}; {args.runs} runs"
    )
    for model in models:
        print(
            f"ranking model {model.name}: {model.multiply_accumulates / 1e6:.2f} M MAC per crop, "
            f"{model.source}"
        )
    sampling, crops_only, counts = Timings(), Timings(), []
    for run in range(args.runs):
        depth_m, intrinsics, _ = frames[run % len(frames)]
        rng = np.random.default_rng(run)
        view, window, candidates = sampling.measure(
            sample, models[0].planner, depth_m, intrinsics, args.candidates, rng
        )
        counts.append(len(candidates))
        crops_only.measure(plumbing.score, view, window, candidates)
        for model in models:
            model.ranking.measure(model.planner.score, view, window, candidates)
            model.plan.measure(model.planner.plan, depth_m, intrinsics, seed=run)
            if not args.no_cem:
                model.cem.measure(model.cem_planner.plan, depth_m, intrinsics, seed=run)
        if gqstn is not None:
            gqstn_plan.measure(gqstn.plan, depth_m, intrinsics, 1)
    print(f"candidates per plan: min {min(counts)}, median {int(np.median(counts))}")
    print(f"{'stage':<40} {'median ms':>10} {'p99 ms':>9} {'cpu ms':>10} {'plans':>6}")
    print(sampling.row("sampling (validate, view, sampler)", "same for every ranking model"))
    print(
        crops_only.row("ranking plumbing (crops, STN, batching)", "GQ-CNN replaced by a constant")
    )
    sampling_ms = np.median(sampling.wall) * 1e3
    for model in models:
        ranking_ms = np.median(model.ranking.wall) * 1e3
        verdict = "meets" if sampling_ms + ranking_ms <= GOAL_MS else "misses"
        print(model.ranking.row(f"[{model.name}] ranking (crops + GQ-CNN)"))
        print(
            model.plan.row(
                f"[{model.name}] plan without CEM",
                f"sampling + ranking medians {sampling_ms + ranking_ms:.1f} ms: {verdict} the "
                f"{GOAL_MS:.0f} ms goal",
            )
        )
        if not args.no_cem:
            print(model.cem.row(f"[{model.name}] plan with CEM (250 + 3 x 50)"))
    if gqstn is not None:
        gqstn_ms = np.median(gqstn_plan.wall) * 1e3
        print(gqstn_plan.row("[gqstn] GQ-STN plan (one grasp)", "same frames, same run"))
        for model in models:
            ratio = np.median(model.plan.wall) * 1e3 / gqstn_ms
            print(f"ratio Prop+GQ-CNN [{model.name}] / GQ-STN, plan medians: {ratio:.1f}x")


class _Zero(torch.nn.Module):
    """Constant logits: times the planner's plumbing without a network."""

    def forward(self, image: torch.Tensor, pose: torch.Tensor) -> torch.Tensor:
        return torch.zeros(image.shape[0], 2)


if __name__ == "__main__":
    main()
