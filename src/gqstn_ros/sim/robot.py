"""The simulated robot world of the benchmark: table, objects, a UR5 and a Robotiq 2F-85.

`SimRobotWorld` is one MuJoCo model: the table and object of `gqstn_ros.sim.scene` (the same drop
and settling; `reset_pile` loads a pile of objects instead, `sim.clutter`, and a picked one is put
in the bin beside the table with `put_in_bin`), the depth camera above the table, and a 2F-85-like
gripper whose stroke, finger pads and force range are a gripper profile's
(`SimGripperConfig.geometry`): a free body (housing, palm, two finger pads on slide joints coupled
like the 2F-85 linkage and driven by force-limited position servos) welded to a mocap body. The arm
is not simulated as links: the UR5's kinematics (`ur5_kinematics`) decide which tool poses it
reaches, and the mocap body is moved along the commanded straight line with a trapezoidal speed
profile; the weld gives the gripper real velocities, so friction and contacts act on the object as a
stiff arm would.

`SimArm` and `SimGripper` implement the `hardware.interfaces` protocols over the world, so the
executor drives them as the real ur_rtde and Robotiq drivers.

Frames: world (z up, table top z = 0, table centred on the origin); `base_link`, the UR5 base,
at `SimRobotConfig.base_position` / `base_yaw` in the world; the TCP frame, the gripper body's
frame: origin between the finger pads, z = approach (out of the flange), y = jaw closing axis,
x = y cross z. Quaternions (w, x, y, z) as in MuJoCo; poses (x, y, z, rx, ry, rz) in base_link
as in UR. Every MuJoCo access goes through `SimRobotWorld.lock`.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import mujoco
import numpy as np

from gqstn_ros.camera_model import CameraIntrinsics
from gqstn_ros.geometry import (
    RigidTransform,
    matrix_to_pose6,
    matrix_to_rotation_vector,
    pose6_to_matrix,
    rotation_vector_to_matrix,
)
from gqstn_ros.gripper import GripperConfig, default_gripper
from gqstn_ros.hardware.interfaces import GripperStatus, HardwareError, MotionLimits
from gqstn_ros.sim.camera import DepthCamera, DepthFrame
from gqstn_ros.sim.objects import ObjectModel
from gqstn_ros.sim.scene import (
    BACKGROUND_LABEL,
    TABLE_GEOM_NAME,
    Scene,
    SettleResult,
    _build_spec,
    object_label,
)
from gqstn_ros.sim.sensor_models import apply_sensor_noise
from gqstn_ros.sim.ur5_kinematics import (
    UnreachablePose,
    UR5Config,
    UR5Kinematics,
    default_tcp_config,
)
from gqstn_ros.sim.world_config import WorldConfig

if TYPE_CHECKING:
    from gqstn_ros.sim.clutter import BinConfig

LOGGER = logging.getLogger(__name__)

GRIPPER_GROUP = 2  # visible to the camera (groups 0-2), like the real gripper
# The arm's reference posture (rad) for the first inverse kinematics: shoulder facing +x
# (the table), elbow up, wrist down.
UR5_REFERENCE_JOINTS = (math.pi, -math.pi / 2, math.pi / 2, -math.pi / 2, -math.pi / 2, 0.0)
# Limits of the UR5's moveL as ur_rtde accepts them (m/s, m/s^2).
UR_MAX_TOOL_SPEED = 3.0
UR_MAX_TOOL_ACCELERATION = 150.0


@dataclass(frozen=True)
class SimGripperConfig:
    """The simulated gripper (SI units): a gripper profile's stroke, finger sizes and grip
    force range (`geometry`, default `gripper.default_gripper()`, the 2F-85) on a
    2F-85-like body."""

    geometry: GripperConfig = field(default_factory=default_gripper)  # stroke, pads, forces
    min_speed: float = 0.020  # m/s, the 2F-85's closing speed range
    max_speed: float = 0.150
    finger_stiffness: float = 10000.0  # N/m, finger position servo (saturates at the force)
    finger_damping: float = 60.0  # N s/m
    finger_mass: float = 0.1  # kg
    body_mass: float = 0.9  # kg, the 2F-85 weighs 0.925 kg
    pad_friction: float = 1.0  # silicone pads
    fingertip_beyond_tcp: float = 0.005  # m, pads reach this far past the TCP (approach side)
    palm_height: float = 0.02  # m
    housing_radius: float = 0.04  # m, the cylindrical body between palm and flange
    # The fingers stopped farther than this from the commanded opening: an object is held.
    object_detect_margin: float = 0.002  # m
    # A finger motion has ended when the fingers move slower than this for `settle_time`.
    rest_speed: float = 0.002  # m/s
    settle_time: float = 0.05  # s

    def __post_init__(self) -> None:
        for name in (
            "min_speed",
            "finger_stiffness",
            "finger_mass",
            "body_mass",
            "pad_friction",
            "palm_height",
            "housing_radius",
            "object_detect_margin",
            "rest_speed",
            "settle_time",
        ):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"gripper.{name}: must be a positive finite number, got {value}")
        if self.max_speed < self.min_speed:
            raise ValueError("gripper.max_speed: must not be below the minimum")

    @property
    def min_force(self) -> float:
        """N, the smallest grip force the gripper closes with (the profile's)."""
        return self.geometry.min_grip_force

    @property
    def max_force(self) -> float:
        """N, the largest grip force (the profile's)."""
        return self.geometry.max_grip_force


@dataclass(frozen=True)
class SimRobotConfig:
    """The whole simulated bench.

    base_position / base_yaw: base_link in the world (m, rad about world z); by default the
    UR5 stands on the table top 0.5 m from the table centre, its x axis pointing at it.
    home_pose: the tool pose (x, y, z, rx, ry, rz) in base_link after a reset: above the table
    edge, pointing down, outside the camera's view.
    """

    world: WorldConfig = field(default_factory=WorldConfig)
    arm: UR5Config = field(default_factory=default_tcp_config)
    gripper: SimGripperConfig = field(default_factory=SimGripperConfig)
    base_position: tuple[float, float, float] = (0.0, -0.5, 0.0)
    base_yaw: float = math.pi / 2
    home_pose: tuple[float, ...] = (0.25, 0.0, 0.35, math.pi, 0.0, 0.0)
    # Tool rotation limits of moveL (UR moveL limits the tool's linear speed only).
    angular_speed: float = 1.0  # rad/s
    angular_acceleration: float = 2.0  # rad/s^2
    # IK is checked on waypoints this far apart along the path (m, rad); a joint jumping more
    # than `max_joint_step` between two waypoints is a singularity the controller refuses.
    waypoint_spacing: float = 0.005
    waypoint_angle: float = 0.02
    max_joint_step: float = 0.5  # rad
    weld_time_constant: float = 0.01  # s, stiffness of the arm holding the gripper
    # Tool held this far from its commanded pose (m, rad): a collision, protective stop.
    protective_stop_distance: float = 0.03
    protective_stop_angle: float = 0.3
    settle_after_motion: float = 0.05  # s simulated after a move so the tool comes to rest
    # A body faster than this (m/s), spinning faster than divergence_angular_speed (rad/s), or
    # NaN: the simulation diverged. Spins get a higher bound: a light object that snaps into
    # place between stiff pads spins at 50-80 rad/s for a few milliseconds and is then held
    # (measured on the chips_clip), while a diverging solver runs to thousands.
    divergence_speed: float = 50.0
    divergence_angular_speed: float = 1000.0
    # Simulated seconds per wall second while moving; 0 = as fast as the computer goes.
    real_time_factor: float = 0.0
    # Simulated time between releases of the lock while moving (lets the camera render).
    step_chunk_time: float = 1.0 / 60.0  # s

    def __post_init__(self) -> None:
        position = np.asarray(self.base_position, dtype=np.float64)
        if position.shape != (3,) or not np.all(np.isfinite(position)):
            raise ValueError(f"base_position: must be 3 finite numbers, got {self.base_position}")
        if not math.isfinite(self.base_yaw):
            raise ValueError(f"base_yaw: must be finite, got {self.base_yaw}")
        pose6_to_matrix(np.asarray(self.home_pose))  # raises on a malformed pose
        for name in (
            "angular_speed",
            "angular_acceleration",
            "waypoint_spacing",
            "waypoint_angle",
            "max_joint_step",
            "weld_time_constant",
            "protective_stop_distance",
            "protective_stop_angle",
            "divergence_speed",
            "divergence_angular_speed",
            "step_chunk_time",
        ):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name}: must be a positive finite number, got {value}")
        for name in ("settle_after_motion", "real_time_factor"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{name}: must be a non-negative finite number, got {value}")
        if self.weld_time_constant < 2 * self.world.physics.timestep:
            raise ValueError(
                f"weld_time_constant: must be at least twice the physics timestep "
                f"({self.world.physics.timestep} s) to be stable, got {self.weld_time_constant}"
            )


# ------------------------------------------------------------------------------ motion profile
@dataclass(frozen=True)
class TrapezoidalProfile:
    """Distance covered over time with a speed and acceleration limit, from rest to rest."""

    distance: float
    speed: float
    acceleration: float

    @property
    def ramp_time(self) -> float:
        """Time spent accelerating (the same decelerating), s."""
        if self.distance <= self.speed**2 / self.acceleration:
            return math.sqrt(self.distance / self.acceleration)  # triangular: never at speed
        return self.speed / self.acceleration

    @property
    def duration(self) -> float:
        if self.distance <= 0:
            return 0.0
        ramp = self.ramp_time
        peak = self.acceleration * ramp
        return 2 * ramp + (self.distance - peak * ramp) / peak

    def position(self, t: float) -> float:
        """Distance covered at time t (clipped to [0, duration])."""
        total = self.duration
        if total <= 0:
            return self.distance
        t = min(max(t, 0.0), total)
        ramp, a = self.ramp_time, self.acceleration
        peak = a * ramp
        if t < ramp:
            return 0.5 * a * t * t
        if t > total - ramp:
            return self.distance - 0.5 * a * (total - t) ** 2
        return 0.5 * a * ramp * ramp + peak * (t - ramp)


def _interpolate_pose(start: np.ndarray, end: np.ndarray, fraction: float) -> np.ndarray:
    """(4, 4) pose a `fraction` of the way from start to end: straight line and slerp."""
    out = np.eye(4)
    out[:3, 3] = start[:3, 3] + fraction * (end[:3, 3] - start[:3, 3])
    relative = matrix_to_rotation_vector(start[:3, :3].T @ end[:3, :3])
    out[:3, :3] = start[:3, :3] @ rotation_vector_to_matrix(fraction * relative)
    return out


def _yaw_transform(position: tuple[float, float, float], yaw: float) -> RigidTransform:
    c, s = math.cos(yaw), math.sin(yaw)
    return RigidTransform(
        np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]]), np.array(position)
    )


