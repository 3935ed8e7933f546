"""Simulated depth camera (Kinect-like) over a `Scene`: clean depth and segmentation images.

Two backends with identical conventions:
- "gl": MuJoCo's OpenGL renderer in an offscreen context (EGL or OSMesa, headless), one pass
  giving depth and per-pixel geom ids;
- "raycast": `mujoco.mj_multiRay`, one ray per pixel centre, no GL needed.
"auto" uses GL when a context can be created and otherwise falls back to ray casting (logged).

Depth: float32 (H, W), metres along the optical axis (z-depth, not ray length), 0 where no
surface is seen (beyond the far clip or no geometry). Segmentation: int32 (H, W), 0 for the
background (table, floor, nothing), i + 1 for object i of the scene. Pixel (u, v) = (column,
row), intrinsics from `gqstn_ros.camera_model`; the optical frame is REP 103 (z forward, x right,
y down).
"""

from __future__ import annotations

import atexit
import importlib
import logging
import os
import weakref
from dataclasses import dataclass
from typing import Any

import mujoco
import numpy as np

from gqstn_ros.camera_model import CameraIntrinsics
from gqstn_ros.sim.scene import BACKGROUND_LABEL, VISIBLE_GEOM_GROUPS, Scene, set_camera_in_model
from gqstn_ros.sim.world_config import CameraConfig, CameraPose, check_camera_sees_table

LOGGER = logging.getLogger(__name__)

BACKENDS = ("auto", "gl", "raycast")
# Headless GL platforms tried in this order when MUJOCO_GL does not name one.
GL_PLATFORMS = ("egl", "osmesa")
_GL_DISABLED_VALUES = ("disable", "disabled", "off", "false", "0")
# Upper bound of geoms MuJoCo's visual scene holds (objects have a few dozen each).
_MAX_VISUAL_GEOMS = 2000
# Rays whose hit lies beyond this are "no hit" for mj_multiRay (ray parameter, metres for z=1).
_RAY_CUTOFF = 1e6


@dataclass(frozen=True)
class DepthFrame:
    """One rendered frame.

    depth: (H, W) float32, metres along the optical axis, 0 = no data.
    segmentation: (H, W) int32, 0 = background, i + 1 = object i.
    backend: "gl" or "raycast". intrinsics / pose: the camera that took it.
    """

    depth: np.ndarray
    segmentation: np.ndarray
    backend: str
    intrinsics: CameraIntrinsics
    pose: CameraPose


class GLUnavailableError(RuntimeError):
    """No headless OpenGL context could be created."""


_working_platform: str | None = None
# Renderers still holding a GL context: closed at exit, before Python tears down the modules
# that the contexts' own finalizers need (OSMesa otherwise prints errors at shutdown).
_live_gl_renderers: weakref.WeakSet[_GLRenderer] = weakref.WeakSet()


def _close_live_gl_renderers() -> None:
    for renderer in list(_live_gl_renderers):
        try:
            renderer.close()
        except Exception as error:  # the GL library may already be shutting down
            LOGGER.debug("closing a GL renderer at exit: %s", error)


def _gl_platform_candidates() -> tuple[str, ...]:
    requested = os.environ.get("MUJOCO_GL", "").strip().lower()
    if requested in _GL_DISABLED_VALUES:
        return ()
    if _working_platform is not None:
        return (_working_platform,)
    if requested in GL_PLATFORMS:
        return (requested,)
    return GL_PLATFORMS


