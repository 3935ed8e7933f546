"""Parallel-jaw gripper geometry: one definition for sampling, labels, networks and execution."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

# m: a width within this of the stroke fits it. A planner narrows a too-wide grasp to exactly
# the stroke, and float32 (on the wire, out of a network) rounds 0.085 up to 0.0850000009.
STROKE_TOLERANCE_M = 1e-6


@dataclass(frozen=True)
class GripperConfig:
    """Geometry of a parallel-jaw gripper; defaults are the Robotiq 2F-85."""

    name: str = "robotiq_2f85"
    max_width: float = 0.085  # m, full stroke; grasps wider than this are never returned
    min_width: float = 0.0  # m, fully closed
    finger_width: float = 0.022  # m, finger pad extent across the closing axis
    finger_thickness: float = 0.010  # m, pad thickness along the closing axis
    finger_depth: float = 0.040  # m, how far the fingertips reach below the palm
    max_grip_force: float = 235.0  # N, the 2F-85's maximum grip force

    def __post_init__(self) -> None:
        if not 0.0 <= self.min_width < self.max_width:
            raise ValueError(
                f"gripper widths must satisfy 0 <= min_width < max_width, "
                f"got min_width={self.min_width}, max_width={self.max_width}"
            )
        for field in ("finger_width", "finger_thickness", "finger_depth", "max_grip_force"):
            if getattr(self, field) <= 0:
                raise ValueError(f"gripper {field} must be positive, got {getattr(self, field)}")

    def fits_stroke(self, widths: np.ndarray | float) -> np.ndarray:
        """Elementwise bool: the opening is within the stroke (up to `STROKE_TOLERANCE_M`)."""
        widths = np.asarray(widths, dtype=np.float64)
        return (widths >= self.min_width - STROKE_TOLERANCE_M) & (
            widths <= self.max_width + STROKE_TOLERANCE_M
        )

    def stroke_in_pixels(self, depths: np.ndarray | float, fx: np.ndarray | float) -> np.ndarray:
        """The full stroke in image pixels for a grasp at these depths (m) seen with focal
        length fx (px): a planner narrows a wider predicted opening to it."""
        return self.max_width * np.asarray(fx, dtype=np.float64) / np.asarray(depths, np.float64)

    def to_dict(self) -> dict[str, float | str]:
        return asdict(self)


ROBOTIQ_2F85 = GripperConfig()
