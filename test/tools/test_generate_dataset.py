"""generate_dataset: the default reproduces the legacy manifest and data, options are checked
before any work, camera mixes and multi-object scenes are reported, and the Dask engine writes
the same dataset as the process pool."""

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from gqstn_ros.datasets.splits import read_split
from gqstn_ros.datasets.tensor_dataset import TensorDataset
from gqstn_ros.tools import dataset_report, generate_dataset

EXPECTATION = Path(__file__).parents[1] / "datasets" / "data" / "legacy_default_generation.json"
TINY = ["--drops", "1", "--views", "1", "--workers", "2", "--objects-per-shard", "1"]
MIXED = [
    *TINY, "--scenes", "3", "--families", "box", "cylinder", "--objects-per-scene", "1-2",
    "--camera", "kinect_v1:0.5", "--camera", "realsense_d435", "--hold-out-cameras",
    "realsense_d455", "--hold-out-families", "sphere",
]  # fmt: skip


def _digest(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def test_the_defaults_write_the_legacy_manifest_and_images(tmp_path):
    expected = json.loads(EXPECTATION.read_text())
    # A dataset started before the new options existed resumes with the default options...
    old = tmp_path / "old"
    old.mkdir()
    (old / "generation.json").write_text(json.dumps(expected["manifest"]))
    args = ["--scenes", "3", "--workers", "2", "--seed", "0", "--objects-per-shard", "1"]
    # (the label model without the weight step, which the default label model adds)
    assert generate_dataset.main(["--output", str(old), *args]) == 2
    args += ["--weight-safety-factor", "0"]
    assert generate_dataset.main(["--output", str(old), *args]) == 0
    images, grasps = TensorDataset(old / "images"), TensorDataset(old / "grasps")
    first = expected["objects"]["0"]
    for key, digest in first.items():
        kind, name = key.split("/")
        dataset = images if kind == "images" else grasps
        rows = digest["shape"][0]
        assert _digest(dataset.field(name)[:rows]) == digest["sha256"], key
    # ... and a new one records the same generation fields (its shards are done: it merges).
    new = tmp_path / "new"
    shutil.copytree(old / "shards", new / "shards")
    assert generate_dataset.main(["--output", str(new), *args]) == 0
    manifest = json.loads((new / "generation.json").read_text())
    assert set(manifest["config"]) == set(expected["manifest"]["config"])
    assert manifest["seed"] == 0
    assert TensorDataset(new / "images").metadata["cameras"] == ["kinect_v1"]


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (["--families", "box", "teapot"], "unknown family or group 'teapot'"),
        (["--hold-out-families", "teapot"], "--hold-out-families: unknown family"),
        (["--families", "box", "--hold-out-families", "box"], "every family requested is held"),
        (["--camera", "kinect_v9"], "unknown camera profile 'kinect_v9'"),
        (["--camera", "kinect_v1:0.7", "--camera", "realsense_d415:0.7"], "sum to 1"),
        (["--camera", "kinect_v1:x"], "share must be a number"),
        (["--hold-out-cameras", "nope"], "unknown camera profile 'nope'"),
        (["--gripper", "robotiq_9f"], "unknown gripper profile 'robotiq_9f'"),
        (["--objects-per-scene", "4-2"], "need 1 <= A <= B"),
        (["--scheduler", "tcp://127.0.0.1:1"], "--scheduler needs --engine dask"),
    ],
)
def test_bad_options_are_refused_before_any_work(tmp_path, capsys, option, message):
    output = tmp_path / "out"
    with pytest.raises(SystemExit) as raised:
        generate_dataset.main(["--output", str(output), "--scenes", "1", *option])
    assert raised.value.code == 2
    assert message in capsys.readouterr().err
    assert not output.exists()


def test_a_gripper_that_cannot_close_on_a_family_is_refused(tmp_path, capsys):
    wide_closed = tmp_path / "closes_to_30mm.yaml"
    wide_closed.write_text(
        "name: closes_to_30mm\nmax_width: 0.085\nmin_width: 0.03\nfinger_width: 0.02\n"
        "finger_thickness: 0.01\nfinger_depth: 0.04\nmin_grip_force: 10.0\n"
        "max_grip_force: 100.0\ngrip_force: 40.0\npad_friction: 0.5\n"
    )
    output = tmp_path / "out"
    with pytest.raises(SystemExit):
        generate_dataset.main(
            ["--output", str(output), "--families", "tiny", "sphere", "--gripper", str(wide_closed)]
        )
    error = capsys.readouterr().err
    assert "gripper closes_to_30mm cannot close on: family 'tiny'" in error
    assert "narrower than the gripper opening [30.0, 85.0] mm" in error
    assert not output.exists()


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    root = tmp_path_factory.mktemp("mixed") / "process"
    assert generate_dataset.main(["--output", str(root), *MIXED]) == 0
    return root


