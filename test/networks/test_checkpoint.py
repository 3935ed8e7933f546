import pytest
import torch
from conftest import NORM, TINY_GQCNN, smooth_views, spread_heads, tiny_gqcnn, tiny_gqstn

from gqstn_ros.networks.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from gqstn_ros.networks.gqstn import GQSTN
from gqstn_ros.preprocessing import NetworkInputConfig, Normalization

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
