"""The original fifteen families' builders: rng -> solid, sized for the Robotiq 2F-85's
`STROKE` (the registry scales them to other strokes). Their object for a seed never changes:
datasets and worlds are built from them by default."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from gqstn_ros.sim.objects.mesh import Solid, convex_hull_2d, is_convex_polygon
from gqstn_ros.sim.objects.model import (
    GRASPABLE_FRACTION,
    MIN_PICKABLE_THICKNESS,
    OVERSIZED_FACTOR,
    STROKE,
)
from gqstn_ros.sim.objects.solids import (
    box_solid,
    cylinder_solid,
    ellipsoid_solid,
    l_solid,
    mug_solid,
    prism_solid,
    t_solid,
    u_solid,
)

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


def make_box(rng: np.random.Generator) -> Solid:
    sizes = [
        _uniform(rng, _SMALL, _GRASP_MAX),
        _uniform(rng, _SMALL, 1.2 * STROKE),
        _uniform(rng, _SMALL, 1.2 * STROKE),
    ]
    return box_solid(*rng.permutation(sizes))


def make_cylinder(rng: np.random.Generator) -> Solid:
    return cylinder_solid(
        _uniform(rng, _SMALL / 2, _GRASP_MAX / 2), _uniform(rng, _SMALL, 1.4 * STROKE)
    )


def make_sphere(rng: np.random.Generator) -> Solid:
    radius = _uniform(rng, _SMALL / 2, _GRASP_MAX / 2)
    return ellipsoid_solid(radius, radius, radius)


def make_ellipsoid(rng: np.random.Generator) -> Solid:
    semi = [
        _uniform(rng, _SMALL / 2, _GRASP_MAX / 2),
        _uniform(rng, _SMALL / 2, 0.6 * STROKE),
        _uniform(rng, _SMALL / 2, 0.6 * STROKE),
    ]
    return ellipsoid_solid(*rng.permutation(semi))


def make_prism(concave: bool) -> Callable[[np.random.Generator], Solid]:
    def make(rng: np.random.Generator) -> Solid:
        return prism_solid(_star_polygon(rng, concave), _uniform(rng, _SMALL, _GRASP_MAX))

    return make


def make_l(rng: np.random.Generator) -> Solid:
    return l_solid(
        _uniform(rng, 0.6 * STROKE, 1.3 * STROKE),
        _uniform(rng, 0.5 * STROKE, STROKE),
        _uniform(rng, 0.2 * STROKE, 0.35 * STROKE),
        _uniform(rng, 0.15 * STROKE, 0.5 * STROKE),
    )


def make_t(rng: np.random.Generator) -> Solid:
    return t_solid(
        _uniform(rng, 0.8 * STROKE, 1.4 * STROKE),
        _uniform(rng, 0.5 * STROKE, STROKE),
        _uniform(rng, 0.2 * STROKE, 0.35 * STROKE),
        _uniform(rng, 0.15 * STROKE, 0.5 * STROKE),
    )


def make_u(rng: np.random.Generator) -> Solid:
    return u_solid(
        _uniform(rng, 0.8 * STROKE, 1.3 * STROKE),
        _uniform(rng, 0.6 * STROKE, STROKE),
        _uniform(rng, 0.15 * STROKE, 0.3 * STROKE),
        _uniform(rng, 0.15 * STROKE, 0.5 * STROKE),
    )


def make_mug(rng: np.random.Generator) -> Solid:
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


def make_plate(rng: np.random.Generator) -> Solid:
    return box_solid(
        _uniform(rng, 0.5 * STROKE, _GRASP_MAX),
        _uniform(rng, 0.5 * STROKE, 1.5 * STROKE),
        _uniform(rng, *_FLAT_THICKNESS),
    )


def make_disc(rng: np.random.Generator) -> Solid:
    return cylinder_solid(
        _uniform(rng, 0.25 * STROKE, _GRASP_MAX / 2), _uniform(rng, *_FLAT_THICKNESS)
    )


def make_stick(rng: np.random.Generator) -> Solid:
    length = _uniform(rng, 1.2 * STROKE, 2.4 * STROKE)
    thickness = _uniform(rng, 0.1 * STROKE, 0.25 * STROKE)
    if rng.random() < 0.5:
        return box_solid(thickness, _uniform(rng, 0.1 * STROKE, 0.25 * STROKE), length)
    return cylinder_solid(thickness / 2, length)


def make_oversized(rng: np.random.Generator) -> Solid:
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


def make_sheet(rng: np.random.Generator) -> Solid:
    return box_solid(
        _uniform(rng, OVERSIZED_FACTOR * STROKE, 2.5 * STROKE),
        _uniform(rng, OVERSIZED_FACTOR * STROKE, 2.5 * STROKE),
        _uniform(rng, 0.25, 0.6) * MIN_PICKABLE_THICKNESS,
    )


ORIGINAL_BUILDERS: dict[str, Callable[[np.random.Generator], Solid]] = {
    "box": make_box,
    "cylinder": make_cylinder,
    "sphere": make_sphere,
    "ellipsoid": make_ellipsoid,
    "prism_convex": make_prism(concave=False),
    "prism_concave": make_prism(concave=True),
    "l_shape": make_l,
    "t_shape": make_t,
    "u_shape": make_u,
    "mug": make_mug,
    "plate": make_plate,
    "disc": make_disc,
    "stick": make_stick,
    "oversized": make_oversized,
    "sheet": make_sheet,
}
"""The original families, drawn at the 2F-85 stroke (`STROKE`)."""

UNGRASPABLE_NOTES = {
    "oversized": "larger than the gripper stroke in every direction",
    "sheet": "too flat to pick from a table",
}
