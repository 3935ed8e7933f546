"""What the one-shot networks share (PyTorch, our own code): ResNet feature extractors, GQ-CNN
(every planner's judge), the grasp head, the network kinds (`configs`), checkpoints, ONNX export
and the generic one-shot network planner. Each network planner's model and `NetworkSpec` are in
its folder under `gqstn_ros.planners`."""

from gqstn_ros.networks.checkpoint import (
    CheckpointError,
    LoadedModel,
    load_checkpoint,
    save_checkpoint,
)
from gqstn_ros.networks.configs import build_model, model_config, network_kinds
from gqstn_ros.networks.gqcnn import GQCNN, GQCNNConfig
from gqstn_ros.networks.grasp_head import GraspPrediction, localization_loss
from gqstn_ros.networks.resnet import ResNet, ResNetConfig

__all__ = [
    "GQCNN",
    "CheckpointError",
    "GQCNNConfig",
    "GraspPrediction",
    "LoadedModel",
    "ResNet",
    "ResNetConfig",
    "build_model",
    "load_checkpoint",
    "localization_loss",
    "model_config",
    "network_kinds",
    "save_checkpoint",
]
