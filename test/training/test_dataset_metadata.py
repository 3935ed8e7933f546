"""What a dataset was made for, read from its generation manifest: the gripper its grasps were
labelled for and the table depths its views cover (recorded in every trained checkpoint)."""

import json
import math
from pathlib import Path

import pytest

from gqstn_ros.profiles import load_gripper_profile
from gqstn_ros.training.common import dataset_depth_range, dataset_gripper


def _dataset(root: Path, config: dict) -> Path:
    root.mkdir(parents=True)
    (root / "generation.json").write_text(json.dumps({"seed": 0, "config": config}))
    return root


def test_the_manifest_gripper_and_camera_mounting(tmp_path: Path) -> None:
    robotiq_2f140 = load_gripper_profile("robotiq_2f140")
    root = _dataset(
        tmp_path / "wide",
        {
            "gripper": robotiq_2f140.to_dict(),
            "camera_height_range": [0.5, 0.8],
            "camera_tilt_max": 0.1,
        },
    )
    assert dataset_gripper(root) == robotiq_2f140
    near, far = dataset_depth_range(root)
    assert near == 0.5 and far == pytest.approx(0.8 / math.cos(0.1) ** 2)


def test_a_camera_mix_covers_the_union_of_its_mountings(tmp_path: Path) -> None:
    cameras = [
        {"name": "near", "height_range": [0.45, 0.6], "tilt_max": 0.0},
        {"name": "far", "height_range": [0.7, 0.9], "tilt_max": 0.2},
    ]
    root = _dataset(tmp_path / "mix", {"cameras": cameras, "camera_height_range": [0.62, 0.78]})
    near, far = dataset_depth_range(root)
    assert near == 0.45 and far == pytest.approx(0.9 / math.cos(0.2) ** 2)


def test_older_manifests_were_labelled_for_the_2f85(tmp_path: Path) -> None:
    robotiq_2f85 = load_gripper_profile("robotiq_2f85")
    geometry_only = {
        key: value
        for key, value in robotiq_2f85.to_dict().items()
        if key not in ("min_grip_force", "grip_force", "pad_friction")
    }
    legacy = _dataset(tmp_path / "legacy", {"gripper": geometry_only})
    assert dataset_gripper(legacy) == robotiq_2f85
    assert dataset_depth_range(legacy) is None
    assert dataset_gripper(tmp_path / "no_manifest") == robotiq_2f85


def test_an_unusable_manifest_gripper_is_named(tmp_path: Path) -> None:
    bad = _dataset(tmp_path / "bad", {"gripper": {"name": "x", "max_width": "wide"}})
    with pytest.raises(ValueError, match=r"generation\.json: max_width must be a number"):
        dataset_gripper(bad)
