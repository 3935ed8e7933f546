"""Peer process: serves /detect_grasp as the inference node does for an empty request (the
latest frame): the frame is ros_test_support.synthetic_depth_request(0), the grasp a top-down
one (grasp frame x = the optical axis, grasping.grasp.grasp_pose_in_camera) at its closest pixel,
in the camera optical frame. Prints "GRASP x y z qx qy qz qw width" before READY, and
"REQUEST n" for each request. With --leave-first-unanswered the first request gets no reply, as
when DDS drops a reply to a client it has only just discovered."""

import sys

import numpy as np
import rclpy
from gqstn_msgs.msg import Grasp
from gqstn_msgs.srv import DetectGrasp
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node
from rclpy.task import Future

from gqstn_ros.depth_image import camera_info_to_intrinsics, depth_to_metres
from gqstn_ros.grasping.grasp import grasp_pose_in_camera
from gqstn_ros.nodes.grasp_messages import transform_to_pose
from ros_test_support import READY_LINE, synthetic_depth_request

WIDTH_PX = 40.0
ANGLE = 0.3  # rad


def latest_frame_grasp() -> Grasp:
    depth_msg, info = synthetic_depth_request(0)
    depth = depth_to_metres(depth_msg)
    intrinsics = camera_info_to_intrinsics(info)
    row, col = np.unravel_index(int(np.nanargmin(np.where(depth > 0, depth, np.nan))), depth.shape)
    pose, width = grasp_pose_in_camera(
        (float(col), float(row)), ANGLE, WIDTH_PX, float(depth[row, col]), intrinsics
    )
    grasp = Grasp()
    grasp.header = depth_msg.header
    grasp.pose = transform_to_pose(pose)
    grasp.width = width
    grasp.depth = float(depth[row, col])
    grasp.center_px = [float(col), float(row)]
    grasp.angle = ANGLE
    grasp.width_px = WIDTH_PX
    grasp.planner = "gqstn"
    grasp.q_value = 0.8
    grasp.robust = True
    return grasp


class TopDownDetectGraspPeer(Node):
    def __init__(self, leave_first_unanswered: bool) -> None:
        super().__init__("top_down_detect_grasp_peer")
        self.grasp = latest_frame_grasp()
        self.requests = 0
        self.leave_first_unanswered = leave_first_unanswered
        self.create_service(
            DetectGrasp,
            "/detect_grasp",
            self.on_detect_grasp,
            callback_group=ReentrantCallbackGroup(),  # the next request while one waits
        )

    async def on_detect_grasp(self, request, response):
        self.requests += 1
        print(f"REQUEST {self.requests}", flush=True)
        if self.requests == 1 and self.leave_first_unanswered:
            await Future()  # never done: no reply leaves
        response.success = True
        response.message = "latest frame"
        response.grasp = self.grasp
        return response


def main() -> None:
    rclpy.init()
    node = TopDownDetectGraspPeer("--leave-first-unanswered" in sys.argv[1:])
    p, q = node.grasp.pose.position, node.grasp.pose.orientation
    values = (p.x, p.y, p.z, q.x, q.y, q.z, q.w, node.grasp.width)
    print("GRASP " + " ".join(f"{v:.9f}" for v in values), flush=True)
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
