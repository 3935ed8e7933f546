"""Labelled grasp images from the synthetic world, in the Dex-Net 2.0 TensorDataset layout.

A dataset is made of *scenes*, numbered globally. Scene `s` holds one object or a few (a pile, or
objects spread on the table), each a procedural object of one family from a seed, sized for the
dataset's gripper. The scene is dropped `drops_per_object` times on the table; each settled pose
is seen from `views_per_drop` random camera poses: each view draws its camera from the dataset's
camera mix by share, then its mounting height, tilt and aim within that camera's ranges (a network
must not learn one mount). Each view is one image: the raw noisy frame of that camera's sensor
model (holes = 0, as a 16UC1 sensor delivers it), stored as a square window of
`NetworkInputConfig.view_size_px` pixels about the image centre, in millimetres:

* pixel window (`network_input.view_size_m == 0`): the window is `view_size_px` sensor pixels,
  cut as it is (the paper's fixed window; the default camera stores exactly this);
* metric window (`view_size_m > 0`): the window covers `view_size_m` metres at the depth of the
  table under the image centre, resampled (nearest pixel: holes stay holes) to `view_size_px`
  pixels, so that every camera, whatever its focal length and height, gives images at one scale.

Either way each image keeps the intrinsics of the stored window, its camera (index into the
dataset's camera names), the sensor's full intrinsics, where the window lies in the sensor image
and the depth of the table under its centre: enough to bring it to any other scale later.

On the inpainted view three kinds of grasps are labelled by the robust Ferrari-Canny metric on
the target object's true mesh:

* mesh grasps: antipodal grasps sampled on the true 3-D meshes, as Dex-Net 2.0 did;
* image grasps: antipodal grasps sampled on the depth image, what Prop+GQ-CNN proposes;
* random grasps: uniform over the STN's translation range, any angle and opening, at a depth
  below the visible surface: the hard negatives a one-shot network will produce early on.

The target of a mesh grasp is the object it was sampled on; the target of an image or random
grasp is the object seen at its centre pixel (else the object nearest to its centre). In a scene
of several objects, a grasp whose open gripper would touch another object is not robust
(`fingers_clear_of_obstacles`): every label checks the fingers against every object and the
table.

Every grasp gets the 32x32 crop of `gqstn_ros.preprocessing` (the one GQ-CNN and GQ-STN see),
Dex-Net's 7 hand-pose columns, its robust metric and its target object. Any scene can be
regenerated alone and identically from the base seed and its index (`scene_objects`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

import numpy as np
import torch

from gqstn_ros.camera_model import KINECT_V1, CameraIntrinsics
from gqstn_ros.depth_processing import DepthFrameError, inpaint_depth
from gqstn_ros.geometry import matrix_to_pose7, pose7_to_matrix, wrap_angle
from gqstn_ros.grasping.antipodal import sample_antipodal_depth, sample_antipodal_mesh
from gqstn_ros.grasping.grasp import HAND_POSE_SIZE, grasps_2d_to_3d, grasps_3d_to_2d
from gqstn_ros.grasping.mesh_geometry import TriangleMesh
from gqstn_ros.grasping.robustness import GraspQualityEvaluator, RobustnessConfig
from gqstn_ros.gripper import ROBOTIQ_2F85, GripperConfig
from gqstn_ros.preprocessing import (
    TRANSLATION_LIMIT,
    NetworkInputConfig,
    ViewWindow,
    extract_crops,
    extract_view,
    grasps_to_stn,
)
from gqstn_ros.sim.camera import DepthCamera
from gqstn_ros.sim.objects import FAMILIES, ObjectModel, check_family, generate_object
from gqstn_ros.sim.scene import Scene, random_quaternion
from gqstn_ros.sim.sensor_models import apply_sensor_noise
from gqstn_ros.sim.world_config import CameraConfig, CameraPose, WorldConfig

GRASP_SOURCES = ("mesh", "image", "random")  # grasp_sources field values 0, 1, 2
SCENE_LAYOUTS = ("pile", "spread")
# The camera of datasets generated without camera profiles: the Kinect v1 intrinsics and the
# world's Kinect noise model, mounted 0.62-0.78 m above the table with tilts up to 0.06 rad.
LEGACY_CAMERA_NAME = "kinect_v1"
LEGACY_CAMERA_HEIGHT_RANGE = (0.62, 0.78)
LEGACY_CAMERA_TILT_MAX = 0.06
# Padding of the per-scene object fields of images for scenes with fewer objects than the most.
NO_OBJECT_LABEL = 2**32 - 1
NO_FAMILY_LABEL = 255
# Random streams of a scene besides its main one (numbers only name the streams).
_COMPOSITION_STREAM = 1
_CAMERA_STREAM = 2
# Scenes of several objects: a spread starts its objects up to SPREAD_RADIUS from the drop
# centre, at least SPREAD_GAP apart between their bounding spheres (up to _SPREAD_TRIES draws
# each); a pile starts them up to PILE_RADIUS from it (m).
SPREAD_RADIUS = 0.12
SPREAD_GAP = 0.005
PILE_RADIUS = 0.05
# Objects of a scene that fell off the table are laid on the floor this far from the table
# centre (m), out of every camera's view.
PARK_DISTANCE = 5.0
_SPREAD_TRIES = 64
# Sensor pixels kept around the stored window when only part of a large sensor is rendered, so
# that the noise models' neighbourhood effects (edges, shadows) see the same surroundings.
_RENDER_MARGIN_PX = 8
# Obstacle height maps have cells this many label height-map cells wide (the test grows the
# gripper's footprint by the perturbations' reach, several cells, and is conservative to a cell).
OBSTACLE_MAP_CELLS = 2
# Finger-sweep obstacle test: the sampling step is this many height-map cells (the map is
# max-filtered over one cell on each side, so samples two cells apart miss nothing).
_OBSTACLE_SAMPLE_CELLS = 2.0


@dataclass(frozen=True)
class CameraSpec:
    """One camera of a dataset's mix (metres, radians).

    name: the camera profile's name (stored per image through the dataset's camera list).
    share: the fraction of views this camera takes (the shares of a dataset sum to 1).
    intrinsics: the sensor's full image. height_range: camera height above the table top.
    tilt_max: largest tilt of the optical axis about each image axis.
    sensor / noise: the sensor type and its noise model (`gqstn_ros.sim.sensor_models`);
    noise None is the world's Kinect v1 model (`WorldConfig.noise`), the legacy camera's.
    """

    name: str
    share: float = 1.0
    intrinsics: CameraIntrinsics = KINECT_V1
    height_range: tuple[float, float] = LEGACY_CAMERA_HEIGHT_RANGE
    tilt_max: float = LEGACY_CAMERA_TILT_MAX
    sensor: str = "structured_light"
    noise: Any = None

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("CameraSpec.name must not be empty")
        if not (math.isfinite(self.share) and 0.0 < self.share <= 1.0):
            raise ValueError(f"camera {self.name}: share must be in (0, 1], got {self.share}")
        low, high = self.height_range
        if not 0 < low <= high:
            raise ValueError(
                f"camera {self.name}: height_range must satisfy 0 < low <= high, got "
                f"{self.height_range}"
            )
        if not 0 <= self.tilt_max < 0.5:
            raise ValueError(
                f"camera {self.name}: tilt_max must be in [0, 0.5) rad, got {self.tilt_max}"
            )
        object.__setattr__(self, "height_range", (float(low), float(high)))

    @classmethod
    def from_profile(cls, profile: Any, share: float = 1.0) -> CameraSpec:
        """The camera of a `gqstn_ros.profiles.CameraProfile`, with its share of the views."""
        return cls(
            name=profile.name,
            share=float(share),
            intrinsics=profile.intrinsics,
            height_range=tuple(profile.height_range),
            tilt_max=float(profile.tilt_max),
            sensor=profile.sensor,
            noise=profile.noise,
        )

    @property
    def focal_px(self) -> float:
        return 0.5 * (self.intrinsics.fx + self.intrinsics.fy)


@dataclass(frozen=True)
class GenerationConfig:
    """What one dataset is made of (metres, radians)."""

    families: tuple[str, ...] = FAMILIES
    drops_per_object: int = 3  # settled poses per scene
    views_per_drop: int = 2  # camera poses per settled pose
    mesh_grasps: int = 50  # antipodal grasps on the true meshes per settled pose
    image_grasps: int = 40  # antipodal grasps on the depth image per view
    random_grasps: int = 20  # random grasps per view (hard negatives)
    # Mounting of the legacy camera (used when `cameras` is empty): height above the table and
    # tilt about each optical axis x and y.
    camera_height_range: tuple[float, float] = LEGACY_CAMERA_HEIGHT_RANGE
    camera_tilt_max: float = LEGACY_CAMERA_TILT_MAX
    camera_aim_jitter: float = 0.02  # m, where the optical axis meets the table
    random_depth_range: tuple[float, float] = (0.0, 0.035)  # m below the surface at the centre
    network_input: NetworkInputConfig = field(default_factory=NetworkInputConfig)
    gripper: GripperConfig = ROBOTIQ_2F85
    robustness: RobustnessConfig = field(default_factory=RobustnessConfig)
    render_backend: str = "auto"
    # The camera mix; empty: one legacy camera (Kinect v1, `camera_height_range`,
    # `camera_tilt_max`, the world's Kinect noise).
    cameras: tuple[CameraSpec, ...] = ()
    # Objects per scene, (least, most): each scene draws its count uniformly in the range.
    objects_per_scene: tuple[int, int] = (1, 1)
    scene_layout: str = "pile"  # "pile": dropped onto each other; "spread": apart on the table
    # Every image of a settled scene shows the grasps sampled on all its views (each labelled
    # once, projected into each view) besides the mesh grasps: an image holds mesh_grasps +
    # views_per_drop * (image_grasps + random_grasps) grasps for a fraction of the labels.
    share_view_grasps: bool = False
    # Recorded only, for generalization tests: families and cameras kept out of this dataset.
    held_out_families: tuple[str, ...] = ()
    held_out_cameras: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.families:
            raise ValueError("GenerationConfig.families must name at least one family")
        for family in self.families:
            check_family(family)
        if len(set(self.families)) != len(self.families):
            raise ValueError(f"GenerationConfig.families has duplicates: {self.families}")
        for name in ("drops_per_object", "views_per_drop"):
            if getattr(self, name) < 1:
                raise ValueError(f"GenerationConfig.{name} must be >= 1, got {getattr(self, name)}")
        for name in ("mesh_grasps", "image_grasps", "random_grasps"):
            if getattr(self, name) < 0:
                raise ValueError(f"GenerationConfig.{name} must be >= 0, got {getattr(self, name)}")
        low, high = self.camera_height_range
        if not 0 < low <= high:
            raise ValueError(
                f"GenerationConfig.camera_height_range must satisfy 0 < low <= high, got "
                f"{self.camera_height_range}"
            )
        if not 0 <= self.camera_tilt_max < 0.5:
            raise ValueError(
                f"GenerationConfig.camera_tilt_max must be in [0, 0.5) rad, got "
                f"{self.camera_tilt_max}"
            )
        if self.camera_aim_jitter < 0:
            raise ValueError(
                f"GenerationConfig.camera_aim_jitter must be >= 0, got {self.camera_aim_jitter}"
            )
        self._check_cameras()
        least, most = self.objects_per_scene
        if not 1 <= least <= most or most > NO_FAMILY_LABEL:
            raise ValueError(
                f"GenerationConfig.objects_per_scene must be (least, most) with "
                f"1 <= least <= most <= {NO_FAMILY_LABEL}, got {self.objects_per_scene}"
            )
        if self.scene_layout not in SCENE_LAYOUTS:
            raise ValueError(
                f"GenerationConfig.scene_layout must be one of {SCENE_LAYOUTS}, got "
                f"{self.scene_layout!r}"
            )
        for family in self.held_out_families:
            check_family(family)
        both = set(self.held_out_families) & set(self.families)
        if both:
            raise ValueError(
                f"GenerationConfig.held_out_families {sorted(both)} are also in families"
            )

    def _check_cameras(self) -> None:
        cameras = self.cameras
        if not cameras:
            return
        names = [camera.name for camera in cameras]
        if len(set(names)) != len(names):
            raise ValueError(f"GenerationConfig.cameras names a camera twice: {names}")
        total = sum(camera.share for camera in cameras)
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"GenerationConfig.cameras: the shares must sum to 1, got {total}")
        held = set(self.held_out_cameras) & set(names)
        if held:
            raise ValueError(f"GenerationConfig.held_out_cameras {sorted(held)} are in cameras")
        side = self.network_input.view_size_px
        for camera in cameras:
            k = camera.intrinsics
            if not self.network_input.metric and (side > k.width or side > k.height):
                raise ValueError(
                    f"camera {camera.name}: the {side}-pixel window does not fit its "
                    f"{k.width}x{k.height} image (use a metric window, view_size_m > 0)"
                )

    @property
    def camera_specs(self) -> tuple[CameraSpec, ...]:
        """The cameras views are drawn from (the legacy camera when `cameras` is empty)."""
        if self.cameras:
            return self.cameras
        return (
            CameraSpec(
                name=LEGACY_CAMERA_NAME,
                height_range=self.camera_height_range,
                tilt_max=self.camera_tilt_max,
            ),
        )

    @property
    def camera_names(self) -> tuple[str, ...]:
        return tuple(camera.name for camera in self.camera_specs)

    @property
    def max_objects(self) -> int:
        return self.objects_per_scene[1]

    def to_dict(self) -> dict:
        return asdict(self)


def object_seed(base_seed: int, object_index: int) -> int:
    """The seed of object `object_index` of a dataset (disjoint streams per base seed)."""
    return int(np.random.SeedSequence([base_seed, object_index]).generate_state(1)[0] >> 1)


def object_family(config: GenerationConfig, object_index: int) -> str:
    """The family of the only object of scene `object_index` of a one-object-per-scene
    dataset (and of the first object of every scene: families[scene % len(families)])."""
    return config.families[object_index % len(config.families)]


@dataclass(frozen=True)
class SceneObject:
    """One object of a scene: its global label (unique in the dataset), family and seed."""

    label: int
    family: str
    seed: int


def scene_objects(
    config: GenerationConfig, base_seed: int, scene_index: int
) -> tuple[SceneObject, ...]:
    """The objects of scene `scene_index`, deterministic from (base_seed, scene_index).

    Object i of scene s has the label s * max_objects + i and the seed object_seed(base_seed,
    label); the first object's family cycles through the families with the scene index (every
    family is seen), the count and the other objects' families are drawn from the scene's own
    stream. With one object per scene, scene s is object s as in every earlier dataset.
    """
    most = config.max_objects
    first = scene_index * most
    if most == 1:
        return (
            SceneObject(first, object_family(config, scene_index), object_seed(base_seed, first)),
        )
    rng = np.random.default_rng([base_seed, scene_index, _COMPOSITION_STREAM])
    count = int(rng.integers(config.objects_per_scene[0], most + 1))
    families = [object_family(config, scene_index)]
    families += [
        config.families[int(i)] for i in rng.integers(len(config.families), size=count - 1)
    ]
    return tuple(
        SceneObject(first + i, family, object_seed(base_seed, first + i))
        for i, family in enumerate(families)
    )


def build_object(family: str, seed: int, gripper: GripperConfig) -> ObjectModel:
    """The object of `family` from `seed`, sized for `gripper`'s stroke (the 2F-85's 85 mm
    stroke gives the objects every earlier dataset holds)."""
    return generate_object(family, seed, stroke=gripper.max_width)


@dataclass
class ObjectImages:
    """Everything generated for one scene: per-image and per-grasp arrays (numpy)."""

    images: dict[str, np.ndarray]
    grasps: dict[str, np.ndarray]
    skipped_drops: list[str]  # why a settled pose or a view was not used
    seconds: dict[str, float]


IMAGE_FIELDS = {
    # name: (dtype, per-datapoint shape); None shapes are filled in from the config
    "depth_ims": ("uint16", None),  # raw noisy stored window, millimetres, 0 = no data
    "camera_intrinsics": ("float32", (4,)),  # fx, fy, cx, cy of the stored window
    "camera_poses": ("float32", (7,)),  # x, y, z, qw, qx, qy, qz: world <- optical
    "object_poses": ("float32", (7,)),  # x, y, z, qw, qx, qy, qz: world <- first object
    "object_labels": ("uint32", ()),  # the scene's first object
    "family_labels": ("uint8", ()),  # the scene's first object
    "pose_labels": ("uint8", ()),  # drop index of the scene (Dex-Net's stable pose label)
    "camera_ids": ("uint8", ()),  # index into the dataset's camera names (metadata "cameras")
    "sensor_intrinsics": ("float32", (6,)),  # width, height, fx, fy, cx, cy of the full sensor
    # (u0, v0, step): stored pixel (column j, row i) is sensor pixel (u0 + step j, v0 + step i)
    "sensor_windows": ("float32", (3,)),
    "table_depths": ("float32", ()),  # m, z-depth of the table top under the window centre
    "scene_labels": ("uint32", ()),
    "object_counts": ("uint8", ()),
    "scene_object_labels": ("uint32", None),  # (max objects,), NO_OBJECT_LABEL padding
    "scene_family_labels": ("uint8", None),  # (max objects,), NO_FAMILY_LABEL padding
    "scene_object_poses": ("float32", None),  # (max objects, 7), NaN padding
}
GRASP_FIELDS = {
    "depth_ims_tf_table": ("float32", None),  # (c, c, 1) crop in metres, grasp axis along x
    "hand_poses": ("float32", (HAND_POSE_SIZE,)),  # Dex-Net's 7 columns (see grasping.grasp)
    "robust_ferrari_canny": ("float32", ()),  # the robust metric (mean epsilon)
    "stn_params": ("float32", (4,)),  # x, y, theta, s in the view (preprocessing)
    "widths_m": ("float32", ()),  # jaw opening, metres
    "view_references": ("float32", ()),  # median depth of the view, metres
    "grasp_sources": ("uint8", ()),  # index into GRASP_SOURCES
    "image_labels": ("uint32", ()),  # index of the grasp's image in the images dataset
    "object_labels": ("uint32", ()),  # the grasp's target object
    "family_labels": ("uint8", ()),  # the target object's family
}
# Image fields datasets generated before they existed lack (see `complete_legacy_images`).
LATER_IMAGE_FIELDS = (
    "camera_ids", "sensor_intrinsics", "sensor_windows", "table_depths", "scene_labels",
    "object_counts", "scene_object_labels", "scene_family_labels", "scene_object_poses",
)  # fmt: skip


def field_specs(config: GenerationConfig) -> tuple[dict, dict]:
    """(image fields, grasp fields) as {name: (dtype, shape)} for the TensorDataset writers."""
    side = config.network_input.view_size_px
    crop = config.network_input.crop_size
    most = config.max_objects
    image_shapes = {
        "depth_ims": (side, side),
        "scene_object_labels": (most,),
        "scene_family_labels": (most,),
        "scene_object_poses": (most, 7),
    }
    images = {k: (d, s if s is not None else image_shapes[k]) for k, (d, s) in IMAGE_FIELDS.items()}
    grasps = {k: (d, s if s is not None else (crop, crop, 1)) for k, (d, s) in GRASP_FIELDS.items()}
    return images, grasps


def complete_legacy_images(batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Image fields of a dataset written before `LATER_IMAGE_FIELDS` existed, completed with
    the values that dataset was generated with: the legacy camera (Kinect v1, pixel window about
    the image centre), one object per scene, scene = object."""
    batch = dict(batch)
    if all(name in batch for name in LATER_IMAGE_FIELDS):
        return batch
    count = len(batch["depth_ims"])
    side = batch["depth_ims"].shape[1]
    k = KINECT_V1
    left, top = (k.width - side) // 2, (k.height - side) // 2
    intrinsics = batch["camera_intrinsics"].astype(np.float64)
    poses = batch["camera_poses"].astype(np.float64)
    depths = np.array(
        [
            table_depth_at(pose7_to_matrix(pose), *row[:4], (side - 1) / 2.0, (side - 1) / 2.0)
            for pose, row in zip(poses, intrinsics, strict=True)
        ]
    )
    defaults = {
        "camera_ids": np.zeros(count, np.uint8),
        "sensor_intrinsics": np.tile([k.width, k.height, k.fx, k.fy, k.cx, k.cy], (count, 1)),
        "sensor_windows": np.tile([left, top, 1.0], (count, 1)),
        "table_depths": depths,
        "scene_labels": batch["object_labels"],
        "object_counts": np.ones(count, np.uint8),
        "scene_object_labels": batch["object_labels"][:, None],
        "scene_family_labels": batch["family_labels"][:, None],
        "scene_object_poses": batch["object_poses"][:, None, :],
    }
    for name, value in defaults.items():
        batch.setdefault(name, value)
    return batch


