"""Primitive solids (vertices, faces, convex parts): box, cylinder, ellipsoid, prisms of
polygons, L, T and U plates, and the mug; what the original families and the benchmark
objects are made of."""

from __future__ import annotations

import numpy as np

from gqstn_ros.sim.objects.mesh import (
    REVOLUTION_SEGMENTS,
    SPHERE_BANDS,
    Solid,
    check_positive_sizes,
    cross2,
    drop_unused,
    extrude_polygon,
    is_convex_polygon,
    revolve_profile,
    weld,
)


def box_solid(size_x: float, size_y: float, size_z: float) -> Solid:
    """Axis-aligned box of the given full sizes (m), centred at the origin."""
    check_positive_sizes("box", size_x=size_x, size_y=size_y, size_z=size_z)
    hx, hy = size_x / 2, size_y / 2
    rectangle = np.array([[-hx, -hy], [hx, -hy], [hx, hy], [-hx, hy]])
    vertices, faces = extrude_polygon(rectangle, -size_z / 2, size_z / 2)
    return vertices, faces, [vertices]


def cylinder_solid(radius: float, height: float, segments: int = REVOLUTION_SEGMENTS) -> Solid:
    """Cylinder about z of the given radius and height (m), centred at the origin."""
    check_positive_sizes("cylinder", radius=radius, height=height)
    profile = np.array(
        [[0, -height / 2], [radius, -height / 2], [radius, height / 2], [0, height / 2]]
    )
    vertices, faces = revolve_profile(profile, segments)
    return vertices, faces, [vertices]


def ellipsoid_solid(semi_x: float, semi_y: float, semi_z: float) -> Solid:
    """Ellipsoid with the given semi-axes (m), centred at the origin (a UV sphere, scaled)."""
    check_positive_sizes("ellipsoid", semi_x=semi_x, semi_y=semi_y, semi_z=semi_z)
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
    check_positive_sizes("prism", height=height)
    polygon = np.asarray(polygon, dtype=np.float64)
    vertices, faces = extrude_polygon(polygon, -height / 2, height / 2)
    pieces = [polygon] if is_convex_polygon(polygon) else star_convex_pieces(polygon)
    parts = [extruded_points(piece, -height / 2, height / 2) for piece in pieces]
    return vertices, faces, parts


def extruded_points(polygon: np.ndarray, z_bottom: float, z_top: float) -> np.ndarray:
    k = len(polygon)
    return np.vstack(
        [
            np.column_stack([polygon, np.full(k, z_bottom)]),
            np.column_stack([polygon, np.full(k, z_top)]),
        ]
    )


def star_convex_pieces(polygon: np.ndarray) -> list[np.ndarray]:
    """Convex pieces of a polygon star-shaped about the origin (origin strictly inside its kernel).

    Walks the fan (origin, p_i, p_i+1) and grows each piece while (origin, p_s .. p_e) stays convex.
    """
    origin = np.zeros(2)
    k = len(polygon)
    for i in range(k):
        if cross2(origin, polygon[i], polygon[(i + 1) % k]) <= 0:
            raise ValueError("polygon is not star-shaped about the origin")
    # Start the walk at a reflex vertex so that no piece wraps across a reflex corner.
    reflex = [i for i in range(k) if cross2(polygon[i - 1], polygon[i], polygon[(i + 1) % k]) <= 0]
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
    check_positive_sizes("multi-part shape", thickness=thickness)
    for x0, y0, x1, y1 in rectangles:
        check_positive_sizes("multi-part shape", part_length=x1 - x0, part_width=y1 - y0)
    vertices, faces = extrude_polygon(outline, -thickness / 2, thickness / 2)
    parts = [
        extruded_points(
            np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]]), -thickness / 2, thickness / 2
        )
        for x0, y0, x1, y1 in rectangles
    ]
    return vertices, faces, parts


def l_solid(length_x: float, length_y: float, arm_width: float, thickness: float) -> Solid:
    """L-shaped plate: arms of length length_x (along x) and length_y (along y), m."""
    check_positive_sizes("l_shape", length_x=length_x, length_y=length_y, arm_width=arm_width)
    if arm_width >= min(length_x, length_y):
        raise ValueError("l_shape: arm_width must be smaller than both arm lengths")
    w = arm_width
    outline = np.array([[0, 0], [length_x, 0], [length_x, w], [w, w], [w, length_y], [0, length_y]])
    return _rectilinear_solid([(0, 0, length_x, w), (0, w, w, length_y)], outline, thickness)


def t_solid(bar_length: float, stem_length: float, arm_width: float, thickness: float) -> Solid:
    """T-shaped plate: a bar along x on top of a stem along y, m."""
    check_positive_sizes(
        "t_shape", bar_length=bar_length, stem_length=stem_length, arm_width=arm_width
    )
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
    check_positive_sizes(
        "u_shape", base_length=base_length, arm_length=arm_length, arm_width=arm_width
    )
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
    check_positive_sizes(
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
    vertices, faces = weld([(body_vertices, body_faces), (handle_vertices, handle_faces)])
    vertices, faces = drop_unused(vertices, faces)
    # Convex parts.
    angles = phase + 2.0 * np.pi * np.arange(segments) / segments
    ring = np.column_stack([np.cos(angles), np.sin(angles)])
    parts = [extruded_points(radius * ring, 0.0, bottom)]
    for k in range(segments):
        quad = np.vstack(
            [
                radius * ring[k],
                radius * ring[(k + 1) % segments],
                inner * ring[(k + 1) % segments],
                inner * ring[k],
            ]
        )
        parts.append(extruded_points(quad, bottom, height))
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
