"""Triangle-mesh utilities of the procedural objects: the `Solid` triple, watertightness,
enclosed volume, planar polygons (convexity, hull, triangulation) and the meshes built from
them (extrusions, solids of revolution), welding and pruning vertices.

A mesh is (vertices (N, 3) float64 m, faces (M, 3) int32), faces counter-clockwise seen from
outside; a polygon is (K, 2) float64 m, counter-clockwise.
"""

from __future__ import annotations

import numpy as np

# Segments around the axis of revolved shapes (cylinders, spheres, mugs).
REVOLUTION_SEGMENTS = 32
# Latitude bands of spheres and ellipsoids.
SPHERE_BANDS = 16
# Relative tolerance used by geometric predicates (collinearity, watertightness), dimensionless.
_GEOMETRY_EPS = 1e-12

Solid = tuple[np.ndarray, np.ndarray, list[np.ndarray]]
"""(vertices (N, 3) m, faces (M, 3), convex parts: (K_i, 3) vertex arrays whose convex hulls
tile the solid)."""


def check_positive_sizes(label: str, **sizes: float) -> None:
    """Raise ValueError naming the first size that is not a finite positive number."""
    for name, value in sizes.items():
        if not (np.isfinite(value) and value > 0):
            raise ValueError(f"{label}: {name} must be a positive length in metres, got {value}")


def signed_volume(vertices: np.ndarray, faces: np.ndarray) -> float:
    """Signed volume enclosed by a closed triangle mesh (positive for outward normals), m^3."""
    a, b, c = (vertices[faces[:, k]] for k in range(3))
    return float(np.einsum("ij,ij->i", a, np.cross(b, c)).sum() / 6.0)


def check_watertight(vertices: np.ndarray, faces: np.ndarray) -> None:
    """Raise ValueError unless the mesh is closed, consistently and outward oriented.

    Closed and consistently oriented: every directed edge appears exactly once and its reverse
    exactly once. Outward: positive enclosed volume. Also rejects degenerate triangles.
    """
    if vertices.ndim != 2 or vertices.shape[1] != 3 or not np.all(np.isfinite(vertices)):
        raise ValueError(f"vertices must be finite (N, 3), got shape {vertices.shape}")
    if faces.ndim != 2 or faces.shape[1] != 3 or len(faces) < 4:
        raise ValueError(f"faces must be (M>=4, 3), got shape {faces.shape}")
    if faces.min() < 0 or faces.max() >= len(vertices):
        raise ValueError("faces index vertices out of range")
    edges = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    n = len(vertices)
    directed = edges[:, 0].astype(np.int64) * n + edges[:, 1]
    reverse = edges[:, 1].astype(np.int64) * n + edges[:, 0]
    if len(np.unique(directed)) != len(directed):
        raise ValueError("mesh is not consistently oriented (a directed edge appears twice)")
    if not np.all(np.isin(reverse, directed)):
        raise ValueError("mesh is not watertight (an edge has no opposite half-edge)")
    a, b, c = (vertices[faces[:, k]] for k in range(3))
    doubled_area = np.linalg.norm(np.cross(b - a, c - a), axis=1)
    scale = float(np.ptp(vertices, axis=0).max())
    if np.any(doubled_area <= _GEOMETRY_EPS * scale * scale):
        raise ValueError("mesh has degenerate (zero-area) triangles")
    if signed_volume(vertices, faces) <= 0:
        raise ValueError("mesh normals point inward (negative enclosed volume)")


