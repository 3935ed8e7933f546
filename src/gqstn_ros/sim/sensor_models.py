"""Depth-sensor noise models per sensor type: structured light, active stereo, time of flight.

Every model turns a clean z-depth image (metres, 0 = no data, in the optical frame of the depth
camera: x right, y down, z forward) into what that sensor's driver publishes (metres, 0 = no
data). `apply_sensor_noise(depth, intrinsics, config, rng)` dispatches on the config's type:

- `StructuredLightNoiseConfig` (= `world_config.KinectNoiseConfig`): Kinect v1 style projector +
  camera; exactly `sensor_noise.apply_kinect_noise` (Nguyen, Izadi, Lovell, "Modeling Kinect
  Sensor Noise for Improved 3D Reconstruction and Tracking", 3DIMPVT 2012).
- `ActiveStereoNoiseConfig`: two IR imagers plus a dot projector (Intel RealSense D4xx); see the
  class for the model and its sources.
- `TimeOfFlightNoiseConfig`: amplitude-modulated continuous-wave time of flight (Azure Kinect);
  see the class for the model and its sources.

YAML camera profiles name a sensor type and give that type's parameters; they load with
`noise_config_from_mapping(profile["sensor"], profile["noise"])`, and `noise_config_to_mapping`
writes a config back as plain YAML/JSON values. `PUBLISHED_SENSOR_PARAMETERS` holds the parameter
values of the cameras this project simulates, with their sources.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from gqstn_ros.camera_model import CameraIntrinsics
from gqstn_ros.sim.config_checks import finite_non_negative, finite_positive, probability, require
from gqstn_ros.sim.sensor_noise import (
    KinectNoiseConfig,
    _check_depth,
    apply_kinect_noise,
    projector_shadow_mask,
)

__all__ = [
    "PUBLISHED_SENSOR_PARAMETERS",
    "SENSOR_TYPES",
    "ActiveStereoNoiseConfig",
    "KinectNoiseConfig",
    "PublishedSensorParameters",
    "SensorNoiseConfig",
    "StructuredLightNoiseConfig",
    "TimeOfFlightNoiseConfig",
    "apply_sensor_noise",
    "noise_config_from_mapping",
    "noise_config_to_mapping",
    "random_hole_mask",
    "stereo_depth_rms",
    "tof_random_sigma",
]

SENSOR_TYPES = ("structured_light", "active_stereo", "time_of_flight")

# The Kinect v1 model is the structured-light model.
StructuredLightNoiseConfig = KinectNoiseConfig


def _check_range(config: Any) -> None:
    finite_non_negative("noise.min_range", config.min_range)
    require(
        bool(np.isfinite(config.max_range)) and config.max_range > config.min_range,
        "noise.max_range",
        f"must be finite and exceed noise.min_range {config.min_range}, got {config.max_range}",
    )


def _check_radius_range(config: Any) -> None:
    low, high = config.hole_radius_px
    require(
        bool(np.isfinite(high)) and 0 < low <= high,
        "noise.hole_radius_px",
        f"must be (min, max) with 0 < min <= max, got {config.hole_radius_px}",
    )


@dataclass(frozen=True)
class ActiveStereoNoiseConfig:
    """Noise model of an active-stereo depth camera; defaults: Intel RealSense D415 at 1280x720.

    Depth is taken at the reference (left) imager; the second imager sits `baseline` metres along
    its +x axis (RealSense: the right imager, 55 mm away on the D415). In disparity d = fx b / z
    (px, fx from the intrinsics the model is given):

    1. flying pixels: the matching window straddles a depth edge, so within
       `flying_pixel_width_px` of an edge a fraction `flying_pixel_probability` of the pixels
       take a depth between the near and the far surface (uniformly mixed);
    2. disparity noise: Gaussian with RMS `subpixel_rms` px, so the depth RMS error is
       sigma_z = z^2 * subpixel_rms / (fx * b) (Grunnet-Jepsen, Sweetser, Woodfill, "Best-Known-
       Methods for Tuning Intel RealSense D400 Depth Cameras for Best Performance", Intel white
       paper, 2018, depth RMS error equation; subpixel RMS ~0.08 px typical for well-textured
       scenes with the projector on). A share `speckle_fraction` of its variance is spatially
       correlated (Gaussian kernel, std `speckle_correlation_px`), the speckle of the laser dot
       pattern and the matching window;
    3. disparity quantization to 1/`disparity_subpixel_steps` px (the D4 vision processor reports
       disparity with 5 fractional bits, 1/32 px: Grunnet-Jepsen et al., "Subpixel Linearity
       Improvement for Intel RealSense Depth Camera D400 Series", Intel white paper, 2019);
    4. occlusion holes: points the second imager cannot see (hidden by a nearer surface) fail
       the left-right check and give no data: with the second imager at +x the band lies on the
       -x side (image left) of nearer objects, as wide as fx b (1/z_near - 1/z_far) px;
    5. the invalid depth band: the image columns the second imager does not see at that depth,
       fx b / z px wide on the image's -x edge (Intel RealSense D400 Series datasheet, 337029,
       "invalid depth band");
    6. holes over a fraction `hole_fraction` of the image in random disks (dark, specular or
       textureless parts), and no data outside [min_range, max_range] (D415 Min-Z ~0.45 m at
       1280x720, range ~10 m: D400 Series datasheet, 337029, depth module properties; Min-Z
       shrinks in proportion to the image width at lower resolutions).
    """

    enabled: bool = True
    baseline: float = 0.055  # m, second imager along the reference imager's x axis (D415)
    subpixel_rms: float = 0.08  # px, RMS disparity error
    disparity_subpixel_steps: int = 32  # 0 disables quantization
    speckle_fraction: float = 0.5  # share of the disparity-noise variance spatially correlated
    speckle_correlation_px: float = 1.5  # px, std of the correlation kernel
    edge_jump_threshold: float = 0.01  # m, depth jump within a window that marks an edge
    flying_pixel_width_px: int = 2  # px, half-width of the band beside an edge
    flying_pixel_probability: float = 0.3  # chance that a band pixel takes a mixed depth
    occlusion: bool = True  # invalidate what the second imager cannot see
    invalid_band: bool = True  # invalidate the columns outside the second imager's view
    hole_fraction: float = 0.003  # expected share of the image in random holes
    hole_radius_px: tuple[float, float] = (2.0, 6.0)  # px, range of hole radii
    min_range: float = 0.45  # m
    max_range: float = 10.0  # m

    def __post_init__(self) -> None:
        require(
            math.isfinite(self.baseline) and self.baseline != 0,
            "noise.baseline",
            f"must be a non-zero offset along x in metres, got {self.baseline}",
        )
        for name in ("subpixel_rms", "speckle_correlation_px", "edge_jump_threshold"):
            finite_non_negative(f"noise.{name}", getattr(self, name))
        for name in ("disparity_subpixel_steps", "flying_pixel_width_px"):
            value = getattr(self, name)
            require(
                isinstance(value, int) and not isinstance(value, bool) and value >= 0,
                f"noise.{name}",
                f"must be a non-negative integer, got {value!r}",
            )
        for name in ("speckle_fraction", "flying_pixel_probability", "hole_fraction"):
            probability(f"noise.{name}", getattr(self, name))
        require(
            self.speckle_fraction == 0 or self.speckle_correlation_px > 0,
            "noise.speckle_correlation_px",
            f"must be > 0 when noise.speckle_fraction > 0, got {self.speckle_correlation_px}",
        )
        _check_radius_range(self)
        _check_range(self)

    @property
    def sensor_type(self) -> str:
        return "active_stereo"


@dataclass(frozen=True)
class TimeOfFlightNoiseConfig:
    """Noise model of an AMCW time-of-flight camera; defaults: Azure Kinect, NFOV unbinned.

    Published figures (Microsoft, "Azure Kinect DK hardware specifications", 2019, depth camera
    table; confirmed in all four modes up to 3.5 m by Tölgyessy, Dekan, Chovanec, Hubinský,
    "Evaluation of the Azure Kinect and Its Comparison to Kinect V1 and Kinect V2", Sensors
    21(2):413, 2021): random error std <= 17 mm; systematic error < 11 mm + 0.1 % of distance
    (without multipath); NFOV unbinned operating range 0.5-3.86 m. The model:

    1. multipath: light bouncing off a nearer surface (an object's side) before the far one (the
       table beside it) lengthens the path, so pixels of the far surface next to a nearer one
       read too far: + `multipath_bias` * exp(-d / `multipath_width_px`) metres, d = pixel
       distance to the depth edge (the concave corner where the object meets the table);
    2. mixed pixels: pixels on a depth edge (jump > `edge_jump_threshold` to a 4-neighbour)
       mix the two surfaces' returns; the depth engine flags most of them invalid
       (`edge_invalid_probability`), the rest keep a depth between the two surfaces;
    3. random error: Gaussian, sigma(z) = `random_sigma_base` + `random_sigma_slope` * z (the
       return signal falls with distance); defaults well inside the 17 mm bound;
    4. systematic error: + `systematic_offset` + `systematic_fraction` * z (a device's
       calibration residual; the specification bounds it by 11 mm + 0.1 % of z; 0 = perfect);
    5. holes over a fraction `hole_fraction` of the image in random disks (low-reflectivity
       patches whose signal is too weak), and no data outside [min_range, max_range].
    """

    enabled: bool = True
    random_sigma_base: float = 1.0e-3  # m
    random_sigma_slope: float = 0.5e-3  # m per metre of depth
    systematic_offset: float = 0.0  # m
    systematic_fraction: float = 0.0  # of the depth
    multipath_bias: float = 0.006  # m, at the edge
    multipath_width_px: float = 2.0  # px, e-folding distance of the bias
    edge_jump_threshold: float = 0.01  # m
    edge_invalid_probability: float = 0.8  # chance that a mixed edge pixel is flagged invalid
    hole_fraction: float = 0.002  # expected share of the image in low-reflectivity holes
    hole_radius_px: tuple[float, float] = (2.0, 6.0)  # px, range of hole radii
    min_range: float = 0.5  # m
    max_range: float = 3.86  # m

    def __post_init__(self) -> None:
        for name in (
            "random_sigma_base",
            "random_sigma_slope",
            "multipath_bias",
            "edge_jump_threshold",
        ):
            finite_non_negative(f"noise.{name}", getattr(self, name))
        finite_positive("noise.multipath_width_px", self.multipath_width_px)
        require(
            math.isfinite(self.systematic_offset),
            "noise.systematic_offset",
            f"must be a finite number of metres, got {self.systematic_offset}",
        )
        require(
            math.isfinite(self.systematic_fraction) and abs(self.systematic_fraction) < 1,
            "noise.systematic_fraction",
            f"must be a fraction of the depth in (-1, 1), got {self.systematic_fraction}",
        )
        for name in ("edge_invalid_probability", "hole_fraction"):
            probability(f"noise.{name}", getattr(self, name))
        _check_radius_range(self)
        _check_range(self)

    @property
    def sensor_type(self) -> str:
        return "time_of_flight"


SensorNoiseConfig = StructuredLightNoiseConfig | ActiveStereoNoiseConfig | TimeOfFlightNoiseConfig

_CONFIG_CLASSES: dict[str, type] = {
    "structured_light": StructuredLightNoiseConfig,
    "active_stereo": ActiveStereoNoiseConfig,
    "time_of_flight": TimeOfFlightNoiseConfig,
}


# ----------------------------------------------------------------------------- mappings
def _convert(name: str, annotation: Any, value: Any) -> Any:
    """`value` as the field's type, or ValueError naming `noise.<name>`."""
    field_name = f"noise.{name}"
    if annotation is bool:
        require(isinstance(value, bool), field_name, f"must be true or false, got {value!r}")
        return value
    if annotation is int:
        require(
            isinstance(value, (int, np.integer)) and not isinstance(value, bool),
            field_name,
            f"must be an integer, got {value!r}",
        )
        return int(value)
    if annotation is float:
        require(
            isinstance(value, (int, float, np.integer, np.floating))
            and not isinstance(value, bool),
            field_name,
            f"must be a number, got {value!r}",
        )
        return float(value)
    if typing.get_origin(annotation) is tuple:
        items = typing.get_args(annotation)
        require(
            isinstance(value, (list, tuple)) and len(value) == len(items),
            field_name,
            f"must be a list of {len(items)} numbers, got {value!r}",
        )
        return tuple(
            _convert(name, item, element) for item, element in zip(items, value, strict=True)
        )
    raise TypeError(f"{field_name}: unsupported field type {annotation!r}")


