"""Noise model of a structured-light depth sensor (Microsoft Kinect v1) for clean depth images.

`apply_kinect_noise(depth, intrinsics, config, seed)` turns a clean z-depth image (metres, 0 =
no data) into what a Kinect v1 driver would publish (metres, 0 = no data):

1. lateral edge noise: pixels at depth discontinuities take the depth of a neighbour offset by
   a rounded Gaussian (sigma ~0.8 px), and drop out with some probability;
2. axial noise: Gaussian, sigma_z(z) = 1.2e-3 + 1.9e-3 (z - 0.4)^2 m (Nguyen, Izadi, Lovell,
   "Modeling Kinect Sensor Noise for Improved 3D Reconstruction and Tracking", 3DIMPVT 2012);
3. disparity quantization: the sensor measures disparity d = fx * b / z in 1/8 pixel steps, so
   depth comes in steps of about z^2 / (8 fx b), growing with z^2;
4. projector shadows: the IR projector sits `projector_baseline` metres along the camera's x
   axis; surfaces it does not light (hidden from it by nearer surfaces) give no data. With the
   projector at +x the invalid band lies on the -x side (image left) of nearer objects;
5. random small holes, and no data outside [min_range, max_range].
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from gqstn_ros.camera_model import CameraIntrinsics
from gqstn_ros.sim.config_checks import finite_non_negative, probability, require


@dataclass(frozen=True)
class KinectNoiseConfig:
    """Noise model of a structured-light depth sensor (Microsoft Kinect v1).

    Axial noise (Nguyen, Izadi, Lovell, "Modeling Kinect Sensor Noise for Improved 3D
    Reconstruction and Tracking", 3DIMPVT 2012): sigma_z(z) = a + b (z - z0)^2 metres with
    a = 1.2e-3 m, b = 1.9e-3 1/m, z0 = 0.4 m, for surfaces facing the sensor; lateral noise
    about 0.8 px at depth edges.
    """

    enabled: bool = True
    axial_sigma_base: float = 1.2e-3  # m (a)
    axial_sigma_quadratic: float = 1.9e-3  # 1/m (b)
    axial_sigma_reference_depth: float = 0.4  # m (z0)
    # Projector position in the IR camera's optical frame along x (m): the Kinect v1 baseline.
    projector_baseline: float = 0.075
    # Disparity is measured in 1/8 pixel steps; depth steps grow as z^2 / (fx * baseline * 8).
    disparity_subpixel_steps: int = 8  # 0 disables quantization
    lateral_sigma_px: float = 0.8  # px, jitter of depth edges
    edge_jump_threshold: float = 0.01  # m, depth jump between neighbours that marks an edge
    edge_dropout_probability: float = 0.3  # chance that an edge pixel has no data
    shadows: bool = True  # invalidate pixels the projector does not light
    holes_per_megapixel: float = 40.0  # mean count of random small holes
    hole_radius_px: tuple[float, float] = (1.0, 3.0)  # px, range of hole radii
    min_range: float = 0.4  # m, closer surfaces give no data (Kinect v1 ~0.4-0.5 m)
    max_range: float = 4.0  # m

    def __post_init__(self) -> None:
        for name in (
            "axial_sigma_base",
            "axial_sigma_quadratic",
            "axial_sigma_reference_depth",
            "lateral_sigma_px",
            "edge_jump_threshold",
            "holes_per_megapixel",
            "min_range",
        ):
            finite_non_negative(f"noise.{name}", getattr(self, name))
        require(
            math.isfinite(self.projector_baseline) and self.projector_baseline != 0,
            "noise.projector_baseline",
            f"must be a non-zero offset along x in metres, got {self.projector_baseline}",
        )
        require(
            isinstance(self.disparity_subpixel_steps, int) and self.disparity_subpixel_steps >= 0,
            "noise.disparity_subpixel_steps",
            f"must be a non-negative integer, got {self.disparity_subpixel_steps}",
        )
        probability("noise.edge_dropout_probability", self.edge_dropout_probability)
        low, high = self.hole_radius_px
        require(
            0 < low <= high,
            "noise.hole_radius_px",
            f"must be (min, max) with 0 < min <= max, got {self.hole_radius_px}",
        )
        require(
            self.max_range > self.min_range,
            "noise.max_range",
            f"must exceed noise.min_range {self.min_range}, got {self.max_range}",
        )

    @property
    def sensor_type(self) -> str:
        """The sensor type this config models (see `sim.sensor_models.SENSOR_TYPES`)."""
        return "structured_light"


__all__ = [
    "KinectNoiseConfig",
    "apply_kinect_noise",
    "axial_noise_sigma",
    "depth_edge_mask",
    "projector_shadow_mask",
    "quantize_depth",
]

# A pixel is shadowed when a pixel beside it (towards the projector) maps to a projector column
# at least this much further left (px): absorbs rounding on surfaces seen edge-on by the projector.
_SHADOW_TOLERANCE_PX = 0.05
_PIXELS_PER_MEGAPIXEL = 1e6


def _check_depth(depth: np.ndarray, intrinsics: CameraIntrinsics) -> np.ndarray:
    depth = np.asarray(depth)
    if depth.shape != (intrinsics.height, intrinsics.width):
        raise ValueError(
            f"depth is {depth.shape[1] if depth.ndim == 2 else depth.shape}, camera is "
            f"{intrinsics.width}x{intrinsics.height}"
        )
    return np.where(np.isfinite(depth) & (depth > 0), depth, 0.0).astype(np.float64)


def axial_noise_sigma(depth: np.ndarray | float, config: KinectNoiseConfig) -> np.ndarray:
    """Standard deviation (m) of the axial noise at z-depth `depth` (m), Nguyen et al. 2012."""
    z = np.asarray(depth, dtype=np.float64)
    return (
        config.axial_sigma_base
        + config.axial_sigma_quadratic * (z - config.axial_sigma_reference_depth) ** 2
    )


def quantize_depth(depth: np.ndarray, fx: float, config: KinectNoiseConfig) -> np.ndarray:
    """Depth (m) rounded to the sensor's disparity steps; 0 stays 0.

    Disparity d = fx * |baseline| / z (px) is rounded to 1 / `disparity_subpixel_steps` px.
    """
    steps = config.disparity_subpixel_steps
    depth = np.asarray(depth, dtype=np.float64)
    if steps == 0:
        return depth.copy()
    scale = fx * abs(config.projector_baseline)
    valid = depth > 0
    disparity = np.divide(scale, depth, out=np.zeros_like(depth), where=valid)
    disparity = np.round(disparity * steps) / steps
    return np.divide(scale, disparity, out=np.zeros_like(depth), where=disparity > 0)


def projector_shadow_mask(
    depth: np.ndarray, intrinsics: CameraIntrinsics, baseline: float
) -> np.ndarray:
    """(H, W) bool: pixels with depth that the projector cannot light.

    The projector sits at (baseline, 0, 0) in the optical frame, parallel to the camera, so its
    rays stay in the image row (epipolar line) of the point they light. A point at column u and
    depth z is lit through projector column u_p = u - fx * baseline / z; sweeping from the
    projector side, a point is in shadow when a pixel between it and the projector already took
    a projector column at or beyond its own.
    """
    depth = _check_depth(depth, intrinsics)
    if baseline < 0:  # mirror the image so that the projector is on the +x side
        return projector_shadow_mask(depth[:, ::-1], intrinsics, -baseline)[:, ::-1]
    valid = depth > 0
    columns = np.arange(intrinsics.width, dtype=np.float64)[None, :]
    disparity = np.divide(intrinsics.fx * baseline, depth, out=np.zeros_like(depth), where=valid)
    projector_column = np.where(valid, columns - disparity, np.inf)
    # Smallest projector column among the pixels to the right of each pixel (projector side).
    suffix_min = np.minimum.accumulate(projector_column[:, ::-1], axis=1)[:, ::-1]
    right_min = np.full(depth.shape, np.inf)
    right_min[:, :-1] = suffix_min[:, 1:]
    return valid & (projector_column > right_min + _SHADOW_TOLERANCE_PX)


def depth_edge_mask(depth: np.ndarray, jump_threshold: float) -> np.ndarray:
    """(H, W) bool: pixels whose depth differs from a 4-neighbour's by more than the threshold.

    Pixels next to no-data (0) pixels count as edges too; no-data pixels are never edges.
    """
    depth = np.asarray(depth, dtype=np.float64)
    valid = depth > 0
    edges = np.zeros(depth.shape, dtype=bool)
    for axis in (0, 1):
        jump = np.abs(np.diff(depth, axis=axis)) > jump_threshold
        lead = [slice(None)] * 2
        trail = [slice(None)] * 2
        lead[axis], trail[axis] = slice(None, -1), slice(1, None)
        edges[tuple(lead)] |= jump
        edges[tuple(trail)] |= jump
    return edges & valid


def _punch_holes(depth: np.ndarray, config: KinectNoiseConfig, rng: np.random.Generator) -> None:
    height, width = depth.shape
    expected = config.holes_per_megapixel * height * width / _PIXELS_PER_MEGAPIXEL
    count = int(rng.poisson(expected))
    if count == 0:
        return
    rows = rng.uniform(0, height, count)
    cols = rng.uniform(0, width, count)
    radii = rng.uniform(*config.hole_radius_px, count)
    for row, col, radius in zip(rows, cols, radii, strict=True):
        top, bottom = int(max(0, row - radius)), int(min(height, row + radius + 1))
        left, right = int(max(0, col - radius)), int(min(width, col + radius + 1))
        v, u = np.mgrid[top:bottom, left:right]
        inside = (v + 0.5 - row) ** 2 + (u + 0.5 - col) ** 2 <= radius**2
        depth[top:bottom, left:right][inside] = 0.0


def apply_kinect_noise(
    depth: np.ndarray,
    intrinsics: CameraIntrinsics,
    config: KinectNoiseConfig | None = None,
    seed: int | np.random.Generator = 0,
) -> np.ndarray:
    """Noisy (H, W) float32 depth in metres (0 = no data) from a clean z-depth image.

    depth: (H, W) z-depth in metres; 0, NaN and inf are no data. intrinsics: the camera that
    took it. seed: an int or a numpy Generator; the same seed gives the same noise.
    """
    config = config or KinectNoiseConfig()
    clean = _check_depth(depth, intrinsics)
    if not config.enabled:
        return clean.astype(np.float32)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    height, width = clean.shape
    noisy = clean.copy()

    # 1. Lateral noise at depth edges: borrow a jittered neighbour's depth, or drop out.
    edges = depth_edge_mask(clean, config.edge_jump_threshold)
    rows, cols = np.nonzero(edges)
    if rows.size:
        shift = np.rint(rng.normal(0.0, config.lateral_sigma_px, (2, rows.size))).astype(int)
        source_rows = np.clip(rows + shift[0], 0, height - 1)
        source_cols = np.clip(cols + shift[1], 0, width - 1)
        noisy[rows, cols] = clean[source_rows, source_cols]
        dropped = rng.random(rows.size) < config.edge_dropout_probability
        noisy[rows[dropped], cols[dropped]] = 0.0

    # 2. Axial noise, growing with distance.
    valid = noisy > 0
    noisy[valid] += rng.normal(0.0, 1.0, int(valid.sum())) * axial_noise_sigma(noisy[valid], config)
    noisy[noisy <= 0] = 0.0

    # 3. Disparity quantization.
    noisy = quantize_depth(noisy, intrinsics.fx, config)

    # 4. Projector shadows (geometry of the clean scene) and 5. holes and range limits.
    if config.shadows:
        noisy[projector_shadow_mask(clean, intrinsics, config.projector_baseline)] = 0.0
    _punch_holes(noisy, config, rng)
    noisy[(noisy < config.min_range) | (noisy > config.max_range)] = 0.0
    return noisy.astype(np.float32)
