"""Peer process: an /execute_grasp action server that reports every stage as feedback and
returns the goal's grasp re-stamped in base_link with a lift height derived from it."""

import time

import rclpy
from gqstn_msgs.action import ExecuteGrasp
from rclpy.action import ActionServer
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node

from ros_test_support import EXECUTION_STAGES, READY_LINE, executed_grasp

STAGE_DURATION_S = 0.05


class ExecuteGraspPeer(Node):
    def __init__(self) -> None:
        super().__init__("execute_grasp_peer")
        self.server = ActionServer(self, ExecuteGrasp, "/execute_grasp", self.execute)

    def execute(self, goal_handle) -> ExecuteGrasp.Result:
        for stage in EXECUTION_STAGES:
            goal_handle.publish_feedback(ExecuteGrasp.Feedback(stage=stage))
            # A stage takes time on a robot. Feedback and result travel on separate DDS
            # channels and rclpy drops feedback that arrives after its goal's result.
            time.sleep(STAGE_DURATION_S)
        goal_handle.succeed()
        result = ExecuteGrasp.Result()
        result.grasp = executed_grasp(goal_handle.request.grasp)
        result.success = not goal_handle.request.dry_run
        result.message = "dry run: nothing moved" if goal_handle.request.dry_run else "lifted"
        result.lift_height = 0.1 + result.grasp.width
        return result


def main() -> None:
    rclpy.init()
    node = ExecuteGraspPeer()
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