def test_a_camera_mix_of_multi_object_scenes_is_reported_per_family_camera_and_gripper(mixed):
    report = json.loads((mixed / "report.json").read_text())
    images, grasps = TensorDataset(mixed / "images"), TensorDataset(mixed / "grasps")
    assert images.metadata["cameras"] == ["kinect_v1", "realsense_d435"]
    assert grasps.metadata["gripper"] == "robotiq_2f85"
    assert set(report["class_balance"]) == {"box", "cylinder"}
    per_camera = report["class_balance_per_camera"]
    assert set(per_camera) == {"kinect_v1", "realsense_d435"}
    assert sum(row["images"] for row in per_camera.values()) == report["images"] == 3
    assert sum(row["grasps"] for row in per_camera.values()) == report["grasps"]
    assert report["gripper"] == "robotiq_2f85"
    assert report["class_balance_per_gripper"] == {
        "robotiq_2f85": {
            "images": 3, "grasps": report["grasps"], "robust_share": report["robust_share"],
        }
    }  # fmt: skip
    # Each camera's row counts its images and the grasps of those images, from the data.
    robust = grasps.field("robust_ferrari_canny") >= grasps.metadata["robust_threshold"]
    image_cameras = images.field("camera_ids")
    grasp_cameras = image_cameras[grasps.field("image_labels")]
    for index, name in enumerate(images.metadata["cameras"]):
        mine = grasp_cameras == index
        assert per_camera[name]["images"] == int((image_cameras == index).sum())
        assert per_camera[name]["grasps"] == int(mine.sum())
        expected = float(robust[mine].mean()) if mine.any() else 0.0
        assert per_camera[name]["robust_share"] == pytest.approx(expected)
    assert sum(r["images"] for r in report["class_balance_per_object_count"].values()) == 3
    assert report["held_out_families"] == ["sphere"]
    assert report["held_out_cameras"] == ["realsense_d455"]
    manifest = json.loads((mixed / "generation.json").read_text())["config"]
    assert [c["name"] for c in manifest["cameras"]] == ["kinect_v1", "realsense_d435"]
    assert manifest["objects_per_scene"] == [1, 2]
    # Scene-wise splits: every grasp is in the part of its image.
    image_parts = read_split(mixed / "images", "object_wise")
    grasp_parts = read_split(mixed / "grasps", "object_wise")
    grasp_images = grasps.field("image_labels")
    for name, rows in grasp_parts.items():
        assert set(grasp_images[rows].tolist()) <= set(image_parts[name].tolist())


def _tables(lines: list[str]) -> list[str]:
    """The class balance tables of printed lines: from the family table's header on."""
    start = next(i for i, line in enumerate(lines) if line.startswith("family "))
    return [line for line in lines[start:] if "settled poses skipped" not in line]


def test_the_balance_is_recomputed_from_a_dataset_folder_and_printed(mixed, tmp_path, capsys):
    report = json.loads((mixed / "report.json").read_text())
    recomputed = dataset_report.dataset_report(mixed)
    for key in (
        "images", "grasps", "robust_share", "gripper", "class_balance",
        "class_balance_per_camera", "class_balance_per_gripper", "class_balance_per_source",
        "class_balance_per_object_count",
    ):  # fmt: skip
        assert recomputed[key] == report[key], key
    # What generation prints at its end: a table per family, camera, gripper, object count.
    generate_dataset.print_report(report)
    printed = capsys.readouterr().out.splitlines()
    for title in ("family", "camera", "gripper", "objects per scene"):
        assert any(line.startswith(f"{title} ") for line in printed), title
    rows = {line.split()[0]: line.split()[1:] for line in printed}
    for name, row in report["class_balance_per_camera"].items():
        grasps, share, count = rows[name]
        assert (int(grasps), int(count)) == (row["grasps"], row["images"])
        assert float(share) == pytest.approx(100 * row["robust_share"], abs=0.05)
    assert int(rows["robotiq_2f85"][2]) == 3
    # The command prints the same tables and writes the report; a folder that is not a
    # dataset is refused with the reason.
    output = tmp_path / "balance.json"
    assert dataset_report.main([str(mixed), "--json", str(output)]) == 0
    assert _tables(capsys.readouterr().out.splitlines()) == _tables(printed)
    assert json.loads(output.read_text()) == json.loads(json.dumps(recomputed))
    assert dataset_report.main([str(tmp_path / "nothing")]) == 2
    assert "nothing" in capsys.readouterr().err


def test_the_dask_engine_writes_the_same_dataset_as_the_process_pool(mixed, tmp_path):
    root = tmp_path / "dask"
    assert generate_dataset.main(["--output", str(root), *MIXED, "--engine", "dask"]) == 0
    for kind in ("images", "grasps"):
        ours, theirs = TensorDataset(root / kind), TensorDataset(mixed / kind)
        assert ours.field_names == theirs.field_names
        for name in ours.field_names:
            np.testing.assert_array_equal(ours.field(name), theirs.field(name), err_msg=name)
    # Resuming a finished dataset with the other engine only merges again.
    assert generate_dataset.main(["--output", str(root), *MIXED]) == 0


def test_family_names_groups_and_all_resolve_to_families():
    from gqstn_ros.sim.objects import ALL_FAMILIES, FAMILY_GROUPS

    assert generate_dataset.resolve_families(["all"], "--families") == ALL_FAMILIES
    resolved = generate_dataset.resolve_families(["box", "hollow", "mug"], "--families")
    assert resolved == ("box", *FAMILY_GROUPS["hollow"])
