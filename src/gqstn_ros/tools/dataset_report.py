"""Class balance of a generated grasp dataset: per family, camera, gripper, grasp source and
number of objects per scene.

Usage: python -m gqstn_ros.tools.dataset_report data/world_v1 [--json PATH]

`generate_dataset` writes this balance into `<dataset>/report.json` when it merges its shards;
this command computes it again from a finished dataset folder (`images/`, `grasps/` as
`generate_dataset` writes them) and prints the tables `generate_dataset` prints at its end.
It reads only the small per-datapoint fields (`GRASP_FIELDS`, `IMAGE_FIELDS`: a few bytes per
grasp), never the crops or depth images, so a dataset of millions of grasps needs some tens of
megabytes. A grasp is robust when its `robust_ferrari_canny` reaches the dataset's
`robust_threshold` (grasps metadata); its camera is the camera of the image it belongs to.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from gqstn_ros.datasets.tensor_dataset import DatasetError, TensorDataset

GRASP_FIELDS = ("robust_ferrari_canny", "image_labels", "family_labels", "grasp_sources")
IMAGE_FIELDS = ("camera_ids", "object_counts")
# Grasps metadata `generate_dataset` records and the balance needs.
GRASP_METADATA = ("robust_threshold", "families", "cameras", "gripper", "grasp_sources")


def _balance(robust: np.ndarray, mask: np.ndarray) -> dict:
    return {
        "grasps": int(mask.sum()),
        "robust_share": float(robust[mask].mean()) if mask.any() else 0.0,
    }


def class_balance(
    images: TensorDataset,
    grasps: TensorDataset,
    *,
    families: Sequence[str],
    cameras: Sequence[str],
    gripper: str,
    robust_threshold: float,
    grasp_sources: Sequence[str],
) -> dict:
    """The class balance entries of a dataset's report.

    families / cameras / grasp_sources: the names of the values 0, 1, ... of the grasps'
    `family_labels`, the images' `camera_ids` and the grasps' `grasp_sources`. gripper: the one
    gripper the dataset was labelled for. Every row holds `grasps` and `robust_share` (0 when
    it has no grasp); camera, gripper and object-count rows also hold `images`; family rows the
    robust share of each grasp source. Reads only `GRASP_FIELDS` and `IMAGE_FIELDS`.
    """
    for dataset, names in ((grasps, GRASP_FIELDS), (images, IMAGE_FIELDS)):
        missing = [name for name in names if name not in dataset.fields]
        if missing:
            raise DatasetError(f"{dataset.root}: no field {', '.join(missing)}")
    robust = grasps.field("robust_ferrari_canny") >= robust_threshold
    family_labels = grasps.field("family_labels")
    sources = grasps.field("grasp_sources")
    grasp_images = grasps.field("image_labels").astype(np.int64)
    image_cameras = images.field("camera_ids")
    image_counts = images.field("object_counts")
    if len(grasp_images) and grasp_images.max() >= len(image_cameras):
        raise DatasetError(
            f"{grasps.root}: image_labels reach {grasp_images.max()}, "
            f"{images.root} holds {len(image_cameras)} images"
        )
    grasp_cameras = image_cameras[grasp_images]
    grasp_counts = image_counts[grasp_images]
    per_family = {}
    for index, family in enumerate(families):
        mask = family_labels == index
        row = _balance(robust, mask)
        for source_index, source in enumerate(grasp_sources):
            both = mask & (sources == source_index)
            row[f"{source}_robust_share"] = float(robust[both].mean()) if both.any() else 0.0
        per_family[family] = row
    per_camera = {
        name: {
            "images": int((image_cameras == index).sum()),
            **_balance(robust, grasp_cameras == index),
        }
        for index, name in enumerate(cameras)
    }
    per_count = {
        str(int(n)): {
            "images": int((image_counts == n).sum()),
            **_balance(robust, grasp_counts == n),
        }
        for n in np.unique(image_counts)
    }
    per_source = {name: _balance(robust, sources == i) for i, name in enumerate(grasp_sources)}
    everything = np.ones(len(robust), dtype=bool)
    return {
        "class_balance": per_family,
        "class_balance_per_camera": per_camera,
        "gripper": gripper,
        "class_balance_per_gripper": {
            gripper: {"images": len(image_cameras), **_balance(robust, everything)}
        },
        "class_balance_per_source": per_source,
        "class_balance_per_object_count": per_count,
    }


def dataset_report(root: str | Path) -> dict:
    """The class balance of the dataset in `root` (`root/images`, `root/grasps`), with its
    totals: images, grasps, robust_share and the `class_balance` entries. Raises DatasetError
    when the folder is not such a dataset (a message naming what is missing)."""
    root = Path(root)
    images, grasps = TensorDataset(root / "images"), TensorDataset(root / "grasps")
    metadata = grasps.metadata
    missing = [key for key in GRASP_METADATA if key not in metadata]
    if missing:
        raise DatasetError(f"{grasps.root}: metadata lacks {', '.join(missing)}")
    balance = class_balance(
        images,
        grasps,
        families=metadata["families"],
        cameras=metadata["cameras"],
        gripper=metadata["gripper"],
        robust_threshold=float(metadata["robust_threshold"]),
        grasp_sources=metadata["grasp_sources"],
    )
    row = balance["class_balance_per_gripper"][metadata["gripper"]]
    return {
        "images": images.num_datapoints,
        "grasps": grasps.num_datapoints,
        "robust_share": row["robust_share"],
        **balance,
    }


def _print_rows(title: str, rows: dict) -> None:
    print(f"{title:18s} {'grasps':>8s} {'robust %':>8s} {'images':>7s}")
    for name, row in rows.items():
        print(f"{name:18s} {row['grasps']:8d} {100 * row['robust_share']:8.1f} {row['images']:7d}")


def print_class_balance(report: dict) -> None:
    """Print the report's class balance: per family (with the robust share of each grasp
    source), per camera, per gripper and per number of objects in the scene."""
    sources = [
        key.removesuffix("_robust_share")
        for key in next(iter(report["class_balance"].values()), {})
        if key.endswith("_robust_share") and key != "robust_share"
    ]
    print(
        f"{'family':18s} {'grasps':>8s} {'robust %':>8s}"
        + "".join(f" {source + ' %':>8s}" for source in sources)
    )
    for family, row in report["class_balance"].items():
        print(
            f"{family:18s} {row['grasps']:8d} {100 * row['robust_share']:8.1f}"
            + "".join(f" {100 * row[f'{source}_robust_share']:8.1f}" for source in sources)
        )
    _print_rows("camera", report["class_balance_per_camera"])
    _print_rows("gripper", report["class_balance_per_gripper"])
    _print_rows("objects per scene", report["class_balance_per_object_count"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", type=Path, help="a folder generate_dataset wrote")
    parser.add_argument("--json", type=Path, default=None, help="also write the report here")
    args = parser.parse_args(argv)
    try:
        report = dataset_report(args.dataset)
    except DatasetError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(
        f"{args.dataset}: {report['images']} images, {report['grasps']} grasps, "
        f"{100 * report['robust_share']:.1f} % robust"
    )
    print_class_balance(report)
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
