"""GQ-STN's network: its configurations, how it is built and its training loss.

The model is `model.GQSTN`: view (B, 1, 224, 224) metres -> the localization cascade
(translation, rotation, scale + gripper depth) -> crop (B, 1, 32, 32) -> its frozen GQ-CNN
-> q (B,). Trained with the paper's L_tot = xi L_loc + (1 - xi) L_rob, plus the geometry
anchor (1 - xi) (L_scale + L_z) when `TrainingStep.geometry_anchor` > 0.
"""

from __future__ import annotations

import torch

from gqstn_ros.networks.configs import (
    CPU_RESNET,
    HEAD_GRID,
    LossTerms,
    NetworkSpec,
    TrainingStep,
)
from gqstn_ros.networks.grasp_head import localization_loss_terms
from gqstn_ros.networks.resnet import RESNET34
from gqstn_ros.planners.gqstn.model import GQSTN, GQSTNConfig, robustness_loss


def training_loss(
    network: torch.nn.Module, views: torch.Tensor, targets: torch.Tensor, step: TrainingStep
) -> LossTerms:
    """L_tot on views (B, 1, D, D) m and targets (B, 5) [x, y, theta, s, z normalized]; with
    teacher forcing the cascade resamples at the target grasp."""
    teacher = targets[:, :4] if step.teacher_forcing else None
    outputs = network(views, teacher=teacher)
    terms = localization_loss_terms(outputs, targets, step.scale_mean)
    localization = torch.stack(list(terms.values())).sum()
    robustness = robustness_loss(outputs)
    loss = step.xi * localization + (1.0 - step.xi) * robustness
    if step.geometry_anchor > 0:  # width and height stay those of real grasps
        anchor = terms["scale"] + terms["z"]
        loss = loss + step.geometry_anchor * (1.0 - step.xi) * anchor
    return LossTerms(loss, localization, robustness, terms)


NETWORK = NetworkSpec(
    kind="gqstn",
    config_class=GQSTNConfig,
    configs={
        "paper": GQSTNConfig.shared(RESNET34, head_grid=HEAD_GRID),
        "cpu": GQSTNConfig.shared(CPU_RESNET, head_grid=HEAD_GRID),
    },
    build=lambda config, normalization, gqcnn: GQSTN(config, gqcnn, normalization),
    training_loss=training_loss,
    frozen_gqcnn=True,
)