def noise_config_from_mapping(sensor_type: str, params: Mapping[str, Any]) -> SensorNoiseConfig:
    """The noise config of `sensor_type` (one of SENSOR_TYPES) with the parameters in `params`.

    Parameters left out (or `params` None) keep the type's defaults; lists become tuples, ints
    become floats where the parameter is a float. An unknown sensor type or an unknown,
    ill-typed or out-of-range parameter raises ValueError naming it (`sensor` or
    `noise.<parameter>`).
    """
    cls = _CONFIG_CLASSES.get(sensor_type) if isinstance(sensor_type, str) else None
    require(
        cls is not None,
        "sensor",
        f"unknown sensor type {sensor_type!r}, expected one of {', '.join(SENSOR_TYPES)}",
    )
    params = {} if params is None else params
    require(
        isinstance(params, Mapping),
        "noise",
        f"must be a mapping of parameter names to values, got {type(params).__name__}",
    )
    hints = typing.get_type_hints(cls)
    names = [field.name for field in dataclasses.fields(cls)]
    unknown = [str(key) for key in params if key not in names]
    require(
        not unknown,
        f"noise.{unknown[0]}" if unknown else "noise",
        f"not a parameter of the {sensor_type} model; its parameters: {', '.join(names)}",
    )
    values = {name: _convert(name, hints[name], value) for name, value in params.items()}
    return cls(**values)


