"""Simulated lift of a top-down grasp in MuJoCo, and its agreement with the robustness label.

The scene: a table (plane at z = 0), the object as a free body made of convex parts (MuJoCo
collides each mesh geom as its convex hull), and a floating parallel-jaw gripper: a palm
on a vertical slide joint driven by a stiff position servo (like a position-controlled arm;
a kinematic mocap palm would have no velocity, and friction in MuJoCo acts on velocities),
yawed to the grasp axis, carrying two fingers on slide joints
along the jaw axis, coupled symmetric (q_right = -q_left, as the Robotiq 2F-85 linkage) and
driven by force-limited position actuators. Finger geometry comes from `GripperConfig`; the
fingertips reach `fingertip_below_center` below the grasp centre, as in the robustness model.

A lift: the palm starts above the object with the jaws open to the grasp width, descends to the
grasp depth, closes with the gripper's operating grip force (`GripperConfig.grip_force`, N per
finger: the force the robustness label assumes; 60 N for the 2F-85), lifts `lift_height` and
holds for `hold_time`.
If the fingers or palm land on the object and the palm cannot reach the grasp depth, the
grasp failed (a collision). Success: the object's centre of mass rose by at least
lift_height - `lift_tolerance` and both fingers still touch the object.
"""

from __future__ import annotations

import copy
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, replace

import mujoco
import numpy as np

from gqstn_ros.grasping import primitives
from gqstn_ros.grasping.antipodal import MeshGraspCandidates, sample_antipodal_on_mesh
from gqstn_ros.grasping.gripper_contact import REACH_TOLERANCE_M
from gqstn_ros.grasping.mesh_geometry import TriangleMesh
from gqstn_ros.grasping.robustness import GraspQualityEvaluator, RobustnessConfig
from gqstn_ros.gripper import ROBOTIQ_2F85, GripperConfig
from gqstn_ros.sim import objects
from gqstn_ros.sim.objects import ObjectModel
from gqstn_ros.validation import require_non_negative


@dataclass(frozen=True)
class LiftConfig:
    """Simulation parameters (SI units)."""

    timestep: float = 0.002  # s
    noslip_iterations: int = 10  # MuJoCo's no-slip solver passes per step: soft contacts let a
    # squeezed object creep tangentially although its contact forces lie inside the friction
    # cone (faster the lighter the object against the grip force: a 10-40 g object squeezed at
    # 60 N slips out of a grasp that Coulomb friction holds); the no-slip pass removes that
    # creep. 0: MuJoCo's soft contacts alone
    friction_coef: float = 0.5  # sliding friction of pads, object and table (as the label's mu)
    contact_patch_radius: float = 0.005  # m: torsional friction (2/3) mu r, as the label model
    object_density: float = 400.0  # kg/m^3, a light household object (plastic, cardboard, wood)
    # (for objects given without their own mass properties, see build_lift_model)
    # The grip force is the gripper's operating force, GripperConfig.grip_force (N per finger),
    # the same value the robustness label assumes.
    finger_stiffness: float = 10000.0  # N/m, finger position servo gain (saturates at the grip
    # force)
    finger_damping: float = 60.0  # N s/m, about critical for the finger mass
    finger_mass: float = 0.1  # kg
    fingertip_below_center: float = 0.005  # m, as RobustnessConfig.fingertip_below_center
    approach_clearance: float = 0.02  # m, fingertips start this far above the object's top
    settle_time: float = 0.2  # s, object settles on the table before the approach
    descend_time: float = 0.4  # s
    close_time: float = 0.4  # s
    lift_time: float = 0.8  # s
    hold_time: float = 1.0  # s
    lift_height: float = 0.10  # m
    lift_tolerance: float = 0.01  # m, slip allowed during the lift and hold
    # m: a palm held this far above the grasp depth at the end of the descent was blocked by the
    # object (a collision): the commanded grasp failed
    reach_tolerance: float = REACH_TOLERANCE_M
    palm_height: float = 0.02  # m, palm box above the fingers
    palm_mass: float = 0.5  # kg
    palm_stiffness: float = 20000.0  # N/m, palm height servo gain
    palm_damping: float = 250.0  # N s/m, about critical for palm and fingers
    palm_force_limit: float = 500.0  # N, what the arm pushes or pulls at most

    def __post_init__(self) -> None:
        for name in (
            "timestep",
            "finger_stiffness",
            "finger_mass",
            "object_density",
            "lift_height",
            "palm_height",
        ):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        if not (isinstance(self.noslip_iterations, int) and self.noslip_iterations >= 0):
            raise ValueError(
                f"noslip_iterations must be an integer >= 0, got {self.noslip_iterations!r}"
            )
        require_non_negative(
            self,
            "friction_coef",
            "contact_patch_radius",
            "finger_damping",
            "fingertip_below_center",
            "approach_clearance",
            "settle_time",
            "descend_time",
            "close_time",
            "lift_time",
            "hold_time",
            "lift_tolerance",
        )


# How a lift ended (`LiftResult.outcome`).
LIFT_HELD = "held"  # the object rose with the gripper and both fingers still touch it
LIFT_BLOCKED = "blocked"  # the opening does not fit the stroke, or the palm was held above the
# grasp depth by the object: nothing was closed or lifted
LIFT_SLIPPED = "slipped"  # the object's centre of mass stayed below the lift height less its
# tolerance (it slid or twisted out of the pads, or pivoted and sank in them)
LIFT_LOST_CONTACT = "lost_contact"  # the object rose, but a finger no longer touches it
LIFT_OUTCOMES = (LIFT_HELD, LIFT_BLOCKED, LIFT_SLIPPED, LIFT_LOST_CONTACT)


