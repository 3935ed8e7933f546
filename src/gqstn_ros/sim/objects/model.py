"""`ObjectModel`, the rigid object every family produces, and the limits it is checked
against: the gripper stroke the families are sized for, part densities, surface friction."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gqstn_ros.gripper import ROBOTIQ_2F85
from gqstn_ros.sim.objects.mesh import check_watertight

# Default density of the generated solids (kg/m^3): light plastic / wood, like household objects.
DEFAULT_DENSITY = 700.0
# Thinnest solid a parallel-jaw gripper can pick from a table top (m); thinner flat objects are
# "too flat to pick": the fingertips cannot get under or around them.
MIN_PICKABLE_THICKNESS = 0.004

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
