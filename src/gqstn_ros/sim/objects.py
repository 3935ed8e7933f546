"""Procedural objects for the synthetic world, reproducible from a seed.

Every object is an `ObjectModel`: one watertight, outward-oriented triangle mesh (the single truth
of its geometry: rendering, ray casting and mass properties all use it) plus a decomposition into
convex parts for MuJoCo, which collides mesh geoms through their convex hulls. Sizes are drawn
relative to the stroke of the gripper (`gqstn_ros.gripper.ROBOTIQ_2F85`), so most objects fit
between its jaws in at least one direction; the `oversized` and `sheet` families are made not to
(larger than the stroke in every direction, or too flat to pick from a table).

Object frame: metres, origin at the centre of mass, axes of the generating primitive (the
extrusion / revolution axis is z). Faces are counter-clockwise seen from outside.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from gqstn_ros.gripper import ROBOTIQ_2F85

# Default density of the generated solids (kg/m^3): light plastic / wood, like household objects.
DEFAULT_DENSITY = 700.0
# Segments around the axis of revolved shapes (cylinders, spheres, mugs).
REVOLUTION_SEGMENTS = 32
# Latitude bands of spheres and ellipsoids.
SPHERE_BANDS = 16
# Thinnest solid a parallel-jaw gripper can pick from a table top (m); thinner flat objects are
# "too flat to pick": the fingertips cannot get under or around them.
MIN_PICKABLE_THICKNESS = 0.004
# Relative tolerance used by geometric predicates (collinearity, watertightness), dimensionless.
_GEOMETRY_EPS = 1e-12

STROKE = ROBOTIQ_2F85.max_width
# A graspable direction is at most this fraction of the stroke (leaves room for pose error).
GRASPABLE_FRACTION = 0.8
# Oversized objects are at least this multiple of the stroke in every direction.
OVERSIZED_FACTOR = 1.15


@dataclass(frozen=True, eq=False)
class ObjectModel:
    """A rigid object: watertight mesh, convex collision parts and mass properties.

    name: unique name, `<family>_<seed>`.
    family: one of `FAMILIES`.
    seed: the seed it was generated from (`generate_object(family, seed)` rebuilds it).
    vertices: (N, 3) float64, metres, object frame (origin at the centre of mass).
    faces: (M, 3) int32 vertex indices, counter-clockwise seen from outside (outward normals).
    convex_parts: tuple of (K_i, 3) float64 vertex arrays whose convex hulls tile the solid.
    density: kg/m^3.
    mass: kg.
    inertia: (3, 3) float64 inertia tensor about the centre of mass in the object frame, kg m^2.
    expected_graspable: False when the object was made to defeat the gripper.
    note: why it is not graspable ("" otherwise).
    """

    name: str
    family: str
    seed: int
    vertices: np.ndarray
    faces: np.ndarray
    convex_parts: tuple[np.ndarray, ...]
    density: float
    mass: float
    inertia: np.ndarray
    expected_graspable: bool = True
    note: str = ""

    def __post_init__(self) -> None:
        vertices = np.array(self.vertices, dtype=np.float64)
        faces = np.array(self.faces, dtype=np.int32)
        check_watertight(vertices, faces)
        if not self.convex_parts:
            raise ValueError(f"object {self.name!r} has no convex parts")
        parts = []
        for index, given in enumerate(self.convex_parts):
            part = np.array(given, dtype=np.float64)
            if part.ndim != 2 or part.shape[1] != 3 or part.shape[0] < 4:
                raise ValueError(
                    f"convex part {index} of {self.name!r} must be (K>=4, 3), got {part.shape}"
                )
            part.flags.writeable = False
            parts.append(part)
        inertia = np.array(self.inertia, dtype=np.float64)
        if not (self.mass > 0 and self.density > 0):
            raise ValueError(f"object {self.name!r} needs positive mass and density")
        for array in (vertices, faces, inertia):
            array.flags.writeable = False
        object.__setattr__(self, "vertices", vertices)
        object.__setattr__(self, "faces", faces)
        object.__setattr__(self, "convex_parts", tuple(parts))
        object.__setattr__(self, "inertia", inertia)

    @property
    def extents(self) -> np.ndarray:
        """(3,) size of the axis-aligned bounding box in the object frame, metres."""
        return self.vertices.max(axis=0) - self.vertices.min(axis=0)

    @property
    def bounding_radius(self) -> float:
        """Radius of the sphere about the origin (centre of mass) enclosing the mesh, metres."""
        return float(np.linalg.norm(self.vertices, axis=1).max())

    @property
    def volume(self) -> float:
        """Enclosed volume of the mesh, m^3."""
        return self.mass / self.density


# --------------------------------------------------------------------------------------------
# Mesh utilities
# --------------------------------------------------------------------------------------------


def _positive_sizes(label: str, **sizes: float) -> None:
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


def _orient_outward(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Faces flipped if needed so that the enclosed volume is positive."""
    if signed_volume(vertices, faces) < 0:
        return faces[:, ::-1].copy()
    return faces


