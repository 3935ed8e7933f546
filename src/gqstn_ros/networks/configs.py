"""Network kinds: what checkpoints, training and export know of a network, declared once.

A kind is declared by one `NetworkSpec`: its config dataclass, its named configurations, how
to build it, how it is trained and judged. GQ-CNN's is here (every planner's judge); each
one-shot planner declares its own in its folder (`planners/<name>/network.py`, the module its
`PlannerSpec.network` names; the kind is the planner's name). `network_specs()` collects them;
`build_model`, `config_from_dict`, the checkpoint format, the ONNX export and the detector
training derive from it.

Named configurations, two per network and a third for GQ-CNN:
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
Every configuration sees the paper's view geometry (`preprocessing.NetworkInputConfig()`).
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import torch
from torch import nn

from gqstn_ros.networks.gqcnn import GQCNN, GQCNNConfig
from gqstn_ros.networks.resnet import ResNetConfig
from gqstn_ros.planner_registry import planner_specs
from gqstn_ros.preprocessing import Normalization

GQCNN_KIND = "gqcnn"  # the grasp-quality network that judges every planner's grasps


class ModelConfig(Protocol):
    """A network's configuration: a frozen dataclass stored in checkpoints as a plain dict."""

    def to_dict(self) -> dict: ...


@dataclass(frozen=True)
class TrainingStep:
    """What one step of detector training hands the loss (`training.train_detector`)."""

    xi: float  # weight of the localization loss against the robustness loss (GQ-STN's L_tot)
    teacher_forcing: bool  # GQ-STN: the cascade resamples at the target grasp, not its own
    geometry_anchor: float  # GQ-STN: weight of the scale and depth terms kept when xi < 1
    scale_mean: float  # gamma, the normalization's mean grasp scale


@dataclass
class LossTerms:
    """One step's loss (scalar tensors): `loss` is minimised; the others are logged."""

    loss: torch.Tensor
    localization: torch.Tensor
    robustness: torch.Tensor
    parts: dict[str, torch.Tensor] = field(default_factory=dict)  # localization terms by name


# (network as called by the trainer, views (B, 1, D, D) m, targets (B, 5), step) -> its loss
TrainingLoss = Callable[[nn.Module, torch.Tensor, torch.Tensor, TrainingStep], LossTerms]


def localization_only(
    loss: Callable[[Any, torch.Tensor, float], torch.Tensor],
) -> TrainingLoss:
    """The training loss of a network trained on its grasp alone (no robustness term):
    `loss(outputs, targets (B, 5), gamma)` on the network's outputs for the views."""

    def training_loss(
        network: nn.Module, views: torch.Tensor, targets: torch.Tensor, step: TrainingStep
    ) -> LossTerms:
        localization = loss(network(views), targets, step.scale_mean)
        return LossTerms(localization, localization, torch.zeros(()))

    return training_loss


# (config, normalization, the GQ-CNN that judges it) -> a freshly initialised network
Builder = Callable[[Any, Normalization | None, GQCNN | None], nn.Module]


@dataclass(frozen=True)
class NetworkSpec:
    """A network kind, declared once (see the module docstring).

    kind: the checkpoint's "kind". config_class: its configuration dataclass (`to_dict`,
    `from_dict`). configs: its named configurations. build: a freshly initialised network.
    training_loss: how `train_detector` trains it (None: not a one-shot detector).
    frozen_gqcnn: the network carries the frozen GQ-CNN that judges it (weights under "gqcnn."
    in its state_dict, its config as the checkpoint's "gqcnn_config", its crops normalised with
    that GQ-CNN's constants); False: a separately trained GQ-CNN (models/gqcnn.pt) judges it.
    closest_targets: it can be trained on the robust grasp nearest its own prediction
    (`--targets closest`).
    """

    kind: str
    config_class: type
    configs: Mapping[str, Any]
    build: Builder
    training_loss: TrainingLoss | None = None
    frozen_gqcnn: bool = False
    closest_targets: bool = True


