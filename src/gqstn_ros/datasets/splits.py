"""Train / validation / test splits of a TensorDataset, in the Dex-Net layout.

gqcnn reads a split named <name> from::

    <root>/splits/<name>/train_indices.npz   global datapoint indices, key "arr_0"
    <root>/splits/<name>/val_indices.npz
    <root>/splits/<name>/metadata.json       {"field_name": ..., "train_pct": ...}

(the Dex-Net 2.0 release ships "image_wise", "object_wise" and "stable_pose_wise"). We add
test_indices.npz beside them; a split without it (Dex-Net's own) reads as train and val only.
An object-wise split puts every datapoint of an object in the same part, so that validation
and test measure generalisation to unseen objects.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from gqstn_ros.datasets.tensor_dataset import (
    TENSOR_KEY,
    DatasetError,
    atomic_write_bytes,
    load_tensor_file,
    write_json_atomic,
)

SPLITS_DIRNAME = "splits"
SPLIT_PARTS = ("train", "val", "test")
REQUIRED_PARTS = ("train", "val")
SPLIT_METADATA_FILENAME = "metadata.json"
DEFAULT_FRACTIONS = (0.8, 0.1, 0.1)


def split_dir(root: Path, name: str) -> Path:
    if not re.fullmatch(r"[A-Za-z0-9_\-.]+", name) or name in {".", ".."}:
        raise DatasetError(f"split name {name!r}: use letters, digits, '_', '-' and '.' only")
    return Path(root) / SPLITS_DIRNAME / name


def indices_filename(part: str) -> str:
    return f"{part}_indices.npz"


def object_wise_split(
    object_ids: np.ndarray,
    fractions: tuple[float, float, float] = DEFAULT_FRACTIONS,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """Split datapoints by object: {"train", "val", "test"} -> sorted int64 datapoint indices.

    object_ids: (N,) the object of each datapoint. Objects are shuffled (seeded) and cut so
    that each part holds about its fraction of the datapoints (an object goes to the part in
    which the middle of its datapoint range falls); every part with a fraction > 0 gets at least
    one object. No object is in two parts.
    """
    object_ids = np.asarray(object_ids)
    if object_ids.ndim != 1:
        raise DatasetError(f"object_ids must be 1-D, got shape {object_ids.shape}")
    fractions_arr = np.asarray(fractions, dtype=np.float64)
    if (
        fractions_arr.shape != (len(SPLIT_PARTS),)
        or np.any(fractions_arr < 0)
        or not np.isclose(fractions_arr.sum(), 1.0)
    ):
        raise DatasetError(f"fractions must be 3 non-negative numbers summing to 1: {fractions}")
    objects, object_of_datapoint, counts = np.unique(
        object_ids, return_inverse=True, return_counts=True
    )
    wanted_parts = int(np.count_nonzero(fractions_arr))
    if len(objects) < wanted_parts:
        raise DatasetError(
            f"{len(objects)} distinct objects cannot fill {wanted_parts} object-wise parts"
        )
    order = np.random.default_rng(seed).permutation(len(objects))
    shuffled_counts = counts[order]
    middles = (np.cumsum(shuffled_counts) - 0.5 * shuffled_counts) / counts.sum()
    boundaries = np.cumsum(fractions_arr)[:-1]
    part_of_shuffled = np.searchsorted(boundaries, middles, side="right")
    # A part with a fraction > 0 that got no object takes one from the part with the most.
    for part in np.flatnonzero(fractions_arr > 0):
        if not np.any(part_of_shuffled == part):
            donor = int(np.argmax(np.bincount(part_of_shuffled, minlength=len(SPLIT_PARTS))))
            candidates = np.flatnonzero(part_of_shuffled == donor)
            # the donor's object closest to this part keeps the order of the cut
            part_of_shuffled[candidates[-1] if part > donor else candidates[0]] = part
    part_of_object = np.empty(len(objects), dtype=np.int64)
    part_of_object[order] = part_of_shuffled
    part_of_datapoint = part_of_object[object_of_datapoint]
    return {
        name: np.flatnonzero(part_of_datapoint == part).astype(np.int64)
        for part, name in enumerate(SPLIT_PARTS)
    }


def _check_indices(name: str, indices: Any) -> np.ndarray:
    array = np.asarray(indices)
    if array.size == 0:
        return np.zeros(0, dtype=np.int64)
    if array.ndim != 1 or not np.issubdtype(array.dtype, np.integer):
        raise DatasetError(f"split part {name!r}: indices must be a 1-D integer array")
    if array.min() < 0:
        raise DatasetError(f"split part {name!r}: negative datapoint index {array.min()}")
    if len(np.unique(array)) != len(array):
        raise DatasetError(f"split part {name!r}: repeated datapoint indices")
    return np.sort(array.astype(np.int64))


def write_split(
    root: Path,
    name: str,
    split_indices: dict[str, np.ndarray],
    field_name: str = "object_labels",
    overwrite: bool = False,
) -> Path:
    """Write a split (parts "train", "val" and optionally "test") under root/splits/<name>/.

    field_name: what the split was made on (Dex-Net's metadata key), e.g. "object_labels".
    Parts must not share datapoints. Returns the split folder.
    """
    folder = split_dir(root, name)
    unknown = sorted(split_indices.keys() - set(SPLIT_PARTS))
    missing = [part for part in REQUIRED_PARTS if part not in split_indices]
    if unknown or missing:
        raise DatasetError(
            f"split {name!r}: parts must be {list(SPLIT_PARTS)} (test optional)"
            + (f"; unknown {unknown}" if unknown else "")
            + (f"; missing {missing}" if missing else "")
        )
    parts = {part: _check_indices(part, split_indices[part]) for part in split_indices}
    names = list(parts)
    for i, first in enumerate(names):
        for second in names[i + 1 :]:
            shared = np.intersect1d(parts[first], parts[second])
            if shared.size:
                raise DatasetError(
                    f"split {name!r}: parts {first!r} and {second!r} share {shared.size} "
                    f"datapoints (first {shared[0]})"
                )
    if folder.exists() and not overwrite:
        raise DatasetError(f"{folder}: split already exists (pass overwrite=True to replace it)")
    folder.mkdir(parents=True, exist_ok=True)
    for part, indices in parts.items():
        atomic_write_bytes(
            folder / indices_filename(part),
            lambda stream, indices=indices: np.savez_compressed(stream, **{TENSOR_KEY: indices}),
        )
    stale_test = folder / indices_filename("test")
    if "test" not in parts and stale_test.exists():
        stale_test.unlink()
    total = sum(len(indices) for indices in parts.values())
    metadata = {
        "field_name": field_name,
        "train_pct": len(parts["train"]) / total if total else 0.0,
        "num_datapoints": {part: len(indices) for part, indices in parts.items()},
    }
    write_json_atomic(folder / SPLIT_METADATA_FILENAME, metadata)
    return folder


def list_splits(root: Path) -> list[str]:
    """Names of the splits stored under root/splits/."""
    folder = Path(root) / SPLITS_DIRNAME
    if not folder.is_dir():
        return []
    return sorted(path.name for path in folder.iterdir() if path.is_dir())


def read_split(root: Path, name: str) -> dict[str, np.ndarray]:
    """{"train", "val"[, "test"]} -> int64 datapoint indices of the split root/splits/<name>/."""
    folder = split_dir(root, name)
    if not folder.is_dir():
        raise DatasetError(
            f"{folder}: no split {name!r}; splits in {Path(root)}: {list_splits(root)}"
        )
    result = {}
    for part in SPLIT_PARTS:
        path = folder / indices_filename(part)
        if not path.is_file():
            if part in REQUIRED_PARTS:
                raise DatasetError(f"{path}: split index file is missing")
            continue
        indices = load_tensor_file(path)
        if indices.ndim != 1 or not (indices.size == 0 or np.issubdtype(indices.dtype, np.integer)):
            raise DatasetError(f"{path}: expected a 1-D integer index array, got {indices.dtype}")
        result[part] = indices.astype(np.int64)
    return result
