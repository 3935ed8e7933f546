"""The fixed benchmark set: 12 household and office objects for the simulated physical benchmark.

The paper (Sec. V-D) tested 12 household and office objects of varied shape, none of them seen
in training. These are their simulated counterparts: hand-picked shapes and dimensions (metres,
fixed here, never drawn from the training families' random sampling) built from the solids of
`gqstn_ros.sim.objects`, plus shapes the families do not make (bottle, bowl, tape roll,
stapler). Each is an `ObjectModel` of family "benchmark" whose seed lies outside the training
seed space (>= 2**31), so no training scene can rebuild it.

Every object fits between the 2F-85's jaws (85 mm) in at least one direction: its smallest
extent, or the wall of the open shapes (bowl, tape roll, mug rim) for a finger inside.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from gqstn_ros.sim.objects import (
    ObjectModel,
    Solid,
    box_solid,
    cylinder_solid,
    ellipsoid_solid,
    mug_solid,
    object_from_solid,
    prism_solid,
    revolve_profile,
    signed_volume,
    t_solid,
)

BENCHMARK_FAMILY = "benchmark"
# Benchmark objects' seeds start here: generate_random_object draws training seeds below 2**31.
BENCHMARK_SEED_BASE = 2**31
# Facets around the axis of the revolved benchmark shapes.
SEGMENTS = 24


def _revolved_bands(profile: np.ndarray, segments: int = SEGMENTS) -> Solid:
    """A solid of revolution whose profile (K, 2) of (radius, z) starts and ends on the axis and
    whose radius gives a filled cross-section at every height (bottles, cans): convex parts are
    the frusta between consecutive rings."""
    vertices, faces = revolve_profile(profile, segments)
    angles = 2.0 * np.pi * np.arange(segments) / segments
    rings = [
        np.column_stack([r * np.cos(angles), r * np.sin(angles), np.full(segments, z)])
        for r, z in profile[1:-1]
    ]
    parts = [np.vstack([rings[i], rings[i + 1]]) for i in range(len(rings) - 1)]
    return vertices, faces, parts


def _revolved_ring(profile: np.ndarray, segments: int = SEGMENTS) -> Solid:
    """A ring solid: the closed convex profile (K, 2) of (radius > 0, z) turned about z.

    Convex parts: one wedge per facet (the profile at two neighbouring angles).
    """
    profile = np.asarray(profile, dtype=np.float64)
    k = len(profile)
    angles = 2.0 * np.pi * np.arange(segments) / segments
    # Vertex (s, i): profile point i at angle s, index s * k + i.
    vertices = np.array(
        [[r * np.cos(a), r * np.sin(a), z] for a in angles for r, z in profile], dtype=np.float64
    )
    faces = []
    for s in range(segments):
        t = (s + 1) % segments
        for i in range(k):
            j = (i + 1) % k
            a, b, c, d = s * k + i, s * k + j, t * k + j, t * k + i
            faces += [(a, b, c), (a, c, d)]
    faces_array = np.array(faces, dtype=np.int32)
    if signed_volume(vertices, faces_array) < 0:
        faces_array = faces_array[:, ::-1].copy()
    parts = [
        np.vstack([vertices[s * k : s * k + k], vertices[((s + 1) % segments) * k :][:k]])
        for s in range(segments)
    ]
    return vertices, faces_array, parts


def _bowl(
    bottom_radius: float, top_radius: float, height: float, wall: float, floor: float
) -> Solid:
    """An open bowl with a sloped wall: profile revolved about z; convex parts are the floor
    disc and one piece per wall facet."""
    profile = np.array(
        [
            [0.0, 0.0],
            [bottom_radius, 0.0],
            [top_radius, height],
            [top_radius - wall, height],
            [bottom_radius - wall, floor],
            [0.0, floor],
        ]
    )
    vertices, faces = revolve_profile(profile, SEGMENTS)
    angles = 2.0 * np.pi * np.arange(SEGMENTS) / SEGMENTS
    ring = np.column_stack([np.cos(angles), np.sin(angles)])
    floor_radius = bottom_radius + (top_radius - bottom_radius) * floor / height
    parts = [
        np.vstack(
            [
                np.column_stack([bottom_radius * ring, np.zeros(SEGMENTS)]),
                np.column_stack([floor_radius * ring, np.full(SEGMENTS, floor)]),
            ]
        )
    ]
    for s in range(SEGMENTS):
        pair = ring[[s, (s + 1) % SEGMENTS]]
        outer_low = np.column_stack([floor_radius * pair, np.full(2, floor)])
        outer_high = np.column_stack([top_radius * pair, np.full(2, height)])
        inner_low = np.column_stack([(bottom_radius - wall) * pair, np.full(2, floor)])
        inner_high = np.column_stack([(top_radius - wall) * pair, np.full(2, height)])
        parts.append(np.vstack([outer_low, outer_high, inner_low, inner_high]))
    return vertices, faces, parts


# --------------------------------------------------------------------------- the 12 objects
def _mug() -> Solid:  # a coffee mug, 78 mm across: grasped by its rim or handle
    return mug_solid(
        radius=0.039,
        height=0.096,
        wall=0.005,
        bottom=0.007,
        handle_reach=0.027,
        handle_bar=0.008,
        handle_height=0.062,
    )


def _bottle() -> Solid:  # a 0.5 l water bottle with shoulder and neck
    profile = np.array(
        [
            [0.0, 0.0],
            [0.031, 0.0],
            [0.033, 0.01],
            [0.033, 0.15],
            [0.016, 0.185],
            [0.013, 0.19],
            [0.013, 0.21],
            [0.0, 0.21],
        ]
    )
    return _revolved_bands(profile)


def _tea_box() -> Solid:  # a box of tea bags
    return box_solid(0.068, 0.042, 0.152)


def _soda_can() -> Solid:  # a 355 ml can
    profile = np.array(
        [[0.0, 0.0], [0.026, 0.0], [0.033, 0.01], [0.033, 0.112], [0.027, 0.122], [0.0, 0.122]]
    )
    return _revolved_bands(profile)


def _bowl_ramekin() -> Solid:  # a small bowl, 80 mm across the rim
    return _bowl(bottom_radius=0.027, top_radius=0.040, height=0.045, wall=0.005, floor=0.008)


def _tape_roll() -> Solid:  # a roll of packing tape: a ring with a 74 mm hole
    profile = np.array([[0.037, -0.024], [0.050, -0.024], [0.050, 0.024], [0.037, 0.024]])
    return _revolved_ring(profile)


def _stapler() -> Solid:  # side profile of a desk stapler, extruded over its width
    profile = np.array([[0.0, 0.0], [0.16, 0.0], [0.16, 0.032], [0.03, 0.056], [0.0, 0.05]])
    return prism_solid(profile - profile.mean(axis=0), 0.036)


def _tv_remote() -> Solid:
    return box_solid(0.046, 0.023, 0.175)


def _computer_mouse() -> Solid:
    return ellipsoid_solid(0.058, 0.031, 0.019)


def _chips_clip() -> Solid:  # a bag clip: a flat T, bar 125 mm
    return t_solid(bar_length=0.125, stem_length=0.065, arm_width=0.022, thickness=0.015)


def _orange() -> Solid:
    return ellipsoid_solid(0.036, 0.036, 0.034)


def _glue_stick() -> Solid:
    return cylinder_solid(0.0135, 0.108, SEGMENTS)


# name -> (solid builder, density kg/m^3: a solid of the object's outer shape and true mass)
_BENCHMARK: dict[str, tuple[Callable[[], Solid], float]] = {
    "mug": (_mug, 1800.0),  # ceramic shell
    "water_bottle": (_bottle, 120.0),  # empty PET bottle
    "tea_box": (_tea_box, 250.0),
    "soda_can": (_soda_can, 850.0),  # full can, ~0.37 kg
    "ramekin": (_bowl_ramekin, 1800.0),
    "tape_roll": (_tape_roll, 700.0),
    "stapler": (_stapler, 900.0),
    "tv_remote": (_tv_remote, 600.0),
    "computer_mouse": (_computer_mouse, 500.0),
    "chips_clip": (_chips_clip, 400.0),
    "orange": (_orange, 900.0),
    "glue_stick": (_glue_stick, 650.0),
}

BENCHMARK_OBJECT_NAMES: tuple[str, ...] = tuple(_BENCHMARK)
"""The 12 benchmark objects, in benchmark order."""


def benchmark_object(name: str) -> ObjectModel:
    """The benchmark object called `name` (one of `BENCHMARK_OBJECT_NAMES`)."""
    if name not in _BENCHMARK:
        raise ValueError(
            f"unknown benchmark object {name!r}; known: {', '.join(BENCHMARK_OBJECT_NAMES)}"
        )
    build, density = _BENCHMARK[name]
    seed = BENCHMARK_SEED_BASE + BENCHMARK_OBJECT_NAMES.index(name)
    return object_from_solid(name, BENCHMARK_FAMILY, seed, build(), density=density)


def benchmark_objects() -> tuple[ObjectModel, ...]:
    """All 12 benchmark objects, in benchmark order."""
    return tuple(benchmark_object(name) for name in BENCHMARK_OBJECT_NAMES)
