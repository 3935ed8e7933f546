"""Planned grasps as ROS messages: gqstn_msgs/Grasp, a gripper MarkerArray and a debug image.

Conversions only (no node, no rclpy): the inference and fallback nodes turn a `PlannedGrasp`
into the `Grasp` of docs/interface.md, re-express it in `base_link` with the hand-eye
calibration, and draw it for RViz. The grasp frame: origin at the grasp centre at gripper depth,
x = approach, y = jaw closing axis, z = x cross y (`grasping.grasp.grasp_frame_rotation`).
"""

from __future__ import annotations

import array
import math
from copy import deepcopy

import cv2
import numpy as np
from builtin_interfaces.msg import Duration
from geometry_msgs.msg import Point, Pose, Quaternion, Vector3
from gqstn_msgs.msg import Grasp
from sensor_msgs.msg import Image
from std_msgs.msg import ColorRGBA, Header
from visualization_msgs.msg import Marker, MarkerArray

from gqstn_ros.camera_model import CameraIntrinsics
from gqstn_ros.depth_image import metres_to_image
from gqstn_ros.detection import PlannedGrasp
from gqstn_ros.geometry import RigidTransform, quaternion_from_xyzw, quaternion_to_xyzw
from gqstn_ros.grasping.grasp import grasp_pose_in_camera
from gqstn_ros.gripper import GripperConfig, default_gripper

PALM_THICKNESS_M = 0.02  # drawn palm extent along the approach axis (display only)
ROBUST_COLOUR = (0.1, 0.8, 0.2)  # RGB, markers of a robust grasp
NOT_ROBUST_COLOUR = (0.9, 0.4, 0.1)
MARKER_NAMESPACE = "grasp"


def transform_to_pose(transform: RigidTransform) -> Pose:
    x, y, z = (float(v) for v in transform.translation)
    qx, qy, qz, qw = (float(v) for v in quaternion_to_xyzw(transform.quaternion))
    return Pose(position=Point(x=x, y=y, z=z), orientation=Quaternion(x=qx, y=qy, z=qz, w=qw))


def pose_to_transform(pose: Pose) -> RigidTransform:
    q = pose.orientation
    p = pose.position
    return RigidTransform.from_pose((p.x, p.y, p.z), quaternion_from_xyzw((q.x, q.y, q.z, q.w)))


def planned_grasp_to_msg(
    grasp: PlannedGrasp,
    intrinsics: CameraIntrinsics,
    header: Header,
    q_threshold: float,
    planning_time_s: float,
) -> Grasp:
    """The gqstn_msgs/Grasp of `grasp` in the camera optical frame named by `header`."""
    pose, width_m = grasp_pose_in_camera(
        grasp.center_px, grasp.angle, grasp.width_px, grasp.depth, intrinsics
    )
    msg = Grasp()
    msg.header = deepcopy(header)
    msg.pose = transform_to_pose(pose)
    msg.width = float(width_m)
    msg.depth = float(grasp.depth)
    msg.q_value = float(grasp.q_value)
    msg.robust = bool(grasp.q_value >= q_threshold)
    msg.center_px = [float(grasp.center_px[0]), float(grasp.center_px[1])]
    msg.angle = float(grasp.angle)
    msg.width_px = float(grasp.width_px)
    msg.planner = grasp.planner
    msg.planning_time = float(planning_time_s)
    msg.thumbnail = metres_to_image(np.asarray(grasp.thumbnail, dtype=np.float32), header=header)
    return msg


def grasp_in_frame(grasp: Grasp, parent_from_camera: RigidTransform, frame_id: str) -> Grasp:
    """A copy of `grasp` with its pose expressed in `frame_id` (e.g. base_link).

    `parent_from_camera` is the camera optical frame's pose in `frame_id` (hand-eye).
    """
    moved = deepcopy(grasp)
    moved.header.frame_id = frame_id
    moved.pose = transform_to_pose(parent_from_camera.compose(pose_to_transform(grasp.pose)))
    return moved


def _cube(
    header: Header,
    marker_id: int,
    grasp_pose: RigidTransform,
    offset: tuple[float, float, float],
    size: tuple[float, float, float],
    colour: tuple[float, float, float],
) -> Marker:
    """A cube at `offset` (grasp frame, metres) with the grasp's orientation."""
    centre = RigidTransform(
        grasp_pose.rotation, grasp_pose.rotation @ offset + grasp_pose.translation
    )
    return Marker(
        header=deepcopy(header),
        ns=MARKER_NAMESPACE,
        id=marker_id,
        type=Marker.CUBE,
        action=Marker.ADD,
        pose=transform_to_pose(centre),
        scale=Vector3(x=size[0], y=size[1], z=size[2]),
        color=ColorRGBA(r=colour[0], g=colour[1], b=colour[2], a=0.8),
        lifetime=Duration(sec=0),
    )