def _polygon_area(polygon: np.ndarray) -> float:
    x, y = polygon[:, 0], polygon[:, 1]
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))


def _cross2(o: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    return float((a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]))


def is_convex_polygon(polygon: np.ndarray) -> bool:
    """Whether a counter-clockwise polygon (K, 2) has no reflex vertex."""
    k = len(polygon)
    return all(_cross2(polygon[i - 1], polygon[i], polygon[(i + 1) % k]) > 0 for i in range(k))


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
                and _cross2(np.array(chain[-2]), np.array(chain[-1]), np.array(p)) <= 0
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
    if _polygon_area(polygon) <= 0:
        raise ValueError("polygon must be counter-clockwise with positive area")
    remaining = list(range(k))
    triangles = []
    while len(remaining) > 3:
        n = len(remaining)
        for j in range(n):
            ia, ib, ic = remaining[j - 1], remaining[j], remaining[(j + 1) % n]
            pa, pb, pc = polygon[ia], polygon[ib], polygon[ic]
            if _cross2(pa, pb, pc) <= _GEOMETRY_EPS:
                continue  # reflex or flat corner: not an ear
            blocked = False
            for other in remaining:
                if other in (ia, ib, ic):
                    continue
                p = polygon[other]
                if _cross2(pa, pb, p) >= 0 and _cross2(pb, pc, p) >= 0 and _cross2(pc, pa, p) >= 0:
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


def _weld(
    meshes: list[tuple[np.ndarray, np.ndarray]], tolerance: float = 1e-9
) -> tuple[np.ndarray, np.ndarray]:
    """Concatenate meshes and merge vertices closer than `tolerance` metres."""
    vertices = np.vstack([v for v, _ in meshes])
    offsets = np.cumsum([0] + [len(v) for v, _ in meshes[:-1]])
    faces = np.vstack([f + o for (_, f), o in zip(meshes, offsets, strict=True)])
    keys = np.round(vertices / tolerance).astype(np.int64)
    _, first, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    return vertices[first], inverse.reshape(-1)[faces].astype(np.int32)


