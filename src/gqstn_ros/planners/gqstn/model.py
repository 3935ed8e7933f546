"""GQ-STN (section IV of the paper): a cascade of three spatial transformers and a frozen GQ-CNN.

    views (B, 1, D, D) metres
      -> STN_trans: ResNet on normalize_views(view)        -> w_x, w_y   -> Lambda_trans(x, y)
         translated = view sampled on Lambda_trans           (B, 1, D, D)
      -> STN_rot:   ResNet on normalize_views(translated)  -> w_a, w_b   -> Lambda_rot(theta)
         rotated = translated sampled on Lambda_rot          (B, 1, D, D)
      -> STN_scale: ResNet on normalize_views(rotated)     -> w_s, w_z   -> Lambda_scale(s)
         crop = rotated sampled on Lambda_scale              (B, 1, c, c), metres
      -> GQ-CNN (frozen) on gqcnn_inputs(crop, depth(z), view median) -> logits, q

Lambda_trans o Lambda_rot o Lambda_scale = preprocessing.affine_matrices(x, y, theta, s), so the
cascade's crop is `preprocessing.extract_crops` of the predicted grasp (up to the extra
interpolation of the intermediate images). The samplers resample the metric images; each
localization network sees its input normalized (relative to its median, scaled).

Heads (the paper's equations, `networks.grasp_head`): x = sigmoid(w_x) - 0.5, y likewise,
theta = atan2(alpha, beta)/2, s = gamma exp(w_s) with gamma = Normalization.scale_mean, z = w_z
(the normalized gripper height, converted to metres with preprocessing.depth_offset_to_depth);
trained with `grasp_head.localization_loss` and `robustness_loss`. One addition: s is
clamped to Normalization.scale_max, the widest training grasp (the gripper's stroke). Without
it, the robustness phases widened the grasps far beyond the stroke, where the frozen GQ-CNN
(which never saw such crops) rates a small object in a large crop robust (measured).

alpha and beta (`angle_activation`): the paper writes alpha = sigmoid(w_alpha),
beta = sigmoid(w_beta). Taken literally ("paper") both are positive, so 2 theta = atan2(alpha,
beta) stays in (0, pi/2) and theta only spans (0, pi/4): three quarters of the grasp angles
cannot be predicted. alpha and beta stand for sin 2theta and cos 2theta, which range over
[-1, 1], so the default ("signed") uses alpha = 2 sigmoid(w_alpha) - 1, beta likewise, and theta
covers the full (-pi/2, pi/2].

Teacher forcing (section IV-C): with `teacher` (B, 4) ground truth [x, y, theta, s], the
translated and rotated images are made with the ground-truth translation and rotation, so each
localization network learns on a correctly prepared input; the heads still predict everything,
and the crop uses the predicted scale, as in the paper (only Lambda_trans and Lambda_rot are
forced).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from gqstn_ros.networks.gqcnn import GQCNN
from gqstn_ros.networks.grasp_head import (
    ANGLE_ACTIVATIONS,
    AngleActivation,
    PooledHead,
    angle_from_raw,
    scale_from_raw,
    translation_from_raw,
)
from gqstn_ros.networks.resnet import RESNET34, ResNet, ResNetConfig
from gqstn_ros.preprocessing import (
    Normalization,
    depth_offset_to_depth,
    gqcnn_inputs,
    normalize_views,
    sample_image,
    view_reference,
)


def robustness_loss(outputs) -> torch.Tensor:
    """L_rob: cross-entropy of the frozen GQ-CNN's logits (B, 2) against the robust class 1."""
    robust = torch.ones(outputs.logits.shape[0], dtype=torch.long, device=outputs.logits.device)
    return F.cross_entropy(outputs.logits, robust)


# ---------------------------------------------------------------------------------------------
# Constrained transformation matrices (N,) -> (N, 2, 3).


