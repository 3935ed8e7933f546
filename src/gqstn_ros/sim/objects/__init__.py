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

Modules, each importing only the ones before it:
- `mesh`: the `Solid` triple, watertightness, volume, planar polygons, extrusion, revolution;
- `model`: `ObjectModel` and its limits (stroke, part densities, friction);
- `mass`: mass, centre of mass and inertia of meshes and of parts of their own densities,
  `object_from_solid`;
- `solids`: primitive solids (box, cylinder, ellipsoid, prisms, L/T/U plates, mug);
- `extended_solids`: superquadrics, solids and shells of revolution, extruded cell complexes;
- `assembly`: convex pieces glued face to face into one solid;
- `original_families`: the original fifteen families' builders;
- `extended_families`: the extended families that are one solid, `Draft` (a builder's
  result) and the original families sized for any stroke;
- `composed_families`: composites and tools, built with `assembly`;
- `families`: the family registry, names, groups and checks, `generate_object`.
This package re-exports the public names of all of them.
"""

from gqstn_ros.sim.objects.extended_solids import (
    SHELL_SEGMENTS,
    SUPERQUADRIC_EXPONENT_RANGE,
    extrude_cells,
    revolved_shell_solid,
    revolved_solid,
    superquadric_solid,
)
from gqstn_ros.sim.objects.families import (
    ALL_FAMILIES,
    EXTENDED_FAMILIES,
    FAMILIES,
    FAMILY_GROUPS,
    FAMILY_TAGS,
    UNGRASPABLE_FAMILIES,
    check_family,
    check_family_fits_gripper,
    check_stroke,
    family_grasp_widths,
    generate_object,
    generate_random_object,
    grasp_width,
    hold_out_families,
    object_name,
)
from gqstn_ros.sim.objects.mass import (
    convex_hull_mesh,
    mass_properties,
    object_from_solid,
    parts_mass_properties,
)
from gqstn_ros.sim.objects.mesh import (
    REVOLUTION_SEGMENTS,
    SPHERE_BANDS,
    Solid,
    check_watertight,
    convex_hull_2d,
    extrude_polygon,
    is_convex_polygon,
    revolve_profile,
    signed_volume,
    triangulate_polygon,
)
from gqstn_ros.sim.objects.model import (
    DEFAULT_DENSITY,
    GRASPABLE_FRACTION,
    MAX_FRICTION,
    MAX_PART_DENSITY,
    MAX_STROKE,
    MIN_FRICTION,
    MIN_PART_DENSITY,
    MIN_PICKABLE_THICKNESS,
    MIN_STROKE,
    OVERSIZED_FACTOR,
    STROKE,
    ObjectModel,
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

__all__ = [
    "ALL_FAMILIES",
    "DEFAULT_DENSITY",
    "EXTENDED_FAMILIES",
    "FAMILIES",
    "FAMILY_GROUPS",
    "FAMILY_TAGS",
    "GRASPABLE_FRACTION",
    "MAX_FRICTION",
    "MAX_PART_DENSITY",
    "MAX_STROKE",
    "MIN_FRICTION",
    "MIN_PART_DENSITY",
    "MIN_PICKABLE_THICKNESS",
    "MIN_STROKE",
    "OVERSIZED_FACTOR",
    "REVOLUTION_SEGMENTS",
    "SHELL_SEGMENTS",
    "SPHERE_BANDS",
    "STROKE",
    "SUPERQUADRIC_EXPONENT_RANGE",
    "UNGRASPABLE_FAMILIES",
    "ObjectModel",
    "Solid",
    "box_solid",
    "check_family",
    "check_family_fits_gripper",
    "check_stroke",
    "check_watertight",
    "convex_hull_2d",
    "convex_hull_mesh",
    "cylinder_solid",
    "ellipsoid_solid",
    "extrude_cells",
    "extrude_polygon",
    "family_grasp_widths",
    "generate_object",
    "generate_random_object",
    "grasp_width",
    "hold_out_families",
    "is_convex_polygon",
    "l_solid",
    "mass_properties",
    "mug_solid",
    "object_from_solid",
    "object_name",
    "parts_mass_properties",
    "prism_solid",
    "revolve_profile",
    "revolved_shell_solid",
    "revolved_solid",
    "signed_volume",
    "superquadric_solid",
    "t_solid",
    "triangulate_polygon",
    "u_solid",
]
