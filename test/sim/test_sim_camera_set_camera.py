"""DepthCamera.set_camera: one renderer moved to another image size renders what a camera made
for that size renders (a crop of the sensor image sees the crop of the full frame)."""

import numpy as np
import pytest

from gqstn_ros.camera_model import KINECT_V1
from gqstn_ros.sim.camera import DepthCamera
from gqstn_ros.sim.objects import generate_object
from gqstn_ros.sim.scene import Scene
from gqstn_ros.sim.world_config import CameraConfig, CameraPose


@pytest.mark.parametrize("backend", ["gl", "raycast"])
def test_a_cropped_camera_sees_the_crop_of_the_full_frame(backend):
    scene = Scene.build([generate_object("box", 3)], seed=1)
    scene.settle()
    pose = CameraPose.looking_down(height=0.66, tilt_about_x=0.05, tilt_about_y=-0.03)
    crop = KINECT_V1.cropped(170, 90, 300, 260)
    with DepthCamera(scene, CameraConfig(KINECT_V1, pose), backend=backend) as camera:
        full = camera.render()
        camera.set_camera(CameraConfig(crop, pose))
        part = camera.render()
        assert part.depth.shape == (260, 300) and part.intrinsics == crop
        expected = full.depth[90:350, 170:470]
        np.testing.assert_allclose(part.depth, expected, atol=1e-4)
        assert np.mean(part.segmentation == full.segmentation[90:350, 170:470]) > 0.999
        assert (part.segmentation > 0).any()
        camera.set_camera(CameraConfig(KINECT_V1, pose))
        np.testing.assert_allclose(camera.render().depth, full.depth, atol=1e-6)


def test_set_camera_refuses_an_image_larger_than_the_offscreen_buffer():
    scene = Scene.build([generate_object("box", 3)])
    with DepthCamera(scene, backend="gl") as camera:
        big = KINECT_V1.scaled(1920, 1440)
        with pytest.raises(ValueError, match="offscreen buffer"):
            camera.set_camera(CameraConfig(big, camera.pose))