@dataclass(frozen=True)
class LiftResult:
    """Outcome of one simulated lift: success, object rise (m), whether each finger touches
    the object at the end, and how it ended (one of `LIFT_OUTCOMES`)."""

    success: bool
    object_rise: float
    fingers_in_contact: tuple[bool, bool]
    outcome: str = LIFT_HELD
    # Whether the object still touches the table after the hold (None: not simulated).
    on_table: bool | None = None

    def off_the_table(self) -> bool:
        """Whether the object hangs in the gripper after the hold, level or not: both fingers
        touch it and it no longer touches the table. A held object that turned between the
        fingers (a bowl pinched at its rim) counts here, not in `success`, which asks its
        centre of mass to rise with the gripper; one leaning on the table counts in neither."""
        return all(self.fingers_in_contact) and self.on_table is False


def _format(values: np.ndarray) -> str:
    return " ".join(f"{v:.9g}" for v in np.asarray(values).reshape(-1))


def _inertial_element(object_inertial: tuple[float, np.ndarray, np.ndarray]) -> str:
    """MJCF <inertial> of (mass kg, centre of mass (3,) m in the object frame, inertia (3, 3)
    kg m^2 about it); ValueError naming what is wrong."""
    mass, centre, inertia = object_inertial
    centre = np.asarray(centre, dtype=np.float64).reshape(-1)
    inertia = np.asarray(inertia, dtype=np.float64)
    if not (np.isfinite(mass) and mass > 0):
        raise ValueError(f"object_inertial: mass must be a positive number of kg, got {mass}")
    if centre.shape != (3,) or not np.all(np.isfinite(centre)):
        raise ValueError(f"object_inertial: centre of mass must be 3 finite numbers, got {centre}")
    if inertia.shape != (3, 3) or not np.allclose(
        inertia, inertia.T, rtol=0.0, atol=1e-9 * np.abs(inertia).max()
    ):
        raise ValueError(f"object_inertial: inertia must be a symmetric 3x3, got {inertia}")
    inertia = (inertia + inertia.T) / 2
    if np.linalg.eigvalsh(inertia).min() <= 0:
        raise ValueError("object_inertial: inertia must be positive definite")
    full = inertia[[0, 1, 2, 0, 0, 1], [0, 1, 2, 1, 2, 2]]  # xx yy zz xy xz yz

    def exact(values: np.ndarray) -> str:  # full double precision
        return " ".join(f"{v:.17g}" for v in np.asarray(values).reshape(-1))

    return (
        f'\n      <inertial pos="{exact(centre)}" mass="{float(mass):.17g}" '
        f'fullinertia="{exact(full)}"/>'
    )


def _yaw_quaternion(yaw: float) -> np.ndarray:
    return np.array([np.cos(yaw / 2), 0.0, 0.0, np.sin(yaw / 2)])


