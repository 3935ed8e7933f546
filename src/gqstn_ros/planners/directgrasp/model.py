"""DirectGrasp (Redmon and Angelova 2015) with a ResNet feature extractor (as in Kumra et al.).

The whole view regresses one grasp: ResNet features -> `PooledHead` (a pooled map, flattened,
or a global average with head_grid 1) -> 6 outputs
(w_x, w_y, w_alpha, w_beta, w_s, w_z) with GQ-STN's head activations, so every planner returns
the same (x, y, theta, s, z). Trained with `grasp_head.localization_loss` against (B, 5)
targets.
"""

from __future__ import annotations

import torch
from torch import nn

from gqstn_ros.networks.grasp_head import (
    GraspPrediction,
    PooledHead,
    RegressionConfig,
    angle_from_raw,
    localization_loss,
    scale_from_raw,
    translation_from_raw,
)
from gqstn_ros.networks.resnet import ResNet
from gqstn_ros.preprocessing import Normalization, normalize_views


class DirectGraspConfig(RegressionConfig):
    """DirectGrasp's backbone, angle activation and head grid."""


class DirectGrasp(nn.Module):
    """views (B, 1, D, D) metres -> GraspPrediction (one grasp per view)."""

    def __init__(self, config: DirectGraspConfig, normalization: Normalization | None = None):
        super().__init__()
        self.config = config
        self.normalization = normalization if normalization is not None else Normalization()
        self.features = ResNet(config.backbone)
        self.head = PooledHead(
            self.features.out_channels, config.head_grid, 6, (0.0, 0.0, 0.0, 1.0, 0.0, 0.0)
        )

    def forward(self, views_m: torch.Tensor) -> GraspPrediction:
        if views_m.ndim != 4 or views_m.shape[1] != 1:
            raise ValueError(f"views must be (B, 1, D, D) metres, got {tuple(views_m.shape)}")
        features = self.features(normalize_views(views_m, self.normalization))
        w_x, w_y, w_alpha, w_beta, w_s, w_z = self.head(features).unbind(dim=1)
        alpha, beta, theta = angle_from_raw(w_alpha, w_beta, self.config.angle_activation)
        return GraspPrediction(
            x=translation_from_raw(w_x),
            y=translation_from_raw(w_y),
            theta=theta,
            s=scale_from_raw(w_s, self.normalization.scale_mean),
            z=w_z,
            alpha=alpha,
            beta=beta,
            w_s=w_s,
        )


def direct_grasp_loss(outputs: GraspPrediction, target: torch.Tensor, gamma: float) -> torch.Tensor:
    """L2 on the grasp against target (B, 5) [x, y, theta, s, z_normalized]."""
    return localization_loss(outputs, target, gamma)