def random_camera_pose(
    config: GenerationConfig, rng: np.random.Generator, camera: CameraSpec | None = None
) -> CameraPose:
    """A camera pose within `camera`'s mounting ranges (default: the legacy camera's)."""
    camera = camera or config.camera_specs[0]
    aim = rng.uniform(-config.camera_aim_jitter, config.camera_aim_jitter, 2)
    return CameraPose.looking_down(
        height=float(rng.uniform(*camera.height_range)),
        target_x=float(aim[0]),
        target_y=float(aim[1]),
        tilt_about_x=float(rng.uniform(-camera.tilt_max, camera.tilt_max)),
        tilt_about_y=float(rng.uniform(-camera.tilt_max, camera.tilt_max)),
    )


def view_window_pixels(intrinsics: CameraIntrinsics, side: int) -> tuple[int, int]:
    """(left, top) of the `side` x `side` window about the image centre, in whole pixels."""
    if side > intrinsics.width or side > intrinsics.height:
        raise ValueError(
            f"view window {side} px does not fit the {intrinsics.width}x{intrinsics.height} image"
        )
    return (intrinsics.width - side) // 2, (intrinsics.height - side) // 2


def table_depth_at(
    world_from_optical: np.ndarray, fx: float, fy: float, cx: float, cy: float, u: float, v: float
) -> float:
    """z-depth (m, along the optical axis) of the table top (world z = 0) seen at pixel (u, v)."""
    direction = np.array([(u - cx) / fx, (v - cy) / fy, 1.0])
    world_direction = world_from_optical[:3, :3] @ direction
    if world_direction[2] >= 0:
        raise ValueError("the pixel's ray does not meet the table (it points up or sideways)")
    return float(world_from_optical[2, 3] / -world_direction[2])


