"""Peer process: waits for a subscriber on /grasp_pose, then publishes COUNT grasps (reliable),
grasp i computed from a synthetic depth frame with stamp nanosec = i."""

import sys

import rclpy
from gqstn_msgs.msg import Grasp
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy

from ros_test_support import READY_LINE, grasp_from_depth_request, synthetic_depth_request


class GraspPosePublisherPeer(Node):
    def __init__(self, count: int) -> None:
        super().__init__("grasp_pose_publisher_peer")
        qos = QoSProfile(depth=count, reliability=ReliabilityPolicy.RELIABLE)
        self.publisher = self.create_publisher(Grasp, "/grasp_pose", qos)
        self.count = count
        self.sent = 0
        self.timer = self.create_timer(0.02, self.on_timer)

    def on_timer(self) -> None:
        if self.publisher.get_subscription_count() == 0 or self.sent >= self.count:
            return
        depth, info = synthetic_depth_request(seed=self.sent, stamp_nanosec=self.sent)
        self.publisher.publish(grasp_from_depth_request(depth, info, "gqstn"))
        self.sent += 1


def main() -> None:
    count = int(sys.argv[1])
    rclpy.init()
    node = GraspPosePublisherPeer(count)
    print(READY_LINE, flush=True)
    try:
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()


if __name__ == "__main__":
    main()
