"""Tiny networks for fast tests (the architecture is the real one, only narrower)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from gqstn_ros.networks.checkpoint import save_checkpoint
from gqstn_ros.networks.gqcnn import GQCNN, GQCNNConfig
from gqstn_ros.networks.resnet import ResNetConfig
from gqstn_ros.planners.directgrasp.model import DirectGrasp, DirectGraspConfig
from gqstn_ros.planners.gqstn.model import GQSTN, GQSTNConfig
from gqstn_ros.planners.multigrasp.model import MultiGrasp, MultiGraspConfig
from gqstn_ros.preprocessing import NetworkInputConfig, Normalization

TINY_RESNET = ResNetConfig(depths=(1, 1, 1, 1), width=4)
TINY_GQCNN = GQCNNConfig(conv_width=4, fc_width=16, pose_width=4)
NORM = Normalization(scale_mean=0.5)
VIEW = 64  # view side for model tests (the planner tests use the real 224)


@pytest.fixture(autouse=True)
def _seed_and_threads():
    torch.manual_seed(0)
    torch.set_num_threads(1)


def smooth_views(batch: int, size: int = VIEW, seed: int = 0) -> torch.Tensor:
    """(B, 1, size, size) metres: a table at ~0.7 m with smooth bumps (bilinear-friendly)."""
    generator = torch.Generator().manual_seed(seed)
    coords = torch.linspace(-1, 1, size)
    yy, xx = torch.meshgrid(coords, coords, indexing="ij")
    views = []
    for _ in range(batch):
        cx, cy, fx, fy = (torch.rand(4, generator=generator) * 2 - 1).tolist()
        bump = torch.exp(-((xx - 0.4 * cx) ** 2 + (yy - 0.4 * cy) ** 2) / 0.1)
        wave = 0.005 * torch.sin(2 * xx + fx) * torch.cos(1.5 * yy + fy)
        views.append(0.7 - 0.05 * bump + wave)
    return torch.stack(views)[:, None]


def random_targets(batch: int, seed: int = 1) -> torch.Tensor:
    """(B, 5) [x, y, theta, s, z] in the ranges the heads produce."""
    generator = torch.Generator().manual_seed(seed)
    x, y = (torch.rand(2, batch, generator=generator) - 0.5) * 0.8
    theta = (torch.rand(batch, generator=generator) - 0.5) * 3.0
    s = 0.3 + 0.4 * torch.rand(batch, generator=generator)
    z = torch.randn(batch, generator=generator)
    return torch.stack([x, y, theta, s, z], dim=1)


def tiny_gqcnn() -> GQCNN:
    return GQCNN(TINY_GQCNN)


def tiny_gqstn(angle_activation: str = "signed") -> GQSTN:
    return GQSTN(GQSTNConfig.shared(TINY_RESNET, angle_activation), tiny_gqcnn(), NORM)


def tiny_direct_grasp() -> DirectGrasp:
    return DirectGrasp(DirectGraspConfig(backbone=TINY_RESNET), NORM)


def tiny_multigrasp() -> MultiGrasp:
    return MultiGrasp(MultiGraspConfig(backbone=TINY_RESNET), NORM)


def spread_heads(model: torch.nn.Module, std: float = 1.0) -> torch.nn.Module:
    """Widen the (deliberately small) head initialisation so outputs vary across inputs."""
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if name.endswith("head.weight") or name.endswith("head.bias"):
                parameter.normal_(0.0, std)
    return model


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory) -> Path:
    """models/ with tiny gqcnn, gqstn, directgrasp and multigrasp checkpoints (224 px views)."""
    directory = tmp_path_factory.mktemp("models")
    torch.manual_seed(3)
    provenance = {"data": "random initialisation (test)", "code": "test"}
    inputs = NetworkInputConfig()
    gqcnn = tiny_gqcnn()
    save_checkpoint(directory / "gqcnn.pt", gqcnn, "gqcnn", gqcnn.config, NORM, provenance)
    for kind, model in (
        ("gqstn", tiny_gqstn()),
        ("directgrasp", tiny_direct_grasp()),
        ("multigrasp", tiny_multigrasp()),
    ):
        spread_heads(model, 0.3)
        save_checkpoint(
            directory / f"{kind}.pt", model, kind, model.config, NORM, provenance, None, inputs
        )
    return directory


def frame_with_box(seed: int = 0) -> np.ndarray:
    """(480, 640) float32 metres: table at 0.7 m, a box, mild noise (an inpainted frame)."""
    rng = np.random.default_rng(seed)
    depth = np.full((480, 640), 0.7, dtype=np.float32)
    top, left = rng.integers(180, 260), rng.integers(260, 340)
    depth[top : top + 50, left : left + 35] = 0.66
    return depth + rng.normal(0, 0.0005, depth.shape).astype(np.float32)