@dataclass(frozen=True)
class StoredWindow:
    """Where the stored image lies in the sensor image: stored pixel (column j, row i) is
    sensor pixel (u0 + step j, v0 + step i) (pixel centres); `side` stored pixels a side."""

    u0: float
    v0: float
    step: float
    side: int

    @property
    def integer_crop(self) -> bool:
        return self.step == 1.0 and self.u0 == int(self.u0) and self.v0 == int(self.v0)

    def stored_intrinsics(self, sensor: CameraIntrinsics) -> CameraIntrinsics:
        return CameraIntrinsics(
            width=self.side,
            height=self.side,
            fx=sensor.fx / self.step,
            fy=sensor.fy / self.step,
            cx=(sensor.cx - self.u0) / self.step,
            cy=(sensor.cy - self.v0) / self.step,
        )

    def sample(self, image: np.ndarray, left: int = 0, top: int = 0) -> np.ndarray:
        """The stored window of `image` (a sensor image, or its part from (left, top)) by
        nearest pixel; stored pixels outside the part are 0 (no data)."""
        if self.integer_crop:
            u, v = int(self.u0) - left, int(self.v0) - top
            if (
                u >= 0
                and v >= 0
                and u + self.side <= image.shape[1]
                and v + self.side <= image.shape[0]
            ):
                return image[v : v + self.side, u : u + self.side].copy()
        steps = np.arange(self.side) * self.step
        columns = np.floor(self.u0 + steps + 0.5).astype(np.int64) - left
        rows = np.floor(self.v0 + steps + 0.5).astype(np.int64) - top
        inside_c = (columns >= 0) & (columns < image.shape[1])
        inside_r = (rows >= 0) & (rows < image.shape[0])
        out = image[np.clip(rows, 0, image.shape[0] - 1)][
            :, np.clip(columns, 0, image.shape[1] - 1)
        ]
        out[~inside_r] = 0
        out[:, ~inside_c] = 0
        return out


