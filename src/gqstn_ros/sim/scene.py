"""A MuJoCo scene: a table, objects dropped on it, and the depth camera above it.

The model is built programmatically with `mujoco.MjSpec`. World frame: z up, table top at
z = 0. Each object is a free body whose mass, centre of mass (the body origin) and full inertia
tensor are set explicitly from its `ObjectModel` (so parts of different densities count, not
MuJoCo's guess from the geoms), with one visual geom (the full mesh: what the camera sees and
rays hit) and one collision geom per convex part (MuJoCo collides meshes through their convex
hulls). An object with a surface friction of its own (`ObjectModel.friction`) gives it to its
collision geoms with geom priority 1: MuJoCo then takes that geom's friction (and its contact
softness) for every contact with the object, instead of the larger of the two coefficients.
Quaternions are (w, x, y, z).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import mujoco
import numpy as np

from gqstn_ros.geometry import quaternion_to_matrix
from gqstn_ros.sim.objects import ObjectModel, generate_random_object
from gqstn_ros.sim.world_config import CameraConfig, WorldConfig

LOGGER = logging.getLogger(__name__)

# Geom groups: the camera (GL and ray casting) sees groups 0-2 only, MuJoCo's default.
TABLE_GROUP = 0
OBJECT_VISUAL_GROUP = 1
COLLISION_GROUP = 3
VISIBLE_GEOM_GROUPS = np.array([1, 1, 1, 0, 0, 0], dtype=np.uint8)
CAMERA_NAME = "depth_camera"
# Segmentation labels: background (table, floor, nothing) is 0, object i is i + 1.
BACKGROUND_LABEL = 0
# Size of MuJoCo's offscreen framebuffer is at least this (px) in each direction.
_MIN_OFFSCREEN_SIZE = 640
# Physical size of one pixel of the virtual sensor used to pass intrinsics to MuJoCo (m).
_VIRTUAL_PIXEL_PITCH = 1e-5
TABLE_GEOM_NAME = "table"  # the MuJoCo geom of the table top


def object_label(index: int) -> int:
    """Segmentation label of the object at `index` (0-based) in the scene."""
    return index + 1


@dataclass(frozen=True)
class SettleResult:
    """Outcome of `Scene.settle`.

    settled: every object stayed below the speed thresholds for the hold time.
    sim_time: simulated seconds. steps: physics steps taken.
    fell_off: indices of objects that left the table (ended below its top or outside it).
    max_linear_speed / max_angular_speed: largest object speeds at the end, m/s and rad/s.
    """

    settled: bool
    sim_time: float
    steps: int
    fell_off: tuple[int, ...]
    max_linear_speed: float
    max_angular_speed: float

    @property
    def ok(self) -> bool:
        """Settled with every object on the table."""
        return self.settled and not self.fell_off

    @property
    def message(self) -> str:
        parts = [
            f"settled after {self.sim_time:.2f} s"
            if self.settled
            else f"did not settle in {self.sim_time:.2f} s "
            f"(speeds {self.max_linear_speed:.3g} m/s, "
            f"{self.max_angular_speed:.3g} rad/s)"
        ]
        if self.fell_off:
            parts.append(f"objects {list(self.fell_off)} fell off the table")
        return "; ".join(parts)


def random_quaternion(rng: np.random.Generator) -> np.ndarray:
    """Uniformly distributed unit quaternion (w, x, y, z), w >= 0."""
    q = rng.normal(size=4)
    q /= np.linalg.norm(q)
    return q if q[0] >= 0 else -q


def set_camera_in_model(model: mujoco.MjModel, camera_id: int, camera: CameraConfig) -> None:
    """Write pose and pinhole intrinsics of `camera` into the model's camera `camera_id`.

    MuJoCo cameras look along their -z with y up; the optical frame looks along +z with y down,
    so the MuJoCo camera frame is the optical frame turned 180 degrees about x.
    """
    rotation = camera.pose.rotation @ np.diag([1.0, -1.0, -1.0])
    quaternion = np.zeros(4)
    mujoco.mju_mat2Quat(quaternion, rotation.ravel())
    model.cam_pos[camera_id] = camera.pose.position
    model.cam_quat[camera_id] = quaternion
    k = camera.intrinsics
    pitch = _VIRTUAL_PIXEL_PITCH
    model.cam_resolution[camera_id] = (k.width, k.height)
    model.cam_sensorsize[camera_id] = (k.width * pitch, k.height * pitch)
    # MuJoCo's principal offset is measured from the image centre, with the opposite sign.
    model.cam_intrinsic[camera_id] = (
        k.fx * pitch,
        k.fy * pitch,
        -(k.cx - (k.width - 1) / 2.0) * pitch,
        -(k.cy - (k.height - 1) / 2.0) * pitch,
    )
    extent = model.stat.extent
    model.vis.map.znear = camera.near_clip / extent
    model.vis.map.zfar = camera.far_clip / extent


class Scene:
    """A table, objects on it and a depth camera, simulated by MuJoCo.

    Build with `Scene.build(objects, config, seed)` (objects are dropped at random poses), then
    `settle()`. `model` and `data` are the MuJoCo model and state.
    """

    def __init__(
        self,
        model: mujoco.MjModel,
        data: mujoco.MjData,
        *,
        objects: tuple[ObjectModel, ...],
        config: WorldConfig,
        body_ids: tuple[int, ...],
        geom_labels: np.ndarray,
    ) -> None:
        self.model = model
        self.data = data
        self.objects = objects
        self.config = config
        self._body_ids = body_ids
        self._qpos_addresses = tuple(int(model.jnt_qposadr[model.body_jntadr[b]]) for b in body_ids)
        self._qvel_addresses = tuple(int(model.jnt_dofadr[model.body_jntadr[b]]) for b in body_ids)
        self.geom_labels = geom_labels
        self.camera_id = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_CAMERA, CAMERA_NAME)

    # ---------------------------------------------------------------------------------------
    @classmethod
    def build(
        cls,
        objects: Sequence[ObjectModel],
        config: WorldConfig | None = None,
        seed: int = 0,
    ) -> Scene:
        """Table, camera and `objects` dropped at random poses above the table centre.

        Objects start uniformly in the drop disc, at random orientations (uniform on SO(3)),
        stacked in height so that their bounding spheres do not overlap. `seed` draws the poses.
        """
        config = config or WorldConfig()
        objects = tuple(objects)
        if not objects:
            raise ValueError("objects: a scene needs at least one object")
        names = [o.name for o in objects]
        if len(set(names)) != len(names):
            raise ValueError(f"objects: names must be unique, got {names}")
        spec = _build_spec(objects, config)
        model = spec.compile()
        data = mujoco.MjData(model)
        body_ids = tuple(
            mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, _body_name(i))
            for i in range(len(objects))
        )
        geom_labels = np.full(model.ngeom, BACKGROUND_LABEL, dtype=np.int32)
        for index, body in enumerate(body_ids):
            geom_labels[model.geom_bodyid == body] = object_label(index)
        scene = cls(
            model, data, objects=objects, config=config, body_ids=body_ids, geom_labels=geom_labels
        )
        set_camera_in_model(model, scene.camera_id, config.camera)
        scene._drop(np.random.default_rng(seed))
        return scene

    @classmethod
    def build_random(cls, config: WorldConfig | None = None, seed: int = 0) -> Scene:
        """A scene of `config.num_objects` objects drawn from `config.object_families`."""
        config = config or WorldConfig()
        object_seeds = np.random.default_rng([seed, 1]).integers(0, 2**31, config.num_objects)
        objects = [generate_random_object(int(s), config.object_families) for s in object_seeds]
        # Two draws may give the same object name: make names unique.
        unique: list[ObjectModel] = []
        for index, drawn in enumerate(objects):
            taken = any(o.name == drawn.name for o in unique)
            name = f"{drawn.name}_{index}" if taken else drawn.name
            unique.append(ObjectModel(**{**drawn.__dict__, "name": name}) if taken else drawn)
        return cls.build(unique, config, seed)

    # ---------------------------------------------------------------------------------------
    def _drop(self, rng: np.random.Generator) -> None:
        drop = self.config.drop
        base = 0.0
        for index, obj in enumerate(self.objects):
            angle = rng.uniform(0.0, 2.0 * np.pi)
            radius = drop.radius * np.sqrt(rng.uniform())
            clearance = rng.uniform(drop.min_clearance, drop.max_clearance)
            height = base + clearance + obj.bounding_radius
            position = np.array(
                [
                    drop.center_x + radius * np.cos(angle),
                    drop.center_y + radius * np.sin(angle),
                    height,
                ]
            )
            self.set_object_pose(index, position, random_quaternion(rng))
            base = height + obj.bounding_radius
        mujoco.mj_forward(self.model, self.data)

    def redrop(self, seed: int) -> None:
        """Drop the same objects again at new random poses drawn from `seed` (call `settle`
        next). Reuses the compiled model, so cameras and renderers of the scene stay valid."""
        self.data.time = 0.0
        self._drop(np.random.default_rng(seed))

    def set_object_pose(self, index: int, position: np.ndarray, quaternion: np.ndarray) -> None:
        """Place object `index` at `position` (3,) m with orientation (w, x, y, z), at rest."""
        self._check_index(index)
        quaternion = np.asarray(quaternion, dtype=np.float64)
        if not np.isclose(np.linalg.norm(quaternion), 1.0, atol=1e-6):
            raise ValueError(f"quaternion must be unit (w, x, y, z), got {quaternion}")
        address = self._qpos_addresses[index]
        self.data.qpos[address : address + 3] = position
        self.data.qpos[address + 3 : address + 7] = quaternion
        velocity = self._qvel_addresses[index]
        self.data.qvel[velocity : velocity + 6] = 0.0
        mujoco.mj_forward(self.model, self.data)

    def _check_index(self, index: int) -> None:
        if not 0 <= index < len(self.objects):
            raise IndexError(f"object index {index} out of range [0, {len(self.objects)})")

    # ---------------------------------------------------------------------------------------
    def object_pose(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """(position (3,) m, quaternion (4,) (w, x, y, z)) of object `index` in the world."""
        self._check_index(index)
        body = self._body_ids[index]
        return self.data.xpos[body].copy(), self.data.xquat[body].copy()

    def object_transform(self, index: int) -> np.ndarray:
        """(4, 4) homogeneous transform world <- object frame of object `index`."""
        position, quaternion = self.object_pose(index)
        transform = np.eye(4)
        transform[:3, :3] = quaternion_to_matrix(quaternion)
        transform[:3, 3] = position
        return transform

    def object_vertices_world(self, index: int) -> np.ndarray:
        """(N, 3) mesh vertices of object `index` in the world frame, metres."""
        transform = self.object_transform(index)
        return self.objects[index].vertices @ transform[:3, :3].T + transform[:3, 3]

    def object_speeds(self) -> tuple[np.ndarray, np.ndarray]:
        """(linear speeds (n,) m/s, angular speeds (n,) rad/s) of the objects."""
        linear = np.array([np.linalg.norm(self.data.qvel[a : a + 3]) for a in self._qvel_addresses])
        angular = np.array(
            [np.linalg.norm(self.data.qvel[a + 3 : a + 6]) for a in self._qvel_addresses]
        )
        return linear, angular

    def objects_off_table(self) -> tuple[int, ...]:
        """Indices of objects whose centre is below the table top (by the margin) or beyond it."""
        table, margin = self.config.table, self.config.physics.fell_off_margin
        off = []
        for index in range(len(self.objects)):
            x, y, z = self.object_pose(index)[0]
            if (
                z < -margin
                or abs(x) > table.size_x / 2 + margin
                or abs(y) > table.size_y / 2 + margin
            ):
                off.append(index)
        return tuple(off)

    def settle(self) -> SettleResult:
        """Simulate until every object rests (or `physics.max_settle_time` passes).

        Rest: linear and angular speeds of every object below the thresholds for
        `physics.settle_hold_time`. Logs a warning when the scene does not settle or an object
        fell off the table; the result says so too.
        """
        physics = self.config.physics
        hold_steps = max(1, round(physics.settle_hold_time / physics.timestep))
        max_steps = max(1, round(physics.max_settle_time / physics.timestep))
        calm_steps = 0
        steps = 0
        linear = angular = np.zeros(len(self.objects))
        while steps < max_steps:
            mujoco.mj_step(self.model, self.data)
            steps += 1
            linear, angular = self.object_speeds()
            calm = bool(
                np.all(linear < physics.linear_speed_threshold)
                and np.all(angular < physics.angular_speed_threshold)
            )
            calm_steps = calm_steps + 1 if calm else 0
            if calm_steps >= hold_steps:
                break
        mujoco.mj_forward(self.model, self.data)
        result = SettleResult(
            settled=calm_steps >= hold_steps,
            sim_time=steps * physics.timestep,
            steps=steps,
            fell_off=self.objects_off_table(),
            max_linear_speed=float(linear.max()),
            max_angular_speed=float(angular.max()),
        )
        if not result.ok:
            LOGGER.warning("scene %s", result.message)
        return result


def _body_name(index: int) -> str:
    return f"object_{index}"


def _build_spec(objects: tuple[ObjectModel, ...], config: WorldConfig) -> mujoco.MjSpec:
    spec = mujoco.MjSpec()
    spec.modelname = "gqstn_world"
    physics = config.physics
    spec.option.timestep = physics.timestep
    spec.compiler.inertiafromgeom = mujoco.mjtInertiaFromGeom.mjINERTIAFROMGEOM_FALSE
    width, height = config.camera.intrinsics.width, config.camera.intrinsics.height
    spec.visual.global_.offwidth = max(width, _MIN_OFFSCREEN_SIZE)
    spec.visual.global_.offheight = max(height, _MIN_OFFSCREEN_SIZE)
    # The depth camera renders segment colours, which MuJoCo draws without multisampling,
    # lighting or shadows: every sample of a pixel would hold the same depth and colour, and a
    # shadow map would never be read. Single-sample buffers and no shadow map give the same
    # images (test_sim_camera checks it) at a third of the rendering time, and a GL context
    # set up in 15 ms instead of 70 ms (the default 4096^2 shadow map).
    spec.visual.quality.offsamples = 0
    spec.visual.quality.shadowsize = 0
    friction = [physics.sliding_friction, physics.torsional_friction, physics.rolling_friction]

    table = config.table
    world = spec.worldbody
    world.add_geom(
        name=TABLE_GEOM_NAME,
        type=mujoco.mjtGeom.mjGEOM_BOX,
        size=[table.size_x / 2, table.size_y / 2, table.thickness / 2],
        pos=[0.0, 0.0, -table.thickness / 2],
        group=TABLE_GROUP,
        friction=friction,
        condim=6,
        rgba=[0.6, 0.5, 0.4, 1.0],
    )
    world.add_geom(
        name="floor",
        type=mujoco.mjtGeom.mjGEOM_PLANE,
        size=[0.0, 0.0, 1.0],  # infinite plane
        pos=[0.0, 0.0, -table.floor_depth],
        group=TABLE_GROUP,
        friction=friction,
        condim=6,
        rgba=[0.3, 0.3, 0.3, 1.0],
    )
    world.add_camera(name=CAMERA_NAME)  # pose and intrinsics: set_camera_in_model
    world.add_light(pos=[0.0, 0.0, 2.0], dir=[0.0, 0.0, -1.0])

    for index, obj in enumerate(objects):
        surface = friction if obj.friction is None else [obj.friction, *friction[1:]]
        body = world.add_body(name=_body_name(index))
        body.add_freejoint()
        body.explicitinertial = True
        body.mass = obj.mass
        body.ipos = [0.0, 0.0, 0.0]
        i = obj.inertia
        body.fullinertia = [i[0, 0], i[1, 1], i[2, 2], i[0, 1], i[0, 2], i[1, 2]]
        visual_mesh = spec.add_mesh(name=f"{obj.name}_visual")
        visual_mesh.uservert = obj.vertices.ravel().tolist()
        visual_mesh.userface = obj.faces.ravel().tolist()
        body.add_geom(
            name=f"{obj.name}_visual",
            type=mujoco.mjtGeom.mjGEOM_MESH,
            meshname=visual_mesh.name,
            group=OBJECT_VISUAL_GROUP,
            contype=0,
            conaffinity=0,
            rgba=[0.2, 0.4, 0.8, 1.0],
        )
        for part_index, part in enumerate(obj.convex_parts):
            part_mesh = spec.add_mesh(name=f"{obj.name}_part{part_index}")
            part_mesh.uservert = part.ravel().tolist()
            body.add_geom(
                name=f"{obj.name}_part{part_index}",
                type=mujoco.mjtGeom.mjGEOM_MESH,
                meshname=part_mesh.name,
                group=COLLISION_GROUP,
                friction=surface,
                condim=6,
                priority=0 if obj.friction is None else 1,
            )
    return spec