def _orient_outward(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Faces flipped if needed so that the enclosed volume is positive."""
    if signed_volume(vertices, faces) < 0:
        return faces[:, ::-1].copy()
    return faces


def polygon_area(polygon: np.ndarray) -> float:
    x, y = polygon[:, 0], polygon[:, 1]
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))


def cross2(o: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    return float((a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]))


def is_convex_polygon(polygon: np.ndarray) -> bool:
    """Whether a counter-clockwise polygon (K, 2) has no reflex vertex."""
    k = len(polygon)
    return all(cross2(polygon[i - 1], polygon[i], polygon[(i + 1) % k]) > 0 for i in range(k))


def convex_hull_2d(points: np.ndarray) -> np.ndarray:
    """Counter-clockwise convex hull (K, 2) of 2-D points (monotone chain)."""
    pts = sorted({(float(x), float(y)) for x, y in points})
    if len(pts) < 3:
        raise ValueError("convex hull needs at least 3 distinct points")

    def half(sequence: list[tuple[float, float]]) -> list[tuple[float, float]]:
        chain: list[tuple[float, float]] = []
        for p in sequence:
            while (
                len(chain) >= 2
                and cross2(np.array(chain[-2]), np.array(chain[-1]), np.array(p)) <= 0
            ):
                chain.pop()
            chain.append(p)
        return chain

    lower, upper = half(pts), half(pts[::-1])
    return np.array(lower[:-1] + upper[:-1], dtype=np.float64)


def triangulate_polygon(polygon: np.ndarray) -> np.ndarray:
    """Ear-clipping triangulation (K-2, 3) of a simple counter-clockwise polygon (K, 2)."""
    k = len(polygon)
    if k < 3:
        raise ValueError("a polygon needs at least 3 vertices")
    if polygon_area(polygon) <= 0:
        raise ValueError("polygon must be counter-clockwise with positive area")
    remaining = list(range(k))
    triangles = []
    while len(remaining) > 3:
        n = len(remaining)
        for j in range(n):
            ia, ib, ic = remaining[j - 1], remaining[j], remaining[(j + 1) % n]
            pa, pb, pc = polygon[ia], polygon[ib], polygon[ic]
            if cross2(pa, pb, pc) <= _GEOMETRY_EPS:
                continue  # reflex or flat corner: not an ear
            blocked = False
            for other in remaining:
                if other in (ia, ib, ic):
                    continue
                p = polygon[other]
                if cross2(pa, pb, p) >= 0 and cross2(pb, pc, p) >= 0 and cross2(pc, pa, p) >= 0:
                    blocked = True
                    break
            if not blocked:
                triangles.append((ia, ib, ic))
                remaining.pop(j)
                break
        else:
            raise ValueError("polygon is not simple: no ear left to clip")
    triangles.append(tuple(remaining))
    return np.array(triangles, dtype=np.int32)


def extrude_polygon(
    polygon: np.ndarray, z_bottom: float, z_top: float, open_edges: frozenset[int] = frozenset()
) -> tuple[np.ndarray, np.ndarray]:
    """Prism (vertices, faces) from a counter-clockwise simple polygon (K, 2) along z.

    open_edges: indices i of polygon edges (i -> i+1) whose side faces are left out (used to weld
    two solids along a shared face); the result is then open there.
    """
    polygon = np.asarray(polygon, dtype=np.float64)
    k = len(polygon)
    if not z_top > z_bottom:
        raise ValueError(f"extrusion height must be positive, got {z_top - z_bottom}")
    bottom = np.column_stack([polygon, np.full(k, z_bottom)])
    top = np.column_stack([polygon, np.full(k, z_top)])
    vertices = np.vstack([bottom, top])
    cap = triangulate_polygon(polygon)
    faces = [cap + k, cap[:, ::-1]]
    sides = []
    for i in range(k):
        if i in open_edges:
            continue
        j = (i + 1) % k
        sides += [(i, j, k + j), (i, k + j, k + i)]
    if sides:
        faces.append(np.array(sides, dtype=np.int32))
    return vertices, np.vstack(faces).astype(np.int32)


def revolve_profile(
    profile: np.ndarray, segments: int = REVOLUTION_SEGMENTS, phase: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """Solid of revolution about z (vertices, faces) from a profile (K, 2) of (radius, z).

    The profile runs from a point on the axis (radius 0) to another one on the axis; the points
    between have positive radius. Ring vertices sit at angles phase + 2 pi k / segments.
    """
    profile = np.asarray(profile, dtype=np.float64)
    if len(profile) < 3 or profile[0, 0] != 0 or profile[-1, 0] != 0:
        raise ValueError("a revolution profile must start and end on the axis (radius 0)")
    if np.any(profile[1:-1, 0] <= 0):
        raise ValueError("inner profile points must have positive radius")
    if segments < 3:
        raise ValueError(f"segments must be >= 3, got {segments}")
    angles = phase + 2.0 * np.pi * np.arange(segments) / segments
    ring_count = len(profile) - 2
    rings = [
        np.column_stack([r * np.cos(angles), r * np.sin(angles), np.full(segments, z)])
        for r, z in profile[1:-1]
    ]
    bottom_pole = ring_count * segments
    top_pole = bottom_pole + 1
    vertices = np.vstack([*rings, [0.0, 0.0, profile[0, 1]], [0.0, 0.0, profile[-1, 1]]])
    k = np.arange(segments)
    k1 = (k + 1) % segments
    faces = [np.column_stack([np.full(segments, bottom_pole), k1, k])]
    for i in range(ring_count - 1):
        lo, hi = i * segments, (i + 1) * segments
        faces.append(np.column_stack([lo + k, lo + k1, hi + k1]))
        faces.append(np.column_stack([lo + k, hi + k1, hi + k]))
    last = (ring_count - 1) * segments
    faces.append(np.column_stack([last + k, last + k1, np.full(segments, top_pole)]))
    faces_array = np.vstack(faces).astype(np.int32)
    return vertices, _orient_outward(vertices, faces_array)


def weld(
    meshes: list[tuple[np.ndarray, np.ndarray]], tolerance: float = 1e-9
) -> tuple[np.ndarray, np.ndarray]:
    """Concatenate meshes and merge vertices closer than `tolerance` metres."""
    vertices = np.vstack([v for v, _ in meshes])
    offsets = np.cumsum([0] + [len(v) for v, _ in meshes[:-1]])
    faces = np.vstack([f + o for (_, f), o in zip(meshes, offsets, strict=True)])
    keys = np.round(vertices / tolerance).astype(np.int64)
    _, first, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    return vertices[first], inverse.reshape(-1)[faces].astype(np.int32)


def drop_unused(vertices: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    used = np.unique(faces)
    remap = np.full(len(vertices), -1, dtype=np.int64)
    remap[used] = np.arange(len(used))
    return vertices[used], remap[faces].astype(np.int32)