def build_lift_model(
    convex_parts: list[np.ndarray],
    T_world_object: np.ndarray,  # noqa: N803 (transform naming convention)
    center: np.ndarray,
    axis: np.ndarray,
    gripper: GripperConfig = ROBOTIQ_2F85,
    config: LiftConfig | None = None,
    object_inertial: tuple[float, np.ndarray, np.ndarray] | None = None,
) -> mujoco.MjModel:
    """The MuJoCo model of the lift scene (object parts in the object frame, metres); the
    palm sits over the grasp centre (3,), its jaw (y) axis along the horizontal `axis` (3,).

    object_inertial: the object's (mass kg, centre of mass (3,) m in the object frame, inertia
    (3, 3) kg m^2 about it), e.g. `ObjectModel.inertial`: the object body takes them as they
    are. None: the parts get the uniform `config.object_density`."""
    yaw = float(np.arctan2(-axis[0], axis[1]))  # palm y axis along the jaw axis
    config = config or LiftConfig()
    if not convex_parts:
        raise ValueError("object needs at least one convex part")
    parts = []
    for index, given in enumerate(convex_parts):
        part = np.asarray(given, dtype=np.float64)
        if part.ndim != 2 or part.shape[1] != 3 or len(part) < 4:
            raise ValueError(f"convex part {index} must be (K >= 4, 3) vertices, got {part.shape}")
        if not np.all(np.isfinite(part)):
            raise ValueError(f"convex part {index} has non-finite vertices")
        parts.append(part)
    transform = np.asarray(T_world_object, dtype=np.float64)
    if transform.shape != (4, 4):
        raise ValueError(f"T_world_object must be 4x4, got {transform.shape}")
    quat = np.zeros(4)
    mujoco.mju_mat2Quat(quat, np.ascontiguousarray(transform[:3, :3]).reshape(-1))
    torsion = (2.0 / 3.0) * config.friction_coef * config.contact_patch_radius
    friction = f"{config.friction_coef} {torsion:.6g} 0.0001"
    half_stroke = gripper.max_width / 2
    finger_half = np.array(
        [gripper.finger_width / 2, gripper.finger_thickness / 2, gripper.finger_depth / 2]
    )
    finger_z = -config.fingertip_below_center + gripper.finger_depth / 2
    palm_half = np.array(
        [gripper.finger_width / 2, half_stroke + gripper.finger_thickness, config.palm_height / 2]
    )
    palm_z = -config.fingertip_below_center + gripper.finger_depth + config.palm_height / 2
    meshes = "\n".join(
        f'    <mesh name="part{i}" vertex="{_format(p)}"/>' for i, p in enumerate(parts)
    )
    object_geoms = "\n".join(
        f'      <geom name="object{i}" type="mesh" mesh="part{i}" '
        f'density="{config.object_density}"/>'
        for i in range(len(parts))
    )
    inertial = "" if object_inertial is None else _inertial_element(object_inertial)
    fingers = ""
    for side, sign in (("left", -1.0), ("right", 1.0)):
        limits = f"{-half_stroke} 0" if sign < 0 else f"0 {half_stroke}"
        fingers += f"""
      <body name="finger_{side}" gravcomp="1">
        <joint name="finger_{side}" type="slide" axis="0 1 0" range="{limits}"
               damping="{config.finger_damping}"/>
        <geom name="finger_{side}" type="box" size="{_format(finger_half)}"
              pos="0 {sign * gripper.finger_thickness / 2} {finger_z}" mass="{config.finger_mass}"/>
      </body>"""
    xml = f"""
<mujoco model="lift_check">
  <option timestep="{config.timestep}" integrator="implicitfast" cone="elliptic" impratio="10"
          noslip_iterations="{config.noslip_iterations}"/>
  <asset>
{meshes}
  </asset>
  <default>
    <geom condim="4" friction="{friction}" solref="0.004 1" solimp="0.95 0.99 0.001"/>
  </default>
  <worldbody>
    <geom name="table" type="plane" size="2 2 0.1"/>
    <body name="object" pos="{_format(transform[:3, 3])}" quat="{_format(quat)}">
      <freejoint/>{inertial}
{object_geoms}
    </body>
    <body name="palm" pos="{center[0]:.9g} {center[1]:.9g} 0" quat="{_format(_yaw_quaternion(yaw))}"
          gravcomp="1">
      <joint name="palm_z" type="slide" axis="0 0 1" damping="{config.palm_damping}"/>
      <geom name="palm" type="box" size="{_format(palm_half)}" pos="0 0 {palm_z}"
            mass="{config.palm_mass}"/>{fingers}
    </body>
  </worldbody>
  <equality>
    <joint joint1="finger_right" joint2="finger_left" polycoef="0 -1 0 0 0"/>
  </equality>
  <actuator>
    <position name="palm_z" joint="palm_z" kp="{config.palm_stiffness}" forcelimited="true"
              forcerange="{-config.palm_force_limit} {config.palm_force_limit}"/>
    <position name="finger_left" joint="finger_left" kp="{config.finger_stiffness}"
              forcelimited="true" forcerange="{-gripper.grip_force} {gripper.grip_force}"/>
    <position name="finger_right" joint="finger_right" kp="{config.finger_stiffness}"
              forcelimited="true" forcerange="{-gripper.grip_force} {gripper.grip_force}"/>
  </actuator>
</mujoco>"""
    return mujoco.MjModel.from_xml_string(xml)


def simulate_lift(
    convex_parts: list[np.ndarray],
    T_world_object: np.ndarray,  # noqa: N803
    center: np.ndarray,
    axis: np.ndarray,
    width: float,
    gripper: GripperConfig = ROBOTIQ_2F85,
    config: LiftConfig | None = None,
    object_inertial: tuple[float, np.ndarray, np.ndarray] | None = None,
) -> LiftResult:
    """Simulate a top-down grasp (world frame: centre (3,) m, horizontal jaw axis (3,), jaw
    opening `width` m) on an object resting at T_world_object; see the module docstring.
    object_inertial: the object's own mass properties, as in `build_lift_model`."""
    config = config or LiftConfig()
    center = np.asarray(center, dtype=np.float64).reshape(-1)
    axis = np.asarray(axis, dtype=np.float64).reshape(-1)
    if center.shape != (3,) or not np.all(np.isfinite(center)):
        raise ValueError(f"grasp center must be 3 finite numbers, got {center}")
    if axis.shape != (3,) or np.linalg.norm(axis[:2]) < 1e-6:
        raise ValueError(f"grasp axis must be a 3-vector with a horizontal part, got {axis}")
    if not np.isfinite(width) or width < 0:
        raise ValueError(f"grasp width must be finite and >= 0, got {width}")
    if not gripper.fits_stroke(width):
        return LiftResult(False, 0.0, (False, False), LIFT_BLOCKED)  # cannot open that wide
    model = build_lift_model(
        convex_parts, T_world_object, center, axis, gripper, config, object_inertial
    )
    data = mujoco.MjData(model)
    object_body = model.body("object").id
    finger_geoms = (model.geom("finger_left").id, model.geom("finger_right").id)
    object_geoms = {model.geom(f"object{i}").id for i in range(len(convex_parts))}
    left, right = model.joint("finger_left").qposadr[0], model.joint("finger_right").qposadr[0]
    act_left, act_right = model.actuator("finger_left").id, model.actuator("finger_right").id
    palm, act_palm = model.joint("palm_z").qposadr[0], model.actuator("palm_z").id

    def set_opening(opening: float) -> None:
        data.ctrl[act_left] = -opening / 2
        data.ctrl[act_right] = opening / 2

    data.qpos[left], data.qpos[right] = -width / 2, width / 2
    set_opening(width)
    mujoco.mj_forward(model, data)
    object_top = max(
        float(np.max(data.geom_xpos[g][2] + model.geom_rbound[g])) for g in object_geoms
    )
    start_z = max(center[2], object_top + config.fingertip_below_center + config.approach_clearance)
    data.qpos[palm] = data.ctrl[act_palm] = start_z

    def run(
        duration: float,
        palm_z: tuple[float, float] | None = None,
        opening: tuple[float, float] | None = None,
    ) -> None:
        steps = max(1, round(duration / config.timestep))
        for step in range(steps):
            fraction = (step + 1) / steps
            if palm_z is not None:
                data.ctrl[act_palm] = palm_z[0] + fraction * (palm_z[1] - palm_z[0])
            if opening is not None:
                set_opening(opening[0] + fraction * (opening[1] - opening[0]))
            mujoco.mj_step(model, data)

    run(config.settle_time)
    start_height = float(data.xipos[object_body][2])
    run(config.descend_time, palm_z=(start_z, center[2]))
    run(config.settle_time)
    if data.qpos[palm] > center[2] + config.reach_tolerance:
        return LiftResult(False, 0.0, (False, False), LIFT_BLOCKED)
    run(config.close_time, opening=(width, 0.0))
    run(config.lift_time, palm_z=(center[2], center[2] + config.lift_height))
    run(config.hold_time)
    rise = float(data.xipos[object_body][2]) - start_height
    touching = [False, False]
    on_table = False
    table = model.geom("table").id
    for contact in data.contact[: data.ncon]:
        pair = {int(contact.geom1), int(contact.geom2)}
        for jaw, finger in enumerate(finger_geoms):
            if finger in pair and pair & object_geoms:
                touching[jaw] = True
        on_table |= table in pair and bool(pair & object_geoms)
    risen = rise >= config.lift_height - config.lift_tolerance
    success = risen and all(touching)
    outcome = LIFT_HELD if success else (LIFT_LOST_CONTACT if risen else LIFT_SLIPPED)
    return LiftResult(bool(success), rise, (touching[0], touching[1]), outcome, on_table)