def noise_config_to_mapping(config: SensorNoiseConfig) -> dict[str, Any]:
    """Every parameter of `config` as plain values (tuples as lists), for YAML/JSON manifests.

    `noise_config_from_mapping(config.sensor_type, noise_config_to_mapping(config)) == config`.
    """
    require(
        isinstance(config, tuple(_CONFIG_CLASSES.values())),
        "noise",
        f"must be a sensor noise config, got {type(config).__name__}",
    )
    return {
        field.name: list(value) if isinstance(value, tuple) else value
        for field in dataclasses.fields(config)
        for value in (getattr(config, field.name),)
    }


# ----------------------------------------------------------------------------- shared parts
def stereo_depth_rms(
    depth: np.ndarray | float, fx: float, config: ActiveStereoNoiseConfig
) -> np.ndarray:
    """Depth RMS error (m) of the stereo model at z-depth `depth` (m): z^2 s / (fx b)."""
    z = np.asarray(depth, dtype=np.float64)
    return z**2 * config.subpixel_rms / (fx * abs(config.baseline))


def tof_random_sigma(depth: np.ndarray | float, config: TimeOfFlightNoiseConfig) -> np.ndarray:
    """Standard deviation (m) of the time-of-flight random error at z-depth `depth` (m)."""
    z = np.asarray(depth, dtype=np.float64)
    return config.random_sigma_base + config.random_sigma_slope * z


