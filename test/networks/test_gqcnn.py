from pathlib import Path

import pytest
import torch

from gqstn_ros.networks.checkpoint import load_checkpoint
from gqstn_ros.networks.configs import model_config
from gqstn_ros.networks.gqcnn import GQCNN, GQCNNConfig

REPO_MODELS = Path(__file__).resolve().parents[2] / "models"


def test_dex_net_layer_shapes():
    net = GQCNN(GQCNNConfig())
    conv_kernels = [m.kernel_size for m in net.image_stream if isinstance(m, torch.nn.Conv2d)]
    assert conv_kernels == [(7, 7), (5, 5), (3, 3), (3, 3)]
    fc3 = next(m for m in net.image_stream if isinstance(m, torch.nn.Linear))
    assert (fc3.in_features, fc3.out_features) == (64 * 16 * 16, 1024)
    assert net.pose_stream[0].out_features == 16
    assert net.merge[-1].out_features == 2


def test_forward_and_robustness():
    net = GQCNN(GQCNNConfig(conv_width=4, fc_width=8, pose_width=4, second_pool=2)).eval()
    image, pose = torch.randn(5, 1, 32, 32), torch.randn(5, 1)
    logits = net(image, pose)
    assert logits.shape == (5, 2)
    q = net.robustness(image, pose)
    assert q.shape == (5,)
    assert torch.all((q >= 0) & (q <= 1))
    assert torch.allclose(q, torch.softmax(logits, 1)[:, 1])


def test_bad_inputs_are_named():
    net = GQCNN(GQCNNConfig(conv_width=4, fc_width=8, pose_width=4))
    with pytest.raises(ValueError, match="image"):
        net(torch.randn(2, 1, 16, 16), torch.randn(2, 1))
    with pytest.raises(ValueError, match="pose"):
        net(torch.randn(2, 1, 32, 32), torch.randn(3, 1))
    with pytest.raises(ValueError, match="crop_size"):
        GQCNNConfig(crop_size=30, second_pool=4)


def counted_multiply_accumulates(net: GQCNN) -> int:
    """Multiply-accumulates of one crop, counted on the layers' actual outputs (forward hooks)."""
    total = 0

    def count(module, _inputs, output):
        nonlocal total
        if isinstance(module, torch.nn.Conv2d):
            kernel = module.kernel_size[0] * module.kernel_size[1]
            total += output[0].numel() * module.in_channels * kernel
        elif isinstance(module, torch.nn.Linear):
            total += module.in_features * module.out_features

    hooks = [m.register_forward_hook(count) for m in net.modules()]
    size = net.config.crop_size
    with torch.no_grad():
        net(torch.zeros(1, 1, size, size), torch.zeros(1, 1))
    for hook in hooks:
        hook.remove()
    return total


@pytest.mark.parametrize("name", ["paper", "cpu", "fast"])
def test_multiply_accumulates_match_the_layers(name):
    config = model_config("gqcnn", name)
    assert config.multiply_accumulates == counted_multiply_accumulates(GQCNN(config))


def test_fast_config_keeps_the_layout_at_a_fortieth_of_the_cost():
    fast, cpu = model_config("gqcnn", "fast"), model_config("gqcnn", "cpu")
    net = GQCNN(fast).eval()
    convolutions = [m for m in net.image_stream if isinstance(m, torch.nn.Conv2d)]
    assert [m.kernel_size for m in convolutions] == [(7, 7), (5, 5), (3, 3), (3, 3)]
    assert [m.stride for m in convolutions] == [(2, 2), (1, 1), (1, 1), (1, 1)]
    assert [m.out_channels for m in convolutions] == [8, 8, 16, 16]
    fc3 = next(m for m in net.image_stream if isinstance(m, torch.nn.Linear))
    assert (fc3.in_features, fc3.out_features) == (16 * 4 * 4, 128)  # 32 / 2 / 2 / 2 = 4
    # Same weight names as every other configuration: one checkpoint layout.
    assert net.state_dict().keys() == GQCNN(cpu).state_dict().keys()
    assert fast.multiply_accumulates * 40 < cpu.multiply_accumulates
    logits = net(torch.randn(3, 1, 32, 32), torch.randn(3, 1))
    assert logits.shape == (3, 2) and torch.isfinite(logits).all()


def test_old_configs_build_the_same_network_as_before():
    # The Dex-Net 2.0 defaults: stride 1, conv2 as wide as conv1 (checkpoints without the new
    # fields load unchanged).
    config = GQCNNConfig.from_dict({"conv_width": 32, "fc_width": 256, "pose_width": 16})
    assert config.first_stride == 1 and config.conv2_width is None and config.block2_width == 32
    shapes = {name: tuple(v.shape) for name, v in GQCNN(config).state_dict().items()}
    assert shapes["image_stream.0.weight"] == (32, 1, 7, 7)
    assert shapes["image_stream.6.weight"] == shapes["image_stream.8.weight"] == (32, 32, 3, 3)
    assert shapes["image_stream.13.weight"] == (256, 32 * 16 * 16)


@pytest.mark.parametrize("file_name", ["gqcnn.pt", "gqcnn_fast.pt", "gqcnn_judge.pt"])
def test_shipped_gqcnn_checkpoints_load(file_name):
    path = REPO_MODELS / file_name
    if not path.is_file():
        pytest.skip(f"{path} is not in this checkout")
    loaded = load_checkpoint(path, expected_kind="gqcnn")
    size = loaded.config.crop_size
    q = loaded.model.robustness(torch.zeros(2, 1, size, size), torch.zeros(2, 1))
    assert q.shape == (2,) and torch.all((q >= 0) & (q <= 1))


def test_bad_new_fields_are_named():
    with pytest.raises(ValueError, match="first_stride"):
        GQCNNConfig(first_stride=0)
    with pytest.raises(ValueError, match="conv2_width"):
        GQCNNConfig(conv2_width=0)
    with pytest.raises(ValueError, match="first_stride \\* 2 \\* second_pool = 8"):
        GQCNNConfig(crop_size=36, first_stride=2, second_pool=2)
