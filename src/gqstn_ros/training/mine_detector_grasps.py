"""Label a one-shot detector's own grasps with the physical metric, as GQ-CNN training data.

GQ-STN learns, in its robustness-only phases, grasps that its frozen GQ-CNN rates robust but
that are not (wider and shallower crops than any the GQ-CNN saw: see the model card). This tool
collects exactly those grasps: for every image of the chosen splits, each detector state
predicts its grasp, a few jittered copies around it are added (the neighbourhood the cascade
explores while it climbs the GQ-CNN's gradient), and every grasp is labelled by the robust
Ferrari-Canny metric on the object's true mesh (`evaluate.PhysicalJudge`, what labelled the
dataset). The GQ-CNN crops are cut from the same views by the same `extract_crops`. The output
is one `.npz` that `train_gqcnn --extra-grasps` adds to its training (train split) and
validation (val split) sets. Test images are never mined.

Detector states: each `--runs` folder of `train_detector` gives two, its kept (best) model
`<kind>.pt` and the last epoch's model in `run.pt` (for GQ-STN after the robustness-only
phases, the one that fools its teacher most).

Usage: python -m gqstn_ros.training.mine_detector_grasps --dataset data/synthetic_v2
       --runs runs/v2/gqstn --output runs/mined/gqstn_v2.npz [--splits train val] [--jitter 2]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from gqstn_ros.networks.checkpoint import load_checkpoint
from gqstn_ros.preprocessing import (
    NetworkInputConfig,
    STNParameters,
    ViewWindow,
    extract_crops,
    stn_to_grasps,
    view_reference,
)
from gqstn_ros.training.common import set_threads
from gqstn_ros.training.data import load_images
from gqstn_ros.training.evaluate import PhysicalJudge
from gqstn_ros.training.train_detector import predict_params, wrap_grasp_angle

MINED_SPLITS = ("train", "val")


@dataclass(frozen=True)
class Jitter:
    """Standard deviations of the jittered copies around a detector's grasp."""

    translation: float = 0.02  # normalized view units (the view spans [-1, 1]): about 5 mm
    angle_rad: float = math.radians(10.0)
    scale_fraction: float = 0.08  # of s (the grasp width)
    depth_m: float = 0.005


def detector_states(run: Path) -> list[tuple[str, torch.nn.Module, str, NetworkInputConfig]]:
    """(name, model, kind, input config) of a train_detector run folder: its kept model and its
    last one (the same architecture and preprocessing)."""
    exported = sorted(p for p in run.glob("*.pt") if p.name != "run.pt")
    if len(exported) != 1:
        raise FileNotFoundError(f"{run}: expected one exported <kind>.pt, found {exported}")
    loaded = load_checkpoint(exported[0])
    kind, input_config = loaded.kind, loaded.input_config
    states = [(f"{run.name}:best", loaded.model, kind, input_config)]
    last_path = run / "run.pt"
    if last_path.is_file():
        last = load_checkpoint(exported[0]).model
        saved = torch.load(last_path, map_location="cpu", weights_only=True)
        last.load_state_dict(saved["model"])
        name = f"{run.name}:last(epoch {saved['state']['epoch']})"
        states.append((name, last, kind, input_config))
    return states


