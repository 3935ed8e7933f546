"""Configuration of the synthetic world: table, drop, settling, camera pose and sensor noise.

World frame: z up, the table top is the plane z = 0, the table is centred on the origin.
Quaternions are (w, x, y, z), the convention of `gqstn_ros.geometry`.
All lengths in metres, times in seconds, angles in radians.
Every config validates itself on construction and raises ValueError naming the bad field.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from gqstn_ros.camera_model import KINECT_V1, CameraIntrinsics
from gqstn_ros.geometry import matrix_to_quaternion, quaternion_to_matrix
from gqstn_ros.sim.config_checks import finite_non_negative, finite_positive, require
from gqstn_ros.sim.objects import FAMILIES, check_family
from gqstn_ros.sim.sensor_models import (
    ActiveStereoNoiseConfig,
    SensorNoiseConfig,
    TimeOfFlightNoiseConfig,
)
from gqstn_ros.sim.sensor_noise import KinectNoiseConfig

# Height of the paper's Kinect above the table (Sec. V-D: "mounted 70 cm perpendicular").
DEFAULT_CAMERA_HEIGHT = 0.70
# Optical frame looking straight down: 180 deg about world x (image right = +x, image down = -y).
LOOKING_DOWN_QUATERNION = (0.0, 1.0, 0.0, 0.0)
# Quaternion tolerance: |q| must be within this of 1.
_UNIT_TOLERANCE = 1e-6


@dataclass(frozen=True)
class TableConfig:
    """A box table whose top face is the plane z = 0, centred on the world origin."""

    size_x: float = 1.0  # m, along world x
    size_y: float = 0.8  # m, along world y
    thickness: float = 0.05  # m
    # The floor, a plane this far below the table top, catches objects that fall off (m).
    floor_depth: float = 0.75

    def __post_init__(self) -> None:
        for name in ("size_x", "size_y", "thickness"):
            finite_positive(f"table.{name}", getattr(self, name))
        require(
            self.floor_depth > self.thickness,
            "table.floor_depth",
            f"must exceed the table thickness {self.thickness}, got {self.floor_depth}",
        )


@dataclass(frozen=True)
class DropConfig:
    """Where objects are dropped: random pose above the table near its centre."""

    center_x: float = 0.0  # m, centre of the drop area on the table
    center_y: float = 0.0
    radius: float = 0.05  # m, objects start uniformly in a disc of this radius about the centre
    # Gap between the table (or the object below) and the object's bounding sphere at release (m).
    min_clearance: float = 0.02
    max_clearance: float = 0.10

    def __post_init__(self) -> None:
        finite_non_negative("drop.radius", self.radius)
        finite_non_negative("drop.min_clearance", self.min_clearance)
        require(
            self.max_clearance >= self.min_clearance,
            "drop.max_clearance",
            f"must be >= drop.min_clearance {self.min_clearance}, got {self.max_clearance}",
        )


@dataclass(frozen=True)
class PhysicsConfig:
    """Simulation and settling parameters."""

    timestep: float = 0.002  # s
    # Contact friction: sliding (-), torsional (m), rolling (m). Rolling friction lets balls
    # and cylinders come to rest instead of rolling off the table.
    sliding_friction: float = 0.8
    torsional_friction: float = 0.005
    rolling_friction: float = 0.0005
    # Settled: every object's linear / angular speed stays below these for `settle_hold_time`.
    linear_speed_threshold: float = 0.005  # m/s
    angular_speed_threshold: float = 0.05  # rad/s
    settle_hold_time: float = 0.1  # s
    max_settle_time: float = 4.0  # s, give up (result says not settled) after this much sim time
    # An object whose centre ends below the table top by more than this fell off the table (m).
    fell_off_margin: float = 0.02

    def __post_init__(self) -> None:
        for name in (
            "timestep",
            "sliding_friction",
            "linear_speed_threshold",
            "angular_speed_threshold",
            "max_settle_time",
            "fell_off_margin",
        ):
            finite_positive(f"physics.{name}", getattr(self, name))
        for name in ("torsional_friction", "rolling_friction", "settle_hold_time"):
            finite_non_negative(f"physics.{name}", getattr(self, name))
        require(
            self.timestep <= 0.01,
            "physics.timestep",
            f"must be at most 0.01 s for stable contacts, got {self.timestep}",
        )


@dataclass(frozen=True)
class CameraPose:
    """Pose of the camera optical frame (REP 103: z forward, x right, y down) in the world.

    position: (3,) m. quaternion: (w, x, y, z) of the rotation world <- optical.
    The default looks straight down from `DEFAULT_CAMERA_HEIGHT` above the table centre, with
    image right = world +x and image down = world -y.
    """

    position: tuple[float, float, float] = (0.0, 0.0, DEFAULT_CAMERA_HEIGHT)
    quaternion: tuple[float, float, float, float] = LOOKING_DOWN_QUATERNION

    def __post_init__(self) -> None:
        position = tuple(float(v) for v in self.position)
        quaternion = tuple(float(v) for v in self.quaternion)
        require(
            len(position) == 3 and all(map(math.isfinite, position)),
            "camera.position",
            f"must be 3 finite numbers, got {self.position}",
        )
        require(
            len(quaternion) == 4 and all(map(math.isfinite, quaternion)),
            "camera.quaternion",
            f"must be 4 finite numbers, got {self.quaternion}",
        )
        norm = math.sqrt(sum(q * q for q in quaternion))
        require(
            abs(norm - 1.0) < _UNIT_TOLERANCE,
            "camera.quaternion",
            f"must be a unit quaternion (w, x, y, z), got norm {norm}",
        )
        object.__setattr__(self, "position", position)
        object.__setattr__(self, "quaternion", quaternion)

    @classmethod
    def looking_down(
        cls,
        *,
        height: float = DEFAULT_CAMERA_HEIGHT,
        target_x: float = 0.0,
        target_y: float = 0.0,
        tilt_about_x: float = 0.0,
        tilt_about_y: float = 0.0,
        yaw: float = 0.0,
    ) -> CameraPose:
        """A camera `height` above the table top, tilted, whose optical axis hits (x, y, 0).

        yaw: rotation of the image about the optical axis (rad). tilt_about_x / tilt_about_y:
        rotations of the optical frame about its own x / y axes after the yaw (rad); the camera
        is moved so that the optical axis still passes through the target, at `height` above it.
        """
        finite_positive("camera.height", height)
        down = quaternion_to_matrix(LOOKING_DOWN_QUATERNION)
        cz, sz = math.cos(yaw), math.sin(yaw)
        cx, sx = math.cos(tilt_about_x), math.sin(tilt_about_x)
        cy, sy = math.cos(tilt_about_y), math.sin(tilt_about_y)
        r_yaw = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
        r_x = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
        r_y = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
        rotation = down @ r_yaw @ r_x @ r_y
        axis = rotation[:, 2]
        require(axis[2] < 0, "camera.tilt", "tilts must keep the camera looking down")
        distance = height / -axis[2]
        position = np.array([target_x, target_y, 0.0]) - distance * axis
        return cls(position=tuple(position), quaternion=tuple(matrix_to_quaternion(rotation)))

    @property
    def rotation(self) -> np.ndarray:
        """(3, 3) rotation world <- optical: its columns are the optical axes in the world."""
        return quaternion_to_matrix(self.quaternion)

    @property
    def transform(self) -> np.ndarray:
        """(4, 4) homogeneous transform world <- optical."""
        matrix = np.eye(4)
        matrix[:3, :3] = self.rotation
        matrix[:3, 3] = self.position
        return matrix


@dataclass(frozen=True)
class CameraConfig:
    """The simulated depth camera: intrinsics (see `gqstn_ros.camera_model`) and pose."""

    intrinsics: CameraIntrinsics = KINECT_V1
    pose: CameraPose = field(default_factory=CameraPose)
    # Rendering clip range (m); the sensor's own range limits are in the noise config.
    near_clip: float = 0.05
    far_clip: float = 10.0

    def __post_init__(self) -> None:
        require(
            isinstance(self.intrinsics, CameraIntrinsics),
            "camera.intrinsics",
            f"must be a CameraIntrinsics, got {type(self.intrinsics).__name__}",
        )
        require(
            isinstance(self.pose, CameraPose),
            "camera.pose",
            f"must be a CameraPose, got {type(self.pose).__name__}",
        )
        finite_positive("camera.near_clip", self.near_clip)
        require(
            self.far_clip > self.near_clip,
            "camera.far_clip",
            f"must exceed camera.near_clip {self.near_clip}, got {self.far_clip}",
        )


@dataclass(frozen=True)
class WorldConfig:
    """Everything the synthetic world needs besides the objects."""

    table: TableConfig = field(default_factory=TableConfig)
    drop: DropConfig = field(default_factory=DropConfig)
    physics: PhysicsConfig = field(default_factory=PhysicsConfig)
    camera: CameraConfig = field(default_factory=CameraConfig)
    # Any `sim.sensor_models.SensorNoiseConfig`; the default is the Kinect v1.
    noise: SensorNoiseConfig = field(default_factory=KinectNoiseConfig)
    # Families drawn from when the world generates its own objects, and how many objects.
    object_families: tuple[str, ...] = FAMILIES
    num_objects: int = 1

    def __post_init__(self) -> None:
        require(
            isinstance(
                self.noise, (KinectNoiseConfig, ActiveStereoNoiseConfig, TimeOfFlightNoiseConfig)
            ),
            "noise",
            f"must be a sensor noise config (sim.sensor_models), got {type(self.noise).__name__}",
        )
        require(len(self.object_families) > 0, "object_families", "must not be empty")
        for family in self.object_families:
            try:
                check_family(family)
            except ValueError as error:
                raise ValueError(f"object_families: {error}") from None
        require(
            isinstance(self.num_objects, int) and self.num_objects >= 1,
            "num_objects",
            f"must be a positive integer, got {self.num_objects}",
        )
        half_x, half_y = self.table.size_x / 2, self.table.size_y / 2
        require(
            abs(self.drop.center_x) <= half_x and abs(self.drop.center_y) <= half_y,
            "drop.center_x",
            "the drop centre must be over the table",
        )
        check_camera_sees_table(self.camera.pose, self.table)


def check_camera_sees_table(pose: CameraPose, table: TableConfig) -> None:
    """Raise ValueError (naming camera.pose) unless the optical axis hits the table top."""
    origin = np.asarray(pose.position)
    axis = pose.rotation[:, 2]
    require(
        origin[2] > 0,
        "camera.pose",
        f"the camera must be above the table top (z > 0), got z = {origin[2]:.3f} m",
    )
    require(
        axis[2] < 0,
        "camera.pose",
        "the camera looks away from the table (its optical axis points up or sideways)",
    )
    hit = origin + axis * (origin[2] / -axis[2])
    require(
        abs(hit[0]) <= table.size_x / 2 and abs(hit[1]) <= table.size_y / 2,
        "camera.pose",
        f"the optical axis meets the table plane at ({hit[0]:.3f}, {hit[1]:.3f}) m, "
        f"outside the {table.size_x} x {table.size_y} m table",
    )
