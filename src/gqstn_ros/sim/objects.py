"""Procedural objects for the synthetic world, reproducible from a seed.

Every object is an `ObjectModel`: one watertight, outward-oriented triangle mesh (the single truth
of its geometry: rendering and ray casting use it) plus a decomposition into convex parts that
tile the solid, for MuJoCo, which collides mesh geoms through their convex hulls. Each convex
part has its own density (`ObjectModel.part_densities`), so mass, centre of mass and inertia
follow the parts: a tool's heavy head, a bottle's liquid, a top-heavy stick.

Sizes are drawn relative to a gripper stroke (`generate_object(..., stroke=...)`, by default
the Robotiq 2F-85's `STROKE`), so most objects fit between the jaws in at least one direction;
the `oversized` and `sheet` families are made not to (larger than the stroke in every direction,
or too flat to pick from a table).

Families: `FAMILIES` are the original fifteen (their objects for a seed never change: datasets
and worlds are built from them by default); `EXTENDED_FAMILIES` add composites, superquadrics,
vessels, extrusions with holes, thin flat objects, tools, tiny and tall slender objects;
`ALL_FAMILIES` is both. `FAMILY_TAGS` / `FAMILY_GROUPS` group them ("primitive", "composed",
"revolution", "thin", "tool", "tiny", "slender", ...) so that whole groups can be held out
(`hold_out_families`).

Object frame: metres, origin at the centre of mass, axes of the generating primitive (the
extrusion / revolution axis is z). Faces are counter-clockwise seen from outside.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from types import MappingProxyType

import numpy as np
from scipy.interpolate import PchipInterpolator
from scipy.optimize import linprog
from scipy.spatial import ConvexHull

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
# Strokes (m) that `generate_object` sizes objects for: parallel-jaw grippers from a small
# electric gripper to a large two-finger hand.
MIN_STROKE = 0.02
MAX_STROKE = 0.4
# Densities a part may have (kg/m^3): foam-filled shells to steel.
MIN_PART_DENSITY = 20.0
MAX_PART_DENSITY = 8000.0
# Coulomb friction coefficients an object surface may carry.
MIN_FRICTION = 0.05
MAX_FRICTION = 2.0
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
    density: mean density, kg/m^3: mass / enclosed volume of the mesh.
    mass: kg.
    inertia: (3, 3) float64 inertia tensor about the centre of mass in the object frame, kg m^2.
    expected_graspable: False when the object was made to defeat the gripper.
    note: why it is not graspable ("" otherwise).
    part_densities: density of each convex part (kg/m^3), in `convex_parts` order; mass, centre
        of mass and inertia are those of the parts with these densities. Empty on input means
        every part has `density`.
    friction: Coulomb sliding friction coefficient of the object's surface (dimensionless),
        for every contact with it (finger pads, table, other objects); `Scene` gives it to the
        object's collision geoms with precedence over the other geom. None: no surface of its
        own, contacts use the world's friction (`PhysicsConfig.sliding_friction`; MuJoCo takes
        the larger of the two geoms' coefficients).
    stroke: the gripper stroke (m) the object was sized for (`generate_object`'s `stroke`).
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
    part_densities: tuple[float, ...] = ()
    friction: float | None = None
    stroke: float = STROKE

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
        densities = tuple(float(d) for d in self.part_densities) or (float(self.density),) * len(
            parts
        )
        if len(densities) != len(parts):
            raise ValueError(
                f"object {self.name!r}: part_densities has {len(densities)} entries for "
                f"{len(parts)} convex parts"
            )
        for index, value in enumerate(densities):
            if not (np.isfinite(value) and MIN_PART_DENSITY <= value <= MAX_PART_DENSITY):
                raise ValueError(
                    f"object {self.name!r}: part_densities[{index}] must lie in "
                    f"[{MIN_PART_DENSITY}, {MAX_PART_DENSITY}] kg/m^3, got {value}"
                )
        if self.friction is not None and not (
            np.isfinite(self.friction) and MIN_FRICTION <= self.friction <= MAX_FRICTION
        ):
            raise ValueError(
                f"object {self.name!r}: friction must be None or lie in "
                f"[{MIN_FRICTION}, {MAX_FRICTION}], got {self.friction}"
            )
        if not (np.isfinite(self.stroke) and self.stroke > 0):
            raise ValueError(f"object {self.name!r}: stroke must be positive, got {self.stroke}")
        for array in (vertices, faces, inertia):
            array.flags.writeable = False
        object.__setattr__(self, "vertices", vertices)
        object.__setattr__(self, "faces", faces)
        object.__setattr__(self, "convex_parts", tuple(parts))
        object.__setattr__(self, "inertia", inertia)
        object.__setattr__(self, "part_densities", densities)

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

    @property
    def uniform_density(self) -> bool:
        """Whether every convex part has the same density."""
        return len(set(self.part_densities)) == 1

    @property
    def inertial(self) -> tuple[float, np.ndarray, np.ndarray]:
        """(mass kg, centre of mass (3,) m in the object frame: the origin, inertia (3, 3) kg m^2
        about it), as a simulator's body takes them."""
        return self.mass, np.zeros(3), self.inertia.copy()


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
# Mass properties of parts with their own densities
# --------------------------------------------------------------------------------------------