def _drop_unused(vertices: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    used = np.unique(faces)
    remap = np.full(len(vertices), -1, dtype=np.int64)
    remap[used] = np.arange(len(used))
    return vertices[used], remap[faces].astype(np.int32)


# --------------------------------------------------------------------------------------------
# Primitive solids: (vertices, faces, convex parts)
# --------------------------------------------------------------------------------------------

Solid = tuple[np.ndarray, np.ndarray, list[np.ndarray]]


def box_solid(size_x: float, size_y: float, size_z: float) -> Solid:
    """Axis-aligned box of the given full sizes (m), centred at the origin."""
    _positive_sizes("box", size_x=size_x, size_y=size_y, size_z=size_z)
    hx, hy = size_x / 2, size_y / 2
    rectangle = np.array([[-hx, -hy], [hx, -hy], [hx, hy], [-hx, hy]])
    vertices, faces = extrude_polygon(rectangle, -size_z / 2, size_z / 2)
    return vertices, faces, [vertices]


def cylinder_solid(radius: float, height: float, segments: int = REVOLUTION_SEGMENTS) -> Solid:
    """Cylinder about z of the given radius and height (m), centred at the origin."""
    _positive_sizes("cylinder", radius=radius, height=height)
    profile = np.array(
        [[0, -height / 2], [radius, -height / 2], [radius, height / 2], [0, height / 2]]
    )
    vertices, faces = revolve_profile(profile, segments)
    return vertices, faces, [vertices]


def ellipsoid_solid(semi_x: float, semi_y: float, semi_z: float) -> Solid:
    """Ellipsoid with the given semi-axes (m), centred at the origin (a UV sphere, scaled)."""
    _positive_sizes("ellipsoid", semi_x=semi_x, semi_y=semi_y, semi_z=semi_z)
    polar = np.linspace(-np.pi / 2, np.pi / 2, SPHERE_BANDS + 1)
    profile = np.column_stack([np.cos(polar), np.sin(polar)])
    profile[[0, -1], 0] = 0.0
    vertices, faces = revolve_profile(profile, REVOLUTION_SEGMENTS)
    vertices = vertices * np.array([semi_x, semi_y, semi_z])
    return vertices, faces, [vertices]


def prism_solid(polygon: np.ndarray, height: float) -> Solid:
    """Straight prism of a counter-clockwise simple polygon (K, 2) (m), centred in z.

    Convex parts: the polygon itself if convex; otherwise, for a polygon star-shaped about the
    origin, fan triangles from the origin greedily merged into convex pieces.
    """
    _positive_sizes("prism", height=height)
    polygon = np.asarray(polygon, dtype=np.float64)
    vertices, faces = extrude_polygon(polygon, -height / 2, height / 2)
    pieces = [polygon] if is_convex_polygon(polygon) else _star_convex_pieces(polygon)
    parts = [_extruded_points(piece, -height / 2, height / 2) for piece in pieces]
    return vertices, faces, parts


def _extruded_points(polygon: np.ndarray, z_bottom: float, z_top: float) -> np.ndarray:
    k = len(polygon)
    return np.vstack(
        [
            np.column_stack([polygon, np.full(k, z_bottom)]),
            np.column_stack([polygon, np.full(k, z_top)]),
        ]
    )


def _star_convex_pieces(polygon: np.ndarray) -> list[np.ndarray]:
    """Convex pieces of a polygon star-shaped about the origin (origin strictly inside its kernel).

    Walks the fan (origin, p_i, p_i+1) and grows each piece while (origin, p_s .. p_e) stays convex.
    """
    origin = np.zeros(2)
    k = len(polygon)
    for i in range(k):
        if _cross2(origin, polygon[i], polygon[(i + 1) % k]) <= 0:
            raise ValueError("polygon is not star-shaped about the origin")
    # Start the walk at a reflex vertex so that no piece wraps across a reflex corner.
    reflex = [i for i in range(k) if _cross2(polygon[i - 1], polygon[i], polygon[(i + 1) % k]) <= 0]
    start = reflex[0] if reflex else 0
    order = [(start + i) % k for i in range(k + 1)]
    pieces = []
    current = [order[0], order[1]]
    for index in order[2:]:
        candidate = [*current, index]
        if is_convex_polygon(np.vstack([origin, polygon[candidate]])):
            current = candidate
        else:
            pieces.append(np.vstack([origin, polygon[current]]))
            current = [current[-1], index]
    pieces.append(np.vstack([origin, polygon[current]]))
    return pieces


def _rectilinear_solid(
    rectangles: list[tuple[float, float, float, float]], outline: np.ndarray, thickness: float
) -> Solid:
    """Prism of a rectilinear outline (K, 2) whose convex parts are the given rectangles.

    rectangles: (x_min, y_min, x_max, y_max) tiles of the outline, metres.
    """
    _positive_sizes("multi-part shape", thickness=thickness)
    for x0, y0, x1, y1 in rectangles:
        _positive_sizes("multi-part shape", part_length=x1 - x0, part_width=y1 - y0)
    vertices, faces = extrude_polygon(outline, -thickness / 2, thickness / 2)
    parts = [
        _extruded_points(
            np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]]), -thickness / 2, thickness / 2
        )
        for x0, y0, x1, y1 in rectangles
    ]
    return vertices, faces, parts


def l_solid(length_x: float, length_y: float, arm_width: float, thickness: float) -> Solid:
    """L-shaped plate: arms of length length_x (along x) and length_y (along y), m."""
    _positive_sizes("l_shape", length_x=length_x, length_y=length_y, arm_width=arm_width)
    if arm_width >= min(length_x, length_y):
        raise ValueError("l_shape: arm_width must be smaller than both arm lengths")
    w = arm_width
    outline = np.array([[0, 0], [length_x, 0], [length_x, w], [w, w], [w, length_y], [0, length_y]])
    return _rectilinear_solid([(0, 0, length_x, w), (0, w, w, length_y)], outline, thickness)


