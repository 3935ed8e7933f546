"""The family registry and object generation: each family's builder, tags and grasp
widths; the family names and groups; the checks of a family, a stroke and a gripper;
`generate_object` (family, seed, density, stroke -> `ObjectModel`) and
`generate_random_object`."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from gqstn_ros.sim.objects.composed_families import make_composite, make_tool
from gqstn_ros.sim.objects.extended_families import (
    Draft,
    make_bottle,
    make_bowl,
    make_cup,
    make_extrusion,
    make_superquadric,
    make_tall_slender,
    make_thin_flat,
    make_tiny,
    make_vase,
    sized_original,
)
from gqstn_ros.sim.objects.mass import check_density, object_from_solid
from gqstn_ros.sim.objects.model import DEFAULT_DENSITY, MAX_STROKE, MIN_STROKE, STROKE, ObjectModel
from gqstn_ros.sim.objects.original_families import (
    ORIGINAL_BUILDERS,
    UNGRASPABLE_NOTES,
    make_box,
    make_cylinder,
    make_disc,
    make_ellipsoid,
    make_l,
    make_mug,
    make_oversized,
    make_plate,
    make_prism,
    make_sheet,
    make_sphere,
    make_stick,
    make_t,
    make_u,
)


@dataclass(frozen=True)
class _Family:
    """build(rng, stroke) -> Draft; tags (see FAMILY_TAGS); grasp_widths: (low, high) bounds,
    as fractions of the stroke, on `grasp_width` of its objects (None: made to defeat the
    gripper)."""

    build: Callable[[np.random.Generator, float], Draft]
    tags: tuple[str, ...]
    grasp_widths: tuple[float, float] | None


_FAMILIES: dict[str, _Family] = {
    "box": _Family(sized_original(make_box), ("primitive",), (0.2, 0.8)),
    "cylinder": _Family(sized_original(make_cylinder), ("primitive", "revolution"), (0.2, 0.8)),
    "sphere": _Family(sized_original(make_sphere), ("primitive", "revolution"), (0.2, 0.8)),
    "ellipsoid": _Family(sized_original(make_ellipsoid), ("primitive",), (0.2, 0.8)),
    "prism_convex": _Family(sized_original(make_prism(concave=False)), ("extruded",), (0.2, 0.8)),
    "prism_concave": _Family(
        sized_original(make_prism(concave=True)), ("extruded", "concave"), (0.2, 0.8)
    ),
    "l_shape": _Family(sized_original(make_l), ("extruded", "concave"), (0.15, 0.5)),
    "t_shape": _Family(sized_original(make_t), ("extruded", "concave"), (0.15, 0.5)),
    "u_shape": _Family(sized_original(make_u), ("extruded", "concave"), (0.15, 0.5)),
    "mug": _Family(
        sized_original(make_mug), ("revolution", "composed", "concave", "hollow"), (0.58, 0.88)
    ),
    "plate": _Family(sized_original(make_plate, "pickable"), ("primitive", "thin"), (0.5, 0.8)),
    "disc": _Family(
        sized_original(make_disc, "pickable"), ("primitive", "revolution", "thin"), (0.5, 0.8)
    ),
    "stick": _Family(sized_original(make_stick), ("primitive", "slender"), (0.1, 0.25)),
    "oversized": _Family(sized_original(make_oversized), ("primitive", "ungraspable"), None),
    "sheet": _Family(sized_original(make_sheet, "kept"), ("thin", "ungraspable"), None),
    "composite": _Family(make_composite, ("composed", "concave", "nonuniform"), (0.12, 0.8)),
    "superquadric": _Family(make_superquadric, ("primitive",), (0.2, 0.8)),
    "bottle": _Family(make_bottle, ("revolution", "nonuniform"), (0.3, 0.8)),
    "vase": _Family(make_vase, ("revolution", "concave", "nonuniform"), (0.4, 0.8)),
    "bowl": _Family(make_bowl, ("revolution", "concave", "hollow"), (0.3, 0.55)),
    "cup": _Family(make_cup, ("revolution", "concave", "hollow"), (0.55, 0.85)),
    "extrusion": _Family(make_extrusion, ("extruded", "concave", "holes"), (0.15, 0.5)),
    "thin_flat": _Family(make_thin_flat, ("thin",), (0.3, 0.8)),
    "tool": _Family(make_tool, ("tool", "composed", "nonuniform"), (0.07, 0.35)),
    "tiny": _Family(make_tiny, ("tiny", "primitive"), (0.09, 0.2)),
    "tall_slender": _Family(make_tall_slender, ("slender", "nonuniform"), (0.12, 0.3)),
}

FAMILIES: tuple[str, ...] = tuple(ORIGINAL_BUILDERS)
"""The original fifteen families: the default of worlds (`WorldConfig.object_families`),
datasets and `generate_random_object`; their object for a seed never changes."""
EXTENDED_FAMILIES: tuple[str, ...] = tuple(f for f in _FAMILIES if f not in ORIGINAL_BUILDERS)
"""The families added to the original fifteen."""
ALL_FAMILIES: tuple[str, ...] = FAMILIES + EXTENDED_FAMILIES
"""Every name `generate_object` accepts."""
UNGRASPABLE_FAMILIES: tuple[str, ...] = tuple(UNGRASPABLE_NOTES)
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
        density = check_density(density)
    draft = _FAMILIES[family].build(np.random.default_rng(seed), stroke)
    note = UNGRASPABLE_NOTES.get(family, "")
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
