"""Labelled grasp images from the synthetic world, in the Dex-Net 2.0 TensorDataset layout.

One *object* (a procedural object of one family, from a seed) is dropped `drops_per_object`
times on the table; each settled pose is seen by the simulated Kinect from `views_per_drop`
random camera poses (height, tilt, aim jitter: a network must not learn one mount). Each view
is one image: the raw noisy frame (holes = 0, as a 16UC1 sensor delivers it), cropped to the
networks' view window (`NetworkInputConfig.view_size_px` about the image centre), stored in
millimetres. On the inpainted view three kinds of grasps are labelled by the robust
Ferrari-Canny metric on the object's true mesh:

* mesh grasps: antipodal grasps sampled on the true 3-D mesh, as Dex-Net 2.0 did;
* image grasps: antipodal grasps sampled on the depth image, what Prop+GQ-CNN proposes;
* random grasps: uniform over the STN's translation range, any angle and opening, at a depth
  below the visible surface: the hard negatives a one-shot network will produce early on.

Every grasp gets the 32x32 crop of `gqstn_ros.preprocessing` (the one GQ-CNN and GQ-STN see),
Dex-Net's 7 hand-pose columns and its robust metric. Objects are numbered globally; object `j`
is of family `families[j % len(families)]` with seed `object_seed(base_seed, j)`, so any shard
can be regenerated alone and identically.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field

import numpy as np
import torch

from gqstn_ros.camera_model import CameraIntrinsics
from gqstn_ros.depth_processing import DepthFrameError, inpaint_depth
from gqstn_ros.grasping.antipodal import sample_antipodal_depth, sample_antipodal_mesh
from gqstn_ros.grasping.grasp import (
    HAND_POSE_SIZE,
    grasps_2d_to_3d,
    grasps_3d_to_2d,
    wrap_angle,
)
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
from gqstn_ros.sim.objects import FAMILIES, check_family, generate_object
from gqstn_ros.sim.scene import Scene
from gqstn_ros.sim.sensor_models import apply_sensor_noise
from gqstn_ros.sim.world_config import CameraPose, WorldConfig, matrix_to_quaternion

GRASP_SOURCES = ("mesh", "image", "random")  # grasp_sources field values 0, 1, 2


@dataclass(frozen=True)
class GenerationConfig:
    """What one dataset is made of (metres, radians)."""

    families: tuple[str, ...] = FAMILIES
    drops_per_object: int = 3  # settled poses per object
    views_per_drop: int = 2  # camera poses per settled pose
    mesh_grasps: int = 50  # antipodal grasps on the true mesh per settled pose
    image_grasps: int = 40  # antipodal grasps on the depth image per view
    random_grasps: int = 20  # random grasps per view (hard negatives)
    camera_height_range: tuple[float, float] = (0.62, 0.78)  # m above the table
    camera_tilt_max: float = 0.06  # rad, about each optical axis x and y
    camera_aim_jitter: float = 0.02  # m, where the optical axis meets the table
    random_depth_range: tuple[float, float] = (0.0, 0.035)  # m below the surface at the centre
    network_input: NetworkInputConfig = field(default_factory=NetworkInputConfig)
    gripper: GripperConfig = ROBOTIQ_2F85
    robustness: RobustnessConfig = field(default_factory=RobustnessConfig)
    render_backend: str = "auto"

    def __post_init__(self) -> None:
        if not self.families:
            raise ValueError("GenerationConfig.families must name at least one family")
        for family in self.families:
            check_family(family)
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

    def to_dict(self) -> dict:
        return asdict(self)


def object_seed(base_seed: int, object_index: int) -> int:
    """The seed of object `object_index` of a dataset (disjoint streams per base seed)."""
    return int(np.random.SeedSequence([base_seed, object_index]).generate_state(1)[0] >> 1)


def object_family(config: GenerationConfig, object_index: int) -> str:
    return config.families[object_index % len(config.families)]


@dataclass
class ObjectImages:
    """Everything generated for one object: per-image and per-grasp arrays (numpy)."""

    images: dict[str, np.ndarray]
    grasps: dict[str, np.ndarray]
    skipped_drops: list[str]  # why a settled pose was not used
    seconds: dict[str, float]


IMAGE_FIELDS = {
    # name: (dtype, per-datapoint shape); shape of depth_ims is filled in from the config
    "depth_ims": ("uint16", None),  # raw noisy view window, millimetres, 0 = no data
    "camera_intrinsics": ("float32", (4,)),  # fx, fy, cx, cy of the stored window
    "camera_poses": ("float32", (7,)),  # x, y, z, qw, qx, qy, qz: world <- optical
    "object_poses": ("float32", (7,)),  # x, y, z, qw, qx, qy, qz: world <- object
    "object_labels": ("uint32", ()),
    "family_labels": ("uint8", ()),
    "pose_labels": ("uint8", ()),  # drop index of the object (Dex-Net's stable pose label)
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
    "object_labels": ("uint32", ()),
    "family_labels": ("uint8", ()),
}


def field_specs(config: GenerationConfig) -> tuple[dict, dict]:
    """(image fields, grasp fields) as {name: (dtype, shape)} for the TensorDataset writers."""
    side = config.network_input.view_size_px
    crop = config.network_input.crop_size
    images = {k: (d, s if s is not None else (side, side)) for k, (d, s) in IMAGE_FIELDS.items()}
    grasps = {k: (d, s if s is not None else (crop, crop, 1)) for k, (d, s) in GRASP_FIELDS.items()}
    return images, grasps


def random_camera_pose(config: GenerationConfig, rng: np.random.Generator) -> CameraPose:
    aim = rng.uniform(-config.camera_aim_jitter, config.camera_aim_jitter, 2)
    return CameraPose.looking_down(
        height=float(rng.uniform(*config.camera_height_range)),
        target_x=float(aim[0]),
        target_y=float(aim[1]),
        tilt_about_x=float(rng.uniform(-config.camera_tilt_max, config.camera_tilt_max)),
        tilt_about_y=float(rng.uniform(-config.camera_tilt_max, config.camera_tilt_max)),
    )


def view_window_pixels(intrinsics: CameraIntrinsics, side: int) -> tuple[int, int]:
    """(left, top) of the `side` x `side` window about the image centre, in whole pixels."""
    if side > intrinsics.width or side > intrinsics.height:
        raise ValueError(
            f"view window {side} px does not fit the {intrinsics.width}x{intrinsics.height} image"
        )
    return (intrinsics.width - side) // 2, (intrinsics.height - side) // 2


def _pose7(transform: np.ndarray) -> np.ndarray:
    return np.concatenate([transform[:3, 3], matrix_to_quaternion(transform[:3, :3])])


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


def generate_object_images(
    object_index: int,
    base_seed: int,
    config: GenerationConfig,
    world: WorldConfig | None = None,
) -> ObjectImages:
    """All images and labelled grasps of object `object_index` (deterministic)."""
    world = world or WorldConfig()
    seed = object_seed(base_seed, object_index)
    family = object_family(config, object_index)
    family_label = config.families.index(family)
    rng = np.random.default_rng(seed)
    seconds = dict.fromkeys(
        ("settle", "render", "noise", "inpaint", "sample", "label", "crop"), 0.0
    )
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        seconds[name] += now - clock
        clock = now

    model = generate_object(family, seed)
    scene = Scene.build([model], world, seed)
    side = config.network_input.view_size_px
    images: dict[str, list] = {name: [] for name in IMAGE_FIELDS}
    grasps: dict[str, list] = {name: [] for name in GRASP_FIELDS}
    skipped: list[str] = []
    image_count = 0
    with DepthCamera(scene, backend=config.render_backend) as camera:
        for drop in range(config.drops_per_object):
            if drop > 0:
                scene.redrop(int(rng.integers(2**31)))
            settle = scene.settle()
            lap("settle")
            if not settle.ok:
                skipped.append(f"drop {drop}: {settle.message}")
                continue
            world_from_object = scene.object_transform(0)
            evaluator = GraspQualityEvaluator.from_object(
                model.vertices, model.faces, world_from_object, config.gripper, config.robustness
            )
            mesh = sample_antipodal_mesh(
                model.vertices,
                model.faces,
                world_from_object,
                config.gripper,
                max(config.mesh_grasps, 1),
                rng,
            )
            mesh_quality = (
                evaluator.evaluate(mesh.centers, mesh.axes, mesh.widths, rng).robust_quality
                if len(mesh) and config.mesh_grasps
                else np.zeros(0)
            )
            lap("label")
            for _ in range(config.views_per_drop):
                camera.set_pose(random_camera_pose(config, rng))
                frame = camera.render()
                lap("render")
                noisy = apply_sensor_noise(frame.depth, frame.intrinsics, world.noise, rng)
                left, top = view_window_pixels(frame.intrinsics, side)
                raw_mm = np.round(noisy[top : top + side, left : left + side] * 1000.0)
                raw_mm = np.clip(raw_mm, 0, 65535).astype(np.uint16)
                intrinsics = frame.intrinsics.cropped(left, top, side, side)
                lap("noise")
                metres = np.where(raw_mm > 0, raw_mm.astype(np.float32) / 1000.0, np.nan)
                try:
                    filled = inpaint_depth(metres)
                except DepthFrameError as error:
                    skipped.append(f"drop {drop}: {error}")
                    continue
                lap("inpaint")
                camera_from_world = np.linalg.inv(frame.pose.transform)
                batches = []  # (centres px, angles, widths px, depths, source) per kind
                if len(mesh) and config.mesh_grasps:
                    centers_c = (
                        mesh.centers @ camera_from_world[:3, :3].T + camera_from_world[:3, 3]
                    )
                    axes_c = mesh.axes @ camera_from_world[:3, :3].T
                    projected = grasps_3d_to_2d(centers_c, axes_c, mesh.widths, intrinsics)
                    batches.append((*projected, np.zeros(len(mesh), np.uint8), mesh_quality))
                if config.image_grasps:
                    image = sample_antipodal_depth(
                        filled.astype(np.float64), intrinsics, config.gripper,
                        config.image_grasps, rng,
                    )  # fmt: skip
                    if len(image):
                        batches.append(
                            (image.centers_px, image.angles, image.widths_px, image.depths,
                             np.ones(len(image), np.uint8), None)
                        )  # fmt: skip
                window = ViewWindow.centered(filled.shape, config.network_input)
                if config.random_grasps:
                    batches.append(
                        (*_random_grasps(filled, window, intrinsics, config, rng),
                         np.full(config.random_grasps, 2, np.uint8), None)
                    )  # fmt: skip
                lap("sample")
                if not batches:
                    skipped.append(f"drop {drop}: no grasp of any kind")
                    continue
                centers_px = np.concatenate([b[0] for b in batches])
                angles = np.concatenate([b[1] for b in batches])
                widths_px = np.concatenate([b[2] for b in batches])
                depths = np.concatenate([b[3] for b in batches])
                sources = np.concatenate([b[4] for b in batches])
                quality = np.zeros(len(centers_px))
                known = np.zeros(len(centers_px), bool)
                offset = 0
                for batch in batches:
                    count = len(batch[0])
                    if batch[5] is not None:
                        quality[offset : offset + count] = batch[5]
                        known[offset : offset + count] = True
                    offset += count
                unknown = ~known
                if unknown.any():
                    c_cam, a_cam, w_m = grasps_2d_to_3d(
                        centers_px[unknown], angles[unknown], widths_px[unknown],
                        depths[unknown], intrinsics,
                    )  # fmt: skip
                    world_from_camera = frame.pose.transform
                    c_w = c_cam @ world_from_camera[:3, :3].T + world_from_camera[:3, 3]
                    a_w = a_cam @ world_from_camera[:3, :3].T
                    quality[unknown] = evaluator.evaluate(c_w, a_w, w_m, rng).robust_quality
                lap("label")
                _, _, widths_m = grasps_2d_to_3d(centers_px, angles, widths_px, depths, intrinsics)
                view, window = extract_view(filled, config.network_input, window)
                params = grasps_to_stn(centers_px, angles, widths_px, window)
                with torch.inference_mode():
                    crops = extract_crops(
                        torch.from_numpy(view)[None, None],
                        torch.from_numpy(params.as_array()),
                        config.network_input.crop_size,
                        torch.zeros(len(centers_px), dtype=torch.long),
                    ).numpy()
                reference = float(np.median(view))
                hand_poses = np.stack(
                    [
                        centers_px[:, 1], centers_px[:, 0], depths, angles,
                        centers_px[:, 1] - intrinsics.cy, centers_px[:, 0] - intrinsics.cx,
                        widths_px,
                    ],
                    axis=1,
                )  # fmt: skip
                count = len(centers_px)
                grasps["depth_ims_tf_table"].append(crops.transpose(0, 2, 3, 1))
                grasps["hand_poses"].append(hand_poses)
                grasps["robust_ferrari_canny"].append(quality)
                grasps["stn_params"].append(params.as_array())
                grasps["widths_m"].append(widths_m)
                grasps["view_references"].append(np.full(count, reference))
                grasps["grasp_sources"].append(sources)
                grasps["image_labels"].append(np.full(count, image_count))
                grasps["object_labels"].append(np.full(count, object_index))
                grasps["family_labels"].append(np.full(count, family_label))
                images["depth_ims"].append(raw_mm[None])
                images["camera_intrinsics"].append(
                    [[intrinsics.fx, intrinsics.fy, intrinsics.cx, intrinsics.cy]]
                )
                images["camera_poses"].append(_pose7(frame.pose.transform)[None])
                images["object_poses"].append(_pose7(world_from_object)[None])
                images["object_labels"].append([object_index])
                images["family_labels"].append([family_label])
                images["pose_labels"].append([drop])
                image_count += 1
                lap("crop")
    image_specs, grasp_specs = field_specs(config)
    return ObjectImages(
        images=_stack(images, image_specs),
        grasps=_stack(grasps, grasp_specs),
        skipped_drops=skipped,
        seconds=seconds,
    )


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
