"""MultiGrasp (Redmon and Angelova 2015) with a ResNet feature extractor.

The ResNet feature map divides the view into G x G cells (7 x 7 at 224 px). Each cell predicts
a confidence logit and a grasp: its centre as an offset within the cell, alpha, beta, w_s, w_z
with GQ-STN's activations. The most confident cell wins. Loss: binary cross-entropy on every
cell's confidence (the cell holding the target grasp centre is the positive), plus the L2
localization loss on that positive cell's grasp.

Cells tile the whole view, normalized coordinates [-1, 1]; cell (row i, column j) has centre
(-1 + (j + 0.5) 2 / G, -1 + (i + 0.5) 2 / G), offsets within +-1/G.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from gqstn_ros.networks.grasp_head import (
    GraspPrediction,
    RegressionConfig,
    angle_from_raw,
    localization_loss,
    scale_from_raw,
)
from gqstn_ros.networks.resnet import ResNet
from gqstn_ros.preprocessing import Normalization, normalize_views


class MultiGraspConfig(RegressionConfig):
    """MultiGrasp's backbone and angle activation (its cells are the feature map's: the head
    grid is not used)."""


@dataclass
class MultiGraspOutput:
    """The winning cell's grasp (B,) plus every cell's prediction (B, G, G)."""

    x: torch.Tensor
    y: torch.Tensor
    theta: torch.Tensor
    s: torch.Tensor
    z: torch.Tensor
    alpha: torch.Tensor
    beta: torch.Tensor
    w_s: torch.Tensor
    confidence_logits: torch.Tensor  # (B, G, G)
    cells: GraspPrediction  # each field (B, G, G)
    best_cell: torch.Tensor  # (B,) long, row * G + column

    def params(self) -> torch.Tensor:
        """(B, 4) [x, y, theta, s] of the winning cells."""
        return torch.stack([self.x, self.y, self.theta, self.s], dim=1)


def cell_centers(grid: int, device=None) -> tuple[torch.Tensor, torch.Tensor]:
    """(G, G) x and y of the cell centres, normalized view coordinates."""
    centers = -1.0 + (torch.arange(grid, device=device, dtype=torch.float32) + 0.5) * 2.0 / grid
    cy, cx = torch.meshgrid(centers, centers, indexing="ij")
    return cx, cy


def target_cells(xy: torch.Tensor, grid: int) -> torch.Tensor:
    """(B, 2) grasp centres -> (B,) long index row * G + column of the cell holding them."""
    cells = torch.floor((xy + 1.0) * grid / 2.0).long().clamp(0, grid - 1)
    return cells[:, 1] * grid + cells[:, 0]


class MultiGrasp(nn.Module):
    """views (B, 1, D, D) metres -> MultiGraspOutput."""

    def __init__(self, config: MultiGraspConfig, normalization: Normalization | None = None):
        super().__init__()
        self.config = config
        self.normalization = normalization if normalization is not None else Normalization()
        self.features = ResNet(config.backbone)
        # Per cell: confidence, w_ox, w_oy, w_alpha, w_beta, w_s, w_z.
        self.head = nn.Conv2d(self.features.out_channels, 7, 1)
        nn.init.normal_(self.head.weight, std=1e-2)
        with torch.no_grad():
            self.head.bias.copy_(torch.tensor([0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0]))

    def forward(self, views_m: torch.Tensor) -> MultiGraspOutput:
        if views_m.ndim != 4 or views_m.shape[1] != 1:
            raise ValueError(f"views must be (B, 1, D, D) metres, got {tuple(views_m.shape)}")
        maps = self.head(self.features(normalize_views(views_m, self.normalization)))
        batch, _, grid, grid_w = maps.shape
        if grid != grid_w:
            raise ValueError(f"views must be square, got {tuple(views_m.shape)}")
        conf, w_ox, w_oy, w_alpha, w_beta, w_s, w_z = maps.unbind(dim=1)  # (B, G, G) each
        cx, cy = cell_centers(grid, maps.device)
        half_cell = 1.0 / grid
        alpha, beta, theta = angle_from_raw(w_alpha, w_beta, self.config.angle_activation)
        cells = GraspPrediction(
            x=cx + (2.0 * torch.sigmoid(w_ox) - 1.0) * half_cell,
            y=cy + (2.0 * torch.sigmoid(w_oy) - 1.0) * half_cell,
            theta=theta,
            s=scale_from_raw(w_s, self.normalization.scale_mean),
            z=w_z,
            alpha=alpha,
            beta=beta,
            w_s=w_s,
        )
        best = conf.reshape(batch, -1).argmax(dim=1)
        winner = pick_cells(cells, best)
        return MultiGraspOutput(**vars(winner), confidence_logits=conf, cells=cells, best_cell=best)


def pick_cells(cells: GraspPrediction, index: torch.Tensor) -> GraspPrediction:
    """The grasp of cell `index` (B,) (row * G + column) of each view."""

    def pick(values: torch.Tensor) -> torch.Tensor:
        return values.reshape(values.shape[0], -1).gather(1, index[:, None])[:, 0]

    return GraspPrediction(**{name: pick(value) for name, value in vars(cells).items()})


def multigrasp_loss(outputs: MultiGraspOutput, target: torch.Tensor, gamma: float) -> torch.Tensor:
    """BCE on all cell confidences + L2 on the positive cell's grasp; target (B, 5)."""
    if target.ndim != 2 or target.shape[1] != 5:
        raise ValueError(f"target must be (B, 5) [x, y, theta, s, z], got {tuple(target.shape)}")
    logits = outputs.confidence_logits
    batch, grid = logits.shape[0], logits.shape[-1]
    positive = target_cells(target[:, :2], grid)
    labels = F.one_hot(positive, grid * grid).to(logits.dtype)
    confidence = F.binary_cross_entropy_with_logits(logits.reshape(batch, -1), labels)
    return confidence + localization_loss(pick_cells(outputs.cells, positive), target, gamma)
