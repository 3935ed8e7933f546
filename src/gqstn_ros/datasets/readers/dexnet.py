"""Read a Dex-Net 2.0 grasp classification dataset.

Two on-disk forms are accepted:

- the TensorDataset layout gqcnn trains from (dexnet_2_tensor): config.json, tensors/, splits/
  (see gqstn_ros.datasets.tensor_dataset), which is also what our generator writes;
- the first release (dexnet_2.tar.gz): the `<field>_NNNNN.npz` files alone, in the folder itself
  or in its tensors/ subfolder, without a config.

Fields used: depth_ims_tf_table (N, 32, 32, 1) float32 metres, the depth crops centred on the
grasp with the grasp axis along the middle row; hand_poses (N, 7) float32 (columns:
gqstn_ros.grasping.grasp.HAND_POSE_*; the gripper depth is column HAND_POSE_DEPTH);
robust_ferrari_canny (N,) float32, the robustness metric, labelled robust when strictly above
0.002 (Dex-Net 2.0's threshold, as gqcnn applies it: `metric > thresh`); object_labels (N,)
when present (needed for object-wise splits).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gqstn_ros.datasets.splits import read_split
from gqstn_ros.datasets.tensor_dataset import (
    CONFIG_FILENAME,
    TENSOR_DIRNAME,
    DatasetError,
    TensorDataset,
    tensor_filename,
)
from gqstn_ros.grasping.grasp import HAND_POSE_SIZE

DEXNET_METRIC_THRESHOLD = 0.002
IMAGE_FIELD = "depth_ims_tf_table"
POSE_FIELD = "hand_poses"
METRIC_FIELD = "robust_ferrari_canny"
OBJECT_FIELD = "object_labels"


@dataclass(frozen=True)
class GraspClassificationBatch:
    """Labelled grasp crops.

    indices: (N,) global datapoint indices; crops: (N, H, W) float32 depth metres (H = W = 32
    for Dex-Net 2.0); hand_poses: (N, 7) float32; robust_metric: (N,) float32; labels: (N,)
    bool, robust_metric > threshold; object_labels: (N,) object ids, or None.
    """

    indices: np.ndarray
    crops: np.ndarray
    hand_poses: np.ndarray
    robust_metric: np.ndarray
    labels: np.ndarray
    object_labels: np.ndarray | None

    def __len__(self) -> int:
        return len(self.indices)


def _open_tensors(root: Path, fields: list[str]) -> TensorDataset:
    if (root / CONFIG_FILENAME).is_file():
        return TensorDataset(root)
    for folder in (root / TENSOR_DIRNAME, root):
        if (folder / tensor_filename(fields[0], 0)).is_file():
            return TensorDataset.from_tensor_files(folder, fields)
    raise DatasetError(
        f"{root}: not a Dex-Net dataset: no {CONFIG_FILENAME}, and no "
        f"{tensor_filename(fields[0], 0)} in it or in its {TENSOR_DIRNAME}/ folder"
    )


class DexNetDataset:
    """A Dex-Net 2.0 classification dataset: iterate file by file, or read index sets."""

    def __init__(
        self,
        root: Path,
        threshold: float = DEXNET_METRIC_THRESHOLD,
        image_field: str = IMAGE_FIELD,
        pose_field: str = POSE_FIELD,
        metric_field: str = METRIC_FIELD,
        object_field: str = OBJECT_FIELD,
    ) -> None:
        self.root = Path(root)
        self.threshold = float(threshold)
        self.image_field, self.pose_field = image_field, pose_field
        self.metric_field = metric_field
        required = [image_field, pose_field, metric_field]
        probe = list(required)
        if not (self.root / CONFIG_FILENAME).is_file():
            # Without a config, object labels are read when their files are there.
            for folder in (self.root / TENSOR_DIRNAME, self.root):
                if (folder / tensor_filename(object_field, 0)).is_file():
                    probe.append(object_field)
                    break
        self.tensors = _open_tensors(self.root, probe)
        fields = self.tensors.fields
        missing = [name for name in required if name not in fields]
        if missing:
            raise DatasetError(f"{self.root}: Dex-Net fields missing: {missing}")
        image, pose, metric = fields[image_field], fields[pose_field], fields[metric_field]
        if len(image.shape) not in (2, 3) or (len(image.shape) == 3 and image.shape[2] != 1):
            raise DatasetError(
                f"{self.root}: field {image_field!r} must be (N, H, W[, 1]), per datapoint "
                f"{image.shape}"
            )
        if pose.shape != (HAND_POSE_SIZE,):
            raise DatasetError(
                f"{self.root}: field {pose_field!r} must be (N, {HAND_POSE_SIZE}), per datapoint "
                f"{pose.shape}"
            )
        if metric.shape != ():
            raise DatasetError(f"{self.root}: field {metric_field!r} must be scalar per datapoint")
        self.object_field = object_field if object_field in fields else None
        if self.object_field is not None and fields[object_field].shape != ():
            raise DatasetError(f"{self.root}: field {object_field!r} must be scalar per datapoint")

    @property
    def num_datapoints(self) -> int:
        return self.tensors.num_datapoints

    def __len__(self) -> int:
        return self.num_datapoints

    def _fields(self) -> list[str]:
        names = [self.image_field, self.pose_field, self.metric_field]
        return names + ([self.object_field] if self.object_field else [])

    def _batch(self, indices: np.ndarray, data: dict[str, np.ndarray]) -> GraspClassificationBatch:
        crops = data[self.image_field]
        crops = crops.reshape(crops.shape[:3]).astype(np.float32, copy=False)  # drop channel
        metric = data[self.metric_field].astype(np.float32, copy=False)
        return GraspClassificationBatch(
            indices=np.asarray(indices, dtype=np.int64),
            crops=crops,
            hand_poses=data[self.pose_field].astype(np.float32, copy=False),
            robust_metric=metric,
            labels=metric > self.threshold,
            object_labels=data[self.object_field] if self.object_field else None,
        )

    def batch(self, indices: np.ndarray) -> GraspClassificationBatch:
        """The datapoints at the given global indices, in that order."""
        indices = np.asarray(indices, dtype=np.int64).reshape(-1)
        return self._batch(indices, self.tensors.datapoints(indices, self._fields()))

    def __iter__(self) -> Iterator[GraspClassificationBatch]:
        """One batch per tensor file, in order."""
        start = 0
        for file_index in range(self.tensors.num_files):
            data = {name: self.tensors.tensor(name, file_index) for name in self._fields()}
            length = len(data[self.metric_field])
            yield self._batch(np.arange(start, start + length), data)
            start += length

    def object_labels(self) -> np.ndarray:
        """(N,) object id of every datapoint (for object-wise splits)."""
        if self.object_field is None:
            raise DatasetError(f"{self.root}: the dataset has no object labels field")
        return self.tensors.field(self.object_field)

    def split(self, name: str) -> dict[str, np.ndarray]:
        """A stored split ("image_wise", "object_wise", ...): part -> datapoint indices."""
        parts = read_split(self.root, name)
        for part, indices in parts.items():
            if indices.size and indices.max() >= self.num_datapoints:
                raise DatasetError(
                    f"{self.root}: split {name!r} part {part!r} indexes datapoint "
                    f"{indices.max()}, the dataset has {self.num_datapoints}"
                )
        return parts
