"""Depth views of a settled scene through a camera profile (`gqstn_ros.profiles`).

The one rendering path of the tools that show or benchmark cameras on our own scenes (the
generalization benchmark, the camera sheet): drop objects and settle them on the table
(`settle_scene`), place a camera within a profile's mounting (`mounting_pose`), render clean
depth and the profile's sensor noise on it (`render_sensor_view`). Inpainting is left to the
caller, as the depth node does it on the published (raw) frame.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from gqstn_ros.camera_model import CameraIntrinsics
from gqstn_ros.profiles import CameraProfile
from gqstn_ros.sim.camera import DepthCamera
from gqstn_ros.sim.objects import ObjectModel
from gqstn_ros.sim.scene import Scene
from gqstn_ros.sim.sensor_models import apply_sensor_noise
from gqstn_ros.sim.world_config import CameraConfig, CameraPose, WorldConfig


@dataclass(frozen=True)
class SensorView:
    """One frame of a camera profile.

    clean: (H, W) float32 rendered z-depth in metres, 0 = nothing hit.
    raw: (H, W) float32 depth with the profile's sensor noise, as its driver publishes it
    (0 = no data: holes). intrinsics / pose: the camera that took it (pose: world <- optical).
    """

    clean: np.ndarray
    raw: np.ndarray
    intrinsics: CameraIntrinsics
    pose: CameraPose


def buffer_intrinsics(cameras: Sequence[CameraIntrinsics]) -> CameraIntrinsics:
    """Intrinsics whose image is as wide and as tall as the largest of `cameras`: a scene built
    with them (`WorldConfig.camera`) has an offscreen buffer that every one of them fits."""
    if not cameras:
        raise ValueError("cameras: name at least one camera")
    if len(cameras) == 1:
        return cameras[0]
    width = max(c.width for c in cameras)
    height = max(c.height for c in cameras)
    return CameraIntrinsics(
        width=width, height=height, fx=cameras[0].fx, fy=cameras[0].fy,
        cx=(width - 1) / 2, cy=(height - 1) / 2,
    )  # fmt: skip


def settle_scene(
    models: Sequence[ObjectModel], seed: int, cameras: Sequence[CameraIntrinsics]
) -> Scene | None:
    """`models` dropped at poses drawn from `seed` (`Scene.build`) and settled, in a world whose
    offscreen buffer fits every camera of `cameras`; None when the scene does not settle or an
    object ends off the table. The same models and seed give the same settled poses."""
    world = WorldConfig(camera=CameraConfig(intrinsics=buffer_intrinsics(cameras)))
    scene = Scene.build(models, world, seed)
    settle = scene.settle()
    if not settle.ok or scene.objects_off_table():
        return None
    return scene


def mounting_pose(
    profile: CameraProfile,
    target: tuple[float, float],
    rng: np.random.Generator,
    height: float | None = None,
) -> tuple[CameraPose, float]:
    """(pose, height): a camera of `profile` looking down at `target` (x, y on the table top).

    height: metres above the table top; None draws it uniformly in the profile's height range.
    Then the tilts about the image x and y axes are drawn uniformly within +-tilt_max and the
    yaw uniformly in [-pi, pi), in this order (a run's draws do not depend on the caller).
    """
    if height is None:
        low, high = profile.height_range
        height = float(rng.uniform(low, high))
    pose = CameraPose.looking_down(
        height=height,
        target_x=float(target[0]),
        target_y=float(target[1]),
        tilt_about_x=float(rng.uniform(-profile.tilt_max, profile.tilt_max)),
        tilt_about_y=float(rng.uniform(-profile.tilt_max, profile.tilt_max)),
        yaw=float(rng.uniform(-math.pi, math.pi)),
    )
    return pose, height


def render_sensor_view(
    scene: Scene, profile: CameraProfile, pose: CameraPose, rng: np.random.Generator | int
) -> SensorView:
    """Render `scene` in its current state with `profile`'s camera at `pose` and add its sensor
    noise (`apply_sensor_noise`, drawing from `rng`). The profile's image must fit the scene's
    offscreen buffer (`settle_scene` with the profile among its cameras)."""
    camera_config = CameraConfig(intrinsics=profile.intrinsics, pose=pose)
    with DepthCamera(scene, camera_config) as camera:
        frame = camera.render()
    raw = apply_sensor_noise(frame.depth, frame.intrinsics, profile.noise, rng)
    return SensorView(clean=frame.depth, raw=raw, intrinsics=frame.intrinsics, pose=pose)
