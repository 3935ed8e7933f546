"""Depth preprocessing shared by the depth node, dataset generation and training.

Invalid pixels (NaN, inf, <= 0: a Kinect's holes and shadows) are filled with OpenCV's
Navier-Stokes inpainting, computed at a reduced resolution for speed and merged back at full
resolution so valid pixels keep their measured value. Inpainting works on metres directly
(INPAINT_NS on float metres is correct; INPAINT_TELEA is not).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


class DepthFrameError(ValueError):
    """A depth frame that cannot be processed (all pixels invalid, wrong shape...)."""


@dataclass(frozen=True)
class InpaintConfig:
    """How invalid depth pixels are filled."""

    # Inpaint at this fraction of the resolution (1.0 = full). 0.25 costs ~7 % of full resolution
    # at 640x480 for the same fill error (benchmarks/depth_inpaint.py).
    scale: float = 0.25
    radius_px: int = 3  # neighbourhood radius of cv2.inpaint, pixels at the reduced resolution
    max_invalid_ratio: float = 0.95  # refuse frames with more invalid pixels than this

    def __post_init__(self) -> None:
        if not 0.05 <= self.scale <= 1.0:
            raise ValueError(f"inpaint scale must be in [0.05, 1], got {self.scale}")
        if self.radius_px < 1:
            raise ValueError(f"inpaint radius_px must be >= 1, got {self.radius_px}")
        if not 0.0 < self.max_invalid_ratio <= 1.0:
            raise ValueError(f"max_invalid_ratio must be in (0, 1], got {self.max_invalid_ratio}")


def invalid_mask(depth_m: np.ndarray) -> np.ndarray:
    """(H, W) bool: pixels without a depth measurement (NaN, +-inf, <= 0)."""
    return ~np.isfinite(depth_m) | (depth_m <= 0.0)


def inpaint_depth(depth_m: np.ndarray, config: InpaintConfig | None = None) -> np.ndarray:
    """Fill the invalid pixels of an (H, W) depth image in metres; returns float32 (H, W).

    Valid pixels are returned unchanged. Raises DepthFrameError when the frame is not 2-D or
    has (almost) no valid pixel to inpaint from.
    """
    config = config or InpaintConfig()
    depth_m = np.asarray(depth_m, dtype=np.float32)
    if depth_m.ndim != 2 or depth_m.size == 0:
        raise DepthFrameError(f"depth frame must be a non-empty 2-D array, got {depth_m.shape}")
    missing = invalid_mask(depth_m)
    invalid_ratio = float(missing.mean())
    if invalid_ratio > config.max_invalid_ratio or invalid_ratio == 1.0:
        raise DepthFrameError(
            f"depth frame has {invalid_ratio:.1%} invalid pixels "
            f"(more than the allowed {config.max_invalid_ratio:.0%}): nothing to inpaint from"
        )
    if not missing.any():
        return depth_m.copy()
    height, width = depth_m.shape
    filled = np.where(missing, np.float32(0.0), depth_m)
    small_size = (max(1, round(width * config.scale)), max(1, round(height * config.scale)))
    if config.scale < 1.0:
        # Average only valid pixels when shrinking: invalid zeros must not pull depths down.
        weights = cv2.resize(
            (~missing).astype(np.float32), small_size, interpolation=cv2.INTER_AREA
        )
        sums = cv2.resize(filled, small_size, interpolation=cv2.INTER_AREA)
        small_missing = weights < 1e-3
        small = np.where(small_missing, 0.0, sums / np.maximum(weights, 1e-3)).astype(np.float32)
    else:
        small, small_missing = filled, missing
    small_filled = cv2.inpaint(
        small, small_missing.astype(np.uint8), config.radius_px, cv2.INPAINT_NS
    )
    if config.scale < 1.0:
        full = cv2.resize(small_filled, (width, height), interpolation=cv2.INTER_LINEAR)
    else:
        full = small_filled
    return np.where(missing, full, depth_m).astype(np.float32)
