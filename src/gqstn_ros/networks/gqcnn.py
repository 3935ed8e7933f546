"""GQ-CNN, the grasp robustness classifier of Dex-Net 2.0 (Mahler et al. 2017).

Image stream: conv1_1 7x7, conv1_2 5x5, 2x2 max-pool and local response normalization,
conv2_1 3x3, conv2_2 3x3 (then an optional pool, 1 = none as in gqcnn's Dex-Net 2.0 training
configuration) and LRN, fc3. Pose stream: pc1 on the gripper height. Merge: fc4 on the
concatenation, fc5 -> 2 logits (class 1 = robust). All convolutions use SAME padding.

Two optional departures from Dex-Net 2.0 make a cheap ranking network (`GQCNNConfig` defaults
keep Dex-Net 2.0's layout, and the weight names are the same in every configuration): a stride
on conv1_1 (`first_stride`, 2 quarters the cost of every later layer) and a separate width of
the conv2 block (`conv2_width`).

Inputs are those of `preprocessing.gqcnn_inputs`: the crop relative to the gripper depth and
the normalized gripper height.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class GQCNNConfig:
    """Layer widths of GQ-CNN; the defaults are Dex-Net 2.0's."""

    conv_width: int = 64  # filters of conv1_1, conv1_2 (and conv2_* unless conv2_width is set)
    fc_width: int = 1024  # fc3 and fc4
    pose_width: int = 16  # pc1
    crop_size: int = 32  # side of the input crop
    dropout: float = 0.0  # after fc3 and fc4 (Dex-Net 2.0 trains with drop_rate 0)
    second_pool: int = 1  # max-pool size after conv2_2 (1: none)
    local_response_norm: bool = True  # LRN after conv1_2 and conv2_2, as in Dex-Net 2.0
    first_stride: int = 1  # stride of conv1_1 (Dex-Net 2.0: 1)
    conv2_width: int | None = None  # filters of conv2_1, conv2_2 (None: conv_width)

    def __post_init__(self) -> None:
        for name in ("conv_width", "fc_width", "pose_width", "second_pool", "first_stride"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"GQCNNConfig.{name} must be >= 1, got {getattr(self, name)}")
        if self.conv2_width is not None and int(self.conv2_width) < 1:
            raise ValueError(
                f"GQCNNConfig.conv2_width must be >= 1 or None, got {self.conv2_width}"
            )
        reduction = self.first_stride * 2 * self.second_pool
        if self.crop_size < 4 or self.crop_size % reduction:
            raise ValueError(
                f"GQCNNConfig.crop_size {self.crop_size} must be divisible by "
                f"first_stride * 2 * second_pool = {reduction}"
            )
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"GQCNNConfig.dropout must be in [0, 1), got {self.dropout}")

    @property
    def feature_size(self) -> int:
        """Side of the conv2_2 feature map fed to fc3."""
        return self.crop_size // (self.first_stride * 2 * self.second_pool)

    @property
    def block2_width(self) -> int:
        """Filters of conv2_1 and conv2_2."""
        return self.conv_width if self.conv2_width is None else self.conv2_width

    @property
    def multiply_accumulates(self) -> int:
        """Multiply-accumulates of one forward pass of one crop (convolutions and fc layers)."""
        block1 = (self.crop_size // self.first_stride) ** 2  # conv1_* output pixels
        block2 = (self.crop_size // (self.first_stride * 2)) ** 2  # conv2_* output pixels
        width, width2, fc = self.conv_width, self.block2_width, self.fc_width
        convolutions = (
            block1 * width * 7 * 7
            + block1 * width * width * 5 * 5
            + block2 * width * width2 * 3 * 3
            + block2 * width2 * width2 * 3 * 3
        )
        fully_connected = (
            width2 * self.feature_size**2 * fc
            + self.pose_width
            + (fc + self.pose_width) * fc
            + 2 * fc
        )
        return convolutions + fully_connected

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> GQCNNConfig:
        unknown = set(values) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown GQCNNConfig fields {sorted(unknown)}")
        return cls(**values)


def _lrn(enabled: bool) -> nn.Module:
    # gqcnn's tf.nn.local_response_normalization: radius 2, alpha 2e-5, beta 0.75, bias 1.
    # torch's alpha is divided by the window size (5).
    return nn.LocalResponseNorm(5, alpha=5 * 2e-5, beta=0.75, k=1.0) if enabled else nn.Identity()


class GQCNN(nn.Module):
    """image (N, 1, c, c), pose (N, 1) -> logits (N, 2); class 1 = robust."""

    def __init__(self, config: GQCNNConfig) -> None:
        super().__init__()
        self.config = config
        width, width2 = config.conv_width, config.block2_width
        self.image_stream = nn.Sequential(
            nn.Conv2d(1, width, 7, stride=config.first_stride, padding=3),  # conv1_1
            nn.ReLU(inplace=True),
            nn.Conv2d(width, width, 5, padding=2),  # conv1_2
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
            _lrn(config.local_response_norm),
            nn.Conv2d(width, width2, 3, padding=1),  # conv2_1
            nn.ReLU(inplace=True),
            nn.Conv2d(width2, width2, 3, padding=1),  # conv2_2
            nn.ReLU(inplace=True),
            nn.MaxPool2d(config.second_pool) if config.second_pool > 1 else nn.Identity(),
            _lrn(config.local_response_norm),
            nn.Flatten(),
            nn.Linear(width2 * config.feature_size**2, config.fc_width),  # fc3
            nn.ReLU(inplace=True),
            nn.Dropout(config.dropout),
        )
        self.pose_stream = nn.Sequential(nn.Linear(1, config.pose_width), nn.ReLU(inplace=True))
        self.merge = nn.Sequential(
            nn.Linear(config.fc_width + config.pose_width, config.fc_width),  # fc4
            nn.ReLU(inplace=True),
            nn.Dropout(config.dropout),
            nn.Linear(config.fc_width, 2),  # fc5
        )

    def forward(self, image: torch.Tensor, pose: torch.Tensor) -> torch.Tensor:
        size = self.config.crop_size
        if image.ndim != 4 or image.shape[1:] != (1, size, size):
            raise ValueError(
                f"GQ-CNN image must be (N, 1, {size}, {size}), got {tuple(image.shape)}"
            )
        if pose.ndim != 2 or pose.shape != (image.shape[0], 1):
            raise ValueError(f"GQ-CNN pose must be ({image.shape[0]}, 1), got {tuple(pose.shape)}")
        features = torch.cat([self.image_stream(image), self.pose_stream(pose)], dim=1)
        return self.merge(features)

    def robustness(self, image: torch.Tensor, pose: torch.Tensor) -> torch.Tensor:
        """(N,) probability of class 1 (robust)."""
        return torch.softmax(self.forward(image, pose), dim=1)[:, 1]
