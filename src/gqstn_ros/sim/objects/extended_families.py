"""Builders of the extended families that are one solid (superquadrics, bottles, vases,
bowls, cups, extrusions with holes, thin flat objects, tiny and tall slender objects), the
`Draft` every family builder returns, and the original families sized for any stroke.

Builders take the rng and the stroke s (m); sizes are fractions of s.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.interpolate import PchipInterpolator

from gqstn_ros.sim.objects.assembly import regular_polygon
from gqstn_ros.sim.objects.extended_solids import (
    SUPERQUADRIC_EXPONENT_RANGE,
    extrude_cells,
    revolved_shell_solid,
    revolved_solid,
    superquadric_solid,
)
from gqstn_ros.sim.objects.mesh import Solid, extrude_polygon
from gqstn_ros.sim.objects.model import MIN_PICKABLE_THICKNESS, STROKE
from gqstn_ros.sim.objects.solids import (
    box_solid,
    cylinder_solid,
    ellipsoid_solid,
    extruded_points,
    prism_solid,
    star_convex_pieces,
)

# Flat objects are never made thinner than this when sized for a small stroke (m).
_PICKABLE_FLOOR = 1.25 * MIN_PICKABLE_THICKNESS


@dataclass(frozen=True)
class Draft:
    """A family builder's result: the solid, each convex part's density (kg/m^3; None: the
    uniform `DEFAULT_DENSITY`) and the surface friction (None: the world's)."""

    solid: Solid
    part_densities: tuple[float, ...] | None = None
    friction: float | None = None


def _scaled_solid(solid: Solid, factors: np.ndarray) -> Solid:
    vertices, faces, parts = solid
    return vertices * factors, faces, [part * factors for part in parts]


def sized_original(
    build: Callable[[np.random.Generator], Solid], thickness: str = "scaled"
) -> Callable[[np.random.Generator, float], Draft]:
    """An original family sized for stroke s: its 2F-85 object scaled by s / STROKE (the very
    same object at s = STROKE). thickness "kept": z is not scaled (sheets stay too flat);
    "pickable": z scales but never below min(its thickness, `_PICKABLE_FLOOR`)."""

    def make(rng: np.random.Generator, stroke: float) -> Draft:
        solid = build(rng)
        if stroke == STROKE:
            return Draft(solid)
        factor = stroke / STROKE
        z_factor = factor
        if thickness == "kept":
            z_factor = 1.0
        elif thickness == "pickable":
            current = float(np.ptp(solid[0][:, 2]))
            z_factor = max(factor * current, min(current, _PICKABLE_FLOOR)) / current
        return Draft(_scaled_solid(solid, np.array([factor, factor, z_factor])))

    return make


def draw(rng: np.random.Generator, low: float, high: float, stroke: float) -> float:
    """A length drawn uniformly in [low, high] x stroke, m."""
    return float(rng.uniform(low, high)) * stroke


def _densities_by_height(
    parts: Sequence[np.ndarray], split: float, below: float, above: float
) -> tuple[float, ...]:
    """Per-part density: `below` for parts under the height `split` (m), `above` otherwise."""
    return tuple(below if part[:, 2].max() <= split + 1e-12 else above for part in parts)


def make_superquadric(rng: np.random.Generator, s: float) -> Draft:
    semi = [draw(rng, 0.1, 0.4, s), draw(rng, 0.1, 0.6, s), draw(rng, 0.1, 0.6, s)]
    low, high = SUPERQUADRIC_EXPONENT_RANGE
    solid = superquadric_solid(
        *rng.permutation(semi), float(rng.uniform(low, high)), float(rng.uniform(low, high))
    )
    density = float(rng.uniform(300.0, 1200.0))
    return Draft(solid, (density,), float(rng.uniform(0.3, 0.9)))


def make_bottle(rng: np.random.Generator, s: float) -> Draft:
    """Foot, straight body, rounded shoulder, neck and cap; liquid up to a random level."""
    radius, height = draw(rng, 0.15, 0.4, s), draw(rng, 1.3, 2.6, s)
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
    return Draft(solid, densities, float(rng.uniform(0.3, 0.8)))


def make_vase(rng: np.random.Generator, s: float) -> Draft:
    """A solid vase shape: foot, belly, neck and lip joined by a smooth (PCHIP) profile, with a
    weighted base."""
    height, widest = draw(rng, 1.0, 2.2, s), draw(rng, 0.2, 0.4, s)
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
    return Draft(solid, densities, float(rng.uniform(0.35, 0.8)))


def make_bowl(rng: np.random.Generator, s: float) -> Draft:
    rim, height = draw(rng, 0.4, 0.8, s), draw(rng, 0.3, 0.55, s)
    base = float(rng.uniform(0.35, 0.6)) * rim
    wall, floor = draw(rng, 0.03, 0.055, s), draw(rng, 0.05, 0.08, s)
    power = float(rng.uniform(0.5, 1.0))
    heights = floor + (height - floor) * np.linspace(0.0, 1.0, 5)
    radii = base + (rim - base) * (heights / height) ** power
    foot = base * float(rng.uniform(0.85, 1.0))
    outer = np.vstack([[foot, 0.0], np.column_stack([radii, heights])])
    solid = revolved_shell_solid(outer, wall, floor)
    density = float(rng.uniform(900.0, 2400.0))  # plastic to stoneware
    return Draft(solid, (density,) * len(solid[2]), float(rng.uniform(0.35, 0.8)))


def make_cup(rng: np.random.Generator, s: float) -> Draft:
    top, height = draw(rng, 0.28, 0.42, s), draw(rng, 0.8, 1.3, s)
    bottom = float(rng.uniform(0.7, 1.0)) * top
    wall, floor = draw(rng, 0.025, 0.045, s), draw(rng, 0.04, 0.08, s)
    at_floor = bottom + (top - bottom) * floor / height
    outer = np.array([[bottom, 0.0], [at_floor, floor], [top, height]])
    solid = revolved_shell_solid(outer, wall, floor)
    density = float(rng.uniform(900.0, 2400.0))
    return Draft(solid, (density,) * len(solid[2]), float(rng.uniform(0.35, 0.8)))


def make_extrusion(rng: np.random.Generator, s: float) -> Draft:
    """A random star outline in three rings of cells about the centre, with holes (the centre
    and/or windows in the middle ring), extruded."""
    sectors = int(rng.integers(8, 15))
    step = 2.0 * np.pi / sectors
    angles = step * np.arange(sectors) + rng.uniform(-0.3, 0.3, sectors) * step
    rays = np.column_stack([np.cos(angles), np.sin(angles)])
    outer = draw(rng, 0.2, 0.4, s) * rng.uniform(0.7, 1.0, sectors)
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
    pieces = [] if centre_hole else star_convex_pieces(points[1 : 1 + sectors])
    pieces += [points[c] for c in cells if 0 not in c]
    thickness = draw(rng, 0.15, 0.5, s)
    solid = extrude_cells(points, cells, -thickness / 2, thickness / 2, pieces)
    density = float(rng.uniform(400.0, 2500.0))
    return Draft(solid, (density,) * len(solid[2]), float(rng.uniform(0.3, 0.9)))


def make_thin_flat(rng: np.random.Generator, s: float) -> Draft:
    """A card, coaster, tile or flat star 5-12 mm thick at the 2F-85 stroke (never below
    `_PICKABLE_FLOOR`), lying on its flat face."""
    kind = int(rng.integers(4))
    if kind == 0:  # rounded rectangle
        width = draw(rng, 0.35, 0.8, s)
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
        polygon = regular_polygon(draw(rng, 0.2, 0.4, s), sides, np.pi / 2)
    elif kind == 2:  # ellipse
        polygon = regular_polygon(1.0, 24) * [draw(rng, 0.3, 0.8, s), draw(rng, 0.175, 0.4, s)]
    else:  # star
        points = int(rng.integers(5, 9))
        radii = np.tile([1.0, float(rng.uniform(0.5, 0.7))], points)
        polygon = (
            regular_polygon(1.0, 2 * points, np.pi / 2) * (draw(rng, 0.25, 0.4, s) * radii)[:, None]
        )
    thickness = max(draw(rng, 5.0 / 85.0, 12.0 / 85.0, s), _PICKABLE_FLOOR)
    solid = prism_solid(polygon, thickness)
    density = float(rng.uniform(500.0, 2500.0))
    return Draft(solid, (density,) * len(solid[2]), float(rng.uniform(0.3, 0.9)))


def make_tiny(rng: np.random.Generator, s: float) -> Draft:
    """A box, cylinder, bead or nut whose smallest extent is 0.09-0.2 s (8-17 mm at 85 mm)."""
    kind = int(rng.integers(4))
    smallest = draw(rng, 0.09, 0.2, s)
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
        solid = prism_solid(regular_polygon(across / np.sqrt(3.0), 6), smallest)
    density = float(rng.uniform(400.0, 2500.0))
    return Draft(solid, (density,) * len(solid[2]), float(rng.uniform(0.3, 0.9)))


def make_tall_slender(rng: np.random.Generator, s: float) -> Draft:
    """A cylinder, taper, square or hexagonal column 1.8-3 s tall and 0.12-0.3 s wide, that
    topples easily; half of them top-heavy (the upper part 1.5-3 times denser)."""
    kind = int(rng.integers(4))
    height, width = draw(rng, 1.8, 3.0, s), draw(rng, 0.12, 0.3, s)
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
            polygon = regular_polygon(width / np.sqrt(3.0), 6)
        vertices, faces = extrude_polygon(polygon, 0.0, height)
        parts = [extruded_points(polygon, 0.0, split), extruded_points(polygon, split, height)]
        solid = (vertices, faces, parts)
    density = float(rng.uniform(300.0, 1200.0))
    upper = density
    if rng.random() < 0.5:
        upper = min(2500.0, density * float(rng.uniform(1.5, 3.0)))
    return Draft(
        solid, _densities_by_height(solid[2], split, density, upper), float(rng.uniform(0.3, 0.9))
    )
