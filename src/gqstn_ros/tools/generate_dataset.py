"""Generate a synthetic grasp dataset (Dex-Net 2.0 TensorDataset layout), resumable, in parallel.

Scenes are split into shards of `--objects-per-shard` scenes; workers generate shards
(`gqstn_ros.datasets.generate`) and each finished shard is moved into place atomically, so an
interrupted run loses at most the shards in progress: run the same command again to resume
(the configuration and seed must match; `--scenes` may grow). The workers are local processes
(`--engine process`) or a Dask cluster (`--engine dask`: a local cluster of `--workers`
processes, or the scheduler at `--scheduler ADDRESS`, whose workers must see `--output` on a
shared file system and have gqstn_ros installed); both write the same shards. When every shard
is done, the shards are merged into

    <output>/images/   one datapoint per image (raw 16-bit depth window, intrinsics, camera, poses)
    <output>/grasps/   one datapoint per grasp (32x32 crop, hand_poses, robust_ferrari_canny...)
    <output>/splits/object_wise/   scene-wise (hence object-wise) train / val / test indices
    <output>/report.json           throughput and class balance per family, camera, gripper,
                                   grasp source and objects per scene

(`python -m gqstn_ros.tools.dataset_report <output>` recomputes and prints the class balance of a
finished dataset from its small fields.)

Usage: python -m gqstn_ros.tools.generate_dataset --output data/synthetic --scenes 300
       [--seed 0] [--workers 2] [--objects-per-shard 4] [--drops 3] [--views 2]
       [--camera kinect_v1:0.4 --camera realsense_d415:0.3 ...] [--gripper robotiq_2f85]
       [--families box mug ...] [--hold-out-families tool ...] [--hold-out-cameras NAME ...]
       [--objects-per-scene 1-6] [--scene-layout pile|spread] [--engine process|dask]

Without `--camera` the dataset is seen by the legacy camera (Kinect v1 intrinsics and noise,
0.62-0.78 m above the table, stored as a 320-pixel window): the defaults reproduce the datasets
generated before camera profiles existed, manifest and data.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
import shutil
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from gqstn_ros.datasets.generate import (
    GRASP_SOURCES,
    SCENE_LAYOUTS,
    CameraSpec,
    GenerationConfig,
    complete_legacy_images,
    field_specs,
    generate_object_images,
)
from gqstn_ros.datasets.splits import object_wise_split, write_split
from gqstn_ros.datasets.tensor_dataset import FieldSpec, TensorDataset, TensorDatasetWriter
from gqstn_ros.grasping.robustness import RobustnessConfig
from gqstn_ros.gripper import GripperConfig
from gqstn_ros.preprocessing import pixel_window_in_metres
from gqstn_ros.profiles import ProfileError, load_camera_profile, load_gripper_profile
from gqstn_ros.sim import objects as object_families
from gqstn_ros.tools.dataset_report import class_balance, print_class_balance

SPLIT_NAME = "object_wise"
SPLIT_FRACTIONS = (0.8, 0.1, 0.1)  # train, val, test, by scenes (hence by objects)
DATAPOINTS_PER_FILE = {"images": 100, "grasps": 5000}
ENGINES = ("process", "dask")
ALL_FAMILIES_NAME = "all"  # --families all: every family, the extended ones too


class GenerationError(RuntimeError):
    pass


def _specs(fields_: dict) -> dict[str, FieldSpec]:
    return {name: FieldSpec(dtype, tuple(shape)) for name, (dtype, shape) in fields_.items()}


def shard_path(root: Path, shard: int) -> Path:
    return root / "shards" / f"shard_{shard:05d}"


def run_shard(job: tuple[Path, int, int, int, GenerationConfig]) -> dict:
    """Generate scenes [first, first + count) into shard `shard` (in a worker process)."""
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
        for scene_index in range(first, first + count):
            result = generate_object_images(scene_index, seed, config)
            result.grasps["image_labels"] = result.grasps["image_labels"] + images.num_datapoints
            images.add(**result.images)
            grasps.add(**result.grasps)
            stats["skipped"] += [f"scene {scene_index}: {s}" for s in result.skipped_drops]
            for stage, value in result.seconds.items():
                seconds[stage] += value
        stats["images"], stats["grasps"] = images.num_datapoints, grasps.num_datapoints
    stats["seconds"] = dict(seconds)
    stats["wall_seconds"] = time.perf_counter() - started
    (work / "done.json").write_text(json.dumps(stats))
    shutil.rmtree(final, ignore_errors=True)
    os.replace(work, final)
    return stats


# Fields added after datasets were first written, with the values that reproduce the datasets
# a manifest without them describes (it was generated before they existed). A default-valued
# generation field is left out of a new manifest, so that the defaults write the manifest they
# always wrote.
LEGACY_ROBUSTNESS_FIELDS = {
    "squeeze_alignment_max_angle": 0.0,
    "parallel_face_tolerance": 0.1,
    "weight_safety_factor": 0.0,
    "flush_tolerance": 0.001,
    # The lift-calibrated label models (RobustnessConfig.lift_calibrated), off by default.
    "exact_descent": False,
    "palm_stop_tolerance": 0.0,
    "descent_push_force": 0.0,
    "finger_yield": False,
    "rim_contact_by_facing": False,
    "squeeze_turn_step": 0.0,
    "nominal_must_hold": False,
    "weight_cone_edges": 4,
    "elliptic_limit_surface": False,
}
LEGACY_GRIPPER_FIELDS = {"min_grip_force": 20.0, "grip_force": 60.0, "pad_friction": 0.5}
LEGACY_NETWORK_INPUT_FIELDS = {"view_size_m": 0.0}
LATER_GENERATION_FIELDS = (
    "cameras", "objects_per_scene", "scene_layout", "held_out_families", "held_out_cameras",
    "share_view_grasps",
)  # fmt: skip


def manifest_config(config: GenerationConfig) -> dict:
    """The configuration as the manifest records it (JSON values): every field, except the
    generation fields added later while they hold their defaults."""
    data = json.loads(json.dumps(config.to_dict()))
    defaults = json.loads(json.dumps(GenerationConfig().to_dict()))
    for name in LATER_GENERATION_FIELDS:
        if data[name] == defaults[name]:
            del data[name]
    return data


def _with_legacy_fields(existing: dict, current: dict) -> dict:
    """An older manifest's configuration completed with the fields it predates."""
    config = json.loads(json.dumps(existing))
    for section, legacy in (
        ("robustness", LEGACY_ROBUSTNESS_FIELDS),
        ("gripper", LEGACY_GRIPPER_FIELDS),
        ("network_input", LEGACY_NETWORK_INPUT_FIELDS),
    ):
        old, new = config.get(section), current.get(section)
        if isinstance(old, dict) and isinstance(new, dict):
            for name, value in legacy.items():
                if name in new:
                    old.setdefault(name, value)
    return config


