"""TensorDatasetWriter / TensorDataset: Dex-Net layout, round trip, resume, and every error."""

import json

import numpy as np
import pytest

from gqstn_ros.datasets.tensor_dataset import (
    DatasetError,
    FieldSpec,
    TensorDataset,
    TensorDatasetWriter,
)

FIELDS = {
    "depth_ims_tf_table": FieldSpec("float32", (32, 32, 1)),
    "hand_poses": FieldSpec("float32", (7,)),
    "robust_ferrari_canny": FieldSpec("float32"),
    "object_labels": FieldSpec("uint32"),
}


def make_data(count: int, start: int = 0) -> dict[str, np.ndarray]:
    """Datapoints whose values encode their global index (to check order after a resume)."""
    index = np.arange(start, start + count)
    return {
        "depth_ims_tf_table": (
            index[:, None, None, None] + np.linspace(0, 0.5, 32 * 32).reshape(1, 32, 32, 1)
        ).astype(np.float32),
        "hand_poses": (index[:, None] * 10 + np.arange(7)).astype(np.float32),
        "robust_ferrari_canny": (index * 0.001).astype(np.float32),
        "object_labels": (index // 3).astype(np.uint32),
    }


def assert_data_equal(actual: dict[str, np.ndarray], expected: dict[str, np.ndarray]) -> None:
    assert actual.keys() >= expected.keys()
    for name, values in expected.items():
        assert actual[name].dtype == values.dtype, name
        np.testing.assert_array_equal(actual[name], values, err_msg=name)


def test_round_trip_in_dexnet_layout(tmp_path):
    root = tmp_path / "ds"
    data = make_data(10)
    with TensorDatasetWriter(root, FIELDS, datapoints_per_file=4, metadata={"seed": 3}) as writer:
        writer.add(**{name: values[:3] for name, values in data.items()})
        writer.add(**{name: values[3:] for name, values in data.items()})
        assert writer.num_datapoints == 10

    config = json.loads((root / "config.json").read_text())
    assert config["datapoints_per_file"] == 4
    assert config["fields"]["depth_ims_tf_table"] == {
        "dtype": "float32",
        "height": 32,
        "width": 32,
        "channels": 1,
    }
    assert config["fields"]["hand_poses"] == {"dtype": "float32", "height": 7}
    assert config["fields"]["robust_ferrari_canny"] == {"dtype": "float32"}
    assert config["metadata"] == {"seed": 3}
    names = sorted(path.name for path in (root / "tensors").iterdir())
    assert names == sorted(f"{field}_{i:05d}.npz" for field in FIELDS for i in range(3))
    # Plain numpy reads the files the way gqcnn does.
    with np.load(root / "tensors" / "hand_poses_00002.npz") as archive:
        assert list(archive.keys()) == ["arr_0"]
        np.testing.assert_array_equal(archive["arr_0"], data["hand_poses"][8:])

    dataset = TensorDataset(root)
    assert dataset.num_datapoints == 10
    assert dataset.num_files == 3
    assert dataset.datapoints_per_file == 4
    assert sorted(dataset.field_names) == sorted(FIELDS)
    assert dataset.metadata == {"seed": 3}
    assert dataset.tensor("hand_poses", 1).shape == (4, 7)
    assert_data_equal({name: dataset.field(name) for name in FIELDS}, data)
    picked = np.array([9, 0, 5, 5, 2])
    selection = dataset.datapoints(picked, ["hand_poses", "object_labels"])
    assert selection.keys() == {"hand_poses", "object_labels"}
    np.testing.assert_array_equal(selection["hand_poses"], data["hand_poses"][picked])
    np.testing.assert_array_equal(selection["object_labels"], data["object_labels"][picked])
    with pytest.raises(IndexError):
        dataset.datapoints(np.array([10]))


def test_shapes_beyond_three_dims_use_a_shape_key(tmp_path):
    fields = {"volumes": FieldSpec("int16", (2, 3, 4, 5))}
    volumes = np.arange(2 * 120, dtype=np.int16).reshape(2, 2, 3, 4, 5)
    with TensorDatasetWriter(tmp_path, fields) as writer:
        writer.add(volumes=volumes)
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["fields"]["volumes"] == {"dtype": "int16", "shape": [2, 3, 4, 5]}
    np.testing.assert_array_equal(TensorDataset(tmp_path).field("volumes"), volumes)


def test_flush_writes_complete_files_only(tmp_path):
    writer = TensorDatasetWriter(tmp_path, FIELDS, datapoints_per_file=4)
    writer.add(**make_data(6))
    writer.flush()
    assert sorted(p.name for p in (tmp_path / "tensors").glob("hand_poses_*")) == [
        "hand_poses_00000.npz"
    ]
    assert writer.num_datapoints == 6
    assert TensorDataset(tmp_path).num_datapoints == 4
    writer.close()
    assert TensorDataset(tmp_path).num_datapoints == 6
    with pytest.raises(DatasetError, match=r"closed"):
        writer.add(**make_data(1))


def test_resume_after_interruption_discards_partial_files(tmp_path):
    data = make_data(14)
    writer = TensorDatasetWriter(tmp_path, FIELDS, datapoints_per_file=4)
    writer.add(**{name: values[:10] for name, values in data.items()})
    writer.flush()  # files 0 and 1 written; datapoints 8, 9 only buffered, then the run dies
    tensors = tmp_path / "tensors"
    # What a run killed while writing file 2 leaves: one field's file, a temporary file.
    np.savez_compressed(tensors / "hand_poses_00002.npz", data["hand_poses"][8:10])
    (tensors / "object_labels_00002.npz.tmp").write_bytes(b"half a file")
    del writer

    resumed = TensorDatasetWriter(tmp_path, FIELDS, datapoints_per_file=4)
    assert resumed.num_datapoints == 8
    assert not (tensors / "hand_poses_00002.npz").exists()
    assert not list(tensors.glob("*.tmp"))
    resumed.add(**{name: values[8:] for name, values in data.items()})
    resumed.close()

    dataset = TensorDataset(tmp_path)
    assert dataset.num_datapoints == 14
    assert_data_equal({name: dataset.field(name) for name in FIELDS}, data)


def test_resume_after_close_keeps_the_partial_last_file(tmp_path):
    data = make_data(13)
    with TensorDatasetWriter(tmp_path, FIELDS, datapoints_per_file=4) as writer:
        writer.add(**{name: values[:6] for name, values in data.items()})
    with TensorDatasetWriter(tmp_path, FIELDS, datapoints_per_file=4) as writer:
        assert writer.num_datapoints == 6
        assert writer.metadata == {}
        writer.add(**{name: values[6:] for name, values in data.items()})
    dataset = TensorDataset(tmp_path)
    assert dataset.num_files == 4
    assert_data_equal({name: dataset.field(name) for name in FIELDS}, data)


def test_resume_after_interrupted_rewrite_keeps_the_common_prefix(tmp_path):
    data = make_data(12)
    with TensorDatasetWriter(tmp_path, FIELDS, datapoints_per_file=4) as writer:
        writer.add(**{name: values[:6] for name, values in data.items()})
    # The next run extended file 1 to 4 datapoints for one field, then died.
    np.savez_compressed(tmp_path / "tensors" / "hand_poses_00001.npz", data["hand_poses"][4:8])
    writer = TensorDatasetWriter(tmp_path, FIELDS, datapoints_per_file=4)
    assert writer.num_datapoints == 6
    writer.add(**{name: values[6:] for name, values in data.items()})
    writer.close()
    dataset = TensorDataset(tmp_path)
    assert_data_equal({name: dataset.field(name) for name in FIELDS}, data)


def test_resume_with_different_fields_names_the_difference(tmp_path):
    with TensorDatasetWriter(tmp_path, FIELDS, datapoints_per_file=4) as writer:
        writer.add(**make_data(2))
    changed = dict(FIELDS, hand_poses=FieldSpec("float32", (6,)))
    with pytest.raises(DatasetError, match=r"hand_poses"):
        TensorDatasetWriter(tmp_path, changed, datapoints_per_file=4)
    fewer = {name: spec for name, spec in FIELDS.items() if name != "object_labels"}
    with pytest.raises(DatasetError, match=r"object_labels"):
        TensorDatasetWriter(tmp_path, fewer, datapoints_per_file=4)
    with pytest.raises(DatasetError, match=r"datapoints_per_file"):
        TensorDatasetWriter(tmp_path, FIELDS, datapoints_per_file=5)
    assert TensorDataset(tmp_path).num_datapoints == 2  # nothing was touched


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"hand_poses": np.zeros((2, 7), np.float64)}, "'hand_poses': dtype float64"),
        ({"hand_poses": np.zeros((2, 6), np.float32)}, r"'hand_poses': shape \(2, 6\)"),
        ({"object_labels": np.zeros((3,), np.uint32)}, "different numbers of datapoints"),
        ({"extra": np.zeros(2, np.float32)}, "unknown"),
    ],
)
def test_add_checks_fields(tmp_path, change, message):
    writer = TensorDatasetWriter(tmp_path, FIELDS)
    batch = dict(make_data(2), **change)
    with pytest.raises(DatasetError, match=message):
        writer.add(**batch)
    batch = make_data(2)
    del batch["object_labels"]
    with pytest.raises(DatasetError, match=r"missing.*object_labels"):
        writer.add(**batch)
    assert writer.num_datapoints == 0


