"""Inpainting of invalid depth pixels (Navier-Stokes on metres, at reduced resolution)."""

import numpy as np
import pytest

from gqstn_ros.depth_processing import DepthFrameError, InpaintConfig, inpaint_depth, invalid_mask


def table_with_box(height: int = 120, width: int = 160) -> np.ndarray:
    """A tilted table plane at ~0.7 m with a box whose top is 8 cm closer."""
    rows, cols = np.mgrid[0:height, 0:width]
    depth = (0.70 + 0.0002 * cols + 0.0001 * rows).astype(np.float32)
    depth[40:80, 50:100] -= 0.08
    return depth


@pytest.mark.parametrize("scale", [1.0, 0.5, 0.25])
def test_holes_are_filled_close_to_the_true_surface(scale: float) -> None:
    truth = table_with_box()
    rng = np.random.default_rng(0)
    noisy = truth.copy()
    holes = rng.random(truth.shape) < 0.05
    noisy[holes] = 0.0
    noisy[10:14, 10:30] = np.nan  # a shadow band
    noisy[100, 5] = np.inf
    filled = inpaint_depth(noisy, InpaintConfig(scale=scale))
    missing = invalid_mask(noisy)
    assert filled.dtype == np.float32 and filled.shape == truth.shape
    assert np.all(np.isfinite(filled))
    np.testing.assert_array_equal(filled[~missing], noisy[~missing])  # valid pixels untouched
    # Away from the box edges, a hole is filled with the surrounding surface.
    interior = missing.copy()
    interior[35:85, 45:105] = False
    errors = np.abs(filled[interior] - truth[interior])
    assert np.median(errors) < 2e-3
    assert errors.max() < 0.02


def test_invalid_values_are_recognised() -> None:
    depth = np.array([[0.5, 0.0, -1.0], [np.nan, np.inf, 0.7]], dtype=np.float32)
    np.testing.assert_array_equal(invalid_mask(depth), [[False, True, True], [True, True, False]])


def test_frame_without_holes_is_returned_as_is() -> None:
    depth = table_with_box()
    np.testing.assert_array_equal(inpaint_depth(depth), depth)


def test_all_invalid_frame_is_refused_with_a_reason() -> None:
    with pytest.raises(DepthFrameError, match=r"100\.0% invalid pixels"):
        inpaint_depth(np.zeros((48, 64), np.float32))
    almost = np.full((48, 64), np.nan, np.float32)
    almost[0, :10] = 0.7
    with pytest.raises(DepthFrameError, match="nothing to inpaint from"):
        inpaint_depth(almost)


def test_bad_shapes_and_configs_are_refused() -> None:
    with pytest.raises(DepthFrameError, match="2-D"):
        inpaint_depth(np.ones((4, 4, 1), np.float32))
    with pytest.raises(ValueError, match="inpaint scale"):
        InpaintConfig(scale=0.0)
    with pytest.raises(ValueError, match="radius_px"):
        InpaintConfig(radius_px=0)