def t_solid(bar_length: float, stem_length: float, arm_width: float, thickness: float) -> Solid:
    """T-shaped plate: a bar along x on top of a stem along y, m."""
    _positive_sizes("t_shape", bar_length=bar_length, stem_length=stem_length, arm_width=arm_width)
    if arm_width >= bar_length / 2 or arm_width >= stem_length:
        raise ValueError("t_shape: arm_width must be below bar_length / 2 and stem_length")
    w, half = arm_width, bar_length / 2
    y_bar = stem_length
    outline = np.array(
        [
            [-w / 2, 0],
            [w / 2, 0],
            [w / 2, y_bar],
            [half, y_bar],
            [half, y_bar + w],
            [-half, y_bar + w],
            [-half, y_bar],
            [-w / 2, y_bar],
        ]
    )
    rectangles = [(-w / 2, 0, w / 2, y_bar), (-half, y_bar, half, y_bar + w)]
    return _rectilinear_solid(rectangles, outline, thickness)


def u_solid(base_length: float, arm_length: float, arm_width: float, thickness: float) -> Solid:
    """U-shaped plate: a base along x with two arms along +y, m."""
    _positive_sizes("u_shape", base_length=base_length, arm_length=arm_length, arm_width=arm_width)
    if 2 * arm_width >= base_length or arm_width >= arm_length:
        raise ValueError("u_shape: arm_width must be below base_length / 2 and arm_length")
    w, b, a = arm_width, base_length, arm_length
    outline = np.array([[0, 0], [b, 0], [b, a], [b - w, a], [b - w, w], [w, w], [w, a], [0, a]])
    rectangles = [(0, 0, b, w), (0, w, w, a), (b - w, w, b, a)]
    return _rectilinear_solid(rectangles, outline, thickness)


def mug_solid(
    *,
    radius: float,
    height: float,
    wall: float,
    bottom: float,
    handle_reach: float,
    handle_bar: float,
    handle_height: float,
    segments: int = 16,
) -> Solid:
    """Open cup about z with a C-shaped handle on +x, m.

    The body is revolved with `segments` flat facets; the facet centred on +x is where the handle
    (width = that facet's width) is welded, so the mesh is one closed surface. Convex parts: the
    bottom disc, one piece per wall facet, and three boxes for the handle.
    radius: outer radius; wall: wall thickness; bottom: floor thickness; handle_reach: how far
    the handle sticks out of the wall; handle_bar: thickness of its arms and bar; handle_height:
    its overall height, centred on the body.
    """
    _positive_sizes(
        "mug",
        radius=radius,
        height=height,
        wall=wall,
        bottom=bottom,
        handle_reach=handle_reach,
        handle_bar=handle_bar,
        handle_height=handle_height,
    )
    if wall >= radius or bottom >= height:
        raise ValueError("mug: wall must be below radius and bottom below height")
    if 2 * handle_bar >= handle_height or handle_height >= height - bottom:
        raise ValueError("mug: handle_height must exceed 2 handle_bar and fit above the bottom")
    if handle_bar >= handle_reach:
        raise ValueError("mug: handle_bar must be below handle_reach")
    half_step = np.pi / segments
    phase = half_step  # ring vertices at +-pi/N about +x: facet 0 is centred on +x
    z1 = (height + bottom) / 2 - handle_height / 2
    z2, z3, z4 = z1 + handle_bar, z1 + handle_height - handle_bar, z1 + handle_height
    inner = radius - wall
    profile = np.array(
        [
            [0, 0],
            [radius, 0],
            [radius, z1],
            [radius, z2],
            [radius, z3],
            [radius, z4],
            [radius, height],
            [inner, height],
            [inner, bottom],
            [0, bottom],
        ]
    )
    body_vertices, body_faces = revolve_profile(profile, segments, phase)
    # Remove the outer-wall facet at +x (between ring angles -pi/N and +pi/N) in the two bands
    # where the handle arms attach. Ring i (profile point i + 1) holds vertices i*N .. i*N+N-1.
    facet_a, facet_b = segments - 1, 0  # angles -pi/N (= phase + 2 pi (N-1)/N) and +pi/N
    attach_quads = []
    for ring_lo in (1, 3):  # profile points (radius, z1) -> (radius, z2) and z3 -> z4
        lo, hi = ring_lo * segments, (ring_lo + 1) * segments
        attach_quads.append({lo + facet_a, lo + facet_b, hi + facet_a, hi + facet_b})
    keep = [set(face) not in _quad_triangle_sets(attach_quads) for face in body_faces.tolist()]
    body_faces = body_faces[np.array(keep)]
    # Handle: extrude the C outline (x, z) along y over the facet's width, open at the wall.
    x_wall, half_width = radius * np.cos(half_step), radius * np.sin(half_step)
    x_out = x_wall + handle_reach
    outline = np.array(
        [
            [x_wall, z1],
            [x_out, z1],
            [x_out, z4],
            [x_wall, z4],
            [x_wall, z3],
            [x_out - handle_bar, z3],
            [x_out - handle_bar, z2],
            [x_wall, z2],
        ]
    )
    handle_2d, handle_faces = extrude_polygon(
        outline, -half_width, half_width, open_edges=frozenset({3, 7})
    )
    # (a, b, c) -> (x=a, y=c, z=b) is a reflection: swap axes and flip the winding.
    handle_vertices = handle_2d[:, [0, 2, 1]]
    handle_faces = handle_faces[:, ::-1]
    vertices, faces = _weld([(body_vertices, body_faces), (handle_vertices, handle_faces)])
    vertices, faces = _drop_unused(vertices, faces)
    # Convex parts.
    angles = phase + 2.0 * np.pi * np.arange(segments) / segments
    ring = np.column_stack([np.cos(angles), np.sin(angles)])
    parts = [_extruded_points(radius * ring, 0.0, bottom)]
    for k in range(segments):
        quad = np.vstack(
            [
                radius * ring[k],
                radius * ring[(k + 1) % segments],
                inner * ring[(k + 1) % segments],
                inner * ring[k],
            ]
        )
        parts.append(_extruded_points(quad, bottom, height))
    for x0, x1, za, zb in (
        (x_wall, x_out, z1, z2),
        (x_wall, x_out, z3, z4),
        (x_out - handle_bar, x_out, z2, z3),
    ):
        parts.append(_box_points((x0, -half_width, za), (x1, half_width, zb)))
    return vertices, faces, parts


