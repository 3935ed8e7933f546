import dataclasses
from pathlib import Path

import pytest
import torch
from conftest import NORM, TINY_GQCNN, smooth_views, spread_heads, tiny_gqcnn, tiny_gqstn

from gqstn_ros.gripper import GripperMismatchError
from gqstn_ros.networks.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from gqstn_ros.planners.gqstn.model import GQSTN
from gqstn_ros.preprocessing import NetworkInputConfig, Normalization
from gqstn_ros.profiles import load_gripper_profile

PROVENANCE = {"data": "synthetic test", "code": "abc123"}


@pytest.fixture
def gqstn_file(tmp_path):
    model = spread_heads(tiny_gqstn(), 0.5).eval()
    path = save_checkpoint(
        tmp_path / "gqstn.pt",
        model,
        "gqstn",
        model.config,
        NORM,
        PROVENANCE,
        {"epoch": 3},
        NetworkInputConfig(view_size_px=300),
    )
    return path, model


def test_round_trip_restores_the_network_and_its_frozen_gqcnn(gqstn_file):
    path, model = gqstn_file
    loaded = load_checkpoint(path, expected_kind="gqstn")
    assert isinstance(loaded.model, GQSTN) and not loaded.model.training
    assert loaded.config == model.config
    assert loaded.normalization == NORM
    assert loaded.input_config.view_size_px == 300
    assert loaded.provenance == PROVENANCE and loaded.extra == {"epoch": 3}
    assert loaded.model.gqcnn.config == TINY_GQCNN
    assert all(not p.requires_grad for p in loaded.model.gqcnn.parameters())
    views = smooth_views(2)
    with torch.no_grad():
        expected, actual = model(views), loaded.model(views)
    assert torch.equal(expected.crop, actual.crop) and torch.equal(expected.q, actual.q)


def test_gqcnn_round_trip(tmp_path):
    model = tiny_gqcnn().eval()
    path = save_checkpoint(tmp_path / "g.pt", model, "gqcnn", model.config, NORM, PROVENANCE)
    loaded = load_checkpoint(path, "gqcnn")
    image, pose = torch.randn(3, 1, 32, 32), torch.randn(3, 1)
    assert torch.equal(model(image, pose), loaded.model(image, pose))


def test_missing_file(tmp_path):
    with pytest.raises(CheckpointError, match=r"nothing\.pt does not exist"):
        load_checkpoint(tmp_path / "nothing.pt")


def test_truncated_file(gqstn_file, tmp_path):
    path, _ = gqstn_file
    cut = tmp_path / "cut.pt"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(CheckpointError, match=r"cut\.pt cannot be read"):
        load_checkpoint(cut)


def test_garbage_file(tmp_path):
    path = tmp_path / "garbage.pt"
    path.write_bytes(b"not a checkpoint at all")
    with pytest.raises(CheckpointError, match="cannot be read"):
        load_checkpoint(path)


def test_not_a_dict(tmp_path):
    path = tmp_path / "list.pt"
    torch.save([1, 2, 3], path)
    with pytest.raises(CheckpointError, match=r"list\.pt holds a list, expected a dict"):
        load_checkpoint(path)


def test_missing_keys(gqstn_file, tmp_path):
    path, _ = gqstn_file
    checkpoint = torch.load(path, weights_only=True)
    del checkpoint["state_dict"], checkpoint["provenance"]
    torch.save(checkpoint, tmp_path / "partial.pt")
    with pytest.raises(CheckpointError, match=r"lacks the keys \['state_dict', 'provenance'\]"):
        load_checkpoint(tmp_path / "partial.pt")


def test_wrong_kind(gqstn_file):
    path, _ = gqstn_file
    with pytest.raises(CheckpointError, match="holds a gqstn, expected a multigrasp"):
        load_checkpoint(path, expected_kind="multigrasp")


def test_config_with_other_widths_names_the_shape_mismatch(gqstn_file, tmp_path):
    path, _ = gqstn_file
    checkpoint = torch.load(path, weights_only=True)
    checkpoint["config"]["rot_net"]["width"] = 8
    torch.save(checkpoint, tmp_path / "wide.pt")
    with pytest.raises(
        CheckpointError, match=r"shape mismatches.*stn_rot\.features\.stem\.0\.weight"
    ):
        load_checkpoint(tmp_path / "wide.pt")


def test_config_with_other_depths_names_missing_and_unexpected_weights(gqstn_file, tmp_path):
    path, _ = gqstn_file
    checkpoint = torch.load(path, weights_only=True)
    checkpoint["config"]["scale_net"]["depths"] = [2, 1, 1, 1]
    torch.save(checkpoint, tmp_path / "deep.pt")
    with pytest.raises(
        CheckpointError, match=r"missing weights \(stn_scale\.features\.stages\.0\.1"
    ):
        load_checkpoint(tmp_path / "deep.pt")
    del checkpoint["state_dict"]["stn_trans.head.linear.bias"]
    checkpoint["state_dict"]["stn_trans.head.extra"] = torch.zeros(1)
    checkpoint["config"]["scale_net"]["depths"] = [1, 1, 1, 1]
    torch.save(checkpoint, tmp_path / "renamed.pt")
    with pytest.raises(CheckpointError, match=r"1 unexpected weights \(stn_trans\.head\.extra\)"):
        load_checkpoint(tmp_path / "renamed.pt")


