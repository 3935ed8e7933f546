"""Dex-Net 2.0 reader on folders written in the released layouts."""

import numpy as np
import pytest
from dataset_fixtures import (
    DEXNET_FIELDS,
    dexnet_arrays,
    write_dexnet_split,
    write_dexnet_tensor_folder,
)

from gqstn_ros.datasets import FieldSpec, TensorDatasetWriter, object_wise_split, write_split
from gqstn_ros.datasets.readers.dexnet import DEXNET_METRIC_THRESHOLD, DexNetDataset
from gqstn_ros.datasets.tensor_dataset import DatasetError
from gqstn_ros.grasping.grasp import HAND_POSE_DEPTH


def test_reads_the_tensor_dataset_layout_with_splits(tmp_path):
    arrays = dexnet_arrays(11)
    arrays["robust_ferrari_canny"][:3] = [0.001, DEXNET_METRIC_THRESHOLD, 0.0021]
    write_dexnet_tensor_folder(tmp_path, arrays, datapoints_per_file=4)
    write_dexnet_split(tmp_path, "image_wise", np.arange(9), np.array([9, 10]))

    dataset = DexNetDataset(tmp_path)
    assert len(dataset) == 11
    batches = list(dataset)
    assert [len(batch) for batch in batches] == [4, 4, 3]
    np.testing.assert_array_equal(batches[2].indices, [8, 9, 10])
    crops = np.concatenate([batch.crops for batch in batches])
    assert crops.shape == (11, 32, 32) and crops.dtype == np.float32
    np.testing.assert_array_equal(crops, arrays["depth_ims_tf_table"][..., 0])
    labels = np.concatenate([batch.labels for batch in batches])
    # Dex-Net's labels: robust when the metric is strictly above 0.002.
    np.testing.assert_array_equal(labels[:3], [False, False, True])
    np.testing.assert_array_equal(labels, arrays["robust_ferrari_canny"] > 0.002)

    picked = dataset.batch(np.array([10, 1]))
    np.testing.assert_array_equal(picked.hand_poses, arrays["hand_poses"][[10, 1]])
    np.testing.assert_array_equal(
        picked.hand_poses[:, HAND_POSE_DEPTH], arrays["hand_poses"][[10, 1], HAND_POSE_DEPTH]
    )
    np.testing.assert_array_equal(picked.object_labels, arrays["object_labels"][[10, 1]])
    np.testing.assert_array_equal(dataset.object_labels(), arrays["object_labels"])
    split = dataset.split("image_wise")
    assert split.keys() == {"train", "val"}
    np.testing.assert_array_equal(split["val"], [9, 10])
    with pytest.raises(DatasetError, match=r"no split 'object_wise'"):
        dataset.split("object_wise")


def test_reads_the_first_release_without_config(tmp_path):
    arrays = dexnet_arrays(5)
    del arrays["object_labels"]  # the first release has no object labels
    write_dexnet_tensor_folder(tmp_path, arrays, datapoints_per_file=2, with_config=False)
    dataset = DexNetDataset(tmp_path, threshold=0.001)
    assert len(dataset) == 5
    batch = dataset.batch(np.arange(5))
    np.testing.assert_array_equal(batch.robust_metric, arrays["robust_ferrari_canny"])
    np.testing.assert_array_equal(batch.labels, arrays["robust_ferrari_canny"] > 0.001)
    assert batch.object_labels is None
    with pytest.raises(DatasetError, match=r"no object labels"):
        dataset.object_labels()


def test_errors_name_what_is_wrong(tmp_path):
    with pytest.raises(DatasetError, match=r"not a Dex-Net dataset"):
        DexNetDataset(tmp_path)
    arrays = dexnet_arrays(4)
    del arrays["hand_poses"]
    write_dexnet_tensor_folder(tmp_path / "no_poses", arrays, datapoints_per_file=4)
    with pytest.raises(DatasetError, match=r"fields missing: \['hand_poses'\]"):
        DexNetDataset(tmp_path / "no_poses")
    arrays = dexnet_arrays(4)
    write_dexnet_tensor_folder(tmp_path / "broken", arrays, datapoints_per_file=2)
    (tmp_path / "broken" / "tensors" / "hand_poses_00001.npz").write_bytes(b"garbage")
    with pytest.raises(DatasetError, match=r"hand_poses_00001.npz"):
        DexNetDataset(tmp_path / "broken")
    write_dexnet_tensor_folder(tmp_path / "split", arrays, datapoints_per_file=2)
    write_dexnet_split(tmp_path / "split", "image_wise", np.arange(3), np.array([7]))
    with pytest.raises(DatasetError, match=r"indexes datapoint 7, the dataset has 4"):
        DexNetDataset(tmp_path / "split").split("image_wise")


def test_reads_what_our_writer_writes_with_an_object_wise_split(tmp_path):
    arrays = dexnet_arrays(30)
    fields = {
        name: FieldSpec.from_config(name, DEXNET_FIELDS[name], tmp_path / "config.json")
        for name in arrays
    }
    with TensorDatasetWriter(tmp_path, fields, datapoints_per_file=8) as writer:
        writer.add(**arrays)
    dataset = DexNetDataset(tmp_path)
    parts = object_wise_split(dataset.object_labels(), (0.6, 0.2, 0.2), seed=1)
    write_split(tmp_path, "object_wise", parts)
    split = dataset.split("object_wise")
    val = dataset.batch(split["val"])
    np.testing.assert_array_equal(val.crops, arrays["depth_ims_tf_table"][split["val"], ..., 0])
    train_objects = set(dataset.batch(split["train"]).object_labels)
    assert train_objects and not train_objects & set(val.object_labels)
