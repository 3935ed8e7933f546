"""What the inference node publishes for every grasp it answers.

`/grasp_pose` (camera optical frame), the grasp frame on `/tf` (child of the frame the grasp is
given in), `/grasp_markers` and, while subscribed, `/grasp_debug_image`. With a hand-eye
calibration (`hand_eye.enabled`) also the camera's pose in the base frame on `/tf_static`
(again whenever the calibration changed), the grasp on `/grasp_pose/base_link` and the markers in
the base frame; else the markers in the camera frame. Names and QoS: `gqstn_ros.nodes.topics`.
"""

from __future__ import annotations

from gqstn_msgs.msg import Grasp
from rclpy.node import Node
from sensor_msgs.msg import Image
from tf2_msgs.msg import TFMessage
from visualization_msgs.msg import MarkerArray

from gqstn_ros.gripper import GripperConfig
from gqstn_ros.nodes.detection_frames import DetectionFrame
from gqstn_ros.nodes.grasp_messages import (
    grasp_debug_image,
    grasp_in_frame,
    gripper_markers,
    pose_to_transform,
)
from gqstn_ros.nodes.parameters import NodeParameters
from gqstn_ros.nodes.topics import (
    BASE_GRASP_TOPIC,
    DEBUG_IMAGE_TOPIC,
    FRAME_OUTPUT_QOS,
    GRASP_MARKER_TOPIC,
    GRASP_TOPIC,
    RESULT_QOS,
    TF_QOS,
    TF_STATIC_QOS,
    TF_STATIC_TOPIC,
    TF_TOPIC,
)
from gqstn_ros.nodes.transforms import HandEye, transform_stamped


class GraspPublications:
    """The publishers of `node` for its grasps (see the module docstring); `parameters` are
    the node's (`hand_eye.*`, `grasp_frame`)."""

    def __init__(self, node: Node, parameters: NodeParameters, gripper: GripperConfig) -> None:
        self._node = node
        self._parameters = parameters
        self._gripper = gripper
        self.hand_eye_enabled = bool(parameters["hand_eye.enabled"])
        self._grasp = node.create_publisher(Grasp, GRASP_TOPIC, RESULT_QOS)
        self._base_grasp = node.create_publisher(Grasp, BASE_GRASP_TOPIC, RESULT_QOS)
        self._markers = node.create_publisher(MarkerArray, GRASP_MARKER_TOPIC, RESULT_QOS)
        self._debug_image = node.create_publisher(Image, DEBUG_IMAGE_TOPIC, FRAME_OUTPUT_QOS)
        self._tf = node.create_publisher(TFMessage, TF_TOPIC, TF_QOS)
        self._tf_static = node.create_publisher(TFMessage, TF_STATIC_TOPIC, TF_STATIC_QOS)
        self._published_camera_transform = None
        if self.hand_eye_enabled:
            self._publish_camera_transform(HandEye.from_parameters(parameters))

    def publish(self, grasp: Grasp, frame: DetectionFrame) -> None:
        """`grasp`, planned on `frame`, on every topic of the module docstring."""
        self._grasp.publish(grasp)
        self._publish_grasp_transform(grasp)
        base_grasp = self._grasp_in_base(grasp)
        if base_grasp is not None:
            self._base_grasp.publish(base_grasp)
        shown = base_grasp if base_grasp is not None else grasp
        self._markers.publish(gripper_markers(shown, self._gripper))
        if self._debug_image.get_subscription_count() > 0:
            self._debug_image.publish(grasp_debug_image(frame.depth_m, grasp, frame.header))

    def _publish_camera_transform(self, hand_eye: HandEye) -> None:
        """The camera optical frame in the base frame on /tf_static (again when it changed)."""
        transform = hand_eye.transform_stamped()
        if transform != self._published_camera_transform:
            self._tf_static.publish(TFMessage(transforms=[transform]))
            self._published_camera_transform = transform

    def _publish_grasp_transform(self, grasp: Grasp) -> None:
        """The grasp frame (origin at the grasp centre, x = approach, y = jaw axis) on /tf,
        child of the frame the grasp is given in, stamped with its depth frame's stamp."""
        transform = transform_stamped(
            pose_to_transform(grasp.pose),
            grasp.header.frame_id,
            self._parameters["grasp_frame"],
            grasp.header.stamp,
        )
        self._tf.publish(TFMessage(transforms=[transform]))

    def _grasp_in_base(self, grasp: Grasp) -> Grasp | None:
        """`grasp` in the hand-eye base frame; None without a calibration for its frame."""
        if not self.hand_eye_enabled:
            return None
        hand_eye = HandEye.from_parameters(self._parameters)
        self._publish_camera_transform(hand_eye)
        if grasp.header.frame_id != hand_eye.camera_frame:
            self._node.get_logger().warning(
                f"grasp in frame {grasp.header.frame_id!r}, not the calibrated camera frame "
                f"{hand_eye.camera_frame!r} (hand_eye.camera_frame): not published in "
                f"{hand_eye.base_frame}",
                throttle_duration_sec=60.0,
            )
            return None
        return grasp_in_frame(grasp, hand_eye.base_from_camera, hand_eye.base_frame)
