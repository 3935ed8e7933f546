import numpy as np
import pytest

from gqstn_ros.gripper import (
    ROBOTIQ_2F85,
    STROKE_TOLERANCE_M,
    GripperConfig,
    GripperMismatchError,
    check_same_geometry,
    default_gripper,
)
from gqstn_ros.profiles import load_gripper_profile


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


def test_the_default_gripper_is_the_robotiq_2f85_profile_loaded_once():
    assert default_gripper() == load_gripper_profile("robotiq_2f85") == ROBOTIQ_2F85
    assert default_gripper() is default_gripper()


def test_geometry_differences_name_the_fields_that_differ():
    franka = load_gripper_profile("franka_hand")
    assert ROBOTIQ_2F85.geometry_differences(ROBOTIQ_2F85) == []
    assert ROBOTIQ_2F85.geometry_differences(franka) == [
        "max_width 0.085 m vs 0.08 m",
        "finger_width 0.022 m vs 0.018 m",
        "finger_thickness 0.01 m vs 0.008 m",
        "finger_depth 0.04 m vs 0.045 m",
    ]
    stronger = GripperConfig(name="strong_2f85", max_grip_force=300.0, grip_force=100.0)
    check_same_geometry(ROBOTIQ_2F85, stronger, "model m")  # forces are not geometry
    with pytest.raises(
        GripperMismatchError, match="model m was trained for gripper 'robotiq_2f85'"
    ):
        check_same_geometry(ROBOTIQ_2F85, franka, "model m")