def random_hole_mask(
    shape: tuple[int, int],
    fraction: float,
    radius_px: tuple[float, float],
    rng: np.random.Generator,
) -> np.ndarray:
    """(H, W) bool: random disks covering about `fraction` of the image (before overlaps).

    The disk count is Poisson with mean fraction * H * W / (pi E[r^2]), radii uniform in
    `radius_px`, centres uniform over the image.
    """
    height, width = shape
    mask = np.zeros(shape, dtype=bool)
    low, high = radius_px
    mean_area = math.pi * (low * low + low * high + high * high) / 3.0
    count = int(rng.poisson(fraction * height * width / mean_area))
    if count == 0:
        return mask
    rows = rng.uniform(0, height, count)
    cols = rng.uniform(0, width, count)
    radii = rng.uniform(low, high, count)
    reach = math.ceil(high)
    dy, dx = np.mgrid[-reach : reach + 1, -reach : reach + 1]
    pixel_rows = np.floor(rows).astype(int)[:, None, None] + dy
    pixel_cols = np.floor(cols).astype(int)[:, None, None] + dx
    inside = (pixel_rows + 0.5 - rows[:, None, None]) ** 2 + (
        pixel_cols + 0.5 - cols[:, None, None]
    ) ** 2 <= radii[:, None, None] ** 2
    inside &= (pixel_rows >= 0) & (pixel_rows < height) & (pixel_cols >= 0) & (pixel_cols < width)
    mask[pixel_rows[inside], pixel_cols[inside]] = True
    return mask


