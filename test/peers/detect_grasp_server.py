"""Peer process: serves /detect_grasp with a grasp computed from the request (see
ros_test_support.grasp_from_depth_request); a bad request is answered with success false. A
request naming a target gets its target fields described in the message."""

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
        mask, roi = request.target_mask, request.target_roi
        if mask.width or roi.width:
            nonzero = sum(1 for value in bytes(mask.data) if value)
            response.message += (
                f"; target_mask {mask.width}x{mask.height} {mask.encoding} {nonzero} nonzero; "
                f"target_roi {roi.width}x{roi.height} at {roi.x_offset},{roi.y_offset}"
            )
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
