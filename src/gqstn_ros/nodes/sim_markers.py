"""The simulated bench drawn for RViz: a MarkerArray in `base_link` (message building only).

The table, the object (its visual mesh as a triangle list), the gripper (its boxes and cylinder)
from the MuJoCo state, and the UR5 as a line through its joint frames (the arm is kinematic: DH
forward kinematics of the joints the simulated controller holds). Poses of MuJoCo geoms are in
the world frame; every marker is re-expressed in `base_link` with `SimRobotWorld.base_in_world`.
"""

from __future__ import annotations

import mujoco
import numpy as np
from builtin_interfaces.msg import Duration, Time
from geometry_msgs.msg import Point, Vector3
from std_msgs.msg import ColorRGBA, Header
from visualization_msgs.msg import Marker, MarkerArray

from gqstn_ros.geometry import RigidTransform
from gqstn_ros.nodes.grasp_messages import transform_to_pose
from gqstn_ros.sim.robot import SimRobotWorld
from gqstn_ros.sim.scene import TABLE_GEOM_NAME
from gqstn_ros.sim.ur5_kinematics import dh_transform

BASE_FRAME = "base_link"
NAMESPACE = "sim"
TABLE_COLOUR = (0.6, 0.5, 0.4, 1.0)  # RGBA
OBJECT_COLOUR = (0.2, 0.5, 0.9, 1.0)
GRIPPER_COLOUR = (0.3, 0.3, 0.3, 1.0)
ARM_COLOUR = (0.9, 0.6, 0.1, 1.0)
ARM_LINE_WIDTH_M = 0.04
# Visual geom groups of sim.scene: the object's visual mesh; its collision parts are skipped.
OBJECT_VISUAL_GROUP = 1


def _colour(rgba: tuple[float, float, float, float]) -> ColorRGBA:
    return ColorRGBA(r=rgba[0], g=rgba[1], b=rgba[2], a=rgba[3])


def _geom_in_base(world: SimRobotWorld, geom: int) -> RigidTransform:
    """Pose of MuJoCo geom `geom` in base_link (lock held by the caller)."""
    in_world = RigidTransform(
        np.asarray(world.data.geom_xmat[geom], dtype=np.float64).reshape(3, 3),
        np.asarray(world.data.geom_xpos[geom], dtype=np.float64),
    )
    return world.base_in_world.inverse().compose(in_world)


def _mesh_triangles(model: mujoco.MjModel, mesh: int, pose: RigidTransform) -> list[Point]:
    """The triangles of mesh `mesh` placed at `pose`, three points each."""
    start, count = int(model.mesh_vertadr[mesh]), int(model.mesh_vertnum[mesh])
    vertices = np.asarray(model.mesh_vert[start : start + count], dtype=np.float64)
    first, faces = int(model.mesh_faceadr[mesh]), int(model.mesh_facenum[mesh])
    corners = vertices[np.asarray(model.mesh_face[first : first + faces]).reshape(-1)]
    placed = corners @ pose.rotation.T + pose.translation
    return [Point(x=float(x), y=float(y), z=float(z)) for x, y, z in placed]


def world_markers(world: SimRobotWorld, stamp: Time) -> MarkerArray:
    """The table, object, gripper and arm of `world` now, in base_link, stamped `stamp`."""
    header = Header(frame_id=BASE_FRAME, stamp=stamp)
    markers: list[Marker] = []

    def add(kind: int, pose: RigidTransform, scale: tuple[float, float, float], rgba) -> Marker:
        marker = Marker(
            header=header,
            ns=NAMESPACE,
            id=len(markers),
            type=kind,
            action=Marker.ADD,
            pose=transform_to_pose(pose),
            scale=Vector3(x=float(scale[0]), y=float(scale[1]), z=float(scale[2])),
            color=_colour(rgba),
            lifetime=Duration(sec=1),  # gone a second after the world stops drawing
        )
        markers.append(marker)
        return marker

    with world.lock:
        model = world.model
        table = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_GEOM, TABLE_GEOM_NAME)
        gripper_bodies = {
            mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, name)
            for name in ("gripper", "finger_left", "finger_right")
        }
        for geom in range(model.ngeom):
            kind, size = int(model.geom_type[geom]), np.asarray(model.geom_size[geom])
            pose = _geom_in_base(world, geom)
            if geom == table:
                add(Marker.CUBE, pose, tuple(2.0 * size), TABLE_COLOUR)
            elif int(model.geom_bodyid[geom]) in gripper_bodies:
                if kind == mujoco.mjtGeom.mjGEOM_BOX:
                    add(Marker.CUBE, pose, tuple(2.0 * size), GRIPPER_COLOUR)
                elif kind == mujoco.mjtGeom.mjGEOM_CYLINDER:
                    diameter = 2.0 * size[0]
                    add(Marker.CYLINDER, pose, (diameter, diameter, 2.0 * size[1]), GRIPPER_COLOUR)
            elif kind == mujoco.mjtGeom.mjGEOM_MESH and (
                int(model.geom_group[geom]) == OBJECT_VISUAL_GROUP
            ):
                identity = RigidTransform.identity()
                mesh = add(Marker.TRIANGLE_LIST, identity, (1.0, 1.0, 1.0), OBJECT_COLOUR)
                mesh.points = _mesh_triangles(model, int(model.geom_dataid[geom]), pose)
        joints = np.asarray(world.joints, dtype=np.float64)
        dh = world.kinematics.config.dh
    frame, origins = np.eye(4), [np.zeros(3)]
    for index in range(6):
        frame = frame @ dh_transform(joints[index], dh.d[index], dh.a[index], dh.alpha[index])
        origins.append(frame[:3, 3].copy())
    identity = RigidTransform.identity()
    arm = add(Marker.LINE_STRIP, identity, (ARM_LINE_WIDTH_M, 0.0, 0.0), ARM_COLOUR)
    arm.points = [Point(x=float(x), y=float(y), z=float(z)) for x, y, z in origins]
    return MarkerArray(markers=markers)
