"""Peer process: serves /detect_grasp with a grasp computed from the request (see
ros_test_support.grasp_from_depth_request); a bad request is answered with success false."""

import rclpy
from gqstn_msgs.srv import DetectGrasp
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node

from gqstn_ros.depth_image import DepthImageError
from ros_test_support import READY_LINE, grasp_from_depth_request


class DetectGraspPeer(Node):
    def __init__(self) -> None:
        super().__init__("detect_grasp_peer")
        self.requests_served = 0
        self.create_service(DetectGrasp, "/detect_grasp", self.on_detect_grasp)

    def on_detect_grasp(
        self, request: DetectGrasp.Request, response: DetectGrasp.Response
    ) -> DetectGrasp.Response:
        self.requests_served += 1
        try:
            response.grasp = grasp_from_depth_request(
                request.depth, request.camera_info, request.planner
            )
        except DepthImageError as error:
            response.success = False
            response.message = f"bad depth image: {error}"
            return response
        response.success = True
        response.message = f"request {self.requests_served}"
        response.used_fallback = not request.disable_fallback
        return response


def main() -> None:
    rclpy.init()
    node = DetectGraspPeer()
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
