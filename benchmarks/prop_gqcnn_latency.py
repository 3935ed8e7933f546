"""Latency of Prop+GQ-CNN for 1000 candidates on rendered 640x480 scenes: sampling and ranking.

Usage: .venv/bin/python benchmarks/prop_gqcnn_latency.py [--runs 30] [--candidates 1000]
       [--model paper|cpu] [--batch-size 256] [--threads 2] [--no-cem]

Scenes: one object each (box, mug, cylinder), dropped and settled in MuJoCo, rendered by the
simulated Kinect with its noise and holes, then inpainted. Each run plans on one scene, in
turn: antipodal sampling of `--candidates` grasps in the view window
(`PropGQCNNPlanner.propose`), ranking of them (view, vectorized crops, GQ-CNN in batches:
`PropGQCNNPlanner.score`), and the whole plan with
the cross-entropy method (Dex-Net 2.0 defaults: 250 seeds, 3 x 50 mixture samples). Prints the
median and 99th percentile in milliseconds. The GQ-CNN is `gqstn_ros.networks.gqcnn.GQCNN`
with the Dex-Net 2.0 layer widths (`--model paper`) or the project's CPU widths (`--model
cpu`), randomly initialised: latency does not depend on the weights.
"""

from __future__ import annotations

import argparse
import os
import time

import cv2
import numpy as np
import torch

from gqstn_ros.depth_processing import inpaint_depth
from gqstn_ros.grasping.prop_gqcnn import PropConfig, PropGQCNNPlanner, validate_depth, with_cem
from gqstn_ros.networks.configs import model_config
from gqstn_ros.networks.gqcnn import GQCNN
from gqstn_ros.preprocessing import NetworkInputConfig, Normalization, extract_view
from gqstn_ros.sim.camera import DepthCamera
from gqstn_ros.sim.objects import generate_object
from gqstn_ros.sim.scene import Scene
from gqstn_ros.sim.sensor_noise import apply_kinect_noise
from gqstn_ros.sim.world_config import WorldConfig

SCENES = (("box", 1), ("mug", 0), ("cylinder", 2))


def render(family: str, seed: int):
    config = WorldConfig()
    scene = Scene.build([generate_object(family, seed)], config, seed)
    scene.settle()
    with DepthCamera(scene) as camera:
        frame = camera.render()
    noisy = apply_kinect_noise(frame.depth, frame.intrinsics, config.noise, seed)
    return inpaint_depth(noisy), frame.intrinsics, frame.backend


def summary(name: str, times_s: list[float], extra: str = "") -> None:
    ms = np.array(times_s) * 1e3
    print(f"{name:<34} {np.median(ms):>10.1f} {np.percentile(ms, 99):>9.1f} {len(ms):>6}  {extra}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--candidates", type=int, default=1000)
    parser.add_argument("--model", choices=("paper", "cpu"), default="paper")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-cem", action="store_true", help="skip the CEM measurement")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cv2.setNumThreads(args.threads)
    torch.manual_seed(0)
    gqcnn = GQCNN(model_config("gqcnn", args.model)).eval()
    config = PropConfig(num_candidates=args.candidates, batch_size=args.batch_size)
    planner = PropGQCNNPlanner(gqcnn, Normalization(), NetworkInputConfig(), config)
    cem_planner = PropGQCNNPlanner(gqcnn, Normalization(), NetworkInputConfig(), with_cem(config))
    frames = [render(family, seed) for family, seed in SCENES]
    print(
        f"GQ-CNN {args.model} widths {gqcnn.config}, randomly initialised (latency only); "
        f"torch threads {torch.get_num_threads()}, {os.cpu_count()} CPUs visible; "
        f"render backend {frames[0][2]}; scenes {', '.join(f for f, _ in SCENES)}"
    )
    # The crop extraction alone (the part of ranking that is not the network).
    plumbing = PropGQCNNPlanner(_Zero(), Normalization(), NetworkInputConfig(), config)
    sampling, ranking, crops_only, total, cem = [], [], [], [], []
    counts = []
    for run in range(args.runs):
        depth_m, intrinsics, _ = frames[run % len(frames)]
        rng = np.random.default_rng(run)
        start = time.perf_counter()
        depth = validate_depth(depth_m, intrinsics)
        view, window = extract_view(depth, planner.input_config)
        view_tensor = torch.from_numpy(view)[None, None]
        roi = planner.search_window(window, depth.shape)
        candidates = planner.propose(depth, intrinsics, args.candidates, rng, roi)
        sampled = time.perf_counter()
        planner.score(view_tensor, window, candidates)
        ranked = time.perf_counter()
        sampling.append(sampled - start)
        ranking.append(ranked - sampled)
        total.append(ranked - start)
        counts.append(len(candidates))
        begin = time.perf_counter()
        plumbing.score(view_tensor, window, candidates)
        crops_only.append(time.perf_counter() - begin)
        if not args.no_cem:
            begin = time.perf_counter()
            cem_planner.rank(depth_m, intrinsics, seed=run)
            cem.append(time.perf_counter() - begin)
    print(f"candidates per plan: min {min(counts)}, median {int(np.median(counts))}")
    print(f"{'stage':<34} {'median ms':>10} {'p99 ms':>9} {'plans':>6}")
    summary("sampling (validate, view, sampler)", sampling)
    summary("ranking (crops + GQ-CNN)", ranking)
    summary("  of which crops, STN, batching", crops_only, "(GQ-CNN replaced by a constant)")
    summary("sampling + ranking", total, "goal: 100 ms on 2 cores")
    if cem:
        summary("plan with CEM (250 + 3 x 50)", cem)


class _Zero(torch.nn.Module):
    """Constant logits: times the planner's plumbing without a network."""

    def forward(self, image: torch.Tensor, pose: torch.Tensor) -> torch.Tensor:
        return torch.zeros(image.shape[0], 2)


if __name__ == "__main__":
    main()
