"""Camera and gripper profiles: plain YAML files under config/cameras and config/grippers.

A profile is data, not code: adding a camera or a gripper is one file. The generator, the label,
the simulated lift, the simulated world and the nodes take a profile by name (the file's stem,
e.g. ``realsense_d415``) or by path.

Camera profile (lengths in metres, angles in radians)::

    name: realsense_d415            # must equal the file's stem
    description: Intel RealSense D415, 1280x720 depth
    sensor: active_stereo           # one of gqstn_ros.sim.sensor_models.SENSOR_TYPES
    intrinsics: {width: 1280, height: 720, fx: 1000.0, fy: 1000.0, cx: 639.5, cy: 359.5}
    mounting:
      height_range: [0.45, 0.90]    # camera height above the table top
      tilt_max: 0.10                # largest tilt of the optical axis from vertical, per axis
    noise: {...}                    # that sensor type's noise parameters (sensor_models)

Gripper profile: the fields of `gqstn_ros.gripper.GripperConfig` (``name``, ``max_width``,
``min_width``, ``finger_width``, ``finger_thickness``, ``finger_depth``, ``min_grip_force``,
``max_grip_force``, ``grip_force``, ``pad_friction``) plus an optional ``description``.

Every loader raises `ProfileError` (a ValueError) naming the file and the field before any work
is done: a missing or unknown field, a wrong type, an impossible value (a negative focal length,
a stroke below the finger thickness, a mounting whose tilt sees no table or whose table lies
outside the sensor's range).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import yaml

from gqstn_ros.camera_model import CameraIntrinsics
from gqstn_ros.gripper import GripperConfig
from gqstn_ros.package_data import data_dir

PACKAGE_NAME = "gqstn_ros"
REPO_CONFIG_DIR = Path(__file__).resolve().parents[2] / "config"
CAMERA_PROFILE_DIR = "cameras"
GRIPPER_PROFILE_DIR = "grippers"
DEFAULT_CAMERA_PROFILE = "kinect_v1"
DEFAULT_GRIPPER_PROFILE = "robotiq_2f85"
# Half the shorter side of the smallest table the simulated world uses (m): a camera at its
# highest and most tilted must still aim at a point this close to the spot below it.
TABLE_HALF_EXTENT = 0.4
# Height (m) of the tallest objects the world stands on the table: at the lowest mounting their
# tops must still be within the sensor's range.
OBJECT_HEADROOM = 0.10

_CAMERA_KEYS = ("name", "description", "sensor", "intrinsics", "mounting", "noise")
_INTRINSICS_KEYS = ("width", "height", "fx", "fy", "cx", "cy")
_MOUNTING_KEYS = ("height_range", "tilt_max")


class ProfileError(ValueError):
    """A profile that cannot be used; the message names the file and the field."""


@dataclass(frozen=True)
class CameraProfile:
    """A depth camera: image geometry, how it may be mounted above the table, its noise.

    height_range: (low, high) camera height above the table top (m).
    tilt_max: largest rotation of the optical axis away from vertical about each image axis (rad).
    noise: the sensor model's configuration (`gqstn_ros.sim.sensor_models`); its
    `min_range` / `max_range` are where the sensor returns depth at all.
    """

    name: str
    description: str
    sensor: str
    intrinsics: CameraIntrinsics
    height_range: tuple[float, float]
    tilt_max: float
    noise: Any

    @property
    def depth_range(self) -> tuple[float, float]:
        """(min, max) depth in metres the sensor measures."""
        return float(self.noise.min_range), float(self.noise.max_range)

    @property
    def working_depth_range(self) -> tuple[float, float]:
        """(min, max) depth of the table top over the mounting range (m): what views of this
        camera show a network trained on it."""
        low, high = self.height_range
        return low, high / math.cos(self.tilt_max) ** 2

    def to_dict(self) -> dict[str, Any]:
        from gqstn_ros.sim.sensor_models import noise_config_to_mapping  # noqa: PLC0415

        return {
            "name": self.name,
            "description": self.description,
            "sensor": self.sensor,
            "intrinsics": self.intrinsics.to_dict(),
            "mounting": {"height_range": list(self.height_range), "tilt_max": self.tilt_max},
            "noise": noise_config_to_mapping(self.noise),
        }


def config_dir() -> Path:
    """share/gqstn_ros/config of the installed package, else the repository's config/."""
    return data_dir("config", CAMERA_PROFILE_DIR)