CPU_RESNET = ResNetConfig(depths=(1, 1, 1, 1), width=16)
# The regression heads read the 7x7 feature map of a 224 px view (flattened), not its global
# average: with a global average pool the small CPU networks could not tell where the object
# is (their x, y regressed to the view centre on every image, measured). MultiGrasp's cells
# are spatial already.
HEAD_GRID = 7

GQCNN_NETWORK = NetworkSpec(
    kind=GQCNN_KIND,
    config_class=GQCNNConfig,
    configs={
        "paper": GQCNNConfig(),
        "cpu": GQCNNConfig(conv_width=32, fc_width=256, pose_width=16),
        "fast": GQCNNConfig(
            conv_width=8,
            conv2_width=16,
            first_stride=2,
            second_pool=2,
            fc_width=128,
            pose_width=16,
            local_response_norm=False,
        ),
    },
    build=lambda config, normalization, gqcnn: GQCNN(config),
)


@functools.cache
def network_specs() -> dict[str, NetworkSpec]:
    """kind -> spec: GQ-CNN, then the network of every planner that has one."""
    specs = {GQCNN_KIND: GQCNN_NETWORK}
    for name, planner in planner_specs().items():
        if planner.network is None:
            continue
        network = getattr(importlib.import_module(planner.network), "NETWORK", None)
        if not isinstance(network, NetworkSpec):
            raise TypeError(f"planner {name}: {planner.network} defines no NETWORK (a NetworkSpec)")
        if network.kind != name:
            raise ValueError(
                f"planner {name}: {planner.network} declares kind {network.kind!r}; a planner's "
                "network kind is its name"
            )
        specs[name] = network
    return specs


def network_kinds() -> tuple[str, ...]:
    """Every network kind a checkpoint may hold."""
    return tuple(network_specs())


def detector_kinds() -> tuple[str, ...]:
    """The kinds `train_detector` trains: the one-shot networks with a training loss."""
    return tuple(kind for kind, spec in network_specs().items() if spec.training_loss is not None)


def network_spec(kind: str) -> NetworkSpec:
    """The spec of network `kind`; ValueError names the known kinds."""
    specs = network_specs()
    if kind not in specs:
        raise ValueError(f"unknown network kind {kind!r}; expected one of {tuple(specs)}")
    return specs[kind]


def config_names(kind: str | None = None) -> tuple[str, ...]:
    """The configuration names of network `kind` ("paper", "cpu", and "fast" for GQ-CNN);
    without a kind, every name some network has."""
    kinds = network_kinds() if kind is None else (kind,)
    names = (name for each in kinds for name in network_spec(each).configs)
    return tuple(dict.fromkeys(names))


def model_config(kind: str, name: str) -> Any:
    """The named configuration `name` ("paper", "cpu", GQ-CNN also "fast") of network `kind`."""
    available = config_names(kind)
    if name not in available:
        raise ValueError(f"unknown configuration {name!r} for {kind}; expected one of {available}")
    return network_spec(kind).configs[name]


def config_to_dict(config: ModelConfig) -> dict:
    return config.to_dict()


def config_from_dict(kind: str, values: dict) -> Any:
    """Inverse of `config_to_dict` for network `kind`; ValueError on unknown fields."""
    return network_spec(kind).config_class.from_dict(values)


def build_model(
    kind: str,
    config: Any,
    normalization: Normalization | None = None,
    gqcnn: GQCNN | None = None,
) -> nn.Module:
    """A freshly initialised network of `kind`; one with `frozen_gqcnn` (GQ-STN) needs its
    `gqcnn`, the others ignore it."""
    spec = network_spec(kind)
    if not isinstance(config, spec.config_class):
        raise TypeError(f"a {kind} needs a {spec.config_class.__name__}, got {type(config)}")
    if spec.frozen_gqcnn and gqcnn is None:
        raise ValueError(f"a {kind} network needs its GQ-CNN")
    return spec.build(config, normalization, gqcnn)
