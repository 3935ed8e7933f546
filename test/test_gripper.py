import numpy as np
import pytest

from gqstn_ros.gripper import ROBOTIQ_2F85, STROKE_TOLERANCE_M, GripperConfig


def test_the_stroke_admits_float32_rounding_of_its_end_and_nothing_wider():
    widths = np.array([0.0, 0.04, 0.085, float(np.float32(0.085)), 0.085 + 2 * STROKE_TOLERANCE_M])
    np.testing.assert_array_equal(ROBOTIQ_2F85.fits_stroke(widths), [True] * 4 + [False])
    assert not ROBOTIQ_2F85.fits_stroke(-0.001)


def test_stroke_in_pixels_is_the_pinhole_projection_of_the_full_opening():
    # 85 mm at 0.7 m with fx = 580 px: 70.4 px; twice as far, half as many pixels.
    np.testing.assert_allclose(
        ROBOTIQ_2F85.stroke_in_pixels(np.array([0.7, 1.4]), 580.0), [70.428571, 35.214286]
    )
    narrow = GripperConfig(name="narrow", max_width=0.04)
    assert narrow.stroke_in_pixels(0.5, 600.0) == pytest.approx(48.0)
