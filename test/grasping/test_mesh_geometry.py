import numpy as np
import pytest

from gqstn_ros.grasping import primitives
from gqstn_ros.grasping.mesh_geometry import TriangleMesh


def test_ray_hits_box_faces_with_normals():
    shape = primitives.box((0.04, 0.06, 0.08))
    mesh = TriangleMesh(shape.vertices, shape.faces)
    origins = np.array([[-1.0, 0.0, 0.0], [0.0, 1.0, 0.01], [0.0, 0.0, 1.0], [0.5, 0.5, 0.5]])
    directions = np.array([[1.0, 0, 0], [0, -1.0, 0], [0, 0, -1.0], [1.0, 0, 0]])
    hits = mesh.intersect_rays(origins, directions)
    np.testing.assert_array_equal(hits.hit, [True, True, True, False])
    np.testing.assert_allclose(hits.distance[:3], [0.98, 0.97, 0.96])
    np.testing.assert_allclose(hits.normal[:3], [[-1, 0, 0], [0, 1, 0], [0, 0, 1]])


def test_bvh_matches_brute_force_on_a_sphere():
    shape = primitives.sphere(0.04, 3)
    rng = np.random.default_rng(0)
    origins = rng.normal(0, 0.02, (500, 3)) + np.array([0.1, 0.0, 0.0])
    directions = rng.normal(0, 0.3, (500, 3)) + np.array([-1.0, 0.0, 0.0])
    fast = TriangleMesh(shape.vertices, shape.faces, leaf_size=4).intersect_rays(
        origins, directions
    )
    brute = TriangleMesh(shape.vertices, shape.faces, leaf_size=10_000).intersect_rays(
        origins, directions
    )
    np.testing.assert_array_equal(fast.hit, brute.hit)
    np.testing.assert_allclose(fast.distance[fast.hit], brute.distance[brute.hit])


def test_contains_on_a_concave_l_shape():
    shape = primitives.l_shape(length=0.1, width=0.08, arm=0.03, height=0.04)
    mesh = TriangleMesh(shape.vertices, shape.faces)
    # Bar along -y, leg along -x: the corner (+x, +y) of the bounding box is outside.
    points = np.array(
        [[0.04, -0.03, 0.0], [-0.035, 0.03, 0.0], [0.03, 0.03, 0.0], [0.0, 0.0, 0.03]]
    )
    np.testing.assert_array_equal(mesh.contains(points), [True, True, False, False])
    assert mesh.volume == pytest.approx(0.04 * (0.1 * 0.03 + 0.03 * 0.05))


def test_open_mesh_is_rejected():
    shape = primitives.box((0.04, 0.04, 0.04))
    with pytest.raises(ValueError, match="watertight"):
        TriangleMesh(shape.vertices, shape.faces[:-1])
    with pytest.raises(ValueError, match=r"shape \(N, 3\)"):
        TriangleMesh(shape.vertices[:, :2], shape.faces)
    with pytest.raises(ValueError, match="non-positive volume"):
        TriangleMesh(shape.vertices, shape.faces[:, ::-1])
