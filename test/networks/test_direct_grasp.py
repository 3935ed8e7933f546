import math

import torch
from conftest import NORM, random_targets, smooth_views, spread_heads, tiny_direct_grasp

from gqstn_ros.planners.directgrasp.model import DirectGraspConfig, direct_grasp_loss


def test_outputs_in_gqstn_parameterisation():
    model = spread_heads(tiny_direct_grasp(), std=5.0).eval()
    out = model(smooth_views(6))
    assert out.params().shape == (6, 4) and out.z.shape == (6,)
    assert torch.all(out.x.abs() < 0.5) and torch.all(out.y.abs() < 0.5)
    assert torch.all(out.theta.abs() <= math.pi / 2) and torch.all(out.s > 0)


def test_config_round_trip():
    config = DirectGraspConfig(angle_activation="paper")
    assert DirectGraspConfig.from_dict(config.to_dict()) == config


def test_loss_decreases_on_a_tiny_overfit():
    model = tiny_direct_grasp().train()
    views, target = smooth_views(4), random_targets(4)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(12):
        loss = direct_grasp_loss(model(views), target, NORM.scale_mean)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.7 * losses[0], losses
