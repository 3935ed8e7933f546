"""The detectors' augmentations move views and targets together: every grasp's crop is the same
before and after (up to interpolation), so labels stay true."""

from __future__ import annotations

import math

import torch

from gqstn_ros.preprocessing import TRANSLATION_LIMIT, extract_crops
from gqstn_ros.training.train_detector import (
    augment,
    augment_se2,
    closest_targets,
    reachable,
    wrap_grasp_angle,
)


def textured_views(count: int, size: int = 96) -> torch.Tensor:
    """Smooth but asymmetric depth images (metres), so a wrong transform shows in the crops."""
    v, u = torch.meshgrid(torch.linspace(-1, 1, size), torch.linspace(-1, 1, size), indexing="ij")
    images = []
    for k in range(count):
        bump = torch.exp(-((u - 0.2 * math.cos(k)) ** 2 + (v + 0.1 * k / count) ** 2) / 0.08)
        ridge = 0.01 * torch.sin(3 * u + 2 * v + k)
        images.append(0.7 - 0.05 * bump + ridge + 0.004 * u * (k + 1))
    return torch.stack(images)[:, None]


def grasp_targets(count: int, generator: torch.Generator) -> torch.Tensor:
    xy = (torch.rand(count, 2, generator=generator) - 0.5) * 0.5
    theta = (torch.rand(count, generator=generator) - 0.5) * math.pi
    s = 0.2 + 0.1 * torch.rand(count, generator=generator)
    depth = 0.68 + 0.02 * torch.rand(count, generator=generator)
    return torch.cat([xy, theta[:, None], s[:, None], depth[:, None]], dim=1)


def crops_of(views: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    return extract_crops(views, targets[:, :4], 16)


def crop_difference(new: torch.Tensor, old: torch.Tensor) -> torch.Tensor:
    """(N,) largest pixel difference per crop, up to the crop symmetries of a parallel-jaw grasp.

    A mirrored view mirrors the crop, and wrapping theta by pi turns it half a turn: the same
    grasp either way (the GQ-CNN is trained with these symmetries).
    """
    variants = [old, old.flip(-1), old.flip(-2), old.flip(-1, -2)]
    return torch.stack([(new - v).abs().amax(dim=(1, 2, 3)) for v in variants]).amin(dim=0)


def test_se2_augmentation_keeps_every_crop() -> None:
    generator = torch.Generator().manual_seed(3)
    views, targets = textured_views(24), grasp_targets(24, generator)
    new_views, new_targets = augment_se2(views, targets, generator, max_shift=0.15)
    assert not torch.allclose(new_views, views)  # the views did move
    moved = (new_targets[:, :3] - targets[:, :3]).abs().amax(dim=1) > 1e-4
    assert moved.sum() >= 20
    assert (new_targets[:, :2].abs() < TRANSLATION_LIMIT).all()
    assert torch.equal(new_targets[:, 3:], targets[:, 3:])  # scale and depth unchanged
    error = crop_difference(crops_of(new_views, new_targets), crops_of(views, targets))
    # Bilinear resampling twice: millimetre agreement on a 5 cm relief.
    assert float(error.amax()) < 3e-3


def test_square_symmetries_keep_every_crop() -> None:
    generator = torch.Generator().manual_seed(4)
    views, targets = textured_views(16), grasp_targets(16, generator)
    new_views, new_targets = augment(views, targets, generator)
    error = crop_difference(crops_of(new_views, new_targets), crops_of(views, targets))
    assert float(error.amax()) < 1e-5  # flips and transposes are exact on the pixel grid


def test_unreachable_result_leaves_the_sample_as_it_was() -> None:
    generator = torch.Generator().manual_seed(5)
    views = textured_views(8)
    targets = grasp_targets(8, generator)
    targets[:, :2] = 0.47  # any rotation but a small one takes it out of the square
    new_views, new_targets = augment_se2(views, targets, generator, max_shift=0.0)
    unchanged = (new_targets - targets).abs().amax(dim=1) < 1e-6
    assert unchanged.any()
    assert torch.allclose(new_views[unchanged], views[unchanged], atol=1e-6)


def test_angles_wrap_into_the_half_open_interval() -> None:
    angles = torch.tensor([-math.pi / 2, math.pi / 2, math.pi, -3.0, 2.0, 0.1])
    wrapped = wrap_grasp_angle(angles)
    assert (wrapped > -math.pi / 2).all() and (wrapped <= math.pi / 2 + 1e-6).all()
    assert torch.allclose(torch.cos(2 * wrapped), torch.cos(2 * angles), atol=1e-5)


def candidate_sets(count: int, per_view: int, generator: torch.Generator) -> torch.Tensor:
    """(count, per_view, 5) grasps, several per view."""
    return grasp_targets(count * per_view, generator).reshape(count, per_view, 5)


def test_all_grasps_of_a_view_move_as_one_would_alone() -> None:
    views = textured_views(12)
    candidates = candidate_sets(12, 4, torch.Generator().manual_seed(6))
    for transform in (augment, lambda v, t, g: augment_se2(v, t, g, max_shift=0.15)):
        new_views, new_candidates = transform(views, candidates, torch.Generator().manual_seed(7))
        first_views, first = transform(views, candidates[:, 0], torch.Generator().manual_seed(7))
        assert torch.equal(new_views, first_views), "the first grasp decides, as when alone"
        assert torch.allclose(new_candidates[:, 0], first, atol=1e-6)
        for k in range(1, 4):  # every other grasp keeps its crop in the new view
            kept = reachable(new_candidates[:, k])
            error = crop_difference(
                crops_of(new_views[kept], new_candidates[kept, k]),
                crops_of(views[kept], candidates[kept, k]),
            )
            assert float(error.amax()) < 3e-3


def test_closest_target_is_the_nearest_valid_grasp_on_the_same_axis() -> None:
    candidates = torch.tensor(
        [
            [[0.30, 0.0, 0.0, 0.2, 0.7], [0.0, 0.0, 1.5, 0.2, 0.7], [0.02, 0.0, 0.0, 0.2, 0.7]],
            [[0.0, 0.1, 0.0, 0.2, 0.7], [0.0, 0.0, math.pi / 2, 0.2, 0.7], [0.4, 0.4, 0, 0.2, 0.7]],
        ]
    )
    valid = torch.tensor([[True, True, False], [True, True, True]])
    predicted = torch.tensor([[0.0, 0.0, 0.0, 0.2], [0.0, 0.0, -math.pi / 2 + 0.01, 0.2]])
    chosen = closest_targets(predicted, candidates, valid)
    # View 0: the nearest (index 2) is not valid; a perpendicular grasp at the same place
    # (index 1, 1.5 rad) counts as 0.1 view units away, less than index 0's 0.3.
    assert torch.equal(chosen[0], candidates[0, 1])
    # View 1: -pi/2 and pi/2 are the same jaw axis: index 1 is at distance ~0.
    assert torch.equal(chosen[1], candidates[1, 1])
