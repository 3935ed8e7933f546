import pytest
import torch

from gqstn_ros.networks.gqcnn import GQCNN, GQCNNConfig


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