def stored_window(
    config: GenerationConfig, camera: CameraSpec, pose: CameraPose
) -> tuple[StoredWindow, float]:
    """(the stored window of a view of `camera` at `pose`, table depth under its centre m)."""
    k = camera.intrinsics
    side = config.network_input.view_size_px
    centre_u, centre_v = (k.width - 1) / 2.0, (k.height - 1) / 2.0
    depth = table_depth_at(pose.transform, k.fx, k.fy, k.cx, k.cy, centre_u, centre_v)
    if not config.network_input.metric:
        left, top = view_window_pixels(k, side)
        return StoredWindow(float(left), float(top), 1.0, side), depth
    native_side = config.network_input.view_size_m * camera.focal_px / depth
    step = native_side / side
    return (
        StoredWindow(
            centre_u - step * (side - 1) / 2.0, centre_v - step * (side - 1) / 2.0, step, side
        ),
        depth,
    )


def render_region(config: GenerationConfig, camera: CameraSpec) -> tuple[int, int, int, int]:
    """(left, top, width, height) of the sensor image rendered for `camera`'s views: the whole
    image for the legacy camera, else the part the largest stored window of its mounting range
    needs (a window is centred on the image; the table is nearest at the lowest mounting)."""
    k = camera.intrinsics
    if camera.noise is None or not config.network_input.metric:
        return 0, 0, k.width, k.height
    widest = config.network_input.view_size_m * camera.focal_px / camera.height_range[0]
    need = math.ceil(widest) + 2 * _RENDER_MARGIN_PX
    width, height = (
        min(k.width, need + (k.width - need) % 2),
        min(k.height, need + (k.height - need) % 2),
    )
    return (k.width - width) // 2, (k.height - height) // 2, width, height