@pytest.fixture
def written(tmp_path):
    with TensorDatasetWriter(tmp_path, FIELDS, datapoints_per_file=4) as writer:
        writer.add(**make_data(10))
    return tmp_path


def test_missing_config(written):
    (written / "config.json").unlink()
    with pytest.raises(DatasetError, match=r"config.json"):
        TensorDataset(written)


def test_missing_tensor_file(written):
    (written / "tensors" / "object_labels_00001.npz").unlink()
    with pytest.raises(DatasetError, match=r"object_labels_00001.npz: tensor file is missing"):
        TensorDataset(written)


def test_corrupt_npz(written):
    (written / "tensors" / "hand_poses_00001.npz").write_bytes(b"PK\x03\x04 not a zip")
    with pytest.raises(DatasetError, match=r"hand_poses_00001.npz: not a readable"):
        TensorDataset(written)


def test_corrupt_npz_data_is_reported_on_read(written):
    path = written / "tensors" / "depth_ims_tf_table_00000.npz"
    raw = bytearray(path.read_bytes())
    middle = len(raw) // 2
    raw[middle : middle + 64] = bytes(64)  # header intact, compressed data damaged
    path.write_bytes(bytes(raw))
    dataset = TensorDataset(written)
    with pytest.raises(DatasetError, match=r"depth_ims_tf_table_00000.npz"):
        dataset.field("depth_ims_tf_table")


