import math

import pytest
import torch
from conftest import NORM, VIEW, random_targets, smooth_views, spread_heads, tiny_gqstn

from gqstn_ros.networks.grasp_head import (
    angle_from_raw,
    localization_loss,
    localization_loss_terms,
)
from gqstn_ros.planners.gqstn.model import (
    robustness_loss,
    rotation_matrices,
    scale_matrices,
    translation_matrices,
)
from gqstn_ros.preprocessing import (
    Normalization,
    affine_matrices,
    depth_offset_to_depth,
    extract_crops,
    sample_image,
)


def test_output_shapes_and_intermediate_images():
    model = tiny_gqstn().eval()
    out = model(smooth_views(3))
    for name in ("x", "y", "theta", "s", "z", "depth", "alpha", "beta", "q", "w_x", "w_z"):
        assert getattr(out, name).shape == (3,), name
    assert out.translated.shape == out.rotated.shape == (3, 1, VIEW, VIEW)
    assert out.crop.shape == (3, 1, 32, 32)
    assert out.logits.shape == (3, 2)
    assert out.params().shape == (3, 4)


def test_head_ranges():
    model = spread_heads(tiny_gqstn(), std=5.0).eval()
    out = model(smooth_views(8))
    assert torch.all(out.x.abs() < 0.5) and torch.all(out.y.abs() < 0.5)
    assert torch.all(out.theta > -math.pi / 2 - 1e-6) and torch.all(out.theta <= math.pi / 2)
    assert torch.all(out.s > 0)
    assert torch.allclose(out.s, NORM.scale_mean * torch.exp(out.w_s))
    assert torch.equal(out.z, out.w_z)
    assert torch.allclose(out.depth, depth_offset_to_depth(out.z, smooth_views(8), NORM))
    assert torch.all((out.q >= 0) & (out.q <= 1))


def test_scale_is_bounded_by_the_widest_training_grasp():
    model = spread_heads(tiny_gqstn(), std=5.0).eval()
    unbounded = model(smooth_views(8)).s
    limit = float(unbounded.median())  # half of the grasps ask for more
    model.normalization = Normalization(**{**NORM.to_dict(), "scale_max": limit})
    out = model(smooth_views(8))
    assert torch.any(unbounded > limit + 1e-4)
    assert torch.all(out.s <= limit + 1e-6)
    assert torch.allclose(out.s, unbounded.clamp(max=limit))
    with pytest.raises(ValueError, match="scale_max must be finite and >= 0"):
        Normalization(scale_max=-1.0)


def test_signed_activation_covers_every_angle_and_paper_only_a_quarter():
    theta = torch.linspace(-math.pi / 2 + 1e-3, math.pi / 2, 181)
    # raw outputs that give alpha = 0.99 sin 2theta, beta = 0.99 cos 2theta under "signed"
    w_alpha = torch.logit((0.99 * torch.sin(2 * theta) + 1) / 2)
    w_beta = torch.logit((0.99 * torch.cos(2 * theta) + 1) / 2)
    _, _, recovered = angle_from_raw(w_alpha, w_beta, "signed")
    assert torch.allclose(recovered, theta, atol=1e-4)
    wide = torch.linspace(-20, 20, 81)
    w_a, w_b = torch.meshgrid(wide, wide, indexing="ij")
    _, _, paper = angle_from_raw(w_a.flatten(), w_b.flatten(), "paper")
    assert paper.min() >= 0 and paper.max() <= math.pi / 4 + 1e-6  # only [0, pi/4]
    with pytest.raises(ValueError, match="angle_activation"):
        angle_from_raw(w_a, w_b, "unsigned")


def test_constrained_matrices_compose_to_the_one_shot_matrix():
    x, y = torch.tensor([0.2, -0.3]), torch.tensor([-0.1, 0.4])
    theta, s = torch.tensor([0.7, -1.2]), torch.tensor([0.5, 0.3])

    def homogeneous(m):
        bottom = torch.tensor([0.0, 0.0, 1.0]).expand(m.shape[0], 1, 3)
        return torch.cat([m, bottom], dim=1)

    composed = (
        homogeneous(translation_matrices(x, y))
        @ homogeneous(rotation_matrices(theta))
        @ homogeneous(scale_matrices(s))
    )
    assert torch.allclose(composed[:, :2], affine_matrices(x, y, theta, s), atol=1e-6)