def _set_box_inertia(
    body: mujoco.MjsBody, mass: float, size: tuple[float, float, float], centre: tuple
) -> None:
    """Mass properties of a solid box of full `size` (m) centred at `centre` in the body."""
    x, y, z = size
    body.explicitinertial = True
    body.mass = mass
    body.ipos = list(centre)
    body.inertia = [
        mass * (y * y + z * z) / 12,
        mass * (x * x + z * z) / 12,
        mass * (x * x + y * y) / 12,
    ]


def _quaternion(rotation: np.ndarray) -> np.ndarray:
    quat = np.zeros(4)
    mujoco.mju_mat2Quat(quat, np.ascontiguousarray(rotation).reshape(-1))
    return quat


# ------------------------------------------------------------------------------ the world
def _linear_dofs(model: mujoco.MjModel) -> np.ndarray:
    """(nv,) bool: True for the velocities in m/s (slide joints, a free joint's first three),
    False for those in rad/s (hinge and ball joints, a free joint's last three)."""
    linear = np.zeros(model.nv, dtype=bool)
    for joint in range(model.njnt):
        start = int(model.jnt_dofadr[joint])
        kind = model.jnt_type[joint]
        if kind == mujoco.mjtJoint.mjJNT_SLIDE:
            linear[start] = True
        elif kind == mujoco.mjtJoint.mjJNT_FREE:
            linear[start : start + 3] = True
    return linear


