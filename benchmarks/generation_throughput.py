"""Throughput of the synthetic dataset generator: images/s, labelled grasps/s and the seconds per
image of each stage (settle, render, noise, inpaint, sample, label, crop).

Usage: python benchmarks/generation_throughput.py [--scenes 6] [--first 0] [--seed 0]
       [--repeats 1] [--workers 1] [any generation option of generate_dataset: --drops, --views,
       --camera, --objects-per-scene, --share-view-grasps, ...]

Scenes `first .. first + scenes - 1` of the dataset with base seed `seed` are generated exactly
as `gqstn_ros.tools.generate_dataset` generates them, without writing them. With one worker they
are generated in this process, else in that many worker processes; either way with one torch
thread (as the tool's workers) and warmed up (imports, a GL context) before the clock starts,
each worker taking every n-th scene. The stage seconds are summed over the workers. Run
it with PYTHONPATH pointing at another source tree to measure that tree the same way (the module
path is printed). The load average is printed too: on a shared machine the numbers are only
comparable within one session.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import time
from collections import defaultdict

import gqstn_ros
from gqstn_ros.datasets.generate import GenerationConfig, generate_object_images
from gqstn_ros.tools.generate_dataset import add_generation_options, config_from_args

STAGES = ("settle", "render", "noise", "inpaint", "sample", "label", "crop")


def generate(job: tuple[list[int], int, GenerationConfig]) -> tuple[int, int, dict[str, float]]:
    """(images, grasps, stage seconds) of generating the scenes of `job`; the stage "cpu" is
    the CPU seconds the generating process spent (time-sliced away by other load, wall
    seconds grow, CPU seconds do not)."""
    scenes, seed, config = job
    seconds: dict[str, float] = defaultdict(float)
    images = grasps = 0
    cpu = time.process_time()
    for scene in scenes:
        result = generate_object_images(scene, seed, config)
        images += len(result.images["depth_ims"])
        grasps += len(result.grasps["hand_poses"])
        for stage, value in result.seconds.items():
            seconds[stage] += value
    seconds["cpu"] = time.process_time() - cpu
    return images, grasps, dict(seconds)


def _warm_worker() -> None:
    import torch  # noqa: PLC0415

    from gqstn_ros.sim.camera import DepthCamera  # noqa: PLC0415
    from gqstn_ros.sim.objects import generate_object  # noqa: PLC0415
    from gqstn_ros.sim.scene import Scene  # noqa: PLC0415

    torch.set_num_threads(1)
    with DepthCamera(Scene.build([generate_object("box", 0)])) as camera:
        camera.render()


def measure(
    scenes: list[int], seed: int, config: GenerationConfig, pool=None, workers: int = 1
) -> tuple[float, int, int, dict[str, float]]:
    """(wall seconds, images, grasps, stage seconds and "cpu" summed over the workers)."""
    started = time.perf_counter()
    if pool is None:
        images, grasps, seconds = generate((scenes, seed, config))
    else:
        jobs = [(scenes[k::workers], seed, config) for k in range(workers)]
        images = grasps = 0
        seconds: dict[str, float] = defaultdict(float)
        for part_images, part_grasps, part_seconds in pool.map(generate, jobs):
            images += part_images
            grasps += part_grasps
            for stage, value in part_seconds.items():
                seconds[stage] += value
    return time.perf_counter() - started, images, grasps, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", "--objects", dest="scenes", type=int, default=6)
    parser.add_argument("--first", type=int, default=0, help="index of the first scene")
    parser.add_argument("--seed", type=int, default=0, help="base seed of the dataset")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--workers", type=int, default=1, help="worker processes (1: this one)")
    add_generation_options(parser)
    args = parser.parse_args()
    if args.scenes < 1 or args.repeats < 1 or args.workers < 1:
        parser.error("--scenes, --repeats and --workers must be >= 1")
    try:
        config = config_from_args(args)
    except ValueError as error:
        parser.error(str(error))
    scenes = list(range(args.first, args.first + args.scenes))
    print(f"gqstn_ros from {os.path.dirname(gqstn_ros.__file__)}")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} "
          f"({os.cpu_count()} cores)")  # fmt: skip
    pool = None
    if args.workers == 1:
        _warm_worker()
    else:
        context = multiprocessing.get_context("spawn")
        pool = context.Pool(args.workers)
        pool.starmap(_warm_worker, [()] * args.workers)
    try:
        for repeat in range(args.repeats):
            wall, images, grasps, seconds = measure(scenes, args.seed, config, pool, args.workers)
            cpu_per_image = seconds["cpu"] / max(images, 1)
            print(
                f"run {repeat}: {args.scenes} scenes, {args.workers} worker(s), {images} images, "
                f"{grasps} grasps in {wall:.2f} s: {images / wall:.2f} images/s, "
                f"{grasps / wall:.0f} labelled grasps/s ({grasps / max(images, 1):.0f} grasps "
                f"per image); {1000 * cpu_per_image:.1f} CPU ms per image, "
                f"{(os.cpu_count() or 1) / max(cpu_per_image, 1e-9):.1f} images/s on "
                f"{os.cpu_count()} idle cores"
            )
            per_image = "  ".join(f"{s} {seconds.get(s, 0.0) / max(images, 1):.4f}" for s in STAGES)
            print(f"  seconds per image: {per_image}")
    finally:
        if pool is not None:
            pool.close()
            pool.join()
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
