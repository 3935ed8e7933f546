"""Procedural objects: valid closed meshes, convex decompositions, sizes, reproducibility."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial import ConvexHull

from gqstn_ros.gripper import ROBOTIQ_2F85
from gqstn_ros.sim.objects import (
    FAMILIES,
    MIN_PICKABLE_THICKNESS,
    UNGRASPABLE_FAMILIES,
    box_solid,
    cylinder_solid,
    generate_object,
    generate_random_object,
    mug_solid,
    object_from_solid,
    prism_solid,
)

SEEDS = range(4)
CONCAVE_FAMILIES = ("prism_concave", "l_shape", "t_shape", "u_shape", "mug")


def _edge_counts(faces: np.ndarray) -> dict[tuple[int, int], int]:
    counts: dict[tuple[int, int], int] = {}
    for a, b, c in faces.tolist():
        for edge in ((a, b), (b, c), (c, a)):
            counts[edge] = counts.get(edge, 0) + 1
    return counts


@pytest.mark.parametrize("family", FAMILIES)
def test_every_family_gives_a_closed_outward_mesh_and_tiling_convex_parts(family: str) -> None:
    for seed in SEEDS:
        obj = generate_object(family, seed)
        assert obj.family == family and obj.seed == seed and obj.name == f"{family}_{seed}"
        assert obj.vertices.dtype == np.float64 and obj.vertices.shape[1] == 3
        assert obj.faces.dtype == np.int32 and obj.faces.shape[1] == 3
        # Closed and consistently wound: every directed edge once, its reverse once.
        counts = _edge_counts(obj.faces)
        assert all(n == 1 for n in counts.values())
        assert all((b, a) in counts for a, b in counts)
        # Outward: the divergence theorem gives a positive volume equal to mass / density.
        a, b, c = (obj.vertices[obj.faces[:, k]] for k in range(3))
        volume = np.einsum("ij,ij->i", a, np.cross(b, c)).sum() / 6.0
        assert volume > 0
        assert obj.mass == pytest.approx(obj.density * volume, rel=1e-9)
        # Origin at the centre of mass.
        centroid = (np.einsum("ij,ij->i", a, np.cross(b, c))[:, None] * (a + b + c)).sum(0)
        assert np.abs(centroid / (24 * volume)).max() < 1e-9
        # The convex parts tile the solid: their hull volumes add up to the mesh volume and
        # they lie inside its bounding box.
        part_volume = sum(ConvexHull(part).volume for part in obj.convex_parts)
        assert part_volume == pytest.approx(volume, rel=1e-6)
        low, high = obj.vertices.min(0) - 1e-9, obj.vertices.max(0) + 1e-9
        for part in obj.convex_parts:
            assert np.all(part >= low) and np.all(part <= high)
        # A valid inertia tensor: symmetric, positive, triangle inequality.
        principal = np.linalg.eigvalsh(obj.inertia)
        assert np.allclose(obj.inertia, obj.inertia.T)
        assert principal.min() > 0 and principal[0] + principal[1] >= principal[2] * (1 - 1e-9)


def test_same_seed_gives_the_identical_object_and_other_seeds_differ() -> None:
    for family in FAMILIES:
        first, again = generate_object(family, 11), generate_object(family, 11)
        assert np.array_equal(first.vertices, again.vertices)
        assert np.array_equal(first.faces, again.faces)
        assert all(
            np.array_equal(p, q)
            for p, q in zip(first.convex_parts, again.convex_parts, strict=True)
        )
        other = generate_object(family, 12)
        assert first.vertices.shape != other.vertices.shape or not np.allclose(
            first.vertices, other.vertices
        )
    assert generate_random_object(7).name == generate_random_object(7).name


@pytest.mark.parametrize("family", CONCAVE_FAMILIES)
def test_concave_families_are_concave_and_decomposed(family: str) -> None:
    for seed in SEEDS:
        obj = generate_object(family, seed)
        assert ConvexHull(obj.vertices).volume > 1.05 * obj.volume
        assert len(obj.convex_parts) >= 2


def test_sizes_follow_the_gripper_stroke() -> None:
    stroke = ROBOTIQ_2F85.max_width
    for family in FAMILIES:
        for seed in range(8):
            obj = generate_object(family, seed)
            extents = np.sort(obj.extents)
            if family == "oversized":
                assert extents[0] > stroke and not obj.expected_graspable
                assert "stroke" in obj.note
            elif family == "sheet":
                assert extents[0] < MIN_PICKABLE_THICKNESS and extents[1] > stroke
                assert not obj.expected_graspable and "flat" in obj.note
            else:
                assert extents[0] < stroke and obj.expected_graspable and obj.note == ""
    assert set(UNGRASPABLE_FAMILIES) == {"oversized", "sheet"}


def test_thin_families_are_thin() -> None:
    for family in ("plate", "disc", "sheet"):
        for seed in range(5):
            extents = np.sort(generate_object(family, seed).extents)
            assert extents[0] < 0.25 * extents[1]
            # Plates and discs stay pickable; sheets are too flat.
            assert (extents[0] >= MIN_PICKABLE_THICKNESS) == (family != "sheet")
    stick = np.sort(generate_object("stick", 1).extents)
    assert stick[2] > 4 * stick[1]


def test_box_mass_properties_match_the_closed_form() -> None:
    obj = object_from_solid("box", "box", 0, box_solid(0.02, 0.04, 0.06), density=1000.0)
    mass = 1000.0 * 0.02 * 0.04 * 0.06
    assert obj.mass == pytest.approx(mass)
    expected = mass / 12.0 * np.diag([0.04**2 + 0.06**2, 0.02**2 + 0.06**2, 0.02**2 + 0.04**2])
    assert np.allclose(obj.inertia, expected, rtol=1e-9, atol=1e-15)


def test_cylinder_volume_converges_to_the_closed_form() -> None:
    vertices, faces, _ = cylinder_solid(0.03, 0.05, segments=256)
    obj = object_from_solid("c", "cylinder", 0, (vertices, faces, [vertices]))
    assert obj.volume == pytest.approx(np.pi * 0.03**2 * 0.05, rel=1e-3)


def test_object_arrays_are_read_only() -> None:
    obj = generate_object("box", 0)
    with pytest.raises(ValueError, match="read-only"):
        obj.vertices[0, 0] = 1.0


def test_unknown_family_and_bad_seeds_raise() -> None:
    with pytest.raises(ValueError, match="unknown object family 'teapot'"):
        generate_object("teapot", 0)
    with pytest.raises(ValueError, match="seed"):
        generate_object("box", -1)
    with pytest.raises(ValueError, match="seed"):
        generate_object("box", 1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="density"):
        generate_object("box", 0, density=0.0)
    with pytest.raises(ValueError, match="unknown object family"):
        generate_random_object(0, families=("box", "teapot"))


def test_invalid_sizes_raise_naming_the_size() -> None:
    with pytest.raises(ValueError, match="size_x"):
        box_solid(-0.01, 0.02, 0.03)
    with pytest.raises(ValueError, match="radius"):
        cylinder_solid(0.0, 0.05)
    with pytest.raises(ValueError, match="height"):
        prism_solid(np.array([[0, 0], [0.03, 0], [0, 0.03]]), float("nan"))
    with pytest.raises(ValueError, match="wall"):
        mug_solid(
            radius=0.03,
            height=0.08,
            wall=0.04,
            bottom=0.005,
            handle_reach=0.02,
            handle_bar=0.006,
            handle_height=0.05,
        )


def test_broken_meshes_are_rejected() -> None:
    vertices, faces, parts = box_solid(0.02, 0.02, 0.02)
    with pytest.raises(ValueError, match="watertight"):
        object_from_solid("open", "box", 0, (vertices, faces[:-1], parts))
    with pytest.raises(ValueError, match="inward"):
        object_from_solid("inside_out", "box", 0, (vertices, faces[:, ::-1], parts))
