"""Simple watertight test solids (boxes, cylinders, spheres, extruded polygons such as an L).

These are for tests and benchmarks of the grasping core; the dataset's procedural objects live
in `gqstn_ros.sim.objects`. Every builder returns a `PrimitiveShape`: an outward-oriented
triangle mesh in its own frame (metres, centred on its bounding box) plus convex parts whose
union is the solid (what a physics engine collides with).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class PrimitiveShape:
    """A watertight solid: vertices (N, 3) float64 m, faces (M, 3) int32 (counter-clockwise seen
    from outside), convex_parts: list of (K_i, 3) vertex arrays whose hulls union to the solid."""

    name: str
    vertices: np.ndarray
    faces: np.ndarray
    convex_parts: list[np.ndarray] = field(default_factory=list)


def _positive(name: str, value: float) -> float:
    if not (np.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be positive and finite, got {value}")
    return float(value)


def box(size: tuple[float, float, float] | np.ndarray, name: str = "box") -> PrimitiveShape:
    """An axis-aligned box of extents size = (x, y, z) metres centred at the origin."""
    half = np.array([_positive(f"box size[{i}]", s) for i, s in enumerate(size)]) / 2.0
    corners = np.array(
        [[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], dtype=np.float64
    )
    vertices = corners * half
    # Corner index = 4 * (x > 0) + 2 * (y > 0) + (z > 0); two triangles per face, outward.
    faces = np.array(
        [
            [0, 1, 3], [0, 3, 2],  # -x
            [4, 6, 7], [4, 7, 5],  # +x
            [0, 4, 5], [0, 5, 1],  # -y
            [2, 3, 7], [2, 7, 6],  # +y
            [0, 2, 6], [0, 6, 4],  # -z
            [1, 5, 7], [1, 7, 3],  # +z
        ],
        dtype=np.int32,
    )  # fmt: skip
    return PrimitiveShape(name, vertices, faces, [vertices.copy()])


def cylinder(
    radius: float, height: float, segments: int = 32, name: str = "cylinder"
) -> PrimitiveShape:
    """A cylinder about the z axis, centred at the origin, with `segments` side facets."""
    radius = _positive("cylinder radius", radius)
    height = _positive("cylinder height", height)
    if segments < 3:
        raise ValueError(f"cylinder needs at least 3 segments, got {segments}")
    angles = 2.0 * np.pi * np.arange(segments) / segments
    ring = np.stack([radius * np.cos(angles), radius * np.sin(angles)], axis=1)
    bottom = np.column_stack([ring, np.full(segments, -height / 2)])
    top = np.column_stack([ring, np.full(segments, height / 2)])
    vertices = np.vstack([bottom, top, [[0, 0, -height / 2], [0, 0, height / 2]]])
    i = np.arange(segments)
    j = (i + 1) % segments
    bottom_centre, top_centre = 2 * segments, 2 * segments + 1
    side = np.vstack(
        [np.stack([i, j, j + segments], 1), np.stack([i, j + segments, i + segments], 1)]
    )
    caps = np.vstack(
        [
            np.stack([np.full(segments, bottom_centre), j, i], 1),
            np.stack([np.full(segments, top_centre), i + segments, j + segments], 1),
        ]
    )
    faces = np.vstack([side, caps]).astype(np.int32)
    return PrimitiveShape(name, vertices, faces, [vertices[: 2 * segments].copy()])


def sphere(radius: float, subdivisions: int = 2, name: str = "sphere") -> PrimitiveShape:
    """An icosphere of the given radius (20 * 4**subdivisions faces) centred at the origin."""
    radius = _positive("sphere radius", radius)
    if subdivisions < 0:
        raise ValueError(f"sphere subdivisions must be >= 0, got {subdivisions}")
    g = (1.0 + np.sqrt(5.0)) / 2.0
    vertices = np.array(
        [[-1, g, 0], [1, g, 0], [-1, -g, 0], [1, -g, 0], [0, -1, g], [0, 1, g],
         [0, -1, -g], [0, 1, -g], [g, 0, -1], [g, 0, 1], [-g, 0, -1], [-g, 0, 1]],
        dtype=np.float64,
    )  # fmt: skip
    faces = np.array(
        [[0, 11, 5], [0, 5, 1], [0, 1, 7], [0, 7, 10], [0, 10, 11], [1, 5, 9], [5, 11, 4],
         [11, 10, 2], [10, 7, 6], [7, 1, 8], [3, 9, 4], [3, 4, 2], [3, 2, 6], [3, 6, 8],
         [3, 8, 9], [4, 9, 5], [2, 4, 11], [6, 2, 10], [8, 6, 7], [9, 8, 1]],
        dtype=np.int64,
    )  # fmt: skip
    vertices /= np.linalg.norm(vertices, axis=1, keepdims=True)
    for _ in range(subdivisions):
        edges = np.sort(np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]]), 1)
        unique_edges, inverse = np.unique(edges, axis=0, return_inverse=True)
        midpoints = vertices[unique_edges].mean(axis=1)
        midpoints /= np.linalg.norm(midpoints, axis=1, keepdims=True)
        mid = (inverse.reshape(3, -1) + len(vertices)).T  # (M, 3): midpoints of 01, 12, 20
        a, b, c = faces.T
        ab, bc, ca = mid.T
        faces = np.vstack(
            [np.stack(f, 1) for f in ((a, ab, ca), (b, bc, ab), (c, ca, bc), (ab, bc, ca))]
        )
        vertices = np.vstack([vertices, midpoints])
    vertices = vertices * radius
    return PrimitiveShape(name, vertices, faces.astype(np.int32), [vertices.copy()])


def extruded_polygon(
    polygon_xy: np.ndarray,
    height: float,
    convex_parts_xy: list[np.ndarray] | None = None,
    name: str = "prism",
) -> PrimitiveShape:
    """A prism of the given height (centred on z = 0) over a simple counter-clockwise polygon.

    polygon_xy: (K, 2) metres, counter-clockwise, star-shaped with respect to its first vertex
    (the caps are fan-triangulated from it; a ValueError is raised otherwise).
    convex_parts_xy: convex polygons whose union is the polygon (default: the polygon itself,
    which must then be convex for physics).
    """
    polygon_xy = np.asarray(polygon_xy, dtype=np.float64)
    height = _positive("prism height", height)
    if polygon_xy.ndim != 2 or polygon_xy.shape[1] != 2 or len(polygon_xy) < 3:
        raise ValueError(f"polygon must have shape (K >= 3, 2), got {polygon_xy.shape}")
    k = len(polygon_xy)
    fan = np.stack([np.zeros(k - 2, dtype=np.int64), np.arange(1, k - 1), np.arange(2, k)], 1)
    p = polygon_xy[fan]
    first, second = p[:, 1] - p[:, 0], p[:, 2] - p[:, 0]
    fan_area = first[:, 0] * second[:, 1] - first[:, 1] * second[:, 0]
    if np.any(fan_area <= 0):
        raise ValueError("polygon must be counter-clockwise and star-shaped about its first vertex")
    bottom = np.column_stack([polygon_xy, np.full(k, -height / 2)])
    top = np.column_stack([polygon_xy, np.full(k, height / 2)])
    vertices = np.vstack([bottom, top])
    i = np.arange(k)
    j = (i + 1) % k
    side = np.vstack([np.stack([i, j, j + k], 1), np.stack([i, j + k, i + k], 1)])
    faces = np.vstack([side, fan[:, ::-1], fan + k]).astype(np.int32)
    parts_xy = [polygon_xy] if convex_parts_xy is None else convex_parts_xy
    parts = [
        np.vstack(
            [np.column_stack([q, np.full(len(q), -height / 2)]),
             np.column_stack([q, np.full(len(q), height / 2)])]
        )
        for q in (np.asarray(part, dtype=np.float64) for part in parts_xy)
    ]  # fmt: skip
    return PrimitiveShape(name, vertices, faces, parts)


def l_shape(
    length: float, width: float, arm: float, height: float, name: str = "l_shape"
) -> PrimitiveShape:
    """A concave L-shaped prism: a `length` x `arm` bar plus an `arm` x `width` leg (metres).

    The bounding box is length x width x height, centred at the origin.
    """
    for label, value in (("length", length), ("width", width), ("arm", arm)):
        _positive(f"L {label}", value)
    if not (arm < length and arm < width):
        raise ValueError(f"L arm ({arm}) must be narrower than its length and width")
    x0, y0 = -length / 2, -width / 2
    # Counter-clockwise, starting at the reflex corner: it sees the whole L, so the fan
    # triangulation from it covers the polygon.
    polygon = np.array(
        [[x0 + arm, y0 + arm], [x0 + arm, y0 + width], [x0, y0 + width], [x0, y0],
         [x0 + length, y0], [x0 + length, y0 + arm]]
    )  # fmt: skip
    bar = np.array([[x0, y0], [x0 + length, y0], [x0 + length, y0 + arm], [x0, y0 + arm]])
    leg = np.array([[x0, y0 + arm], [x0 + arm, y0 + arm], [x0 + arm, y0 + width], [x0, y0 + width]])
    return extruded_polygon(polygon, height, [bar, leg], name)


def resting_pose(
    vertices: np.ndarray,
    yaw: float = 0.0,
    xy: tuple[float, float] = (0.0, 0.0),
    rotation: np.ndarray | None = None,
) -> np.ndarray:
    """4x4 object->world transform that rests the mesh on the table (lowest vertex at z = 0).

    rotation: optional 3x3 rotation applied before the yaw about world z (e.g. to lay a
    cylinder on its side).
    """
    base = np.eye(3) if rotation is None else np.asarray(rotation, dtype=np.float64)
    c, s = np.cos(yaw), np.sin(yaw)
    rot = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]]) @ base
    transform = np.eye(4)
    transform[:3, :3] = rot
    rotated = np.asarray(vertices, dtype=np.float64) @ rot.T
    transform[:3, 3] = [xy[0], xy[1], -rotated[:, 2].min()]
    return transform