def _window_min(depth: np.ndarray, valid: np.ndarray, radius: int) -> np.ndarray:
    """(H, W) float32: smallest valid depth in the (2 radius + 1)^2 window (inf: none)."""
    kernel = np.ones((2 * radius + 1, 2 * radius + 1), dtype=np.uint8)
    far = np.where(valid, depth, np.inf).astype(np.float32)
    return cv2.erode(far, kernel, borderType=cv2.BORDER_REPLICATE)


def _window_max(depth: np.ndarray, radius: int) -> np.ndarray:
    """(H, W) float32: largest depth in the (2 radius + 1)^2 window (0: no valid pixel)."""
    kernel = np.ones((2 * radius + 1, 2 * radius + 1), dtype=np.uint8)
    return cv2.dilate(depth.astype(np.float32), kernel, borderType=cv2.BORDER_REPLICATE)


def _neighbourhood_extremes(
    depth: np.ndarray, valid: np.ndarray, rows: np.ndarray, cols: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Smallest and largest valid depth in the 3x3 window of each pixel (rows, cols)."""
    height, width = depth.shape
    low = np.full(rows.size, np.inf)
    high = np.zeros(rows.size)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            r = np.clip(rows + dy, 0, height - 1)
            c = np.clip(cols + dx, 0, width - 1)
            value, ok = depth[r, c], valid[r, c]
            low = np.where(ok, np.minimum(low, value), low)
            high = np.where(ok, np.maximum(high, value), high)
    return low, high


def _depth_jumps(
    depth: np.ndarray, valid: np.ndarray, threshold: float
) -> tuple[np.ndarray, np.ndarray]:
    """(near side, far side), (H, W) bool: valid pixels with a valid 4-neighbour farther
    (near side) or nearer (far side) by more than `threshold` metres."""
    near_side = np.zeros(depth.shape, dtype=bool)
    far_side = np.zeros(depth.shape, dtype=bool)
    for lead, trail in (
        ((slice(None, -1), slice(None)), (slice(1, None), slice(None))),  # down the columns
        ((slice(None), slice(None, -1)), (slice(None), slice(1, None))),  # along the rows
    ):
        step = depth[trail] - depth[lead]
        both = valid[lead] & valid[trail]
        rising = both & (step > threshold)  # the trailing pixel is farther
        falling = both & (step < -threshold)  # the trailing pixel is nearer
        near_side[lead] |= rising
        far_side[trail] |= rising
        far_side[lead] |= falling
        near_side[trail] |= falling
    return near_side, far_side


def _correlated_noise(shape: tuple[int, int], sigma_px: float, rng: np.random.Generator):
    """(H, W) float32 Gaussian noise of unit variance, correlated by a Gaussian kernel (px)."""
    pad = max(1, math.ceil(3 * sigma_px))
    white = rng.standard_normal((shape[0] + 2 * pad, shape[1] + 2 * pad), dtype=np.float32)
    kernel = cv2.getGaussianKernel(2 * pad + 1, sigma_px, cv2.CV_32F)
    smooth = cv2.sepFilter2D(white, -1, kernel, kernel, borderType=cv2.BORDER_CONSTANT)
    # Only pixels with the whole kernel inside the padded noise are kept: each is a weighted
    # sum of independent unit normals, of variance (sum of the 1-D weights squared)^2.
    smooth = smooth[pad:-pad, pad:-pad]
    return smooth / np.float32(np.sum(kernel.astype(np.float64) ** 2))


def _range_limit(depth: np.ndarray, config: Any) -> None:
    depth[(depth < config.min_range) | (depth > config.max_range)] = 0.0


# ----------------------------------------------------------------------------- models
def _apply_active_stereo(
    clean: np.ndarray,
    intrinsics: CameraIntrinsics,
    config: ActiveStereoNoiseConfig,
    rng: np.random.Generator,
) -> np.ndarray:
    valid = clean > 0
    noisy = clean.astype(np.float32)  # float32 holds depth to < 1 um and disparity to 1/4096 px

    # 1. Flying pixels: a mixed depth between the nearest and farthest surface in the window.
    if config.flying_pixel_width_px > 0 and config.flying_pixel_probability > 0:
        radius = config.flying_pixel_width_px
        local_min, local_max = _window_min(clean, valid, radius), _window_max(clean, radius)
        band = valid & (local_max - local_min > config.edge_jump_threshold)
        rows, cols = np.nonzero(band)
        mixed = rng.random(rows.size) < config.flying_pixel_probability
        rows, cols = rows[mixed], cols[mixed]
        weight = rng.random(rows.size)
        low = local_min[rows, cols].astype(np.float64)
        high = local_max[rows, cols].astype(np.float64)
        noisy[rows, cols] = low + weight * (high - low)

    # 2. Disparity noise, white plus spatially correlated, and 3. quantization.
    scale = intrinsics.fx * abs(config.baseline)
    disparity = np.zeros_like(noisy)
    np.divide(np.float32(scale), noisy, out=disparity, where=valid)
    if config.subpixel_rms > 0:
        share = config.speckle_fraction
        error = rng.standard_normal(clean.shape, dtype=np.float32)
        if share > 0:
            error *= np.float32(math.sqrt(1.0 - share))
            correlated = _correlated_noise(clean.shape, config.speckle_correlation_px, rng)
            correlated *= np.float32(math.sqrt(share))
            error += correlated
        error *= np.float32(config.subpixel_rms)
        disparity += error
    steps = config.disparity_subpixel_steps
    if steps:
        disparity *= np.float32(steps)
        np.round(disparity, out=disparity)
        disparity /= np.float32(steps)
    noisy = np.zeros_like(disparity)
    np.divide(np.float32(scale), disparity, out=noisy, where=valid & (disparity > 0))

    # 4. Occlusion holes and 5. the invalid band, from the clean scene's geometry.
    if config.occlusion:
        noisy[projector_shadow_mask(clean, intrinsics, config.baseline)] = 0.0
    if config.invalid_band:
        # Column u at depth z maps to column u -/+ fx b / z of the second imager; only the first
        # max(fx b / z) columns on the -x side (+x for a negative baseline) can fall outside.
        nearest = clean[valid].min() if valid.any() else 0.0
        span = min(intrinsics.width, math.ceil(scale / nearest) + 1) if nearest > 0 else 0
        mirrored = config.baseline < 0
        strip = clean[:, ::-1][:, :span] if mirrored else clean[:, :span]
        disparity_strip = np.divide(scale, strip, out=np.zeros_like(strip), where=strip > 0)
        outside = (np.arange(span)[None, :] - disparity_strip < -0.5) & (strip > 0)
        target = noisy[:, ::-1][:, :span] if mirrored else noisy[:, :span]
        target[outside] = 0.0

    # 6. Random holes and the range limits.
    if config.hole_fraction > 0:
        noisy[random_hole_mask(clean.shape, config.hole_fraction, config.hole_radius_px, rng)] = 0
    _range_limit(noisy, config)
    return noisy


def _apply_time_of_flight(
    clean: np.ndarray,
    config: TimeOfFlightNoiseConfig,
    rng: np.random.Generator,
) -> np.ndarray:
    valid = clean > 0
    noisy = clean.copy()
    threshold = config.edge_jump_threshold
    near_side, far_side = _depth_jumps(clean, valid, threshold)

    # 1. Multipath: far surfaces beside a nearer one read too far, fading with pixel distance.
    if config.multipath_bias > 0 and far_side.any():
        reach = math.ceil(5 * config.multipath_width_px)
        distance = cv2.distanceTransform((~far_side).astype(np.uint8), cv2.DIST_L2, 5)
        local_min = _window_min(clean, valid, reach)
        beside_nearer = valid & (distance <= reach) & (clean - local_min > threshold)
        noisy[beside_nearer] += config.multipath_bias * np.exp(
            -distance[beside_nearer].astype(np.float64) / config.multipath_width_px
        )

    # 2. Mixed pixels on depth edges: mostly flagged invalid, the rest between the surfaces.
    rows, cols = np.nonzero(near_side | far_side)
    if rows.size:
        invalid = rng.random(rows.size) < config.edge_invalid_probability
        weight = rng.random(rows.size)
        low, high = _neighbourhood_extremes(clean, valid, rows, cols)
        noisy[rows, cols] = np.where(invalid, 0.0, low + weight * (high - low))

    # 3. Random and 4. systematic error (float32 holds depth to < 1 um).
    sigma = tof_random_sigma(clean, config).astype(np.float32)
    error = rng.standard_normal(clean.shape, dtype=np.float32)
    error *= sigma
    measured = noisy.astype(np.float32)
    measured *= np.float32(1.0 + config.systematic_fraction)
    measured += np.float32(config.systematic_offset)
    measured += error
    measured[(noisy <= 0) | (measured <= 0)] = 0.0

    # 5. Low-reflectivity holes and the range limits.
    if config.hole_fraction > 0:
        holes = random_hole_mask(clean.shape, config.hole_fraction, config.hole_radius_px, rng)
        measured[holes] = 0.0
    _range_limit(measured, config)
    return measured


def apply_sensor_noise(
    depth: np.ndarray,
    intrinsics: CameraIntrinsics,
    config: SensorNoiseConfig,
    rng: np.random.Generator | int,
) -> np.ndarray:
    """Noisy (H, W) float32 depth in metres (0 = no data), as the sensor's driver publishes it.

    depth: (H, W) clean z-depth in metres; 0, NaN and inf are no data. intrinsics: the camera
    that took it. config: the sensor's noise config (its type picks the model). rng: an int seed
    or a numpy Generator (drawn from, so a shared Generator advances); the same seed gives the
    same noise. A structured-light config gives exactly `sensor_noise.apply_kinect_noise`.
    A disabled config gives the clean image (no range limits).
    """
    if isinstance(config, StructuredLightNoiseConfig):
        return apply_kinect_noise(depth, intrinsics, config, rng)
    require(
        isinstance(config, (ActiveStereoNoiseConfig, TimeOfFlightNoiseConfig)),
        "noise",
        f"must be a sensor noise config, got {type(config).__name__}",
    )
    clean = _check_depth(depth, intrinsics)
    if not config.enabled:
        return clean.astype(np.float32)
    generator = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    if isinstance(config, ActiveStereoNoiseConfig):
        return _apply_active_stereo(clean, intrinsics, config, generator)
    return _apply_time_of_flight(clean, config, generator)


# ----------------------------------------------------------------------------- published values
@dataclass(frozen=True)
class PublishedSensorParameters:
    """Noise parameters of one camera (for `noise_config_from_mapping`) and their sources."""

    sensor_type: str
    noise: Mapping[str, Any]
    sources: tuple[str, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "noise", types.MappingProxyType(dict(self.noise)))
        noise_config_from_mapping(self.sensor_type, self.noise)  # validates

    def config(self) -> SensorNoiseConfig:
        """The noise config these parameters give."""
        return noise_config_from_mapping(self.sensor_type, self.noise)


_INTEL_TUNING = (
    "Grunnet-Jepsen, Sweetser, Woodfill, 'Best-Known-Methods for Tuning Intel RealSense D400 "
    "Depth Cameras for Best Performance', Intel white paper, 2018: depth RMS error = "
    "z^2 * subpixel / (fx * baseline), subpixel ~0.08 px typical"
)
_INTEL_SUBPIXEL = (
    "Grunnet-Jepsen et al., 'Subpixel Linearity Improvement for Intel RealSense Depth Camera "
    "D400 Series', Intel white paper, 2019: disparity in 1/32 px steps"
)
_INTEL_DATASHEET = (
    "Intel RealSense D400 Series Product Family Datasheet, document 337029: baselines "
    "(D415 55 mm, D435 50 mm, D455 95 mm), Min-Z at max resolution (D415 ~45 cm, D435 ~28 cm, "
    "D455 ~52 cm), range ~10 m, invalid depth band. Min-Z is a fixed disparity search range in "
    "pixels, so it scales with the image width: the D435 and D455 entries are for 848x480 "
    "(28 cm and 52 cm x 848 / 1280)"
)

# Camera name -> sensor type, noise parameters, sources, for the image sizes of the profiles
# under config/cameras (RealSense D415 1280x720, D435 and D455 848x480). Parameters not listed
# keep the type's defaults. Where no figure is published (edge, hole, speckle and multipath
# parameters) the values are chosen to give the described artefacts at a plausible size.
PUBLISHED_SENSOR_PARAMETERS: Mapping[str, PublishedSensorParameters] = types.MappingProxyType(
    {
        "kinect_v1": PublishedSensorParameters(
            "structured_light",
            {
                "axial_sigma_base": 1.2e-3,
                "axial_sigma_quadratic": 1.9e-3,
                "axial_sigma_reference_depth": 0.4,
                "projector_baseline": 0.075,
                "disparity_subpixel_steps": 8,
                "lateral_sigma_px": 0.8,
                "edge_jump_threshold": 0.01,
                "edge_dropout_probability": 0.3,
                "shadows": True,
                "holes_per_megapixel": 40.0,
                "hole_radius_px": [1.0, 3.0],
                "min_range": 0.4,
                "max_range": 4.0,
            },
            (
                "Nguyen, Izadi, Lovell, 'Modeling Kinect Sensor Noise for Improved 3D "
                "Reconstruction and Tracking', 3DIMPVT 2012: sigma_z = 1.2 mm + 1.9 mm/m^2 "
                "(z - 0.4 m)^2, lateral ~0.8 px",
                "Khoshelham, Oude Elberink, 'Accuracy and Resolution of Kinect Depth Data for "
                "Indoor Mapping Applications', Sensors 12(2), 2012: about 7.5 cm baseline",
            ),
        ),
        "realsense_d415": PublishedSensorParameters(
            "active_stereo",
            {
                "baseline": 0.055,
                "subpixel_rms": 0.08,
                "disparity_subpixel_steps": 32,
                "min_range": 0.45,
                "max_range": 10.0,
            },
            (_INTEL_TUNING, _INTEL_SUBPIXEL, _INTEL_DATASHEET),
        ),
        "realsense_d435": PublishedSensorParameters(
            "active_stereo",
            {
                "baseline": 0.050,
                "subpixel_rms": 0.08,
                "disparity_subpixel_steps": 32,
                "min_range": 0.19,
                "max_range": 10.0,
            },
            (_INTEL_TUNING, _INTEL_SUBPIXEL, _INTEL_DATASHEET),
        ),
        "realsense_d455": PublishedSensorParameters(
            "active_stereo",
            {
                "baseline": 0.095,
                "subpixel_rms": 0.08,
                "disparity_subpixel_steps": 32,
                "min_range": 0.34,
                "max_range": 10.0,
            },
            (_INTEL_TUNING, _INTEL_SUBPIXEL, _INTEL_DATASHEET),
        ),
        "azure_kinect_nfov": PublishedSensorParameters(
            "time_of_flight",
            {
                "random_sigma_base": 1.0e-3,
                "random_sigma_slope": 0.5e-3,
                "systematic_offset": 0.0,
                "systematic_fraction": 0.0,
                "multipath_bias": 0.006,
                "multipath_width_px": 2.0,
                "edge_invalid_probability": 0.8,
                "hole_fraction": 0.002,
                "min_range": 0.5,
                "max_range": 3.86,
            },
            (
                "Microsoft, 'Azure Kinect DK hardware specifications', 2019: random error "
                "std <= 17 mm, systematic error < 11 mm + 0.1 % of distance, NFOV unbinned "
                "640x576, 0.5-3.86 m",
                "Tölgyessy, Dekan, Chovanec, Hubinský, 'Evaluation of the Azure Kinect and Its "
                "Comparison to Kinect V1 and Kinect V2', Sensors 21(2):413, 2021: the "
                "specification confirmed up to 3.5 m; multipath and flying pixels",
            ),
        ),
        "zivid_like": PublishedSensorParameters(
            "structured_light",
            {
                "axial_sigma_base": 1.0e-4,
                "axial_sigma_quadratic": 2.0e-4,
                "axial_sigma_reference_depth": 0.7,
                "projector_baseline": 0.12,
                "disparity_subpixel_steps": 0,
                "lateral_sigma_px": 0.5,
                "edge_jump_threshold": 0.005,
                "edge_dropout_probability": 0.2,
                "shadows": True,
                "holes_per_megapixel": 5.0,
                "hole_radius_px": [1.0, 3.0],
                "min_range": 0.3,
                "max_range": 1.1,
            },
            (
                "Zivid 2 / 2+ M-series datasheets (M70, M60): phase-shifted structured light, "
                "sub-millimetre point precision at 0.5-1 m, working distance about 0.3-1.1 m; "
                "Zivid knowledge base, 'Camera Coordinate System': the projector lies along the "
                "camera's +x axis. The values (0.10 mm at 0.7 m, growing quadratically; "
                "baseline approximate) stand for a camera of that class, not one datasheet row",
            ),
        ),
    }
)
