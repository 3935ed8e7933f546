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

Gripper profile: the fields of `gqstn_ros.gripper.GripperConfig` plus an optional
``description``; read by `gqstn_ros.gripper` (which this module offers beside the cameras: the
gripper sits below the simulation that camera profiles use, so it reads its own profiles).

Every loader raises `ProfileError` (a ValueError) naming the file and the field before any work
is done: a missing or unknown field, a wrong type, an impossible value (a negative focal length,
a stroke below the finger thickness, a mounting whose tilt sees no table or whose table lies
outside the sensor's range).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gqstn_ros.camera_model import CameraIntrinsics
from gqstn_ros.gripper import (
    DEFAULT_GRIPPER_PROFILE,
    gripper_from_mapping,
    gripper_profile_names,
    load_gripper_profile,
)
from gqstn_ros.profile_files import (
    CAMERA_PROFILE_DIR,
    GRIPPER_PROFILE_DIR,
    ProfileError,
    check_keys,
    check_name,
    config_dir,
    integer,
    number,
    profile_names,
    read_mapping,
    resolve,
    text,
)

__all__ = [
    "CAMERA_PROFILE_DIR",
    "DEFAULT_CAMERA_PROFILE",
    "DEFAULT_GRIPPER_PROFILE",
    "GRIPPER_PROFILE_DIR",
    "CameraProfile",
    "ProfileError",
    "camera_profile_names",
    "config_dir",
    "gripper_from_mapping",
    "gripper_profile_names",
    "load_camera_profile",
    "load_gripper_profile",
]

DEFAULT_CAMERA_PROFILE = "kinect_v1"
# Half the shorter side of the smallest table the simulated world uses (m): a camera at its
# highest and most tilted must still aim at a point this close to the spot below it.
TABLE_HALF_EXTENT = 0.4
# Height (m) of the tallest objects the world stands on the table: at the lowest mounting their
# tops must still be within the sensor's range.
OBJECT_HEADROOM = 0.10

_CAMERA_KEYS = ("name", "description", "sensor", "intrinsics", "mounting", "noise")
_INTRINSICS_KEYS = ("width", "height", "fx", "fy", "cx", "cy")
_MOUNTING_KEYS = ("height_range", "tilt_max")


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


def camera_profile_names() -> tuple[str, ...]:
    """Names of the camera profiles shipped under config/cameras."""
    return profile_names(CAMERA_PROFILE_DIR)


def _intrinsics(path: Path, data: Any) -> CameraIntrinsics:
    if not isinstance(data, dict):
        raise ProfileError(f"{path}: intrinsics must be a mapping, got {data!r}")
    check_keys(path, "intrinsics", data, _INTRINSICS_KEYS)
    width = integer(path, "intrinsics.width", data["width"])
    height = integer(path, "intrinsics.height", data["height"])
    values = {key: number(path, f"intrinsics.{key}", data[key]) for key in _INTRINSICS_KEYS[2:]}
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
    check_keys(path, "mounting", data, _MOUNTING_KEYS)
    heights = data["height_range"]
    if not isinstance(heights, (list, tuple)) or len(heights) != 2:
        raise ProfileError(f"{path}: mounting.height_range must be [low, high], got {heights!r}")
    low = number(path, "mounting.height_range[0]", heights[0])
    high = number(path, "mounting.height_range[1]", heights[1])
    if not 0 < low <= high:
        raise ProfileError(
            f"{path}: mounting.height_range must satisfy 0 < low <= high, got [{low}, {high}]"
        )
    tilt = number(path, "mounting.tilt_max", data["tilt_max"])
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

    path = resolve(CAMERA_PROFILE_DIR, name_or_path)
    data = read_mapping(path)
    check_keys(path, "", data, _CAMERA_KEYS[:1] + _CAMERA_KEYS[2:5], ("description", "noise"))
    name = text(path, "name", data["name"])
    check_name(path, name)
    sensor = text(path, "sensor", data["sensor"])
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
        description=text(path, "description", data.get("description", "")),
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