def test_fields_whose_lengths_disagree(written):
    np.savez_compressed(
        written / "tensors" / "robust_ferrari_canny_00002.npz", np.zeros(1, np.float32)
    )
    with pytest.raises(DatasetError, match=r"disagree on the length of file 2"):
        TensorDataset(written)


def test_tensor_with_wrong_dtype(written):
    np.savez_compressed(written / "tensors" / "object_labels_00000.npz", np.zeros(4, np.int64))
    with pytest.raises(DatasetError, match=r"object_labels_00000.npz: holds int64"):
        TensorDataset(written)


def test_short_file_before_the_last(written):
    for name, values in make_data(3).items():
        np.savez_compressed(written / "tensors" / f"{name}_00000.npz", values)
    with pytest.raises(DatasetError, match=r"file 0 holds 3 datapoints, 4 expected"):
        TensorDataset(written)


def test_unknown_field(written):
    with pytest.raises(DatasetError, match=r"no field 'grasps'"):
        TensorDataset(written).field("grasps")


def test_writer_refuses_tensor_files_without_a_config(tmp_path):
    (tmp_path / "tensors").mkdir()
    np.savez_compressed(tmp_path / "tensors" / "hand_poses_00000.npz", np.zeros((2, 7)))
    with pytest.raises(DatasetError, match=r"tensor files but no config.json"):
        TensorDatasetWriter(tmp_path, FIELDS)