def translation_matrices(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Lambda_trans = [[1, 0, x], [0, 1, y]]."""
    one, zero = torch.ones_like(x), torch.zeros_like(x)
    return torch.stack([torch.stack([one, zero, x], -1), torch.stack([zero, one, y], -1)], -2)


def rotation_matrices(theta: torch.Tensor) -> torch.Tensor:
    """Lambda_rot = [[cos, -sin, 0], [sin, cos, 0]]."""
    cos, sin, zero = torch.cos(theta), torch.sin(theta), torch.zeros_like(theta)
    return torch.stack([torch.stack([cos, -sin, zero], -1), torch.stack([sin, cos, zero], -1)], -2)


def scale_matrices(s: torch.Tensor) -> torch.Tensor:
    """Lambda_scale = [[s, 0, 0], [0, s, 0]]."""
    zero = torch.zeros_like(s)
    return torch.stack([torch.stack([s, zero, zero], -1), torch.stack([zero, s, zero], -1)], -2)


# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GQSTNConfig:
    """Localization networks of the three STN blocks and the angle activation.

    The crop size is the GQ-CNN's (`GQCNNConfig.crop_size`).
    """

    trans_net: ResNetConfig = RESNET34
    rot_net: ResNetConfig = RESNET34
    scale_net: ResNetConfig = RESNET34
    angle_activation: AngleActivation = "signed"
    head_grid: int = 1  # PooledHead grid of the three localization networks (1: global pool)

    def __post_init__(self) -> None:
        if not isinstance(self.head_grid, int) or self.head_grid < 1:
            raise ValueError(f"GQSTNConfig.head_grid must be an int >= 1, got {self.head_grid}")
        if self.angle_activation not in ANGLE_ACTIVATIONS:
            raise ValueError(
                f"GQSTNConfig.angle_activation must be one of {ANGLE_ACTIVATIONS}, "
                f"got {self.angle_activation!r}"
            )
        for name in ("trans_net", "rot_net", "scale_net"):
            if not isinstance(getattr(self, name), ResNetConfig):
                raise TypeError(f"GQSTNConfig.{name} must be a ResNetConfig")

    @classmethod
    def shared(
        cls, resnet: ResNetConfig, angle_activation: AngleActivation = "signed", head_grid: int = 1
    ) -> GQSTNConfig:
        """The same localization architecture (not weights) in all three blocks."""
        return cls(resnet, resnet, resnet, angle_activation, head_grid)

    def to_dict(self) -> dict:
        return {
            "trans_net": self.trans_net.to_dict(),
            "rot_net": self.rot_net.to_dict(),
            "scale_net": self.scale_net.to_dict(),
            "angle_activation": self.angle_activation,
            "head_grid": self.head_grid,
        }

    @classmethod
    def from_dict(cls, values: dict) -> GQSTNConfig:
        unknown = set(values) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown GQSTNConfig fields {sorted(unknown)}")
        nets = {
            name: ResNetConfig.from_dict(values[name])
            for name in ("trans_net", "rot_net", "scale_net")
            if name in values
        }
        rest = {k: v for k, v in values.items() if k not in nets}
        return cls(**nets, **rest)


class LocalizationNetwork(nn.Module):
    """ResNet -> PooledHead: (B, 1, D, D) -> (B, num_outputs) raw w_*."""

    def __init__(
        self, config: ResNetConfig, num_outputs: int, bias: tuple[float, ...], head_grid: int = 1
    ) -> None:
        super().__init__()
        self.features = ResNet(config)
        self.head = PooledHead(self.features.out_channels, head_grid, num_outputs, bias)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(image))


@dataclass
class GQSTNOutput:
    """Everything GQ-STN computes, (B,) unless noted; the images are inspectable."""

    x: torch.Tensor  # Lambda_trans, normalized view coordinates
    y: torch.Tensor
    theta: torch.Tensor  # radians
    s: torch.Tensor  # Lambda_scale
    z: torch.Tensor  # normalized gripper height
    depth: torch.Tensor  # gripper depth, metres
    alpha: torch.Tensor
    beta: torch.Tensor
    w_x: torch.Tensor  # raw outputs of the localization networks
    w_y: torch.Tensor
    w_alpha: torch.Tensor
    w_beta: torch.Tensor
    w_s: torch.Tensor
    w_z: torch.Tensor
    translated: torch.Tensor  # (B, 1, D, D) metres, the input of STN_rot
    rotated: torch.Tensor  # (B, 1, D, D) metres, the input of STN_scale
    crop: torch.Tensor  # (B, 1, c, c) metres, the input of GQ-CNN
    logits: torch.Tensor  # (B, 2) GQ-CNN
    q: torch.Tensor  # (B,) GQ-CNN probability of robust

    def params(self) -> torch.Tensor:
        """(B, 4) predicted [x, y, theta, s]."""
        return torch.stack([self.x, self.y, self.theta, self.s], dim=1)


class GQSTN(nn.Module):
    """views (B, 1, D, D) metres -> GQSTNOutput. The GQ-CNN is frozen (requires_grad False and
    kept in eval mode by `train()`)."""

    def __init__(
        self, config: GQSTNConfig, gqcnn: GQCNN, normalization: Normalization | None = None
    ) -> None:
        super().__init__()
        self.config = config
        self.normalization = normalization if normalization is not None else Normalization()
        grid = config.head_grid
        self.stn_trans = LocalizationNetwork(config.trans_net, 2, (0.0, 0.0), grid)
        self.stn_rot = LocalizationNetwork(config.rot_net, 2, (0.0, 1.0), grid)
        self.stn_scale = LocalizationNetwork(config.scale_net, 2, (0.0, 0.0), grid)
        self.gqcnn = gqcnn
        for parameter in self.gqcnn.parameters():
            parameter.requires_grad_(False)
        self.gqcnn.eval()

    @property
    def crop_size(self) -> int:
        return self.gqcnn.config.crop_size

    def train(self, mode: bool = True) -> GQSTN:
        super().train(mode)
        self.gqcnn.eval()  # frozen: no dropout, whatever the mode of the rest
        return self

    def forward(self, views_m: torch.Tensor, teacher: torch.Tensor | None = None) -> GQSTNOutput:
        if views_m.ndim != 4 or views_m.shape[1] != 1 or views_m.shape[2] != views_m.shape[3]:
            raise ValueError(f"views must be (B, 1, D, D) metres, got {tuple(views_m.shape)}")
        if teacher is not None and (teacher.ndim != 2 or teacher.shape != (views_m.shape[0], 4)):
            raise ValueError(
                f"teacher must be ({views_m.shape[0]}, 4) [x, y, theta, s], "
                f"got {tuple(teacher.shape)}"
            )
        norm = self.normalization
        size = views_m.shape[-1]

        references = view_reference(views_m)  # (B,) the views' medians, taken once
        w_x, w_y = self.stn_trans(normalize_views(views_m, norm, references)).unbind(dim=1)
        x, y = translation_from_raw(w_x), translation_from_raw(w_y)
        tx, ty = (x, y) if teacher is None else (teacher[:, 0], teacher[:, 1])
        translated = sample_image(views_m, translation_matrices(tx, ty), size)

        w_alpha, w_beta = self.stn_rot(normalize_views(translated, norm)).unbind(dim=1)
        alpha, beta, theta = angle_from_raw(w_alpha, w_beta, self.config.angle_activation)
        rotation = theta if teacher is None else teacher[:, 2]
        rotated = sample_image(translated, rotation_matrices(rotation), size)

        w_s, w_z = self.stn_scale(normalize_views(rotated, norm)).unbind(dim=1)
        s, z = scale_from_raw(w_s, norm.scale_mean), w_z
        if norm.scale_max > 0:  # no wider than the widest training grasp: the stroke
            s = torch.clamp(s, max=norm.scale_max)
        crop = sample_image(rotated, scale_matrices(s), self.crop_size)

        depth = depth_offset_to_depth(z, views_m, norm, references)
        image, pose = gqcnn_inputs(crop, depth, references, norm)
        logits = self.gqcnn(image, pose)
        return GQSTNOutput(
            x=x,
            y=y,
            theta=theta,
            s=s,
            z=z,
            depth=depth,
            alpha=alpha,
            beta=beta,
            w_x=w_x,
            w_y=w_y,
            w_alpha=w_alpha,
            w_beta=w_beta,
            w_s=w_s,
            w_z=w_z,
            translated=translated,
            rotated=rotated,
            crop=crop,
            logits=logits,
            q=torch.softmax(logits, dim=1)[:, 1],
        )
