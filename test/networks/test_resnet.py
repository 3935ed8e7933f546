import pytest
import torch

from gqstn_ros.networks.resnet import RESNET18, RESNET34, ResNet, ResNetConfig, freeze_batchnorm


def test_feature_map_is_one_32nd_of_the_input():
    net = ResNet(ResNetConfig(depths=(1, 1, 1, 1), width=4))
    features = net(torch.randn(2, 1, 64, 96))
    assert features.shape == (2, 32, 2, 3)
    assert net.out_channels == 32


def test_named_depths_build_the_right_block_counts():
    assert RESNET34.depths == (3, 4, 6, 3)
    assert RESNET18.depths == (2, 2, 2, 2)
    net = ResNet(ResNetConfig(depths=(2, 2, 2, 2), width=2))
    assert [len(stage) for stage in net.stages] == [2, 2, 2, 2]


def test_config_round_trip_and_validation():
    config = ResNetConfig(depths=(1, 2), width=8)
    assert ResNetConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ValueError, match="depths"):
        ResNetConfig(depths=(0, 1))
    with pytest.raises(ValueError, match="unknown"):
        ResNetConfig.from_dict({"depth": [1]})


def test_freeze_batchnorm_keeps_running_statistics():
    net = ResNet(ResNetConfig(depths=(1,), width=4)).train()
    freeze_batchnorm(net)
    before = net.stem[1].running_mean.clone()
    net(torch.randn(2, 1, 32, 32))
    assert torch.equal(before, net.stem[1].running_mean)