def _quad_triangle_sets(quads: list[set[int]]) -> list[set[int]]:
    """All 3-vertex subsets of the given quads (the two triangles of either diagonal)."""
    sets = []
    for quad in quads:
        items = sorted(quad)
        sets += [set(items) - {v} for v in items]
    return sets


def _box_points(lower: tuple[float, float, float], upper: tuple[float, float, float]) -> np.ndarray:
    """(8, 3) corners of the axis-aligned box [lower, upper]."""
    (x0, y0, z0), (x1, y1, z1) = lower, upper
    return np.array([[x, y, z] for x in (x0, x1) for y in (y0, y1) for z in (z0, z1)])


# --------------------------------------------------------------------------------------------
# Families
# --------------------------------------------------------------------------------------------

# Size ranges (m) as fractions of the stroke, so that the families follow the gripper.
_GRASP_MAX = GRASPABLE_FRACTION * STROKE  # largest dimension meant to be grasped across
_SMALL = 0.2 * STROKE  # smallest general dimension (17 mm for the 2F-85)
# Thickness of the flat but pickable families (plates, discs): 4.25 to 10.2 mm for the 2F-85.
_FLAT_THICKNESS = (0.05 * STROKE, 0.12 * STROKE)


def _uniform(rng: np.random.Generator, low: float, high: float) -> float:
    return float(rng.uniform(low, high))


def _star_polygon(rng: np.random.Generator, concave: bool) -> np.ndarray:
    """Random counter-clockwise polygon star-shaped about the origin, fitting the stroke."""
    outer = _uniform(rng, 0.3 * STROKE, 0.5 * STROKE)
    while True:
        count = int(rng.integers(3, 7)) * 2  # even, 6..12 vertices
        step = 2.0 * np.pi / count
        angles = step * np.arange(count) + rng.uniform(-0.3, 0.3, count) * step
        radii = outer * rng.uniform(0.75, 1.0, count)
        if concave:
            radii[1::2] *= rng.uniform(0.4, 0.6)  # pull every other vertex in: reflex corners
        polygon = np.column_stack([radii * np.cos(angles), radii * np.sin(angles)])
        if not concave:
            polygon = convex_hull_2d(polygon)
        if concave != is_convex_polygon(polygon):
            return polygon


