"""Physically grounded robustness labels of top-down parallel-jaw grasps on the true 3-D mesh.

The label follows Dex-Net 2.0's *robust Ferrari-Canny* metric (Mahler et al., RSS 2017, built
on Dex-Net 1.0): the Ferrari-Canny epsilon quality of the grasp, averaged over K perturbations
of the grasp pose, the object pose and the friction coefficient, thresholded to robust / not.

One grasp instance (the nominal grasp or a perturbed copy) is evaluated in world coordinates
(z up, table top at z = 0; the gripper approaches straight down) as follows:

1. Reachability: the opening (the grasp width: the jaws open to it before closing) must fit
   the stroke; the fingertips (`fingertip_below_center`
   below the grasp centre) must stay above the table.
2. Descent: each finger, open to the grasp width, sweeps down from above to the grasp depth;
   the palm (the gripper's body, spanning the full stroke) comes down to `finger_depth` above
   the fingertips. A part lands on the object where the object's top surface (a height map of
   the mesh, built once by ray casting straight down) rises above its bottom inside its
   footprint. A conservative (max-filtered) map clears most instances; with `exact_descent` the
   others are measured on the map as cast, one cell inside each footprint (an object edge
   within a cell of a finger's face grazes it). Then, as the arm presses down with up to
   `descent_push_force` (a position-controlled arm held back by the object):
   - a palm that lands at most `palm_stop_tolerance` above the grasp depth stops there and the
     jaws close from there (the grasp evaluated that much higher);
   - with `finger_yield`, a finger that lands on a face sloping away from the grasp is pushed
     open: held open by its actuator with at most the grip force F, it slides down and out
     along a face of unit normal (a outwards along the axis, c up) against friction mu once the
     arm presses with F (c + mu a) / (a - mu c) (a > mu c); the coupled fingers open just far
     enough to get past, within the stroke, and the jaws close from that opening;
   - otherwise the object is shoved: where the landing part meets a face of slope theta, the
     push on the object along the face's horizontal normal, after the friction on the part's
     face and under the object (both the object's surface friction mu), is
     N (sin theta (1 - mu^2) - 2 mu cos theta) per newton N the part presses with: positive
     only beyond twice the friction angle (the same bound holds for a round object rolling
     away), and it must exceed mu m g; the object then slides just far enough for the part to
     get past, and the grasp is evaluated on the moved object.
   The descent fails where none of these ends it within the stroke, or the gripper then lands
   on the object elsewhere.
3. Contacts: each jaw pad closes along the grasp axis; a grid of parallel rays across the pad
   (`pad_rays_across` x `pad_rays_vertical`) finds where it first touches the mesh. The rays
   within `contact_patch_tolerance` of that first touch form the contact patch: its centroid
   and mean normal are the contact. A jaw that touches nothing, or that starts inside the
   object, makes the grasp fail. The contact normal is the pad's normal when the first touch
   is inside the pad (the surface is tangent to the flat pad there, or an object edge presses
   on it) and the object's surface normal when it is on the pad's rim (fingertip row, lateral
   ends), where the pad edge presses on the object's surface. With `rim_contact_by_facing` a
   rim touch counts as the edge pressing only where the surface there faces into the pad from
   that rim (up beyond the fingertip row, towards the pad's middle beyond a lateral end): a
   surface facing out past the rim recedes from the pad there, so the object is widest further
   in, between the rays, where the flat pad touches it (a lying rod gripped above its
   fingertips).
3b. Squeeze alignment: an object squeezed between the two flat pads turns about the
   vertical until two parallel faces lie flush on them (the grip force is large against the
   table's friction on a light object). A grasp that is not in force closure as commanded,
   whose two contacts lie on parallel faces (normals antiparallel in the table plane within
   `parallel_face_tolerance`) and whose axis is within `squeeze_alignment_max_angle` of their
   normal, is evaluated again with the axis along that normal, about the same centre: the
   object turned by that angle, as seen from the object. Without this step a box grasped 25
   degrees off its faces touches with two opposite pad corners, out of force closure, while
   the MuJoCo lift (and a real gripper) turns the box flush and holds it. Any other grasp
   still out of force closure turns too (with `squeeze_turn_step` > 0): the two contacts'
   normal forces make a couple about the vertical that turns the object, and the grasp is
   evaluated again with the axis turned the other way (as seen from the object), in steps of
   `squeeze_turn_step`, until it is in force closure, a jaw loses the object, or it has turned
   `squeeze_alignment_max_angle`.
4. Wrenches: each contact is a soft finger (point contact with Coulomb friction `mu` plus
   torsional friction over a contact patch of radius `contact_patch_radius`: torsional limit
   (2/3) mu r per newton of normal force, a uniform-pressure disc). The friction cone is
   linearized with `num_cone_edges` edges; the torsion adds the wrenches of a unit normal
   force with +-(2/3) mu r torque about the normal. Torques are about the object's centre of
   mass and divided by its characteristic length (largest centre-of-mass-to-vertex distance),
   as in Dex-Net, so that forces and torques are commensurate.
5. Quality: force closure is tested first (two soft contacts are in force closure iff the
   line between them lies strictly inside both friction cones, Nguyen 1988); only then is the
   Ferrari-Canny L1 epsilon computed, the distance from the origin to the boundary of the
   convex hull of all contact wrenches (scipy.spatial.ConvexHull, Qhull); otherwise 0.
6. Weight (Dex-Net 2.1/4.0's wrench resistance): an instance in force closure must also hold
   the object up. The gripper presses each finger with at most its operating grip force F
   (`GripperConfig.grip_force`, the value the MuJoCo lift closes with); the object's weight
   m g pulls straight down at its true centre of mass (m and the centre from the caller, e.g.
   `ObjectModel.mass` and its origin; the friction mean is the object's surface friction where
   it has one). The instance holds when the two contacts' bounded wrench sets (each F times the
   convex hull of {0} and its soft-finger wrenches of step 4) can together balance
   `weight_safety_factor` times that weight. Here a contact's torsion lever is the soft disc's
   (2/3) r plus how far the flush part of its patch (pad rays within `flush_tolerance` of the
   first touch) reaches from the contact point: a flat pad pressed on a face resists twisting
   with friction over the whole overlap (the MuJoCo lift puts a contact point at each corner of
   it), far more than a 5 mm disc. The friction cone is linearized with `weight_cone_edges`
   edges (finer than the epsilon's: an inscribed 4-edge pyramid cannot squeeze along a line
   that the exact cone of step 5 admits), and a contact shares its friction between force and
   torsion as a diamond, |f_t| / mu + |t| / (mu lever) <= f_n, or with
   `elliptic_limit_surface` as the ellipse (|f_t| / mu)^2 + (t / (mu lever))^2 <= f_n^2 of a
   pressed patch's limit surface (its inscribed octagon): pads pressed over an area (the
   lift's corner contacts) carry weight and twist together better than the diamond allows.
   This is a linear programme in two unknowns per instance (the
   squeeze along the line between the contacts and the torsion traded between them), solved
   exactly in closed form and vectorised over instances (`GraspQualityEvaluator.
   weight_capacity`). Far from the centre of mass it is the torsional friction that runs out:
   the weight's torque about the line through the contacts can only be balanced by the two
   contacts' torsion, at most mu F times the lever each. With no mass given the step is left
   out.

The robust quality is the mean over the perturbed copies of the epsilon of the copies that hold
the weight (0 for the others); the label is robust quality >= `robust_threshold`. With
`nominal_must_hold` the unperturbed grasp itself must get down, be in force closure and hold the
weight (else the robust quality is 0 and its copies are not evaluated): a grasp that fails as
commanded but whose copies sometimes hold is fragile, and the lift of the commanded grasp drops
it. A grasp that is not robust says why (`RobustnessResult.reasons`): its unperturbed descent
collides, it (or too many of its copies) is not in force closure, or it (or too many of its
copies) does not hold the weight. The threshold and safety factor were chosen against a
simulated lift in MuJoCo (`benchmarks/label_agreement.py`, on calibration families and seeds
distinct from the reported ones). The models of steps 2, 3, 3b and 6 that `exact_descent`,
`palm_stop_tolerance`, `descent_push_force`, `finger_yield`, `rim_contact_by_facing`,
`squeeze_turn_step`, `weight_cone_edges`, `elliptic_limit_surface` and `nominal_must_hold` add
are off by default
(the label every dataset so far was written with); `RobustnessConfig.lift_calibrated()`
switches them on at the values chosen against the lift, documented on the fields, and lets the
squeeze of step 3b rotate the object up to 90 degrees (`squeeze_alignment_max_angle`, 45 by
default).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
from scipy.spatial import ConvexHull, QhullError

try:  # scipy's Qhull wrapper itself: the hull facets without ConvexHull's other outputs
    from scipy.spatial._qhull import _Qhull
except ImportError:  # a scipy without it: ConvexHull (the same Qhull run, ~1.5x slower)
    _Qhull = None

from gqstn_ros.grasping.mesh_geometry import TriangleMesh
from gqstn_ros.gripper import ROBOTIQ_2F85, GripperConfig

if TYPE_CHECKING:
    from gqstn_ros.sim.objects import ObjectModel

WORLD_UP = np.array([0.0, 0.0, 1.0])
_WRENCH_DIM = 6
# A contact normal and the closing line are "antipodal within the cone" only with this margin
# (radians) inside the cone: the linearized cone is inscribed in the exact one.
_CONE_ANGLE_MARGIN = 1e-6
STANDARD_GRAVITY = 9.81  # m/s^2, as MuJoCo's default gravity in the lift
_CAPACITY_CHUNK = 512  # instances per vectorised weight-capacity solve (bounds the memory)
_RIM_FACING = 1e-3  # a surface normal component beyond this faces into the pad from a rim


@dataclass(frozen=True)
class RobustnessConfig:
    """Contact model, perturbation model and threshold of the robust Ferrari-Canny label."""

    friction_coef: float = 0.5  # Coulomb mu of finger pad on object (rubber on plastic ~ 0.5-1;
    # Dex-Net 2.0 used 0.5, a conservative value).
    num_cone_edges: int = 4  # edges of the linearized friction cone. Dex-Net uses 8; with 4
    # the epsilon of typical grasps changes by ~2 % while Qhull runs 4-7x faster in 6-D.
    contact_patch_radius: float = 0.005  # m, soft-finger contact disc radius for torsion
    fingertip_below_center: float = 0.005  # m, fingertips reach this far below the grasp centre
    table_clearance: float = 0.0  # m, fingertips must stay at least this high above the table
    pad_rays_across: int = 3  # closing rays across the pad width
    pad_rays_vertical: int = 4  # closing rays along the pad height (fingertip to palm)
    flush_tolerance: float = 0.001  # m, pad rays touching within this of the first touch lie
    # flush on the pad: how far they reach from the contact point is the torsion lever of the
    # weight step (`GraspContacts.patch_spread`)
    contact_patch_tolerance: float = 0.003  # m, pad rays touching within this of the first touch
    # form the contact patch (the pad is flat and the object settles against it when squeezed:
    # a pad a few degrees off a face still grips the whole overlap, not one corner)
    heightmap_resolution: float = 0.001  # m, grid of the object top-surface height map (its
    # lookups are conservative by up to 1.5 cells: 1 cell of max-filter plus rounding)
    num_perturbations: int = 10  # K, perturbed copies per grasp
    grasp_translation_sigma: float = 0.0025  # m, std of grasp centre noise (x, y, z)
    grasp_rotation_sigma: float = 0.05  # rad, std of grasp axis rotation about vertical
    object_translation_sigma: float = 0.0025  # m, std of object position noise on the table
    object_rotation_sigma: float = 0.05  # rad, std of object rotation about vertical (at CoM)
    friction_sigma: float = 0.1  # std of the friction coefficient noise (absolute, clipped >= 0)
    squeeze_alignment_max_angle: float = 0.7854  # rad (45 deg); 0 turns it off. Two flat
    # pads squeezing two parallel object faces turn the object about the vertical until the
    # faces lie flush on the pads (the table's friction is small against the grip force): a
    # grasp whose axis is within this angle of the faces' normal is evaluated at the aligned
    # axis when it is not in force closure as commanded (step 3b of the module docstring).
    # Chosen on calibration seeds 0, 2 and 3 of benchmarks/label_agreement.py
    # (--alignment-candidates; pooled agreement with the lift over 750 grasps: 0 deg 84.7 %,
    # 20 and 30 deg 91.9 %, 45 deg 92.3 %, 60 deg 92.4 %): 45 deg, as 60 gains one grasp and a
    # pad corner far off a face rather slides along it than turns the object. With the other
    # lift-calibrated models the squeeze rotates objects further (the lift rotates curved and
    # several-part objects by up to about 60 deg into a grip): lift_calibrated() sets 90 deg
    # (seeds 0, 2 and 3, --parameter-sweeps --rotation-max-deg-candidates, 3,120 grasps: 95.2 % at
    # 30 deg, 95.6 % at 45, 95.7 % at 60, 95.8 % at 75 and 90)
    parallel_face_tolerance: float = 0.1  # rad: contact normals this close to antiparallel (in
    # the table plane) count as two parallel faces for the squeeze alignment
    robust_threshold: float = 0.0005  # robust epsilon >= this is "robust": calibrated against
    # the MuJoCo lift on the calibration families of benchmarks/label_agreement.py (Dex-Net 2.0
    # used 0.002 on its own wrench scaling); with lift_calibrated(), seeds 0, 2 and 3: 95.6 %
    # at 5e-5, 1e-4 and 5e-4, 95.7 % at 2e-4, 95.5 % at 1e-3, 95.3 % at 2e-3, 93.2 % at 5e-3
    # The models below are off by default (the label every dataset so far was written with);
    # `RobustnessConfig.lift_calibrated()` switches them on with the values chosen on the
    # calibration families of benchmarks/label_agreement.py (seeds 0, 2 and 3, 3,120 grasps,
    # objects at 1, 4 and 11 times their density; --parameter-sweeps: each swept alone, the
    # others as calibrated; pooled agreement with the MuJoCo lift; 91.7 % with all of them off).
    exact_descent: bool = False  # step 2 of the module docstring: the descent is measured on
    # the height map as cast where the conservative one finds the object under the gripper, and
    # the palm spans the gripper body (the full stroke); False: the conservative map alone, the
    # palm over the opening. Calibration: 93.4 % off, 95.6 % on
    palm_stop_tolerance: float = 0.0  # m: a palm that lands on the object at most this far
    # above the grasp depth stops there and the jaws close from there (step 2); the lift's arm
    # goes on where its palm is held at most LiftConfig.reach_tolerance (5 mm) above the grasp.
    # Calibrated: 5 mm (94.0 % at 0, 94.9 % at 2 mm, 95.1 % at 3, 95.6 % at 5, 95.2 % at 7)
    descent_push_force: float = 0.0  # N, how hard the arm presses down on what a finger or the
    # palm lands on (step 2: a finger pushed open, a light object under a steep face shoved
    # away); 0 turns both off. The lift's arm pushes with up to LiftConfig.palm_force_limit,
    # 500 N. Calibrated: 500 N (94.6 % at 0, 95.0 % at 20 N, 95.1 % at 100, 95.5 % at 200,
    # 95.6 % at 500, 95.7 % at 1000)
    finger_yield: bool = False  # step 2: a finger that lands on a face sloping away from the
    # grasp is pushed open against its actuator's grip force where the arm presses hard enough
    # (descent_push_force). Calibration: 94.9 % off, 95.6 % on
    rim_contact_by_facing: bool = False  # step 3: a touch on the pad's rim rays presses with
    # the pad's edge (the surface normal) only where the surface faces into the pad from that
    # rim; False: every first touch on the rim does. Calibration: 93.5 % off, 95.6 % on
    squeeze_turn_step: float = 0.0  # rad: an object out of force closure turns about the
    # vertical under the squeeze, followed in steps of this up to squeeze_alignment_max_angle
    # (step 3b); 0 turns it off. Calibrated: 10 deg (88.9 % off, 95.6 % at 2.5, 5 and 10 deg;
    # heavy objects only, see weight_safety_factor: 93.3, 93.4 and 93.5 %; 10 deg, the fewest
    # contact searches)
    nominal_must_hold: bool = False  # a grasp is robust only if its unperturbed instance gets
    # down, is in force closure and holds the weight (only then are its perturbed copies
    # evaluated). Calibration: 90.6 % off, 95.6 % on
    weight_cone_edges: int = 4  # edges of the linearized friction cone in the weight step's
    # linear programme (step 6). Calibrated: 8 (94.3 % at 4, 95.6 % at 8, 95.7 % at 12; the
    # programme's cost grows with the square of the edges)
    elliptic_limit_surface: bool = False  # step 6: a contact shares its friction between force
    # and torsion as an ellipse (an inscribed octagon); False: as a diamond. Calibration:
    # 95.1 % off, 95.6 % on
    weight_safety_factor: float = 1.0  # a copy in force closure counts only if its contacts,
    # each pressed with at most the gripper's grip force, hold this many times the object's
    # weight at its centre of mass (step 6 of the module docstring); 0 turns the step off.
    # With lift_calibrated() (calibration as above): 96.2 % without the step,
    # 95.8 % at 0.5, 95.6 % at 0.75 and 1, 94.9 % at 1.5, 94.5 % at 2; heavy objects only (7
    # families at 11 times their density, seeds 0, 2, 3, 1,260 grasps): 94.7 % without, 94.1 %
    # at 0.5 and 0.75, 93.5 % at 1. The lift holds some heavy grasps that pivot a little in the
    # pads, which the step (no pivot) does not; it stays at 1, the weight itself, as the one
    # check of heavy-ended objects, and because the dataset generator gives the label the
    # object's own friction, mass and centre of mass only with a positive factor

    @classmethod
    def lift_calibrated(cls, **changes: object) -> RobustnessConfig:
        """The label with every model calibrated against the MuJoCo lift switched on, at its
        calibrated value (`LIFT_CALIBRATED`; the fields' comments give the figures), other
        fields at their defaults; `changes` override any field."""
        return cls(**{**LIFT_CALIBRATED, **changes})

    def __post_init__(self) -> None:
        if not self.friction_coef >= 0:
            raise ValueError(f"friction_coef must be >= 0, got {self.friction_coef}")
        for name in ("num_cone_edges", "weight_cone_edges"):
            if getattr(self, name) < 3:
                raise ValueError(f"{name} must be >= 3, got {getattr(self, name)}")
        for name in ("pad_rays_across", "pad_rays_vertical"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.num_perturbations < 0:
            raise ValueError(f"num_perturbations must be >= 0, got {self.num_perturbations}")
        for name in (
            "contact_patch_radius", "fingertip_below_center", "squeeze_alignment_max_angle",
            "parallel_face_tolerance",
            "contact_patch_tolerance", "flush_tolerance", "grasp_translation_sigma",
            "grasp_rotation_sigma",
            "object_translation_sigma", "object_rotation_sigma", "friction_sigma",
            "robust_threshold", "palm_stop_tolerance", "squeeze_turn_step",
        ):  # fmt: skip
            if not getattr(self, name) >= 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if not self.heightmap_resolution > 0:
            raise ValueError(f"heightmap_resolution must be > 0, got {self.heightmap_resolution}")
        if not (np.isfinite(self.descent_push_force) and self.descent_push_force >= 0):
            raise ValueError(
                f"descent_push_force must be finite and >= 0 (N), got {self.descent_push_force}"
            )
        if not (np.isfinite(self.weight_safety_factor) and self.weight_safety_factor >= 0):
            raise ValueError(
                f"weight_safety_factor must be finite and >= 0, got {self.weight_safety_factor}"
            )


# The fields `RobustnessConfig.lift_calibrated` sets: the models of the descent, the contacts,
# the squeeze and the weight step at the values chosen against the MuJoCo lift.
LIFT_CALIBRATED: dict[str, object] = {
    "exact_descent": True,
    "palm_stop_tolerance": 0.005,
    "descent_push_force": 500.0,
    "finger_yield": True,
    "rim_contact_by_facing": True,
    "squeeze_turn_step": float(np.deg2rad(10.0)),
    "squeeze_alignment_max_angle": float(np.deg2rad(90.0)),  # the squeeze's largest rotation
    "nominal_must_hold": True,
    "weight_cone_edges": 8,
    "elliptic_limit_surface": True,
}


@dataclass(frozen=True)
class GraspContacts:
    """Jaw contacts of G grasp instances (world frame).

    touched: (G,) bool, both jaws touch the object and neither starts inside it.
    points: (G, 2, 3) contact points, metres (nan where not touched).
    normals: (G, 2, 3) outward unit surface normals at the contacts.
    patch_spread: (G, 2) how far (m) the flush part of each contact patch (pad-ray hits within
    `flush_tolerance` of the first touch) reaches from the contact point, across the normal:
    0 for a single-point touch; None: not measured (0).
    """

    touched: np.ndarray
    points: np.ndarray
    normals: np.ndarray
    patch_spread: np.ndarray | None = None

    def subset(self, rows: np.ndarray) -> GraspContacts:
        """The contacts of the instances `rows` (indices or a (G,) bool mask)."""
        spread = None if self.patch_spread is None else self.patch_spread[rows]
        return GraspContacts(self.touched[rows], self.points[rows], self.normals[rows], spread)


@dataclass(frozen=True)
class Descent:
    """Where G grasp instances close after the gripper's descent (step 2 of the module
    docstring), in the world frame of the object as it rested before the descent.

    reached: (G,) bool, the jaws get to close: the opening fits the stroke, the fingertips stay
    above the table and the descent ends within `palm_stop_tolerance` of the grasp depth,
    at once or after the part that landed on the object pushed it aside.
    centers: (G, 3) the grasp centre relative to the object where the jaws close, metres: the
    commanded centre raised by where the descent stopped, and moved against the push.
    shoved: (G,) bool, a landing part pushed the object aside.
    widths: (G,) the opening the jaws close from, metres: the commanded one, or wider where a
    finger that landed on the object was pushed open.
    """

    reached: np.ndarray
    centers: np.ndarray
    shoved: np.ndarray
    widths: np.ndarray


# Why a grasp is not robust (`RobustnessResult.reasons`; "" for a robust grasp).
REASON_COLLISION = "collision"  # the unperturbed grasp misses the stroke, hits the table or
# lands on the object while descending
REASON_NO_FORCE_CLOSURE = "no_force_closure"  # too few perturbed copies in force closure
REASON_WEIGHT = "weight"  # robust in force closure, but too few copies hold the object's weight
FAILURE_REASONS = (REASON_COLLISION, REASON_NO_FORCE_CLOSURE, REASON_WEIGHT)


@dataclass(frozen=True)
class RobustnessResult:
    """Labels of N grasps.

    robust_quality: (N,) mean over the perturbed copies of the Ferrari-Canny epsilon of the
    copies that also hold the object's weight (0 for the others), dimensionless; 0 where
    `nominal_must_hold` and the unperturbed grasp does not hold.
    robust: (N,) bool label, robust_quality >= threshold.
    nominal_quality: (N,) epsilon of the unperturbed grasp (force closure only).
    nominal_collision_free: (N,) bool, the unperturbed grasp's descent gets it down to close
    (`GraspQualityEvaluator.descend`).
    force_closure_rate: (N,) fraction of perturbed copies in force closure (copies not
    evaluated, where `nominal_must_hold` and the unperturbed grasp does not hold, count as not).
    closure_quality: (N,) the robust quality without the weight step (mean epsilon).
    weight_hold_rate: (N,) fraction of perturbed copies in force closure that also hold the
    weight (equal to force_closure_rate when the weight step is off or the mass unknown).
    reasons: (N,) str, why each grasp is not robust (one of `FAILURE_REASONS`, checked in that
    order), "" for a robust grasp.
    """

    robust_quality: np.ndarray
    robust: np.ndarray
    nominal_quality: np.ndarray
    nominal_collision_free: np.ndarray
    force_closure_rate: np.ndarray
    closure_quality: np.ndarray
    weight_hold_rate: np.ndarray
    reasons: np.ndarray


def _horizontal_unit(axes: np.ndarray) -> np.ndarray:
    planar = axes.copy()
    planar[:, 2] = 0.0
    norms = np.linalg.norm(planar, axis=1)
    if np.any(norms < 1e-6):
        raise ValueError("grasp axes must not be vertical for top-down grasps")
    return planar / norms[:, None]


def _rotate_about_z(vectors: np.ndarray, angles: np.ndarray) -> np.ndarray:
    c, s = np.cos(angles), np.sin(angles)
    out = vectors.copy()
    out[:, 0] = c * vectors[:, 0] - s * vectors[:, 1]
    out[:, 1] = s * vectors[:, 0] + c * vectors[:, 1]
    return out


def _hull_equations(points: np.ndarray, options: bytes) -> np.ndarray:
    """(F, D + 1) facet equations of the convex hull of (P, D) points, as
    `ConvexHull(points, qhull_options=options).equations` (the same Qhull run and options)."""
    points = np.ascontiguousarray(points, dtype=np.float64)
    if _Qhull is None:
        return ConvexHull(points, qhull_options=options.decode()).equations
    qhull = _Qhull(b"i", points, options, required_options=b"Qt")
    try:
        qhull.triangulate()
        return qhull.get_simplex_facet_array()[2]
    finally:
        qhull.close()


class _TopHeightMap:
    """Highest object point above each cell of an x-y grid (metres; -inf where no object).

    Built by casting one ray straight down per grid node, then max-filtered over the 3x3
    neighbourhood so that a lookup at the nearest node is conservative to within one cell.
    `top` is the highest value of the whole map: an upper bound of every lookup. `cast` and
    `normals`: the heights as cast (not filtered) and the outward surface normals there.
    """

    def __init__(self, mesh: TriangleMesh, resolution: float) -> None:
        self.resolution = resolution
        self.origin = mesh.bounds[0, :2] - resolution
        shape = np.ceil((mesh.bounds[1, :2] - self.origin) / resolution).astype(int) + 2
        ix, iy = np.meshgrid(np.arange(shape[0]), np.arange(shape[1]), indexing="ij")
        xy = self.origin + np.stack([ix, iy], axis=-1).reshape(-1, 2) * resolution
        top = mesh.bounds[1, 2] + 1.0
        origins = np.column_stack([xy, np.full(len(xy), top)])
        hits = mesh.intersect_rays(origins, np.broadcast_to(-WORLD_UP, origins.shape))
        self.cast = np.where(hits.hit, top - hits.distance, -np.inf).reshape(shape)
        self.normals = np.where(hits.hit[:, None], hits.normal, WORLD_UP).reshape(*shape, 3)
        padded = np.pad(self.cast, 1, constant_values=-np.inf)
        self.heights = np.max(
            [padded[1 + dx : 1 + dx + shape[0], 1 + dy : 1 + dy + shape[1]]
             for dx in (-1, 0, 1) for dy in (-1, 0, 1)],
            axis=0,
        )  # fmt: skip
        self.top = float(self.heights.max())
        # The maps with a border of -inf cells (normals: up), flattened: a lookup clips its cell
        # indices to [-1, n] and reads the border for every point outside (one gather, no mask).
        self._bordered = np.pad(self.heights, 1, constant_values=-np.inf).reshape(-1)
        self._bordered_cast = np.pad(self.cast, 1, constant_values=-np.inf).reshape(-1)
        self._bordered_normals = np.pad(self.normals, ((1, 1), (1, 1), (0, 0))).reshape(-1, 3)
        self._bordered_normals[~np.isfinite(self._bordered_cast)] = WORLD_UP
        self._bordered_columns = self.heights.shape[1] + 2

    def max_height(self, points_xy: np.ndarray) -> np.ndarray:
        """(...) highest object point near each of the (..., 2) query points."""
        return self.heights_at(points_xy[..., 0], points_xy[..., 1])

    def heights_at(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Like `max_height` for the query points' coordinates given apart (same shape)."""
        return self._bordered[self._flat_cells(x, y)]

    def cast_heights_at(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """The object's top at the grid node nearest each point, as cast (not max-filtered)."""
        return self._bordered_cast[self._flat_cells(x, y)]

    def normals_at(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """(..., 3) outward unit surface normal of the top at the grid node nearest each point
        (straight up where there is no object)."""
        return self._bordered_normals[self._flat_cells(x, y)]

    def _flat_cells(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        cells = []
        for coordinate, origin, count in zip((x, y), self.origin, self.heights.shape, strict=True):
            index = np.rint((coordinate - origin) / self.resolution).astype(np.int64)
            np.clip(index, -1, count, out=index)
            cells.append(index)
        flat = (cells[0] + 1) * self._bordered_columns
        flat += cells[1]
        flat += 1
        return flat


@dataclass(frozen=True)
class _WeightProblem:
    """R linear programmes: the least largest-finger normal force (N) that holds 1 N of weight.

    Minimise max(n_1, n_2) over (s, v) subject to offset + slope . (s, v) <= 0, where
    offset (R, C), slope (R, C, 2) are the contacts' cone half-planes and normal (R, 2, 3) gives
    finger i's normal force as normal[:, i, 0] + s normal[:, i, 1] + v normal[:, i, 2]
    (`GraspQualityEvaluator._weight_problem` builds them).
    """

    offset: np.ndarray
    slope: np.ndarray
    normal: np.ndarray

    def subset(self, rows: np.ndarray) -> _WeightProblem:
        return _WeightProblem(self.offset[rows], self.slope[rows], self.normal[rows])

    def _finger_force(self, s: np.ndarray, v: np.ndarray) -> np.ndarray:
        """max(n_1, n_2) at (s, v) of matching shape (R, ...)."""
        extra = (slice(None),) + (None,) * (s.ndim - 1)
        forces = [
            self.normal[:, i, 0][extra]
            + self.normal[:, i, 1][extra] * s
            + self.normal[:, i, 2][extra] * v
            for i in range(2)
        ]
        return np.maximum(forces[0], forces[1])

    def finger_force_without_trade(self) -> np.ndarray:
        """(R,) max(n_1, n_2) at a feasible point with v = 0 (the smallest feasible squeeze s):
        an upper bound of the optimum; inf where v = 0 admits no s."""
        offset, slope = self.offset, self.slope[..., 0]
        flat = np.abs(slope) <= 1e-12
        with np.errstate(divide="ignore", invalid="ignore"):
            bound = -offset / slope
        lower = np.where(~flat & (slope < 0), bound, -np.inf).max(axis=1)
        upper = np.where(~flat & (slope > 0), bound, np.inf).min(axis=1)
        feasible = np.all(~flat | (offset <= 0), axis=1) & np.isfinite(lower) & (lower <= upper)
        s = np.where(feasible, lower, 0.0)
        return np.where(feasible, self._finger_force(s, np.zeros_like(s)), np.inf)

    def least_finger_force(self) -> np.ndarray:
        """(R,) the optimum; inf where no point satisfies every half-plane.

        The objective is convex and piecewise linear, so it is least at a vertex of the
        feasible polygon or where a border of it crosses n_1 = n_2: the least objective over
        every pairwise intersection of those lines that satisfies all half-planes (to a relative
        1e-9) is the optimum.
        """
        normal = self.normal
        offset = np.concatenate([self.offset, (normal[:, 0, 0] - normal[:, 1, 0])[:, None]], 1)
        slope = np.concatenate([self.slope, (normal[:, 0, 1:] - normal[:, 1, 1:])[:, None]], 1)
        first, second = np.triu_indices(offset.shape[1], k=1)
        a0, a1 = slope[:, first, 0], slope[:, first, 1]
        b0, b1 = slope[:, second, 0], slope[:, second, 1]
        det = a0 * b1 - a1 * b0
        proper = np.abs(det) > 1e-12 * np.hypot(a0, a1) * np.hypot(b0, b1)
        det = np.where(proper, det, 1.0)
        ca, cb = offset[:, first], offset[:, second]
        s = (cb * a1 - ca * b1) / det  # (R, P): the intersection of each pair of lines
        v = (ca * b0 - cb * a0) / det
        along_s = self.slope[:, None, :, 0] * s[..., None]
        along_v = self.slope[:, None, :, 1] * v[..., None]
        value = self.offset[:, None, :] + along_s + along_v
        magnitude = np.abs(self.offset)[:, None, :] + np.abs(along_s) + np.abs(along_v)
        feasible = proper & np.all(value <= 1e-9 * magnitude, axis=2)
        return np.where(feasible, self._finger_force(s, v), np.inf).min(axis=1)


class GraspQualityEvaluator:
    """Robust Ferrari-Canny labels of top-down grasps on one object resting in the world.

    mesh: the object's watertight mesh already in world coordinates (z up, table at z = 0).
    mass: the object's mass, kg; None (unknown) leaves the weight step out.
    center_of_mass: (3,) world frame, metres; None: the mesh's centroid (uniform density).
    The grip force is the gripper's operating force, `GripperConfig.grip_force` (N per finger).
    The height map and wrench scaling are built once here and reused for every grasp.
    """

    def __init__(
        self,
        mesh: TriangleMesh,
        gripper: GripperConfig = ROBOTIQ_2F85,
        config: RobustnessConfig | None = None,
        *,
        mass: float | None = None,
        center_of_mass: np.ndarray | None = None,
    ) -> None:
        self.mesh = mesh
        self.gripper = gripper
        self.config = config or RobustnessConfig()
        if mass is not None and not (np.isfinite(mass) and mass > 0):
            raise ValueError(f"object mass must be a positive number of kg, got {mass}")
        self.mass = None if mass is None else float(mass)
        if center_of_mass is None:
            self.center_of_mass = mesh.center_of_mass
        else:
            self.center_of_mass = np.asarray(center_of_mass, dtype=np.float64).reshape(-1)
            if self.center_of_mass.shape != (3,) or not np.all(np.isfinite(self.center_of_mass)):
                raise ValueError(
                    f"center_of_mass must be 3 finite coordinates (m), got {center_of_mass}"
                )
        # Dex-Net's wrench scaling: the largest centre-of-mass-to-vertex distance.
        reach = np.linalg.norm(mesh.vertices - self.center_of_mass, axis=1).max()
        self.torque_scale = 1.0 / float(reach)
        self._heightmap = _TopHeightMap(mesh, self.config.heightmap_resolution)

    @property
    def checks_weight(self) -> bool:
        """Whether the label asks that the contacts hold the object's weight (step 6)."""
        return self.mass is not None and self.config.weight_safety_factor > 0

    @classmethod
    def from_object_model(
        cls,
        model: ObjectModel,
        T_world_object: np.ndarray,  # noqa: N803 (transform naming convention)
        gripper: GripperConfig = ROBOTIQ_2F85,
        config: RobustnessConfig | None = None,
    ) -> GraspQualityEvaluator:
        """Evaluator for an `ObjectModel` placed by a 4x4 object->world transform: its mesh, its
        mass and its centre of mass (the object frame's origin) as the model states them, and
        its surface friction as the mean friction coefficient where the model has one."""
        if model.friction is not None:
            config = replace(config or RobustnessConfig(), friction_coef=float(model.friction))
        return cls.from_object(
            model.vertices,
            model.faces,
            T_world_object,
            gripper,
            config,
            mass=model.mass,
            center_of_mass=np.zeros(3),
        )

    @classmethod
    def from_object(
        cls,
        vertices: np.ndarray,
        faces: np.ndarray,
        T_world_object: np.ndarray,  # noqa: N803 (transform naming convention)
        gripper: GripperConfig = ROBOTIQ_2F85,
        config: RobustnessConfig | None = None,
        *,
        mass: float | None = None,
        center_of_mass: np.ndarray | None = None,
    ) -> GraspQualityEvaluator:
        """Evaluator for a mesh (object frame) placed by a 4x4 object->world transform.

        mass (kg) and center_of_mass ((3,) m, object frame) as in the constructor.
        """
        transform = np.asarray(T_world_object, dtype=np.float64)
        if transform.shape != (4, 4) or not np.allclose(transform[3], [0, 0, 0, 1]):
            raise ValueError(f"T_world_object must be a 4x4 homogeneous transform, got {transform}")
        rotation = transform[:3, :3]
        if (
            not np.allclose(rotation.T @ rotation, np.eye(3), atol=1e-6)
            or np.linalg.det(rotation) < 0
        ):
            raise ValueError("T_world_object rotation must be a proper rotation matrix")
        mesh = TriangleMesh(vertices, faces).transformed(transform)
        if center_of_mass is not None:
            center = np.asarray(center_of_mass, dtype=np.float64).reshape(-1)
            if center.shape != (3,):
                raise ValueError(f"center_of_mass must be 3 coordinates (m), got {center_of_mass}")
            center_of_mass = rotation @ center + transform[:3, 3]
        return cls(mesh, gripper, config, mass=mass, center_of_mass=center_of_mass)

    # ------------------------------------------------------------------ geometry
    def reachable_and_collision_free(
        self, centers: np.ndarray, axes: np.ndarray, widths: np.ndarray
    ) -> np.ndarray:
        """(G,) bool: width within the stroke, fingertips above the table, and neither the
        fingers nor the palm hit the object while descending to the grasp depth."""
        cfg, grip = self.config, self.gripper
        tip_z = centers[:, 2] - cfg.fingertip_below_center
        ok = grip.fits_stroke(widths)
        ok &= tip_z >= cfg.table_clearance
        axis = _horizontal_unit(axes)
        lateral = np.cross(WORLD_UP, axis)
        half_opening = 0.5 * widths
        # The height map is max-filtered over +-1 cell, so samples 2 cells apart cover it all.
        step = 2.0 * cfg.heightmap_resolution
        across = np.linspace(-0.5, 0.5, max(2, int(np.ceil(grip.finger_width / step)) + 1))
        along = np.linspace(0.0, 1.0, max(2, int(np.ceil(grip.finger_thickness / step)) + 1))
        offset_lat = across * grip.finger_width  # (L,)
        # Each test below only looks at grasps that passed the tests before it (the result is
        # their conjunction), and a grasp whose limit is above the whole height map passes a
        # footprint test without looking up its footprint.
        rows = np.flatnonzero(ok & (self._heightmap.top > tip_z))
        if len(rows):
            # Finger footprints: offsets along the axis from the inner pad face outwards.
            offset_axis = (
                half_opening[rows, None] + along[None, :] * grip.finger_thickness
            )  # (R, A)
            finger_top = np.full(len(rows), -np.inf)
            for sign in (-1.0, 1.0):
                finger_top = np.maximum(
                    finger_top,
                    self._footprint_top(
                        centers[rows], axis[rows], lateral[rows], sign * offset_axis, offset_lat
                    ),
                )
            ok[rows] = finger_top <= tip_z[rows]
        # Palm: spans the opening between the fingers, finger_depth above the fingertips.
        palm_limit = tip_z + grip.finger_depth
        rows = np.flatnonzero(ok & (self._heightmap.top > palm_limit))
        if len(rows):
            palm_span = np.linspace(-1.0, 1.0, max(2, int(np.ceil(2 * grip.max_width / step)) + 1))
            palm_axis = palm_span[None, :] * (half_opening[rows, None] + grip.finger_thickness)
            palm_top = self._footprint_top(
                centers[rows], axis[rows], lateral[rows], palm_axis, offset_lat
            )
            ok[rows] = palm_top <= palm_limit[rows]
        return ok

    def _footprint_top(
        self,
        centers: np.ndarray,
        axis: np.ndarray,
        lateral: np.ndarray,
        offset_axis: np.ndarray,
        offset_lat: np.ndarray,
    ) -> np.ndarray:
        """(R,) highest object point under R rectangular footprints sampled on a grid.

        centers (R, 3), axis / lateral (R, 3) horizontal unit vectors, offset_axis (R, A)
        offsets along the axis, offset_lat (L,) offsets along the lateral direction: the
        sample points are centre + offset_axis * axis + offset_lat * lateral, (R, A, L).
        """
        coordinates = []
        for k in range(2):
            along_axis = offset_axis[:, :, None] * axis[:, None, None, k]  # (R, A, 1)
            across = offset_lat[None, None, :] * lateral[:, None, None, k]  # (R, 1, L)
            coordinates.append(centers[:, None, None, k] + along_axis + across)  # (R, A, L)
        heights = self._heightmap.heights_at(*coordinates)
        return heights.reshape(len(centers), -1).max(axis=1)

    def descend(
        self,
        centers: np.ndarray,
        axes: np.ndarray,
        widths: np.ndarray,
        friction: np.ndarray | None = None,
    ) -> Descent:
        """Where G grasp instances close after the gripper's descent (step 2 of the module
        docstring): centres (G, 3) m, axes (G, 3), widths (G,) m, friction (G,) the object's
        surface friction per instance (None: `friction_coef`)."""
        cfg, grip = self.config, self.gripper
        count = len(centers)
        if friction is None:
            friction = np.full(count, cfg.friction_coef)
        tip_z = centers[:, 2] - cfg.fingertip_below_center
        reach = grip.fits_stroke(widths) & (tip_z >= cfg.table_clearance)
        axis = _horizontal_unit(axes)
        lateral = np.cross(WORLD_UP, axis)
        overlap = np.full((3, count), -np.inf)  # finger on -axis, finger on +axis, palm
        landing = np.zeros((3, count, 2))
        rows = np.flatnonzero(reach & (self._heightmap.top > tip_z))
        if len(rows):
            overlap[:, rows], landing[:, rows] = self._part_overlaps(
                centers[rows], axis[rows], lateral[rows], widths[rows], exact=False
            )
            # The conservative map clears most parts; the others are measured exactly.
            for part in range(3) if cfg.exact_descent else ():
                landed = rows[overlap[part, rows] > 0]
                if len(landed):
                    exact, where = self._part_overlaps(
                        centers[landed], axis[landed], lateral[landed], widths[landed],
                        exact=True, parts=(part,),
                    )  # fmt: skip
                    overlap[part, landed], landing[part, landed] = exact[part], where[part]
        reached = reach & self._descent_ends(overlap)
        closing = centers.copy()
        closing[:, 2] += np.where(reached, np.maximum(overlap[2], 0.0), 0.0)
        shoved = np.zeros(count, dtype=bool)
        opening = widths.astype(np.float64, copy=True)
        if cfg.finger_yield:
            rows = np.flatnonzero(reach & ~reached)
            part = overlap[:, rows].argmax(axis=0)  # what lands on the object first
            fingers = part < 2
            rows, part = rows[fingers], part[fingers]
            where = landing[part, rows]
            normal = self._heightmap.normals_at(where[:, 0], where[:, 1])
            outward = np.where(part[:, None] == 0, -axis[rows], axis[rows])
            # The face in the finger's plane of motion (along the axis and up), as a unit
            # normal (a, c): a > 0 pushes the finger outwards. Sliding down and out along it
            # against friction mu, the finger needs the arm to press with
            # F (c + mu a) / (a - mu c) for its actuator's F to give way.
            a = np.einsum("ij,ij->i", normal, outward)
            c = normal[:, 2]
            length = np.hypot(a, c)
            a, c, mu = a / length, c / length, friction[rows]
            give = a - mu * c
            with np.errstate(divide="ignore", invalid="ignore"):
                press = grip.grip_force * (c + mu * a) / give
            yields = (give > 0) & (press <= cfg.descent_push_force)
            rows, part = rows[yields], part[yields]
            if len(rows):
                wider = self._open_wider(
                    centers[rows], axis[rows], lateral[rows], widths[rows], part
                )
                done = np.isfinite(wider[:, 0])
                rows, wider = rows[done], wider[done]
                reached[rows] = True
                opening[rows] = wider[:, 1]
                closing[rows, 2] += np.maximum(wider[:, 0], 0.0)
        if cfg.descent_push_force > 0:
            rows = np.flatnonzero(reach & ~reached)
            part = overlap[:, rows].argmax(axis=0)  # what lands on the object first
            where = landing[part, rows]
            normal = self._heightmap.normals_at(where[:, 0], where[:, 1])
            mu = friction[rows]
            slope_sine = np.linalg.norm(normal[:, :2], axis=1)
            # Net horizontal push per newton the part presses with, after the friction on the
            # part's face and under the object (both mu): > 0 only where the face is steeper
            # than twice the friction angle; the object must also be light enough.
            drive = slope_sine * (1.0 - mu**2) - 2.0 * mu * normal[:, 2]
            weight = 0.0 if self.mass is None else self.mass * STANDARD_GRAVITY
            movable = (drive > 0) & (mu * weight <= cfg.descent_push_force * drive)
            rows, part, normal = rows[movable], part[movable], normal[movable]
            if len(rows):
                away = -normal[:, :2] / np.linalg.norm(normal[:, :2], axis=1, keepdims=True)
                moved = self._shove(
                    centers[rows], axis[rows], lateral[rows], widths[rows], part, away
                )
                done = np.isfinite(moved[:, 0])
                rows, moved = rows[done], moved[done]
                reached[rows] = True
                shoved[rows] = True
                closing[rows] = moved
        return Descent(reached=reached, centers=closing, shoved=shoved, widths=opening)

    def _descent_ends(self, overlap: np.ndarray) -> np.ndarray:
        """(R,) bool: with the (3, R) overlaps of `_part_overlaps`, the descent gets to close:
        neither finger lands on the object, and the palm at most `palm_stop_tolerance`."""
        fingers = overlap[:2].max(axis=0)
        return (fingers <= 0) & (overlap[2] <= self.config.palm_stop_tolerance)

    def _part_overlaps(
        self,
        centers: np.ndarray,
        axis: np.ndarray,
        lateral: np.ndarray,
        widths: np.ndarray,
        exact: bool,
        parts: tuple[int, ...] = (0, 1, 2),
    ) -> tuple[np.ndarray, np.ndarray]:
        """(3, R) how far the object's top rises above the bottom of each gripper part (the
        finger on the -axis side, the one on the +axis side, the palm) inside its footprint,
        and (3, R, 2) where (x, y) that highest point lies. exact: the height map as cast,
        sampled every cell; otherwise its conservative (max-filtered) version every 2 cells,
        an upper bound. Only the `parts` listed are measured (-inf for the others)."""
        grip, cfg = self.gripper, self.config
        step = (1.0 if exact else 2.0) * cfg.heightmap_resolution
        # The exact test reads the nearest node: its samples stay one cell inside each footprint
        # so that it reads no object point outside it (a touch within a cell of the edge grazes).
        inset = cfg.heightmap_resolution if exact else 0.0
        width, thickness = grip.finger_width - 2 * inset, grip.finger_thickness - 2 * inset
        across = np.linspace(-0.5, 0.5, max(2, int(np.ceil(width / step)) + 1))
        along = np.linspace(0.0, 1.0, max(2, int(np.ceil(thickness / step)) + 1))
        offset_lat = across * width
        tip_z = centers[:, 2] - cfg.fingertip_below_center
        finger_axis = 0.5 * widths[:, None] + inset + along[None, :] * thickness
        if cfg.exact_descent:  # the palm is the gripper's body: the full stroke and fingers
            body = 0.5 * grip.max_width + grip.finger_thickness - inset
            palm_span = np.linspace(-1.0, 1.0, max(2, int(np.ceil(2 * body / step)) + 1))
            palm_axis = np.broadcast_to(palm_span * body, (len(centers), len(palm_span)))
        else:  # the palm over the opening and the fingers
            palm_span = np.linspace(-1.0, 1.0, max(2, int(np.ceil(2 * grip.max_width / step)) + 1))
            palm_axis = palm_span[None, :] * (0.5 * widths[:, None] + grip.finger_thickness)
        overlap = np.full((3, len(centers)), -np.inf)
        where = np.zeros((3, len(centers), 2))
        footprints = (
            (-finger_axis, tip_z), (finger_axis, tip_z), (palm_axis, tip_z + grip.finger_depth)
        )  # fmt: skip
        for index in parts:
            offsets, bottom = footprints[index]
            top, where[index] = self._footprint_highest(
                centers, axis, lateral, offsets, offset_lat, exact
            )
            overlap[index] = top - bottom
        return overlap, where

    def _footprint_highest(
        self,
        centers: np.ndarray,
        axis: np.ndarray,
        lateral: np.ndarray,
        offset_axis: np.ndarray,
        offset_lat: np.ndarray,
        exact: bool,
    ) -> tuple[np.ndarray, np.ndarray]:
        """As `_footprint_top` (on the map as cast where `exact`), with (R, 2) the (x, y) of
        the sample where the top lies."""
        coordinates = []
        for k in range(2):
            along_axis = offset_axis[:, :, None] * axis[:, None, None, k]
            across = offset_lat[None, None, :] * lateral[:, None, None, k]
            coordinates.append(
                (centers[:, None, None, k] + along_axis + across).reshape(len(centers), -1)
            )
        lookup = self._heightmap.cast_heights_at if exact else self._heightmap.heights_at
        heights = lookup(*coordinates)
        best = heights.argmax(axis=1)
        pick = np.arange(len(centers))
        where = np.column_stack([coordinates[0][pick, best], coordinates[1][pick, best]])
        return heights[pick, best], where

    def _open_wider(
        self,
        centers: np.ndarray,
        axis: np.ndarray,
        lateral: np.ndarray,
        widths: np.ndarray,
        part: np.ndarray,
    ) -> np.ndarray:
        """(R, 2) the palm's overlap (m) and the opening (m) at which R landing fingers (part 0
        or 1), pushed outwards along the face they landed on, get past the object: the coupled
        fingers open just far enough, within the stroke; nan rows where they cannot or the
        gripper then lands on the object elsewhere."""
        cfg, grip = self.config, self.gripper
        step = 2.0 * cfg.heightmap_resolution
        extra = step * np.arange(1, int(np.ceil(grip.max_width / step)) + 1)
        count, tries = len(centers), len(extra)
        wider = np.minimum(widths[:, None] + extra[None, :], grip.max_width).reshape(-1)
        repeat = (
            np.repeat(centers, tries, axis=0),
            np.repeat(axis, tries, axis=0),
            np.repeat(lateral, tries, axis=0),
        )
        overlap, _ = self._part_overlaps(*repeat, wider, exact=False)
        landing = overlap[np.repeat(part, tries), np.arange(count * tries)].reshape(count, tries)
        clear = landing <= 0
        pick = np.arange(count) * tries + clear.argmax(axis=1)
        result = np.column_stack([np.zeros(count), wider[pick]])
        final, _ = self._part_overlaps(
            centers, axis, lateral, result[:, 1], exact=cfg.exact_descent
        )
        result[:, 0] = final[2]
        result[~(clear.any(axis=1) & self._descent_ends(final))] = np.nan
        return result

    def _shove(
        self,
        centers: np.ndarray,
        axis: np.ndarray,
        lateral: np.ndarray,
        widths: np.ndarray,
        part: np.ndarray,
        away: np.ndarray,
    ) -> np.ndarray:
        """(R, 3) the closing centres after R landing parts (0, 1: a finger; 2: the palm) push
        the object along the horizontal unit directions `away` (R, 2) just far enough to descend
        past it (the grasp centre moved the other way, relative to the object), raised where
        the palm then stops; nan rows where the object does not get clear within the stroke or
        the gripper then lands on it elsewhere."""
        cfg = self.config
        step = 2.0 * cfg.heightmap_resolution
        shifts = step * np.arange(1, int(np.ceil(self.gripper.max_width / step)) + 1)
        count, tries = len(centers), len(shifts)
        moved = np.repeat(centers, tries, axis=0)
        moved[:, :2] -= (shifts[None, :, None] * away[:, None, :]).reshape(-1, 2)
        repeat = (np.repeat(axis, tries, axis=0), np.repeat(lateral, tries, axis=0))
        overlap, _ = self._part_overlaps(moved, *repeat, np.repeat(widths, tries), exact=False)
        allowed = np.where(part == 2, cfg.palm_stop_tolerance, 0.0)
        landing = overlap[np.repeat(part, tries), np.arange(count * tries)].reshape(count, tries)
        clear = landing <= allowed[:, None]
        pick = np.arange(count) * tries + clear.argmax(axis=1)
        result = moved[pick]
        final, _ = self._part_overlaps(result, axis, lateral, widths, exact=cfg.exact_descent)
        result[:, 2] += np.maximum(final[2], 0.0)
        result[~(clear.any(axis=1) & self._descent_ends(final))] = np.nan
        return result

    def find_contacts(
        self, centers: np.ndarray, axes: np.ndarray, widths: np.ndarray
    ) -> GraspContacts:
        """Where the two closing jaw pads first touch the object (see module docstring)."""
        cfg, grip = self.config, self.gripper
        count = len(centers)
        axis = axes / np.linalg.norm(axes, axis=1, keepdims=True)
        lateral = np.cross(WORLD_UP, _horizontal_unit(axes))
        opening = widths
        across = (
            np.linspace(-0.45, 0.45, cfg.pad_rays_across)
            if cfg.pad_rays_across > 1
            else (np.zeros(1))
        )
        heights = (
            np.linspace(0.0, grip.finger_depth, cfg.pad_rays_vertical)
            if cfg.pad_rays_vertical > 1
            else np.zeros(1)
        ) + 0.5 * cfg.contact_patch_tolerance  # just above the fingertip edge
        lat, up = np.meshgrid(across * grip.finger_width, heights, indexing="ij")
        lat, up = lat.reshape(-1), up.reshape(-1)
        rays_per_grasp = len(lat)
        tip = centers - cfg.fingertip_below_center * WORLD_UP
        # Line origins at jaw 1 (the -axis side); lines run along +axis for `opening` metres.
        origins = (
            tip[:, None, :]
            - 0.5 * opening[:, None, None] * axis[:, None, :]
            + lat[None, :, None] * lateral[:, None, :]
            + up[None, :, None] * WORLD_UP
        ).reshape(-1, 3)
        directions = np.repeat(axis, rays_per_grasp, axis=0)
        line_length = np.repeat(opening, rays_per_grasp)
        line, tri, t = self.mesh.line_hits(origins, directions, np.zeros(len(origins)), line_length)
        grasp_of_line = line // rays_per_grasp
        facing = np.einsum("ij,ij->i", self.mesh.face_normals[tri], directions[line])
        # Jaw 1 travels t, jaw 2 travels (length - t); each jaw's first touch is its minimum.
        travel = np.stack([t, line_length[line] - t])  # (2, H)
        touched = np.ones(count, dtype=bool)
        points = np.full((count, 2, 3), np.nan)
        normals = np.full((count, 2, 3), np.nan)
        spread = np.zeros((count, 2))
        for jaw in range(2):
            first = np.full(count, np.inf)
            np.minimum.at(first, grasp_of_line, travel[jaw])
            # The surface a jaw meets first must face it; otherwise the jaw starts inside.
            entering = facing < 0 if jaw == 0 else facing > 0
            at_first = travel[jaw] == first[grasp_of_line]
            inside = np.zeros(count, dtype=bool)
            inside[grasp_of_line[at_first & ~entering]] = True
            touched &= np.isfinite(first) & ~inside
            patch_limit = first[grasp_of_line] + cfg.contact_patch_tolerance
            in_patch = entering & (travel[jaw] <= patch_limit)
            hit_points = origins[line] + t[:, None] * directions[line]
            weight = np.bincount(grasp_of_line[in_patch], minlength=count).astype(np.float64)
            for k in range(3):
                coord = np.bincount(grasp_of_line[in_patch], hit_points[in_patch, k], count)
                normal = np.bincount(
                    grasp_of_line[in_patch], self.mesh.face_normals[tri[in_patch], k], count
                )
                with np.errstate(invalid="ignore", divide="ignore"):
                    points[:, jaw, k] = coord / weight
                    normals[:, jaw, k] = normal
            norm = np.linalg.norm(normals[:, jaw], axis=1, keepdims=True)
            with np.errstate(invalid="ignore", divide="ignore"):
                normals[:, jaw] /= norm
            # A first touch inside the flat pad (not on its bottom row or lateral ends) is where
            # the object's surface is tangent to the pad, or an object edge/vertex pressed on the
            # pad face: either way the contact normal is the pad's.
            ray_index = line % rays_per_grasp
            on_rim = (
                (ray_index % len(heights) == 0)
                | (ray_index // len(heights) == 0)
                | (ray_index // len(heights) == len(across) - 1)
            )
            if cfg.rim_contact_by_facing:
                # The pad's rim presses on the surface only where the object reaches past that
                # rim: the surface faces into the pad from it (beyond the bottom row it faces
                # up, beyond a lateral end towards the pad's middle). A surface facing out past
                # the rim recedes from the pad there: the pad's face touches it further in.
                face = self.mesh.face_normals[tri]
                bottom = ray_index % len(heights) == 0
                side = np.einsum("ij,ij->i", face, lateral[grasp_of_line])
                column = ray_index // len(heights)
                on_rim = (
                    (bottom & (face[:, 2] > _RIM_FACING))
                    | ((column == 0) & (side > _RIM_FACING))
                    | ((column == len(across) - 1) & (side < -_RIM_FACING))
                )
            first_on_rim = np.zeros(count, dtype=bool)
            first_on_rim[grasp_of_line[at_first & entering & on_rim]] = True
            pad_normal = -axis if jaw == 0 else axis
            normals[~first_on_rim, jaw] = pad_normal[~first_on_rim]
            # The flush part of the patch: how far it reaches from the contact point, across
            # the contact normal.
            flush = entering & (travel[jaw] <= first[grasp_of_line] + cfg.flush_tolerance)
            owner = grasp_of_line[flush]
            offset = hit_points[flush] - points[owner, jaw]
            normal_at = normals[owner, jaw]
            offset -= np.einsum("ij,ij->i", offset, normal_at)[:, None] * normal_at
            distance = np.linalg.norm(offset, axis=1)
            np.maximum.at(spread[:, jaw], owner, np.nan_to_num(distance))
        touched &= np.all(np.isfinite(normals), axis=(1, 2))
        points[~touched] = np.nan
        normals[~touched] = np.nan
        spread[~touched] = 0.0
        return GraspContacts(touched=touched, points=points, normals=normals, patch_spread=spread)

    # ------------------------------------------------------------------ wrenches
    def contact_wrenches(self, contacts: GraspContacts, friction: np.ndarray) -> np.ndarray:
        """(G, 2 * (E + 2), 6) soft-finger wrenches of unit normal force at both contacts.

        friction: (G,) friction coefficients. Forces act on the object (into it, along the
        inward normal); torques about the centre of mass are scaled by 1/characteristic length.
        """
        cfg = self.config
        edges = cfg.num_cone_edges
        normal_in = -contacts.normals  # (G, 2, 3) force directions into the object
        helper = np.where(np.abs(normal_in[..., 2:3]) < 0.9, WORLD_UP, np.array([1.0, 0.0, 0.0]))
        tangent_1 = np.cross(normal_in, helper)
        tangent_1 /= np.linalg.norm(tangent_1, axis=-1, keepdims=True)
        tangent_2 = np.cross(normal_in, tangent_1)
        phase = 2.0 * np.pi * np.arange(edges) / edges
        mu = friction[:, None, None, None]
        cone = normal_in[:, :, None, :] + mu * (
            np.cos(phase)[None, None, :, None] * tangent_1[:, :, None, :]
            + np.sin(phase)[None, None, :, None] * tangent_2[:, :, None, :]
        )  # (G, 2, E, 3)
        torsion = (2.0 / 3.0) * friction[:, None, None] * cfg.contact_patch_radius
        twist = np.stack([normal_in, normal_in], axis=2)  # forces of the torsion wrenches
        twist_torque = (
            np.stack([1.0, -1.0])[None, None, :, None]
            * torsion[..., None]
            * normal_in[:, :, None, :]
        )
        forces = np.concatenate([cone, twist], axis=2)  # (G, 2, E + 2, 3)
        arm = (contacts.points - self.center_of_mass)[:, :, None, :]
        torques = np.cross(arm, forces)
        torques[:, :, edges:, :] += twist_torque
        wrenches = np.concatenate([forces, torques * self.torque_scale], axis=-1)
        return wrenches.reshape(len(friction), -1, _WRENCH_DIM)

    @staticmethod
    def force_closure(contacts: GraspContacts, friction: np.ndarray) -> np.ndarray:
        """(G,) bool: two soft contacts are in force closure iff the line through them lies
        strictly inside both friction cones (Nguyen)."""
        line = contacts.points[:, 1] - contacts.points[:, 0]
        length = np.linalg.norm(line, axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            line = line / length[:, None]
            # Jaw 1 pushes along +line, jaw 2 along -line; force directions are -normals.
            cos_1 = np.einsum("ij,ij->i", -contacts.normals[:, 0], line)
            cos_2 = np.einsum("ij,ij->i", -contacts.normals[:, 1], -line)
        half_angle = np.arctan(friction) - _CONE_ANGLE_MARGIN
        cos_limit = np.cos(np.maximum(half_angle, 0.0))
        return (
            contacts.touched
            & (length > 0)
            & (half_angle > 0)
            & (cos_1 > cos_limit)
            & (cos_2 > cos_limit)
        )

    def weight_capacity(self, contacts: GraspContacts, friction: np.ndarray) -> np.ndarray:
        """(G,) the largest weight (N), pulling straight down at the centre of mass, that the two
        contacts hold when each finger presses with at most the gripper's grip force.

        friction: (G,) friction coefficients. The contacts are the label's soft fingers
        (linearized friction cone of `num_cone_edges` edges sharing the friction budget with the
        torsion, step 4 of the module docstring); 0 where a jaw missed or mu is 0. Exact for that
        model: a linear programme per instance, solved in closed form (`_WeightProblem`).
        """
        capacity = np.zeros(len(friction))
        rows = self._weight_rows(contacts, friction)
        for chunk in np.array_split(rows, max(1, -(-len(rows) // _CAPACITY_CHUNK))):
            if len(chunk):
                problem = self._weight_problem(contacts, friction, chunk)
                capacity[chunk] = self.gripper.grip_force / problem.least_finger_force()
        return capacity

    def holds_weight(self, contacts: GraspContacts, friction: np.ndarray) -> np.ndarray:
        """(G,) bool: the contacts hold `weight_safety_factor` times the object's weight (as
        `weight_capacity`); all True when the weight step is off or the mass unknown."""
        if not self.checks_weight:
            return np.ones(len(friction), dtype=bool)
        assert self.mass is not None
        weight = self.config.weight_safety_factor * self.mass * STANDARD_GRAVITY
        holds = np.zeros(len(friction), dtype=bool)
        rows = self._weight_rows(contacts, friction)
        for chunk in np.array_split(rows, max(1, -(-len(rows) // _CAPACITY_CHUNK))):
            if not len(chunk):
                continue
            problem = self._weight_problem(contacts, friction, chunk)
            # One feasible point first (decides nearly every light object); the exact optimum
            # only where that point does not show enough capacity.
            sure = self.gripper.grip_force >= weight * problem.finger_force_without_trade()
            holds[chunk[sure]] = True
            rest = np.flatnonzero(~sure)
            if len(rest):
                exact = problem.subset(rest).least_finger_force()
                holds[chunk[rest]] = self.gripper.grip_force >= weight * exact
        return holds

    @staticmethod
    def _weight_rows(contacts: GraspContacts, friction: np.ndarray) -> np.ndarray:
        """Indices of the instances whose jaws both touch, with friction, at distinct points."""
        line = contacts.points[:, 1] - contacts.points[:, 0]
        with np.errstate(invalid="ignore"):
            length2 = np.einsum("ij,ij->i", line, line)
            return np.flatnonzero(contacts.touched & (friction > 0) & (length2 > 0))

    def _weight_problem(
        self, contacts: GraspContacts, friction: np.ndarray, rows: np.ndarray
    ) -> _WeightProblem:
        """The unit-weight problem (`_WeightProblem`) of the instances `rows`.

        Unknowns: each contact's force f_i (3) and torsion t_i about its inward normal u_i.
        Balance with a weight of 1 N down at the centre of mass c is 6 equations in 8 unknowns;
        their solutions are x0 + s xs + v xv, where xs squeezes along the line l between the
        contacts (no net wrench) and xv trades torsion between the contacts against opposite
        forces. Each contact's linearized soft-finger cone is 2E half-planes in (s, v) (E cone
        edges, torsion of either sign): the polygon's gauge of f / mu plus |t| / (mu rho) at
        most f . u, with the torsion lever rho = (2/3) r + the contact's patch spread (a flat
        pad pressing over a patch resists twisting with friction all over it, as the MuJoCo
        lift's several contact points per pad do; the Ferrari-Canny wrenches keep (2/3) r).
        """
        cfg = self.config
        points = contacts.points[rows]
        inward = -contacts.normals[rows]
        friction = friction[rows]
        count = len(rows)
        # Torsion per newton of normal force, over mu: the soft disc's (2/3) r plus the spread
        # of the patch over which the flat pad presses (friction at the patch's points).
        torsion_lever = np.full((count, 2), (2.0 / 3.0) * cfg.contact_patch_radius)
        if contacts.patch_spread is not None:
            torsion_lever += contacts.patch_spread[rows]
        line = points[:, 1] - points[:, 0]
        length2 = np.einsum("ij,ij->i", line, line)
        unit = line / np.sqrt(length2)[:, None]
        along = np.einsum("rcj,rj->rc", inward, line)  # (R, 2) l . u_i
        lever = np.cross(points[:, 1] - self.center_of_mass, WORLD_UP)  # (p_2 - c) x up
        torque_about_line = np.einsum("rj,rj->r", line, lever)
        along2 = np.einsum("rc,rc->r", along, along)
        # Torsions that balance the weight's torque about l (least norm), and the trade.
        base_torsion = -torque_about_line[:, None] * along / along2[:, None]  # (R, 2)
        trade_torsion = np.stack([along[:, 1], -along[:, 0]], axis=1) / np.sqrt(along2)[:, None]
        # The forces then solve l x f_1 = b (b . l = 0): f_1 = b x l / |l|^2, f_2 = up - f_1.
        base_b = lever + np.einsum("rc,rcj->rj", base_torsion, inward)
        trade_b = np.einsum("rc,rcj->rj", trade_torsion, inward)
        base_f1 = np.cross(base_b, line) / length2[:, None]
        trade_f1 = np.cross(trade_b, line) / length2[:, None]
        x0 = np.empty((count, 2, 4))  # per contact (f_x, f_y, f_z, torsion)
        x0[:, 0, :3], x0[:, 1, :3], x0[:, :, 3] = base_f1, WORLD_UP - base_f1, base_torsion
        xs = np.zeros((count, 2, 4))
        xs[:, 0, :3], xs[:, 1, :3] = unit, -unit
        xv = np.empty((count, 2, 4))
        xv[:, 0, :3], xv[:, 1, :3], xv[:, :, 3] = trade_f1, -trade_f1, trade_torsion
        # Cone half-planes g . (f, t) <= 0: the facets of each contact's linearized cone.
        edges = cfg.weight_cone_edges
        helper = np.where(np.abs(inward[..., 2:3]) < 0.9, WORLD_UP, np.array([1.0, 0.0, 0.0]))
        tangent_1 = np.cross(inward, helper)
        tangent_1 /= np.linalg.norm(tangent_1, axis=-1, keepdims=True)
        tangent_2 = np.cross(inward, tangent_1)
        phase = 2.0 * np.pi * (np.arange(edges) + 0.5) / edges  # facet normals of the polygon
        facet = (
            np.cos(phase)[None, None, :, None] * tangent_1[:, :, None, :]
            + np.sin(phase)[None, None, :, None] * tangent_2[:, :, None, :]
        )  # (R, 2, E, 3)
        reach = friction[:, None, None, None] * np.cos(np.pi / edges)  # mu cos(pi / E)
        friction_rows = facet - reach * inward[:, :, None, :]  # (R, 2, E, 3)
        zeros = np.zeros((count, 2, edges, 1))
        torsion = (friction[:, None] * torsion_lever)[:, :, None, None]  # (2/3) mu r + mu spread
        # Friction shared with torsion: gauge(f_t) / mu + |t| / torsion <= f . u, times
        # mu cos(pi / E) torsion (a contact without torsion keeps t = 0 by these rows alone).
        if cfg.elliptic_limit_surface:
            # The friction of a pressed patch limits force and torsion together as an ellipse,
            # (|f_t| / mu)^2 + (t / torsion)^2 <= (f . u)^2: its inscribed octagon, facets at
            # +-22.5 and +-67.5 degrees from the force axis.
            halves = []
            for angle in (np.pi / 8, 3 * np.pi / 8):
                scale = np.cos(np.pi / 8)
                for sign in (1.0, -1.0):
                    rows = torsion * (np.cos(angle) * facet - scale * reach * inward[:, :, None, :])
                    twist = sign * np.sin(angle) * reach + zeros
                    halves.append(np.concatenate([rows, twist], axis=-1))
        else:
            halves = [
                np.concatenate([torsion * friction_rows, sign * reach + zeros], axis=-1)
                for sign in (1.0, -1.0)
            ]
        if not np.all(torsion_lever > 0):  # friction alone, for the contacts without torsion
            halves.append(np.concatenate([friction_rows, zeros], axis=-1))
        cone = np.concatenate(halves, axis=2)  # (R, 2, J, 4)
        cone /= np.linalg.norm(cone, axis=-1, keepdims=True)
        offset = np.einsum("rcjk,rck->rcj", cone, x0).reshape(count, -1)
        slope = np.stack(
            [np.einsum("rcjk,rck->rcj", cone, x).reshape(count, -1) for x in (xs, xv)], axis=-1
        )
        normal = np.stack(
            [np.einsum("rcj,rcj->rc", x[..., :3], inward) for x in (x0, xs, xv)], axis=-1
        )  # (R, 2, 3): each finger's normal force = normal[..., 0] + s normal[..., 1] + v ...
        return _WeightProblem(offset, slope, normal)

    @staticmethod
    def ferrari_canny(wrenches: np.ndarray) -> float:
        """L1 Ferrari-Canny epsilon of one (W, 6) wrench set: distance from the origin to the
        boundary of its convex hull, 0 if the origin is not strictly inside."""
        # QJ (joggled input) is ~2x faster than the default here and never fails on the
        # coplanar wrenches of symmetric grasps; epsilon differs by < 1e-9.
        try:
            equations = _hull_equations(wrenches, b"QJ")
        except QhullError:  # flat (lower-dimensional) wrench set: cannot resist all wrenches
            return 0.0
        # Facets: normal . x + offset <= 0 inside, unit normals, so -offset is the distance.
        return float(max(0.0, -equations[:, -1].max()))

    def epsilon(
        self, centers: np.ndarray, axes: np.ndarray, widths: np.ndarray, friction: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """(G,) epsilon quality and (G,) force-closure flags of G grasp instances.

        Instances that collide, do not fit the stroke or whose jaws miss score 0.
        """
        descent = self.descend(centers, axes, widths, friction)
        quality, closure, _ = self._instances(
            descent.centers, axes, descent.widths, friction, descent.reached
        )
        return quality, closure

    def _instances(
        self,
        centers: np.ndarray,
        axes: np.ndarray,
        widths: np.ndarray,
        friction: np.ndarray,
        feasible: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(G,) epsilon, force closure and holds-the-weight flags (`holds_weight`, only for the
        instances in force closure) of G instances, given their (G,)
        `reachable_and_collision_free` flags."""
        quality = np.zeros(len(centers))
        closure = np.zeros(len(centers), dtype=bool)
        holds = np.zeros(len(centers), dtype=bool)
        if not np.any(feasible):
            return quality, closure, holds
        index = np.flatnonzero(feasible)
        contacts = self.find_contacts(centers[index], axes[index], widths[index])
        closed = self.force_closure(contacts, friction[index])
        if self.config.squeeze_alignment_max_angle > 0:
            contacts, closed = self._squeeze_aligned(
                contacts, closed, centers[index], axes[index], widths[index], friction[index]
            )
            if self.config.squeeze_turn_step > 0:
                contacts, closed = self._squeeze_turned(
                    contacts, closed, centers[index], axes[index], widths[index], friction[index]
                )
        closure[index] = closed
        if np.any(closed):
            subset = contacts.subset(closed)
            wrenches = self.contact_wrenches(subset, friction[index][closed])
            quality[index[closed]] = [self.ferrari_canny(w) for w in wrenches]
            holds[index[closed]] = self.holds_weight(subset, friction[index][closed])
        return quality, closure, holds

    def _squeeze_aligned(
        self,
        contacts: GraspContacts,
        closed: np.ndarray,
        centers: np.ndarray,
        axes: np.ndarray,
        widths: np.ndarray,
        friction: np.ndarray,
    ) -> tuple[GraspContacts, np.ndarray]:
        """Contacts and force closure after the squeeze turns the object (docstring step 3b).

        A grasp not in force closure whose two contacts lie on parallel faces (horizontal parts
        of the normals antiparallel within `parallel_face_tolerance`) with the closing axis
        within `squeeze_alignment_max_angle` of their normal is evaluated again with the axis
        along that normal, about the same centre: the object turned by that angle about the
        vertical through the grasp centre, as seen from the object.
        """
        cfg = self.config
        candidates = ~closed & contacts.touched
        if not np.any(candidates):
            return contacts, closed
        rows = np.flatnonzero(candidates)
        normal_1 = contacts.normals[rows, 0].copy()  # faces jaw 1: points along -axis
        normal_2 = contacts.normals[rows, 1].copy()
        normal_1[:, 2] = normal_2[:, 2] = 0.0
        length_1 = np.linalg.norm(normal_1, axis=1)
        length_2 = np.linalg.norm(normal_2, axis=1)
        flat = (length_1 > 1e-6) & (length_2 > 1e-6)
        rows, normal_1, normal_2 = rows[flat], normal_1[flat], normal_2[flat]
        normal_1 /= length_1[flat, None]
        normal_2 /= length_2[flat, None]
        parallel = np.einsum("ij,ij->i", normal_1, normal_2) <= -np.cos(cfg.parallel_face_tolerance)
        aligned = normal_2 - normal_1  # the faces' common normal, from jaw 1 towards jaw 2
        aligned /= np.maximum(np.linalg.norm(aligned, axis=1, keepdims=True), 1e-12)
        axis = _horizontal_unit(axes[rows])
        turn = np.arccos(np.clip(np.einsum("ij,ij->i", axis, aligned), -1.0, 1.0))
        keep = parallel & (turn <= cfg.squeeze_alignment_max_angle)
        rows, aligned = rows[keep], aligned[keep]
        if not len(rows):
            return contacts, closed
        new_axes = aligned + axes[rows, 2:3] * WORLD_UP  # keep the commanded axis' tilt
        turned = self.find_contacts(centers[rows], new_axes, widths[rows])
        turned_closed = self.force_closure(turned, friction[rows])
        points, normals = contacts.points.copy(), contacts.normals.copy()
        spread = (
            np.zeros((len(closed), 2))
            if contacts.patch_spread is None
            else contacts.patch_spread.copy()
        )
        touched, closed = contacts.touched.copy(), closed.copy()
        better = rows[turned_closed]
        points[better] = turned.points[turned_closed]
        normals[better] = turned.normals[turned_closed]
        if turned.patch_spread is not None:
            spread[better] = turned.patch_spread[turned_closed]
        touched[better] = True
        closed[better] = True
        return GraspContacts(touched, points, normals, spread), closed

    def _squeeze_turned(
        self,
        contacts: GraspContacts,
        closed: np.ndarray,
        centers: np.ndarray,
        axes: np.ndarray,
        widths: np.ndarray,
        friction: np.ndarray,
    ) -> tuple[GraspContacts, np.ndarray]:
        """Contacts and force closure after the squeeze turns the object about the vertical
        (step 3b of the module docstring): the two contacts' normal forces make a couple about
        the vertical that turns an object not in force closure; it turns that way, in steps of
        `squeeze_turn_step`, until the pads hold it in force closure or it has turned
        `squeeze_alignment_max_angle` (then it is not held). Seen from the object, the grasp
        axis turns the other way about the grasp centre."""
        cfg = self.config
        rows = np.flatnonzero(~closed & contacts.touched)
        if not len(rows):
            return contacts, closed
        points, inward = contacts.points[rows], -contacts.normals[rows]
        middle = points.mean(axis=1, keepdims=True)
        couple = np.cross(points - middle, inward)[..., 2].sum(axis=1)  # z torque, N m per N
        turning = np.abs(couple) > 1e-9
        rows, direction = rows[turning], -np.sign(couple[turning])
        points, normals = contacts.points.copy(), contacts.normals.copy()
        spread = (
            np.zeros((len(closed), 2))
            if contacts.patch_spread is None
            else contacts.patch_spread.copy()
        )
        closed = closed.copy()
        steps = int(np.floor(cfg.squeeze_alignment_max_angle / cfg.squeeze_turn_step + 1e-9))
        for step in range(1, steps + 1):
            if not len(rows):
                break
            turned_axes = _rotate_about_z(axes[rows], direction * step * cfg.squeeze_turn_step)
            turned = self.find_contacts(centers[rows], turned_axes, widths[rows])
            held = self.force_closure(turned, friction[rows])
            better = rows[held]
            points[better] = turned.points[held]
            normals[better] = turned.normals[held]
            if turned.patch_spread is not None:
                spread[better] = turned.patch_spread[held]
            closed[better] = True
            # An object that lost a jaw while turning has left the grasp.
            going = ~held & turned.touched
            rows, direction = rows[going], direction[going]
        return GraspContacts(contacts.touched | closed, points, normals, spread), closed

    # ------------------------------------------------------------------ robust label
    def perturb(
        self, centers: np.ndarray, axes: np.ndarray, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """K perturbed copies of N grasps: centres (N, K, 3), axes (N, K, 3), friction (N, K).

        Object pose noise (a rotation about the vertical through the centre of mass and a
        table-plane translation) is applied as its inverse to the grasp, so the mesh stays put.
        """
        cfg = self.config
        n, k = len(centers), cfg.num_perturbations
        shape = (n, k)
        grasp_shift = rng.normal(0.0, cfg.grasp_translation_sigma, (*shape, 3))
        grasp_turn = rng.normal(0.0, cfg.grasp_rotation_sigma, shape)
        object_shift = rng.normal(0.0, cfg.object_translation_sigma, (*shape, 2))
        object_turn = rng.normal(0.0, cfg.object_rotation_sigma, shape)
        friction = np.maximum(0.0, cfg.friction_coef + rng.normal(0.0, cfg.friction_sigma, shape))
        c = np.repeat(centers, k, axis=0) + grasp_shift.reshape(-1, 3)
        a = _rotate_about_z(np.repeat(axes, k, axis=0), grasp_turn.reshape(-1))
        # Grasp in the frame of the displaced object: inverse of the object displacement.
        com = self.center_of_mass
        c[:, :2] -= object_shift.reshape(-1, 2)
        relative = c - com
        c = com + _rotate_about_z(relative, -object_turn.reshape(-1))
        a = _rotate_about_z(a, -object_turn.reshape(-1))
        return c.reshape(n, k, 3), a.reshape(n, k, 3), friction

    def evaluate(
        self,
        centers: np.ndarray,
        axes: np.ndarray,
        widths: np.ndarray,
        rng: np.random.Generator | int | None = None,
    ) -> RobustnessResult:
        """Robust Ferrari-Canny labels of N top-down grasps (world frame).

        centers: (N, 3) grasp centres (midway between the jaws at gripper depth), metres;
        axes: (N, 3) jaw axes (horizontal; a vertical component is used for the closing rays
        only); widths: (N,) jaw openings before closing, metres (wider than the stroke: not
        robust).
        rng: generator or seed of the perturbations (deterministic for a seed).
        """
        centers = np.asarray(centers, dtype=np.float64).reshape(-1, 3)
        axes = np.asarray(axes, dtype=np.float64).reshape(-1, 3)
        widths = np.asarray(widths, dtype=np.float64).reshape(-1)
        if not (len(centers) == len(axes) == len(widths)):
            raise ValueError(
                f"centers ({len(centers)}), axes ({len(axes)}) and widths ({len(widths)}) "
                "must describe the same number of grasps"
            )
        if not (np.all(np.isfinite(centers)) and np.all(np.isfinite(axes))):
            raise ValueError("grasp centers and axes must be finite")
        if not np.all(np.isfinite(widths)) or np.any(widths < 0):
            raise ValueError(f"grasp widths must be finite and >= 0, got {widths}")
        axes = axes / np.linalg.norm(axes, axis=1, keepdims=True)
        _horizontal_unit(axes)  # validates: not vertical
        rng = np.random.default_rng(rng)
        n, k = len(centers), self.config.num_perturbations
        nominal_friction = np.full(n, self.config.friction_coef)
        descent = self.descend(centers, axes, widths, nominal_friction)
        nominal_ok = descent.reached
        nominal, nominal_closure, nominal_holds = self._instances(
            descent.centers, axes, descent.widths, nominal_friction, nominal_ok
        )
        # The unperturbed grasp holds: reached, in force closure and holding the weight.
        holding = nominal_ok & nominal_closure & nominal_holds
        judged = holding if self.config.nominal_must_hold else np.ones(n, dtype=bool)
        if k == 0:
            quality, closure, holds = nominal, nominal_closure, nominal_holds
            k = 1
        else:
            p_centers, p_axes, p_friction = self.perturb(centers, axes, rng)
            # The copies of grasps that are judged (all, or those whose unperturbed grasp holds).
            rows = np.flatnonzero(np.repeat(judged, k))
            p_centers, p_axes = p_centers.reshape(-1, 3)[rows], p_axes.reshape(-1, 3)[rows]
            p_widths, p_friction = np.repeat(widths, k)[rows], p_friction.reshape(-1)[rows]
            quality, closure, holds = np.zeros(n * k), np.zeros(n * k, bool), np.zeros(n * k, bool)
            copies = self.descend(p_centers, p_axes, p_widths, p_friction)
            quality[rows], closure[rows], holds[rows] = self._instances(
                copies.centers, p_axes, copies.widths, p_friction, copies.reached
            )
        closure_quality = quality.reshape(n, k).mean(axis=1)
        robust_quality = np.where(holds, quality, 0.0).reshape(n, k).mean(axis=1)
        threshold = self.config.robust_threshold
        robust = robust_quality >= threshold
        reasons = np.full(n, "", dtype=object)
        reasons[~robust] = REASON_NO_FORCE_CLOSURE
        reasons[~robust & (closure_quality >= threshold)] = REASON_WEIGHT
        unjudged = ~judged  # why the unperturbed grasp fails
        reasons[unjudged & nominal_ok & nominal_closure] = REASON_WEIGHT
        reasons[unjudged & nominal_ok & ~nominal_closure] = REASON_NO_FORCE_CLOSURE
        reasons[~robust & ~nominal_ok] = REASON_COLLISION
        return RobustnessResult(
            robust_quality=robust_quality,
            robust=robust,
            nominal_quality=nominal,
            nominal_collision_free=nominal_ok,
            force_closure_rate=closure.reshape(n, k).mean(axis=1),
            closure_quality=closure_quality,
            weight_hold_rate=holds.reshape(n, k).mean(axis=1),
            reasons=reasons.astype(str),
        )


def label_grasps(
    vertices: np.ndarray,
    faces: np.ndarray,
    T_world_object: np.ndarray,  # noqa: N803
    centers: np.ndarray,
    axes: np.ndarray,
    widths: np.ndarray,
    gripper: GripperConfig = ROBOTIQ_2F85,
    config: RobustnessConfig | None = None,
    rng: np.random.Generator | int | None = None,
) -> RobustnessResult:
    """Robust Ferrari-Canny labels of N world-frame top-down grasps on one object.

    vertices (V, 3) / faces (F, 3): the object's watertight mesh in its own frame;
    T_world_object: 4x4 pose on the table; centers (N, 3), axes (N, 3), widths (N,) metres.
    """
    evaluator = GraspQualityEvaluator.from_object(vertices, faces, T_world_object, gripper, config)
    return evaluator.evaluate(centers, axes, widths, rng)