def convex_hull_mesh(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Closed outward triangle mesh (vertices, faces) of the convex hull of points (N, 3), m."""
    points = np.asarray(points, dtype=np.float64)
    hull = ConvexHull(points)
    faces = hull.simplices.astype(np.int64)
    a, b, c = (points[faces[:, k]] for k in range(3))
    flip = np.einsum("ij,ij->i", np.cross(b - a, c - a), hull.equations[:, :3]) < 0
    faces[flip] = faces[flip][:, ::-1]
    return _drop_unused(points, faces.astype(np.int32))


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


# --------------------------------------------------------------------------------------------
# More solids: superquadrics, solids and shells of revolution, extruded cell complexes
# --------------------------------------------------------------------------------------------

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
    _positive_sizes("superquadric", semi_x=semi_x, semi_y=semi_y, semi_z=semi_z)
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
    _positive_sizes("vessel", wall=wall, floor=floor)
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
        if _polygon_area(polygon) < 0:
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
    vertices, faces_array = _drop_unused(vertices, np.array(faces, dtype=np.int64))
    polygons = list(pieces) if pieces is not None else [points[loop] for loop in loops]
    parts = [_extruded_points(np.asarray(q, float), z_bottom, z_top) for q in polygons]
    return vertices, faces_array, parts


# --------------------------------------------------------------------------------------------
# Assemblies: convex pieces glued face to face into one watertight solid
# --------------------------------------------------------------------------------------------


class _PlacementError(ValueError):
    """A piece does not fit where it was tried (the caller draws another placement)."""


@lru_cache(maxsize=64)
def _face_edges(
    faces: tuple[tuple[int, ...], ...],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(face sizes, owning face of each edge, edge start and end vertex) of face loops."""
    sizes = np.array([len(face) for face in faces])
    owner = np.repeat(np.arange(len(faces)), sizes)
    current = np.array([v for face in faces for v in face])
    following = np.array([v for face in faces for v in (*face[1:], face[0])])
    return sizes, owner, current, following


@dataclass(frozen=True)
class _Piece:
    """A convex polytope: vertices (n, 3) m and planar convex faces as vertex loops,
    counter-clockwise seen from outside. `contact_faces`: indices of the faces large and flat
    enough to glue another piece to."""

    vertices: np.ndarray
    faces: tuple[tuple[int, ...], ...]
    contact_faces: tuple[int, ...]

    @cached_property
    def _frame_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(F, 3) centroids, outward unit normals (Newell), u and v axes of all faces."""
        sizes, owner, current, following = _face_edges(self.faces)
        a, b = self.vertices[current], self.vertices[following]
        normals = np.zeros((len(self.faces), 3))
        np.add.at(normals, owner, np.cross(a, b))
        normals /= np.linalg.norm(normals, axis=1, keepdims=True)
        centroids = np.zeros((len(self.faces), 3))
        np.add.at(centroids, owner, a)
        centroids /= sizes[:, None]
        firsts = np.cumsum(sizes) - sizes
        u = self.vertices[following[firsts]] - self.vertices[current[firsts]]
        u -= np.einsum("ij,ij->i", u, normals)[:, None] * normals
        u /= np.linalg.norm(u, axis=1, keepdims=True)
        return centroids, normals, u, np.cross(normals, u)

    @cached_property
    def planes(self) -> np.ndarray:
        """(F, 4) face planes (unit outward normal n, offset d): n . x + d <= 0 inside."""
        centroids, normals, _, _ = self._frame_arrays
        return np.column_stack([normals, -np.einsum("ij,ij->i", normals, centroids)])

    def face_frame(self, face: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(centroid, outward unit normal, u, v) of a face; (u, v, normal) is right-handed."""
        return tuple(array[face] for array in self._frame_arrays)  # type: ignore[return-value]

    def face_polygon(self, face: int, frame: tuple[np.ndarray, ...]) -> np.ndarray:
        """(K, 2) face loop in the plane coordinates (u, v) of `frame` = (origin, n, u, v)."""
        origin, _, u, v = frame
        loop = self.vertices[list(self.faces[face])] - origin
        return np.column_stack([loop @ u, loop @ v])

    def transformed(self, rotation: np.ndarray, translation: np.ndarray) -> _Piece:
        return _Piece(self.vertices @ rotation.T + translation, self.faces, self.contact_faces)

    def scaled(self, factor: float) -> _Piece:
        return _Piece(self.vertices * factor, self.faces, self.contact_faces)


def _prism_piece(polygon: np.ndarray, height: float) -> _Piece:
    """Prism of a counter-clockwise convex polygon (K, 2) over z in [0, height]; every face
    may take a contact."""
    k = len(polygon)
    vertices = np.vstack(
        [np.column_stack([polygon, np.zeros(k)]), np.column_stack([polygon, np.full(k, height)])]
    )
    faces = [tuple(range(k - 1, -1, -1)), tuple(range(k, 2 * k))]
    faces += [(i, (i + 1) % k, k + (i + 1) % k, k + i) for i in range(k)]
    return _Piece(vertices, tuple(faces), tuple(range(len(faces))))


def _box_piece(size_x: float, size_y: float, size_z: float) -> _Piece:
    hx, hy = size_x / 2, size_y / 2
    return _prism_piece(np.array([[-hx, -hy], [hx, -hy], [hx, hy], [-hx, hy]]), size_z)


def _regular_polygon(radius: float, sides: int, phase: float = 0.0) -> np.ndarray:
    angles = phase + 2.0 * np.pi * np.arange(sides) / sides
    return np.column_stack([radius * np.cos(angles), radius * np.sin(angles)])


def _cylinder_piece(radius: float, height: float, sides: int = 12) -> _Piece:
    """Upright n-gon cylinder; only its two caps take contacts."""
    piece = _prism_piece(_regular_polygon(radius, sides), height)
    return _Piece(piece.vertices, piece.faces, (0, 1))


def _dome_piece(semi_x: float, semi_y: float, semi_z: float, cut: float) -> _Piece:
    """Ellipsoid cut flat at z = -cut * semi_z (cut in [0, 1): a half ellipsoid at 0), lying on
    the cut; only the cut face takes contacts."""
    segments, bands = 16, 6
    low = np.arcsin(-cut)
    polar = np.linspace(low, np.pi / 2, bands + 1)[:-1]
    angles = 2.0 * np.pi * np.arange(segments) / segments
    rings = [
        np.column_stack(
            [
                semi_x * np.cos(p) * np.cos(angles),
                semi_y * np.cos(p) * np.sin(angles),
                np.full(segments, semi_z * (np.sin(p) - np.sin(low))),
            ]
        )
        for p in polar
    ]
    top = len(rings) * segments
    vertices = np.vstack([*rings, [[0.0, 0.0, semi_z * (1.0 - np.sin(low))]]])
    faces: list[tuple[int, ...]] = [tuple(range(segments - 1, -1, -1))]
    for band in range(bands - 1):
        lo, hi = band * segments, (band + 1) * segments
        faces += [
            (lo + k, lo + (k + 1) % segments, hi + (k + 1) % segments, hi + k)
            for k in range(segments)
        ]
    last = (bands - 1) * segments
    faces += [(last + k, last + (k + 1) % segments, top) for k in range(segments)]
    return _Piece(vertices, tuple(faces), (0,))


def _wedge_piece(base: float, rise: float, apex: float, length: float) -> _Piece:
    """Triangular prism: the triangle (0, 0), (base, 0), (apex, rise) in x-z extruded along y
    over `length`; its three rectangular faces and two triangles take contacts."""
    triangle = np.array([[0.0, 0.0], [base, 0.0], [apex, rise]])
    piece = _prism_piece(triangle, length)
    # (x, y=height of the triangle, z=extrusion) -> (x, -z, y) keeps the orientation.
    vertices = piece.vertices[:, [0, 2, 1]] * np.array([1.0, -1.0, 1.0])
    return _Piece(vertices, piece.faces, piece.contact_faces)


def _rotation_between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Rotation matrix turning unit vector a onto unit vector b."""
    axis = np.cross(a, b)
    sine, cosine = np.linalg.norm(axis), float(np.dot(a, b))
    if sine < 1e-12:
        if cosine > 0:
            return np.eye(3)
        perpendicular = np.cross(a, [1.0, 0.0, 0.0])
        if np.linalg.norm(perpendicular) < 1e-6:
            perpendicular = np.cross(a, [0.0, 1.0, 0.0])
        return _axis_rotation(perpendicular / np.linalg.norm(perpendicular), np.pi)
    return _axis_rotation(axis / sine, float(np.arctan2(sine, cosine)))


def _axis_rotation(axis: np.ndarray, angle: float) -> np.ndarray:
    """Rodrigues: rotation by `angle` (rad) about unit `axis`."""
    x, y, z = axis
    cross = np.array([[0.0, -z, y], [z, 0.0, -x], [-y, x, 0.0]])
    return np.eye(3) + np.sin(angle) * cross + (1.0 - np.cos(angle)) * cross @ cross


def _inradius(polygon: np.ndarray) -> float:
    """Smallest distance from the vertex mean to the edges of a ccw convex polygon (K, 2)."""
    centre = polygon.mean(axis=0)
    edges = np.roll(polygon, -1, axis=0) - polygon
    lengths = np.linalg.norm(edges, axis=1)
    offsets = centre - polygon
    return float(np.min((edges[:, 0] * offsets[:, 1] - edges[:, 1] * offsets[:, 0]) / lengths))


def _circumradius(polygon: np.ndarray) -> float:
    return float(np.linalg.norm(polygon - polygon.mean(axis=0), axis=1).max())


def _ring_triangles(outer: np.ndarray, inner: np.ndarray) -> list[tuple[int, int, int]]:
    """Triangles covering a ccw convex polygon (n, 2) with a ccw convex hole (m, 2) strictly
    inside it; indices 0..n-1 are outer corners, n..n+m-1 inner ones; each triangle ccw.

    Merges both loops by edge direction: each bridge joins an outer and an inner corner that
    are extreme in the same direction, so it stays outside the hole and bridges never cross.
    Raises _PlacementError unless the triangles are all counter-clockwise and cover exactly
    the ring's area.
    """
    n, m = len(outer), len(inner)

    def edge_angles(polygon: np.ndarray) -> np.ndarray:
        edges = np.roll(polygon, -1, axis=0) - polygon
        return np.arctan2(edges[:, 1], edges[:, 0])

    reference = edge_angles(inner)[0]
    inner_angles = (edge_angles(inner) - reference) % (2 * np.pi)
    inner_angles[0] = 0.0
    outer_angles = (edge_angles(outer) - reference) % (2 * np.pi)
    start = int(np.argmin(outer_angles))  # the first outer edge at or after inner edge 0
    triangles = []
    i = j = 0
    while i < n or j < m:
        corner = (start + i) % n
        if j < m and (i == n or inner_angles[j] <= outer_angles[corner]):
            triangles.append((corner, n + (j + 1) % m, n + j))
            j += 1
        else:
            triangles.append((corner, (corner + 1) % n, n + j % m))
            i += 1
    corners = np.vstack([outer, inner])[np.array(triangles)]
    edges_ab, edges_ac = corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]
    areas = 0.5 * (edges_ab[:, 0] * edges_ac[:, 1] - edges_ab[:, 1] * edges_ac[:, 0])
    ring_area = _polygon_area(outer) - _polygon_area(inner)
    scale = max(float(np.ptp(outer, axis=0).max()), 1e-12)
    if areas.min() <= 1e-9 * scale * scale or abs(areas.sum() - ring_area) > 1e-9 * ring_area:
        raise _PlacementError("the ring between the faces does not triangulate")
    return triangles


def _inside(inner: np.ndarray, outer: np.ndarray, margin: float) -> bool:
    """Whether every corner of `inner` (m, 2) lies at least `margin` inside the ccw convex
    polygon `outer` (n, 2)."""
    edges = np.roll(outer, -1, axis=0) - outer
    lengths = np.linalg.norm(edges, axis=1)
    for start, edge, length in zip(outer, edges, lengths, strict=True):
        offsets = inner - start
        if np.any((edge[0] * offsets[:, 1] - edge[1] * offsets[:, 0]) / length < margin):
            return False
    return True


def _pieces_apart(first: _Piece, second: _Piece, gap: float) -> bool:
    """Whether two convex pieces are disjoint with room to spare (about `gap` m or more).

    Linear program: the deepest point inside both hulls' face planes; the pieces are apart when
    even that point lies more than gap / 2 outside one of them.
    """
    centre_a, centre_b = first.vertices.mean(axis=0), second.vertices.mean(axis=0)
    radius_a = np.linalg.norm(first.vertices - centre_a, axis=1).max()
    radius_b = np.linalg.norm(second.vertices - centre_b, axis=1).max()
    if np.linalg.norm(centre_a - centre_b) > radius_a + radius_b + gap:
        return True
    for one, other in ((first, second), (second, first)):
        distances = other.vertices @ one.planes[:, :3].T + one.planes[:, 3]
        if np.any(distances.min(axis=0) > gap):  # a face plane separates them
            return True
        if np.any(np.all(distances < 0, axis=1)):  # a corner lies inside the other piece
            return False
    planes = np.vstack([first.planes, second.planes])
    # maximise t subject to n . x + d + t <= 0 for every face plane, t <= 1
    result = linprog(
        c=[0.0, 0.0, 0.0, -1.0],
        A_ub=np.column_stack([planes[:, :3], np.ones(len(planes))]),
        b_ub=-planes[:, 3],
        bounds=[(None, None)] * 3 + [(None, 1.0)],
        method="highs",
    )
    return bool(result.status == 0 and -result.fun < -gap / 2)


@dataclass(frozen=True)
class _Contact:
    """Piece `inner_piece`'s face `inner_face` lies flat inside piece `outer_piece`'s face
    `outer_face` (facing it); the mesh keeps the ring of the outer face around it."""

    outer_piece: int
    outer_face: int
    inner_piece: int
    inner_face: int


def _place_piece(
    host: _Piece,
    host_face: int,
    piece: _Piece,
    piece_face: int,
    offset: np.ndarray,
    spin: float,
) -> _Piece:
    """`piece` moved so that its face `piece_face` lies on the plane of the host's face, facing
    it, its centroid at the host face's centroid + offset (u, v) m, turned by `spin` rad."""
    host_centre, host_normal, u, v = host.face_frame(host_face)
    centre, normal, _, _ = piece.face_frame(piece_face)
    rotation = _axis_rotation(host_normal, spin) @ _rotation_between(normal, -host_normal)
    target = host_centre + offset[0] * u + offset[1] * v
    return piece.transformed(rotation, target - rotation @ centre)


def _check_contact(pieces: Sequence[_Piece], contact: _Contact, margin: float) -> None:
    """Raise _PlacementError unless the inner face lies `margin` inside the outer face and the
    ring between them triangulates."""
    outer = pieces[contact.outer_piece]
    frame = outer.face_frame(contact.outer_face)
    outer_polygon = outer.face_polygon(contact.outer_face, frame)
    inner_polygon = pieces[contact.inner_piece].face_polygon(contact.inner_face, frame)[::-1]
    if not _inside(inner_polygon, outer_polygon, margin):
        raise _PlacementError("the face does not fit inside the face it is glued to")
    _ring_triangles(outer_polygon, inner_polygon)


def _assemble(pieces: Sequence[_Piece], contacts: Sequence[_Contact]) -> Solid:
    """One watertight mesh of pieces glued face to face; the pieces are its convex parts.

    Each inner face is left out; its outer face becomes the ring around it (triangulated by
    `_ring_triangles`); every other face is fanned. The pieces' vertices are kept apart (a
    glued face's corners are the inner piece's own), so no welding is needed.
    """
    offsets = np.cumsum([0] + [len(p.vertices) for p in pieces[:-1]])
    hidden = {(c.inner_piece, c.inner_face) for c in contacts}
    rings = {(c.outer_piece, c.outer_face): c for c in contacts}
    triangles: list[tuple[int, int, int]] = []
    for index, piece in enumerate(pieces):
        base = int(offsets[index])
        for face, loop in enumerate(piece.faces):
            if (index, face) in hidden:
                continue
            contact = rings.get((index, face))
            if contact is None:
                triangles += [
                    (base + loop[0], base + loop[j], base + loop[j + 1])
                    for j in range(1, len(loop) - 1)
                ]
                continue
            frame = piece.face_frame(face)
            inner = pieces[contact.inner_piece]
            inner_loop = list(inner.faces[contact.inner_face])[::-1]
            corners = [base + k for k in loop] + [
                int(offsets[contact.inner_piece]) + k for k in inner_loop
            ]
            ring = _ring_triangles(
                piece.face_polygon(face, frame),
                inner.face_polygon(contact.inner_face, frame)[::-1],
            )
            triangles += [(corners[a], corners[b], corners[c]) for a, b, c in ring]
    vertices = np.vstack([p.vertices for p in pieces])
    return vertices, np.array(triangles, dtype=np.int32), [p.vertices for p in pieces]


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
"""The original families, drawn at the 2F-85 stroke (`STROKE`)."""

_UNGRASPABLE_NOTES = {
    "oversized": "larger than the gripper stroke in every direction",
    "sheet": "too flat to pick from a table",
}

# --------------------------------------------------------------------------------------------
# Extended families. Builders take the rng and the stroke s (m); sizes are fractions of s.
# --------------------------------------------------------------------------------------------

# Flat objects are never made thinner than this when sized for a small stroke (m).
_PICKABLE_FLOOR = 1.25 * MIN_PICKABLE_THICKNESS
# Assemblies: a glued face lies at least this far (fraction of s) inside the face it is glued
# to, and pieces not glued together keep about this much (fraction of s) apart.
_GLUE_MARGIN = 0.015
_PIECE_GAP = 0.02


@dataclass(frozen=True)
class _Draft:
    """A family builder's result: the solid, each convex part's density (kg/m^3; None: the
    uniform `DEFAULT_DENSITY`) and the surface friction (None: the world's)."""

    solid: Solid
    part_densities: tuple[float, ...] | None = None
    friction: float | None = None


def _scaled_solid(solid: Solid, factors: np.ndarray) -> Solid:
    vertices, faces, parts = solid
    return vertices * factors, faces, [part * factors for part in parts]


def _original(
    build: Callable[[np.random.Generator], Solid], thickness: str = "scaled"
) -> Callable[[np.random.Generator, float], _Draft]:
    """An original family sized for stroke s: its 2F-85 object scaled by s / STROKE (the very
    same object at s = STROKE). thickness "kept": z is not scaled (sheets stay too flat);
    "pickable": z scales but never below min(its thickness, `_PICKABLE_FLOOR`)."""

    def make(rng: np.random.Generator, stroke: float) -> _Draft:
        solid = build(rng)
        if stroke == STROKE:
            return _Draft(solid)
        factor = stroke / STROKE
        z_factor = factor
        if thickness == "kept":
            z_factor = 1.0
        elif thickness == "pickable":
            current = float(np.ptp(solid[0][:, 2]))
            z_factor = max(factor * current, min(current, _PICKABLE_FLOOR)) / current
        return _Draft(_scaled_solid(solid, np.array([factor, factor, z_factor])))

    return make


def _draw(rng: np.random.Generator, low: float, high: float, stroke: float) -> float:
    """A length drawn uniformly in [low, high] x stroke, m."""
    return float(rng.uniform(low, high)) * stroke


def _densities_by_height(
    parts: Sequence[np.ndarray], split: float, below: float, above: float
) -> tuple[float, ...]:
    """Per-part density: `below` for parts under the height `split` (m), `above` otherwise."""
    return tuple(below if part[:, 2].max() <= split + 1e-12 else above for part in parts)


def _random_piece(rng: np.random.Generator, s: float) -> _Piece:
    """A box, n-gon cylinder, cut ellipsoid (dome) or wedge, every dimension >= 0.12 s."""
    kind = int(rng.integers(4))
    if kind == 0:
        return _box_piece(*(_draw(rng, 0.15, 0.5, s) for _ in range(3)))
    if kind == 1:
        return _cylinder_piece(_draw(rng, 0.08, 0.22, s), _draw(rng, 0.15, 0.6, s))
    if kind == 2:
        return _dome_piece(
            _draw(rng, 0.12, 0.3, s),
            _draw(rng, 0.12, 0.3, s),
            _draw(rng, 0.12, 0.3, s),
            float(rng.uniform(0.0, 0.6)),
        )
    base = _draw(rng, 0.15, 0.45, s)
    return _wedge_piece(
        base,
        _draw(rng, 0.15, 0.45, s),
        base * float(rng.uniform(-0.2, 1.2)),
        _draw(rng, 0.15, 0.5, s),
    )


def _attach_random_piece(
    rng: np.random.Generator,
    pieces: list[_Piece],
    used: set[tuple[int, int]],
    piece: _Piece,
    s: float,
) -> tuple[_Piece, _Contact]:
    """Glue `piece` to a free face of a random piece already there, at a random offset and
    turn: the smaller of the two faces goes inside the larger (the piece is scaled, by 0.4 to
    2, to fit). Raises _PlacementError when it overlaps another piece or the assembly would be
    wider than 0.8 s in every direction (or longer than 1.6 s)."""
    hosts = [i for i, p in enumerate(pieces) if any((i, f) not in used for f in p.contact_faces)]
    if not hosts:
        raise _PlacementError("no free face")
    host_index = hosts[int(rng.integers(len(hosts)))]
    host = pieces[host_index]
    free = [f for f in host.contact_faces if (host_index, f) not in used]
    host_face = free[int(rng.integers(len(free)))]
    piece_face = piece.contact_faces[int(rng.integers(len(piece.contact_faces)))]
    host_polygon = host.face_polygon(host_face, host.face_frame(host_face))
    polygon = piece.face_polygon(piece_face, piece.face_frame(piece_face))
    margin = _GLUE_MARGIN * s
    new_index = len(pieces)
    if _polygon_area(polygon) <= _polygon_area(host_polygon):  # the new face goes inside
        room = _inradius(host_polygon) - margin
        factor = min(1.0, 0.9 * room / _circumradius(polygon))
        reach = room - factor * _circumradius(polygon)
        contact = _Contact(host_index, host_face, new_index, piece_face)
    else:  # the host's face goes inside the new one
        need = _circumradius(host_polygon) + margin
        factor = max(1.0, need / (0.9 * _inradius(polygon)))
        reach = factor * _inradius(polygon) - need
        contact = _Contact(new_index, piece_face, host_index, host_face)
    if not 0.4 <= factor <= 2.0 or reach < 0:
        raise _PlacementError("the faces' sizes do not match")
    radius, angle = reach * np.sqrt(rng.uniform()), rng.uniform(0.0, 2.0 * np.pi)
    offset = radius * np.array([np.cos(angle), np.sin(angle)])
    placed = _place_piece(
        host, host_face, piece.scaled(factor), piece_face, offset, rng.uniform(0, 2 * np.pi)
    )
    _check_contact([*pieces, placed], contact, margin)
    for index, other in enumerate(pieces):
        if index != host_index and not _pieces_apart(other, placed, _PIECE_GAP * s):
            raise _PlacementError("the piece overlaps another one")
    extents = np.ptp(np.vstack([*(p.vertices for p in pieces), placed.vertices]), axis=0)
    if extents.min() > GRASPABLE_FRACTION * s or extents.max() > 1.6 * s:
        raise _PlacementError("the assembly grows too large")
    return placed, contact


def _make_composite(rng: np.random.Generator, s: float) -> _Draft:
    wanted = int(rng.integers(2, 9))
    pieces = [_random_piece(rng, s)]
    contacts: list[_Contact] = []
    used: set[tuple[int, int]] = set()
    # Up to `wanted` pieces; placements that fail are drawn again a bounded number of times
    # (and until there are two pieces).
    for attempt in range(400):
        if len(pieces) == wanted or (attempt >= 8 * wanted and len(pieces) >= 2):
            break
        try:
            placed, contact = _attach_random_piece(rng, pieces, used, _random_piece(rng, s), s)
        except _PlacementError:
            continue
        pieces.append(placed)
        contacts.append(contact)
        used |= {
            (contact.outer_piece, contact.outer_face),
            (contact.inner_piece, contact.inner_face),
        }
    if len(pieces) < 2:
        raise RuntimeError("composite: no second piece could be placed")
    # A density gradient along a random direction across the pieces.
    base, gradient = float(rng.uniform(300.0, 1200.0)), float(rng.uniform(0.0, 0.7))
    direction = rng.normal(size=3)
    direction /= np.linalg.norm(direction)
    centres = np.array([p.vertices.mean(axis=0) for p in pieces])
    along = (centres - centres.mean(axis=0)) @ direction
    along /= max(float(np.abs(along).max()), 1e-12)
    densities = tuple(float(np.clip(base * (1 + gradient * t), 150.0, 2500.0)) for t in along)
    return _Draft(_assemble(pieces, contacts), densities, float(rng.uniform(0.35, 0.9)))


def _make_superquadric(rng: np.random.Generator, s: float) -> _Draft:
    semi = [_draw(rng, 0.1, 0.4, s), _draw(rng, 0.1, 0.6, s), _draw(rng, 0.1, 0.6, s)]
    low, high = SUPERQUADRIC_EXPONENT_RANGE
    solid = superquadric_solid(
        *rng.permutation(semi), float(rng.uniform(low, high)), float(rng.uniform(low, high))
    )
    density = float(rng.uniform(300.0, 1200.0))
    return _Draft(solid, (density,), float(rng.uniform(0.3, 0.9)))


def _make_bottle(rng: np.random.Generator, s: float) -> _Draft:
    """Foot, straight body, rounded shoulder, neck and cap; liquid up to a random level."""
    radius, height = _draw(rng, 0.15, 0.4, s), _draw(rng, 1.3, 2.6, s)
    foot = 0.04 * height
    shoulder = float(rng.uniform(0.5, 0.7)) * height
    neck_start = shoulder + float(rng.uniform(0.12, 0.2)) * height
    cap_height = float(rng.uniform(0.04, 0.08)) * height
    neck = float(rng.uniform(0.3, 0.5)) * radius
    cap = neck * float(rng.uniform(1.05, 1.25))
    fill = foot + float(rng.uniform(0.1, 0.95)) * (shoulder - foot)
    curve = np.linspace(0.0, 1.0, 5)[1:-1]
    shoulder_points = [
        [neck + (radius - neck) * np.cos(np.pi / 2 * t), shoulder + t * (neck_start - shoulder)]
        for t in curve
    ]
    profile = np.array(
        [
            [0.0, 0.0],
            [0.92 * radius, 0.0],
            [radius, foot],
            [radius, fill],
            [radius, shoulder],
            *shoulder_points,
            [neck, neck_start],
            [neck, height - cap_height],
            [cap, height - cap_height],
            [cap, height],
            [0.0, height],
        ]
    )
    solid = revolved_solid(profile)
    liquid, empty = float(rng.uniform(900.0, 1300.0)), float(rng.uniform(150.0, 500.0))
    densities = _densities_by_height(solid[2], fill, liquid, empty)
    return _Draft(solid, densities, float(rng.uniform(0.3, 0.8)))


def _make_vase(rng: np.random.Generator, s: float) -> _Draft:
    """A solid vase shape: foot, belly, neck and lip joined by a smooth (PCHIP) profile, with a
    weighted base."""
    height, widest = _draw(rng, 1.0, 2.2, s), _draw(rng, 0.2, 0.4, s)
    belly, neck = float(rng.uniform(0.25, 0.5)), float(rng.uniform(0.65, 0.85))
    radii = [
        float(rng.uniform(0.5, 0.8)) * widest,
        widest,
        float(rng.uniform(0.35, 0.7)) * widest,
        float(rng.uniform(0.5, 1.0)) * widest,
    ]
    curve = PchipInterpolator([0.0, belly, neck, 1.0], radii)
    # PCHIP does not overshoot: the belly, sampled, is the widest point.
    heights = np.union1d(np.linspace(0.0, 1.0, 8), [belly, neck])
    samples = np.column_stack([curve(heights), heights * height])
    profile = np.vstack([[0.0, 0.0], samples, [0.0, height]])
    solid = revolved_solid(profile)
    density = float(rng.uniform(300.0, 900.0))
    weighted = min(2500.0, density * float(rng.uniform(1.5, 3.0)))
    densities = _densities_by_height(solid[2], float(samples[1, 1]), weighted, density)
    return _Draft(solid, densities, float(rng.uniform(0.35, 0.8)))


def _make_bowl(rng: np.random.Generator, s: float) -> _Draft:
    rim, height = _draw(rng, 0.4, 0.8, s), _draw(rng, 0.3, 0.55, s)
    base = float(rng.uniform(0.35, 0.6)) * rim
    wall, floor = _draw(rng, 0.03, 0.055, s), _draw(rng, 0.05, 0.08, s)
    power = float(rng.uniform(0.5, 1.0))
    heights = floor + (height - floor) * np.linspace(0.0, 1.0, 5)
    radii = base + (rim - base) * (heights / height) ** power
    foot = base * float(rng.uniform(0.85, 1.0))
    outer = np.vstack([[foot, 0.0], np.column_stack([radii, heights])])
    solid = revolved_shell_solid(outer, wall, floor)
    density = float(rng.uniform(900.0, 2400.0))  # plastic to stoneware
    return _Draft(solid, (density,) * len(solid[2]), float(rng.uniform(0.35, 0.8)))


def _make_cup(rng: np.random.Generator, s: float) -> _Draft:
    top, height = _draw(rng, 0.28, 0.42, s), _draw(rng, 0.8, 1.3, s)
    bottom = float(rng.uniform(0.7, 1.0)) * top
    wall, floor = _draw(rng, 0.025, 0.045, s), _draw(rng, 0.04, 0.08, s)
    at_floor = bottom + (top - bottom) * floor / height
    outer = np.array([[bottom, 0.0], [at_floor, floor], [top, height]])
    solid = revolved_shell_solid(outer, wall, floor)
    density = float(rng.uniform(900.0, 2400.0))
    return _Draft(solid, (density,) * len(solid[2]), float(rng.uniform(0.35, 0.8)))


def _make_extrusion(rng: np.random.Generator, s: float) -> _Draft:
    """A random star outline in three rings of cells about the centre, with holes (the centre
    and/or windows in the middle ring), extruded."""
    sectors = int(rng.integers(8, 15))
    step = 2.0 * np.pi / sectors
    angles = step * np.arange(sectors) + rng.uniform(-0.3, 0.3, sectors) * step
    rays = np.column_stack([np.cos(angles), np.sin(angles)])
    outer = _draw(rng, 0.2, 0.4, s) * rng.uniform(0.7, 1.0, sectors)
    levels = [float(rng.uniform(0.25, 0.4)), float(rng.uniform(0.55, 0.72)), 1.0]
    # Point 0 is the centre; ring r (0..2) point k is 1 + r * sectors + k.
    points = np.vstack([[0.0, 0.0], *(level * outer[:, None] * rays for level in levels)])

    def ring(r: int, k: int) -> int:
        return 1 + r * sectors + k % sectors

    centre_hole = bool(rng.random() < 0.5)
    windows = int(rng.integers(0 if centre_hole else 1, 4))
    candidates = list(rng.permutation(sectors))
    chosen: list[int] = []
    for k in candidates:
        if len(chosen) < windows and all(
            abs(k - c) % sectors not in (0, 1, sectors - 1) for c in chosen
        ):
            chosen.append(int(k))
    cells: list[list[int]] = []
    if not centre_hole:
        cells += [[0, ring(0, k), ring(0, k + 1)] for k in range(sectors)]
    for k in range(sectors):
        if k not in chosen:
            cells.append([ring(0, k), ring(0, k + 1), ring(1, k + 1), ring(1, k)])
        cells.append([ring(1, k), ring(1, k + 1), ring(2, k + 1), ring(2, k)])
    pieces = [] if centre_hole else _star_convex_pieces(points[1 : 1 + sectors])
    pieces += [points[c] for c in cells if 0 not in c]
    thickness = _draw(rng, 0.15, 0.5, s)
    solid = extrude_cells(points, cells, -thickness / 2, thickness / 2, pieces)
    density = float(rng.uniform(400.0, 2500.0))
    return _Draft(solid, (density,) * len(solid[2]), float(rng.uniform(0.3, 0.9)))


def _make_thin_flat(rng: np.random.Generator, s: float) -> _Draft:
    """A card, coaster, tile or flat star 5-12 mm thick at the 2F-85 stroke (never below
    `_PICKABLE_FLOOR`), lying on its flat face."""
    kind = int(rng.integers(4))
    if kind == 0:  # rounded rectangle
        width = _draw(rng, 0.35, 0.8, s)
        length = float(rng.uniform(width, 1.6 * s))
        corner = float(rng.uniform(0.05, 0.3)) * width
        arc = np.linspace(0.0, np.pi / 2, 4)
        outline = []
        for sx, sy, start in ((1, 1, 0.0), (-1, 1, 0.5), (-1, -1, 1.0), (1, -1, 1.5)):
            centre = np.array([sx * (length / 2 - corner), sy * (width / 2 - corner)])
            outline += [
                centre + corner * np.array([np.cos(a + start * np.pi), np.sin(a + start * np.pi)])
                for a in arc
            ]
        polygon = np.array(outline)
    elif kind == 1:  # regular polygon or disc
        sides = int(rng.choice([5, 6, 8, 24]))
        polygon = _regular_polygon(_draw(rng, 0.2, 0.4, s), sides, np.pi / 2)
    elif kind == 2:  # ellipse
        polygon = _regular_polygon(1.0, 24) * [_draw(rng, 0.3, 0.8, s), _draw(rng, 0.175, 0.4, s)]
    else:  # star
        points = int(rng.integers(5, 9))
        radii = np.tile([1.0, float(rng.uniform(0.5, 0.7))], points)
        polygon = (
            _regular_polygon(1.0, 2 * points, np.pi / 2)
            * (_draw(rng, 0.25, 0.4, s) * radii)[:, None]
        )
    thickness = max(_draw(rng, 5.0 / 85.0, 12.0 / 85.0, s), _PICKABLE_FLOOR)
    solid = prism_solid(polygon, thickness)
    density = float(rng.uniform(500.0, 2500.0))
    return _Draft(solid, (density,) * len(solid[2]), float(rng.uniform(0.3, 0.9)))


def _make_tool(rng: np.random.Generator, s: float) -> _Draft:
    """Hammer, brush or spatula: a dense head (part 0) and a light handle (part 1) glued to it."""
    kind = int(rng.integers(3))
    if kind == 0:  # hammer: a bar head, a round handle on its long side
        size_y, size_z = _draw(rng, 0.2, 0.32, s), _draw(rng, 0.2, 0.32, s)
        head = _box_piece(_draw(rng, 0.7, 1.2, s), size_y, size_z)
        handle = _cylinder_piece(
            float(rng.uniform(0.5, 0.75)) * size_z / 2, _draw(rng, 1.3, 2.2, s)
        )
        head_face, head_density = 4, float(rng.uniform(2700.0, 7850.0))  # +y face; steel
    elif kind == 1:  # brush: a block head, a square handle out of its end
        size_y, size_z = _draw(rng, 0.3, 0.45, s), _draw(rng, 0.22, 0.35, s)
        head = _box_piece(_draw(rng, 0.45, 0.75, s), size_y, size_z)
        handle = _box_piece(
            float(rng.uniform(0.45, 0.75)) * size_z,
            float(rng.uniform(0.45, 0.75)) * size_y,
            _draw(rng, 1.2, 2.0, s),
        )
        head_face, head_density = 3, float(rng.uniform(1500.0, 2500.0))  # +x face
    else:  # spatula: a flat blade, a flat handle out of its end
        size_y, thickness = _draw(rng, 0.55, 0.9, s), _draw(rng, 0.07, 0.11, s)
        head = _box_piece(_draw(rng, 0.5, 0.8, s), size_y, thickness)
        handle = _box_piece(
            float(rng.uniform(0.5, 0.8)) * thickness,
            float(rng.uniform(0.25, 0.4)) * size_y,
            _draw(rng, 1.2, 1.9, s),
        )
        head_face, head_density = 5, float(rng.uniform(2700.0, 7850.0))  # -x face
    placed = _place_piece(head, head_face, handle, 0, np.zeros(2), 0.0)
    contact = _Contact(0, head_face, 1, 0)
    _check_contact([head, placed], contact, 0.0)
    solid = _assemble([head, placed], [contact])
    handle_density = float(rng.uniform(300.0, 700.0))  # wood, plastic
    return _Draft(solid, (head_density, handle_density), float(rng.uniform(0.4, 0.9)))


def _make_tiny(rng: np.random.Generator, s: float) -> _Draft:
    """A box, cylinder, bead or nut whose smallest extent is 0.09-0.2 s (8-17 mm at 85 mm)."""
    kind = int(rng.integers(4))
    smallest = _draw(rng, 0.09, 0.2, s)
    if kind == 0:
        sizes = [
            smallest,
            float(rng.uniform(smallest, 0.3 * s)),
            float(rng.uniform(smallest, 0.3 * s)),
        ]
        solid = box_solid(*rng.permutation(sizes))
    elif kind == 1:
        if rng.random() < 0.5:
            solid = cylinder_solid(smallest / 2, float(rng.uniform(smallest, 0.3 * s)), 16)
        else:
            solid = cylinder_solid(float(rng.uniform(smallest, 0.3 * s)) / 2, smallest, 16)
    elif kind == 2:
        solid = ellipsoid_solid(smallest / 2, smallest / 2, smallest / 2)
    else:  # hexagonal nut: flat-to-flat and height both at least `smallest`
        across = float(rng.uniform(smallest, 0.25 * s))
        solid = prism_solid(_regular_polygon(across / np.sqrt(3.0), 6), smallest)
    density = float(rng.uniform(400.0, 2500.0))
    return _Draft(solid, (density,) * len(solid[2]), float(rng.uniform(0.3, 0.9)))


def _make_tall_slender(rng: np.random.Generator, s: float) -> _Draft:
    """A cylinder, taper, square or hexagonal column 1.8-3 s tall and 0.12-0.3 s wide, that
    topples easily; half of them top-heavy (the upper part 1.5-3 times denser)."""
    kind = int(rng.integers(4))
    height, width = _draw(rng, 1.8, 3.0, s), _draw(rng, 0.12, 0.3, s)
    split = float(rng.uniform(0.45, 0.75)) * height
    if kind in (0, 1):
        radius = width / 2
        top = radius * (1.0 if kind == 0 else float(rng.uniform(0.3, 0.9)))
        middle = radius + (top - radius) * split / height
        profile = np.array(
            [[0.0, 0.0], [radius, 0.0], [middle, split], [top, height], [0.0, height]]
        )
        solid = revolved_solid(profile, 24)
    else:
        if kind == 2:
            long_side = width * float(rng.uniform(1.0, 1.4))
            polygon = np.array([[0, 0], [long_side, 0], [long_side, width], [0, width]], float)
        else:
            polygon = _regular_polygon(width / np.sqrt(3.0), 6)
        vertices, faces = extrude_polygon(polygon, 0.0, height)
        parts = [_extruded_points(polygon, 0.0, split), _extruded_points(polygon, split, height)]
        solid = (vertices, faces, parts)
    density = float(rng.uniform(300.0, 1200.0))
    upper = density
    if rng.random() < 0.5:
        upper = min(2500.0, density * float(rng.uniform(1.5, 3.0)))
    return _Draft(
        solid, _densities_by_height(solid[2], split, density, upper), float(rng.uniform(0.3, 0.9))
    )


@dataclass(frozen=True)
class _Family:
    """build(rng, stroke) -> _Draft; tags (see FAMILY_TAGS); grasp_widths: (low, high) bounds,
    as fractions of the stroke, on `grasp_width` of its objects (None: made to defeat the
    gripper)."""

    build: Callable[[np.random.Generator, float], _Draft]
    tags: tuple[str, ...]
    grasp_widths: tuple[float, float] | None


_FAMILIES: dict[str, _Family] = {
    "box": _Family(_original(_make_box), ("primitive",), (0.2, 0.8)),
    "cylinder": _Family(_original(_make_cylinder), ("primitive", "revolution"), (0.2, 0.8)),
    "sphere": _Family(_original(_make_sphere), ("primitive", "revolution"), (0.2, 0.8)),
    "ellipsoid": _Family(_original(_make_ellipsoid), ("primitive",), (0.2, 0.8)),
    "prism_convex": _Family(_original(_make_prism(concave=False)), ("extruded",), (0.2, 0.8)),
    "prism_concave": _Family(
        _original(_make_prism(concave=True)), ("extruded", "concave"), (0.2, 0.8)
    ),
    "l_shape": _Family(_original(_make_l), ("extruded", "concave"), (0.15, 0.5)),
    "t_shape": _Family(_original(_make_t), ("extruded", "concave"), (0.15, 0.5)),
    "u_shape": _Family(_original(_make_u), ("extruded", "concave"), (0.15, 0.5)),
    "mug": _Family(
        _original(_make_mug), ("revolution", "composed", "concave", "hollow"), (0.58, 0.88)
    ),
    "plate": _Family(_original(_make_plate, "pickable"), ("primitive", "thin"), (0.5, 0.8)),
    "disc": _Family(
        _original(_make_disc, "pickable"), ("primitive", "revolution", "thin"), (0.5, 0.8)
    ),
    "stick": _Family(_original(_make_stick), ("primitive", "slender"), (0.1, 0.25)),
    "oversized": _Family(_original(_make_oversized), ("primitive", "ungraspable"), None),
    "sheet": _Family(_original(_make_sheet, "kept"), ("thin", "ungraspable"), None),
    "composite": _Family(_make_composite, ("composed", "concave", "nonuniform"), (0.12, 0.8)),
    "superquadric": _Family(_make_superquadric, ("primitive",), (0.2, 0.8)),
    "bottle": _Family(_make_bottle, ("revolution", "nonuniform"), (0.3, 0.8)),
    "vase": _Family(_make_vase, ("revolution", "concave", "nonuniform"), (0.4, 0.8)),
    "bowl": _Family(_make_bowl, ("revolution", "concave", "hollow"), (0.3, 0.55)),
    "cup": _Family(_make_cup, ("revolution", "concave", "hollow"), (0.55, 0.85)),
    "extrusion": _Family(_make_extrusion, ("extruded", "concave", "holes"), (0.15, 0.5)),
    "thin_flat": _Family(_make_thin_flat, ("thin",), (0.3, 0.8)),
    "tool": _Family(_make_tool, ("tool", "composed", "nonuniform"), (0.07, 0.35)),
    "tiny": _Family(_make_tiny, ("tiny", "primitive"), (0.09, 0.2)),
    "tall_slender": _Family(_make_tall_slender, ("slender", "nonuniform"), (0.12, 0.3)),
}

FAMILIES: tuple[str, ...] = tuple(_FAMILY_BUILDERS)
"""The original fifteen families: the default of worlds (`WorldConfig.object_families`),
datasets and `generate_random_object`; their object for a seed never changes."""
EXTENDED_FAMILIES: tuple[str, ...] = tuple(f for f in _FAMILIES if f not in _FAMILY_BUILDERS)
"""The families added to the original fifteen."""
ALL_FAMILIES: tuple[str, ...] = FAMILIES + EXTENDED_FAMILIES
"""Every name `generate_object` accepts."""
UNGRASPABLE_FAMILIES: tuple[str, ...] = tuple(_UNGRASPABLE_NOTES)
"""Families made to defeat the gripper (every object they produce is ungraspable)."""
FAMILY_TAGS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {name: family.tags for name, family in _FAMILIES.items()}
)
"""Tags of each family: primitive, extruded, revolution, composed, concave, hollow, holes,
thin, slender, tiny, tool, nonuniform (parts of different densities), ungraspable."""
FAMILY_GROUPS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        tag: tuple(name for name in ALL_FAMILIES if tag in FAMILY_TAGS[name])
        for tag in sorted({tag for tags in FAMILY_TAGS.values() for tag in tags})
    }
)
"""Tag -> the families carrying it (in `ALL_FAMILIES` order), to hold out whole groups."""


