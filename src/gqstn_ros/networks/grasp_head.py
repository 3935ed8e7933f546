"""The grasp head shared by the one-shot networks: GQ-STN's parameterisation of a grasp.

Raw outputs (w_x, w_y, w_alpha, w_beta, w_s, w_z), (B,) each -> the grasp (x, y, theta, s, z):
x = sigmoid(w_x) - 0.5, y likewise (normalized view coordinates), theta = atan2(alpha, beta) / 2,
s = gamma exp(w_s) with gamma = Normalization.scale_mean, z = w_z (the normalized gripper
height; `preprocessing.depth_offset_to_depth` gives metres). alpha and beta stand for sin 2theta
and cos 2theta: "signed" (default) maps them to [-1, 1], "paper" to (0, 1) as the paper writes
(theta then spans only (0, pi/4)). `PooledHead` reads a ResNet feature map (B, C, h, w); the L2
localization loss compares a prediction with targets (B, 5) [x, y, theta, s, z normalized].
GQ-STN (`planners/gqstn`), DirectGrasp (`planners/directgrasp`) and MultiGrasp
(`planners/multigrasp`) build on it.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Literal

import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from gqstn_ros.networks.resnet import RESNET34, ResNetConfig

AngleActivation = Literal["signed", "paper"]
ANGLE_ACTIVATIONS = ("signed", "paper")


def translation_from_raw(w: torch.Tensor) -> torch.Tensor:
    """x = sigmoid(w) - 0.5, in (-0.5, 0.5) (the paper's Lambda_trans range)."""
    return torch.sigmoid(w) - 0.5


def angle_from_raw(
    w_alpha: torch.Tensor, w_beta: torch.Tensor, activation: AngleActivation
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(alpha, beta, theta): alpha ~ sin 2theta, beta ~ cos 2theta, theta = atan2(alpha, beta)/2."""
    if activation == "signed":
        alpha, beta = 2.0 * torch.sigmoid(w_alpha) - 1.0, 2.0 * torch.sigmoid(w_beta) - 1.0
    elif activation == "paper":
        alpha, beta = torch.sigmoid(w_alpha), torch.sigmoid(w_beta)
    else:
        raise ValueError(f"angle_activation must be one of {ANGLE_ACTIVATIONS}, got {activation!r}")
    return alpha, beta, torch.atan2(alpha, beta) / 2.0


def scale_from_raw(w_s: torch.Tensor, gamma: float) -> torch.Tensor:
    """s = gamma exp(w_s), gamma the mean training scale."""
    return gamma * torch.exp(w_s)


def localization_loss_terms(outputs, target: torch.Tensor, gamma: float) -> dict[str, torch.Tensor]:
    """Mean squared errors of each head against target (B, 5) [x, y, theta, s, z_normalized].

    `outputs` is any prediction with x, y, alpha, beta, w_s, z of shape (B,) (GQ-STN,
    DirectGrasp, MultiGrasp). The angle is compared through alpha vs sin 2theta and beta vs
    cos 2theta (the values the "signed" activation spans; with "paper" only 2theta in (0, pi/2)
    is reachable); the scale in log space, w_s vs log(s / gamma).
    """
    if target.ndim != 2 or target.shape[1] != 5:
        raise ValueError(f"target must be (B, 5) [x, y, theta, s, z], got {tuple(target.shape)}")
    if torch.any(target[:, 3] <= 0):
        raise ValueError("target scales s must be positive")
    x, y, theta, s, z = target.unbind(dim=1)
    return {
        "x": F.mse_loss(outputs.x, x),
        "y": F.mse_loss(outputs.y, y),
        "alpha": F.mse_loss(outputs.alpha, torch.sin(2.0 * theta)),
        "beta": F.mse_loss(outputs.beta, torch.cos(2.0 * theta)),
        "scale": F.mse_loss(outputs.w_s, torch.log(s / gamma)),
        "z": F.mse_loss(outputs.z, z),
    }


def localization_loss(outputs, target: torch.Tensor, gamma: float) -> torch.Tensor:
    """L_loc: the sum of the L2 terms of `localization_loss_terms` (a scalar)."""
    return torch.stack(list(localization_loss_terms(outputs, target, gamma).values())).sum()


@dataclass
class GraspPrediction:
    """A one-shot network's grasp, (B,) each, in GQ-STN's parameterisation."""

    x: torch.Tensor  # normalized view coordinates
    y: torch.Tensor
    theta: torch.Tensor  # radians
    s: torch.Tensor  # Lambda_scale
    z: torch.Tensor  # normalized gripper height
    alpha: torch.Tensor
    beta: torch.Tensor
    w_s: torch.Tensor  # log(s / gamma)

    def params(self) -> torch.Tensor:
        """(B, 4) [x, y, theta, s]."""
        return torch.stack([self.x, self.y, self.theta, self.s], dim=1)


def angle_range(activation: AngleActivation) -> tuple[float, float]:
    """The open/closed interval of theta an activation can produce (radians)."""
    return (-math.pi / 2, math.pi / 2) if activation == "signed" else (0.0, math.pi / 4)


class PooledHead(nn.Module):
    """(B, C, h, w) features -> average pool to a grid x grid map -> flatten -> linear.

    grid 1 is the classic global average pool, which keeps what the image shows but hardly
    where: a regression of the grasp position needs the map (grid > 1).
    """

    def __init__(self, channels: int, grid: int, num_outputs: int, bias: tuple[float, ...]) -> None:
        super().__init__()
        if grid < 1:
            raise ValueError(f"head grid must be >= 1, got {grid}")
        self.grid = grid
        self.linear = nn.Linear(channels * grid * grid, num_outputs)
        # Small weights: the block starts near the transformation its bias gives.
        nn.init.normal_(self.linear.weight, std=1e-2 / grid)
        with torch.no_grad():
            self.linear.bias.copy_(torch.tensor(bias))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        if self.grid == 1:
            pooled = features.mean(dim=(2, 3))  # (B, C)
        elif tuple(features.shape[-2:]) == (self.grid, self.grid):
            pooled = features.flatten(1)  # (B, C g g): the map already has the grid's size
        else:  # (not exportable to ONNX with dynamic sizes; the configured input needs none)
            pooled = F.adaptive_avg_pool2d(features, self.grid).flatten(1)  # (B, C g g)
        return self.linear(pooled)


@dataclass(frozen=True)
class RegressionConfig:
    """A ResNet feature extractor and the grasp head (DirectGrasp, MultiGrasp)."""

    backbone: ResNetConfig = RESNET34
    angle_activation: AngleActivation = "signed"
    head_grid: int = 1  # PooledHead grid (1: global average pool)

    def __post_init__(self) -> None:
        if not isinstance(self.head_grid, int) or self.head_grid < 1:
            raise ValueError(f"head_grid must be an int >= 1, got {self.head_grid}")
        if self.angle_activation not in ANGLE_ACTIVATIONS:
            raise ValueError(
                f"angle_activation must be one of {ANGLE_ACTIVATIONS}, "
                f"got {self.angle_activation!r}"
            )

    def to_dict(self) -> dict:
        values = asdict(self)
        values["backbone"] = self.backbone.to_dict()
        return values

    @classmethod
    def from_dict(cls, values: dict):
        unknown = set(values) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown {cls.__name__} fields {sorted(unknown)}")
        values = dict(values)
        if "backbone" in values:
            values["backbone"] = ResNetConfig.from_dict(values["backbone"])
        return cls(**values)