def gripper_markers(grasp: Grasp, gripper: GripperConfig | None = None) -> MarkerArray:
    """A parallel-jaw gripper at the grasp: palm, two fingers (cubes) and the Q value (text).

    The fingertips reach the grasp centre's depth, the fingers' inner faces `grasp.width` apart
    along the jaw axis (y), the palm behind them along the approach axis (x); finger sizes are
    `gripper`'s (None: `gripper.default_gripper()`).
    """
    gripper = gripper if gripper is not None else default_gripper()
    pose = pose_to_transform(grasp.pose)
    colour = ROBUST_COLOUR if grasp.robust else NOT_ROBUST_COLOUR
    half_gap = 0.5 * float(grasp.width) + 0.5 * gripper.finger_thickness
    finger_size = (gripper.finger_depth, gripper.finger_thickness, gripper.finger_width)
    finger_x = -0.5 * gripper.finger_depth
    palm_x = -gripper.finger_depth - 0.5 * PALM_THICKNESS_M
    palm_span = float(grasp.width) + 2.0 * gripper.finger_thickness
    markers = [
        _cube(grasp.header, 0, pose, (finger_x, -half_gap, 0.0), finger_size, colour),
        _cube(grasp.header, 1, pose, (finger_x, half_gap, 0.0), finger_size, colour),
        _cube(
            grasp.header,
            2,
            pose,
            (palm_x, 0.0, 0.0),
            (PALM_THICKNESS_M, palm_span, gripper.finger_width),
            colour,
        ),
    ]
    label = _cube(grasp.header, 3, pose, (palm_x - 0.03, 0.0, 0.0), (0.0, 0.0, 0.02), colour)
    label.type = Marker.TEXT_VIEW_FACING
    label.text = f"{grasp.planner} q={grasp.q_value:.2f}"
    label.color.a = 1.0
    markers.append(label)
    return MarkerArray(markers=markers)


def depth_to_bgr(depth_m: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 grey rendering of (H, W) metres: near is bright, 2-98 % percentile range."""
    finite = depth_m[np.isfinite(depth_m)]
    if finite.size == 0:
        return np.zeros((*depth_m.shape, 3), dtype=np.uint8)
    near, far = np.percentile(finite, [2.0, 98.0])
    span = max(float(far - near), 1e-6)
    grey = np.clip((far - np.nan_to_num(depth_m, nan=far)) / span, 0.0, 1.0)
    grey = (grey * 255.0).astype(np.uint8)
    return cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR)


def grasp_debug_image(depth_m: np.ndarray, grasp: Grasp, header: Header) -> Image:
    """A bgr8 Image of the depth frame with the grasp drawn: jaw line, jaw ends, centre, Q."""
    canvas = depth_to_bgr(np.asarray(depth_m, dtype=np.float32))  # (H, W, 3)
    u, v = float(grasp.center_px[0]), float(grasp.center_px[1])
    half = 0.5 * float(grasp.width_px)
    du, dv = half * math.cos(grasp.angle), half * math.sin(grasp.angle)
    first = (round(u - du), round(v - dv))
    second = (round(u + du), round(v + dv))
    bgr = tuple(
        int(255 * c) for c in reversed(ROBUST_COLOUR if grasp.robust else NOT_ROBUST_COLOUR)
    )
    cv2.line(canvas, first, second, bgr, 2, cv2.LINE_AA)
    for end in (first, second):
        cv2.circle(canvas, end, 4, bgr, -1, cv2.LINE_AA)
    cv2.drawMarker(canvas, (round(u), round(v)), bgr, cv2.MARKER_CROSS, 10, 1)
    cv2.putText(
        canvas,
        f"{grasp.planner} q={grasp.q_value:.2f}",
        (8, 20),
        cv2.FONT_HERSHEY_SIMPLEX,
        0.6,
        bgr,
        1,
        cv2.LINE_AA,
    )
    image = Image(header=deepcopy(header), height=canvas.shape[0], width=canvas.shape[1])
    image.encoding = "bgr8"
    image.is_bigendian = False
    image.step = canvas.shape[1] * 3
    data = array.array("B")
    data.frombytes(canvas.tobytes())
    image.data = data  # array.array('B') is taken as is; bytes are checked element by element
    return image