def _create_gl_context(width: int, height: int) -> tuple[Any, str]:
    """A current headless GL context of at least width x height, and its platform name."""
    global _working_platform  # noqa: PLW0603 - the platform is fixed for the whole process
    candidates = _gl_platform_candidates()
    if not candidates:
        raise GLUnavailableError("OpenGL disabled by MUJOCO_GL")
    errors = []
    for platform in candidates:
        try:
            module = importlib.import_module(f"mujoco.{platform}")
            context = module.GLContext(width, height)
            context.make_current()
        except Exception as error:  # PyOpenGL raises many types (ImportError, GLError, ...)
            errors.append(f"{platform}: {type(error).__name__}: {error}")
            continue
        if _working_platform is None:
            # Registered after the platform module's own exit handlers, so it runs before them.
            atexit.register(_close_live_gl_renderers)
        _working_platform = platform
        return context, platform
    raise GLUnavailableError("no headless OpenGL context: " + "; ".join(errors))


class _GLRenderer:
    """Offscreen MuJoCo rendering of depth and geom ids in one pass."""

    def __init__(self, model: mujoco.MjModel, camera_id: int, width: int, height: int) -> None:
        buffer_width, buffer_height = model.vis.global_.offwidth, model.vis.global_.offheight
        if width > buffer_width or height > buffer_height:
            raise ValueError(
                f"camera.intrinsics: image {width}x{height} exceeds the model's offscreen "
                f"buffer {buffer_width}x{buffer_height}"
            )
        self._model = model
        self._context, self.platform = _create_gl_context(buffer_width, buffer_height)
        try:
            self._mjr = mujoco.MjrContext(model, mujoco.mjtFontScale.mjFONTSCALE_100)
            mujoco.mjr_setBuffer(mujoco.mjtFramebuffer.mjFB_OFFSCREEN, self._mjr)
            self._mjr.readDepthMap = mujoco.mjtDepthMap.mjDEPTH_ZEROFAR
        except Exception as error:
            self._free_context()
            raise GLUnavailableError(f"MuJoCo GL context failed: {error}") from error
        self._scene = mujoco.MjvScene(model, maxgeom=_MAX_VISUAL_GEOMS)
        self._option = mujoco.MjvOption()
        self._option.geomgroup[:] = VISIBLE_GEOM_GROUPS
        self._camera = mujoco.MjvCamera()
        self._camera.type = mujoco.mjtCamera.mjCAMERA_FIXED
        self._camera.fixedcamid = camera_id
        self._rect = mujoco.MjrRect(0, 0, width, height)
        self._rgb = np.empty((height, width, 3), dtype=np.uint8)
        self._depth = np.empty((height, width), dtype=np.float32)
        _live_gl_renderers.add(self)

    def resize(self, width: int, height: int) -> None:
        """Render width x height images from now on (within the model's offscreen buffer)."""
        buffer_width, buffer_height = (
            self._model.vis.global_.offwidth,
            self._model.vis.global_.offheight,
        )
        if width > buffer_width or height > buffer_height:
            raise ValueError(
                f"camera.intrinsics: image {width}x{height} exceeds the model's offscreen "
                f"buffer {buffer_width}x{buffer_height}"
            )
        self._rect = mujoco.MjrRect(0, 0, width, height)
        self._rgb = np.empty((height, width, 3), dtype=np.uint8)
        self._depth = np.empty((height, width), dtype=np.float32)

    def render(self, data: mujoco.MjData) -> tuple[np.ndarray, np.ndarray]:
        """(z-depth (H, W) float64 metres, inf where nothing; geom id (H, W) int32, -1 none)."""
        self._context.make_current()
        mujoco.mjv_updateScene(
            self._model,
            data,
            self._option,
            None,
            self._camera,
            mujoco.mjtCatBit.mjCAT_ALL,
            self._scene,
        )
        self._scene.flags[mujoco.mjtRndFlag.mjRND_SEGMENT] = True
        self._scene.flags[mujoco.mjtRndFlag.mjRND_IDCOLOR] = True
        mujoco.mjr_render(self._rect, self._scene, self._mjr)
        mujoco.mjr_readPixels(self._rgb, self._depth, self._rect, self._mjr)
        # Segment colours encode (segid + 1); 0 is the background.
        rgb = np.flipud(self._rgb).astype(np.int64)
        segment = rgb[..., 0] + (rgb[..., 1] << 8) + (rgb[..., 2] << 16)
        count = self._scene.ngeom
        segment_to_geom = np.full(count + 2, -1, dtype=np.int32)
        for geom in self._scene.geoms[:count]:
            if geom.segid >= 0 and geom.objtype == mujoco.mjtObj.mjOBJ_GEOM:
                segment_to_geom[geom.segid + 1] = geom.objid
        geom_ids = segment_to_geom[np.clip(segment, 0, count + 1)]
        # Reverse-Z perspective depth buffer (readDepthMap = ZEROFAR) back to metres, as in
        # mujoco.Renderer, with the near / far planes of the camera that was actually used.
        gl_camera = self._scene.camera[0]
        near = np.float32(gl_camera.frustum_near)
        far = np.float32(gl_camera.frustum_far)
        c_coef = -(far + near) / (far - near)
        d_coef = -(np.float32(2) * far * near) / (far - near)
        c_coef = np.float32(-0.5) * c_coef - np.float32(0.5)
        d_coef = np.float32(-0.5) * d_coef
        depth = d_coef / (np.flipud(self._depth).astype(np.float64) + c_coef)
        depth[geom_ids < 0] = np.inf
        return depth, geom_ids

    def _free_context(self) -> None:
        context, self._context = self._context, None
        if context is not None:
            try:
                context.free()
            except Exception as error:  # freeing at interpreter exit may find GL gone
                LOGGER.debug("freeing GL context: %s", error)

    def close(self) -> None:
        mjr = getattr(self, "_mjr", None)
        if mjr is not None and self._context is not None:
            self._context.make_current()
            mjr.free()
            self._mjr = None
        self._free_context()


