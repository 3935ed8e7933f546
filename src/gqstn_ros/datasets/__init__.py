"""Grasp datasets: storage in the Dex-Net 2.0 TensorDataset layout, splits, and readers of
public datasets (Dex-Net 2.0, Jacquard, Cornell) in `gqstn_ros.datasets.readers`."""

from gqstn_ros.datasets.splits import list_splits, object_wise_split, read_split, write_split
from gqstn_ros.datasets.tensor_dataset import (
    DatasetError,
    FieldSpec,
    TensorDataset,
    TensorDatasetWriter,
)

__all__ = [
    "DatasetError",
    "FieldSpec",
    "TensorDataset",
    "TensorDatasetWriter",
    "list_splits",
    "object_wise_split",
    "read_split",
    "write_split",
]
