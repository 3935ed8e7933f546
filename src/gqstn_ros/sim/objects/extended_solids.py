"""Solids of the extended families: superquadrics, filled solids and thin-walled shells of
revolution, and prisms of planar cell complexes (outlines with holes)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from gqstn_ros.sim.objects.mass import convex_hull_mesh
from gqstn_ros.sim.objects.mesh import (
    REVOLUTION_SEGMENTS,
    SPHERE_BANDS,
    Solid,
    check_positive_sizes,
    drop_unused,
    is_convex_polygon,
    polygon_area,
    revolve_profile,
)
from gqstn_ros.sim.objects.solids import extruded_points

# Superquadric exponents are kept in [MIN, MAX]: near 0 boxy, 1 round, 2 pinched (octahedron);
# within this range the solid is convex.
SUPERQUADRIC_EXPONENT_RANGE = (0.1, 2.0)
# Facets around the axis of thin-walled vessels (bowls, cups): one convex part per facet and
# wall band, so fewer than the filled solids of revolution.
SHELL_SEGMENTS = 16


def superquadric_solid(
    semi_x: float, semi_y: float, semi_z: float, exponent_lat: float, exponent_lon: float
) -> Solid:
    """Superellipsoid ((|x/a|^(2/e2) + |y/b|^(2/e2))^(e2/e1) + |z/c|^(2/e1) <= 1), centred.

    semi_*: semi-axes (m); exponent_lat = e1 (profile along z), exponent_lon = e2 (cross-section),
    each in `SUPERQUADRIC_EXPONENT_RANGE`. The mesh is the convex hull of a latitude-longitude
    sampling of the surface (exact extents 2a, 2b, 2c); it is its own single convex part.
    """
    check_positive_sizes("superquadric", semi_x=semi_x, semi_y=semi_y, semi_z=semi_z)
    low, high = SUPERQUADRIC_EXPONENT_RANGE
    for name, value in (("exponent_lat", exponent_lat), ("exponent_lon", exponent_lon)):
        if not (np.isfinite(value) and low <= value <= high):
            raise ValueError(f"superquadric: {name} must lie in [{low}, {high}], got {value}")

    def signed_power(values: np.ndarray, exponent: float) -> np.ndarray:
        return np.sign(values) * np.abs(values) ** exponent

    latitudes = np.linspace(-np.pi / 2, np.pi / 2, SPHERE_BANDS + 1)[1:-1]
    longitudes = 2.0 * np.pi * np.arange(REVOLUTION_SEGMENTS) / REVOLUTION_SEGMENTS
    lat, lon = np.meshgrid(latitudes, longitudes, indexing="ij")
    ring = signed_power(np.cos(lat), exponent_lat)
    points = np.column_stack(
        [
            (semi_x * ring * signed_power(np.cos(lon), exponent_lon)).ravel(),
            (semi_y * ring * signed_power(np.sin(lon), exponent_lon)).ravel(),
            (semi_z * signed_power(np.sin(lat), exponent_lat)).ravel(),
        ]
    )
    points = np.vstack([points, [[0.0, 0.0, -semi_z], [0.0, 0.0, semi_z]]])
    vertices, faces = convex_hull_mesh(points)
    return vertices, faces, [vertices]


def _ring_points(radius: float, z: float, segments: int) -> np.ndarray:
    """(segments, 3) points of a revolved ring at angles 2 pi k / segments (one point if r = 0)."""
    if radius == 0:
        return np.array([[0.0, 0.0, z]])
    angles = 2.0 * np.pi * np.arange(segments) / segments
    return np.column_stack([radius * np.cos(angles), radius * np.sin(angles), np.full(segments, z)])


def revolved_solid(profile: np.ndarray, segments: int = REVOLUTION_SEGMENTS) -> Solid:
    """Filled solid of revolution about z from a profile (K, 2) of (radius, z), m.

    The profile runs from the axis to the axis (see `revolve_profile`) with z never decreasing,
    so that every height cuts one disc. Convex parts: the frusta (cones at the poles) between
    consecutive profile points of different height.
    """
    profile = np.asarray(profile, dtype=np.float64)
    if len(profile) < 3 or np.any(np.diff(profile[:, 1]) < 0):
        raise ValueError("revolved solid: the profile's z must never decrease")
    vertices, faces = revolve_profile(profile, segments)
    parts = [
        np.vstack(
            [
                _ring_points(profile[i, 0], profile[i, 1], segments),
                _ring_points(profile[i + 1, 0], profile[i + 1, 1], segments),
            ]
        )
        for i in range(len(profile) - 1)
        if profile[i + 1, 1] > profile[i, 1]
    ]
    return vertices, faces, parts


def revolved_shell_solid(
    outer: np.ndarray, wall: float, floor: float, segments: int = SHELL_SEGMENTS
) -> Solid:
    """Open-top thin-walled vessel about z (bowl, cup), m.

    outer: (K, 2) outer profile of (radius > 0, z), z strictly increasing from 0 (the foot) to
    the rim, with one point at z = `floor`. The inner wall is the outer one moved `wall` towards
    the axis (horizontally); the cavity's bottom is the plane z = floor. Convex parts: the
    frusta of the floor below z = floor, and one piece per wall band and facet.
    """
    outer = np.asarray(outer, dtype=np.float64)
    check_positive_sizes("vessel", wall=wall, floor=floor)
    radius, height = outer[:, 0], outer[:, 1]
    if len(outer) < 2 or height[0] != 0 or np.any(np.diff(height) <= 0):
        raise ValueError("vessel: the outer profile's z must rise strictly from 0")
    if not np.any(height == floor) or floor >= height[-1]:
        raise ValueError(f"vessel: floor {floor} must be a profile height below the rim")
    walled = height >= floor
    if np.any(radius <= 0) or np.any(radius[walled] <= wall):
        raise ValueError("vessel: the outer radius must exceed the wall thickness above the floor")
    inner = np.column_stack([radius[walled] - wall, height[walled]])
    profile = np.vstack([[0.0, 0.0], outer, inner[::-1], [0.0, floor]])
    vertices, faces = revolve_profile(profile, segments)
    rings = [_ring_points(r, z, segments) for r, z in outer]
    inner_rings = [_ring_points(r, z, segments) for r, z in inner]
    base = int(np.flatnonzero(height == floor)[0])
    parts = [np.vstack([rings[i], rings[i + 1]]) for i in range(base)]
    for band in range(len(inner) - 1):
        i = base + band
        for k in range(segments):
            sector = [k, (k + 1) % segments]
            parts.append(
                np.vstack(
                    [
                        rings[i][sector],
                        rings[i + 1][sector],
                        inner_rings[band][sector],
                        inner_rings[band + 1][sector],
                    ]
                )
            )
    return vertices, faces, parts


def extrude_cells(
    points: np.ndarray,
    cells: Sequence[Sequence[int]],
    z_bottom: float,
    z_top: float,
    pieces: Sequence[np.ndarray] | None = None,
) -> Solid:
    """Prism of a planar region made of convex cells, m.

    points: (P, 2); cells: convex polygons as point-index loops (either orientation) that meet
    edge to edge (a cell's corner never lies inside another cell's edge), so that the region's
    boundary (holes included) is the set of cell edges used once. Convex parts: one prism per
    cell, or per polygon of `pieces` ((K, 2) arrays tiling the same region) when given.
    """
    points = np.asarray(points, dtype=np.float64)
    if not z_top > z_bottom:
        raise ValueError(f"extrusion height must be positive, got {z_top - z_bottom}")
    loops = []
    for cell in cells:
        loop = list(cell)
        if len(loop) < 3:
            raise ValueError(f"a cell needs at least 3 corners, got {loop}")
        polygon = points[loop]
        if polygon_area(polygon) < 0:
            loop, polygon = loop[::-1], polygon[::-1]
        if not is_convex_polygon(polygon):
            raise ValueError(f"cell {loop} is not a convex polygon")
        loops.append(loop)
    p = len(points)
    directed = {(a, b) for loop in loops for a, b in zip(loop, loop[1:] + loop[:1], strict=True)}
    faces = []
    for loop in loops:
        for j in range(1, len(loop) - 1):
            faces.append((loop[0] + p, loop[j] + p, loop[j + 1] + p))  # top, seen from +z
            faces.append((loop[0], loop[j + 1], loop[j]))  # bottom, seen from -z
    for a, b in sorted(directed):
        if (b, a) not in directed:  # boundary edge: the region lies on its left
            faces += [(a, b, p + b), (a, p + b, p + a)]
    vertices = np.vstack(
        [
            np.column_stack([points, np.full(p, z_bottom)]),
            np.column_stack([points, np.full(p, z_top)]),
        ]
    )
    vertices, faces_array = drop_unused(vertices, np.array(faces, dtype=np.int64))
    polygons = list(pieces) if pieces is not None else [points[loop] for loop in loops]
    parts = [extruded_points(np.asarray(q, float), z_bottom, z_top) for q in polygons]
    return vertices, faces_array, parts
