import numpy as np
import pytest
from depth_rendering import render_depth

from gqstn_ros.grasping import primitives
from gqstn_ros.grasping.antipodal import (
    AntipodalConfig,
    sample_antipodal_depth,
    sample_antipodal_mesh,
)
from gqstn_ros.grasping.mesh_geometry import TriangleMesh
from gqstn_ros.gripper import ROBOTIQ_2F85


def test_mesh_sampling_is_antipodal_horizontal_and_fits_the_stroke():
    shape = primitives.cylinder(0.025, 0.08, 48)
    pose = primitives.resting_pose(shape.vertices, yaw=0.4, xy=(0.1, -0.05))
    grasps = sample_antipodal_mesh(shape.vertices, shape.faces, pose, ROBOTIQ_2F85, 40, rng=3)
    assert len(grasps) == 40
    np.testing.assert_allclose(grasps.axes[:, 2], 0.0)
    assert np.all(grasps.widths <= ROBOTIQ_2F85.max_width)
    distance = np.linalg.norm(grasps.contacts[:, 1] - grasps.contacts[:, 0], axis=1)
    assert np.all(grasps.widths >= distance)
    cos_cone = np.cos(np.arctan(AntipodalConfig().friction_coef))
    assert np.all(np.einsum("ij,ij->i", -grasps.normals[:, 0], grasps.axes) > cos_cone)
    assert np.all(np.einsum("ij,ij->i", grasps.normals[:, 1], grasps.axes) > cos_cone)


def test_mesh_sampling_is_deterministic_for_a_seed(box_on_table):
    shape, pose = box_on_table
    first = sample_antipodal_mesh(shape.vertices, shape.faces, pose, n=20, rng=7)
    second = sample_antipodal_mesh(shape.vertices, shape.faces, pose, n=20, rng=7)
    other = sample_antipodal_mesh(shape.vertices, shape.faces, pose, n=20, rng=8)
    np.testing.assert_array_equal(first.centers, second.centers)
    assert not np.array_equal(first.centers, other.centers)


def test_too_wide_object_gives_no_grasps():
    shape = primitives.box((0.12, 0.12, 0.03))
    pose = primitives.resting_pose(shape.vertices)
    grasps = sample_antipodal_mesh(shape.vertices, shape.faces, pose, n=20, rng=0)
    assert len(grasps) == 0


def test_depth_pairs_on_a_box_land_on_its_edges(box_on_table, small_camera):
    shape, pose = box_on_table
    mesh = TriangleMesh(shape.vertices, shape.faces).transformed(pose)
    depth = render_depth(mesh, small_camera)
    grasps = sample_antipodal_depth(depth, small_camera, ROBOTIQ_2F85, 30, rng=0)
    assert len(grasps) == 30
    # The box top (z = 0.05 m) spans |x| <= 2 cm, |y| <= 3 cm: at 0.65 m, 290 px/m -> the
    # silhouette edges are at u = cx +- 8.9 px, v = cy +- 13.4 px.
    top = 0.7 - 0.05
    half_u, half_v = 0.02 * 290 / top, 0.03 * 290 / top
    contacts = grasps.contacts_px.reshape(-1, 2)
    du = np.abs(contacts[:, 0] - small_camera.cx)
    dv = np.abs(contacts[:, 1] - small_camera.cy)
    on_u_edge = (np.abs(du - half_u) <= 1.0) & (dv <= half_v + 1.0)
    on_v_edge = (np.abs(dv - half_v) <= 1.0) & (du <= half_u + 1.0)
    assert np.all(on_u_edge | on_v_edge)
    # Gripper depth below the box top and above the table, opening within the stroke.
    assert np.all(grasps.depths > top) and np.all(grasps.depths < 0.7)
    assert np.all(grasps.widths_px * grasps.depths / 290 <= ROBOTIQ_2F85.max_width + 1e-9)
    again = sample_antipodal_depth(depth, small_camera, ROBOTIQ_2F85, 30, rng=0)
    np.testing.assert_array_equal(grasps.centers_px, again.centers_px)


def test_depth_sampler_rejects_bad_images(small_camera):
    with pytest.raises(ValueError, match="camera is 160x120"):
        sample_antipodal_depth(np.ones((10, 10)), small_camera, n=5, rng=0)
    with pytest.raises(ValueError, match="no valid pixels"):
        sample_antipodal_depth(np.zeros((120, 160)), small_camera, n=5, rng=0)
    with pytest.raises(ValueError, match="float"):
        sample_antipodal_depth(np.ones((120, 160), dtype=np.uint16), small_camera, n=5, rng=0)
