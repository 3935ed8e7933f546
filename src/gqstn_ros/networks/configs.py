"""Named network configurations and the kind <-> config class registry (used by checkpoints).

Two configurations per network, and a third for GQ-CNN:
- `paper`: the paper's (ResNet-34 localization / feature networks, width 64, 224 px views,
  GQ-CNN with Dex-Net 2.0's layer widths). Meant for a GPU.
- `cpu`: small enough for single-frame inference on two CPU threads (ResNet depths (1, 1, 1, 1),
  width 16, the same 224 px views and 32 px crops, a narrower GQ-CNN); GQ-STN + GQ-CNN head in
  about 19 ms (PyTorch) / 15 ms (onnxruntime) median per 640x480 frame at batch 1 on 2 threads
  of an otherwise idle machine (benchmarks/detection_latency.py).
- `fast` (GQ-CNN only): the ranking network of Prop+GQ-CNN, which judges 1000 crops per plan.
  Dex-Net 2.0's layer sequence with conv1_1 at stride 2, 8 filters in conv1_*, 16 in conv2_*,
  a 2x2 pool after conv2_2, no LRN, fc 128: 0.78 M multiply-accumulates per 32 px crop
  against 34.7 M for `cpu` (`GQCNNConfig.multiply_accumulates`), about 30 times less CPU time
  for 1000 crops (benchmarks/prop_gqcnn_latency.py).
"""

from __future__ import annotations

from gqstn_ros.networks.direct_grasp import DirectGrasp, DirectGraspConfig
from gqstn_ros.networks.gqcnn import GQCNN, GQCNNConfig
from gqstn_ros.networks.gqstn import GQSTN, GQSTNConfig
from gqstn_ros.networks.multigrasp import MultiGrasp, MultiGraspConfig
from gqstn_ros.networks.resnet import RESNET34, ResNetConfig
from gqstn_ros.preprocessing import NetworkInputConfig, Normalization

KINDS = ("gqcnn", "gqstn", "directgrasp", "multigrasp")
CONFIG_NAMES = ("paper", "cpu", "fast")  # every name some network has (`config_names(kind)`)

ModelConfig = GQCNNConfig | GQSTNConfig | DirectGraspConfig | MultiGraspConfig

CONFIG_CLASSES: dict[str, type] = {
    "gqcnn": GQCNNConfig,
    "gqstn": GQSTNConfig,
    "directgrasp": DirectGraspConfig,
    "multigrasp": MultiGraspConfig,
}

CPU_RESNET = ResNetConfig(depths=(1, 1, 1, 1), width=16)
# The regression heads read the 7x7 feature map of a 224 px view (flattened), not its global
# average: with a global average pool the small CPU networks could not tell where the object
# is (their x, y regressed to the view centre on every image, measured). MultiGrasp's cells
# are spatial already.
HEAD_GRID = 7

NAMED_CONFIGS: dict[tuple[str, str], ModelConfig] = {
    ("gqcnn", "paper"): GQCNNConfig(),
    ("gqcnn", "cpu"): GQCNNConfig(conv_width=32, fc_width=256, pose_width=16),
    ("gqcnn", "fast"): GQCNNConfig(
        conv_width=8,
        conv2_width=16,
        first_stride=2,
        second_pool=2,
        fc_width=128,
        pose_width=16,
        local_response_norm=False,
    ),
    ("gqstn", "paper"): GQSTNConfig.shared(RESNET34, head_grid=HEAD_GRID),
    ("gqstn", "cpu"): GQSTNConfig.shared(CPU_RESNET, head_grid=HEAD_GRID),
    ("directgrasp", "paper"): DirectGraspConfig(backbone=RESNET34, head_grid=HEAD_GRID),
    ("directgrasp", "cpu"): DirectGraspConfig(backbone=CPU_RESNET, head_grid=HEAD_GRID),
    ("multigrasp", "paper"): MultiGraspConfig(backbone=RESNET34),
    ("multigrasp", "cpu"): MultiGraspConfig(backbone=CPU_RESNET),
}

# The view geometry is the same for every configuration (the paper's 224 px input).
INPUT_CONFIGS: dict[str, NetworkInputConfig] = {
    "paper": NetworkInputConfig(),
    "cpu": NetworkInputConfig(),
    "fast": NetworkInputConfig(),
}


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"unknown network kind {kind!r}; expected one of {KINDS}")


def config_names(kind: str) -> tuple[str, ...]:
    """The configuration names network `kind` has ("paper", "cpu", and "fast" for GQ-CNN)."""
    _check_kind(kind)
    return tuple(name for name in CONFIG_NAMES if (kind, name) in NAMED_CONFIGS)


def model_config(kind: str, name: str) -> ModelConfig:
    """The named configuration `name` ("paper", "cpu", GQ-CNN also "fast") of network `kind`."""
    available = config_names(kind)
    if name not in available:
        raise ValueError(f"unknown configuration {name!r} for {kind}; expected one of {available}")
    return NAMED_CONFIGS[(kind, name)]


def config_to_dict(config: ModelConfig) -> dict:
    return config.to_dict()


def config_from_dict(kind: str, values: dict) -> ModelConfig:
    """Inverse of `config_to_dict` for network `kind`; ValueError on unknown fields."""
    _check_kind(kind)
    return CONFIG_CLASSES[kind].from_dict(values)


def build_model(
    kind: str,
    config: ModelConfig,
    normalization: Normalization | None = None,
    gqcnn: GQCNN | None = None,
):
    """A freshly initialised network of `kind`; GQ-STN needs its (frozen) `gqcnn`."""
    _check_kind(kind)
    if not isinstance(config, CONFIG_CLASSES[kind]):
        raise TypeError(f"a {kind} needs a {CONFIG_CLASSES[kind].__name__}, got {type(config)}")
    if kind == "gqcnn":
        return GQCNN(config)
    if kind == "gqstn":
        if gqcnn is None:
            raise ValueError("a GQ-STN needs its GQ-CNN")
        return GQSTN(config, gqcnn, normalization)
    if kind == "directgrasp":
        return DirectGrasp(config, normalization)
    return MultiGrasp(config, normalization)