def jittered(
    params: torch.Tensor, depths: torch.Tensor, copies: int, jitter: Jitter, generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """The grasps (N, 4), (N,) followed by `copies` jittered copies of each: ((1+copies) N, .)."""
    if copies == 0:
        return params, depths
    count = len(params) * copies
    noise = torch.randn(count, 5, generator=generator)
    base, base_depth = params.repeat(copies, 1), depths.repeat(copies)
    moved = base.clone()
    moved[:, :2] += jitter.translation * noise[:, :2]
    moved[:, 2] = wrap_grasp_angle(base[:, 2] + jitter.angle_rad * noise[:, 2])
    moved[:, 3] = base[:, 3] * (1.0 + jitter.scale_fraction * noise[:, 3]).clamp(min=0.5)
    moved_depth = base_depth + jitter.depth_m * noise[:, 4]
    return torch.cat([params, moved]), torch.cat([depths, moved_depth])


def mine_split(
    dataset: Path,
    split: str,
    states: list[tuple[str, torch.nn.Module, str, NetworkInputConfig]],
    copies: int,
    jitter: Jitter,
    seed: int,
    limit: int | None = None,
) -> dict[str, np.ndarray]:
    """Every state's grasp (and jittered copies) on every image of `split`, labelled; the views
    are cut with the detectors' own preprocessing (stored in their checkpoints)."""
    input_config = states[0][3]
    if any(state[3] != input_config for state in states):
        raise ValueError("the detectors were trained on different view/crop geometries")
    images = load_images(dataset, split, input_config)
    count = len(images) if limit is None else min(limit, len(images))
    views = images.views[:count]
    generator = torch.Generator().manual_seed(seed)
    params_parts, depth_parts, image_parts, source_parts = [], [], [], []
    for source, (_name, model, _kind, _input) in enumerate(states):
        params, depths = predict_params(model, views)
        params, depths = jittered(params, depths, copies, jitter, generator)
        params_parts.append(params)
        depth_parts.append(depths)
        image_parts.append(np.tile(np.arange(count), 1 + copies))
        source_parts.append(np.full(len(params), source))
    params = torch.cat(params_parts)
    depths = torch.cat(depth_parts)
    image_rows = np.concatenate(image_parts)
    sources = np.concatenate(source_parts)
    # Keep what a detector could output: inside the view, a width within the stroke's range.
    inside = (params[:, :2].abs() < 0.98).all(dim=1) & (params[:, 3] > 0.02)
    params, depths = params[inside], depths[inside]
    image_rows, sources = image_rows[inside.numpy()], sources[inside.numpy()]

    window = ViewWindow.centered(images.raw_mm.shape[1:], input_config)
    values = params.numpy().astype(np.float64)
    centers, angles, widths = stn_to_grasps(
        STNParameters(values[:, 0], values[:, 1], values[:, 2], values[:, 3]), window
    )
    judge = PhysicalJudge(dataset, images, keep=False)
    robust = np.zeros(len(params), dtype=bool)
    for index in tqdm(range(count), desc=f"labelling {split}", unit="image", mininterval=2):
        rows = np.flatnonzero(image_rows == index)
        if len(rows):
            robust[rows] = judge.judge_many(
                index, centers[rows], angles[rows], widths[rows], depths[rows].numpy()
            )
    with torch.inference_mode():
        crops = extract_crops(
            views, params, input_config.crop_size, torch.from_numpy(image_rows)
        ).numpy()
        references = view_reference(views)[torch.from_numpy(image_rows)].numpy()
    return {
        "crops": crops.astype(np.float32),  # (N, 1, c, c) metres
        "depths": depths.numpy().astype(np.float32),  # gripper depth (m)
        "references": references.astype(np.float32),  # view median (m)
        "labels": robust.astype(np.int64),
        "stn_params": values.astype(np.float32),
        "image_labels": images.image_labels[image_rows],
        "object_labels": images.object_labels[image_rows],
        "sources": sources.astype(np.int64),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, required=True)
    parser.add_argument("--runs", type=Path, nargs="+", required=True, help="train_detector runs")
    parser.add_argument("--output", type=Path, required=True, help=".npz to write")
    parser.add_argument("--splits", nargs="+", choices=MINED_SPLITS, default=list(MINED_SPLITS))
    parser.add_argument("--jitter", type=int, default=2, help="jittered copies per grasp")
    parser.add_argument("--limit", type=int, default=None, help="first N images per split")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    if args.jitter < 0 or (args.limit is not None and args.limit < 1):
        parser.error("--jitter must be >= 0 and --limit >= 1")
    set_threads(args.threads)
    try:
        states = [state for run in args.runs for state in detector_states(run)]
    except (FileNotFoundError, ValueError, RuntimeError) as error:
        print(f"mine_detector_grasps: {error}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    arrays: dict[str, np.ndarray] = {}
    summary: dict[str, dict] = {}
    for split in args.splits:
        mined = mine_split(
            args.dataset, split, states, args.jitter, Jitter(), args.seed, args.limit
        )
        for key, value in mined.items():
            arrays[f"{split}_{key}"] = value
        per_source = {
            name: float(mined["labels"][mined["sources"] == source].mean())
            for source, (name, *_rest) in enumerate(states)
            if (mined["sources"] == source).any()
        }
        summary[split] = {
            "grasps": len(mined["labels"]),
            "robust": float(mined["labels"].mean()),
            "robust_by_source": per_source,
        }
        print(f"{split}: {json.dumps(summary[split])}", flush=True)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    metadata = {
        "dataset": str(args.dataset),
        "states": [name for name, *_rest in states],
        "jitter": vars(Jitter()) | {"copies": args.jitter},
        "command": ["gqstn_ros.training.mine_detector_grasps", *(argv or sys.argv[1:])],
        "summary": summary,
        "seconds": time.perf_counter() - started,
    }
    np.savez_compressed(args.output, metadata=np.array(json.dumps(metadata)), **arrays)
    print(f"wrote {args.output} ({metadata['seconds']:.0f} s)", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