def _check_or_write_manifest(root: Path, config: GenerationConfig, seed: int) -> None:
    manifest = {"seed": seed, "config": manifest_config(config)}
    path = root / "generation.json"
    if path.exists():
        existing = json.loads(path.read_text())
        existing_config = _with_legacy_fields(existing.get("config", {}), manifest["config"])
        if existing_config != manifest["config"] or existing.get("seed") != seed:
            names = set(manifest["config"]) | set(existing_config)
            differing = sorted(
                k for k in names if existing_config.get(k) != manifest["config"].get(k)
            )
            if existing.get("seed") != seed:
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
            metadata={"generation": "generation.json", "cameras": list(config.camera_names)},
        ) as images,
        TensorDatasetWriter(
            root / "grasps", _specs(grasp_fields), DATAPOINTS_PER_FILE["grasps"],
            metadata={
                "robust_threshold": config.robustness.robust_threshold,
                "grasp_sources": list(GRASP_SOURCES),
                "families": list(config.families),
                "cameras": list(config.camera_names),
                "gripper": config.gripper.name,
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
            images.add(**complete_legacy_images(batch))
            batch = {f: shard_grasps.field(f) for f in shard_grasps.field_names}
            batch["image_labels"] = batch["image_labels"] + offset
            grasps.add(**batch)
            # Complete files go to disk shard by shard: memory holds one file's worth at most.
            images.flush()
            grasps.flush()
    images_set, grasps_set = TensorDataset(root / "images"), TensorDataset(root / "grasps")
    # Scenes are assigned to parts once (by their images); every grasp follows its image.
    # An object is in one scene only, so no object is in two parts.
    image_parts = object_wise_split(images_set.field("scene_labels"), SPLIT_FRACTIONS, seed)
    grasp_images = grasps_set.field("image_labels")
    write_split(root / "images", SPLIT_NAME, image_parts, overwrite=True)
    write_split(
        root / "grasps",
        SPLIT_NAME,
        {name: np.flatnonzero(np.isin(grasp_images, rows)) for name, rows in image_parts.items()},
        overwrite=True,
    )
    return build_report(images_set, grasps_set, shard_stats, config)


def build_report(
    images: TensorDataset, grasps: TensorDataset, shard_stats: list[dict], config: GenerationConfig
) -> dict:
    """The dataset's report.json: totals, worker throughput and time per stage (from the
    shards' statistics), the class balance (`dataset_report.class_balance`: per family,
    camera, gripper, grasp source and objects per scene) and what was held out or skipped."""
    balance = class_balance(
        images,
        grasps,
        families=config.families,
        cameras=config.camera_names,
        gripper=config.gripper.name,
        robust_threshold=config.robustness.robust_threshold,
        grasp_sources=GRASP_SOURCES,
    )
    image_count = sum(s["images"] for s in shard_stats)
    cpu_seconds = sum(s["wall_seconds"] for s in shard_stats)
    stages: dict[str, float] = defaultdict(float)
    for stats in shard_stats:
        for stage, value in stats["seconds"].items():
            stages[stage] += value
    return {
        "images": image_count,
        "grasps": grasps.num_datapoints,
        "robust_share": balance["class_balance_per_gripper"][config.gripper.name]["robust_share"],
        "worker_seconds": cpu_seconds,
        "images_per_worker_second": image_count / max(cpu_seconds, 1e-9),
        "stage_seconds_per_image": {k: v / max(image_count, 1) for k, v in stages.items()},
        **balance,
        "held_out_families": list(config.held_out_families),
        "held_out_cameras": list(config.held_out_cameras),
        "skipped": [s for stats in shard_stats for s in stats["skipped"]],
    }


# ----------------------------------------------------------------------------- options
def resolve_families(names: list[str], option: str) -> tuple[str, ...]:
    """Family names, group names and "all" (every family) -> family names (in the order given,
    no duplicates)."""
    groups = object_families.FAMILY_GROUPS
    out: list[str] = []
    for name in names:
        if name == ALL_FAMILIES_NAME:
            members = list(object_families.ALL_FAMILIES)
        elif name in groups:
            members = list(groups[name])
        else:
            try:
                object_families.check_family(name)
            except ValueError:
                raise ValueError(
                    f"{option}: unknown family or group {name!r} (families: "
                    f"{', '.join(object_families.ALL_FAMILIES)}; groups: {', '.join(groups)})"
                ) from None
            members = [name]
        out += [m for m in members if m not in out]
    return tuple(out)


def parse_cameras(values: list[str]) -> tuple[CameraSpec, ...]:
    """`--camera NAME[:SHARE]` values -> camera specs whose shares sum to 1. Cameras without a
    share split what the others leave equally."""
    names, shares = [], []
    for value in values:
        name, _, share_text = value.partition(":")
        share = None
        if share_text:
            try:
                share = float(share_text)
            except ValueError:
                raise ValueError(f"--camera {value}: the share must be a number") from None
            if not (math.isfinite(share) and 0 < share <= 1):
                raise ValueError(f"--camera {value}: the share must be in (0, 1]")
        if name in names:
            raise ValueError(f"--camera {name} is given twice")
        names.append(name)
        shares.append(share)
    given = sum(s for s in shares if s is not None)
    missing = [i for i, s in enumerate(shares) if s is None]
    if given > 1 + 1e-6 or (not missing and abs(given - 1) > 1e-3):
        raise ValueError(f"--camera shares must sum to 1, got {given:g}")
    if missing:
        left = 1.0 - given
        if left <= 1e-9:
            raise ValueError("--camera: the shares given leave nothing for the cameras without one")
        for i in missing:
            shares[i] = left / len(missing)
    total = sum(shares)
    specs = []
    for name, share in zip(names, shares, strict=True):
        try:
            profile = load_camera_profile(name)
        except ProfileError as error:
            raise ValueError(f"--camera: {error}") from None
        specs.append(CameraSpec.from_profile(profile, round(share / total, 6)))
    # Rounded shares: the last camera takes the remainder so that they sum to exactly 1.
    remainder = round(1.0 - sum(s.share for s in specs[:-1]), 6)
    specs[-1] = replace(specs[-1], share=remainder)
    return tuple(specs)


def parse_object_count(text: str) -> tuple[int, int]:
    """ "N" or "A-B" -> (least, most) objects per scene."""
    low, dash, high = text.partition("-")
    try:
        bounds = (int(low), int(high)) if dash else (int(low), int(low))
    except ValueError:
        raise ValueError(f"--objects-per-scene {text!r}: give N or A-B (whole numbers)") from None
    if not 1 <= bounds[0] <= bounds[1]:
        raise ValueError(f"--objects-per-scene {text!r}: need 1 <= A <= B")
    return bounds


def check_gripper_closes(families: tuple[str, ...], gripper: GripperConfig) -> None:
    """Raise ValueError naming every family whose objects, sized for the gripper's stroke, the
    gripper cannot close on (narrower than it closes to, or wider than it opens); the families
    made to defeat the gripper pass."""
    refused = []
    for family in families:
        try:
            object_families.check_family_fits_gripper(
                family, gripper.min_width, gripper.max_width, stroke=gripper.max_width
            )
        except ValueError as error:
            refused.append(str(error))
    if refused:
        raise ValueError(f"gripper {gripper.name} cannot close on: {'; '.join(refused)}")


def config_from_args(args: argparse.Namespace) -> GenerationConfig:
    """The generation configuration of the command line; ValueError names the option."""
    config = GenerationConfig(
        drops_per_object=args.drops,
        views_per_drop=args.views,
        mesh_grasps=args.mesh_grasps,
        image_grasps=args.image_grasps,
        random_grasps=args.random_grasps,
        share_view_grasps=args.share_view_grasps,
    )
    families = resolve_families(args.families, "--families") if args.families else config.families
    held_out = resolve_families(args.hold_out_families, "--hold-out-families")
    families = tuple(f for f in families if f not in held_out)
    if not families:
        raise ValueError("--families: every family requested is held out")
    gripper = config.gripper
    if args.gripper:
        try:
            gripper = load_gripper_profile(args.gripper)
        except ProfileError as error:
            raise ValueError(f"--gripper: {error}") from None
    cameras = parse_cameras(args.camera) if args.camera else ()
    for name in args.hold_out_cameras:
        try:
            load_camera_profile(name)
        except ProfileError as error:
            raise ValueError(f"--hold-out-cameras: {error}") from None
    view_size_m = args.view_size_m
    if view_size_m is None:
        view_size_m = round(pixel_window_in_metres(config.network_input.view_size_px), 4)
        view_size_m = view_size_m if cameras else 0.0
    if not (math.isfinite(args.weight_safety_factor) and args.weight_safety_factor >= 0):
        raise ValueError(f"--weight-safety-factor must be >= 0, got {args.weight_safety_factor}")
    robustness = replace(
        config.robustness,
        squeeze_alignment_max_angle=round(float(np.deg2rad(args.squeeze_alignment_deg)), 4),
        weight_safety_factor=float(args.weight_safety_factor),
    )
    config = replace(
        config,
        families=families,
        gripper=gripper,
        cameras=cameras,
        network_input=replace(config.network_input, view_size_m=view_size_m),
        robustness=robustness,
        objects_per_scene=parse_object_count(args.objects_per_scene),
        scene_layout=args.scene_layout,
        held_out_families=tuple(f for f in held_out if f not in families),
        held_out_cameras=tuple(args.hold_out_cameras),
    )
    check_gripper_closes(config.families, config.gripper)
    return config


# ----------------------------------------------------------------------------- engines
Job = tuple[Path, int, int, int, GenerationConfig]


def run_process_pool(jobs: list[Job], workers: int) -> Iterator[dict]:
    """Shard statistics as local worker processes finish them."""
    context = multiprocessing.get_context("spawn")
    with context.Pool(min(workers, len(jobs))) as pool:
        yield from pool.imap_unordered(run_shard, jobs)


def run_dask(jobs: list[Job], workers: int, scheduler: str | None) -> Iterator[dict]:
    """Shard statistics as Dask workers finish them: on the cluster at `scheduler`, else on a
    local cluster of `workers` single-threaded processes."""
    from distributed import Client, LocalCluster, as_completed  # noqa: PLC0415

    cluster = None
    if scheduler:
        client = Client(scheduler)
    else:
        cluster = LocalCluster(
            n_workers=min(workers, len(jobs)),
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
        )
        client = Client(cluster)
    try:
        futures = client.map(run_shard, jobs, pure=False)
        for future in as_completed(futures):
            yield future.result()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def add_generation_options(parser: argparse.ArgumentParser) -> None:
    """The options that make a `GenerationConfig` (`config_from_args`)."""
    parser.add_argument("--drops", type=int, default=GenerationConfig.drops_per_object)
    parser.add_argument("--views", type=int, default=GenerationConfig.views_per_drop)
    parser.add_argument(
        "--mesh-grasps", type=int, default=GenerationConfig.mesh_grasps,
        help="antipodal grasps on the true meshes per settled scene",
    )  # fmt: skip
    parser.add_argument(
        "--image-grasps", type=int, default=GenerationConfig.image_grasps,
        help="antipodal grasps on the depth image per view",
    )  # fmt: skip
    parser.add_argument(
        "--random-grasps", type=int, default=GenerationConfig.random_grasps,
        help="random grasps per view (hard negatives)",
    )  # fmt: skip
    parser.add_argument(
        "--share-view-grasps", action="store_true",
        help="every image of a settled scene shows the labelled grasps of all its views (each "
        "labelled once): more grasps per image for the same labels",
    )  # fmt: skip
    parser.add_argument(
        "--families", nargs="*", default=None,
        help="families, family groups or 'all'; default: the original fifteen families",
    )  # fmt: skip
    parser.add_argument(
        "--hold-out-families", nargs="*", default=[],
        help="families or groups kept out of the dataset (recorded for generalization tests)",
    )  # fmt: skip
    parser.add_argument(
        "--camera", action="append", default=[], metavar="NAME[:SHARE]",
        help="a camera profile and its share of the views (repeat to mix cameras; cameras "
        "without a share split the rest equally); default: the legacy Kinect v1 camera",
    )  # fmt: skip
    parser.add_argument(
        "--hold-out-cameras", nargs="*", default=[],
        help="camera profiles kept out of the dataset (recorded for generalization tests)",
    )  # fmt: skip
    parser.add_argument(
        "--gripper", default=None,
        help="gripper profile (labels, grasp widths, object sizes); default: Robotiq 2F-85",
    )  # fmt: skip
    parser.add_argument(
        "--view-size-m", type=float, default=None,
        help="store each view as the window this wide in metres at the table, resampled to "
        "320 px (0: 320 sensor pixels); default: 0 for the legacy camera, else the window a "
        "320-pixel Kinect view covers at 0.70 m",
    )  # fmt: skip
    parser.add_argument(
        "--objects-per-scene", default="1", help="N or A-B objects per scene (default 1)"
    )
    parser.add_argument("--scene-layout", choices=SCENE_LAYOUTS, default="pile")
    parser.add_argument(
        "--squeeze-alignment-deg",
        type=float,
        default=float(np.rad2deg(RobustnessConfig.squeeze_alignment_max_angle)),
        help="label model: the largest turn (degrees) by which the squeeze lays two parallel "
        "object faces flush on the pads (RobustnessConfig.squeeze_alignment_max_angle); 0 "
        "reproduces the labels of datasets written before it existed (synthetic_v1, v2)",
    )
    parser.add_argument(
        "--weight-safety-factor", type=float,
        default=RobustnessConfig.weight_safety_factor,
        help="label model: the contacts must hold this many times the object's weight with the "
        "gripper's grip force (RobustnessConfig.weight_safety_factor); 0 labels with the mesh "
        "alone, as datasets written before the weight step (synthetic_v1 to v3)",
    )  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument(
        "--scenes", "--objects", dest="scenes", type=int, default=300,
        help="scenes (each gives drops x views images); with one object per scene, objects",
    )  # fmt: skip
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--objects-per-shard", type=int, default=4, help="scenes per shard")
    parser.add_argument("--engine", choices=ENGINES, default="process")
    parser.add_argument(
        "--scheduler", default=None, help="Dask scheduler address (with --engine dask)"
    )
    add_generation_options(parser)
    args = parser.parse_args(argv)
    for name in ("scenes", "workers", "objects_per_shard"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1")
    if args.scheduler and args.engine != "dask":
        parser.error("--scheduler needs --engine dask")
    try:
        config = config_from_args(args)
    except ValueError as error:
        parser.error(str(error))
    root: Path = args.output
    try:
        _check_or_write_manifest(root, config, args.seed)
    except GenerationError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    per_shard = args.objects_per_shard
    num_shards = -(-args.scenes // per_shard)
    jobs = [
        (root, shard, shard * per_shard, min(per_shard, args.scenes - shard * per_shard), config)
        for shard in range(num_shards)
    ]
    pending = [job for job in jobs if not (shard_path(root, job[1]) / "done.json").exists()]
    done_scenes = args.scenes - sum(job[3] for job in pending)
    print(
        f"dataset {root}: {args.scenes} scenes in {num_shards} shards, {len(pending)} to do, "
        f"{args.workers} workers ({args.engine})",
        flush=True,
    )
    started = time.perf_counter()
    new_images = 0
    with tqdm(total=args.scenes, initial=done_scenes, unit="scene", dynamic_ncols=True) as bar:
        if pending:
            results = (
                run_dask(pending, args.workers, args.scheduler)
                if args.engine == "dask"
                else run_process_pool(pending, args.workers)
            )
            for stats in results:
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
    """Print the totals, this run's rate and the class balance tables of a report."""
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
    print_class_balance(report)
    if report["skipped"]:
        print(f"{len(report['skipped'])} settled poses skipped, e.g. {report['skipped'][0]}")


if __name__ == "__main__":
    raise SystemExit(main())
