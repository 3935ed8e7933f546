"""Depth images of test meshes by ray casting, for the grasping tests."""

import numpy as np

from gqstn_ros.camera_model import CameraIntrinsics
from gqstn_ros.grasping.mesh_geometry import TriangleMesh

CAMERA_HEIGHT = 0.7  # m above the table, looking straight down (as the paper's Kinect)


def render_depth(mesh: TriangleMesh, camera: CameraIntrinsics) -> np.ndarray:
    """Depth image (metres) of a world-frame mesh on the table, by ray casting: camera at
    CAMERA_HEIGHT over the origin, optical z = world -z, optical x = world x, optical y = -y."""
    v, u = np.mgrid[0 : camera.height, 0 : camera.width]
    rays = camera.deproject(np.stack([u, v], -1).reshape(-1, 2), 1.0)
    directions = np.column_stack([rays[:, 0], -rays[:, 1], -rays[:, 2]])
    origins = np.tile([0.0, 0.0, CAMERA_HEIGHT], (len(directions), 1))
    hits = mesh.intersect_rays(origins, directions)
    table = CAMERA_HEIGHT  # optical z of the table for a unit-z ray
    depth = np.where(hits.hit, hits.distance, table)
    return depth.reshape(camera.height, camera.width)