class _RaycastRenderer:
    """One `mj_multiRay` ray per pixel centre from the optical centre."""

    def __init__(self, intrinsics: CameraIntrinsics) -> None:
        v, u = np.mgrid[0 : intrinsics.height, 0 : intrinsics.width]
        # Directions in the optical frame with unit z: the hit's ray parameter is its z-depth.
        self._directions = np.stack(
            [
                (u - intrinsics.cx) / intrinsics.fx,
                (v - intrinsics.cy) / intrinsics.fy,
                np.ones(u.shape),
            ],
            axis=-1,
        ).reshape(-1, 3)
        self._shape = (intrinsics.height, intrinsics.width)
        count = self._directions.shape[0]
        self._geom_ids = np.empty(count, dtype=np.int32)
        self._distances = np.empty(count, dtype=np.float64)

    def render(
        self, model: mujoco.MjModel, data: mujoco.MjData, pose: CameraPose
    ) -> tuple[np.ndarray, np.ndarray]:
        """(z-depth (H, W) float64 metres, inf where nothing; geom id (H, W) int32, -1 none)."""
        world_directions = np.ascontiguousarray(self._directions @ pose.rotation.T).reshape(-1)
        mujoco.mj_multiRay(
            model,
            data,
            np.asarray(pose.position, dtype=np.float64),
            world_directions,
            VISIBLE_GEOM_GROUPS,
            1,
            -1,
            self._geom_ids,
            self._distances,
            None,
            len(self._geom_ids),
            _RAY_CUTOFF,
        )
        depth = np.where(self._geom_ids >= 0, self._distances, np.inf).reshape(self._shape)
        return depth, self._geom_ids.reshape(self._shape).copy()


