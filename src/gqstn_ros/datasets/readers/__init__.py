"""Readers of public grasping datasets, and the types they share.

- `dexnet`: Dex-Net 2.0 grasp classification data (32 x 32 depth crops, hand poses, robust
  Ferrari-Canny metric) -> `GraspClassificationBatch` per file or per index set.
- `jacquard`: Jacquard object folders (depth TIFF + `x;y;theta;w;h` grasps) ->
  `GraspDetectionSample`.
- `cornell`: Cornell grasping dataset (PCD point clouds + rectangle corner files) ->
  `GraspDetectionSample`.

Grasps are given in the project's image convention (see gqstn_ros.grasping.grasp): centre
(u, v) = (column, row) pixels, jaw axis angle from the image u axis towards +v, wrapped to
(-pi/2, pi/2].
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from gqstn_ros.geometry import wrap_angle


@dataclass(frozen=True)
class GraspRectangle:
    """An annotated grasp rectangle in the image.

    center_px: (u, v) pixels; angle: jaw axis from +u towards +v, radians in (-pi/2, pi/2];
    width_px: rectangle side along the jaw axis (the opening); height_px: the side across it
    (the jaw size).
    """

    center_px: tuple[float, float]
    angle: float
    width_px: float
    height_px: float

    def __post_init__(self) -> None:
        center = tuple(float(c) for c in self.center_px)
        if len(center) != 2 or not all(np.isfinite(center)):
            raise ValueError(f"center_px must be two finite numbers, got {self.center_px}")
        values = (self.angle, self.width_px, self.height_px)
        if not all(np.isfinite(values)) or self.width_px < 0 or self.height_px < 0:
            raise ValueError(f"angle, width_px and height_px must be finite, sizes >= 0: {values}")
        object.__setattr__(self, "center_px", center)
        object.__setattr__(self, "angle", float(wrap_angle(float(self.angle))))
        object.__setattr__(self, "width_px", float(self.width_px))
        object.__setattr__(self, "height_px", float(self.height_px))

    def corners(self) -> np.ndarray:
        """(4, 2) corner pixels (u, v), in the Cornell order: the first edge runs along the jaw
        axis, the second across it."""
        axis = np.array([np.cos(self.angle), np.sin(self.angle)])
        across = np.array([-axis[1], axis[0]])
        half_w, half_h = 0.5 * self.width_px * axis, 0.5 * self.height_px * across
        center = np.array(self.center_px)
        return np.stack(
            [
                center - half_w - half_h,
                center + half_w - half_h,
                center + half_w + half_h,
                center - half_w + half_h,
            ]
        )


def rectangles_to_arrays(
    rectangles: tuple[GraspRectangle, ...] | list[GraspRectangle],
) -> dict[str, np.ndarray]:
    """Stack rectangles: center_px (N, 2), angle (N,), width_px (N,), height_px (N,)."""
    return {
        "center_px": np.array([r.center_px for r in rectangles], dtype=np.float64).reshape(-1, 2),
        "angle": np.array([r.angle for r in rectangles], dtype=np.float64),
        "width_px": np.array([r.width_px for r in rectangles], dtype=np.float64),
        "height_px": np.array([r.height_px for r in rectangles], dtype=np.float64),
    }


@dataclass(frozen=True)
class GraspDetectionSample:
    """One annotated scene image of a grasp detection dataset.

    name: the sample's file stem; depth: (H, W) float32 depth (Cornell: metres; Jacquard: the
    TIFF's values), 0 where there is no data;
    positive / negative: annotated good / bad grasps (Jacquard has positives only);
    rgb: (H, W, 3) uint8 RGB when loaded; mask: (H, W) bool object mask when the dataset has one.
    """

    name: str
    depth: np.ndarray
    positive: tuple[GraspRectangle, ...]
    negative: tuple[GraspRectangle, ...] = ()
    rgb: np.ndarray | None = field(default=None, repr=False)
    mask: np.ndarray | None = field(default=None, repr=False)
