"""Object-wise splits and their Dex-Net layout on disk."""

import json

import numpy as np
import pytest

from gqstn_ros.datasets.splits import object_wise_split, read_split, write_split
from gqstn_ros.datasets.tensor_dataset import DatasetError


def test_object_wise_split_is_disjoint_by_object_and_follows_the_fractions():
    rng = np.random.default_rng(1)
    object_ids = np.repeat(np.arange(200), rng.integers(5, 15, size=200))
    rng.shuffle(object_ids)
    parts = object_wise_split(object_ids, (0.8, 0.1, 0.1), seed=7)
    assert list(parts) == ["train", "val", "test"]
    everything = np.concatenate(list(parts.values()))
    np.testing.assert_array_equal(np.sort(everything), np.arange(len(object_ids)))
    objects = {name: set(object_ids[indices]) for name, indices in parts.items()}
    assert not objects["train"] & objects["val"]
    assert not objects["train"] & objects["test"]
    assert not objects["val"] & objects["test"]
    fractions = {name: len(indices) / len(object_ids) for name, indices in parts.items()}
    assert fractions["train"] == pytest.approx(0.8, abs=0.02)
    assert fractions["val"] == pytest.approx(0.1, abs=0.02)
    assert fractions["test"] == pytest.approx(0.1, abs=0.02)
    # Seeded: the same seed gives the same split, another seed another one.
    again = object_wise_split(object_ids, (0.8, 0.1, 0.1), seed=7)
    assert all(np.array_equal(parts[name], again[name]) for name in parts)
    other = object_wise_split(object_ids, (0.8, 0.1, 0.1), seed=8)
    assert not np.array_equal(parts["val"], other["val"])


def test_every_part_gets_an_object_even_when_few():
    object_ids = np.array([0] * 50 + [1] * 2 + [2] * 2)
    parts = object_wise_split(object_ids, (0.8, 0.1, 0.1), seed=0)
    assert all(len(indices) > 0 for indices in parts.values())
    with pytest.raises(DatasetError, match=r"2 distinct objects cannot fill 3"):
        object_wise_split(np.array([4, 4, 9]), (0.8, 0.1, 0.1))
    with pytest.raises(DatasetError, match=r"fractions"):
        object_wise_split(object_ids, (0.8, 0.3, 0.1))
    only_train_val = object_wise_split(np.array([4, 4, 9]), (0.5, 0.5, 0.0))
    assert len(only_train_val["test"]) == 0


def test_write_and_read_split_in_the_dexnet_layout(tmp_path):
    parts = {"train": np.array([5, 0, 3]), "val": np.array([1]), "test": np.array([2, 4])}
    folder = write_split(tmp_path, "object_wise", parts)
    assert folder == tmp_path / "splits" / "object_wise"
    with np.load(folder / "train_indices.npz") as archive:
        np.testing.assert_array_equal(archive["arr_0"], [0, 3, 5])
    metadata = json.loads((folder / "metadata.json").read_text())
    assert metadata["field_name"] == "object_labels"
    assert metadata["train_pct"] == pytest.approx(0.5)
    read = read_split(tmp_path, "object_wise")
    assert read.keys() == {"train", "val", "test"}
    np.testing.assert_array_equal(read["test"], [2, 4])
    with pytest.raises(DatasetError, match=r"already exists"):
        write_split(tmp_path, "object_wise", parts)
    write_split(tmp_path, "object_wise", {"train": [0, 1], "val": [2]}, overwrite=True)
    assert read_split(tmp_path, "object_wise").keys() == {"train", "val"}


def test_split_errors(tmp_path):
    with pytest.raises(DatasetError, match=r"share 1 datapoints"):
        write_split(tmp_path, "bad", {"train": [0, 1], "val": [1]})
    with pytest.raises(DatasetError, match=r"missing.*val"):
        write_split(tmp_path, "bad", {"train": [0, 1]})
    write_split(tmp_path, "image_wise", {"train": [0], "val": [1]})
    with pytest.raises(DatasetError, match=r"no split 'object_wise'.*\['image_wise'\]"):
        read_split(tmp_path, "object_wise")
    (tmp_path / "splits" / "image_wise" / "val_indices.npz").unlink()
    with pytest.raises(DatasetError, match=r"val_indices.npz: split index file is missing"):
        read_split(tmp_path, "image_wise")