class SimRobotWorld:
    """The benchmark bench in MuJoCo; see the module docstring.

    Built with its first object, dropped at a random pose near the table centre and settled;
    `reset` loads another. `render_depth` must always be called from the same thread (it owns
    an OpenGL context); everything else is thread-safe through `lock`.
    """

    def __init__(
        self,
        object_model: ObjectModel,
        seed: int = 0,
        config: SimRobotConfig | None = None,
        render_backend: str = "auto",
    ) -> None:
        self.config = config or SimRobotConfig()
        self.kinematics = UR5Kinematics(self.config.arm)
        self.lock = threading.RLock()
        self.base_in_world = _yaw_transform(self.config.base_position, self.config.base_yaw)
        camera_pose = self.config.world.camera.pose
        camera_in_world = RigidTransform(camera_pose.rotation, np.asarray(camera_pose.position))
        self.camera_in_base = self.base_in_world.inverse().compose(camera_in_world)
        self.home_joints = self.kinematics.nearest(
            pose6_to_matrix(np.asarray(self.config.home_pose)), np.array(UR5_REFERENCE_JOINTS)
        )
        self._render_backend = render_backend
        self._camera: DepthCamera | None = None
        self._camera_generation = -1
        self._generation = 0
        self._stop_requested = threading.Event()
        self.last_settle: SettleResult | None = None
        self.reset(object_model, seed)

    # ------------------------------------------------------------------ building and reset
    def reset(self, object_model: ObjectModel, seed: int) -> SettleResult:
        """Load `object_model`, drop it at a random pose near the table centre (from `seed`),
        settle it; the arm goes home and the gripper opens fully. Returns the settling result
        (`ok` False when it did not settle or fell off the table)."""
        if not isinstance(object_model, ObjectModel):
            raise TypeError(f"object_model must be an ObjectModel, got {type(object_model)}")
        with self.lock:
            self._build(object_model)
            self.scene._drop(np.random.default_rng(seed))
            self.last_settle = self.scene.settle()
            self._rest_height = float(self.data.xipos[self._object_body][2])
            self._record_rest_heights()
            self._noise_rng = np.random.default_rng([seed, 7])
            self.fault = ""
            self._generation += 1
            self._steps_taken = 0
            self._clean_cache: tuple[int, int, DepthFrame] | None = None
            return self.last_settle

    def reset_pile(self, object_models: Sequence[ObjectModel], seed: int) -> SettleResult:
        """Load `object_models` (unique names), drop them in a pile near the table centre
        (`clutter.place_pile`, from `seed`) and settle them; the arm goes home and the gripper
        opens fully. Returns the settling result; objects that fell off the table when dropped
        stay where they fell (`pile_state` counts them lost)."""
        models = tuple(object_models)
        if not models or not all(isinstance(m, ObjectModel) for m in models):
            raise TypeError("object_models must be a non-empty sequence of ObjectModel")
        from gqstn_ros.sim.clutter import place_pile  # noqa: PLC0415 (clutter imports scene)

        with self.lock:
            self._build(models)
            place_pile(self.scene, np.random.default_rng(seed))
            self.last_settle = self.scene.settle()
            self._rest_height = float(self.data.xipos[self._object_body][2])
            self._record_rest_heights()
            self._noise_rng = np.random.default_rng([seed, 7])
            self.fault = ""
            self._generation += 1
            self._steps_taken = 0
            self._clean_cache = None
            return self.last_settle

    def _record_rest_heights(self) -> None:
        """Every object's centre-of-mass height now: `object_lift` measures from it."""
        self._rest_heights = np.array(
            [float(self.data.xipos[body][2]) for body in self._object_bodies]
        )

    def _build(self, object_models: ObjectModel | tuple[ObjectModel, ...]) -> None:
        world = self.config.world
        models = object_models if isinstance(object_models, tuple) else (object_models,)
        spec = _build_spec(models, world)
        spec.option.integrator = mujoco.mjtIntegrator.mjINT_IMPLICITFAST
        spec.option.cone = mujoco.mjtCone.mjCONE_ELLIPTIC
        spec.option.impratio = 10.0
        home = self._base_to_world(pose6_to_matrix(np.asarray(self.config.home_pose)))
        self._add_gripper(spec, home)
        model = spec.compile()
        data = mujoco.MjData(model)
        bodies = tuple(
            mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, f"object_{index}")
            for index in range(len(models))
        )
        object_body = bodies[0]
        geom_labels = np.full(model.ngeom, BACKGROUND_LABEL, dtype=np.int32)
        for index, body in enumerate(bodies):
            geom_labels[model.geom_bodyid == body] = object_label(index)
        self.scene = Scene(
            model,
            data,
            objects=models,
            config=world,
            body_ids=bodies,
            geom_labels=geom_labels,
        )
        self.model, self.data = model, data
        self.object_model = models[0]
        self.object_models = models
        self._object_body = object_body
        self._object_bodies = bodies
        self._binned: list[int] = []  # indices of the objects in the bin, in the order put
        self._rest_heights = np.zeros(len(models))
        self._object_qvel = int(model.jnt_dofadr[model.body_jntadr[object_body]])
        self._linear_dofs = _linear_dofs(model)
        self._gripper_body = model.body("gripper").id
        self._mocap = int(model.body_mocapid[model.body("tcp_target").id])
        self._finger_qpos = (
            int(model.joint("finger_left").qposadr[0]),
            int(model.joint("finger_right").qposadr[0]),
        )
        self._finger_qvel = (
            int(model.joint("finger_left").dofadr[0]),
            int(model.joint("finger_right").dofadr[0]),
        )
        self._finger_actuators = (
            model.actuator("finger_left").id,
            model.actuator("finger_right").id,
        )
        self.joints = self.home_joints.copy()
        self._gripper_target = self.config.gripper.geometry.max_width
        half = self._gripper_target / 2
        data.qpos[self._finger_qpos[0]], data.qpos[self._finger_qpos[1]] = -half, half
        self._set_finger_targets(self._gripper_target)
        self._set_force_limit(self.config.gripper.min_force)
        mujoco.mj_forward(model, data)

    def _add_gripper(self, spec: mujoco.MjSpec, home: np.ndarray) -> None:
        """Mocap target, gripper body (welded to it), fingers, servos and their coupling."""
        g = self.config.gripper
        geometry = g.geometry
        half_stroke = geometry.max_width / 2
        position, quaternion = home[:3, 3], _quaternion(home[:3, :3])
        target = spec.worldbody.add_body(name="tcp_target", mocap=True)
        target.pos, target.quat = position, quaternion
        body = spec.worldbody.add_body(name="gripper", gravcomp=1.0)
        body.pos, body.quat = position, quaternion
        body.add_freejoint(name="gripper_free")
        tip = g.fingertip_beyond_tcp
        palm_z = tip - geometry.finger_depth - g.palm_height / 2
        palm_top = palm_z - g.palm_height / 2
        flange_z = -self.config.arm.tcp_offset[2]
        # The world's compiler takes mass properties from explicit values, not from geoms.
        _set_box_inertia(
            body,
            g.body_mass,
            (
                2 * g.housing_radius,
                geometry.max_width + 2 * geometry.finger_thickness,
                palm_top - flange_z + g.palm_height,
            ),
            (0.0, 0.0, (palm_z + flange_z) / 2),
        )
        body.add_geom(
            name="gripper_palm",
            type=mujoco.mjtGeom.mjGEOM_BOX,
            size=[
                geometry.finger_width / 2 + 0.01,
                half_stroke + geometry.finger_thickness,
                g.palm_height / 2,
            ],
            pos=[0.0, 0.0, palm_z],
            group=GRIPPER_GROUP,
            rgba=[0.15, 0.15, 0.15, 1.0],
        )
        if palm_top - flange_z > 1e-3:
            body.add_geom(
                name="gripper_housing",
                type=mujoco.mjtGeom.mjGEOM_CYLINDER,
                size=[g.housing_radius, (palm_top - flange_z) / 2, 0.0],
                pos=[0.0, 0.0, (palm_top + flange_z) / 2],
                group=GRIPPER_GROUP,
                rgba=[0.2, 0.2, 0.2, 1.0],
            )
        torsion = g.pad_friction * 0.005 * 2 / 3  # (2/3) mu r over a 5 mm contact patch
        for side, sign in (("left", -1.0), ("right", 1.0)):
            finger = body.add_body(name=f"finger_{side}", gravcomp=1.0)
            _set_box_inertia(
                finger,
                g.finger_mass,
                (geometry.finger_width, geometry.finger_thickness, geometry.finger_depth),
                (0.0, sign * geometry.finger_thickness / 2, tip - geometry.finger_depth / 2),
            )
            finger.add_joint(
                name=f"finger_{side}",
                type=mujoco.mjtJoint.mjJNT_SLIDE,
                axis=[0.0, 1.0, 0.0],
                range=[-half_stroke, 0.0] if sign < 0 else [0.0, half_stroke],
                limited=mujoco.mjtLimited.mjLIMITED_TRUE,
                damping=g.finger_damping,
            )
            finger.add_geom(
                name=f"finger_{side}",
                type=mujoco.mjtGeom.mjGEOM_BOX,
                size=[
                    geometry.finger_width / 2,
                    geometry.finger_thickness / 2,
                    geometry.finger_depth / 2,
                ],
                pos=[0.0, sign * geometry.finger_thickness / 2, tip - geometry.finger_depth / 2],
                friction=[g.pad_friction, torsion, 0.0001],
                condim=6,
                # Stiff pads (as the lift check): their contact parameters win the mix.
                solref=[0.004, 1.0],
                solimp=[0.95, 0.99, 0.001, 0.5, 2.0],
                solmix=100.0,
                group=GRIPPER_GROUP,
                rgba=[0.3, 0.3, 0.3, 1.0],
            )
            actuator = spec.add_actuator(
                name=f"finger_{side}",
                target=f"finger_{side}",
                trntype=mujoco.mjtTrn.mjTRN_JOINT,
            )
            actuator.set_to_position(kp=g.finger_stiffness)
            actuator.forcelimited = mujoco.mjtLimited.mjLIMITED_TRUE
            actuator.forcerange = [-g.min_force, g.min_force]
        spec.add_equality(
            type=mujoco.mjtEq.mjEQ_JOINT,
            name1="finger_right",
            name2="finger_left",
            data=[0.0, -1.0, 0.0, 0.0, 0.0] + [0.0] * 7,
        )
        spec.add_equality(
            type=mujoco.mjtEq.mjEQ_WELD,
            name1="tcp_target",
            name2="gripper",
            objtype=mujoco.mjtObj.mjOBJ_BODY,
            solref=[self.config.weld_time_constant, 1.0],
            # anchor (3), relative pose: position (3) and quaternion (4), torque scale, unused
            data=[0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0],
        )

    # ------------------------------------------------------------------ frames and state
    def _base_to_world(self, pose_in_base: np.ndarray) -> np.ndarray:
        return self.base_in_world.matrix() @ pose_in_base

    def _world_to_base(self, pose_in_world: np.ndarray) -> np.ndarray:
        return self.base_in_world.inverse().matrix() @ pose_in_world

    @property
    def intrinsics(self) -> CameraIntrinsics:
        return self.config.world.camera.intrinsics

    @property
    def sim_time(self) -> float:
        return float(self.data.time)

    def tool_pose_in_base(self) -> np.ndarray:
        """(4, 4) TCP pose in base_link from the arm's joints (what the controller reports)."""
        with self.lock:
            return self.kinematics.forward(self.joints)

    def gripper_pose_in_world(self) -> np.ndarray:
        """(4, 4) the simulated gripper body's actual pose in the world."""
        with self.lock:
            out = np.eye(4)
            out[:3, :3] = self.data.xmat[self._gripper_body].reshape(3, 3)
            out[:3, 3] = self.data.xpos[self._gripper_body]
            return out

    def object_pose_in_world(self) -> np.ndarray:
        """(4, 4) the object's pose (centre of mass frame) in the world."""
        with self.lock:
            return self.scene.object_transform(0)

    def object_lifted_height(self) -> float:
        """How far (m) the object's centre of mass is above where it settled after the reset."""
        with self.lock:
            return float(self.data.xipos[self._object_body][2]) - self._rest_height

    def object_on_table(self) -> bool:
        """False once the object fell off the table (below its top or beyond its edges)."""
        with self.lock:
            return not self.scene.objects_off_table()

    def object_touches_table(self) -> bool:
        """True while the object is in contact with the table top (False once lifted off it)."""
        with self.lock:
            model, data = self.model, self.data
            table = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_GEOM, TABLE_GEOM_NAME)
            first = data.contact.geom1[: data.ncon]
            second = data.contact.geom2[: data.ncon]
            for geom_a, geom_b in zip(first, second, strict=True):
                if table in (geom_a, geom_b):
                    other = geom_b if geom_a == table else geom_a
                    if model.geom_bodyid[other] == self._object_body:
                        return True
            return False

    # ------------------------------------------------------------------ clutter
    def object_lift(self, index: int) -> float:
        """How far (m) object `index`'s centre of mass is above where it last settled."""
        with self.lock:
            body = self._object_bodies[index]
            return float(self.data.xipos[body][2]) - float(self._rest_heights[index])

    def object_index_touches_table(self, index: int) -> bool:
        """True while object `index` is in contact with the table top."""
        with self.lock:
            model, data = self.model, self.data
            table = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_GEOM, TABLE_GEOM_NAME)
            body = self._object_bodies[index]
            for geom_a, geom_b in zip(
                data.contact.geom1[: data.ncon], data.contact.geom2[: data.ncon], strict=True
            ):
                if table in (geom_a, geom_b):
                    other = geom_b if geom_a == table else geom_a
                    if model.geom_bodyid[other] == body:
                        return True
            return False

    def held_object(self, min_lift: float = 0.0) -> int | None:
        """The index of the object (not in the bin) lifted highest above where it settled, if
        its lift exceeds `min_lift` (m), else None: after a pick, the one the gripper carries."""
        with self.lock:
            candidates = [i for i in range(len(self._object_bodies)) if i not in self._binned]
            if not candidates:
                return None
            best = max(candidates, key=self.object_lift)
            return best if self.object_lift(best) > min_lift else None

    def pile_state(self) -> list[dict]:
        """Every object of the scene: name, pose (4x4 nested list, world <- mesh frame), lift
        above where it last settled (m), and where it is: "bin" (put there by `put_in_bin`),
        "lost" (fell off the table: below its top or beyond its edges, not in the bin) or
        "table" (on the table, in the gripper included)."""
        with self.lock:
            off = set(self.scene.objects_off_table())
            states = []
            for index, model in enumerate(self.object_models):
                where = "bin" if index in self._binned else "lost" if index in off else "table"
                states.append(
                    {
                        "name": model.name,
                        "where": where,
                        "lift": self.object_lift(index),
                        "pose": self.scene.object_transform(index).tolist(),
                    }
                )
            return states

    def put_in_bin(self, index: int, bin_config: BinConfig) -> None:
        """Carry object `index` to its slot in the bin: it rests there, out of the camera's view,
        its collisions off (it never touches the table, the arm or another binned object)."""
        with self.lock:
            if index in self._binned:
                raise ValueError(f"object {index} is in the bin already")
            body = self._object_bodies[index]
            geoms = self.model.geom_bodyid == body
            self.model.geom_contype[geoms] = 0
            self.model.geom_conaffinity[geoms] = 0
            self.model.body_gravcomp[body] = 1.0
            slot = bin_config.bin_slot(len(self._binned))
            self.scene.set_object_pose(index, slot, np.array([1.0, 0.0, 0.0, 0.0]))
            self._binned.append(index)

    def home_and_open(self) -> None:
        """Put the arm at home with the gripper fully open, at rest (a teleport, no motion:
        the arm carried the object to the bin and came back)."""
        with self.lock:
            self.joints = self.home_joints.copy()
            home = pose6_to_matrix(np.asarray(self.config.home_pose))
            self._set_mocap(home)
            world_home = self._base_to_world(home)
            joint = self.model.body_jntadr[self._gripper_body]
            address = int(self.model.jnt_qposadr[joint])
            velocity = int(self.model.jnt_dofadr[joint])
            self.data.qpos[address : address + 3] = world_home[:3, 3]
            self.data.qpos[address + 3 : address + 7] = _quaternion(world_home[:3, :3])
            self.data.qvel[velocity : velocity + 6] = 0.0
            self._gripper_target = self.config.gripper.geometry.max_width
            half = self._gripper_target / 2
            self.data.qpos[self._finger_qpos[0]], self.data.qpos[self._finger_qpos[1]] = (
                -half,
                half,
            )
            self.data.qvel[list(self._finger_qvel)] = 0.0
            self._set_finger_targets(self._gripper_target)
            self._set_force_limit(self.config.gripper.min_force)
            mujoco.mj_forward(self.model, self.data)

    def settle_table(self) -> SettleResult:
        """Let the objects left on the table come to rest (`Scene.settle`), then take their
        heights as the new rest heights. Raises HardwareError if the simulation diverges."""
        self._require_healthy()
        with self.lock:
            warnings_before = int(self.data.warning[mujoco.mjtWarning.mjWARN_BADQACC].number)
            time_before = self.data.time
            result = self.scene.settle()
            self._steps_taken += max(
                1, round((self.data.time - time_before) / self.model.opt.timestep)
            )
            self._check_divergence(warnings_before)
            self._record_rest_heights()
            self._rest_height = float(self.data.xipos[self._object_body][2])
            self.last_settle = result
            return result

    # ------------------------------------------------------------------ stepping
    def _step(self, steps: int) -> None:
        """Advance the physics `steps` steps (lock held by the caller); detects divergence."""
        warnings_before = int(self.data.warning[mujoco.mjtWarning.mjWARN_BADQACC].number)
        mujoco.mj_step(self.model, self.data, nstep=steps)
        self._steps_taken += steps
        self._check_divergence(warnings_before)

    def _check_divergence(self, warnings_before: int) -> None:
        data = self.data
        reason = ""
        if not (np.all(np.isfinite(data.qpos)) and np.all(np.isfinite(data.qvel))):
            reason = "non-finite positions or velocities"
        elif data.warning[mujoco.mjtWarning.mjWARN_BADQACC].number > warnings_before:
            reason = "MuJoCo reported bad accelerations (the solver reset the state)"
        else:
            speeds = np.abs(data.qvel)
            linear = float(speeds[self._linear_dofs].max()) if self._linear_dofs.any() else 0.0
            angular = float(speeds[~self._linear_dofs].max()) if (~self._linear_dofs).any() else 0.0
            if linear > self.config.divergence_speed:
                reason = f"a body moves at {linear:.3g} m/s"
            elif angular > self.config.divergence_angular_speed:
                reason = f"a body turns at {angular:.3g} rad/s"
        if reason:
            self.fault = f"simulation diverged: {reason}"
            raise HardwareError(self.fault)

    def _require_healthy(self) -> None:
        if self.fault:
            raise HardwareError(f"{self.fault}; reset the world")

    def advance(self, duration_s: float) -> None:
        """Let `duration_s` seconds of simulated time pass with the arm and the gripper holding
        their current targets (an idle wait: the object may still slide, slip or fall).

        The physics runs in slices of `config.step_chunk_time`, with `lock` released between
        slices so that renders and state queries from other threads interleave, and paced to
        `config.real_time_factor` (0: as fast as possible). The duration is rounded to whole
        physics steps; 0 does nothing. Raises ValueError for a negative or non-finite duration
        and HardwareError when the simulation diverges (or had diverged: `reset` the world).
        """
        if not math.isfinite(duration_s) or duration_s < 0:
            raise ValueError(
                f"duration_s must be a non-negative finite number of seconds, got {duration_s}"
            )
        self._require_healthy()
        if duration_s > 0:
            self._run(duration_s)

    def _run(self, duration: float) -> None:
        """Simulate `duration` s (at least one step) in chunks, releasing the lock between
        chunks; no checks (see `advance`)."""
        timestep = self.model.opt.timestep
        total = max(1, round(duration / timestep))
        chunk = max(1, round(self.config.step_chunk_time / timestep))
        done = 0
        while done < total:
            with self.lock:
                n = min(chunk, total - done)
                self._step(n)
                done += n
            self._pace(n * timestep)

    def _pace(self, simulated: float) -> None:
        factor = self.config.real_time_factor
        if factor > 0:
            time.sleep(simulated / factor)

    # ------------------------------------------------------------------ the arm
    def request_stop(self) -> None:
        """Interrupt the current arm motion (from another thread)."""
        self._stop_requested.set()

    def plan_linear(self, target_in_base: np.ndarray) -> np.ndarray:
        """Joint waypoints (K, 6) of a straight tool motion to the (4, 4) target in base_link.

        Raises HardwareError "pose unreachable: ..." when a waypoint has no IK solution within
        the joint limits or the joints would jump (a singularity on the path).
        """
        with self.lock:
            start = self.kinematics.forward(self.joints)
            joints = self.joints.copy()
        distance = float(np.linalg.norm(target_in_base[:3, 3] - start[:3, 3]))
        angle = float(
            np.linalg.norm(matrix_to_rotation_vector(start[:3, :3].T @ target_in_base[:3, :3]))
        )
        count = max(
            1,
            math.ceil(distance / self.config.waypoint_spacing),
            math.ceil(angle / self.config.waypoint_angle),
        )
        waypoints = []
        for k in range(1, count + 1):
            pose = _interpolate_pose(start, target_in_base, k / count)
            try:
                solution = self.kinematics.nearest(pose, joints)
            except UnreachablePose as error:
                goal = np.round(target_in_base[:3, 3], 3).tolist()
                raise HardwareError(f"pose unreachable: target {goal}: {error}") from None
            jump = float(np.abs(solution - joints).max())
            if jump > self.config.max_joint_step:
                raise HardwareError(
                    f"pose unreachable: the straight path passes a singularity near "
                    f"{np.round(pose[:3, 3], 3).tolist()} (a joint would jump {jump:.2f} rad)"
                )
            waypoints.append(solution)
            joints = solution
        return np.array(waypoints)

    def move_linear(self, target_pose: np.ndarray, limits: MotionLimits) -> None:
        """Move the tool in a straight line to the UR pose (6,) in base_link (see `SimArm`)."""
        self._require_healthy()
        target = pose6_to_matrix(target_pose)
        _check_limits(limits)
        waypoints = self.plan_linear(target)
        with self.lock:
            start = self.kinematics.forward(self.joints)
        distance = float(np.linalg.norm(target[:3, 3] - start[:3, 3]))
        angle = float(np.linalg.norm(matrix_to_rotation_vector(start[:3, :3].T @ target[:3, :3])))
        linear = TrapezoidalProfile(distance, limits.speed, limits.acceleration)
        angular = TrapezoidalProfile(
            angle, self.config.angular_speed, self.config.angular_acceleration
        )
        # The slower of the translation and the rotation sets the pace of both.
        profile, length = (linear, distance)
        if angular.duration > linear.duration:
            profile, length = (angular, angle)
        duration = profile.duration
        self._stop_requested.clear()
        generation = self._generation
        timestep = self.model.opt.timestep
        chunk = max(1, round(self.config.step_chunk_time / timestep))
        total = max(1, math.ceil(duration / timestep))
        step = 0
        while step < total:
            if self._stop_requested.is_set():
                self._stop_where_held()
                raise HardwareError("motion stopped: stop() was called during moveL")
            with self.lock:
                if self._generation != generation:
                    raise HardwareError("motion aborted: the world was reset during moveL")
                n = min(chunk, total - step)
                for _ in range(n):
                    step += 1
                    fraction = profile.position(step * timestep) / length if length > 0 else 1.0
                    self._set_mocap(_interpolate_pose(start, target, fraction))
                    self._step(1)
                self._check_tracking()
            self._pace(n * timestep)
        with self.lock:
            self.joints = waypoints[-1].copy()
            self._set_mocap(target)
        self._run(self.config.settle_after_motion)
        with self.lock:
            self._check_tracking()

    def _set_mocap(self, pose_in_base: np.ndarray) -> None:
        pose = self._base_to_world(pose_in_base)
        self.data.mocap_pos[self._mocap] = pose[:3, 3]
        self.data.mocap_quat[self._mocap] = _quaternion(pose[:3, :3])

    def _check_tracking(self) -> None:
        """Protective stop when the gripper is held far from the commanded pose (collision)."""
        commanded = np.eye(4)
        commanded[:3, 3] = self.data.mocap_pos[self._mocap]
        rotation = np.zeros(9)
        mujoco.mju_quat2Mat(rotation, self.data.mocap_quat[self._mocap])
        commanded[:3, :3] = rotation.reshape(3, 3)
        actual = np.eye(4)
        actual[:3, :3] = self.data.xmat[self._gripper_body].reshape(3, 3)
        actual[:3, 3] = self.data.xpos[self._gripper_body]
        offset = float(np.linalg.norm(actual[:3, 3] - commanded[:3, 3]))
        turn = float(
            np.linalg.norm(matrix_to_rotation_vector(commanded[:3, :3].T @ actual[:3, :3]))
        )
        if (
            offset > self.config.protective_stop_distance
            or turn > self.config.protective_stop_angle
        ):
            self._stop_where_held()
            raise HardwareError(
                f"protective stop: the tool is blocked {offset * 100:.1f} cm / "
                f"{math.degrees(turn):.0f} deg from its commanded path (collision)"
            )

    def _stop_where_held(self) -> None:
        """The arm stops at the gripper's actual pose (the joints follow it if reachable)."""
        with self.lock:
            actual = self._world_to_base(self.gripper_pose_in_world())
            self._set_mocap(actual)
            try:
                self.joints = self.kinematics.nearest(actual, self.joints)
            except UnreachablePose:
                LOGGER.warning("stopped tool pose has no IK solution; joints kept")

    # ------------------------------------------------------------------ the gripper
    def _set_finger_targets(self, opening: float) -> None:
        self.data.ctrl[self._finger_actuators[0]] = -opening / 2
        self.data.ctrl[self._finger_actuators[1]] = opening / 2

    def _set_force_limit(self, force: float) -> None:
        for actuator in self._finger_actuators:
            self.model.actuator_forcerange[actuator] = (-force, force)

    def gripper_opening(self) -> float:
        """Current jaw opening (m)."""
        with self.lock:
            return float(
                self.data.qpos[self._finger_qpos[1]] - self.data.qpos[self._finger_qpos[0]]
            )

    def gripper_status(self) -> GripperStatus:
        opening = self.gripper_opening()
        margin = self.config.gripper.object_detect_margin
        return GripperStatus(
            opening=opening,
            object_detected=abs(opening - self._gripper_target) > margin,
            fault=self.fault,
        )

    def move_gripper(self, opening: float, speed: float, force: float) -> GripperStatus:
        """Move the jaws to `opening` (m, clipped to the stroke) at `speed` m/s (clipped to the
        2F-85's speed range) with the grip force limited to `force` N (clipped to the gripper
        profile's force range); returns when the fingers stop. object_detected: they stopped
        short of the target (2F-85 gOBJ)."""
        g = self.config.gripper
        for name, value in (("opening", opening), ("speed", speed), ("force", force)):
            if not math.isfinite(value) or value < 0:
                raise ValueError(
                    f"gripper {name} must be a non-negative finite number, got {value}"
                )
        self._require_healthy()
        target = min(max(opening, g.geometry.min_width), g.geometry.max_width)
        speed = min(max(speed, g.min_speed), g.max_speed)
        force = min(max(force, g.min_force), g.max_force)
        with self.lock:
            self._set_force_limit(force)
            start = self.gripper_opening()
            self._gripper_target = target
        timestep = self.model.opt.timestep
        ramp_steps = max(1, math.ceil(abs(target - start) / speed / timestep))
        rest_steps = max(1, round(g.settle_time / timestep))
        max_steps = ramp_steps + round(1.0 / timestep)
        chunk = max(1, round(self.config.step_chunk_time / timestep))
        step = calm = 0
        while step < max_steps and not (step >= ramp_steps and calm >= rest_steps):
            with self.lock:
                for _ in range(chunk):
                    step += 1
                    fraction = min(1.0, step / ramp_steps)
                    self._set_finger_targets(start + fraction * (target - start))
                    self._step(1)
                    finger_speed = float(np.abs(self.data.qvel[list(self._finger_qvel)]).max())
                    calm = calm + 1 if finger_speed < g.rest_speed else 0
            self._pace(chunk * timestep)
        return self.gripper_status()

    # ------------------------------------------------------------------ the camera
    def render_clean(self) -> DepthFrame:
        """Clean depth and segmentation of the current state (see `sim.camera.DepthFrame`)."""
        with self.lock:  # a reset between the camera check and the render must not slip in
            if self._camera is None or self._camera_generation != self._generation:
                if self._camera is not None:
                    self._camera.close()
                self._camera = DepthCamera(self.scene, backend=self._render_backend)
                self._camera_generation = self._generation
            key = (self._generation, self._steps_taken)
            if self._clean_cache is not None and self._clean_cache[:2] == key:
                return self._clean_cache[2]
            frame = self._camera.render()
            self._clean_cache = (*key, frame)
            return frame

    def render_depth(self) -> np.ndarray:
        """(H, W) float32 depth in metres as the world's depth sensor gives it (0 = no data)."""
        return self.render_depth_and_labels()[0]

    def render_depth_and_labels(self) -> tuple[np.ndarray, np.ndarray]:
        """`render_depth`'s frame and the segmentation of the same state: (H, W) int32, 0 on
        the background (table, robot, floor), i + 1 on object i of `object_models` where the
        camera sees it (an object in the bin is out of view)."""
        frame = self.render_clean()  # depth and segmentation of one state
        depth = apply_sensor_noise(
            frame.depth, frame.intrinsics, self.config.world.noise, self._noise_rng
        )
        return depth, frame.segmentation

    def close(self) -> None:
        """Free the camera's GL context (call from the rendering thread)."""
        if self._camera is not None:
            self._camera.close()
            self._camera = None