def _random_grasps(
    filled: np.ndarray,
    window: ViewWindow,
    intrinsics: CameraIntrinsics,
    config: GenerationConfig,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    n = config.random_grasps
    normalized = rng.uniform(-TRANSLATION_LIMIT, TRANSLATION_LIMIT, (n, 2))
    centers = window.normalized_to_frame(normalized)
    height, width = filled.shape
    cols = np.clip(np.round(centers[:, 0]).astype(int), 0, width - 1)
    rows = np.clip(np.round(centers[:, 1]).astype(int), 0, height - 1)
    depths = filled[rows, cols] + rng.uniform(*config.random_depth_range, n)
    widths_m = rng.uniform(0.2, 1.0, n) * config.gripper.max_width
    widths_px = widths_m * intrinsics.fx / depths
    angles = wrap_angle(rng.uniform(-math.pi / 2, math.pi / 2, n))
    return centers, np.atleast_1d(angles), widths_px, depths


class TopSurfaceMap:
    """Highest point of one object above each cell of a world x-y grid (metres; -inf where the
    object is not), built by casting one ray straight down per grid node, then max-filtered over
    each node's 3x3 neighbourhood so that a lookup at the nearest node is conservative."""

    def __init__(self, mesh: TriangleMesh, resolution: float) -> None:
        self.resolution = resolution
        self.origin = mesh.bounds[0, :2] - resolution
        shape = np.ceil((mesh.bounds[1, :2] - self.origin) / resolution).astype(int) + 2
        ix, iy = np.meshgrid(np.arange(shape[0]), np.arange(shape[1]), indexing="ij")
        xy = self.origin + np.stack([ix, iy], axis=-1).reshape(-1, 2) * resolution
        start = mesh.bounds[1, 2] + 1.0
        origins = np.column_stack([xy, np.full(len(xy), start)])
        down = np.broadcast_to(np.array([0.0, 0.0, -1.0]), origins.shape)
        hits = mesh.intersect_rays(origins, down)
        heights = np.where(hits.hit, start - hits.distance, -np.inf).reshape(shape)
        padded = np.pad(heights, 1, constant_values=-np.inf)
        stacked = [
            padded[1 + dx : 1 + dx + shape[0], 1 + dy : 1 + dy + shape[1]]
            for dx in (-1, 0, 1)
            for dy in (-1, 0, 1)
        ]
        self.heights = np.max(stacked, axis=0)

    def heights_at(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Highest object point near each query point (same shape as x, y); -inf off the map."""
        ix = np.rint((x - self.origin[0]) / self.resolution).astype(np.int64)
        iy = np.rint((y - self.origin[1]) / self.resolution).astype(np.int64)
        inside = (ix >= 0) & (ix < self.heights.shape[0]) & (iy >= 0) & (iy < self.heights.shape[1])
        out = np.full(np.shape(x), -np.inf)
        out[inside] = self.heights[ix[inside], iy[inside]]
        return out


def fingers_clear_of_obstacles(
    centers: np.ndarray,
    axes: np.ndarray,
    widths: np.ndarray,
    obstacles: Sequence[TopSurfaceMap],
    gripper: GripperConfig,
    robustness: RobustnessConfig,
) -> np.ndarray:
    """(N,) bool: the open gripper of each top-down grasp stays clear of every obstacle.

    The grasp (world frame: centres (N, 3) m, axes (N, 3) horizontal jaw axes, widths (N,) m
    openings) descends with its jaws open: the fingers and, while closing, the space between
    them sweep the rectangle of the two fingers and the opening between them (along the axis
    +-(width / 2 + finger thickness), across +-finger width / 2) down to the fingertips
    (`robustness.fingertip_below_center` under the centre). Any obstacle (another object) rising
    above the fingertips inside that rectangle, grown by the reach of the label's perturbations
    (two standard deviations of the grasp and object translations together), is hit by a
    descending finger or squeezed along with the target: the grasp is not clear.
    """
    centers = np.asarray(centers, dtype=np.float64).reshape(-1, 3)
    clear = np.ones(len(centers), dtype=bool)
    if not obstacles or not len(centers):
        return clear
    axis = np.asarray(axes, dtype=np.float64).reshape(-1, 3).copy()
    axis[:, 2] = 0.0
    axis /= np.maximum(np.linalg.norm(axis, axis=1, keepdims=True), 1e-12)
    lateral = np.stack([-axis[:, 1], axis[:, 0]], axis=1)
    margin = 2.0 * math.hypot(
        robustness.grasp_translation_sigma, robustness.object_translation_sigma
    )
    tip_z = centers[:, 2] - robustness.fingertip_below_center
    step = _OBSTACLE_SAMPLE_CELLS * min(m.resolution for m in obstacles)
    half_along = 0.5 * np.asarray(widths, dtype=np.float64) + gripper.finger_thickness + margin
    half_across = 0.5 * gripper.finger_width + margin
    count_along = int(np.ceil(2 * half_along.max() / step)) + 1
    count_across = int(np.ceil(2 * half_across / step)) + 1
    along = np.linspace(-1.0, 1.0, count_along)[None, :, None] * half_along[:, None, None]
    across = np.linspace(-half_across, half_across, count_across)[None, None, :]
    x = (
        centers[:, 0, None, None]
        + along * axis[:, 0, None, None]
        + across * lateral[:, 0, None, None]
    )
    y = (
        centers[:, 1, None, None]
        + along * axis[:, 1, None, None]
        + across * lateral[:, 1, None, None]
    )
    top = np.full(len(centers), -np.inf)
    for obstacle in obstacles:
        top = np.maximum(top, obstacle.heights_at(x, y).reshape(len(centers), -1).max(axis=1))
    clear &= top <= tip_z
    return clear


def object_evaluator(
    model: ObjectModel, world_from_object: np.ndarray, config: GenerationConfig
) -> GraspQualityEvaluator:
    """The label of grasps on one object: its mesh, mass, centre of mass and surface friction
    with the weight step (`RobustnessConfig.weight_safety_factor` > 0); with the weight step
    off, the mesh alone (its own centroid, the configured friction), the label of datasets
    generated before the weight step existed."""
    if config.robustness.weight_safety_factor > 0:
        return GraspQualityEvaluator.from_object_model(
            model, world_from_object, config.gripper, config.robustness
        )
    return GraspQualityEvaluator.from_object(
        model.vertices, model.faces, world_from_object, config.gripper, config.robustness
    )


class SceneLabeller:
    """Labels of grasps in one settled scene: one evaluator per object on the table, and every
    other object as an obstacle of each (`fingers_clear_of_obstacles`)."""

    def __init__(
        self,
        objects: Sequence[ObjectModel],
        transforms: Sequence[np.ndarray],
        config: GenerationConfig,
        present: Sequence[int],
    ) -> None:
        """`objects[i]` lies at `transforms[i]` (4x4, world from object); `present` indexes
        the objects on the table (the others are neither targets nor obstacles)."""
        self.config = config
        self.present = np.asarray(present, dtype=np.int64)
        self.transforms = [np.asarray(t, dtype=np.float64) for t in transforms]
        self.evaluators = [
            object_evaluator(obj, transform, config)
            for obj, transform in zip(objects, self.transforms, strict=True)
        ]
        self.surfaces: list[TopSurfaceMap] = []
        if len(self.evaluators) > 1:
            resolution = OBSTACLE_MAP_CELLS * config.robustness.heightmap_resolution
            self.surfaces = [TopSurfaceMap(e.mesh, resolution) for e in self.evaluators]
        # Horizontal outline of each object on the table, for the target of a grasp seen on
        # no object.
        self.vertices_xy = [
            objects[i].vertices @ self.transforms[i][:2, :3].T + self.transforms[i][:2, 3]
            for i in self.present
        ]

    @classmethod
    def of_scene(
        cls, scene: Scene, config: GenerationConfig, present: Sequence[int]
    ) -> SceneLabeller:
        """The labeller of a settled simulated scene."""
        transforms = [scene.object_transform(i) for i in range(len(scene.objects))]
        return cls(scene.objects, transforms, config, present)

    @classmethod
    def of_record(
        cls,
        config: GenerationConfig,
        base_seed: int,
        object_labels: np.ndarray,
        family_labels: np.ndarray,
        object_poses: np.ndarray,
    ) -> SceneLabeller:
        """The labeller of a stored image's scene, rebuilt from the dataset's seeds: the
        image's `scene_object_labels`, `scene_family_labels` and `scene_object_poses` (pose7
        rows, NaN padding). Objects parked beside the table (they fell off) are left out, as
        they were when the image was labelled."""
        objects, transforms, present = [], [], []
        for label, family, pose in zip(object_labels, family_labels, object_poses, strict=True):
            if int(label) == NO_OBJECT_LABEL or not np.all(np.isfinite(pose)):
                continue
            if abs(float(pose[0])) < PARK_DISTANCE / 2:
                present.append(len(objects))
            objects.append(
                build_object(
                    config.families[int(family)],
                    object_seed(base_seed, int(label)),
                    config.gripper,
                )
            )
            transforms.append(pose7_to_matrix(np.asarray(pose, dtype=np.float64)))
        if not present:
            raise ValueError(f"no object of labels {list(object_labels)} lies on the table")
        return cls(objects, transforms, config, present)

    def label_nearest(
        self, centers: np.ndarray, axes: np.ndarray, widths: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray:
        """(N,) robust quality of world grasps, each on the object nearest its centre."""
        quality = np.zeros(len(centers))
        targets = self.nearest_object(np.asarray(centers)[:, :2])
        for target in np.unique(targets):
            rows = targets == target
            quality[rows] = self.label(int(target), centers[rows], axes[rows], widths[rows], rng)
        return quality

    def label(
        self,
        target: int,
        centers: np.ndarray,
        axes: np.ndarray,
        widths: np.ndarray,
        rng: np.random.Generator,
    ) -> np.ndarray:
        """Robust quality of grasps on object `target` (0 where the fingers hit another)."""
        quality = self.evaluators[target].evaluate(centers, axes, widths, rng).robust_quality
        if self.surfaces:
            others = [s for i, s in enumerate(self.surfaces) if i != target]
            clear = fingers_clear_of_obstacles(
                centers, axes, widths, others, self.config.gripper, self.config.robustness
            )
            quality = np.where(clear, quality, 0.0)
        return quality

    def nearest_object(self, points_xy: np.ndarray) -> np.ndarray:
        """(N,) scene index of the object on the table whose outline lies nearest each world
        (x, y) point."""
        if len(self.vertices_xy) == 1:
            return np.full(len(points_xy), self.present[0], dtype=np.int64)
        distances = np.stack(
            [
                np.min(np.linalg.norm(points_xy[:, None, :] - v[None, :, :], axis=2), axis=1)
                for v in self.vertices_xy
            ],
            axis=1,
        )
        return self.present[np.argmin(distances, axis=1)]


def _place_objects(scene: Scene, layout: str, rng: np.random.Generator) -> None:
    """Drop the scene's objects anew: "spread" places them apart at random spots within
    `SPREAD_RADIUS` of the drop centre, "pile" at random spots within `PILE_RADIUS`, each
    released just above the objects already placed under it (a low pile, not a tower)."""
    drop = scene.config.drop
    centre = np.array([drop.center_x, drop.center_y])
    area = SPREAD_RADIUS if layout == "spread" else PILE_RADIUS
    placed: list[tuple[np.ndarray, float, float]] = []  # (x-y, bounding radius, top z)
    for index, obj in enumerate(scene.objects):
        radius = obj.bounding_radius
        best, best_gap = centre, -np.inf
        for _ in range(_SPREAD_TRIES if layout == "spread" else 1):
            angle = rng.uniform(0.0, 2.0 * np.pi)
            offset = area * np.sqrt(rng.uniform())
            xy = centre + offset * np.array([np.cos(angle), np.sin(angle)])
            gap = min(
                (np.linalg.norm(xy - other) - radius - r for other, r, _ in placed),
                default=np.inf,
            )
            if gap > best_gap:
                best, best_gap = xy, gap
            if gap >= SPREAD_GAP:
                break
        below = [top for other, r, top in placed if np.linalg.norm(best - other) < radius + r]
        clearance = rng.uniform(drop.min_clearance, drop.max_clearance)
        height = max(below, default=0.0) + clearance + radius
        scene.set_object_pose(index, np.array([best[0], best[1], height]), random_quaternion(rng))
        placed.append((best, radius, height + radius))


def _park_objects(scene: Scene, indices: Sequence[int]) -> None:
    """Lay objects at rest on the floor far beside the table, out of every camera's view."""
    table = scene.config.table
    for rank, index in enumerate(indices):
        radius = scene.objects[index].bounding_radius
        position = np.array([PARK_DISTANCE + rank * 0.5, 0.0, -table.floor_depth + radius + 0.001])
        scene.set_object_pose(index, position, np.array([1.0, 0.0, 0.0, 0.0]))


class _Renderers:
    """The depth camera of one scene, made when first used: the whole sensor image of the
    legacy camera, else the part of the drawn camera's sensor that each view's stored window
    needs (`view_region`), rendered by one renderer moved from view to view."""

    def __init__(self, scene: Scene, config: GenerationConfig) -> None:
        self.scene = scene
        self.config = config
        self.camera: DepthCamera | None = None

    def render(self, spec: CameraSpec, pose: CameraPose, window: StoredWindow):
        """(the frame of the rendered part, its (left, top) in the sensor image)."""
        if not self.config.cameras:
            if self.camera is None:
                self.camera = DepthCamera(self.scene, backend=self.config.render_backend)
            self.camera.set_pose(pose)
            return self.camera.render(), 0, 0
        left, top, width, height = view_region(spec, window)
        camera = CameraConfig(
            intrinsics=spec.intrinsics.cropped(left, top, width, height), pose=pose
        )
        if self.camera is None:
            self.camera = DepthCamera(self.scene, camera, backend=self.config.render_backend)
        else:
            self.camera.set_camera(camera)
        return self.camera.render(), left, top

    def close(self) -> None:
        if self.camera is not None:
            self.camera.close()
            self.camera = None


def view_region(spec: CameraSpec, window: StoredWindow) -> tuple[int, int, int, int]:
    """(left, top, width, height) of the part of `spec`'s sensor image that `window` samples,
    with `_RENDER_MARGIN_PX` around it, within the image."""
    k = spec.intrinsics
    reach = window.step * (window.side - 1)
    bounds = []
    for start, size in ((window.u0, k.width), (window.v0, k.height)):
        low = max(0, math.floor(start + 0.5) - _RENDER_MARGIN_PX)
        high = min(size, math.floor(start + reach + 0.5) + 1 + _RENDER_MARGIN_PX)
        bounds.append((low, high))
    (left, right), (top, bottom) = bounds
    return left, top, right - left, bottom - top


def _noisy(
    depth: np.ndarray,
    intrinsics: CameraIntrinsics,
    spec: CameraSpec,
    world: WorldConfig,
    rng: np.random.Generator,
) -> np.ndarray:
    """The sensor's frame: `spec`'s noise model, or the world's for the legacy camera."""
    noise = world.noise if spec.noise is None else spec.noise
    return apply_sensor_noise(depth, intrinsics, noise, rng)


def _world_for(config: GenerationConfig, world: WorldConfig) -> WorldConfig:
    """The world with an offscreen buffer large enough for every camera of the mix."""
    if not config.cameras:
        return world
    regions = [render_region(config, spec) for spec in config.camera_specs]
    width = max(*(r[2] for r in regions), world.camera.intrinsics.width)
    height = max(*(r[3] for r in regions), world.camera.intrinsics.height)
    if (width, height) == (world.camera.intrinsics.width, world.camera.intrinsics.height):
        return world
    buffer = CameraIntrinsics(width, height, 580.0, 580.0, (width - 1) / 2, (height - 1) / 2)
    return replace(world, camera=replace(world.camera, intrinsics=buffer))


@dataclass
class _View:
    """One rendered view of a settled scene, and the grasps sampled on it (stored window)."""

    camera_index: int
    spec: CameraSpec
    pose: CameraPose
    window: StoredWindow
    table_depth: float
    intrinsics: CameraIntrinsics  # of the stored window
    raw_mm: np.ndarray
    filled: np.ndarray
    view_window: ViewWindow
    # Grasps sampled on this view: centres (N, 2) px, angles, widths px, depths m, sources.
    sampled: tuple[np.ndarray, ...] | None = None
    # The same grasps in the world: centres (N, 3), axes (N, 3), widths (N,) m, targets (N,).
    world_grasps: tuple[np.ndarray, ...] | None = None
    segmentation: np.ndarray | None = None  # object label per stored pixel (0 = none)


@dataclass
class _GraspPool:
    """Labelled world grasps shown in a view: centres (N, 3) m, axes (N, 3), widths (N,) m,
    robust quality (N,), target scene index (N,), source (N,)."""

    centers: np.ndarray
    axes: np.ndarray
    widths: np.ndarray
    quality: np.ndarray
    targets: np.ndarray
    sources: np.ndarray

    @classmethod
    def concatenate(cls, pools: Sequence[_GraspPool]) -> _GraspPool:
        return cls(*(np.concatenate([getattr(p, f.name) for p in pools]) for f in fields(cls)))


def generate_object_images(
    object_index: int,
    base_seed: int,
    config: GenerationConfig,
    world: WorldConfig | None = None,
) -> ObjectImages:
    """All images and labelled grasps of scene `object_index` (deterministic; with one object
    per scene, scene j is object j)."""
    world = _world_for(config, world or WorldConfig())
    objects = scene_objects(config, base_seed, object_index)
    seed = objects[0].seed
    rng = np.random.default_rng(seed)
    camera_rng = np.random.default_rng([seed, _CAMERA_STREAM])
    seconds = dict.fromkeys(
        ("settle", "render", "noise", "inpaint", "sample", "label", "crop"), 0.0
    )
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        seconds[name] += now - clock
        clock = now

    models = [build_object(o.family, o.seed, config.gripper) for o in objects]
    count = len(objects)
    scene = Scene.build(models, world, seed)
    most = config.max_objects
    scene_labels = np.full(most, NO_OBJECT_LABEL, np.uint32)
    scene_labels[:count] = [o.label for o in objects]
    scene_families = np.full(most, NO_FAMILY_LABEL, np.uint8)
    scene_families[:count] = [config.families.index(o.family) for o in objects]
    out = _Output(config, object_index, scene_labels, scene_families, count)
    skipped: list[str] = []
    renderers = _Renderers(scene, config)
    try:
        for drop in range(config.drops_per_object):
            if count > 1:
                _place_objects(
                    scene, config.scene_layout, np.random.default_rng(rng.integers(2**31))
                )
            elif drop > 0:
                scene.redrop(int(rng.integers(2**31)))
            settle = scene.settle()
            if count > 1 and settle.fell_off and len(settle.fell_off) < count:
                # Objects that fell off the table are laid on the floor out of every view and
                # left out of the labels; the objects on the table settle again.
                _park_objects(scene, settle.fell_off)
                settle = scene.settle()
            lap("settle")
            present = [i for i in range(count) if i not in settle.fell_off]
            if not settle.settled or not present or (count == 1 and not settle.ok):
                skipped.append(f"drop {drop}: {settle.message}")
                continue
            labeller = SceneLabeller.of_scene(scene, config, present)
            mesh = _mesh_grasps(models, present, labeller, config, rng)
            scene_poses = np.full((most, 7), np.nan)
            scene_poses[:count] = [matrix_to_pose7(t) for t in labeller.transforms]
            lap("label")
            views: list[_View] = []
            for _ in range(config.views_per_drop):
                view = _render_view(config, world, renderers, camera_rng, rng, lap, skipped, drop)
                if view is None:
                    continue
                view.sampled = _sample_view_grasps(view, config, rng)
                lap("sample")
                if config.share_view_grasps:
                    # Every view of the drop shows the grasps of all of them: label at the end.
                    view.world_grasps = _world_grasps(view, labeller)
                    views.append(view)
                    continue
                pool = _label_view(view, labeller, rng)
                lap("label")
                if not len(mesh.centers) and not len(pool.centers):
                    skipped.append(f"drop {drop}: no grasp of any kind")
                    continue
                out.add(view, mesh, pool, drop, scene_poses)
                lap("crop")
            if views:
                pool = _GraspPool.concatenate([mesh, _label_world_grasps(views, labeller, rng)])
                lap("label")
                for view in views:
                    if not len(pool.centers):
                        skipped.append(f"drop {drop}: no grasp of any kind")
                        continue
                    out.add(view, pool, None, drop, scene_poses)
                    lap("crop")
    finally:
        renderers.close()
    images, grasps = out.arrays()
    return ObjectImages(images=images, grasps=grasps, skipped_drops=skipped, seconds=seconds)


def _mesh_grasps(
    models: Sequence[ObjectModel],
    present: Sequence[int],
    labeller: SceneLabeller,
    config: GenerationConfig,
    rng: np.random.Generator,
) -> _GraspPool:
    """`config.mesh_grasps` antipodal grasps on the true meshes of the objects on the table
    (split evenly between them), labelled."""
    parts = []
    for rank, target in enumerate(present):
        share = config.mesh_grasps // len(present) + (rank < config.mesh_grasps % len(present))
        model = models[target]
        mesh = sample_antipodal_mesh(
            model.vertices,
            model.faces,
            labeller.transforms[target],
            config.gripper,
            max(share, 1),
            rng,
        )
        if len(mesh) and share:
            quality = labeller.label(target, mesh.centers, mesh.axes, mesh.widths, rng)
            n = len(mesh)
            parts.append(
                _GraspPool(
                    mesh.centers, mesh.axes, mesh.widths, quality,
                    np.full(n, target), np.zeros(n, np.uint8),
                )
            )  # fmt: skip
    return _GraspPool.concatenate(parts) if parts else _empty_pool()


def _empty_pool() -> _GraspPool:
    return _GraspPool(
        np.zeros((0, 3)), np.zeros((0, 3)), np.zeros(0), np.zeros(0),
        np.zeros(0, np.int64), np.zeros(0, np.uint8),
    )  # fmt: skip


def _render_view(
    config: GenerationConfig,
    world: WorldConfig,
    renderers: _Renderers,
    camera_rng: np.random.Generator,
    rng: np.random.Generator,
    lap: Any,
    skipped: list[str],
    drop: int,
) -> _View | None:
    """A view of the scene by a camera drawn from the mix: rendered, noisy, stored, inpainted
    (None, with the reason in `skipped`, when the frame cannot be inpainted)."""
    specs = config.camera_specs
    camera_index = 0
    if len(specs) > 1:
        shares = np.array([spec.share for spec in specs])
        camera_index = int(camera_rng.choice(len(specs), p=shares))
    spec = specs[camera_index]
    pose = random_camera_pose(config, rng, spec)
    window, table_depth = stored_window(config, spec, pose)
    frame, left, top = renderers.render(spec, pose, window)
    lap("render")
    noisy = _noisy(frame.depth, frame.intrinsics, spec, world, rng)
    raw_mm = np.round(window.sample(noisy, left, top) * 1000.0)
    raw_mm = np.clip(raw_mm, 0, 65535).astype(np.uint16)
    segmentation = window.sample(frame.segmentation, left, top)
    lap("noise")
    metres = np.where(raw_mm > 0, raw_mm.astype(np.float32) / 1000.0, np.nan)
    try:
        filled = inpaint_depth(metres)
    except DepthFrameError as error:
        skipped.append(f"drop {drop}: {error}")
        return None
    lap("inpaint")
    view = _View(
        camera_index=camera_index,
        spec=spec,
        pose=pose,
        window=window,
        table_depth=table_depth,
        intrinsics=window.stored_intrinsics(spec.intrinsics),
        raw_mm=raw_mm,
        filled=filled,
        view_window=ViewWindow.centered(filled.shape, config.network_input),
        segmentation=segmentation,
    )
    return view


def _sample_view_grasps(
    view: _View, config: GenerationConfig, rng: np.random.Generator
) -> tuple[np.ndarray, ...]:
    """Image and random grasps of a view: (centres px, angles, widths px, depths, sources)."""
    parts = []
    if config.image_grasps:
        image = sample_antipodal_depth(
            view.filled.astype(np.float64), view.intrinsics, config.gripper,
            config.image_grasps, rng,
        )  # fmt: skip
        if len(image):
            parts.append(
                (image.centers_px, image.angles, image.widths_px, image.depths,
                 np.ones(len(image), np.uint8))
            )  # fmt: skip
    if config.random_grasps:
        parts.append(
            (*_random_grasps(view.filled, view.view_window, view.intrinsics, config, rng),
             np.full(config.random_grasps, 2, np.uint8))
        )  # fmt: skip
    if not parts:
        return (np.zeros((0, 2)), np.zeros(0), np.zeros(0), np.zeros(0), np.zeros(0, np.uint8))
    return tuple(np.concatenate([p[i] for p in parts]) for i in range(5))


def _world_grasps(view: _View, labeller: SceneLabeller) -> tuple[np.ndarray, ...]:
    """A view's sampled grasps in the world: (centres, axes, widths m, targets)."""
    centers_px, angles, widths_px, depths, _ = view.sampled
    c_cam, a_cam, w_m = grasps_2d_to_3d(centers_px, angles, widths_px, depths, view.intrinsics)
    rotation, origin = view.pose.transform[:3, :3], view.pose.transform[:3, 3]
    c_w = c_cam @ rotation.T + origin
    a_w = a_cam @ rotation.T
    targets = _grasp_targets(centers_px, c_w, view.segmentation, labeller)
    return c_w, a_w, w_m, targets


def _label_view(view: _View, labeller: SceneLabeller, rng: np.random.Generator) -> _GraspPool:
    """The labelled grasps sampled on one view."""
    c_w, a_w, w_m, targets = _world_grasps(view, labeller)
    quality = np.zeros(len(c_w))
    for target in np.unique(targets):
        rows = targets == target
        quality[rows] = labeller.label(int(target), c_w[rows], a_w[rows], w_m[rows], rng)
    return _GraspPool(c_w, a_w, w_m, quality, targets, view.sampled[4])


def _label_world_grasps(
    views: Sequence[_View], labeller: SceneLabeller, rng: np.random.Generator
) -> _GraspPool:
    """The grasps sampled on every view of a drop, labelled together (one evaluation per
    target object)."""
    c_w, a_w, w_m, targets = (np.concatenate([v.world_grasps[i] for v in views]) for i in range(4))
    sources = np.concatenate([v.sampled[4] for v in views])
    quality = np.zeros(len(c_w))
    for target in np.unique(targets):
        rows = targets == target
        quality[rows] = labeller.label(int(target), c_w[rows], a_w[rows], w_m[rows], rng)
    return _GraspPool(c_w, a_w, w_m, quality, targets, sources)


class _Output:
    """The image and grasp columns of one scene as they are generated."""

    def __init__(
        self,
        config: GenerationConfig,
        scene_index: int,
        scene_labels: np.ndarray,
        scene_families: np.ndarray,
        count: int,
    ) -> None:
        self.config = config
        self.scene_index = scene_index
        self.scene_labels = scene_labels
        self.scene_families = scene_families
        self.count = count
        self.images: dict[str, list] = {name: [] for name in IMAGE_FIELDS}
        self.grasps: dict[str, list] = {name: [] for name in GRASP_FIELDS}
        self.image_count = 0

    def add(
        self,
        view: _View,
        first: _GraspPool,
        second: _GraspPool | None,
        drop: int,
        scene_poses: np.ndarray,
    ) -> None:
        """One image: the view and the labelled grasps of `first` (projected into the view)
        followed by those of `second` (sampled on this view, in its own pixel coordinates)."""
        config, intrinsics = self.config, view.intrinsics
        camera_from_world = np.linalg.inv(view.pose.transform)
        rotation, origin = camera_from_world[:3, :3], camera_from_world[:3, 3]
        projected = grasps_3d_to_2d(
            first.centers @ rotation.T + origin, first.axes @ rotation.T, first.widths, intrinsics
        )
        parts = [(*projected, first.sources, first.quality, first.targets)]
        if second is not None:
            parts.append((*view.sampled[:4], second.sources, second.quality, second.targets))
        centers_px, angles, widths_px, depths, sources, quality, targets = (
            np.concatenate([p[i] for p in parts]) for i in range(7)
        )
        _, _, widths_m = grasps_2d_to_3d(centers_px, angles, widths_px, depths, intrinsics)
        view_image, window = extract_view(view.filled, config.network_input, view.view_window)
        params = grasps_to_stn(centers_px, angles, widths_px, window)
        side = view_image.shape[0]
        with torch.inference_mode():
            # Every grasp samples the one view: an expanded view, not a copy per grasp.
            crops = extract_crops(
                torch.from_numpy(view_image)[None, None].expand(len(centers_px), 1, side, side),
                torch.from_numpy(params.as_array()),
                config.network_input.crop_size,
            ).numpy()
        reference = float(np.median(view_image))
        hand_poses = np.stack(
            [
                centers_px[:, 1], centers_px[:, 0], depths, angles,
                centers_px[:, 1] - intrinsics.cy, centers_px[:, 0] - intrinsics.cx,
                widths_px,
            ],
            axis=1,
        )  # fmt: skip
        n = len(centers_px)
        grasps, images = self.grasps, self.images
        grasps["depth_ims_tf_table"].append(crops.transpose(0, 2, 3, 1))
        grasps["hand_poses"].append(hand_poses)
        grasps["robust_ferrari_canny"].append(quality)
        grasps["stn_params"].append(params.as_array())
        grasps["widths_m"].append(widths_m)
        grasps["view_references"].append(np.full(n, reference))
        grasps["grasp_sources"].append(sources)
        grasps["image_labels"].append(np.full(n, self.image_count))
        grasps["object_labels"].append(self.scene_labels[targets])
        grasps["family_labels"].append(self.scene_families[targets])
        k = view.spec.intrinsics
        images["depth_ims"].append(view.raw_mm[None])
        images["camera_intrinsics"].append(
            [[intrinsics.fx, intrinsics.fy, intrinsics.cx, intrinsics.cy]]
        )
        images["camera_poses"].append(matrix_to_pose7(view.pose.transform)[None])
        images["object_poses"].append(scene_poses[:1])
        images["object_labels"].append(self.scene_labels[:1])
        images["family_labels"].append(self.scene_families[:1])
        images["pose_labels"].append([drop])
        images["camera_ids"].append([view.camera_index])
        images["sensor_intrinsics"].append([[k.width, k.height, k.fx, k.fy, k.cx, k.cy]])
        images["sensor_windows"].append([[view.window.u0, view.window.v0, view.window.step]])
        images["table_depths"].append([view.table_depth])
        images["scene_labels"].append([self.scene_index])
        images["object_counts"].append([self.count])
        images["scene_object_labels"].append(self.scene_labels[None])
        images["scene_family_labels"].append(self.scene_families[None])
        images["scene_object_poses"].append(scene_poses[None])
        self.image_count += 1

    def arrays(self) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        image_specs, grasp_specs = field_specs(self.config)
        return _stack(self.images, image_specs), _stack(self.grasps, grasp_specs)


def _grasp_targets(
    centers_px: np.ndarray,
    centers_world: np.ndarray,
    segmentation: np.ndarray,
    labeller: SceneLabeller,
) -> np.ndarray:
    """(N,) scene index of each grasp's target: the object seen at its centre pixel, else the
    object nearest to its centre on the table."""
    targets = labeller.nearest_object(centers_world[:, :2])
    if len(labeller.evaluators) == 1:
        return targets
    height, width = segmentation.shape
    cols = np.clip(np.round(centers_px[:, 0]).astype(int), 0, width - 1)
    rows = np.clip(np.round(centers_px[:, 1]).astype(int), 0, height - 1)
    seen = segmentation[rows, cols].astype(np.int64) - 1  # label i + 1 is object i
    return np.where(np.isin(seen, labeller.present), seen, targets)


def _stack(columns: dict[str, list], specs: dict) -> dict[str, np.ndarray]:
    out = {}
    for name, (dtype, shape) in specs.items():
        parts = columns[name]
        if parts:
            out[name] = np.concatenate([np.asarray(p).reshape(-1, *shape) for p in parts])
            out[name] = out[name].astype(dtype)
        else:
            out[name] = np.zeros((0, *shape), dtype=dtype)
    return out