# ---------------------------------------------------------------------- label agreement
@dataclass(frozen=True)
class AgreementReport:
    """Robustness labels against simulated lifts on the same grasps.

    robust_quality: (N,) robust epsilon; labels: (N,) bool label; lifted: (N,) bool lift
    success; object_names: (N,) the test object of each grasp. confusion: 2x2 counts
    [[label no & lift fails, label no & lift holds], [label yes & lift fails, label yes &
    lift holds]]. nominal_collision_free, force_closure_rate, weight_hold_rate and reasons:
    (N,) the label's reasons (`RobustnessResult`), to explain the disagreements.
    families: (N,) the object family of each grasp (None: not drawn by family).
    lift_outcomes: (N,) how each lift ended (`LiftResult.outcome`); lift_rises: (N,) how far
    its object's centre of mass rose, metres; object_masses: (N,) kg (None: not recorded).
    object_seeds, mass_scales, settle_seeds (N,) and grasps (7, N: world centre x y z, jaw axis
    x y z, opening m): what replays a grasp's lift (`measure_family_agreement`; None: not
    recorded): `objects.generate_object(family, seed)`, `scaled_mass`, `settled_pose`, then
    `simulate_lift`.
    """

    robust_quality: np.ndarray
    labels: np.ndarray
    lifted: np.ndarray
    object_names: list[str]
    nominal_collision_free: np.ndarray | None = None
    force_closure_rate: np.ndarray | None = None
    # (N,) share of perturbed copies of each grasp that the lift held (None: not simulated).
    held_under_perturbation: np.ndarray | None = None
    # (C, N) robust quality of the same grasps under each of `measure_label_agreement`'s
    # `alternative_configs` (their own perturbation stream), to compare contact models.
    alternative_qualities: np.ndarray | None = None
    weight_hold_rate: np.ndarray | None = None
    reasons: np.ndarray | None = None
    families: list[str] | None = None
    lift_outcomes: np.ndarray | None = None
    lift_rises: np.ndarray | None = None
    # (N,) bool: the lift left the object in the gripper off the table, level or not
    # (`LiftResult.off_the_table`; `lifted` also asks it to rise level). None: not recorded.
    lifted_off_table: np.ndarray | None = None
    object_masses: np.ndarray | None = None
    object_seeds: np.ndarray | None = None
    mass_scales: np.ndarray | None = None
    settle_seeds: np.ndarray | None = None
    grasps: np.ndarray | None = None

    def subset(self, mask: np.ndarray) -> AgreementReport:
        """The report of the grasps selected by the (N,) bool `mask`."""
        index = np.flatnonzero(np.asarray(mask, dtype=bool))

        def pick(values: np.ndarray | None) -> np.ndarray | None:
            return None if values is None else np.asarray(values)[..., index]

        return AgreementReport(
            robust_quality=self.robust_quality[index],
            labels=self.labels[index],
            lifted=self.lifted[index],
            object_names=[self.object_names[i] for i in index],
            nominal_collision_free=pick(self.nominal_collision_free),
            force_closure_rate=pick(self.force_closure_rate),
            held_under_perturbation=pick(self.held_under_perturbation),
            alternative_qualities=pick(self.alternative_qualities),
            weight_hold_rate=pick(self.weight_hold_rate),
            reasons=pick(self.reasons),
            families=None if self.families is None else [self.families[i] for i in index],
            lift_outcomes=pick(self.lift_outcomes),
            lift_rises=pick(self.lift_rises),
            lifted_off_table=pick(self.lifted_off_table),
            object_masses=pick(self.object_masses),
            object_seeds=pick(self.object_seeds),
            mass_scales=pick(self.mass_scales),
            settle_seeds=pick(self.settle_seeds),
            grasps=pick(self.grasps),
        )

    @staticmethod
    def concatenate(reports: Sequence[AgreementReport]) -> AgreementReport:
        """One report of the grasps of `reports` (e.g. several seeds), in their order; a column
        is kept only where every report has it."""
        if not reports:
            raise ValueError("concatenate needs at least one report")

        def join(name: str, axis: int = 0) -> np.ndarray | None:
            columns = [getattr(report, name) for report in reports]
            if any(column is None for column in columns):
                return None
            return np.concatenate([np.asarray(column) for column in columns], axis=axis)

        families = [report.families for report in reports]
        return AgreementReport(
            robust_quality=join("robust_quality"),
            labels=join("labels"),
            lifted=join("lifted"),
            object_names=[name for report in reports for name in report.object_names],
            nominal_collision_free=join("nominal_collision_free"),
            force_closure_rate=join("force_closure_rate"),
            held_under_perturbation=join("held_under_perturbation"),
            alternative_qualities=join("alternative_qualities", axis=-1),
            weight_hold_rate=join("weight_hold_rate"),
            reasons=join("reasons"),
            families=None
            if any(f is None for f in families)
            else [name for f in families for name in f],
            lift_outcomes=join("lift_outcomes"),
            lift_rises=join("lift_rises"),
            lifted_off_table=join("lifted_off_table"),
            object_masses=join("object_masses"),
            object_seeds=join("object_seeds"),
            mass_scales=join("mass_scales"),
            settle_seeds=join("settle_seeds"),
            grasps=join("grasps", axis=-1),
        )

    def by_family(self) -> dict[str, AgreementReport]:
        """One report per family, in order of first appearance (needs `families`)."""
        if self.families is None:
            raise ValueError("this report has no families: it was not drawn by family")
        families = np.asarray(self.families)
        return {name: self.subset(families == name) for name in dict.fromkeys(self.families)}

    @property
    def robust_lift_agreement(self) -> float:
        """Agreement of the label with a robust lift: held in at least half the copies."""
        if self.held_under_perturbation is None or not len(self.labels):
            return float("nan")
        return float(np.mean(self.labels == (self.held_under_perturbation >= 0.5)))

    @property
    def agreement(self) -> float:
        return float(np.mean(self.labels == self.lifted)) if len(self.labels) else float("nan")

    def lift_repeatability(self) -> dict[str, float]:
        """How far the lift itself repeats under the label's perturbation model (needs
        `held_under_perturbation`; nan without it). With p a grasp's share of its perturbed
        lifts held (an estimate from as many lifts as were run):
        - "nominal_vs_robust_lift": how often the unperturbed lift agrees with the robust lift
          (held in at least half of its perturbed lifts, p >= 0.5): how well a label that
          predicts the robust lift without error agrees with the unperturbed lift (a label
          closer to the unperturbed lift itself can agree better);
        - "best_label_vs_one_copy": mean of max(p, 1 - p), the most that any label (a yes or
          no per grasp) can agree, in expectation, with one lift of a perturbed copy (on the
          lifts run: an estimate from a few lifts reads a little high);
        - "label_vs_one_copy": this label's expected agreement with one such lift, mean of p
          where it says robust and 1 - p where not."""
        if self.held_under_perturbation is None or not len(self.labels):
            nan = float("nan")
            return {"nominal_vs_robust_lift": nan, "best_label_vs_one_copy": nan,
                    "label_vs_one_copy": nan}  # fmt: skip
        share = np.asarray(self.held_under_perturbation, dtype=np.float64)
        return {
            "nominal_vs_robust_lift": float(np.mean(self.lifted == (share >= 0.5))),
            "best_label_vs_one_copy": float(np.mean(np.maximum(share, 1.0 - share))),
            "label_vs_one_copy": float(np.mean(np.where(self.labels, share, 1.0 - share))),
        }

    @property
    def confusion(self) -> np.ndarray:
        matrix = np.zeros((2, 2), dtype=np.int64)
        np.add.at(matrix, (self.labels.astype(int), self.lifted.astype(int)), 1)
        return matrix

    def agreement_at(self, threshold: float) -> float:
        """Agreement had the label used this robust-quality threshold."""
        return float(np.mean((self.robust_quality >= threshold) == self.lifted))


