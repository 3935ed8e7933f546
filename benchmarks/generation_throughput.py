"""Throughput of the synthetic dataset generator in one process: images/s, labelled grasps/s and
the seconds per image of each stage (settle, render, noise, inpaint, sample, label, crop).

Usage: python benchmarks/generation_throughput.py [--objects 6] [--first 0] [--seed 0]
       [--drops 3] [--views 2] [--repeats 1]

Objects `first .. first + objects - 1` of the dataset with base seed `seed` are generated
exactly as `gqstn_ros.tools.generate_dataset` generates them (one worker; the tool runs one such
process per core). The first object of the first repeat also pays the one-off imports and the
GL platform probe, as a worker process does. Run it with PYTHONPATH pointing at another source
tree to measure that tree the same way (the module path is printed). The load average is
printed too: on a shared machine the numbers are only comparable within one session.
"""

from __future__ import annotations

import argparse
import os
import time
from collections import defaultdict

import gqstn_ros
from gqstn_ros.datasets.generate import GenerationConfig, generate_object_images

STAGES = ("settle", "render", "noise", "inpaint", "sample", "label", "crop")


def measure(
    objects: int, first: int, seed: int, config: GenerationConfig
) -> tuple[float, int, int, dict[str, float]]:
    """(wall seconds, images, grasps, stage seconds) of generating the objects once."""
    seconds: dict[str, float] = defaultdict(float)
    images = grasps = 0
    started = time.perf_counter()
    for object_index in range(first, first + objects):
        result = generate_object_images(object_index, seed, config)
        images += len(result.images["depth_ims"])
        grasps += len(result.grasps["hand_poses"])
        for stage, value in result.seconds.items():
            seconds[stage] += value
    return time.perf_counter() - started, images, grasps, dict(seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=6)
    parser.add_argument("--first", type=int, default=0, help="index of the first object")
    parser.add_argument("--seed", type=int, default=0, help="base seed of the dataset")
    parser.add_argument("--drops", type=int, default=GenerationConfig.drops_per_object)
    parser.add_argument("--views", type=int, default=GenerationConfig.views_per_drop)
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    if args.objects < 1 or args.repeats < 1:
        parser.error("--objects and --repeats must be >= 1")
    config = GenerationConfig(drops_per_object=args.drops, views_per_drop=args.views)
    print(f"gqstn_ros from {os.path.dirname(gqstn_ros.__file__)}")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} "
          f"({os.cpu_count()} cores)")  # fmt: skip
    for repeat in range(args.repeats):
        wall, images, grasps, seconds = measure(args.objects, args.first, args.seed, config)
        print(
            f"run {repeat}: {args.objects} objects, {images} images, {grasps} grasps in "
            f"{wall:.2f} s: {images / wall:.2f} images/s, {grasps / wall:.0f} labelled grasps/s "
            f"({grasps / max(images, 1):.0f} grasps per image)"
        )
        per_image = "  ".join(f"{s} {seconds.get(s, 0.0) / max(images, 1):.4f}" for s in STAGES)
        print(f"  seconds per image: {per_image}")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
