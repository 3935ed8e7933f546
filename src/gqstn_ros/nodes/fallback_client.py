"""The inference node's client of the fallback node's `/plan_grasp` (Prop+GQ-CNN).

At most `max_fallback_requests` calls wait on `/plan_grasp` at once (a further one is answered
"fallback busy" at once); each call is given up after `fallback_timeout_s`. The fallback node's
liveliness (`/plan_grasp/alive`) tells at once when it died: the calls waiting on it are
answered then, and later calls do not go out until it is back. The client's timers and
subscription run in the callback group it is given, so no executor thread ever waits on it.
"""

from __future__ import annotations

from gqstn_msgs.msg import Grasp
from gqstn_msgs.srv import PlanGrasp
from rclpy.callback_groups import CallbackGroup
from rclpy.event_handler import QoSLivelinessChangedInfo, SubscriptionEventCallbacks
from rclpy.node import Node
from rclpy.task import Future
from std_msgs.msg import Empty

from gqstn_ros.depth_image import intrinsics_to_camera_info, metres_to_image
from gqstn_ros.nodes.detection_frames import DetectionFrame, RequestTarget
from gqstn_ros.nodes.parameters import NodeParameters
from gqstn_ros.nodes.request_flow import AdmissionGate
from gqstn_ros.nodes.topics import ALIVE_QOS, PLAN_SERVICE, alive_topic

FALLBACK_WATCH_PERIOD_S = 0.2  # how often the client looks for /plan_grasp until it is found


class FallbackClient:
    """Calls `/plan_grasp` for `node` (see the module docstring); `parameters` are the node's,
    read at each call (`fallback_timeout_s`) or once (`max_fallback_requests`)."""

    def __init__(self, node: Node, parameters: NodeParameters, group: CallbackGroup) -> None:
        self._node = node
        self._parameters = parameters
        self._group = group
        self.client = node.create_client(PlanGrasp, PLAN_SERVICE, callback_group=group)
        self.gate = AdmissionGate(parameters["max_fallback_requests"], "max_fallback_requests")
        self.calls: dict[Future, str] = {}  # calls waiting on an answer -> why cancelled
        self.dead: str | None = None  # why the fallback is known dead, else None
        # Says once when /plan_grasp is first reachable (discovered): until then a call is
        # answered without the fallback ("not available").
        self._watch = node.create_timer(
            FALLBACK_WATCH_PERIOD_S, self._on_watch, callback_group=group
        )
        node.create_subscription(
            Empty,
            alive_topic(PLAN_SERVICE),
            lambda _message: None,
            ALIVE_QOS,
            event_callbacks=SubscriptionEventCallbacks(liveliness=self._on_liveliness),
            callback_group=group,
        )

    async def call(
        self, frame: DetectionFrame, target: RequestTarget | None = None
    ) -> tuple[Grasp | None, str]:
        """The best Prop+GQ-CNN grasp on `frame` (on `target` when given) from /plan_grasp,
        or None and why not."""
        if self.dead is not None:
            return None, self.dead
        if not self.client.service_is_ready():
            return None, f"fallback {PLAN_SERVICE} is not available"
        if not self.gate.try_enter():
            return None, f"fallback {self.gate.busy_message(PLAN_SERVICE)}"
        try:
            return await self._call_admitted(frame, target)
        finally:
            self.gate.leave()

    async def _call_admitted(
        self, frame: DetectionFrame, target: RequestTarget | None
    ) -> tuple[Grasp | None, str]:
        request = PlanGrasp.Request(
            depth=metres_to_image(frame.depth_m, header=frame.header),
            camera_info=intrinsics_to_camera_info(frame.intrinsics, frame.header),
            num_candidates=0,
            top_k=1,
        )
        if target is not None:  # the frame sent is the one the target's fields describe
            request.target_mask = target.mask
            request.target_roi = target.roi
        timeout_s = self._parameters["fallback_timeout_s"]
        future = self.client.call_async(request)
        self.calls[future] = ""  # the reason, when cancelled before its timeout
        timer = self._node.create_timer(timeout_s, future.cancel, callback_group=self._group)
        try:
            response = await future
        finally:
            timer.cancel()
            self._node.destroy_timer(timer)
            reason = self.calls.pop(future, "")
        if future.cancelled() or response is None:
            self.client.remove_pending_request(future)
            return None, reason or f"fallback {PLAN_SERVICE} timed out after {timeout_s:g} s"
        if not response.success:
            return None, f"fallback failed: {response.message}"
        if not response.grasps:
            return None, "fallback returned no grasp"
        return response.grasps[0], f"grasp from {response.grasps[0].planner}"

    def cancel_calls(self, reason: str) -> None:
        """Answer every call still waiting, with `reason`."""
        for future in list(self.calls):
            self.calls[future] = reason
            future.cancel()

    def _on_watch(self) -> None:
        if not self.client.service_is_ready():
            return
        self._watch.cancel()
        self._node.get_logger().info(f"fallback {PLAN_SERVICE} is reachable")

    def _on_liveliness(self, info: QoSLivelinessChangedInfo) -> None:
        """The fallback node's liveliness changed: back, dead (its lease lapsed: killed or
        hung; a warning), or stopped (its writer left cleanly, as on Ctrl-C of the graph)."""
        if info.alive_count > 0:
            if self.dead is not None:
                self._node.get_logger().info(f"fallback {PLAN_SERVICE} is back")
            self.dead = None
            return
        if info.not_alive_count_change > 0:
            self.dead = (
                f"fallback {PLAN_SERVICE} died (no liveliness on {alive_topic(PLAN_SERVICE)} "
                "for its lease)"
            )
            self._node.get_logger().warning(self.dead)
        else:
            self.dead = f"fallback {PLAN_SERVICE} stopped"
            self._node.get_logger().info(self.dead)
        self.cancel_calls(self.dead)
