"""ResNet with BasicBlocks for 1-channel depth input (He et al. 2016), our own implementation.

ResNet-34 is depths (3, 4, 6, 3), ResNet-18 (2, 2, 2, 2); `width` is the channel count of the
first stage (64 in the paper), doubled at each later stage. `forward` returns the last feature
map, (B, 8 * width, H / 32, W / 32), for the heads to pool or read cell by cell.

BatchNorm: the localization networks use ordinary BatchNorm in train mode. During GQ-STN's
robustness phase (xi = 0) batches are still drawn from the training set, so the batch
statistics stay representative and no freezing is needed; a training loop that uses very small
batches can call `freeze_batchnorm(module)` to keep the running statistics fixed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class ResNetConfig:
    """depths: BasicBlocks per stage; width: channels of stage 1; in_channels: input channels."""

    depths: tuple[int, ...] = (3, 4, 6, 3)
    width: int = 64
    in_channels: int = 1

    def __post_init__(self) -> None:
        object.__setattr__(self, "depths", tuple(int(d) for d in self.depths))
        if not self.depths or any(d < 1 for d in self.depths):
            raise ValueError(f"ResNetConfig.depths must be positive integers, got {self.depths}")
        if self.width < 1 or self.in_channels < 1:
            raise ValueError(
                f"ResNetConfig width and in_channels must be >= 1, got {self.width}, "
                f"{self.in_channels}"
            )

    @property
    def out_channels(self) -> int:
        return self.width * 2 ** (len(self.depths) - 1)

    def to_dict(self) -> dict:
        values = asdict(self)
        values["depths"] = list(self.depths)
        return values

    @classmethod
    def from_dict(cls, values: dict) -> ResNetConfig:
        unknown = set(values) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown ResNetConfig fields {sorted(unknown)}")
        return cls(**values)


RESNET34 = ResNetConfig(depths=(3, 4, 6, 3))
RESNET18 = ResNetConfig(depths=(2, 2, 2, 2))


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with a residual connection (projected when the shape changes)."""

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + self.shortcut(x))


class ResNet(nn.Module):
    """(B, in_channels, H, W) -> (B, out_channels, H / 32, W / 32) (4 stages; /2 per extra)."""

    def __init__(self, config: ResNetConfig) -> None:
        super().__init__()
        self.config = config
        width = config.width
        self.stem = nn.Sequential(
            nn.Conv2d(config.in_channels, width, 7, 2, 3, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(3, 2, 1),
        )
        stages = []
        in_channels = width
        for index, depth in enumerate(config.depths):
            out_channels = width * 2**index
            stride = 1 if index == 0 else 2
            blocks = [BasicBlock(in_channels, out_channels, stride)]
            blocks += [BasicBlock(out_channels, out_channels, 1) for _ in range(depth - 1)]
            stages.append(nn.Sequential(*blocks))
            in_channels = out_channels
        self.stages = nn.Sequential(*stages)
        self.out_channels = in_channels
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
        for stage in self.stages:
            for block in stage:
                nn.init.zeros_(block.bn2.weight)  # each residual branch starts as identity

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.stages(self.stem(x))


def freeze_batchnorm(module: nn.Module) -> None:
    """Put every BatchNorm of `module` in eval mode (running statistics fixed); call after
    `module.train()`."""
    for child in module.modules():
        if isinstance(child, nn.modules.batchnorm._BatchNorm):
            child.eval()