def _profile_names(kind: str) -> tuple[str, ...]:
    return tuple(sorted(path.stem for path in (config_dir() / kind).glob("*.yaml")))


def camera_profile_names() -> tuple[str, ...]:
    """Names of the camera profiles shipped under config/cameras."""
    return _profile_names(CAMERA_PROFILE_DIR)


def gripper_profile_names() -> tuple[str, ...]:
    """Names of the gripper profiles shipped under config/grippers."""
    return _profile_names(GRIPPER_PROFILE_DIR)


def _resolve(kind: str, name_or_path: str | Path) -> Path:
    text = str(name_or_path)
    if not text:
        raise ProfileError(f"empty {kind[:-1]} profile name")
    looks_like_path = isinstance(name_or_path, Path) or "/" in text or text.endswith(".yaml")
    if looks_like_path:
        path = Path(text)
        if not path.is_file():
            raise ProfileError(f"{kind[:-1]} profile file {path} does not exist")
        return path
    path = config_dir() / kind / f"{text}.yaml"
    if not path.is_file():
        known = ", ".join(_profile_names(kind)) or "none"
        raise ProfileError(f"unknown {kind[:-1]} profile {text!r} (no file {path}); known: {known}")
    return path


def _read_mapping(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        raise ProfileError(f"{path}: not valid YAML: {error}") from None
    if not isinstance(data, dict):
        raise ProfileError(f"{path}: must be a mapping of fields, got {type(data).__name__}")
    return data


def _check_keys(
    path: Path, where: str, data: Mapping[str, Any], required: tuple[str, ...],
    optional: tuple[str, ...] = (),
) -> None:  # fmt: skip
    prefix = f"{where}." if where else ""
    for key in required:
        if key not in data:
            raise ProfileError(f"{path}: missing field {prefix}{key}")
    for key in data:
        if key not in required and key not in optional:
            allowed = ", ".join(required + optional)
            raise ProfileError(f"{path}: unknown field {prefix}{key} (allowed: {allowed})")


def _number(path: Path, field: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ProfileError(f"{path}: {field} must be a number, got {value!r}")
    if not math.isfinite(value):
        raise ProfileError(f"{path}: {field} must be finite, got {value!r}")
    return float(value)


def _integer(path: Path, field: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ProfileError(f"{path}: {field} must be an integer, got {value!r}")
    return value


def _text(path: Path, field: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ProfileError(f"{path}: {field} must be a string, got {value!r}")
    return value


def _check_name(path: Path, name: str) -> None:
    if name != path.stem:
        raise ProfileError(f"{path}: name {name!r} must equal the file's stem {path.stem!r}")


def _intrinsics(path: Path, data: Any) -> CameraIntrinsics:
    if not isinstance(data, dict):
        raise ProfileError(f"{path}: intrinsics must be a mapping, got {data!r}")
    _check_keys(path, "intrinsics", data, _INTRINSICS_KEYS)
    width = _integer(path, "intrinsics.width", data["width"])
    height = _integer(path, "intrinsics.height", data["height"])
    values = {key: _number(path, f"intrinsics.{key}", data[key]) for key in _INTRINSICS_KEYS[2:]}
    for key in ("width", "height"):
        if data[key] <= 0:
            raise ProfileError(f"{path}: intrinsics.{key} must be positive, got {data[key]}")
    for key in ("fx", "fy"):
        if values[key] <= 0:
            raise ProfileError(f"{path}: intrinsics.{key} must be positive, got {values[key]}")
    if not (0 <= values["cx"] < width and 0 <= values["cy"] < height):
        raise ProfileError(
            f"{path}: intrinsics principal point ({values['cx']}, {values['cy']}) lies outside "
            f"the {width}x{height} image"
        )
    return CameraIntrinsics(width=width, height=height, **values)


def _mounting(path: Path, data: Any) -> tuple[tuple[float, float], float]:
    if not isinstance(data, dict):
        raise ProfileError(f"{path}: mounting must be a mapping, got {data!r}")
    _check_keys(path, "mounting", data, _MOUNTING_KEYS)
    heights = data["height_range"]
    if not isinstance(heights, (list, tuple)) or len(heights) != 2:
        raise ProfileError(f"{path}: mounting.height_range must be [low, high], got {heights!r}")
    low = _number(path, "mounting.height_range[0]", heights[0])
    high = _number(path, "mounting.height_range[1]", heights[1])
    if not 0 < low <= high:
        raise ProfileError(
            f"{path}: mounting.height_range must satisfy 0 < low <= high, got [{low}, {high}]"
        )
    tilt = _number(path, "mounting.tilt_max", data["tilt_max"])
    if not 0 <= tilt < math.pi / 2:
        raise ProfileError(f"{path}: mounting.tilt_max must be in [0, pi/2) rad, got {tilt}")
    # The optical axis of a camera tilted by `tilt` about both image axes leaves the vertical
    # by at most atan(sqrt(2) tan(tilt)); it must still meet the table near the camera.
    reach = high * math.sqrt(2.0) * math.tan(tilt)
    if reach > TABLE_HALF_EXTENT:
        raise ProfileError(
            f"{path}: mounting.tilt_max {tilt} rad at height {high} m aims {reach:.2f} m away "
            f"from the spot below the camera, off a table of half-width {TABLE_HALF_EXTENT} m: "
            "such a view sees no table"
        )
    return (low, high), tilt


def load_camera_profile(name_or_path: str | Path) -> CameraProfile:
    """The camera profile `name_or_path` (a name under config/cameras, or a YAML file)."""
    from gqstn_ros.sim.sensor_models import SENSOR_TYPES, noise_config_from_mapping  # noqa: PLC0415

    path = _resolve(CAMERA_PROFILE_DIR, name_or_path)
    data = _read_mapping(path)
    _check_keys(path, "", data, _CAMERA_KEYS[:1] + _CAMERA_KEYS[2:5], ("description", "noise"))
    name = _text(path, "name", data["name"])
    _check_name(path, name)
    sensor = _text(path, "sensor", data["sensor"])
    if sensor not in SENSOR_TYPES:
        raise ProfileError(
            f"{path}: sensor {sensor!r} is not a known sensor type ({', '.join(SENSOR_TYPES)})"
        )
    intrinsics = _intrinsics(path, data["intrinsics"])
    height_range, tilt_max = _mounting(path, data["mounting"])
    noise_params = data.get("noise") or {}
    if not isinstance(noise_params, dict):
        raise ProfileError(f"{path}: noise must be a mapping, got {noise_params!r}")
    try:
        noise = noise_config_from_mapping(sensor, noise_params)
    except ValueError as error:
        raise ProfileError(f"{path}: {error}") from None
    profile = CameraProfile(
        name=name,
        description=_text(path, "description", data.get("description", "")),
        sensor=sensor,
        intrinsics=intrinsics,
        height_range=height_range,
        tilt_max=tilt_max,
        noise=noise,
    )
    near, far = profile.depth_range
    low, high = profile.working_depth_range
    if low - OBJECT_HEADROOM < near or high > far:
        raise ProfileError(
            f"{path}: mounting puts the table at {low:.2f}-{high:.2f} m and object tops up to "
            f"{OBJECT_HEADROOM} m nearer, outside the sensor's range "
            f"noise.min_range-noise.max_range = {near}-{far} m"
        )
    return profile


def gripper_from_mapping(data: Mapping[str, Any], path: Path | str = "<mapping>") -> GripperConfig:
    """A GripperConfig from a profile mapping; ProfileError names `path` and the field."""
    path = Path(path)
    names = tuple(field.name for field in fields(GripperConfig))
    _check_keys(path, "", data, names, ("description",))
    values: dict[str, Any] = {"name": _text(path, "name", data["name"])}
    for key in names[1:]:
        values[key] = _number(path, key, data[key])
    try:
        return GripperConfig(**values)
    except ValueError as error:
        raise ProfileError(f"{path}: {error}") from None


def load_gripper_profile(name_or_path: str | Path) -> GripperConfig:
    """The gripper profile `name_or_path` (a name under config/grippers, or a YAML file)."""
    path = _resolve(GRIPPER_PROFILE_DIR, name_or_path)
    data = _read_mapping(path)
    gripper = gripper_from_mapping(data, path)
    _check_name(path, gripper.name)
    return gripper
