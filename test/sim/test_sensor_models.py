"""Sensor noise models per type: published noise figures on planes, edge artefacts on the
expected side, ranges, seeds, YAML mappings, and the world's use of any sensor config."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest
import yaml

from gqstn_ros.camera_model import KINECT_V1, CameraIntrinsics
from gqstn_ros.sim.camera import DepthCamera
from gqstn_ros.sim.scene import Scene
from gqstn_ros.sim.sensor_models import (
    PUBLISHED_SENSOR_PARAMETERS,
    SENSOR_TYPES,
    ActiveStereoNoiseConfig,
    StructuredLightNoiseConfig,
    TimeOfFlightNoiseConfig,
    apply_sensor_noise,
    noise_config_from_mapping,
    noise_config_to_mapping,
    random_hole_mask,
    stereo_depth_rms,
    tof_random_sigma,
)
from gqstn_ros.sim.sensor_noise import apply_kinect_noise
from gqstn_ros.sim.world_config import KinectNoiseConfig, WorldConfig

CAMERA_PROFILES = Path(__file__).resolve().parents[2] / "config" / "cameras"


def _intrinsics(width: int, height: int, horizontal_fov_deg: float) -> CameraIntrinsics:
    """Square-pixel pinhole camera of the given width, height and horizontal field of view."""
    fx = (width / 2) / math.tan(math.radians(horizontal_fov_deg) / 2)
    return CameraIntrinsics(width, height, fx, fx, (width - 1) / 2, (height - 1) / 2)


# RealSense depth at the camera profiles' sizes (D415 1280x720, D435/D455 848x480); horizontal
# depth FOV from the D400 datasheet (D415 65 deg, D435/D455 87 deg). Azure Kinect NFOV unbinned
# is 640x576 (its lens is not a pinhole: the time-of-flight model does not use the focal length).
D415 = _intrinsics(1280, 720, 65.0)
D4X5_WIDE = _intrinsics(848, 480, 87.0)
AZURE_NFOV = _intrinsics(640, 576, 65.0)

# Only the axial noise of the structured-light model.
SL_AXIAL_ONLY = StructuredLightNoiseConfig(
    disparity_subpixel_steps=0,
    edge_dropout_probability=0.0,
    lateral_sigma_px=0.0,
    shadows=False,
    holes_per_megapixel=0.0,
)
# Stereo geometry only: no disparity noise, quantization, holes or flying pixels.
STEREO_GEOMETRY = ActiveStereoNoiseConfig(
    subpixel_rms=0.0,
    disparity_subpixel_steps=0,
    flying_pixel_probability=0.0,
    hole_fraction=0.0,
)


def _plane(intrinsics: CameraIntrinsics, depth: float) -> np.ndarray:
    return np.full((intrinsics.height, intrinsics.width), depth, dtype=np.float32)


def _block(intrinsics: CameraIntrinsics, rows: slice, cols: slice) -> np.ndarray:
    """Table at 0.7 m with a block whose top is at 0.6 m over rows x cols."""
    image = _plane(intrinsics, 0.7)
    image[rows, cols] = 0.6
    return image


# ----------------------------------------------------------------------------- structured light
def test_structured_light_is_the_kinect_model_exactly(clutter_scene: Scene) -> None:
    assert StructuredLightNoiseConfig is KinectNoiseConfig
    assert KinectNoiseConfig().sensor_type == "structured_light"
    frame = DepthCamera(clutter_scene, backend="raycast").render()
    config = KinectNoiseConfig()
    for seed in (0, 7):
        expected = apply_kinect_noise(frame.depth, KINECT_V1, config, seed)
        assert np.array_equal(apply_sensor_noise(frame.depth, KINECT_V1, config, seed), expected)
    # A shared Generator is drawn from identically, so later draws stay in step.
    ours, theirs = np.random.default_rng(3), np.random.default_rng(3)
    for _ in range(2):
        assert np.array_equal(
            apply_sensor_noise(frame.depth, KINECT_V1, config, ours),
            apply_kinect_noise(frame.depth, KINECT_V1, config, theirs),
        )
    assert ours.random() == theirs.random()


@pytest.mark.parametrize("depth", [0.7, 1.5, 3.0])
def test_structured_light_plane_noise_matches_nguyen_2012(depth: float) -> None:
    # Nguyen, Izadi, Lovell 2012: sigma_z = 1.2 mm + 1.9 mm/m^2 (z - 0.4 m)^2.
    published = 1.2e-3 + 1.9e-3 * (depth - 0.4) ** 2
    noisy = apply_sensor_noise(_plane(KINECT_V1, depth), KINECT_V1, SL_AXIAL_ONLY, 11)
    error = noisy[noisy > 0].astype(np.float64) - depth
    assert error.size == KINECT_V1.width * KINECT_V1.height
    assert error.std() == pytest.approx(published, rel=0.02)
    assert abs(error.mean()) < 0.02 * published


def test_zivid_like_is_sub_millimetre_at_half_a_metre_to_a_metre() -> None:
    config = PUBLISHED_SENSOR_PARAMETERS["zivid_like"].config()
    assert config.sensor_type == "structured_light"
    camera = _intrinsics(1944, 1200, 60.0)
    for depth in (0.5, 0.7, 1.0):
        noisy = apply_sensor_noise(_plane(camera, depth), camera, config, 1)
        error = noisy[noisy > 0].astype(np.float64) - depth
        assert error.std() < 0.2e-3
        assert np.mean(noisy > 0) > 0.99


# ----------------------------------------------------------------------------- active stereo
@pytest.mark.parametrize(
    ("camera", "intrinsics", "depths"),
    [
        ("realsense_d415", D415, (0.5, 1.0, 2.0, 4.0)),
        ("realsense_d435", D4X5_WIDE, (0.3, 1.0, 2.0)),
        ("realsense_d455", D4X5_WIDE, (0.6, 2.0, 4.0)),
    ],
)
def test_stereo_plane_rms_matches_intels_formula(
    camera: str, intrinsics: CameraIntrinsics, depths: tuple[float, ...]
) -> None:
    # Intel (Grunnet-Jepsen et al. 2018): RMS = z^2 * subpixel / (fx * baseline), subpixel
    # 0.08 px; baselines from the D400 datasheet.
    baseline = {"realsense_d415": 0.055, "realsense_d435": 0.050, "realsense_d455": 0.095}[camera]
    config = PUBLISHED_SENSOR_PARAMETERS[camera].config()
    assert isinstance(config, ActiveStereoNoiseConfig) and config.baseline == baseline
    for depth in depths:
        published = depth**2 * 0.08 / (intrinsics.fx * baseline)
        assert float(stereo_depth_rms(depth, intrinsics.fx, config)) == pytest.approx(published)
        noisy = apply_sensor_noise(_plane(intrinsics, depth), intrinsics, config, 5)
        error = noisy[noisy > 0].astype(np.float64) - depth
        # Spatially correlated noise, 1/32 px quantization and 1/d nonlinearity: within 3 %.
        assert error.std() == pytest.approx(published, rel=0.03)
        assert abs(error.mean()) < 0.05 * published
        assert np.mean(noisy > 0) > 0.8


def test_stereo_noise_is_spatially_correlated_and_quantized() -> None:
    depth = 1.0
    config = ActiveStereoNoiseConfig(hole_fraction=0.0, invalid_band=False)
    noisy = apply_sensor_noise(_plane(D415, depth), D415, config, 2).astype(np.float64)
    error = noisy - depth
    neighbour_correlation = np.corrcoef(error[:, :-1].ravel(), error[:, 1:].ravel())[0, 1]
    assert neighbour_correlation > 0.25  # speckle: half the variance correlated over ~1.5 px
    white = dataclasses.replace(config, speckle_fraction=0.0)
    error = apply_sensor_noise(_plane(D415, depth), D415, white, 2).astype(np.float64) - depth
    assert abs(np.corrcoef(error[:, :-1].ravel(), error[:, 1:].ravel())[0, 1]) < 0.02
    # Disparity fx b / z comes in 1/32 px steps.
    units = D415.fx * config.baseline / noisy * 32
    assert np.abs(units - np.round(units)).max() < 2e-3


def test_stereo_flying_pixels_lie_between_the_surfaces_beside_edges() -> None:
    rows, cols = slice(200, 400), slice(500, 700)
    clean = _block(D415, rows, cols)
    config = dataclasses.replace(
        STEREO_GEOMETRY, occlusion=False, invalid_band=False, flying_pixel_probability=1.0
    )
    noisy = apply_sensor_noise(clean, D415, config, 4).astype(np.float64)
    # The band: pixels whose 5x5 window (flying_pixel_width_px = 2) holds both surfaces.
    v, u = np.mgrid[0 : D415.height, 0 : D415.width]
    inside_grown = (v >= 198) & (v < 402) & (u >= 498) & (u < 702)
    inside_shrunk = (v >= 202) & (v < 398) & (u >= 502) & (u < 698)
    band = inside_grown & ~inside_shrunk
    changed = np.abs(noisy - clean) > 1e-5
    assert not np.any(changed & ~band)
    between = (noisy > 0.605) & (noisy < 0.695)
    assert np.mean(between[band]) > 0.85
    assert np.all((noisy[band] >= 0.6 - 1e-6) & (noisy[band] <= 0.7 + 1e-6))
    # At the default probability about 30 % of the band is mixed.
    config = dataclasses.replace(config, flying_pixel_probability=0.3)
    noisy = apply_sensor_noise(clean, D415, config, 4).astype(np.float64)
    assert np.mean(np.abs(noisy - clean)[band] > 1e-5) == pytest.approx(0.3, abs=0.05)


def test_stereo_occlusion_holes_lie_beside_nearer_objects_on_the_baseline_side() -> None:
    rows, cols = slice(200, 400), slice(500, 700)
    clean = _block(D415, rows, cols)
    width = D415.fx * 0.055 * (1 / 0.6 - 1 / 0.7)  # disparity difference, px (~22)
    noisy = apply_sensor_noise(clean, D415, dataclasses.replace(STEREO_GEOMETRY), 0)
    holes = (noisy == 0) & (np.arange(D415.width)[None, :] > 200)  # beyond the invalid band
    hole_rows, hole_cols = np.nonzero(holes)
    # Second imager at +x: the band the right imager cannot see is left of the block.
    assert set(np.unique(hole_rows)) == set(range(200, 400))
    assert hole_cols.max() == 499
    assert 499 - hole_cols.min() + 1 == pytest.approx(width, abs=1.0)
    # Second imager at -x: the band moves to the right of the block.
    mirrored = dataclasses.replace(STEREO_GEOMETRY, baseline=-0.055)
    noisy = apply_sensor_noise(clean, D415, mirrored, 0)
    hole_cols = np.nonzero((noisy == 0) & (np.arange(D415.width)[None, :] < 1000))[1]
    assert hole_cols.min() == 700
    assert hole_cols.max() - 700 + 1 == pytest.approx(width, abs=1.0)


def test_stereo_invalid_band_is_fx_b_over_z_wide_on_the_left() -> None:
    for depth in (0.7, 1.4):
        noisy = apply_sensor_noise(_plane(D415, depth), D415, STEREO_GEOMETRY, 0)
        width = D415.fx * 0.055 / depth
        empty_columns = np.nonzero(np.all(noisy == 0, axis=0))[0]
        assert empty_columns.min() == 0
        assert empty_columns.size == pytest.approx(width, abs=1.0)
        assert np.all(empty_columns == np.arange(empty_columns.size))
        assert np.all(noisy[:, empty_columns.size :] > 0)


def test_stereo_holes_cover_the_configured_fraction() -> None:
    mask = random_hole_mask((2000, 2000), 0.02, (2.0, 6.0), np.random.default_rng(0))
    assert mask.mean() == pytest.approx(0.02, rel=0.1)
    config = dataclasses.replace(STEREO_GEOMETRY, invalid_band=False, hole_fraction=0.01)
    noisy = apply_sensor_noise(_plane(D415, 1.0), D415, config, 9)
    assert np.mean(noisy == 0) == pytest.approx(0.01, rel=0.3)


# ----------------------------------------------------------------------------- time of flight
@pytest.mark.parametrize("depth", [0.6, 1.5, 2.5, 3.5])
def test_tof_plane_noise_is_within_microsofts_published_bounds(depth: float) -> None:
    config = PUBLISHED_SENSOR_PARAMETERS["azure_kinect_nfov"].config()
    assert config == TimeOfFlightNoiseConfig()
    noisy = apply_sensor_noise(_plane(AZURE_NFOV, depth), AZURE_NFOV, config, 6)
    error = noisy[noisy > 0].astype(np.float64) - depth
    # Azure Kinect DK hardware specification: random error std <= 17 mm, systematic error
    # < 11 mm + 0.1 % of the distance.
    assert error.std() <= 17e-3
    assert abs(error.mean()) < 11e-3 + 0.001 * depth
    assert error.std() == pytest.approx(float(tof_random_sigma(depth, config)), rel=0.03)
    # A device at the edge of the systematic bound: the mean error follows it.
    biased = dataclasses.replace(config, systematic_offset=0.010, systematic_fraction=0.0009)
    noisy = apply_sensor_noise(_plane(AZURE_NFOV, depth), AZURE_NFOV, biased, 6)
    error = noisy[noisy > 0].astype(np.float64) - depth
    assert error.mean() == pytest.approx(0.010 + 0.0009 * depth, abs=0.2e-3)
    assert error.mean() < 11e-3 + 0.001 * depth


def test_tof_multipath_pushes_the_table_beside_an_object_away() -> None:
    rows, cols = slice(200, 280), slice(300, 360)
    clean = _block(AZURE_NFOV, rows, cols)
    config = TimeOfFlightNoiseConfig(
        random_sigma_base=0.0, random_sigma_slope=0.0, edge_invalid_probability=0.0, hole_fraction=0
    )
    noisy = apply_sensor_noise(clean, AZURE_NFOV, config, 0).astype(np.float64)
    bias = noisy - clean
    # Table left of the block: the far side of the edge is column 299; the bias fades with
    # the pixel distance d as 6 mm * exp(-d / 2 px), smooth and positive.
    for col in (297, 295, 293):
        expected = 0.006 * math.exp(-(299 - col) / 2.0)
        assert np.allclose(bias[210:270, col], expected, atol=1e-6)
    assert np.all(np.diff(bias[240, 289:299]) > 0)  # growing towards the object
    assert np.allclose(bias[240, :289], 0.0, atol=1e-6)  # beyond 5 widths (10 px): none
    for row in (197, 282):  # above and below the block too (2 px from the edge)
        assert np.allclose(bias[row, 310:350], 0.006 * math.exp(-1.0), atol=1e-6)
    # The block's top (the near surface) keeps its depth.
    assert np.allclose(bias[202:278, 302:358], 0.0, atol=1e-6)


def test_tof_mixed_pixels_on_edges_are_mostly_invalidated() -> None:
    rows, cols = slice(200, 280), slice(300, 360)
    clean = _block(AZURE_NFOV, rows, cols)
    config = TimeOfFlightNoiseConfig(random_sigma_base=0.0, random_sigma_slope=0.0, hole_fraction=0)
    noisy = apply_sensor_noise(clean, AZURE_NFOV, config, 1).astype(np.float64)
    v, u = np.mgrid[0 : AZURE_NFOV.height, 0 : AZURE_NFOV.width]
    grown = (v >= 199) & (v < 281) & (u >= 299) & (u < 361)
    shrunk = (v >= 201) & (v < 279) & (u >= 301) & (u < 359)
    corners = ((v == 199) | (v == 280)) & ((u == 299) | (u == 360))  # diagonal: no 4-jump
    edges = grown & ~shrunk & ~corners
    assert np.mean(noisy[edges] == 0) == pytest.approx(0.8, abs=0.06)
    assert np.all(noisy[~edges] > 0)
    kept = noisy[edges & (noisy > 0)]
    assert np.all((kept >= 0.6 - 1e-6) & (kept <= 0.7 + 0.006 + 1e-6))


# ----------------------------------------------------------------------------- all types
ALL_CONFIGS = [
    (KinectNoiseConfig(), KINECT_V1),
    (ActiveStereoNoiseConfig(), D415),
    (TimeOfFlightNoiseConfig(), AZURE_NFOV),
]


@pytest.mark.parametrize(("config", "intrinsics"), ALL_CONFIGS)
def test_ranges_invalid_inputs_and_seeds(
    config: KinectNoiseConfig | ActiveStereoNoiseConfig | TimeOfFlightNoiseConfig,
    intrinsics: CameraIntrinsics,
) -> None:
    clean = _plane(intrinsics, 1.0)
    right = intrinsics.width // 2  # away from the stereo invalid band
    # Strips 20 rows high, 10 rows apart: too near, too far, NaN, inf. Their 3-row borders may
    # hold mixed (edge) depths; their cores must be empty.
    for index, value in enumerate((config.min_range * 0.9, config.max_range * 1.1, np.nan, np.inf)):
        clean[30 * index : 30 * index + 20, right:] = value
    noisy = apply_sensor_noise(clean, intrinsics, config, 3)
    assert noisy.dtype == np.float32 and noisy.shape == clean.shape
    for index in range(4):
        assert np.all(noisy[30 * index + 3 : 30 * index + 17, right + 3 :] == 0)
    assert np.mean(noisy[150:, right:] > 0) > 0.95
    assert np.array_equal(noisy, apply_sensor_noise(clean, intrinsics, config, 3))
    assert np.array_equal(
        noisy, apply_sensor_noise(clean, intrinsics, config, np.random.default_rng(3))
    )
    assert not np.array_equal(noisy, apply_sensor_noise(clean, intrinsics, config, 4))
    disabled = dataclasses.replace(config, enabled=False)
    plain = apply_sensor_noise(clean, intrinsics, disabled, 3)
    assert np.array_equal(plain[:60], clean[:60]) and np.array_equal(plain[150:], clean[150:])
    assert np.all(plain[60:80, right:] == 0) and np.all(plain[90:110, right:] == 0)
    with pytest.raises(ValueError, match=f"camera is {intrinsics.width}x{intrinsics.height}"):
        apply_sensor_noise(np.zeros((10, 10)), intrinsics, config, 0)


def test_sensor_types_and_mapping_round_trips() -> None:
    configs = [config for config, _ in ALL_CONFIGS]
    assert tuple(config.sensor_type for config in configs) == SENSOR_TYPES
    assert set(PUBLISHED_SENSOR_PARAMETERS) == {
        "kinect_v1",
        "realsense_d415",
        "realsense_d435",
        "realsense_d455",
        "azure_kinect_nfov",
        "zivid_like",
    }
    assert PUBLISHED_SENSOR_PARAMETERS["kinect_v1"].config() == KinectNoiseConfig()
    configs += [entry.config() for entry in PUBLISHED_SENSOR_PARAMETERS.values()]
    configs.append(ActiveStereoNoiseConfig(hole_radius_px=(1.0, 2.5), occlusion=False))
    for config in configs:
        mapping = noise_config_to_mapping(config)
        assert noise_config_from_mapping(config.sensor_type, mapping) == config
        # Through YAML text: tuples are written as lists and read back as tuples.
        loaded = yaml.safe_load(yaml.safe_dump({"sensor": config.sensor_type, "noise": mapping}))
        assert noise_config_from_mapping(loaded["sensor"], loaded["noise"]) == config
    partial = noise_config_from_mapping("active_stereo", {"baseline": 0.095, "min_range": 1})
    assert partial == ActiveStereoNoiseConfig(baseline=0.095, min_range=1.0)
    assert isinstance(partial.min_range, float)
    assert noise_config_from_mapping("time_of_flight", {}) == TimeOfFlightNoiseConfig()


@pytest.mark.parametrize(
    ("sensor", "params", "field"),
    [
        ("lidar", {}, "sensor"),
        (None, {}, "sensor"),
        ("active_stereo", ["baseline"], "noise"),
        ("active_stereo", {"projector_baseline": 0.05}, "noise.projector_baseline"),
        ("structured_light", {"axial_sigma_base": -1}, "noise.axial_sigma_base"),
        ("structured_light", {"axial_sigma_base": "1e-3"}, "noise.axial_sigma_base"),
        ("structured_light", {"shadows": "yes"}, "noise.shadows"),
        ("structured_light", {"disparity_subpixel_steps": 8.5}, "noise.disparity_subpixel_steps"),
        ("structured_light", {"hole_radius_px": [1.0]}, "noise.hole_radius_px"),
        ("active_stereo", {"baseline": True}, "noise.baseline"),
        ("active_stereo", {"baseline": 0.0}, "noise.baseline"),
        ("active_stereo", {"subpixel_rms": -0.1}, "noise.subpixel_rms"),
        ("active_stereo", {"speckle_fraction": 1.5}, "noise.speckle_fraction"),
        ("active_stereo", {"flying_pixel_width_px": -1}, "noise.flying_pixel_width_px"),
        ("active_stereo", {"hole_radius_px": [3.0, 1.0]}, "noise.hole_radius_px"),
        ("active_stereo", {"min_range": 2.0, "max_range": 1.0}, "noise.max_range"),
        ("time_of_flight", {"random_sigma_base": float("nan")}, "noise.random_sigma_base"),
        ("time_of_flight", {"multipath_width_px": 0}, "noise.multipath_width_px"),
        ("time_of_flight", {"edge_invalid_probability": 2}, "noise.edge_invalid_probability"),
        ("time_of_flight", {"systematic_fraction": 1.0}, "noise.systematic_fraction"),
        ("time_of_flight", {"max_range": float("inf")}, "noise.max_range"),
    ],
)
def test_bad_mappings_raise_value_errors_naming_the_field(
    sensor: str, params: object, field: str
) -> None:
    with pytest.raises(ValueError, match=rf"^{field}: "):
        noise_config_from_mapping(sensor, params)  # type: ignore[arg-type]


def test_the_world_takes_any_sensor_config() -> None:
    for config, _ in ALL_CONFIGS:
        assert WorldConfig(noise=config).noise is config
    assert isinstance(WorldConfig().noise, KinectNoiseConfig)
    with pytest.raises(ValueError, match=r"^noise: "):
        WorldConfig(noise={"baseline": 0.05})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"^noise: "):
        apply_sensor_noise(_plane(KINECT_V1, 1.0), KINECT_V1, object(), 0)  # type: ignore[arg-type]


def test_every_camera_profile_loads_its_noise_block() -> None:
    paths = sorted(CAMERA_PROFILES.glob("*.yaml"))
    assert len(paths) >= 6
    for path in paths:
        profile = yaml.safe_load(path.read_text())
        config = noise_config_from_mapping(profile["sensor"], profile["noise"])
        assert config.sensor_type == profile["sensor"]
        if path.stem in PUBLISHED_SENSOR_PARAMETERS:
            assert config == PUBLISHED_SENSOR_PARAMETERS[path.stem].config(), path.name
        # The sensor sees a table at the middle of its mounting range through its intrinsics.
        intrinsics = CameraIntrinsics(**profile["intrinsics"])
        height = float(np.mean(profile["mounting"]["height_range"]))
        noisy = apply_sensor_noise(_plane(intrinsics, height), intrinsics, config, 0)
        assert np.mean(noisy > 0) > 0.8, path.name
