import numpy as np
import pytest
from depth_rendering import render_depth

from gqstn_ros.camera_model import CameraIntrinsics
from gqstn_ros.grasping import primitives
from gqstn_ros.grasping.antipodal import (
    WALL_DROP,
    AntipodalConfig,
    sample_antipodal_depth,
    sample_antipodal_depth_with_report,
    sample_antipodal_mesh,
)
from gqstn_ros.grasping.mesh_geometry import TriangleMesh
from gqstn_ros.gripper import ROBOTIQ_2F85
from gqstn_ros.sim.objects.extended_solids import revolved_shell_solid


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


def _wide_pan_on_table() -> TriangleMesh:
    """An open pan wider than the 2F-85's stroke: rim radius 55 mm, 35 mm tall, a 4 mm wall
    flaring from a 35 mm radius foot (its inside falls ~2 mm a pixel at 580 px/m: no edge)."""
    outer = np.array([[0.035, 0.0], [0.036, 0.005], [0.055, 0.035]])
    vertices, faces, _ = revolved_shell_solid(outer, wall=0.004, floor=0.005)
    return TriangleMesh(vertices, faces)


def test_a_thin_rim_is_pinched_where_no_pair_spans_the_vessel():
    camera = CameraIntrinsics(width=320, height=240, fx=580.0, fy=580.0, cx=159.5, cy=119.5)
    depth = render_depth(_wide_pan_on_table(), camera)
    walls = AntipodalConfig(wall_drop=WALL_DROP)
    grasps, report = sample_antipodal_depth_with_report(
        depth, camera, ROBOTIQ_2F85, 40, rng=0, config=walls
    )
    assert len(grasps) == 40 and report.wall_pinches == 40
    # One contact on the rim's outside (radius 55 mm), the other inside it where the surface
    # has fallen by wall_drop (4 mm: ~2.3 mm in from the 51 mm inner rim, plus smoothing).
    top = 0.7 - 0.035
    contacts = grasps.contacts_px - [camera.cx, camera.cy]
    radius = np.sort(np.hypot(contacts[..., 0], contacts[..., 1]) * top / camera.fx, axis=1)
    assert np.all(np.abs(radius[:, 1] - 0.055) < 0.0035)  # 3 pixels
    assert np.all((radius[:, 0] > 0.051 - 0.006) & (radius[:, 0] < 0.051))
    # Fingers below the rim and above the table; open from the wall plus margins to the stroke.
    assert np.all(grasps.depths >= top + walls.depth_offset_min - 1e-9)
    assert np.all(grasps.depths < 0.7)
    widths = grasps.widths_px * grasps.depths / camera.fx
    assert np.all((widths >= 0.02) & (widths <= ROBOTIQ_2F85.max_width + 1e-9))
    # Without the wall test (the default) the only pairs span the pan: wider than the stroke.
    none, report = sample_antipodal_depth_with_report(depth, camera, ROBOTIQ_2F85, 40, rng=0)
    assert len(none) == 0 and report.too_wide > 0 and report.wall_pinches == 0


@pytest.mark.parametrize(
    ("size", "tilt"),
    [
        ((0.04, 0.06, 0.05), 0.0),  # a box
        ((0.04, 0.06, 0.05), 0.5),  # the same box turned about z
        ((0.01, 0.08, 0.08), 0.0),  # a tall plate on its edge (the smoothing's worst case)
    ],
)
def test_the_wall_test_leaves_solid_blocks_as_they_were(size, tilt, small_camera):
    """On blocks, noisy or not, the wall test finds no wall and changes no grasp. (A plate a
    few pixels thin is a wall to it: pinched, its opening may be drawn wider.)"""
    shape = primitives.box(size)
    pose = primitives.resting_pose(shape.vertices, yaw=tilt)
    depth = render_depth(TriangleMesh(shape.vertices, shape.faces).transformed(pose), small_camera)
    noisy = depth + np.random.default_rng(1).normal(0.0, 0.001, depth.shape)
    walls = AntipodalConfig(wall_drop=WALL_DROP)
    for image in (depth, noisy):
        plain = sample_antipodal_depth(image, small_camera, ROBOTIQ_2F85, 30, rng=2)
        tested, report = sample_antipodal_depth_with_report(
            image, small_camera, ROBOTIQ_2F85, 30, rng=2, config=walls
        )
        assert report.wall_pinches == 0 and len(tested) == len(plain) > 0
        np.testing.assert_array_equal(tested.centers_px, plain.centers_px)
        np.testing.assert_array_equal(tested.widths_px, plain.widths_px)
        np.testing.assert_array_equal(tested.depths, plain.depths)
