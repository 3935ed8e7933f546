"""Training and evaluation data from a generated dataset (`gqstn_ros.tools.generate_dataset`).

Two views of one dataset, both split object-wise (`splits/object_wise`):

* `GraspSet`: one row per labelled grasp (GQ-CNN's classification data): the 32x32 crop in
  metres, the gripper depth, the view median, the robust metric and its label;
* `ImageSet`: one row per image (the one-shot networks' data): the 224x224 view in metres
  (the raw 16-bit window inpainted exactly as the depth node does) and the image's grasps as
  STN targets (x, y, theta, s, z), robust ones marked.

`fit_normalization` computes the training-set constants (`preprocessing.Normalization`) that
every checkpoint stores.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from gqstn_ros.datasets.splits import read_split
from gqstn_ros.datasets.tensor_dataset import TensorDataset
from gqstn_ros.depth_processing import inpaint_depth
from gqstn_ros.grasping.grasp import HAND_POSE_DEPTH
from gqstn_ros.preprocessing import (
    NetworkInputConfig,
    Normalization,
    ViewWindow,
    extract_crops,
    extract_view,
)

SPLIT_NAME = "object_wise"
SCALE_MAX_QUANTILE = 0.999  # Normalization.scale_max: the widest grasps, without outliers
SPLITS = ("train", "val", "test")


def robust_threshold(root: Path) -> float:
    return float(TensorDataset(Path(root) / "grasps").metadata["robust_threshold"])


@dataclass
class GraspSet:
    """N labelled grasps. crops: (N, 1, c, c) metres; depths, references, quality: (N,)."""

    crops: torch.Tensor | None  # None when loaded without crops (the one-shot trainers)
    depths: torch.Tensor
    references: torch.Tensor
    quality: torch.Tensor
    labels: torch.Tensor  # (N,) long, 1 = robust
    stn_params: torch.Tensor  # (N, 4) x, y, theta, s
    image_index: np.ndarray  # (N,) index into the images dataset
    object_labels: np.ndarray
    family_labels: np.ndarray
    sources: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, rows: np.ndarray) -> GraspSet:
        """The grasps at `rows` (a boolean mask or indices)."""
        rows = np.asarray(rows)
        index = torch.from_numpy(np.flatnonzero(rows) if rows.dtype == bool else rows)
        return GraspSet(
            crops=None if self.crops is None else self.crops[index],
            depths=self.depths[index],
            references=self.references[index],
            quality=self.quality[index],
            labels=self.labels[index],
            stn_params=self.stn_params[index],
            image_index=self.image_index[index.numpy()],
            object_labels=self.object_labels[index.numpy()],
            family_labels=self.family_labels[index.numpy()],
            sources=self.sources[index.numpy()],
        )


CROP_FIELD = "depth_ims_tf_table"


def load_grasps(
    root: Path, split: str, with_crops: bool = True, max_grasps: int = 0, seed: int = 0
) -> GraspSet:
    """The grasps of `split` ("train", "val", "test"); crops only when asked for (the bulk
    of the data, which the one-shot networks do not need). `max_grasps` > 0 reads that many
    of them, drawn uniformly without replacement by `seed` (before anything is read, so that a
    large dataset's subset fits in memory)."""
    root = Path(root)
    dataset = TensorDataset(root / "grasps")
    indices = np.asarray(read_split(root / "grasps", SPLIT_NAME)[split])
    if 0 < max_grasps < len(indices):
        rng = np.random.default_rng(seed)
        indices = np.sort(rng.choice(indices, size=max_grasps, replace=False))
    names = [f for f in dataset.field_names if f != CROP_FIELD]
    fields = dataset.datapoints(indices, names)
    crops = None
    if with_crops and CROP_FIELD in dataset.field_names:
        crops = torch.from_numpy(
            dataset.datapoints(indices, [CROP_FIELD])[CROP_FIELD].transpose(0, 3, 1, 2).copy()
        )
    elif with_crops:  # a slim copy of the dataset: the crops are recomputed from the images
        crops = crops_from_images(root, fields["image_labels"], fields["stn_params"])
    threshold = float(dataset.metadata["robust_threshold"])
    quality = fields["robust_ferrari_canny"].astype(np.float32)
    return GraspSet(
        crops=crops,
        depths=torch.from_numpy(fields["hand_poses"][:, HAND_POSE_DEPTH].astype(np.float32)),
        references=torch.from_numpy(fields["view_references"].astype(np.float32)),
        quality=torch.from_numpy(quality),
        labels=torch.from_numpy((quality >= threshold).astype(np.int64)),
        stn_params=torch.from_numpy(fields["stn_params"].astype(np.float32)),
        image_index=fields["image_labels"].astype(np.int64),
        object_labels=fields["object_labels"],
        family_labels=fields["family_labels"],
        sources=fields["grasp_sources"],
    )


def crops_from_images(
    root: Path, image_labels: np.ndarray, stn_params: np.ndarray, batch_size: int = 4096
) -> torch.Tensor:
    """The 32x32 crops of grasps recomputed from their stored images, by the same pipeline
    as generation (inpaint, view, `extract_crops`). (N, 1, c, c) metres."""
    images = TensorDataset(Path(root) / "images")
    manifest = json.loads((Path(root) / "generation.json").read_text())
    input_config = NetworkInputConfig(**manifest["config"]["network_input"])
    needed = np.unique(image_labels)
    raw = images.datapoints(needed, ["depth_ims"])["depth_ims"]
    views = np.empty((len(needed), 1, input_config.input_size, input_config.input_size), np.float32)
    for row, image in enumerate(raw):
        filled = inpaint_depth(raw_to_metres(image))
        views[row, 0], _ = extract_view(filled, input_config)
    views_t = torch.from_numpy(views)
    row_of_image = torch.from_numpy(np.searchsorted(needed, image_labels))
    params = torch.from_numpy(np.asarray(stn_params, dtype=np.float32))
    parts = []
    with torch.inference_mode():
        for start in range(0, len(params), batch_size):
            part = slice(start, start + batch_size)
            parts.append(
                extract_crops(views_t, params[part], input_config.crop_size, row_of_image[part])
            )
    return torch.cat(parts) if parts else torch.zeros(0, 1, input_config.crop_size, 32)


@dataclass
class ImageSet:
    """M images: views (M, 1, D, D) metres, and per image its grasps (into `grasps`)."""

    views: torch.Tensor
    image_labels: np.ndarray  # (M,) index of each image in the images dataset
    object_labels: np.ndarray
    family_labels: np.ndarray
    intrinsics: np.ndarray  # (M, 4) fx, fy, cx, cy of the stored window
    raw_mm: np.ndarray  # (M, side, side) uint16, the stored sensor window
    grasps: GraspSet  # every grasp of these images
    grasp_rows: list[np.ndarray]  # per image, its rows in `grasps`

    def __len__(self) -> int:
        return len(self.views)


def raw_to_metres(raw_mm: np.ndarray) -> np.ndarray:
    """A stored 16-bit window -> float32 metres with NaN holes (as depth_image does)."""
    return np.where(raw_mm > 0, raw_mm.astype(np.float32) / 1000.0, np.nan).astype(np.float32)


def load_images(
    root: Path, split: str, input_config: NetworkInputConfig, max_images: int = 0, seed: int = 0
) -> ImageSet:
    """The images of `split`, inpainted and cut to views, with their grasps; `max_images` > 0
    keeps that many of them, drawn uniformly without replacement by `seed`."""
    root = Path(root)
    dataset = TensorDataset(root / "images")
    indices = np.asarray(read_split(root / "images", SPLIT_NAME)[split])
    if 0 < max_images < len(indices):
        rng = np.random.default_rng(seed)
        indices = np.sort(rng.choice(indices, size=max_images, replace=False))
    fields = dataset.datapoints(indices)
    raw = fields["depth_ims"]
    views = np.empty((len(raw), 1, input_config.input_size, input_config.input_size), np.float32)
    for row, image in enumerate(raw):
        filled = inpaint_depth(raw_to_metres(image))
        window = ViewWindow.centered(filled.shape, input_config)
        views[row, 0], _ = extract_view(filled, input_config, window)
    grasps = load_grasps(root, split, with_crops=False)
    if len(indices) < len(read_split(root / "images", SPLIT_NAME)[split]):
        grasps = grasps.subset(np.isin(grasps.image_index, indices))
    position = {int(image): row for row, image in enumerate(indices)}
    rows: list[list[int]] = [[] for _ in indices]
    for grasp_row, image in enumerate(grasps.image_index):
        rows[position[int(image)]].append(grasp_row)
    return ImageSet(
        views=torch.from_numpy(views),
        image_labels=np.asarray(indices),
        object_labels=fields["object_labels"],
        family_labels=fields["family_labels"],
        intrinsics=fields["camera_intrinsics"],
        raw_mm=raw,
        grasps=grasps,
        grasp_rows=[np.asarray(r, dtype=np.int64) for r in rows],
    )


def fit_normalization(grasps: GraspSet, views: torch.Tensor | None = None) -> Normalization:
    """Training-set constants (see `preprocessing.Normalization`)."""
    crop_scale = Normalization().crop_scale
    if grasps.crops is not None:
        crop_scale = float((grasps.crops - grasps.depths[:, None, None, None]).std())
    offsets = grasps.depths - grasps.references
    robust = grasps.labels == 1
    scales = grasps.stn_params[robust, 3] if robust.any() else grasps.stn_params[:, 3]
    view_scale = 0.02
    if views is not None and len(views):
        medians = views.flatten(1).median(dim=1).values
        view_scale = float((views - medians[:, None, None, None]).std())
    return Normalization(
        view_scale=max(view_scale, 1e-4),
        crop_scale=max(crop_scale, 1e-4),
        depth_offset_mean=float(offsets.mean()),
        depth_offset_std=max(float(offsets.std()), 1e-4),
        scale_mean=float(scales.mean()),
        # Every labelled grasp fits the stroke: the widest of them (robust or not) bounds s.
        scale_max=float(torch.quantile(grasps.stn_params[:, 3], SCALE_MAX_QUANTILE)),
    )
