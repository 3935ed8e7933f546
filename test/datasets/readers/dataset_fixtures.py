"""Write small datasets byte-for-byte in the formats the public datasets use.

These writers do not use gqstn_ros code: they reproduce the released files (Dex-Net 2.0 tensor
folders as autolab_core writes them, Jacquard object folders, Cornell PCD and rectangle files)
so that the readers are tested against the formats, not against our own writer.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

# Dex-Net 2.0 (dexnet_2_tensor) --------------------------------------------------------------

DEXNET_FIELDS = {
    "depth_ims_tf_table": {"dtype": "float32", "height": 32, "width": 32, "channels": 1},
    "hand_poses": {"dtype": "float32", "height": 7},
    "robust_ferrari_canny": {"dtype": "float32"},
    "ferrari_canny": {"dtype": "float32"},
    "force_closure": {"dtype": "float32"},
    "object_labels": {"dtype": "uint32"},
    "pose_labels": {"dtype": "uint32"},
    "image_labels": {"dtype": "uint32"},
}


def dexnet_arrays(count: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "depth_ims_tf_table": rng.uniform(0.6, 0.7, (count, 32, 32, 1)).astype(np.float32),
        "hand_poses": rng.uniform(0, 1, (count, 7)).astype(np.float32),
        "robust_ferrari_canny": rng.uniform(0, 0.004, count).astype(np.float32),
        "ferrari_canny": rng.uniform(0, 0.004, count).astype(np.float32),
        "force_closure": rng.integers(0, 2, count).astype(np.float32),
        "object_labels": (np.arange(count) // 3).astype(np.uint32),
        "pose_labels": (np.arange(count) // 2).astype(np.uint32),
        "image_labels": np.arange(count).astype(np.uint32),
    }


def write_dexnet_tensor_folder(
    root: Path, arrays: dict[str, np.ndarray], datapoints_per_file: int, with_config: bool = True
) -> None:
    """with_config: the gqcnn TensorDataset layout (config.json + tensors/); without: the
    first release's bare `<field>_NNNNN.npz` files in root."""
    tensor_dir = root / "tensors" if with_config else root
    tensor_dir.mkdir(parents=True, exist_ok=True)
    count = len(next(iter(arrays.values())))
    for file_index, start in enumerate(range(0, count, datapoints_per_file)):
        for name, values in arrays.items():
            # positional array -> "arr_0", as autolab_core's Tensor.save does
            np.savez_compressed(
                tensor_dir / f"{name}_{file_index:05d}.npz",
                values[start : start + datapoints_per_file],
            )
    if with_config:
        config = {
            "datapoints_per_file": datapoints_per_file,
            "fields": {name: DEXNET_FIELDS[name] for name in arrays},
        }
        (root / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True))


def write_dexnet_split(root: Path, name: str, train: np.ndarray, val: np.ndarray) -> None:
    folder = root / "splits" / name
    folder.mkdir(parents=True)
    np.savez_compressed(folder / "train_indices.npz", train)
    np.savez_compressed(folder / "val_indices.npz", val)
    (folder / "metadata.json").write_text(json.dumps({"field_name": "index", "train_pct": 0.8}))


# Jacquard ------------------------------------------------------------------------------------


def write_jacquard_scene(
    object_dir: Path,
    scene: int,
    object_id: str,
    grasp_lines: list[str],
    depth: np.ndarray,
    stereo_depth: np.ndarray | None = None,
) -> Path:
    """Write `<scene>_<id>_{grasps.txt, perfect_depth.tiff, stereo_depth.tiff, mask.png,
    RGB.png}`; returns the grasp file."""
    object_dir.mkdir(parents=True, exist_ok=True)
    stem = object_dir / f"{scene}_{object_id}"
    grasps = stem.with_name(stem.name + "_grasps.txt")
    grasps.write_text("".join(line + "\n" for line in grasp_lines))
    assert cv2.imwrite(str(stem.with_name(stem.name + "_perfect_depth.tiff")), depth)
    stereo = depth if stereo_depth is None else stereo_depth
    assert cv2.imwrite(str(stem.with_name(stem.name + "_stereo_depth.tiff")), stereo)
    mask = (depth < depth.max()).astype(np.uint8) * 255
    assert cv2.imwrite(str(stem.with_name(stem.name + "_mask.png")), mask)
    bgr = np.zeros((*depth.shape, 3), np.uint8)
    bgr[..., 2] = 200  # red in RGB order once read back
    assert cv2.imwrite(str(stem.with_name(stem.name + "_RGB.png")), bgr)
    return grasps


# Cornell -------------------------------------------------------------------------------------

CORNELL_PCD_HEADER = (
    "# .PCD v.7 - Point Cloud Data file format\n"
    "FIELDS x y z rgb index\n"
    "SIZE 4 4 4 4 4\n"
    "TYPE F F F F U\n"
    "COUNT 1 1 1 1 1\n"
    "WIDTH {points}\n"
    "HEIGHT 1\n"
    "VIEWPOINT 0 0 0 1 0 0 0\n"
    "POINTS {points}\n"
    "DATA ascii\n"
)


def write_cornell_scene(
    folder: Path,
    number: int,
    points: list[tuple[float, float, float, int]],
    positive_lines: list[str],
    negative_lines: list[str],
    declared_points: int | None = None,
) -> Path:
    """points: (x, y, z, index) in millimetres; writes pcdXXXX.txt, cpos, cneg and r.png."""
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"pcd{number:04d}"
    lines = [f"{x} {y} {z} 4.2108e+06 {index}\n" for x, y, z, index in points]
    header = CORNELL_PCD_HEADER.format(
        points=len(points) if declared_points is None else declared_points
    )
    pcd = folder / f"{stem}.txt"
    pcd.write_text(header + "".join(lines))
    (folder / f"{stem}cpos.txt").write_text("".join(line + "\n" for line in positive_lines))
    (folder / f"{stem}cneg.txt").write_text("".join(line + "\n" for line in negative_lines))
    assert cv2.imwrite(str(folder / f"{stem}r.png"), np.full((480, 640, 3), 90, np.uint8))
    return pcd