def random_test_object(
    rng: np.random.Generator,
) -> tuple[primitives.PrimitiveShape, np.ndarray]:
    """A varied simple test solid (box, upright or lying cylinder, sphere, L) resting on the
    table with a random yaw: (shape, T_world_object)."""
    kind = rng.choice(["box", "cylinder", "lying_cylinder", "sphere", "l_shape"])
    rotation = None
    if kind == "box":
        shape = primitives.box(rng.uniform([0.02, 0.03, 0.02], [0.07, 0.10, 0.08]))
    elif kind == "cylinder":
        shape = primitives.cylinder(rng.uniform(0.015, 0.035), rng.uniform(0.04, 0.10), 32)
    elif kind == "lying_cylinder":
        shape = primitives.cylinder(
            rng.uniform(0.015, 0.035), rng.uniform(0.06, 0.12), 32, name="lying_cylinder"
        )
        rotation = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])
    elif kind == "sphere":
        shape = primitives.sphere(rng.uniform(0.02, 0.04), 2)
    else:
        arm = rng.uniform(0.02, 0.03)
        shape = primitives.l_shape(
            rng.uniform(0.06, 0.10), rng.uniform(0.05, 0.08), arm, rng.uniform(0.02, 0.05)
        )
    pose = primitives.resting_pose(
        shape.vertices, yaw=rng.uniform(-np.pi, np.pi), rotation=rotation
    )
    return shape, pose


