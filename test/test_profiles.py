"""Camera and gripper profiles: every shipped file loads; bad files are refused naming the field."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from gqstn_ros.gripper import ROBOTIQ_2F85
from gqstn_ros.profiles import (
    DEFAULT_CAMERA_PROFILE,
    DEFAULT_GRIPPER_PROFILE,
    ProfileError,
    camera_profile_names,
    gripper_profile_names,
    load_camera_profile,
    load_gripper_profile,
)

REQUIRED_CAMERAS = {
    "kinect_v1", "realsense_d415", "realsense_d435", "realsense_d455", "azure_kinect_nfov",
    "zivid_like",
}  # fmt: skip
VGA = {"width": 640, "height": 480, "fx": 500.0, "fy": 500.0, "cx": 319.5, "cy": 239.5}
REQUIRED_GRIPPERS = {"robotiq_2f85", "robotiq_2f140", "franka_hand", "compact_50mm"}


def _write(tmp_path: Path, name: str, data: dict) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _gripper_data(**changes: object) -> dict:
    data = yaml.safe_load(
        (Path(__file__).resolve().parents[1] / "config/grippers/robotiq_2f85.yaml").read_text()
    )
    data.update(changes)
    return data


def _camera_data(**changes: object) -> dict:
    data = yaml.safe_load(
        (Path(__file__).resolve().parents[1] / "config/cameras/realsense_d415.yaml").read_text()
    )
    data["name"] = "my_camera"
    data.update(changes)
    return data


def test_shipped_profiles_are_all_there_and_load() -> None:
    assert set(camera_profile_names()) >= REQUIRED_CAMERAS
    assert set(gripper_profile_names()) >= REQUIRED_GRIPPERS
    for name in camera_profile_names():
        profile = load_camera_profile(name)
        assert profile.name == name
        near, far = profile.depth_range
        low, high = profile.working_depth_range
        assert near <= low < high <= far
    widths = {name: load_gripper_profile(name).max_width for name in gripper_profile_names()}
    assert widths["robotiq_2f140"] > widths["robotiq_2f85"] > widths["compact_50mm"]


def test_default_profiles_are_the_built_in_defaults() -> None:
    assert load_gripper_profile(DEFAULT_GRIPPER_PROFILE) == ROBOTIQ_2F85
    kinect = load_camera_profile(DEFAULT_CAMERA_PROFILE)
    assert kinect.sensor == "structured_light"
    assert (kinect.intrinsics.width, kinect.intrinsics.height) == (640, 480)


def test_camera_profile_round_trips_through_its_mapping(tmp_path: Path) -> None:
    profile = load_camera_profile("azure_kinect_nfov")
    data = profile.to_dict()
    data["name"] = "copy"
    assert load_camera_profile(_write(tmp_path, "copy", data)).noise == profile.noise


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"max_width": -0.01}, "min_width < max_width"),
        ({"finger_thickness": 0.2}, "must exceed finger_thickness"),
        ({"grip_force": 500.0}, "grip_force must lie in"),
        ({"pad_friction": 0.0}, "pad_friction must be a positive number"),
        ({"finger_depth": "deep"}, "finger_depth must be a number"),
        ({"stroke": 0.1}, "unknown field stroke"),
        ({"name": "other"}, "must equal the file's stem"),
    ],
)
def test_bad_gripper_profile_is_refused_naming_file_and_field(
    tmp_path: Path, changes: dict, message: str
) -> None:
    path = _write(tmp_path, "robotiq_2f85", _gripper_data(**changes))
    with pytest.raises(ProfileError, match=message) as caught:
        load_gripper_profile(path)
    assert str(path) in str(caught.value)


def test_gripper_profile_with_missing_field_is_refused(tmp_path: Path) -> None:
    data = _gripper_data()
    del data["finger_width"]
    path = _write(tmp_path, "robotiq_2f85", data)
    with pytest.raises(ProfileError, match="missing field finger_width"):
        load_gripper_profile(path)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"intrinsics": {**VGA, "fx": -500.0}}, "intrinsics.fx must be positive"),
        ({"intrinsics": {**VGA, "cx": 900.0}}, "principal point"),
        ({"mounting": {"height_range": [0.5, 0.8], "tilt_max": 1.2}}, "sees no table"),
        ({"mounting": {"height_range": [0.9, 0.5], "tilt_max": 0.1}}, "low <= high"),
        ({"mounting": {"height_range": [0.05, 0.5], "tilt_max": 0.1}}, "outside the sensor"),
        ({"sensor": "lidar"}, "not a known sensor type"),
        ({"noise": {"no_such_parameter": 1.0}}, "no_such_parameter"),
        ({"lens": "wide"}, "unknown field lens"),
    ],
)
def test_bad_camera_profile_is_refused_naming_file_and_field(
    tmp_path: Path, changes: dict, message: str
) -> None:
    path = _write(tmp_path, "my_camera", _camera_data(**changes))
    with pytest.raises(ProfileError, match=message) as caught:
        load_camera_profile(path)
    assert str(path) in str(caught.value)


def test_unknown_profile_name_lists_the_known_ones() -> None:
    with pytest.raises(ProfileError, match=r"unknown camera profile 'kinect_v9'.*kinect_v1"):
        load_camera_profile("kinect_v9")
    with pytest.raises(ProfileError, match=r"unknown gripper profile 'pincer'.*robotiq_2f85"):
        load_gripper_profile("pincer")