def test_invalid_config_fields_and_normalization(gqstn_file, tmp_path):
    path, _ = gqstn_file
    checkpoint = torch.load(path, weights_only=True)
    checkpoint["config"]["dropout_everywhere"] = 0.5
    torch.save(checkpoint, tmp_path / "unknown.pt")
    with pytest.raises(CheckpointError, match=r"invalid config.*dropout_everywhere"):
        load_checkpoint(tmp_path / "unknown.pt")
    checkpoint = torch.load(path, weights_only=True)
    del checkpoint["gqcnn_config"]
    torch.save(checkpoint, tmp_path / "nogqcnn.pt")
    with pytest.raises(CheckpointError, match="gqcnn_config"):
        load_checkpoint(tmp_path / "nogqcnn.pt")


def test_save_refuses_a_normalization_the_model_does_not_use(tmp_path):
    model = tiny_gqstn()
    with pytest.raises(ValueError, match="normalization"):
        save_checkpoint(tmp_path / "x.pt", model, "gqstn", model.config, Normalization(), {})


def _gqcnn_file(tmp_path, name: str, **recorded) -> Path:
    model = tiny_gqcnn().eval()
    return save_checkpoint(
        tmp_path / name, model, "gqcnn", model.config, NORM, PROVENANCE, **recorded
    )


def test_the_gripper_and_depth_range_trained_for_round_trip(tmp_path):
    franka = load_gripper_profile("franka_hand")
    path = _gqcnn_file(tmp_path, "franka.pt", gripper=franka, depth_range=(0.55, 0.9))
    loaded = load_checkpoint(path, gripper=franka)
    assert loaded.gripper == franka and loaded.gripper_recorded
    assert loaded.depth_range == (0.55, 0.9)
    assert torch.load(path, weights_only=True)["trained_for"]["gripper"] == franka.to_dict()


def test_a_checkpoint_without_gripper_metadata_is_trained_for_the_2f85(gqstn_file):
    path, _ = gqstn_file  # saved without a gripper, like the shipped models
    assert "trained_for" not in torch.load(path, weights_only=True)
    robotiq_2f85 = load_gripper_profile("robotiq_2f85")
    loaded = load_checkpoint(path, gripper=robotiq_2f85)
    assert loaded.gripper == robotiq_2f85 and not loaded.gripper_recorded
    assert loaded.depth_range is None
    with pytest.raises(GripperMismatchError, match="'robotiq_2f85', not for gripper 'franka_hand'"):
        load_checkpoint(path, gripper=load_gripper_profile("franka_hand"))


def test_a_model_for_the_2f85_is_refused_for_the_franka_hand_naming_both(tmp_path):
    path = _gqcnn_file(tmp_path, "g.pt", gripper=load_gripper_profile("robotiq_2f85"))
    with pytest.raises(GripperMismatchError) as refused:
        load_checkpoint(path, gripper=load_gripper_profile("franka_hand"))
    message = str(refused.value)
    assert f"checkpoint {path} was trained for gripper 'robotiq_2f85'" in message
    assert "not for gripper 'franka_hand'" in message
    # Every differing geometry field, trained-for value first.
    assert "max_width 0.085 m vs 0.08 m" in message
    assert "finger_depth 0.04 m vs 0.045 m" in message
    assert "min_width" not in message  # equal: both close fully


def test_grippers_are_compared_by_geometry_not_name(tmp_path):
    robotiq_2f85 = load_gripper_profile("robotiq_2f85")
    path = _gqcnn_file(tmp_path, "g.pt", gripper=robotiq_2f85)
    # Same stroke and fingers, another name and grip force: the same grasps, accepted.
    renamed = dataclasses.replace(robotiq_2f85, name="my_2f85", grip_force=80.0)
    assert load_checkpoint(path, gripper=renamed).gripper == robotiq_2f85
    # Same name, other finger depth: refused, naming the field.
    longer = dataclasses.replace(robotiq_2f85, finger_depth=0.05)
    with pytest.raises(GripperMismatchError, match=r"finger_depth 0\.04 m vs 0\.05 m"):
        load_checkpoint(path, gripper=longer)


def test_unusable_gripper_metadata_is_named(tmp_path):
    path = _gqcnn_file(tmp_path, "g.pt", gripper=load_gripper_profile("robotiq_2f85"))
    checkpoint = torch.load(path, weights_only=True)
    del checkpoint["trained_for"]["gripper"]["max_width"]
    torch.save(checkpoint, tmp_path / "no_stroke.pt")
    with pytest.raises(CheckpointError, match=r"trained_for\.gripper: missing field max_width"):
        load_checkpoint(tmp_path / "no_stroke.pt")
    checkpoint = torch.load(path, weights_only=True)
    checkpoint["trained_for"]["depth_range"] = [0.9, 0.5]
    torch.save(checkpoint, tmp_path / "reversed.pt")
    with pytest.raises(CheckpointError, match=r"trained_for\.depth_range must be \[near, far\]"):
        load_checkpoint(tmp_path / "reversed.pt")
