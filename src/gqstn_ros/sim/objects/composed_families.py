"""Builders of the composed extended families: composites of two to eight random convex
pieces glued together, and tools (a dense head, a light handle). Builders take the rng and
the stroke s (m); sizes are fractions of s."""

from __future__ import annotations

import numpy as np

from gqstn_ros.sim.objects.assembly import (
    Contact,
    Piece,
    PlacementError,
    assemble,
    box_piece,
    check_contact,
    circumradius,
    cylinder_piece,
    dome_piece,
    inradius,
    pieces_apart,
    place_piece,
    wedge_piece,
)
from gqstn_ros.sim.objects.extended_families import Draft, draw
from gqstn_ros.sim.objects.mesh import polygon_area
from gqstn_ros.sim.objects.model import GRASPABLE_FRACTION

# Assemblies: a glued face lies at least this far (fraction of s) inside the face it is glued
# to, and pieces not glued together keep about this much (fraction of s) apart.
_GLUE_MARGIN = 0.015
_PIECE_GAP = 0.02


def _random_piece(rng: np.random.Generator, s: float) -> Piece:
    """A box, n-gon cylinder, cut ellipsoid (dome) or wedge, every dimension >= 0.12 s."""
    kind = int(rng.integers(4))
    if kind == 0:
        return box_piece(*(draw(rng, 0.15, 0.5, s) for _ in range(3)))
    if kind == 1:
        return cylinder_piece(draw(rng, 0.08, 0.22, s), draw(rng, 0.15, 0.6, s))
    if kind == 2:
        return dome_piece(
            draw(rng, 0.12, 0.3, s),
            draw(rng, 0.12, 0.3, s),
            draw(rng, 0.12, 0.3, s),
            float(rng.uniform(0.0, 0.6)),
        )
    base = draw(rng, 0.15, 0.45, s)
    return wedge_piece(
        base,
        draw(rng, 0.15, 0.45, s),
        base * float(rng.uniform(-0.2, 1.2)),
        draw(rng, 0.15, 0.5, s),
    )


def _attach_random_piece(
    rng: np.random.Generator,
    pieces: list[Piece],
    used: set[tuple[int, int]],
    piece: Piece,
    s: float,
) -> tuple[Piece, Contact]:
    """Glue `piece` to a free face of a random piece already there, at a random offset and
    turn: the smaller of the two faces goes inside the larger (the piece is scaled, by 0.4 to
    2, to fit). Raises PlacementError when it overlaps another piece or the assembly would be
    wider than 0.8 s in every direction (or longer than 1.6 s)."""
    hosts = [i for i, p in enumerate(pieces) if any((i, f) not in used for f in p.contact_faces)]
    if not hosts:
        raise PlacementError("no free face")
    host_index = hosts[int(rng.integers(len(hosts)))]
    host = pieces[host_index]
    free = [f for f in host.contact_faces if (host_index, f) not in used]
    host_face = free[int(rng.integers(len(free)))]
    piece_face = piece.contact_faces[int(rng.integers(len(piece.contact_faces)))]
    host_polygon = host.face_polygon(host_face, host.face_frame(host_face))
    polygon = piece.face_polygon(piece_face, piece.face_frame(piece_face))
    margin = _GLUE_MARGIN * s
    new_index = len(pieces)
    if polygon_area(polygon) <= polygon_area(host_polygon):  # the new face goes inside
        room = inradius(host_polygon) - margin
        factor = min(1.0, 0.9 * room / circumradius(polygon))
        reach = room - factor * circumradius(polygon)
        contact = Contact(host_index, host_face, new_index, piece_face)
    else:  # the host's face goes inside the new one
        need = circumradius(host_polygon) + margin
        factor = max(1.0, need / (0.9 * inradius(polygon)))
        reach = factor * inradius(polygon) - need
        contact = Contact(new_index, piece_face, host_index, host_face)
    if not 0.4 <= factor <= 2.0 or reach < 0:
        raise PlacementError("the faces' sizes do not match")
    radius, angle = reach * np.sqrt(rng.uniform()), rng.uniform(0.0, 2.0 * np.pi)
    offset = radius * np.array([np.cos(angle), np.sin(angle)])
    placed = place_piece(
        host, host_face, piece.scaled(factor), piece_face, offset, rng.uniform(0, 2 * np.pi)
    )
    check_contact([*pieces, placed], contact, margin)
    for index, other in enumerate(pieces):
        if index != host_index and not pieces_apart(other, placed, _PIECE_GAP * s):
            raise PlacementError("the piece overlaps another one")
    extents = np.ptp(np.vstack([*(p.vertices for p in pieces), placed.vertices]), axis=0)
    if extents.min() > GRASPABLE_FRACTION * s or extents.max() > 1.6 * s:
        raise PlacementError("the assembly grows too large")
    return placed, contact


