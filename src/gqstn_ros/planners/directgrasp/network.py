"""DirectGrasp's network: its configurations, how it is built and its training loss.

The model is `model.DirectGrasp`: view (B, 1, 224, 224) metres -> ResNet
features (B, C, 7, 7) -> one grasp (x, y, theta, s, z) (B,) each. Trained with the L2
localization loss alone.
"""

from __future__ import annotations

from gqstn_ros.networks.configs import CPU_RESNET, HEAD_GRID, NetworkSpec, localization_only
from gqstn_ros.networks.resnet import RESNET34
from gqstn_ros.planners.directgrasp.model import DirectGrasp, DirectGraspConfig, direct_grasp_loss

NETWORK = NetworkSpec(
    kind="directgrasp",
    config_class=DirectGraspConfig,
    configs={
        "paper": DirectGraspConfig(backbone=RESNET34, head_grid=HEAD_GRID),
        "cpu": DirectGraspConfig(backbone=CPU_RESNET, head_grid=HEAD_GRID),
    },
    build=lambda config, normalization, gqcnn: DirectGrasp(config, normalization),
    training_loss=localization_only(direct_grasp_loss),
)
