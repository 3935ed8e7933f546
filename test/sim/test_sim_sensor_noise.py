"""Kinect v1 noise model: axial sigma, disparity quantization, shadows, edges, holes, ranges."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from gqstn_ros.camera_model import KINECT_V1
from gqstn_ros.sim.camera import DepthCamera
from gqstn_ros.sim.scene import Scene
from gqstn_ros.sim.sensor_noise import (
    KinectNoiseConfig,
    apply_kinect_noise,
    axial_noise_sigma,
    depth_edge_mask,
    projector_shadow_mask,
    quantize_depth,
)

K = KINECT_V1
# Only the axial noise: no quantization, edges, shadows or holes.
AXIAL_ONLY = KinectNoiseConfig(
    disparity_subpixel_steps=0,
    edge_dropout_probability=0.0,
    lateral_sigma_px=0.0,
    shadows=False,
    holes_per_megapixel=0.0,
)


def _plane(depth: float) -> np.ndarray:
    return np.full((K.height, K.width), depth, dtype=np.float32)


def _step_image(background: float = 0.7, block: float = 0.6) -> np.ndarray:
    """Table at `background` with a block at `block` over columns 300..359, rows 200..279."""
    image = _plane(background)
    image[200:280, 300:360] = block
    return image


def test_nguyen_axial_sigma_formula() -> None:
    config = KinectNoiseConfig()
    assert axial_noise_sigma(0.4, config) == pytest.approx(1.2e-3)
    assert axial_noise_sigma(0.7, config) == pytest.approx(1.2e-3 + 0.0019 * 0.09)
    assert axial_noise_sigma(2.0, config) > 5e-3


@pytest.mark.parametrize("depth", [0.7, 1.5])
def test_axial_noise_statistics_match_the_configured_sigma(depth: float) -> None:
    noisy = apply_kinect_noise(_plane(depth), K, AXIAL_ONLY, seed=3)
    error = noisy.astype(np.float64) - depth
    sigma = float(axial_noise_sigma(depth, AXIAL_ONLY))
    assert np.all(noisy > 0)
    assert abs(error.mean()) < 0.02 * sigma
    assert error.std() == pytest.approx(sigma, rel=0.02)


def test_disparity_quantization_steps_grow_with_z_squared() -> None:
    config = KinectNoiseConfig()
    scale = K.fx * config.projector_baseline
    depths = np.linspace(0.5, 2.0, 2001)[None, :]
    quantized = quantize_depth(depths, K.fx, config)
    steps = config.disparity_subpixel_steps
    disparity = scale / quantized
    assert np.allclose(disparity * steps, np.round(disparity * steps), atol=1e-6)
    assert np.abs(quantized - depths).max() <= (2.0**2 / (scale * steps)) / 2 * 1.01
    for z in (0.7, 1.4):
        levels = np.unique(
            quantize_depth(np.linspace(z - 0.02, z + 0.02, 4001)[None], K.fx, config)
        )
        step = np.median(np.diff(levels))
        assert step == pytest.approx(z**2 / (scale * steps), rel=0.05)
    # Applied to an image: values sit on the grid.
    noisy = apply_kinect_noise(_plane(0.7), K, dataclasses.replace(config, shadows=False), seed=1)
    valid = noisy[noisy > 0].astype(np.float64)
    units = scale / valid * steps
    assert np.abs(units - np.round(units)).max() < 1e-3


def test_projector_shadow_falls_on_the_far_side_of_a_raised_block() -> None:
    clean = _step_image()
    shadow = projector_shadow_mask(clean, K, 0.075)
    rows, cols = np.nonzero(shadow)
    assert set(np.unique(rows)) == set(range(200, 280))
    # Projector at +x (image right): the shadow is the band just left of the block, as wide as
    # the disparity difference fx b (1/z_block - 1/z_table).
    width = K.fx * 0.075 * (1 / 0.6 - 1 / 0.7)
    assert cols.max() == 299
    assert 299 - cols.min() + 1 == pytest.approx(width, abs=1.0)
    # Projector on the other side: the shadow moves to the right of the block.
    mirrored = np.nonzero(projector_shadow_mask(clean, K, -0.075))[1]
    assert mirrored.min() == 360 and mirrored.max() - 360 + 1 == pytest.approx(width, abs=1.0)
    # A flat table casts no shadow.
    assert not projector_shadow_mask(_plane(0.7), K, 0.075).any()


def test_shadows_in_a_rendered_scene_lie_beside_objects_away_from_the_projector(
    clutter_scene: Scene,
) -> None:
    frame = DepthCamera(clutter_scene, backend="raycast").render()
    shadow = projector_shadow_mask(frame.depth, K, 0.075)
    assert shadow.sum() > 50
    assert np.mean(frame.segmentation[shadow] == 0) > 0.5  # mostly on the table
    # Each shadowed pixel has its occluder, a nearer surface, a few pixels to its right (the
    # projector side), and the shadow bands border objects on their left (-x) side.
    for row, col in zip(*np.nonzero(shadow), strict=True):
        right = frame.depth[row, col + 1 : col + 30]
        assert np.any((right > 0) & (right < frame.depth[row, col] - 0.005))
    on_table = shadow & (frame.segmentation == 0)
    next_right = np.zeros_like(on_table)
    next_right[:, :-1] = on_table[:, :-1] & ~on_table[:, 1:]  # right end of each shadow run
    assert np.all(frame.segmentation[:, 1:][next_right[:, :-1]] > 0)
    noisy = apply_kinect_noise(frame.depth, K, seed=0)
    assert np.all(noisy[shadow] == 0)


def test_edges_jitter_and_drop_out() -> None:
    clean = _step_image()
    edges = depth_edge_mask(clean, 0.01)
    assert edges[200, 330] and edges[199, 330] and not edges[240, 330] and not edges[100, 100]
    config = KinectNoiseConfig(shadows=False, holes_per_megapixel=0.0, edge_dropout_probability=0.5)
    noisy = apply_kinect_noise(clean, K, config, seed=2)
    dropped = (noisy == 0) & edges
    assert 0.35 < dropped.sum() / edges.sum() < 0.65
    assert np.all(noisy[~edges] > 0)
    # Lateral jitter: some kept edge pixels took the other side's depth.
    kept = edges & (noisy > 0)
    swapped = np.abs(noisy.astype(np.float64) - clean) > 0.05
    assert 0.05 < (swapped & kept).sum() / kept.sum() < 0.6


def test_holes_ranges_invalid_inputs_and_determinism() -> None:
    config = KinectNoiseConfig(holes_per_megapixel=300.0)
    noisy = apply_kinect_noise(_plane(0.9), K, config, seed=5)
    assert noisy.dtype == np.float32 and noisy.shape == (K.height, K.width)
    holes = (noisy == 0).sum()
    assert holes > 100  # ~92 holes of 1-3 px radius
    assert np.array_equal(noisy, apply_kinect_noise(_plane(0.9), K, config, seed=5))
    assert not np.array_equal(noisy, apply_kinect_noise(_plane(0.9), K, config, seed=6))
    # Out of range and invalid inputs give 0 (no data), like a Kinect driver.
    clean = _plane(0.7)
    clean[0, :100] = 0.3  # closer than min_range
    clean[1, :100] = 5.0  # beyond max_range
    clean[2, :100] = np.nan
    clean[3, :100] = np.inf
    noisy = apply_kinect_noise(clean, K, AXIAL_ONLY, seed=0)
    assert np.all(noisy[:4, :100] == 0) and np.all(noisy[10:, :] > 0)
    disabled = apply_kinect_noise(clean, K, KinectNoiseConfig(enabled=False))
    assert np.array_equal(disabled[10:], clean[10:]) and np.all(disabled[2:4, :100] == 0)
    with pytest.raises(ValueError, match="camera is 640x480"):
        apply_kinect_noise(np.zeros((10, 10)), K)