def _make_box(rng: np.random.Generator) -> Solid:
    sizes = [
        _uniform(rng, _SMALL, _GRASP_MAX),
        _uniform(rng, _SMALL, 1.2 * STROKE),
        _uniform(rng, _SMALL, 1.2 * STROKE),
    ]
    return box_solid(*rng.permutation(sizes))


def _make_cylinder(rng: np.random.Generator) -> Solid:
    return cylinder_solid(
        _uniform(rng, _SMALL / 2, _GRASP_MAX / 2), _uniform(rng, _SMALL, 1.4 * STROKE)
    )


def _make_sphere(rng: np.random.Generator) -> Solid:
    radius = _uniform(rng, _SMALL / 2, _GRASP_MAX / 2)
    return ellipsoid_solid(radius, radius, radius)


def _make_ellipsoid(rng: np.random.Generator) -> Solid:
    semi = [
        _uniform(rng, _SMALL / 2, _GRASP_MAX / 2),
        _uniform(rng, _SMALL / 2, 0.6 * STROKE),
        _uniform(rng, _SMALL / 2, 0.6 * STROKE),
    ]
    return ellipsoid_solid(*rng.permutation(semi))


def _make_prism(concave: bool) -> Callable[[np.random.Generator], Solid]:
    def make(rng: np.random.Generator) -> Solid:
        return prism_solid(_star_polygon(rng, concave), _uniform(rng, _SMALL, _GRASP_MAX))

    return make


def _make_l(rng: np.random.Generator) -> Solid:
    return l_solid(
        _uniform(rng, 0.6 * STROKE, 1.3 * STROKE),
        _uniform(rng, 0.5 * STROKE, STROKE),
        _uniform(rng, 0.2 * STROKE, 0.35 * STROKE),
        _uniform(rng, 0.15 * STROKE, 0.5 * STROKE),
    )


def _make_t(rng: np.random.Generator) -> Solid:
    return t_solid(
        _uniform(rng, 0.8 * STROKE, 1.4 * STROKE),
        _uniform(rng, 0.5 * STROKE, STROKE),
        _uniform(rng, 0.2 * STROKE, 0.35 * STROKE),
        _uniform(rng, 0.15 * STROKE, 0.5 * STROKE),
    )


def _make_u(rng: np.random.Generator) -> Solid:
    return u_solid(
        _uniform(rng, 0.8 * STROKE, 1.3 * STROKE),
        _uniform(rng, 0.6 * STROKE, STROKE),
        _uniform(rng, 0.15 * STROKE, 0.3 * STROKE),
        _uniform(rng, 0.15 * STROKE, 0.5 * STROKE),
    )


def _make_mug(rng: np.random.Generator) -> Solid:
    radius = _uniform(rng, 0.3 * STROKE, 0.44 * STROKE)
    height = _uniform(rng, 0.9 * STROKE, 1.3 * STROKE)
    bar = _uniform(rng, 0.07 * STROKE, 0.1 * STROKE)
    return mug_solid(
        radius=radius,
        height=height,
        wall=_uniform(rng, 0.035 * STROKE, 0.06 * STROKE),
        bottom=_uniform(rng, 0.05 * STROKE, 0.1 * STROKE),
        handle_reach=_uniform(rng, 0.25 * STROKE, 0.35 * STROKE),
        handle_bar=bar,
        handle_height=_uniform(rng, 0.5, 0.75) * height,
    )


def _make_plate(rng: np.random.Generator) -> Solid:
    return box_solid(
        _uniform(rng, 0.5 * STROKE, _GRASP_MAX),
        _uniform(rng, 0.5 * STROKE, 1.5 * STROKE),
        _uniform(rng, *_FLAT_THICKNESS),
    )


def _make_disc(rng: np.random.Generator) -> Solid:
    return cylinder_solid(
        _uniform(rng, 0.25 * STROKE, _GRASP_MAX / 2), _uniform(rng, *_FLAT_THICKNESS)
    )


def _make_stick(rng: np.random.Generator) -> Solid:
    length = _uniform(rng, 1.2 * STROKE, 2.4 * STROKE)
    thickness = _uniform(rng, 0.1 * STROKE, 0.25 * STROKE)
    if rng.random() < 0.5:
        return box_solid(thickness, _uniform(rng, 0.1 * STROKE, 0.25 * STROKE), length)
    return cylinder_solid(thickness / 2, length)


