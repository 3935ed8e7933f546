"""Assemblies: convex pieces (boxes, n-gon cylinders, domes, wedges) placed and glued face
to face into one watertight solid whose convex parts are the pieces; what the composed
families are built from."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np
from scipy.optimize import linprog

from gqstn_ros.sim.objects.mesh import Solid, polygon_area


class PlacementError(ValueError):
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
class Piece:
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

    def transformed(self, rotation: np.ndarray, translation: np.ndarray) -> Piece:
        return Piece(self.vertices @ rotation.T + translation, self.faces, self.contact_faces)

    def scaled(self, factor: float) -> Piece:
        return Piece(self.vertices * factor, self.faces, self.contact_faces)


def _prism_piece(polygon: np.ndarray, height: float) -> Piece:
    """Prism of a counter-clockwise convex polygon (K, 2) over z in [0, height]; every face
    may take a contact."""
    k = len(polygon)
    vertices = np.vstack(
        [np.column_stack([polygon, np.zeros(k)]), np.column_stack([polygon, np.full(k, height)])]
    )
    faces = [tuple(range(k - 1, -1, -1)), tuple(range(k, 2 * k))]
    faces += [(i, (i + 1) % k, k + (i + 1) % k, k + i) for i in range(k)]
    return Piece(vertices, tuple(faces), tuple(range(len(faces))))


def box_piece(size_x: float, size_y: float, size_z: float) -> Piece:
    hx, hy = size_x / 2, size_y / 2
    return _prism_piece(np.array([[-hx, -hy], [hx, -hy], [hx, hy], [-hx, hy]]), size_z)


def regular_polygon(radius: float, sides: int, phase: float = 0.0) -> np.ndarray:
    angles = phase + 2.0 * np.pi * np.arange(sides) / sides
    return np.column_stack([radius * np.cos(angles), radius * np.sin(angles)])


def cylinder_piece(radius: float, height: float, sides: int = 12) -> Piece:
    """Upright n-gon cylinder; only its two caps take contacts."""
    piece = _prism_piece(regular_polygon(radius, sides), height)
    return Piece(piece.vertices, piece.faces, (0, 1))


def dome_piece(semi_x: float, semi_y: float, semi_z: float, cut: float) -> Piece:
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
    return Piece(vertices, tuple(faces), (0,))


def wedge_piece(base: float, rise: float, apex: float, length: float) -> Piece:
    """Triangular prism: the triangle (0, 0), (base, 0), (apex, rise) in x-z extruded along y
    over `length`; its three rectangular faces and two triangles take contacts."""
    triangle = np.array([[0.0, 0.0], [base, 0.0], [apex, rise]])
    piece = _prism_piece(triangle, length)
    # (x, y=height of the triangle, z=extrusion) -> (x, -z, y) keeps the orientation.
    vertices = piece.vertices[:, [0, 2, 1]] * np.array([1.0, -1.0, 1.0])
    return Piece(vertices, piece.faces, piece.contact_faces)


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


def inradius(polygon: np.ndarray) -> float:
    """Smallest distance from the vertex mean to the edges of a ccw convex polygon (K, 2)."""
    centre = polygon.mean(axis=0)
    edges = np.roll(polygon, -1, axis=0) - polygon
    lengths = np.linalg.norm(edges, axis=1)
    offsets = centre - polygon
    return float(np.min((edges[:, 0] * offsets[:, 1] - edges[:, 1] * offsets[:, 0]) / lengths))


def circumradius(polygon: np.ndarray) -> float:
    return float(np.linalg.norm(polygon - polygon.mean(axis=0), axis=1).max())


def _ring_triangles(outer: np.ndarray, inner: np.ndarray) -> list[tuple[int, int, int]]:
    """Triangles covering a ccw convex polygon (n, 2) with a ccw convex hole (m, 2) strictly
    inside it; indices 0..n-1 are outer corners, n..n+m-1 inner ones; each triangle ccw.

    Merges both loops by edge direction: each bridge joins an outer and an inner corner that
    are extreme in the same direction, so it stays outside the hole and bridges never cross.
    Raises PlacementError unless the triangles are all counter-clockwise and cover exactly
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
    ring_area = polygon_area(outer) - polygon_area(inner)
    scale = max(float(np.ptp(outer, axis=0).max()), 1e-12)
    if areas.min() <= 1e-9 * scale * scale or abs(areas.sum() - ring_area) > 1e-9 * ring_area:
        raise PlacementError("the ring between the faces does not triangulate")
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


def pieces_apart(first: Piece, second: Piece, gap: float) -> bool:
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
class Contact:
    """Piece `inner_piece`'s face `inner_face` lies flat inside piece `outer_piece`'s face
    `outer_face` (facing it); the mesh keeps the ring of the outer face around it."""

    outer_piece: int
    outer_face: int
    inner_piece: int
    inner_face: int


def place_piece(
    host: Piece,
    host_face: int,
    piece: Piece,
    piece_face: int,
    offset: np.ndarray,
    spin: float,
) -> Piece:
    """`piece` moved so that its face `piece_face` lies on the plane of the host's face, facing
    it, its centroid at the host face's centroid + offset (u, v) m, turned by `spin` rad."""
    host_centre, host_normal, u, v = host.face_frame(host_face)
    centre, normal, _, _ = piece.face_frame(piece_face)
    rotation = _axis_rotation(host_normal, spin) @ _rotation_between(normal, -host_normal)
    target = host_centre + offset[0] * u + offset[1] * v
    return piece.transformed(rotation, target - rotation @ centre)


def check_contact(pieces: Sequence[Piece], contact: Contact, margin: float) -> None:
    """Raise PlacementError unless the inner face lies `margin` inside the outer face and the
    ring between them triangulates."""
    outer = pieces[contact.outer_piece]
    frame = outer.face_frame(contact.outer_face)
    outer_polygon = outer.face_polygon(contact.outer_face, frame)
    inner_polygon = pieces[contact.inner_piece].face_polygon(contact.inner_face, frame)[::-1]
    if not _inside(inner_polygon, outer_polygon, margin):
        raise PlacementError("the face does not fit inside the face it is glued to")
    _ring_triangles(outer_polygon, inner_polygon)


def assemble(pieces: Sequence[Piece], contacts: Sequence[Contact]) -> Solid:
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
