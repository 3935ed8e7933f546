"""MultiGrasp's network: its configurations, how it is built and its training loss.

The model is `model.MultiGrasp`: view (B, 1, 224, 224) metres -> ResNet features
-> a G x G grid (7 x 7) of cells, each a confidence logit and a grasp -> the most confident
cell's grasp (B,). Trained with the cells' confidence cross-entropy plus the L2 localization
loss of the cell holding the target, no robustness term; the target cell is fixed by the
target, so it is not trained on the grasp nearest its own prediction.
"""

from __future__ import annotations

from gqstn_ros.networks.configs import CPU_RESNET, NetworkSpec, localization_only
from gqstn_ros.networks.resnet import RESNET34
from gqstn_ros.planners.multigrasp.model import MultiGrasp, MultiGraspConfig, multigrasp_loss

NETWORK = NetworkSpec(
    kind="multigrasp",
    config_class=MultiGraspConfig,
    configs={
        "paper": MultiGraspConfig(backbone=RESNET34),
        "cpu": MultiGraspConfig(backbone=CPU_RESNET),
    },
    build=lambda config, normalization, gqcnn: MultiGrasp(config, normalization),
    training_loss=localization_only(multigrasp_loss),
    closest_targets=False,
)