def test_cascade_of_three_samplers_equals_extract_crops():
    views = smooth_views(4)
    params = torch.tensor(
        [[0.0, 0.0, 0.0, 0.5], [0.2, -0.3, 0.9, 0.4], [-0.4, 0.1, -1.4, 0.6], [0.3, 0.3, 1.5, 0.3]]
    )
    x, y, theta, s = params.unbind(1)
    translated = sample_image(views, translation_matrices(x, y), VIEW)
    rotated = sample_image(translated, rotation_matrices(theta), VIEW)
    crop = sample_image(rotated, scale_matrices(s), 32)
    one_shot = extract_crops(views, params, 32)
    # views span ~50 mm of relief; double resampling may blur it by well under a millimetre
    assert (crop - one_shot).abs().max() < 1e-3


def test_model_crop_is_the_crop_of_its_predicted_grasp():
    model = spread_heads(tiny_gqstn(), std=0.5).eval()
    views = smooth_views(4)
    out = model(views)
    assert (out.crop - extract_crops(views, out.params(), 32)).abs().max() < 1e-3


def test_teacher_forcing_transforms_with_the_ground_truth():
    model = spread_heads(tiny_gqstn(), std=0.5).eval()
    views = smooth_views(2)
    teacher = torch.tensor([[0.3, -0.2, 1.0, 0.5], [-0.1, 0.25, -0.6, 0.4]])
    free = model(views)
    forced = model(views, teacher)
    expected_translated = sample_image(
        views, translation_matrices(teacher[:, 0], teacher[:, 1]), VIEW
    )
    expected_rotated = sample_image(expected_translated, rotation_matrices(teacher[:, 2]), VIEW)
    assert torch.allclose(forced.translated, expected_translated)
    assert torch.allclose(forced.rotated, expected_rotated)
    assert not torch.allclose(free.translated, forced.translated)
    # the heads still predict: STN_trans sees the same view, so the same x, y
    assert torch.equal(forced.x, free.x) and torch.equal(forced.y, free.y)
    # the crop uses the predicted scale (only Lambda_trans and Lambda_rot are forced)
    expected_crop = sample_image(expected_rotated, scale_matrices(forced.s), 32)
    assert torch.allclose(forced.crop, expected_crop)
    with pytest.raises(ValueError, match="teacher"):
        model(views, teacher[:, :3])


def test_robustness_loss_reaches_the_first_stn_and_not_the_frozen_gqcnn():
    model = tiny_gqstn().train()
    assert all(not p.requires_grad for p in model.gqcnn.parameters())
    assert not model.gqcnn.training  # kept in eval mode
    robustness_loss(model(smooth_views(2))).backward()
    trans_grads = [p.grad for p in model.stn_trans.parameters()]
    assert all(g is not None for g in trans_grads)
    assert sum(float(g.abs().sum()) for g in trans_grads) > 0
    assert all(p.grad is None for p in model.gqcnn.parameters())


def test_localization_loss_is_zero_at_the_target_and_checks_its_input():
    model = tiny_gqstn().eval()
    with torch.no_grad():
        out = model(smooth_views(2))
    target = torch.stack([out.x, out.y, out.theta, out.s, out.z], 1).detach()
    terms = localization_loss_terms(out, target, NORM.scale_mean)
    # alpha, beta of the signed head are not unit length, so only those terms may be non-zero
    for name in ("x", "y", "scale", "z"):
        assert float(terms[name]) < 1e-10, name
    with pytest.raises(ValueError, match="target"):
        localization_loss(out, target[:, :4], NORM.scale_mean)


def test_losses_decrease_on_a_tiny_overfit():
    model = tiny_gqstn().train()
    views, target = smooth_views(4), random_targets(4)
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=3e-3)
    losses = []
    for _ in range(12):
        out = model(views, target[:, :4])
        loss = localization_loss(out, target, NORM.scale_mean) + 0.1 * robustness_loss(out)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.7 * losses[0], losses
