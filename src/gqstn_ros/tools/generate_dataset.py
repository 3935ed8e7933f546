"""Generate a synthetic grasp dataset (Dex-Net 2.0 TensorDataset layout), resumable, in parallel.

Objects are split into shards of `--objects-per-shard`; worker processes generate shards
(`gqstn_ros.datasets.generate`) and each finished shard is moved into place atomically, so an
interrupted run loses at most the shards in progress: run the same command again to resume
(the configuration and seed must match; `--objects` may grow). When every shard is done, the
shards are merged into

    <output>/images/   one datapoint per image (raw 16-bit depth window, intrinsics, poses)
    <output>/grasps/   one datapoint per grasp (32x32 crop, hand_poses, robust_ferrari_canny...)
    <output>/splits/object_wise/   object-wise train / val / test indices of both
    <output>/report.json           throughput and class balance per family and grasp source

Usage: python -m gqstn_ros.tools.generate_dataset --output data/synthetic --objects 300
       [--seed 0] [--workers 2] [--objects-per-shard 4] [--drops 3] [--views 2]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import sys
import time
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from gqstn_ros.datasets.generate import (
    GRASP_SOURCES,
    GenerationConfig,
    field_specs,
    generate_object_images,
)
from gqstn_ros.datasets.splits import object_wise_split, write_split
from gqstn_ros.datasets.tensor_dataset import FieldSpec, TensorDataset, TensorDatasetWriter
from gqstn_ros.grasping.robustness import RobustnessConfig

SPLIT_NAME = "object_wise"
SPLIT_FRACTIONS = (0.8, 0.1, 0.1)  # train, val, test, by objects
DATAPOINTS_PER_FILE = {"images": 100, "grasps": 5000}


class GenerationError(RuntimeError):
    pass


def _specs(fields: dict) -> dict[str, FieldSpec]:
    return {name: FieldSpec(dtype, tuple(shape)) for name, (dtype, shape) in fields.items()}


def shard_path(root: Path, shard: int) -> Path:
    return root / "shards" / f"shard_{shard:05d}"


def run_shard(job: tuple[Path, int, int, int, GenerationConfig]) -> dict:
    """Generate objects [first, first + count) into shard `shard` (in a worker process)."""
    root, shard, first, count, config = job
    # One process per core already: torch's own threads would only oversubscribe the cores
    # (crops are computed per pixel, so the result does not depend on it).
    torch.set_num_threads(1)
    final = shard_path(root, shard)
    if (final / "done.json").exists():
        return json.loads((final / "done.json").read_text())
    work = final.with_name(final.name + ".tmp")
    shutil.rmtree(work, ignore_errors=True)
    image_fields, grasp_fields = field_specs(config)
    seed = json.loads((root / "generation.json").read_text())["seed"]
    stats = {"shard": shard, "objects": count, "images": 0, "grasps": 0, "skipped": []}
    seconds: dict[str, float] = defaultdict(float)
    started = time.perf_counter()
    with (
        TensorDatasetWriter(work / "images", _specs(image_fields), 10**6) as images,
        TensorDatasetWriter(work / "grasps", _specs(grasp_fields), 10**7) as grasps,
    ):
        for object_index in range(first, first + count):
            result = generate_object_images(object_index, seed, config)
            result.grasps["image_labels"] = result.grasps["image_labels"] + images.num_datapoints
            images.add(**result.images)
            grasps.add(**result.grasps)
            stats["skipped"] += [f"object {object_index}: {s}" for s in result.skipped_drops]
            for stage, value in result.seconds.items():
                seconds[stage] += value
        stats["images"], stats["grasps"] = images.num_datapoints, grasps.num_datapoints
    stats["seconds"] = dict(seconds)
    stats["wall_seconds"] = time.perf_counter() - started
    (work / "done.json").write_text(json.dumps(stats))
    shutil.rmtree(final, ignore_errors=True)
    os.replace(work, final)
    return stats


# Label-model fields added after datasets were first written, with the values that reproduce
# the labels those datasets hold (a manifest without them was generated before they existed).
LEGACY_ROBUSTNESS_FIELDS = {"squeeze_alignment_max_angle": 0.0, "parallel_face_tolerance": 0.1}
# Gripper fields a manifest written before they existed lacks: the 2F-85 values, which those
# datasets were generated with (the fields did not change their labels).
LEGACY_GRIPPER_FIELDS = {"min_grip_force": 20.0, "grip_force": 60.0, "pad_friction": 0.5}


def _check_or_write_manifest(root: Path, config: GenerationConfig, seed: int) -> None:
    manifest = {"seed": seed, "config": json.loads(json.dumps(config.to_dict()))}
    path = root / "generation.json"
    if path.exists():
        existing = json.loads(path.read_text())
        robustness = existing.get("config", {}).get("robustness")
        if isinstance(robustness, dict):
            for name, value in LEGACY_ROBUSTNESS_FIELDS.items():
                robustness.setdefault(name, value)
        gripper = existing.get("config", {}).get("gripper")
        if isinstance(gripper, dict):
            for name, value in LEGACY_GRIPPER_FIELDS.items():
                gripper.setdefault(name, value)
        if existing != manifest:
            differing = [
                k for k in manifest["config"] if existing["config"].get(k) != manifest["config"][k]
            ]
            if existing["seed"] != seed:
                differing.append("seed")
            raise GenerationError(
                f"{path} was written with another configuration (differs in {differing}): "
                "use another --output, or the same options to resume"
            )
        return
    root.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(manifest, indent=2))


def merge_shards(root: Path, num_shards: int, config: GenerationConfig, seed: int) -> dict:
    """Concatenate the shards into root/images and root/grasps; write splits and the report."""
    image_fields, grasp_fields = field_specs(config)
    for name in ("images", "grasps"):
        shutil.rmtree(root / name, ignore_errors=True)
    shard_stats = []
    with (
        TensorDatasetWriter(
            root / "images", _specs(image_fields), DATAPOINTS_PER_FILE["images"],
            metadata={"generation": "generation.json"},
        ) as images,
        TensorDatasetWriter(
            root / "grasps", _specs(grasp_fields), DATAPOINTS_PER_FILE["grasps"],
            metadata={
                "robust_threshold": config.robustness.robust_threshold,
                "grasp_sources": list(GRASP_SOURCES),
                "families": list(config.families),
            },
        ) as grasps,
    ):  # fmt: skip
        for shard in range(num_shards):
            path = shard_path(root, shard)
            shard_stats.append(json.loads((path / "done.json").read_text()))
            shard_images = TensorDataset(path / "images")
            shard_grasps = TensorDataset(path / "grasps")
            offset = images.num_datapoints
            batch = {f: shard_images.field(f) for f in shard_images.field_names}
            images.add(**batch)
            batch = {f: shard_grasps.field(f) for f in shard_grasps.field_names}
            batch["image_labels"] = batch["image_labels"] + offset
            grasps.add(**batch)
    images_set, grasps_set = TensorDataset(root / "images"), TensorDataset(root / "grasps")
    # Objects are assigned to parts once (by their images), then both datasets follow.
    image_objects = images_set.field("object_labels")
    image_parts = object_wise_split(image_objects, SPLIT_FRACTIONS, seed)
    part_objects = {name: np.unique(image_objects[rows]) for name, rows in image_parts.items()}
    for dataset_root, dataset in ((root / "images", images_set), (root / "grasps", grasps_set)):
        objects = dataset.field("object_labels")
        write_split(
            dataset_root,
            SPLIT_NAME,
            {name: np.flatnonzero(np.isin(objects, ids)) for name, ids in part_objects.items()},
            overwrite=True,
        )
    return build_report(grasps_set, shard_stats, config)


def build_report(grasps: TensorDataset, shard_stats: list[dict], config: GenerationConfig) -> dict:
    quality = grasps.field("robust_ferrari_canny")
    robust = quality >= config.robustness.robust_threshold
    families = grasps.field("family_labels")
    sources = grasps.field("grasp_sources")
    balance = {}
    for index, family in enumerate(config.families):
        mask = families == index
        row = {
            "grasps": int(mask.sum()),
            "robust_share": float(robust[mask].mean()) if mask.any() else 0.0,
        }
        for source_index, source in enumerate(GRASP_SOURCES):
            both = mask & (sources == source_index)
            row[f"{source}_robust_share"] = float(robust[both].mean()) if both.any() else 0.0
        balance[family] = row
    images = sum(s["images"] for s in shard_stats)
    cpu_seconds = sum(s["wall_seconds"] for s in shard_stats)
    stages: dict[str, float] = defaultdict(float)
    for stats in shard_stats:
        for stage, value in stats["seconds"].items():
            stages[stage] += value
    return {
        "images": images,
        "grasps": len(quality),
        "robust_share": float(robust.mean()),
        "worker_seconds": cpu_seconds,
        "images_per_worker_second": images / max(cpu_seconds, 1e-9),
        "stage_seconds_per_image": {k: v / max(images, 1) for k, v in stages.items()},
        "class_balance": balance,
        "skipped": [s for stats in shard_stats for s in stats["skipped"]],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--objects", type=int, default=300, help="objects (each gives images)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--objects-per-shard", type=int, default=4)
    parser.add_argument("--drops", type=int, default=GenerationConfig.drops_per_object)
    parser.add_argument("--views", type=int, default=GenerationConfig.views_per_drop)
    parser.add_argument("--families", nargs="*", default=None, help="default: all families")
    parser.add_argument(
        "--squeeze-alignment-deg",
        type=float,
        default=float(np.rad2deg(RobustnessConfig.squeeze_alignment_max_angle)),
        help="label model: the largest turn (degrees) by which the squeeze lays two parallel "
        "object faces flush on the pads (RobustnessConfig.squeeze_alignment_max_angle); 0 "
        "reproduces the labels of datasets written before it existed (synthetic_v1, v2)",
    )
    args = parser.parse_args(argv)
    for name in ("objects", "workers", "objects_per_shard"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1")
    try:
        config = GenerationConfig(drops_per_object=args.drops, views_per_drop=args.views)
        if args.families:
            config = replace(config, families=tuple(args.families))
        robustness = replace(
            config.robustness,
            squeeze_alignment_max_angle=round(float(np.deg2rad(args.squeeze_alignment_deg)), 4),
        )
        config = replace(config, robustness=robustness)
    except ValueError as error:
        parser.error(str(error))
    root: Path = args.output
    try:
        _check_or_write_manifest(root, config, args.seed)
    except GenerationError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    per_shard = args.objects_per_shard
    num_shards = -(-args.objects // per_shard)
    jobs = [
        (root, shard, shard * per_shard, min(per_shard, args.objects - shard * per_shard), config)
        for shard in range(num_shards)
    ]
    pending = [job for job in jobs if not (shard_path(root, job[1]) / "done.json").exists()]
    done_objects = args.objects - sum(job[3] for job in pending)
    print(
        f"dataset {root}: {args.objects} objects in {num_shards} shards, {len(pending)} to do, "
        f"{args.workers} workers",
        flush=True,
    )
    started = time.perf_counter()
    new_images = 0
    with tqdm(total=args.objects, initial=done_objects, unit="object", dynamic_ncols=True) as bar:
        if pending:
            context = multiprocessing.get_context("spawn")
            with context.Pool(min(args.workers, len(pending))) as pool:
                for stats in pool.imap_unordered(run_shard, pending):
                    new_images += stats["images"]
                    bar.update(stats["objects"])
                    elapsed = time.perf_counter() - started
                    bar.set_postfix(images=new_images, images_per_s=f"{new_images / elapsed:.1f}")
    elapsed = time.perf_counter() - started
    report = merge_shards(root, num_shards, config, args.seed)
    if pending:
        report["wall_seconds_this_run"] = elapsed
        report["images_per_second_this_run"] = new_images / max(elapsed, 1e-9)
    (root / "report.json").write_text(json.dumps(report, indent=2))
    print_report(report)
    return 0


def print_report(report: dict) -> None:
    print(
        f"{report['images']} images, {report['grasps']} grasps, "
        f"{100 * report['robust_share']:.1f} % robust"
    )
    if "images_per_second_this_run" in report:
        rate = report["images_per_second_this_run"]
        print(
            f"this run: {rate:.2f} images/s, "
            f"{rate * report['grasps'] / max(report['images'], 1):.0f} labelled grasps/s"
        )
    print(
        f"{'family':13s} {'grasps':>7s} {'robust %':>8s} {'mesh %':>7s} {'image %':>7s} "
        f"{'random %':>8s}"
    )
    for family, row in report["class_balance"].items():
        print(
            f"{family:13s} {row['grasps']:7d} {100 * row['robust_share']:8.1f} "
            f"{100 * row['mesh_robust_share']:7.1f} {100 * row['image_robust_share']:7.1f} "
            f"{100 * row['random_robust_share']:8.1f}"
        )
    if report["skipped"]:
        print(f"{len(report['skipped'])} settled poses skipped, e.g. {report['skipped'][0]}")


if __name__ == "__main__":
    raise SystemExit(main())