def check_family(family: str) -> None:
    """Raise ValueError unless `family` is one of `ALL_FAMILIES`."""
    if family not in _FAMILIES:
        raise ValueError(f"unknown object family {family!r}; known: {', '.join(ALL_FAMILIES)}")


def check_stroke(stroke: float) -> float:
    """`stroke` as a float; ValueError unless it lies in [MIN_STROKE, MAX_STROKE] m."""
    if isinstance(stroke, bool) or not isinstance(stroke, (int, float, np.floating, np.integer)):
        raise ValueError(f"stroke must be a number of metres, got {stroke!r}")
    if not (np.isfinite(stroke) and MIN_STROKE <= stroke <= MAX_STROKE):
        raise ValueError(
            f"stroke must be a gripper opening in [{MIN_STROKE}, {MAX_STROKE}] m, got {stroke}"
        )
    return float(stroke)


def hold_out_families(
    groups: Sequence[str] = (), families: Sequence[str] = (), among: Sequence[str] = ALL_FAMILIES
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(kept, held_out): the families of `among` split by whether they belong to one of the
    `groups` (tags of `FAMILY_GROUPS`) or are named in `families`. Raises ValueError for an
    unknown group or family, or when nothing would be kept."""
    for group in groups:
        if group not in FAMILY_GROUPS:
            raise ValueError(f"unknown family group {group!r}; known: {', '.join(FAMILY_GROUPS)}")
    for family in (*families, *among):
        check_family(family)
    out = {f for group in groups for f in FAMILY_GROUPS[group]} | set(families)
    kept = tuple(f for f in among if f not in out)
    if not kept:
        raise ValueError(f"holding out groups {list(groups)} and {list(families)} keeps no family")
    return kept, tuple(f for f in among if f in out)


def family_grasp_widths(family: str, stroke: float = STROKE) -> tuple[float, float] | None:
    """(narrowest, widest) `grasp_width` (m) of the family's objects sized for `stroke`; None
    for the families made to defeat the gripper."""
    check_family(family)
    stroke = check_stroke(stroke)
    widths = _FAMILIES[family].grasp_widths
    if widths is None:
        return None
    return widths[0] * stroke, widths[1] * stroke


def grasp_width(obj: ObjectModel) -> float:
    """Width (m) across which an object of its family is meant to be grasped: its smallest
    bounding-box extent, or for thin objects (tag "thin", lying on their flat face) the
    smaller extent in the plane."""
    extents = np.sort(obj.extents)
    thin = obj.family in FAMILY_TAGS and "thin" in FAMILY_TAGS[obj.family]
    return float(extents[1] if thin else extents[0])


def check_family_fits_gripper(
    family: str, min_width: float, max_width: float, stroke: float | None = None
) -> None:
    """Raise ValueError when a gripper opening from `min_width` to `max_width` (m) cannot close
    on every object of `family` sized for `stroke` (default: max_width): some would be
    narrower than min_width or wider than max_width across their `grasp_width`. Families made
    to defeat the gripper (`UNGRASPABLE_FAMILIES`) pass: they are meant not to fit."""
    check_family(family)
    if not (np.isfinite(min_width) and np.isfinite(max_width) and 0 <= min_width < max_width):
        raise ValueError(
            f"gripper widths must satisfy 0 <= min_width < max_width, got "
            f"min_width={min_width}, max_width={max_width}"
        )
    stroke = check_stroke(max_width if stroke is None else stroke)
    widths = family_grasp_widths(family, stroke)
    if widths is None:
        return
    low, high = widths
    limits = f"gripper opening [{1000 * min_width:.1f}, {1000 * max_width:.1f}] mm"
    if low < min_width:
        raise ValueError(
            f"family {family!r} sized for a {1000 * stroke:.1f} mm stroke makes objects "
            f"{1000 * low:.1f} mm wide, narrower than the {limits} closes on"
        )
    if high > max_width:
        raise ValueError(
            f"family {family!r} sized for a {1000 * stroke:.1f} mm stroke makes objects "
            f"{1000 * high:.1f} mm wide, wider than the {limits} opens to"
        )


def _check_seed(seed: int) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


def _check_density(density: float) -> float:
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
        densities = (_check_density(density),) * len(parts)
    else:
        if len(part_densities) != len(parts):
            raise ValueError(
                f"{name}: part_densities has {len(part_densities)} entries for {len(parts)} parts"
            )
        densities = tuple(_check_density(d) for d in part_densities)
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


def object_name(family: str, seed: int, stroke: float = STROKE) -> str:
    """`<family>_<seed>`, with `_stroke<micrometres>um` appended for a stroke other than
    `STROKE`."""
    if stroke == STROKE:
        return f"{family}_{seed}"
    return f"{family}_{seed}_stroke{round(stroke * 1e6)}um"


def generate_object(
    family: str, seed: int, density: float | None = None, stroke: float = STROKE
) -> ObjectModel:
    """A random object of `family` drawn from `np.random.default_rng(seed)`, sized for a
    gripper of the given `stroke` (m, its maximum opening).

    density: None gives the family's own materials (the original families: `DEFAULT_DENSITY`
    everywhere; the extended ones: per-part densities and a surface friction); a number makes
    every part that density (kg/m^3) and keeps the shape. The same (family, seed, density,
    stroke) always gives the same object, and at the default stroke the original families give
    the objects they always gave. Raises ValueError for an unknown family, a negative or
    non-integer seed, a density outside [MIN_PART_DENSITY, MAX_PART_DENSITY] or a stroke
    outside [MIN_STROKE, MAX_STROKE].
    """
    check_family(family)
    seed = _check_seed(seed)
    stroke = check_stroke(stroke)
    if density is not None:
        density = _check_density(density)
    draft = _FAMILIES[family].build(np.random.default_rng(seed), stroke)
    note = _UNGRASPABLE_NOTES.get(family, "")
    return object_from_solid(
        object_name(family, seed, stroke),
        family,
        seed,
        draft.solid,
        density=DEFAULT_DENSITY if density is None else density,
        part_densities=draft.part_densities if density is None else None,
        friction=draft.friction,
        stroke=stroke,
        expected_graspable=not note,
        note=note,
    )


def generate_random_object(
    seed: int,
    families: tuple[str, ...] = FAMILIES,
    density: float | None = None,
    stroke: float = STROKE,
) -> ObjectModel:
    """An object of a family drawn from `families` by `seed`, then `generate_object`."""
    seed = _check_seed(seed)
    if not families:
        raise ValueError("families must not be empty")
    for family in families:
        check_family(family)
    family = families[int(np.random.default_rng([seed, len(families)]).integers(len(families)))]
    return generate_object(family, seed, density, stroke)