class DepthCamera:
    """Depth + segmentation camera over a scene (see the module docstring for conventions).

    camera: intrinsics, pose and clip range; defaults to the scene's `config.camera`.
    backend: "auto" | "gl" | "raycast". "gl" raises GLUnavailableError when no context can be
    made; "auto" then falls back to "raycast" and logs a warning.
    """

    def __init__(
        self, scene: Scene, camera: CameraConfig | None = None, backend: str = "auto"
    ) -> None:
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
        self._scene = scene
        self._camera = camera or scene.config.camera
        check_camera_sees_table(self._camera.pose, scene.config.table)
        intrinsics = self._camera.intrinsics
        self._gl: _GLRenderer | None = None
        self._raycast: _RaycastRenderer | None = None
        self.gl_platform: str | None = None
        if backend in ("auto", "gl"):
            try:
                set_camera_in_model(scene.model, scene.camera_id, self._camera)
                self._gl = _GLRenderer(
                    scene.model, scene.camera_id, intrinsics.width, intrinsics.height
                )
                self.gl_platform = self._gl.platform
            except GLUnavailableError as error:
                if backend == "gl":
                    raise
                LOGGER.warning("OpenGL depth rendering unavailable, using ray casting: %s", error)
        if self._gl is None:
            self._raycast = _RaycastRenderer(intrinsics)
        self.backend = "gl" if self._gl is not None else "raycast"
        LOGGER.info(
            "depth camera %dx%d, backend %s%s",
            intrinsics.width,
            intrinsics.height,
            self.backend,
            f" ({self.gl_platform})" if self.gl_platform else "",
        )

    @property
    def intrinsics(self) -> CameraIntrinsics:
        return self._camera.intrinsics

    @property
    def pose(self) -> CameraPose:
        return self._camera.pose

    @property
    def config(self) -> CameraConfig:
        return self._camera

    def set_pose(self, pose: CameraPose) -> None:
        """Move the camera; raises ValueError if it would not see the table."""
        check_camera_sees_table(pose, self._scene.config.table)
        self._camera = CameraConfig(
            self._camera.intrinsics, pose, self._camera.near_clip, self._camera.far_clip
        )

    def set_camera(self, camera: CameraConfig) -> None:
        """Change the whole camera (intrinsics, pose, clip range), keeping the renderer: the
        image must fit the model's offscreen buffer. Raises ValueError if it would not see the
        table or does not fit."""
        check_camera_sees_table(camera.pose, self._scene.config.table)
        old = self._camera.intrinsics
        size_changed = (camera.intrinsics.width, camera.intrinsics.height) != (
            old.width, old.height,
        )  # fmt: skip
        if self._gl is not None and size_changed:
            self._gl.resize(camera.intrinsics.width, camera.intrinsics.height)
        elif self._raycast is not None and camera.intrinsics != old:
            self._raycast = _RaycastRenderer(camera.intrinsics)
        self._camera = camera

    def render(self) -> DepthFrame:
        """Clean depth and segmentation of the scene's current state."""
        model, data = self._scene.model, self._scene.data
        if self._gl is None and self._raycast is None:
            raise RuntimeError("render called after close")
        if self._gl is not None:
            set_camera_in_model(model, self._scene.camera_id, self._camera)
            mujoco.mj_kinematics(model, data)
            mujoco.mj_camlight(model, data)
            depth, geom_ids = self._gl.render(data)
        else:
            depth, geom_ids = self._raycast.render(  # type: ignore[union-attr]
                model, data, self._camera.pose
            )
        visible = np.isfinite(depth) & (depth <= self._camera.far_clip)
        labels = np.where(
            geom_ids >= 0, self._scene.geom_labels[np.maximum(geom_ids, 0)], BACKGROUND_LABEL
        )
        labels = np.where(visible, labels, BACKGROUND_LABEL).astype(np.int32)
        return DepthFrame(
            depth=np.where(visible, depth, 0.0).astype(np.float32),
            segmentation=labels,
            backend=self.backend,
            intrinsics=self.intrinsics,
            pose=self.pose,
        )

    def close(self) -> None:
        """Free the GL context (no-op for ray casting)."""
        if self._gl is not None:
            self._gl.close()
            self._gl = None
        self._raycast = None

    def __enter__(self) -> DepthCamera:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
