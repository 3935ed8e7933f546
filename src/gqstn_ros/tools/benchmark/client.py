"""The benchmark's ROS 2 client of the node graph: it sets the scene on `sim_world`, reads the
ground truth, waits for depth frames, and calls `/detect_grasp` and `/execute_grasp` through the
real nodes. Every step that does not get its answer raises AttemptFailure with the reason; rclpy
is imported when a client is made, so the rest of the benchmark imports without ROS."""

from __future__ import annotations

import json
import os
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import numpy as np

from gqstn_ros.tools.action_goals import send_goal
from gqstn_ros.tools.benchmark.scenario import AttemptFailure, BenchmarkConfig, request_planner
from gqstn_ros.tools.benchmark.scoring import classify_detection_failure

SIM_WORLD_NODE = "sim_world"
RESET_SERVICE = "/sim/reset_scene"
OBJECT_STATE_SERVICE = "/sim/object_state"
HOLD_SERVICE = "/sim/hold"
FINISH_PICK_SERVICE = "/sim/finish_pick"
DETECT_SERVICE = "/detect_grasp"
EXECUTE_ACTION = "/execute_grasp"
INPAINTED_TOPIC = "/depth/inpainted"
RAW_DEPTH_TOPIC = "/camera/depth/image_raw"
SEGMENTATION_TOPIC = "/sim/segmentation"
FRAMES_KEPT = 8  # recent depth frames kept to find the one a grasp was planned on
# Raw frames and segmentations arrive before the depth node has inpainted the same frame: kept
# for 2 s at 30 Hz, so that a slow depth node (a loaded machine) still finds its frame's.
SOURCE_FRAMES_KEPT = 60
# An unanswered request is sent again after this long (seconds; see `BenchClient.call`): a
# detection (Prop+GQ-CNN takes seconds on a loaded CPU), the result of /execute_grasp (asked
# again, until it comes); one whose answer comes at once after `topics.ASK_AGAIN_AFTER_S`.
DETECT_RESEND_S = 30.0
RESULT_ASK_AGAIN_S = 15.0