def _check_limits(limits: MotionLimits) -> None:
    if not isinstance(limits, MotionLimits):
        raise TypeError(f"limits must be a MotionLimits, got {type(limits).__name__}")
    if not (math.isfinite(limits.speed) and 0 < limits.speed <= UR_MAX_TOOL_SPEED):
        raise ValueError(
            f"limits.speed must be in (0, {UR_MAX_TOOL_SPEED}] m/s, got {limits.speed}"
        )
    if not (
        math.isfinite(limits.acceleration) and 0 < limits.acceleration <= UR_MAX_TOOL_ACCELERATION
    ):
        raise ValueError(
            f"limits.acceleration must be in (0, {UR_MAX_TOOL_ACCELERATION}] m/s^2, "
            f"got {limits.acceleration}"
        )


# ------------------------------------------------------------------------------ drivers
class SimArm:
    """The simulated UR5 behind the `hardware.interfaces.Arm` protocol."""

    def __init__(self, world: SimRobotWorld) -> None:
        self._world = world
        self._connected = False

    def connect(self, timeout: float) -> None:
        self._connected = True

    def is_connected(self) -> bool:
        return self._connected

    def _require_connected(self) -> None:
        if not self._connected:
            raise HardwareError("arm not connected: call connect() first")

    def tcp_pose(self) -> np.ndarray:
        """(6,) tool pose (x, y, z, rx, ry, rz) in base_link."""
        self._require_connected()
        return matrix_to_pose6(self._world.tool_pose_in_base())

    def move_linear(self, pose: np.ndarray, limits: MotionLimits) -> None:
        """Straight tool motion to `pose` (6,) in base_link with trapezoidal speed; raises
        HardwareError when unreachable, stopped, blocked (protective stop) or diverged."""
        self._require_connected()
        try:
            target = pose6_to_matrix(pose)
        except ValueError as error:
            raise HardwareError(f"pose unreachable: {error}") from None
        self._world.move_linear(matrix_to_pose6(target), limits)

    def stop(self) -> None:
        self._world.request_stop()

    def disconnect(self) -> None:
        self._connected = False


class SimGripper:
    """The simulated Robotiq 2F-85 behind the `hardware.interfaces.Gripper` protocol."""

    def __init__(self, world: SimRobotWorld) -> None:
        self._world = world
        self._connected = False
        self._active = False

    def connect(self, timeout: float) -> None:
        self._connected = True

    def is_connected(self) -> bool:
        return self._connected

    def activate(self) -> None:
        if not self._connected:
            raise HardwareError("gripper not connected: call connect() first")
        self._active = True

    def _require_active(self) -> None:
        if not self._connected:
            raise HardwareError("gripper not connected: call connect() first")
        if not self._active:
            raise HardwareError("gripper not activated: call activate() first")

    def open(self, width: float, speed: float, force: float) -> GripperStatus:
        self._require_active()
        return self._world.move_gripper(width, speed, force)

    def close(self, speed: float, force: float) -> GripperStatus:
        self._require_active()
        return self._world.move_gripper(0.0, speed, force)

    def status(self) -> GripperStatus:
        self._require_active()
        return self._world.gripper_status()

    def disconnect(self) -> None:
        self._connected = False
        self._active = False