def _disturbed(
    grasps: MeshGraspCandidates,
    fraction: float,
    gripper: GripperConfig,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Centres (N, 3), axes (N, 3) and widths (N,) of sampled grasps, a `fraction` of them
    disturbed (axis turned up to +-60 deg, centre moved ~1 cm, random opening)."""
    centers, axes, widths = grasps.centers.copy(), grasps.axes.copy(), grasps.widths.copy()
    disturb = rng.random(len(centers)) < fraction
    turn = rng.uniform(-np.pi / 3, np.pi / 3, len(centers))
    c, s = np.cos(turn), np.sin(turn)
    turned = np.column_stack(
        [c * axes[:, 0] - s * axes[:, 1], s * axes[:, 0] + c * axes[:, 1], np.zeros(len(axes))]
    )
    axes[disturb] = turned[disturb]
    centers[disturb] += rng.normal(0.0, 0.01, (int(disturb.sum()), 3)) * [1.0, 1.0, 0.5]
    centers[:, 2] = np.maximum(centers[:, 2], 0.006)
    widths[disturb] = rng.uniform(0.02, gripper.max_width, int(disturb.sum()))
    return centers, axes, widths


def measure_label_agreement(
    n_grasps: int,
    seed: int,
    grasps_per_object: int = 10,
    perturbed_fraction: float = 0.4,
    gripper: GripperConfig = ROBOTIQ_2F85,
    robustness_config: RobustnessConfig | None = None,
    lift_config: LiftConfig | None = None,
    perturbed_lifts: int = 0,
    alternative_configs: tuple[RobustnessConfig, ...] = (),
) -> AgreementReport:
    """Compare robust Ferrari-Canny labels with simulated lifts on varied test objects.

    Per object: antipodal grasps sampled on the mesh, a `perturbed_fraction` of them then
    disturbed (axis turned up to +-60 deg, centre moved ~1 cm, random opening) so that the
    set holds good and bad grasps alike. Deterministic for a seed.

    perturbed_lifts > 0 also lifts that many copies of each grasp drawn from the label's own
    perturbation model (`GraspQualityEvaluator.perturb`: grasp and object pose, friction), from a
    random stream of their own, so the grasps and the single lifts stay those of the seed.
    alternative_configs: also label the grasps with each of these (`alternative_qualities`),
    from a stream of their own as well.
    """
    if n_grasps < 1 or grasps_per_object < 1:
        raise ValueError("n_grasps and grasps_per_object must be >= 1")
    if not 0.0 <= perturbed_fraction <= 1.0:
        raise ValueError(f"perturbed_fraction must be in [0, 1], got {perturbed_fraction}")
    rng = np.random.default_rng(seed)
    qualities, labels, lifted, names = [], [], [], []
    collision_free, closure_rates, held_shares = [], [], []
    weight_rates: list[float] = []
    reasons: list[str] = []
    perturbation_rng = np.random.default_rng([seed, 1])
    alternative_rng = np.random.default_rng([seed, 2])
    alternatives: list[list[float]] = [[] for _ in alternative_configs]
    base_lift = lift_config or LiftConfig()
    while len(labels) < n_grasps:
        shape, pose = random_test_object(rng)
        mesh = TriangleMesh(shape.vertices, shape.faces).transformed(pose)
        wanted = min(grasps_per_object, n_grasps - len(labels))
        grasps = sample_antipodal_on_mesh(mesh, gripper, wanted, rng)
        if len(grasps) == 0:
            continue
        centers, axes, widths = _disturbed(grasps, perturbed_fraction, gripper, rng)
        evaluator = GraspQualityEvaluator(mesh, gripper, robustness_config)
        result = evaluator.evaluate(centers, axes, widths, rng)
        for k in range(len(centers)):
            outcome = simulate_lift(
                shape.convex_parts, pose, centers[k], axes[k], widths[k], gripper, lift_config
            )
            lifted.append(outcome.success)
            names.append(shape.name)
        if perturbed_lifts > 0:
            copies, copy_axes, friction = evaluator.perturb(centers, axes, perturbation_rng)
            for k in range(len(centers)):
                held = [
                    simulate_lift(
                        shape.convex_parts,
                        pose,
                        copies[k, j],
                        copy_axes[k, j],
                        widths[k],
                        gripper,
                        replace(base_lift, friction_coef=float(friction[k, j])),
                    ).success
                    for j in range(min(perturbed_lifts, copies.shape[1]))
                ]
                held_shares.append(float(np.mean(held)))
        for config, qualities_of_config in zip(alternative_configs, alternatives, strict=True):
            alternative = GraspQualityEvaluator(mesh, gripper, config)
            qualities_of_config.extend(
                alternative.evaluate(centers, axes, widths, alternative_rng).robust_quality
            )
        qualities.extend(result.robust_quality)
        labels.extend(result.robust)
        collision_free.extend(result.nominal_collision_free)
        closure_rates.extend(result.force_closure_rate)
        weight_rates.extend(result.weight_hold_rate)
        reasons.extend(result.reasons)
    return AgreementReport(
        robust_quality=np.asarray(qualities),
        labels=np.asarray(labels, dtype=bool),
        lifted=np.asarray(lifted, dtype=bool),
        object_names=names,
        nominal_collision_free=np.asarray(collision_free, dtype=bool),
        force_closure_rate=np.asarray(closure_rates),
        held_under_perturbation=np.asarray(held_shares) if perturbed_lifts > 0 else None,
        alternative_qualities=np.asarray(alternatives) if alternative_configs else None,
        weight_hold_rate=np.asarray(weight_rates),
        reasons=np.asarray(reasons, dtype=str),
    )


def settled_pose(model: ObjectModel, seed: int) -> np.ndarray | None:
    """4x4 object->world pose of `model` dropped on the table at a random pose drawn from
    `seed` and settled by MuJoCo (`sim.scene.Scene`), as dataset generation rests objects;
    None where it did not come to rest on the table."""
    from gqstn_ros.sim.scene import Scene  # noqa: PLC0415 (the scene pulls in the camera)

    scene = Scene.build([model], seed=seed)
    return scene.object_transform(0) if scene.settle().ok else None


def replay_family_lift(
    family: str,
    object_seed: int,
    mass_scale: float,
    settle_seed: int,
    center: np.ndarray,
    axis: np.ndarray,
    width: float,
    gripper: GripperConfig = ROBOTIQ_2F85,
    lift_config: LiftConfig | None = None,
) -> LiftResult:
    """One lift of `measure_family_agreement` run again from what its report records
    (`AgreementReport.object_seeds`, `mass_scales`, `settle_seeds`, `grasps`): the same object,
    mass, settled pose and grasp (world centre (3,), jaw axis (3,), opening m), with the
    object's own friction where it has one (else `RobustnessConfig`'s), as the label had it.
    ValueError when the object does not settle."""
    model = scaled_mass(objects.generate_object(family, int(object_seed)), float(mass_scale))
    pose = settled_pose(model, int(settle_seed))
    if pose is None:
        raise ValueError(f"{model.name} does not settle on the table with seed {settle_seed}")
    friction = RobustnessConfig().friction_coef if model.friction is None else model.friction
    lift = replace(lift_config or LiftConfig(), friction_coef=float(friction))
    return simulate_lift(
        list(model.convex_parts), pose, np.asarray(center, dtype=np.float64),
        np.asarray(axis, dtype=np.float64), float(width), gripper, lift,
        object_inertial=model.inertial,
    )  # fmt: skip


def scaled_mass(model: ObjectModel, scale: float) -> ObjectModel:
    """`model` with every part's density times `scale` (kg/m^3, kept within the realistic
    range `objects.MAX_PART_DENSITY`: the scale is lowered to fit): the same shape and centre
    of mass, the mass and inertia times the scale actually applied."""
    if not (np.isfinite(scale) and scale > 0):
        raise ValueError(f"mass scale must be a positive number, got {scale}")
    scale = min(float(scale), objects.MAX_PART_DENSITY / max(model.part_densities))
    if scale == 1.0:
        return model
    return replace(
        model,
        name=f"{model.name}_x{scale:.3g}",
        density=model.density * scale,
        mass=model.mass * scale,
        inertia=model.inertia * scale,
        part_densities=tuple(
            min(d * scale, objects.MAX_PART_DENSITY) for d in model.part_densities
        ),
    )


def measure_family_agreement(
    families: Sequence[str],
    grasps_per_family: int,
    seed: int,
    grasps_per_object: int = 10,
    perturbed_fraction: float = 0.4,
    mass_scales: Sequence[float] = (1.0,),
    gripper: GripperConfig = ROBOTIQ_2F85,
    robustness_config: RobustnessConfig | None = None,
    lift_config: LiftConfig | None = None,
    alternative_configs: tuple[RobustnessConfig, ...] = (),
    perturbed_lifts: int = 0,
) -> AgreementReport:
    """Compare robust labels with simulated lifts on procedural objects of named families.

    Per family (`sim.objects.generate_object`, the family's own materials and surface
    friction), objects are drawn from a stream of that family and `seed` alone (so a family's
    grasps do not depend on the other families of the run), the k-th object with its part
    densities times `mass_scales[k % len(mass_scales)]` (`scaled_mass`), dropped and settled on
    the table (`settled_pose`); antipodal grasps are sampled on it and a `perturbed_fraction` of
    them disturbed, as in `measure_label_agreement`. The label uses the object's mass, centre of
    mass and friction (`GraspQualityEvaluator.from_object_model`); the lift its convex parts,
    mass, inertia and friction, with the same gripper (and so the same grip force).
    alternative_configs: the same grasps labelled with each of these configs and the same
    perturbed copies as the main label (`alternative_qualities`), to choose a config.
    perturbed_lifts > 0 also lifts that many copies of each grasp drawn from the label's
    perturbation model (`held_under_perturbation`), from a stream of their own.
    """
    if grasps_per_family < 1 or grasps_per_object < 1:
        raise ValueError("grasps_per_family and grasps_per_object must be >= 1")
    if not 0.0 <= perturbed_fraction <= 1.0:
        raise ValueError(f"perturbed_fraction must be in [0, 1], got {perturbed_fraction}")
    if not mass_scales:
        raise ValueError("mass_scales needs at least one scale")
    if perturbed_lifts < 0:
        raise ValueError(f"perturbed_lifts must be >= 0, got {perturbed_lifts}")
    for family in families:
        objects.check_family(family)
    base_lift = lift_config or LiftConfig()
    columns: dict[str, list] = {
        name: []
        for name in (
            "quality", "label", "lifted", "name", "family", "collision_free", "closure",
            "weight", "reason", "held", "outcome", "rise", "off_table", "mass", "object_seed",
            "mass_scale", "settle_seed", "grasp",
        )
    }  # fmt: skip
    alternatives: list[list[float]] = [[] for _ in alternative_configs]
    for family in families:
        rng = np.random.default_rng([seed, zlib.crc32(family.encode())])
        copy_rng = np.random.default_rng([seed, zlib.crc32(family.encode()), 1])
        count = attempts = 0
        while count < grasps_per_family:
            attempts += 1
            if attempts > 20 * grasps_per_family:
                raise RuntimeError(f"family {family!r}: no graspable object in {attempts} draws")
            object_seed = int(rng.integers(2**31))
            mass_scale = float(mass_scales[(attempts - 1) % len(mass_scales)])
            model = scaled_mass(objects.generate_object(family, object_seed), mass_scale)
            settle_seed = int(rng.integers(2**31))
            pose = settled_pose(model, settle_seed)
            if pose is None:
                continue
            mesh = TriangleMesh(model.vertices, model.faces).transformed(pose)
            wanted = min(grasps_per_object, grasps_per_family - count)
            grasps = sample_antipodal_on_mesh(mesh, gripper, wanted, rng)
            if len(grasps) == 0:
                continue
            centers, axes, widths = _disturbed(grasps, perturbed_fraction, gripper, rng)
            evaluator = GraspQualityEvaluator.from_object_model(
                model, pose, gripper, robustness_config
            )
            label_rng = np.random.default_rng(rng.integers(2**63))
            for config, qualities in zip(alternative_configs, alternatives, strict=True):
                alternative = GraspQualityEvaluator.from_object_model(model, pose, gripper, config)
                paired = copy.deepcopy(label_rng)
                qualities.extend(alternative.evaluate(centers, axes, widths, paired).robust_quality)
            result = evaluator.evaluate(centers, axes, widths, label_rng)
            lift = replace(base_lift, friction_coef=evaluator.config.friction_coef)
            for k in range(len(centers)):
                outcome = simulate_lift(
                    list(model.convex_parts),
                    pose,
                    centers[k],
                    axes[k],
                    widths[k],
                    gripper,
                    lift,
                    object_inertial=model.inertial,
                )
                columns["lifted"].append(outcome.success)
                columns["outcome"].append(outcome.outcome)
                columns["rise"].append(outcome.object_rise)
                columns["off_table"].append(outcome.off_the_table())
            if perturbed_lifts > 0:
                copies, copy_axes, copy_friction = evaluator.perturb(centers, axes, copy_rng)
                for k, j in np.ndindex(len(centers), min(perturbed_lifts, copies.shape[1])):
                    if j == 0:
                        columns["held"].append([])
                    columns["held"][-1].append(
                        simulate_lift(
                            list(model.convex_parts),
                            pose,
                            copies[k, j],
                            copy_axes[k, j],
                            widths[k],
                            gripper,
                            replace(lift, friction_coef=float(copy_friction[k, j])),
                            object_inertial=model.inertial,
                        ).success
                    )
            count += len(centers)
            columns["quality"].extend(result.robust_quality)
            columns["label"].extend(result.robust)
            columns["name"].extend([model.name] * len(centers))
            columns["family"].extend([family] * len(centers))
            columns["mass"].extend([model.mass] * len(centers))
            columns["object_seed"].extend([object_seed] * len(centers))
            columns["mass_scale"].extend([mass_scale] * len(centers))
            columns["settle_seed"].extend([settle_seed] * len(centers))
            columns["grasp"].extend(
                np.column_stack([centers, axes, widths]).astype(np.float64).tolist()
            )
            columns["collision_free"].extend(result.nominal_collision_free)
            columns["closure"].extend(result.force_closure_rate)
            columns["weight"].extend(result.weight_hold_rate)
            columns["reason"].extend(result.reasons)
    return AgreementReport(
        robust_quality=np.asarray(columns["quality"], dtype=np.float64),
        labels=np.asarray(columns["label"], dtype=bool),
        lifted=np.asarray(columns["lifted"], dtype=bool),
        object_names=columns["name"],
        nominal_collision_free=np.asarray(columns["collision_free"], dtype=bool),
        force_closure_rate=np.asarray(columns["closure"], dtype=np.float64),
        held_under_perturbation=(
            np.asarray([np.mean(held) for held in columns["held"]]) if perturbed_lifts else None
        ),
        alternative_qualities=np.asarray(alternatives) if alternative_configs else None,
        weight_hold_rate=np.asarray(columns["weight"], dtype=np.float64),
        reasons=np.asarray(columns["reason"], dtype=str),
        families=columns["family"],
        lift_outcomes=np.asarray(columns["outcome"], dtype=str),
        lift_rises=np.asarray(columns["rise"], dtype=np.float64),
        lifted_off_table=np.asarray(columns["off_table"], dtype=bool),
        object_masses=np.asarray(columns["mass"], dtype=np.float64),
        object_seeds=np.asarray(columns["object_seed"], dtype=np.int64),
        mass_scales=np.asarray(columns["mass_scale"], dtype=np.float64),
        settle_seeds=np.asarray(columns["settle_seed"], dtype=np.int64),
        grasps=np.asarray(columns["grasp"], dtype=np.float64).reshape(-1, 7).T,
    )