class BenchClient:
    """The benchmark's ROS 2 node: parameter, reset, ground-truth and detection clients, the
    execution action client and the depth subscriptions; spun on demand (by `spin_until`, from
    the caller's thread: nothing runs between calls). With `segmentation` it also subscribes to
    the simulated world's `/sim/segmentation` (the world publishes it only while subscribed)."""

    def __init__(self, config: BenchmarkConfig, segmentation: bool = False) -> None:
        import rclpy  # noqa: PLC0415 (the pure parts of the benchmark need no ROS)
        from gqstn_msgs.action import ExecuteGrasp  # noqa: PLC0415
        from gqstn_msgs.srv import DetectGrasp  # noqa: PLC0415
        from rcl_interfaces.srv import SetParameters  # noqa: PLC0415
        from rclpy.action import ActionClient  # noqa: PLC0415
        from rclpy.executors import SingleThreadedExecutor  # noqa: PLC0415
        from std_srvs.srv import Trigger  # noqa: PLC0415

        from gqstn_ros.nodes.topics import ASK_AGAIN_AFTER_S  # noqa: PLC0415

        self.config = config
        self._ask_again_s = ASK_AGAIN_AFTER_S  # a request that may be repeated
        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.node = rclpy.create_node(f"gqstn_benchmark_{os.getpid()}", context=self.context)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self.parameters = self.node.create_client(
            SetParameters, f"/{SIM_WORLD_NODE}/set_parameters"
        )
        self.reset = self.node.create_client(Trigger, RESET_SERVICE)
        self.object_state = self.node.create_client(Trigger, OBJECT_STATE_SERVICE)
        self.hold = self.node.create_client(Trigger, HOLD_SERVICE)
        self.finish_pick = self.node.create_client(Trigger, FINISH_PICK_SERVICE)
        self.detect = self.node.create_client(DetectGrasp, DETECT_SERVICE)
        self.execute = ActionClient(self.node, ExecuteGrasp, EXECUTE_ACTION)
        self.inpainted: deque = deque(maxlen=FRAMES_KEPT)  # (stamp ns, Image)
        self.infos: deque = deque(maxlen=FRAMES_KEPT)
        self.raw: deque = deque(maxlen=SOURCE_FRAMES_KEPT)
        self.segmentations: deque = deque(maxlen=SOURCE_FRAMES_KEPT)
        self._subscribe_frames(segmentation)
        self._types = {
            "SetParameters": SetParameters,
            "Trigger": Trigger,
            "DetectGrasp": DetectGrasp,
            "ExecuteGrasp": ExecuteGrasp,
        }

    def _subscribe_frames(self, segmentation: bool) -> None:
        """The inpainted frames with their camera_info, the raw frames and (with
        `segmentation`) the world's segmentations, into the deques."""
        from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy  # noqa: PLC0415
        from sensor_msgs.msg import CameraInfo, Image  # noqa: PLC0415

        frames = QoSProfile(
            history=HistoryPolicy.KEEP_LAST, depth=2, reliability=ReliabilityPolicy.RELIABLE
        )
        self.node.create_subscription(
            Image, INPAINTED_TOPIC, lambda m: self.inpainted.append((_stamp_ns(m), m)), frames
        )
        self.node.create_subscription(
            CameraInfo,
            f"{INPAINTED_TOPIC}/camera_info",
            lambda m: self.infos.append((_stamp_ns(m), m)),
            frames,
        )
        self.node.create_subscription(
            Image, RAW_DEPTH_TOPIC, lambda m: self.raw.append((_stamp_ns(m), m)), frames
        )
        if segmentation:
            self.node.create_subscription(
                Image,
                SEGMENTATION_TOPIC,
                lambda m: self.segmentations.append((_stamp_ns(m), m)),
                frames,
            )

    # --- spinning ------------------------------------------------------------------------------
    def spin_until(self, condition: Callable[[], Any], timeout_s: float) -> bool:
        """Spins until `condition()` holds (True) or `timeout_s` has passed (its last value)."""
        deadline = time.monotonic() + timeout_s
        while not condition():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return bool(condition())
            self.executor.spin_once(timeout_sec=min(0.05, remaining))
        return True

    def ready(self) -> list[str]:
        """What the graph does not serve yet (empty when ready)."""
        missing = [
            client.srv_name
            for client in (self.parameters, self.reset, self.object_state, self.hold, self.detect)
            if not client.service_is_ready()
        ]
        if not self.execute.server_is_ready():
            missing.append(EXECUTE_ACTION)
        if not self.inpainted:
            missing.append(f"frames on {INPAINTED_TOPIC}")
        return missing

    def call(
        self,
        client: Any,
        request: Any,
        timeout_s: float,
        what: str,
        resend_after_s: float = 0.0,
        counts_if_resent: Callable[[Any], bool] = lambda _response: True,
    ) -> Any:
        """The response of `client` to `request`, or AttemptFailure("timeout", ...).

        DDS may list a service before the server's replies can reach this client; a reply sent
        then is lost. resend_after_s > 0 (only for requests whose repetition changes nothing:
        read-only ones, a parameter set again, a detection): a request unanswered after that
        long is sent again, once, and the first answer to either is taken, except an answer
        to the repetition that `counts_if_resent` rejects (a "busy" refusal while the first is
        still being worked on)."""
        if not self.spin_until(client.service_is_ready, timeout_s):
            raise AttemptFailure("timeout", f"{client.srv_name} not available ({what})")
        deadline = time.monotonic() + timeout_s
        sent = [client.call_async(request)]

        def answered() -> Any:
            for index, future in enumerate(sent):
                if future.done() and (index == 0 or counts_if_resent(future.result())):
                    return future
            return None

        if 0.0 < resend_after_s < timeout_s and not self.spin_until(answered, resend_after_s):
            sent.append(client.call_async(request))
        self.spin_until(answered, max(0.0, deadline - time.monotonic()))
        done = answered()
        for future in sent:
            if future is not done:
                client.remove_pending_request(future)
        if not done:
            raise AttemptFailure("timeout", f"{what}: no answer in {timeout_s:g} s")
        response = done.result()
        if response is None:
            raise AttemptFailure("timeout", f"{what}: the call failed")
        return response

    # --- benchmark steps -----------------------------------------------------------------------
    def set_scene(self, object_name: str, seed: int) -> None:
        """Sets `object_name` and `seed` on sim_world (the next reset drops that object)."""
        self.set_world_parameters({"object_name": object_name, "seed": seed})

    def set_world_parameters(self, values: dict[str, str | int]) -> None:
        """Sets string and integer parameters of sim_world (all accepted, or AttemptFailure
        "reset failed" with the reasons)."""
        from rcl_interfaces.msg import Parameter, ParameterType, ParameterValue  # noqa: PLC0415

        parameters = []
        for name, value in values.items():
            if isinstance(value, str):
                typed = ParameterValue(type=ParameterType.PARAMETER_STRING, string_value=value)
            else:
                typed = ParameterValue(
                    type=ParameterType.PARAMETER_INTEGER, integer_value=int(value)
                )
            parameters.append(Parameter(name=name, value=typed))
        request = self._types["SetParameters"].Request(parameters=parameters)
        response = self.call(
            self.parameters,
            request,
            self.config.service_timeout_s,
            "setting the scene",
            self._ask_again_s,
        )
        refused = [r.reason for r in response.results if not r.successful]
        if refused:
            raise AttemptFailure("reset failed", f"parameters refused: {'; '.join(refused)}")

    def trigger(self, client: Any, what: str, resend_after_s: float = 0.0) -> Any:
        """The response of a std_srvs/Trigger service (see `call` for `resend_after_s`)."""
        return self.call(
            client,
            self._types["Trigger"].Request(),
            self.config.service_timeout_s,
            what,
            resend_after_s,
        )

    def ground_truth(self, client: Any, what: str) -> dict[str, Any]:
        """The JSON that a sim_world Trigger service answers, with "ok" its success flag; the
        read-only /sim/object_state is asked again when its first answer does not come."""
        read_only = client is self.object_state
        response = self.trigger(client, what, self._ask_again_s if read_only else 0.0)
        try:
            state = json.loads(response.message)
        except json.JSONDecodeError:
            raise AttemptFailure("sim error", f"{what}: {response.message}") from None
        state["ok"] = bool(response.success)
        return state

    def frame_after(self, stamp_ns: int) -> tuple[int, Any, Any]:
        """The newest inpainted frame stamped after `stamp_ns` with its camera_info (waits)."""

        def newest() -> tuple[int, Any, Any] | None:
            for stamp, image in reversed(self.inpainted):
                if stamp <= stamp_ns:
                    return None
                info = self.kept(self.infos, stamp)
                if info is not None:
                    return stamp, image, info
            return None

        if not self.spin_until(lambda: newest() is not None, self.config.frame_timeout_s):
            raise AttemptFailure(
                "no depth frame",
                f"no {INPAINTED_TOPIC} frame (with camera_info) after the reset within "
                f"{self.config.frame_timeout_s:g} s",
            )
        found = newest()
        assert found is not None
        return found

    def segmentation_of(self, stamp_ns: int) -> np.ndarray:
        """(H, W) uint8 object labels of the depth frame stamped `stamp_ns` (`/sim/segmentation`:
        0 background, i + 1 object i); waits for it, AttemptFailure("no segmentation") when
        it does not come within the frame timeout."""
        if not self.spin_until(
            lambda: self.kept(self.segmentations, stamp_ns) is not None,
            self.config.frame_timeout_s,
        ):
            raise AttemptFailure(
                "no segmentation",
                f"no {SEGMENTATION_TOPIC} image stamped as the depth frame within "
                f"{self.config.frame_timeout_s:g} s",
            )
        image = self.kept(self.segmentations, stamp_ns)
        data = np.frombuffer(bytes(image.data), dtype=np.uint8)
        return data.reshape(int(image.height), int(image.step))[:, : int(image.width)].copy()

    def kept(self, frames: deque, stamp_ns: int) -> Any:
        """The message of `frames` stamped `stamp_ns`, or None."""
        return next((message for stamp, message in frames if stamp == stamp_ns), None)

    def detect_grasp(
        self, method: str, image: Any, info: Any, target: np.ndarray | None = None
    ) -> tuple[Any, float]:
        """/detect_grasp on `image` (with its camera_info) by `method` (`request_planner`);
        `target`: an (H, W) uint8 mask of the object to grasp (nonzero = target), sent as
        `target_mask` (None: any object). The grasp and the call's round trip (s)."""
        from gqstn_ros.nodes.request_flow import refused_busy  # noqa: PLC0415 (imports rclpy)

        planner, disable_fallback = request_planner(method)
        request = self._types["DetectGrasp"].Request(
            depth=image, camera_info=info, planner=planner, disable_fallback=disable_fallback
        )
        if target is not None:
            request.target_mask = mask_image(target, image.header)
        started = time.perf_counter()
        response = self.call(
            self.detect,
            request,
            self.config.detect_timeout_s,
            f"{DETECT_SERVICE} ({method})",
            DETECT_RESEND_S,
            counts_if_resent=lambda answer: not refused_busy(answer.message),
        )
        round_trip = time.perf_counter() - started
        if not response.success:
            raise AttemptFailure(classify_detection_failure(response.message), response.message)
        return response.grasp, round_trip

    def execute_grasp(self, grasp: Any, on_stage: Callable[[str], None]) -> Any:
        """/execute_grasp of `grasp` (not a dry run); its result. `on_stage` gets each feedback
        stage."""
        ExecuteGrasp = self._types["ExecuteGrasp"]  # noqa: N806 (a message type)
        timeout = self.config.execute_timeout_s
        if not self.spin_until(self.execute.server_is_ready, self.config.service_timeout_s):
            raise AttemptFailure("timeout", f"{EXECUTE_ACTION} not available")
        try:
            handle = send_goal(
                self.spin_until,
                self.execute,
                ExecuteGrasp.Goal(grasp=grasp, dry_run=False),
                self.config.service_timeout_s,
                feedback_callback=lambda feedback: on_stage(feedback.feedback.stage),
            )
        except TimeoutError:
            raise AttemptFailure("timeout", f"{EXECUTE_ACTION} goal not answered") from None
        if handle is None or not handle.accepted:
            raise AttemptFailure("execution failed", f"{EXECUTE_ACTION} refused the goal")
        # The result is asked for again every RESULT_ASK_AGAIN_S: an answer lost to DDS
        # discovery (see `call`) is then sent again, at once if the goal has ended.
        deadline = time.monotonic() + timeout
        asked = [handle.get_result_async()]
        while not any(future.done() for future in asked):
            remaining = deadline - time.monotonic()
            if remaining <= 0.0:
                handle.cancel_goal_async()
                raise AttemptFailure("timeout", f"{EXECUTE_ACTION} did not finish in {timeout:g} s")
            if not self.spin_until(
                lambda: any(future.done() for future in asked), min(RESULT_ASK_AGAIN_S, remaining)
            ):
                asked.append(handle.get_result_async())
        return next(future for future in asked if future.done()).result().result

    def close(self) -> None:
        import rclpy  # noqa: PLC0415

        self.executor.shutdown()
        self.execute.destroy()
        self.node.destroy_node()
        rclpy.try_shutdown(context=self.context)


def mask_image(mask: np.ndarray, header: Any) -> Any:
    """A mono8 sensor_msgs/Image of the (H, W) uint8 `mask`, with `header`."""
    from gqstn_ros.depth_image import mono8_image  # noqa: PLC0415

    return mono8_image(mask, header)


def _stamp_ns(message: Any) -> int:
    return int(message.header.stamp.sec) * 1_000_000_000 + int(message.header.stamp.nanosec)
