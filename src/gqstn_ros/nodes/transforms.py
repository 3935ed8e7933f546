"""The hand-eye calibration as node parameters, and TF messages (`/tf`, `/tf_static`; their
names and QoS in `gqstn_ros.nodes.topics`).

Every node that needs the camera optical frame's pose in the robot base frame (the inference
node: `/tf_static`, grasps and markers in `base_link`; the executor: goals given in the camera
frame; the simulated world: checks its camera against it) declares `HAND_EYE_PARAMETERS`. The
bench sets them for all of those nodes from one file, `config/hand_eye.yaml` (a `/**` section,
which applies to every node of a process). No node, no rclpy executor here: parameters and
message conversions only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from builtin_interfaces.msg import Time
from geometry_msgs.msg import Quaternion, Transform, TransformStamped, Vector3

from gqstn_ros.geometry import RigidTransform, quaternion_from_xyzw, quaternion_to_xyzw
from gqstn_ros.nodes.parameters import NodeParameters, ParameterSpec, ParameterValueError

DEFAULT_BASE_FRAME = "base_link"
DEFAULT_CAMERA_FRAME = "camera_depth_optical_frame"
# The simulated bench's camera: 0.7 m above (0.5, 0, 0) of base_link looking straight down,
# optical x along -y of base_link (sim/robot.py builds the same camera).
DEFAULT_CAMERA_POSITION = [0.5, 0.0, 0.7]
DEFAULT_CAMERA_ORIENTATION_XYZW = [0.7071068, -0.7071068, 0.0, 0.0]


def _unit_quaternion(value: Any) -> str | None:
    norm = math.sqrt(sum(float(v) ** 2 for v in value))
    return None if abs(norm - 1.0) <= 1e-3 else f"quaternion norm is {norm:.4f}, must be 1"


def _frame_name(value: str) -> str | None:
    if not value or value.startswith("/") or any(c.isspace() for c in value):
        return f"{value!r} is not a TF frame name (non-empty, no leading '/', no spaces)"
    return None


HAND_EYE_PARAMETERS = (
    ParameterSpec(
        "hand_eye.position",
        DEFAULT_CAMERA_POSITION,
        "Hand-eye: the camera optical frame's origin in hand_eye.base_frame (m)",
        -10.0,
        10.0,
        length=3,
    ),
    ParameterSpec(
        "hand_eye.orientation_xyzw",
        DEFAULT_CAMERA_ORIENTATION_XYZW,
        "Hand-eye: the camera optical frame's orientation in hand_eye.base_frame, unit "
        "quaternion (x, y, z, w)",
        -1.0,
        1.0,
        length=4,
        check_value=_unit_quaternion,
    ),
    ParameterSpec(
        "hand_eye.base_frame",
        DEFAULT_BASE_FRAME,
        "The robot base frame (REP 105)",
        check_value=_frame_name,
    ),
    ParameterSpec(
        "hand_eye.camera_frame",
        DEFAULT_CAMERA_FRAME,
        "The camera optical frame of the depth images (REP 103: z forward, x right, y down)",
        check_value=_frame_name,
    ),
)


@dataclass(frozen=True)
class HandEye:
    """The camera optical frame's pose in the robot base frame (maps camera to base)."""

    base_from_camera: RigidTransform
    base_frame: str
    camera_frame: str

    @classmethod
    def from_parameters(cls, parameters: NodeParameters) -> HandEye:
        """From the declared `HAND_EYE_PARAMETERS`; ParameterValueError says what is wrong."""
        try:
            transform = RigidTransform.from_pose(
                parameters["hand_eye.position"],
                quaternion_from_xyzw(parameters["hand_eye.orientation_xyzw"]),
            )
        except ValueError as error:
            raise ParameterValueError(f"hand-eye parameters: {error}") from error
        base, camera = parameters["hand_eye.base_frame"], parameters["hand_eye.camera_frame"]
        if base == camera:
            raise ParameterValueError(
                f"hand-eye parameters: hand_eye.base_frame and hand_eye.camera_frame are both "
                f"{base!r}"
            )
        return cls(transform, base, camera)

    def transform_stamped(self, stamp: Time | None = None) -> TransformStamped:
        """The camera frame in the base frame, as TF carries it (static: stamp 0)."""
        return transform_stamped(
            self.base_from_camera, self.base_frame, self.camera_frame, stamp or Time()
        )


def transform_stamped(
    parent_from_child: RigidTransform, parent: str, child: str, stamp: Time
) -> TransformStamped:
    """`child`'s pose in `parent` as a TransformStamped (header frame = parent)."""
    message = TransformStamped()
    message.header.frame_id = parent
    message.header.stamp = stamp
    message.child_frame_id = child
    x, y, z = (float(v) for v in parent_from_child.translation)
    qx, qy, qz, qw = (float(v) for v in quaternion_to_xyzw(parent_from_child.quaternion))
    message.transform = Transform(
        translation=Vector3(x=x, y=y, z=z), rotation=Quaternion(x=qx, y=qy, z=qz, w=qw)
    )
    return message


def transform_from_message(message: TransformStamped) -> RigidTransform:
    """The child-to-parent transform a TransformStamped carries."""
    t, q = message.transform.translation, message.transform.rotation
    return RigidTransform.from_pose((t.x, t.y, t.z), quaternion_from_xyzw((q.x, q.y, q.z, q.w)))