def _make_oversized(rng: np.random.Generator) -> Solid:
    low, high = OVERSIZED_FACTOR * STROKE, 1.6 * STROKE
    kind = int(rng.integers(3))
    if kind == 0:
        return box_solid(
            _uniform(rng, low, high), _uniform(rng, low, high), _uniform(rng, low, high)
        )
    if kind == 1:
        radius = _uniform(rng, low, high) / 2
        return ellipsoid_solid(radius, radius, radius)
    return cylinder_solid(_uniform(rng, low, high) / 2, _uniform(rng, low, high))


def _make_sheet(rng: np.random.Generator) -> Solid:
    return box_solid(
        _uniform(rng, OVERSIZED_FACTOR * STROKE, 2.5 * STROKE),
        _uniform(rng, OVERSIZED_FACTOR * STROKE, 2.5 * STROKE),
        _uniform(rng, 0.25, 0.6) * MIN_PICKABLE_THICKNESS,
    )


_FAMILY_BUILDERS: dict[str, Callable[[np.random.Generator], Solid]] = {
    "box": _make_box,
    "cylinder": _make_cylinder,
    "sphere": _make_sphere,
    "ellipsoid": _make_ellipsoid,
    "prism_convex": _make_prism(concave=False),
    "prism_concave": _make_prism(concave=True),
    "l_shape": _make_l,
    "t_shape": _make_t,
    "u_shape": _make_u,
    "mug": _make_mug,
    "plate": _make_plate,
    "disc": _make_disc,
    "stick": _make_stick,
    "oversized": _make_oversized,
    "sheet": _make_sheet,
}

_UNGRASPABLE_NOTES = {
    "oversized": "larger than the gripper stroke in every direction",
    "sheet": "too flat to pick from a table",
}

FAMILIES: tuple[str, ...] = tuple(_FAMILY_BUILDERS)
"""Names accepted by `generate_object`."""
UNGRASPABLE_FAMILIES: tuple[str, ...] = tuple(_UNGRASPABLE_NOTES)
"""Families made to defeat the gripper (every object they produce is ungraspable)."""


def check_family(family: str) -> None:
    """Raise ValueError unless `family` is one of `FAMILIES`."""
    if family not in _FAMILY_BUILDERS:
        raise ValueError(f"unknown object family {family!r}; known: {', '.join(FAMILIES)}")


def _check_seed(seed: int) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


def object_from_solid(
    name: str,
    family: str,
    seed: int,
    solid: Solid,
    *,
    density: float = DEFAULT_DENSITY,
    expected_graspable: bool = True,
    note: str = "",
) -> ObjectModel:
    """ObjectModel from a solid (vertices, faces, convex parts), re-centred at its mass centre."""
    _positive_sizes(name, density=density)
    vertices, faces, parts = solid
    check_watertight(vertices, faces)
    mass, centre, inertia = mass_properties(vertices, faces, density)
    return ObjectModel(
        name=name,
        family=family,
        seed=seed,
        vertices=vertices - centre,
        faces=faces,
        convex_parts=tuple(np.asarray(p, dtype=np.float64) - centre for p in parts),
        density=density,
        mass=mass,
        inertia=inertia,
        expected_graspable=expected_graspable,
        note=note,
    )


def generate_object(family: str, seed: int, density: float = DEFAULT_DENSITY) -> ObjectModel:
    """A random object of `family` drawn from `np.random.default_rng(seed)`.

    The same (family, seed, density) always gives the same object. Raises ValueError for an
    unknown family, a negative or non-integer seed, or a non-positive density.
    """
    check_family(family)
    seed = _check_seed(seed)
    solid = _FAMILY_BUILDERS[family](np.random.default_rng(seed))
    note = _UNGRASPABLE_NOTES.get(family, "")
    return object_from_solid(
        f"{family}_{seed}",
        family,
        seed,
        solid,
        density=density,
        expected_graspable=not note,
        note=note,
    )


def generate_random_object(
    seed: int, families: tuple[str, ...] = FAMILIES, density: float = DEFAULT_DENSITY
) -> ObjectModel:
    """An object of a family drawn from `families` by `seed`, then `generate_object`."""
    seed = _check_seed(seed)
    if not families:
        raise ValueError("families must not be empty")
    for family in families:
        check_family(family)
    family = families[int(np.random.default_rng([seed, len(families)]).integers(len(families)))]
    return generate_object(family, seed, density)
