"""The networks of the paper (PyTorch, our own code): ResNet localization / feature networks,
GQ-CNN, GQ-STN, the DirectGrasp and MultiGrasp baselines, the network kinds (`configs`),
checkpoints, ONNX export and the one-shot planners built on them. Each planner's folder under
`gqstn_ros.planners` declares its network's kind."""

from gqstn_ros.networks.checkpoint import (
    CheckpointError,
    LoadedModel,
    load_checkpoint,
    save_checkpoint,
)
from gqstn_ros.networks.configs import build_model, model_config, network_kinds
from gqstn_ros.networks.direct_grasp import DirectGrasp, DirectGraspConfig, direct_grasp_loss
from gqstn_ros.networks.gqcnn import GQCNN, GQCNNConfig
from gqstn_ros.networks.gqstn import (
    GQSTN,
    GQSTNConfig,
    GQSTNOutput,
    GraspPrediction,
    localization_loss,
    robustness_loss,
)
from gqstn_ros.networks.multigrasp import MultiGrasp, MultiGraspConfig, multigrasp_loss
from gqstn_ros.networks.resnet import ResNet, ResNetConfig

__all__ = [
    "GQCNN",
    "GQSTN",
    "CheckpointError",
    "DirectGrasp",
    "DirectGraspConfig",
    "GQCNNConfig",
    "GQSTNConfig",
    "GQSTNOutput",
    "GraspPrediction",
    "LoadedModel",
    "MultiGrasp",
    "MultiGraspConfig",
    "ResNet",
    "ResNetConfig",
    "build_model",
    "direct_grasp_loss",
    "load_checkpoint",
    "localization_loss",
    "model_config",
    "multigrasp_loss",
    "network_kinds",
    "robustness_loss",
    "save_checkpoint",
]