def make_composite(rng: np.random.Generator, s: float) -> Draft:
    wanted = int(rng.integers(2, 9))
    pieces = [_random_piece(rng, s)]
    contacts: list[Contact] = []
    used: set[tuple[int, int]] = set()
    # Up to `wanted` pieces; placements that fail are drawn again a bounded number of times
    # (and until there are two pieces).
    for attempt in range(400):
        if len(pieces) == wanted or (attempt >= 8 * wanted and len(pieces) >= 2):
            break
        try:
            placed, contact = _attach_random_piece(rng, pieces, used, _random_piece(rng, s), s)
        except PlacementError:
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
    return Draft(assemble(pieces, contacts), densities, float(rng.uniform(0.35, 0.9)))


def make_tool(rng: np.random.Generator, s: float) -> Draft:
    """Hammer, brush or spatula: a dense head (part 0) and a light handle (part 1) glued to it."""
    kind = int(rng.integers(3))
    if kind == 0:  # hammer: a bar head, a round handle on its long side
        size_y, size_z = draw(rng, 0.2, 0.32, s), draw(rng, 0.2, 0.32, s)
        head = box_piece(draw(rng, 0.7, 1.2, s), size_y, size_z)
        handle = cylinder_piece(float(rng.uniform(0.5, 0.75)) * size_z / 2, draw(rng, 1.3, 2.2, s))
        head_face, head_density = 4, float(rng.uniform(2700.0, 7850.0))  # +y face; steel
    elif kind == 1:  # brush: a block head, a square handle out of its end
        size_y, size_z = draw(rng, 0.3, 0.45, s), draw(rng, 0.22, 0.35, s)
        head = box_piece(draw(rng, 0.45, 0.75, s), size_y, size_z)
        handle = box_piece(
            float(rng.uniform(0.45, 0.75)) * size_z,
            float(rng.uniform(0.45, 0.75)) * size_y,
            draw(rng, 1.2, 2.0, s),
        )
        head_face, head_density = 3, float(rng.uniform(1500.0, 2500.0))  # +x face
    else:  # spatula: a flat blade, a flat handle out of its end
        size_y, thickness = draw(rng, 0.55, 0.9, s), draw(rng, 0.07, 0.11, s)
        head = box_piece(draw(rng, 0.5, 0.8, s), size_y, thickness)
        handle = box_piece(
            float(rng.uniform(0.5, 0.8)) * thickness,
            float(rng.uniform(0.25, 0.4)) * size_y,
            draw(rng, 1.2, 1.9, s),
        )
        head_face, head_density = 5, float(rng.uniform(2700.0, 7850.0))  # -x face
    placed = place_piece(head, head_face, handle, 0, np.zeros(2), 0.0)
    contact = Contact(0, head_face, 1, 0)
    check_contact([head, placed], contact, 0.0)
    solid = assemble([head, placed], [contact])
    handle_density = float(rng.uniform(300.0, 700.0))  # wood, plastic
    return Draft(solid, (head_density, handle_density), float(rng.uniform(0.4, 0.9)))
