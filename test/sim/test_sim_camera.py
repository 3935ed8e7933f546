"""Simulated depth camera: z-depth conventions, GL and ray casting agree, backend selection."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from gqstn_ros.camera_model import KINECT_V1
from gqstn_ros.sim import camera as camera_module
from gqstn_ros.sim.camera import DepthCamera, DepthFrame, GLUnavailableError
from gqstn_ros.sim.scene import Scene
from gqstn_ros.sim.world_config import CameraConfig, CameraPose

# A tilted camera with an off-centre principal point: exercises every intrinsic and the pose.
TILTED_CAMERA = CameraConfig(
    intrinsics=KINECT_V1.cropped(24, 40, 600, 400),
    pose=CameraPose.looking_down(
        height=0.65, target_x=0.03, tilt_about_x=0.15, tilt_about_y=-0.1, yaw=0.3
    ),
)


def _gl_camera(scene: Scene, camera: CameraConfig | None = None) -> DepthCamera:
    try:
        return DepthCamera(scene, camera, backend="gl")
    except GLUnavailableError as error:
        pytest.skip(f"no headless OpenGL here: {error}")


def _table_points_in_world(frame: DepthFrame) -> np.ndarray:
    """World points of the pixels that see the table (background label, valid depth)."""
    table = (frame.segmentation == 0) & (frame.depth > 0)
    points = frame.intrinsics.point_cloud(frame.depth.astype(np.float64))[table]
    return points @ frame.pose.rotation.T + np.asarray(frame.pose.position)


@pytest.mark.parametrize("backend", ["raycast", "gl"])
def test_table_at_70_cm_and_object_top_at_its_height(box_scene: Scene, backend: str) -> None:
    camera = (
        DepthCamera(box_scene, backend="raycast") if backend == "raycast" else _gl_camera(box_scene)
    )
    with camera:
        frame = camera.render()
    k = KINECT_V1
    assert frame.depth.shape == (k.height, k.width) and frame.depth.dtype == np.float32
    assert frame.segmentation.dtype == np.int32 and frame.backend == backend
    # The image centre sees the bare table 0.70 m below the camera.
    assert frame.segmentation[240, 320] == 0
    assert frame.depth[240, 320] == pytest.approx(0.70, abs=1e-5)
    # Every table pixel lifts back onto the plane z = 0.
    assert np.abs(_table_points_in_world(frame)[:, 2]).max() < 1e-4
    # The box's top face is at 0.70 m minus the height of its highest vertex.
    top = box_scene.object_vertices_world(0)[:, 2].max()
    object_depth = frame.depth[frame.segmentation == 1]
    assert object_depth.size > 500
    assert object_depth.min() == pytest.approx(0.70 - top, abs=5e-4)
    # The object pixels are where its vertices project.
    centre = box_scene.object_pose(0)[0]
    optical = frame.pose.rotation.T @ (centre - np.asarray(frame.pose.position))
    u, v = np.round(k.project(optical)).astype(int)
    assert frame.segmentation[v, u] == 1


def test_gl_and_raycast_agree_on_a_cluttered_scene(clutter_scene: Scene) -> None:
    for camera in (None, TILTED_CAMERA):
        with _gl_camera(clutter_scene, camera) as gl_camera:
            gl = gl_camera.render()
        raycast = DepthCamera(clutter_scene, camera, backend="raycast").render()
        both = (gl.depth > 0) & (raycast.depth > 0)
        assert both.mean() > 0.99
        assert np.mean((gl.depth > 0) != (raycast.depth > 0)) < 1e-3
        assert np.median(np.abs(gl.depth[both] - raycast.depth[both])) < 1e-3
        assert np.mean(gl.segmentation == raycast.segmentation) > 0.995
        assert set(np.unique(raycast.segmentation)) == {0, 1, 2, 3}


def test_tilted_camera_sees_the_table_plane_and_the_axis_length(box_scene: Scene) -> None:
    intrinsics = KINECT_V1.scaled(160, 120)  # small image: fast
    pose = CameraPose.looking_down(height=0.7, target_x=-0.1, tilt_about_x=0.2, tilt_about_y=0.1)
    camera = DepthCamera(
        box_scene, CameraConfig(intrinsics=intrinsics, pose=pose), backend="raycast"
    )
    frame = camera.render()
    # Background pixels lift onto the table top (z = 0) or, beyond its edge, onto the floor.
    heights = _table_points_in_world(frame)[:, 2]
    on_floor = np.abs(heights + box_scene.config.table.floor_depth) < 1e-4
    assert np.abs(heights[~on_floor]).max() < 1e-4 and 0 < on_floor.mean() < 0.5
    # z-depth of the principal ray: the distance to the target point on the table.
    distance = np.linalg.norm(np.asarray(pose.position) - np.array([-0.1, 0.0, 0.0]))
    centre = frame.depth[59:61, 79:81].mean()  # principal point between these pixel centres
    assert centre == pytest.approx(distance, rel=2e-3)


def test_auto_uses_gl_when_available_and_falls_back_to_raycast(
    box_scene: Scene, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    with _gl_camera(box_scene):
        pass
    with DepthCamera(box_scene, backend="auto") as auto:
        assert auto.backend == "gl" and auto.gl_platform in camera_module.GL_PLATFORMS

    def no_gl(width: int, height: int) -> None:
        raise GLUnavailableError("no display for this test")

    monkeypatch.setattr(camera_module, "_create_gl_context", no_gl)
    with caplog.at_level(logging.WARNING, logger="gqstn_ros.sim.camera"):
        fallback = DepthCamera(box_scene, backend="auto")
    assert fallback.backend == "raycast" and fallback.gl_platform is None
    assert "using ray casting" in caplog.text
    assert fallback.render().depth[240, 320] == pytest.approx(0.70, abs=1e-5)
    with pytest.raises(GLUnavailableError):
        DepthCamera(box_scene, backend="gl")


def test_bad_backend_pose_and_closed_camera_raise(box_scene: Scene) -> None:
    with pytest.raises(ValueError, match="backend"):
        DepthCamera(box_scene, backend="vulkan")
    camera = DepthCamera(
        box_scene, CameraConfig(intrinsics=KINECT_V1.scaled(80, 60)), backend="raycast"
    )
    with pytest.raises(ValueError, match=r"camera\.pose"):
        camera.set_pose(CameraPose(position=(0.0, 0.0, -0.5)))
    camera.set_pose(CameraPose.looking_down(height=0.5))
    assert camera.render().depth[29:31, 39:41].mean() == pytest.approx(0.5, abs=1e-5)
    camera.close()
    with pytest.raises(RuntimeError, match="close"):
        camera.render()


def test_single_sample_buffers_without_shadow_map_render_the_same_images(
    clutter_scene: Scene,
) -> None:
    """The scene's offscreen settings (no multisampling, no shadow map: fast) change no pixel
    of depth or segmentation against MuJoCo's defaults (4 samples, 4096^2 shadow map)."""
    quality = clutter_scene.model.vis.quality
    assert (quality.offsamples, quality.shadowsize) == (0, 0)
    frames = {}
    for samples, shadow_size in ((0, 0), (4, 4096)):
        quality.offsamples, quality.shadowsize = samples, shadow_size
        try:
            with _gl_camera(clutter_scene, TILTED_CAMERA) as camera:
                frames[samples] = camera.render()
        finally:
            quality.offsamples, quality.shadowsize = 0, 0
    assert (frames[0].depth > 0).mean() > 0.99
    np.testing.assert_array_equal(frames[0].depth, frames[4].depth)
    np.testing.assert_array_equal(frames[0].segmentation, frames[4].segmentation)
