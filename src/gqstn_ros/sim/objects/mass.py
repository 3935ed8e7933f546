"""Physical properties of the procedural objects: mass, centre of mass and inertia of a
solid mesh or of convex parts with densities of their own, and the `ObjectModel` made from a
solid, re-centred at its centre of mass."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.spatial import ConvexHull

from gqstn_ros.sim.objects.mesh import Solid, check_watertight, drop_unused, signed_volume
from gqstn_ros.sim.objects.model import (
    DEFAULT_DENSITY,
    MAX_PART_DENSITY,
    MIN_PART_DENSITY,
    STROKE,
    ObjectModel,
)


def mass_properties(
    vertices: np.ndarray, faces: np.ndarray, density: float
) -> tuple[float, np.ndarray, np.ndarray]:
    """Mass (kg), centre of mass (3,) m and inertia (3, 3) kg m^2 about it, of a solid mesh."""
    a, b, c = (vertices[faces[:, k]] for k in range(3))
    det = np.einsum("ij,ij->i", a, np.cross(b, c))  # 6 x signed volume of tetra (0, a, b, c)
    volume = det.sum() / 6.0
    centroid = (det[:, None] * (a + b + c)).sum(axis=0) / (24.0 * volume)
    # Second moment of each tetra: det * A C A^T with C the covariance of the unit tetra.
    canonical = np.full((3, 3), 1.0 / 120.0) + np.eye(3) / 120.0
    stacked = np.stack([a, b, c], axis=2)  # (M, 3, 3), columns a, b, c
    second_moment = np.einsum("m,mij,jk,mlk->il", det, stacked, canonical, stacked)
    second_moment = density * (second_moment - volume * np.outer(centroid, centroid))
    inertia = np.trace(second_moment) * np.eye(3) - second_moment
    return float(density * volume), centroid, inertia


def convex_hull_mesh(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Closed outward triangle mesh (vertices, faces) of the convex hull of points (N, 3), m."""
    points = np.asarray(points, dtype=np.float64)
    hull = ConvexHull(points)
    faces = hull.simplices.astype(np.int64)
    a, b, c = (points[faces[:, k]] for k in range(3))
    flip = np.einsum("ij,ij->i", np.cross(b - a, c - a), hull.equations[:, :3]) < 0
    faces[flip] = faces[flip][:, ::-1]
    return drop_unused(points, faces.astype(np.int32))


def parts_mass_properties(
    parts: Sequence[np.ndarray], densities: Sequence[float]
) -> tuple[float, np.ndarray, np.ndarray]:
    """Mass (kg), centre of mass (3,) m and inertia (3, 3) kg m^2 about it of convex parts (their
    hulls) with one density each (kg/m^3); the parts must not overlap."""
    if len(parts) != len(densities) or not parts:
        raise ValueError(f"{len(parts)} parts need as many densities, got {len(densities)}")
    masses, centres, inertias = [], [], []
    for part, density in zip(parts, densities, strict=True):
        vertices, faces = convex_hull_mesh(part)
        mass, centre, inertia = mass_properties(vertices, faces, float(density))
        masses.append(mass)
        centres.append(centre)
        inertias.append(inertia)
    total = float(sum(masses))
    centre = sum(m * c for m, c in zip(masses, centres, strict=True)) / total
    inertia = np.zeros((3, 3))
    for mass, part_centre, part_inertia in zip(masses, centres, inertias, strict=True):
        d = part_centre - centre
        inertia += part_inertia + mass * (np.dot(d, d) * np.eye(3) - np.outer(d, d))
    return total, centre, (inertia + inertia.T) / 2


def check_density(density: float) -> float:
    if isinstance(density, bool) or not (
        isinstance(density, (int, float, np.floating, np.integer))
        and np.isfinite(density)
        and MIN_PART_DENSITY <= density <= MAX_PART_DENSITY
    ):
        raise ValueError(
            f"density must be a number of kg/m^3 in [{MIN_PART_DENSITY}, {MAX_PART_DENSITY}], "
            f"got {density!r}"
        )
    return float(density)


def object_from_solid(
    name: str,
    family: str,
    seed: int,
    solid: Solid,
    *,
    density: float = DEFAULT_DENSITY,
    expected_graspable: bool = True,
    note: str = "",
    part_densities: Sequence[float] | None = None,
    friction: float | None = None,
    stroke: float = STROKE,
) -> ObjectModel:
    """ObjectModel from a solid (vertices, faces, convex parts), re-centred at its mass centre.

    Every part has `density` (kg/m^3) unless `part_densities` gives one per convex part; then
    mass, centre and inertia are those of the parts (which must tile the solid) and the
    object's `density` is the mean, mass / mesh volume.
    """
    vertices, faces, parts = solid
    check_watertight(vertices, faces)
    if part_densities is None:
        densities = (check_density(density),) * len(parts)
    else:
        if len(part_densities) != len(parts):
            raise ValueError(
                f"{name}: part_densities has {len(part_densities)} entries for {len(parts)} parts"
            )
        densities = tuple(check_density(d) for d in part_densities)
    if len(set(densities)) == 1:
        mean = densities[0]
        mass, centre, inertia = mass_properties(vertices, faces, mean)
    else:
        mass, centre, inertia = parts_mass_properties(parts, densities)
        mean = mass / signed_volume(vertices, faces)
    return ObjectModel(
        name=name,
        family=family,
        seed=seed,
        vertices=vertices - centre,
        faces=faces,
        convex_parts=tuple(np.asarray(p, dtype=np.float64) - centre for p in parts),
        density=mean,
        mass=mass,
        inertia=inertia,
        expected_graspable=expected_graspable,
        note=note,
        part_densities=densities,
        friction=friction,
        stroke=stroke,
    )
