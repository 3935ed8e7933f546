"""Inference node: serves /detect_grasp with GQ-STN (or MultiGrasp, DirectGrasp).

Keeps the latest `/depth/inpainted` frame and its camera_info, and answers `/detect_grasp`
(gqstn_msgs/DetectGrasp) on that frame or on the image that comes with the request (inpainted
here when it has holes). Publishes every grasp on `/grasp_pose` (camera optical frame) and as
the TF frame `grasp_frame` on `/tf`; with a hand-eye calibration (`hand_eye.enabled`, set for the
bench by config/hand_eye.yaml) also the camera's pose in `base_link` on `/tf_static`, the grasp on
`/grasp_pose/base_link` and the markers in `base_link`; else the markers in the camera frame.
`/grasp_markers` and `/grasp_debug_image` are reliable (RViz's default subscription). A grasp
that is not robust is replaced by the Prop+GQ-CNN fallback (`/plan_grasp`, fallback_node) when
allowed. Every planner the interface names is served: a request for `prop_gqcnn`, when this
node does not load it itself, is forwarded to `/plan_grasp`.

Every model a configured planner or `judge_model` needs is loaded at start; a missing or
unreadable one stops the node with a FATAL naming the file (exit code 2).

Requests (`gqstn_ros.nodes.request_flow`): the service takes its requests in a reentrant
callback group from a deep queue (SERVICE_QOS), so a burst is never dropped; each is checked
against the limits of `gqstn_ros.nodes.request_limits` before any work, and beyond
`max_requests_in_flight` a request is refused at once with a "busy:" message. Frame
preparation and planning run on one planning thread, in order; the service coroutine awaits
it, and awaits the fallback call (with a timeout timer), so no executor thread ever sleeps or
waits, and a request that needs no fallback never waits behind one that does. At most
`max_fallback_requests` wait on `/plan_grasp` at once (a further one keeps its own grasp,
with the note "fallback busy"). The fallback node's liveliness (`/plan_grasp/alive`) tells
at once when it died: the calls waiting on it are answered then, and later requests do not
call it until it is back. Every failure a caller can cause is answered with success false and
a message naming it; the node keeps serving. A request may name its target object
(`target_mask`, `target_roi`): the fields are checked with the other limits, the target must be
visible in the frame ("target not visible: ..."), and every planner, the fallback included,
answers with a grasp on it (`gqstn_ros.grasping.target`). On SIGINT the requests in flight
are answered ("shutting down") before the node stops.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import rclpy
from gqstn_msgs.msg import Grasp
from gqstn_msgs.srv import DetectGrasp, PlanGrasp
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup, ReentrantCallbackGroup
from rclpy.event_handler import QoSLivelinessChangedInfo, SubscriptionEventCallbacks
from rclpy.logging import LoggingSeverity
from rclpy.node import Node
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from rclpy.task import Future
from sensor_msgs.msg import CameraInfo, Image, RegionOfInterest
from std_msgs.msg import Empty, Header
from tf2_msgs.msg import TFMessage
from visualization_msgs.msg import MarkerArray

from gqstn_ros.camera_model import KINECT_V1, CameraIntrinsics
from gqstn_ros.depth_image import (
    DepthImageError,
    camera_info_to_intrinsics,
    depth_to_metres,
    intrinsics_to_camera_info,
    metres_to_image,
)
from gqstn_ros.depth_processing import InpaintConfig, invalid_mask
from gqstn_ros.detection import GraspPlanner, PlanningError
from gqstn_ros.grasping.target import GraspTarget
from gqstn_ros.gripper import GripperMismatchError
from gqstn_ros.nodes.depth_node import (
    INPAINTED_INFO_TOPIC,
    INPAINTED_TOPIC,
    RAW_DEPTH_TOPIC,
    SENSOR_QOS,
    RejectedFrameError,
    prepare_depth_frame,
)
from gqstn_ros.nodes.grasp_messages import (
    grasp_debug_image,
    grasp_in_frame,
    gripper_markers,
    planned_grasp_to_msg,
    pose_to_transform,
)
from gqstn_ros.nodes.limit_parameters import (
    camera_parameter_spec,
    image_limits,
    load_camera_range,
    max_image_pixels_spec,
    scene_check,
    scene_check_specs,
)
from gqstn_ros.nodes.parameters import (
    Q_THRESHOLD_PARAMETER,
    NodeParameters,
    ParameterSpec,
    ParameterValueError,
    gripper_parameter_spec,
    load_gripper_parameter,
    spin_node,
)
from gqstn_ros.nodes.request_flow import (
    ALIVE_QOS,
    SERVICE_QOS,
    SERVICE_QUEUE_DEPTH,
    AdmissionGate,
    PlanningWorker,
    alive_topic,
    answer_admitted,
)
from gqstn_ros.nodes.request_limits import (
    RequestLimitError,
    check_camera_info,
    check_depth_image,
    check_object_above_table,
    check_planner_name,
    check_target_fields,
    check_target_visible,
    target_from_request,
)
from gqstn_ros.nodes.transforms import (
    HAND_EYE_PARAMETERS,
    TF_QOS,
    TF_STATIC_QOS,
    TF_STATIC_TOPIC,
    TF_TOPIC,
    HandEye,
    transform_stamped,
)
from gqstn_ros.planner_registry import (
    BACKENDS,
    DEFAULT_PLANNERS,
    PLANNER_NAMES,
    PROP_PLANNER,
    SYMMETRIC_VIEW_COUNTS,
    VIEW_SCALES,
    PlannerUnavailable,
    default_models_dir,
    load_planner,
    options_for,
)
from gqstn_ros.q_calibration import QCalibration, load_q_calibrations

NODE_NAME = "inference_node"
DETECT_SERVICE = "/detect_grasp"
FALLBACK_SERVICE = "/plan_grasp"
FALLBACK_WATCH_PERIOD_S = 0.2  # how often the node looks for /plan_grasp until it is found
GRASP_TOPIC = "/grasp_pose"
BASE_GRASP_TOPIC = "/grasp_pose/base_link"
MARKER_TOPIC = "/grasp_markers"
DEBUG_IMAGE_TOPIC = "/grasp_debug_image"
REQUEST_TIMING_TEXT = "request timing (CLOCK_MONOTONIC s):"
CAMERA_INFO_HISTORY = 10  # camera_info messages kept for pairing with frames
RESULT_QOS = QoSProfile(
    history=HistoryPolicy.KEEP_LAST, depth=10, reliability=ReliabilityPolicy.RELIABLE
)
DEBUG_IMAGE_QOS = QoSProfile(
    history=HistoryPolicy.KEEP_LAST, depth=1, reliability=ReliabilityPolicy.RELIABLE
)


def _check_intrinsics(values: list[float]) -> str | None:
    try:
        CameraIntrinsics(int(values[0]), int(values[1]), *values[2:])
    except ValueError as error:
        return str(error)
    if values[0] != int(values[0]) or values[1] != int(values[1]):
        return "width and height must be whole numbers of pixels"
    return None


INFERENCE_NODE_PARAMETERS = (
    ParameterSpec(
        "planners",
        list(DEFAULT_PLANNERS),
        "Planners loaded in this node at start; a missing or unreadable model stops the node. "
        f"{PROP_PLANNER} when not listed is served by the fallback node (/plan_grasp)",
        choices=PLANNER_NAMES,
        read_only=True,
    ),
    ParameterSpec(
        "default_planner", "gqstn", "Planner used when a request names none", choices=PLANNER_NAMES
    ),
    ParameterSpec(
        "models_dir",
        "",
        "Folder of the weights ('' = share/gqstn_ros/models, else the repository's models/)",
        read_only=True,
    ),
    ParameterSpec(
        "backend", "torch", "Inference backend of the networks", choices=BACKENDS, read_only=True
    ),
    ParameterSpec(
        "symmetric_views",
        1,
        "Run GQ-STN, MultiGrasp and DirectGrasp on this many quarter-turned and mirrored copies "
        "of the view in one batch and return the grasp GQ-CNN rates highest (1: the paper's "
        "single pass)",
        min_value=min(SYMMETRIC_VIEW_COUNTS),
        max_value=max(SYMMETRIC_VIEW_COUNTS),
        choices=SYMMETRIC_VIEW_COUNTS,
        read_only=True,
    ),
    ParameterSpec(
        "view_scale",
        "metric",
        "How the networks' view window is sized: 'metric' brings any camera to the scale the "
        "network was trained at (pixels per metre at the frame's median depth); 'checkpoint' "
        "uses the window stored in the checkpoint (the paper's fixed 320 frame pixels)",
        choices=VIEW_SCALES,
        read_only=True,
    ),
    ParameterSpec(
        "judge_model",
        "",
        "GQ-CNN checkpoint that judges GQ-STN's, MultiGrasp's and DirectGrasp's grasps (q, "
        "robust label, choice among symmetric views) instead of their own GQ-CNN head; a "
        "relative path is inside models_dir ('' = their own head, as in the paper); a missing "
        "or unreadable file stops the node",
        read_only=True,
    ),
    ParameterSpec(
        "q_calibration_dir",
        "",
        "Folder of <planner>_q_calibration.json files (q calibrated against executed lifts, "
        "gqstn_ros.q_calibration; a relative path is inside models_dir): a planner with one "
        "reports calibrated q, judged and thresholded on that scale ('' = raw q); a bad file "
        "stops the node",
        read_only=True,
    ),
    gripper_parameter_spec(
        "grasps wider than its stroke are never returned, markers show its fingers, and every "
        "model loaded must have been trained for its geometry (else the node stops at start)"
    ),
    ParameterSpec(
        "top_k",
        5,
        "Grasps asked from the planner; the best one within the gripper stroke is returned",
        min_value=1,
        max_value=100,
    ),
    Q_THRESHOLD_PARAMETER,
    ParameterSpec(
        "allow_fallback", True, "Ask /plan_grasp (Prop+GQ-CNN) when the grasp is not robust"
    ),
    ParameterSpec(
        "fallback_timeout_s",
        10.0,
        "Give up waiting for /plan_grasp after this many seconds",
        min_value=0.1,
        max_value=600.0,
    ),
    ParameterSpec(
        "max_frame_age_s",
        1.0,
        "Refuse to detect on a latest frame received longer ago than this (0: no limit)",
        min_value=0.0,
        max_value=3600.0,
    ),
    ParameterSpec(
        "camera_info_wait_s",
        0.2,
        "How long a request waits for the camera_info of a latest frame that arrived before it "
        "(0: refuse at once)",
        min_value=0.0,
        max_value=5.0,
    ),
    ParameterSpec(
        "detect_on_every_frame",
        False,
        "Run detection on every /depth/inpainted frame and publish the grasp",
        read_only=True,
    ),
    ParameterSpec(
        "inpaint_scale",
        InpaintConfig.scale,
        "Inpainting resolution fraction for request images with holes",
        min_value=0.05,
        max_value=1.0,
    ),
    ParameterSpec(
        "max_invalid_ratio",
        InpaintConfig.max_invalid_ratio,
        "Refuse request images with a larger fraction of invalid pixels",
        min_value=0.01,
        max_value=1.0,
    ),
    ParameterSpec(
        "camera_intrinsics",
        [
            float(KINECT_V1.width),
            float(KINECT_V1.height),
            KINECT_V1.fx,
            KINECT_V1.fy,
            KINECT_V1.cx,
            KINECT_V1.cy,
        ],
        "[width, height, fx, fy, cx, cy] for request images without camera_info, when no "
        "camera_info of that size was received",
        length=6,
        check_value=_check_intrinsics,
    ),
    ParameterSpec(
        "hand_eye.enabled",
        False,
        "The hand-eye calibration is known: publish the camera's pose in hand_eye.base_frame on "
        "/tf_static, grasps on /grasp_pose/base_link and the markers in hand_eye.base_frame",
        read_only=True,
    ),
    *HAND_EYE_PARAMETERS,
    ParameterSpec(
        "grasp_frame",
        "grasp",
        "TF frame of the latest grasp (/tf; parent: the depth image's frame)",
        read_only=True,
    ),
    camera_parameter_spec(),
    max_image_pixels_spec(),
    *scene_check_specs(),
    ParameterSpec(
        "max_requests_in_flight",
        8,
        "Requests of /detect_grasp admitted at once (waiting to be planned, planning or waiting "
        "on the fallback); a further one is refused at once with a 'busy:' message",
        min_value=1,
        max_value=SERVICE_QUEUE_DEPTH,
        read_only=True,
    ),
    ParameterSpec(
        "max_fallback_requests",
        2,
        "Requests waiting on /plan_grasp at once; a further one that would ask the fallback "
        "keeps its own grasp, with the note 'fallback busy'",
        min_value=1,
        max_value=SERVICE_QUEUE_DEPTH,
        read_only=True,
    ),
)


class RequestRefusedError(ValueError):
    """A detection request that cannot be answered; the message goes back to the caller."""


@dataclass(frozen=True)
class ReceivedFrame:
    """The latest /depth/inpainted frame, as received."""

    image: Image
    received_s: float  # time.monotonic() at receipt


@dataclass(frozen=True)
class DetectionFrame:
    """An inpainted frame ready for a planner."""

    depth_m: np.ndarray  # (H, W) float32 metres, finite
    intrinsics: CameraIntrinsics
    header: Header


@dataclass(frozen=True)
class RequestTarget:
    """The object a request names: as pixels of its frame, and the request's own fields (sent
    on to the fallback with that frame)."""

    target: GraspTarget
    mask: Image
    roi: RegionOfInterest


class InferenceNode(Node):
    """Grasp detection service and publications (see the module docstring)."""

    def __init__(self) -> None:
        super().__init__(NODE_NAME)
        self.parameters = NodeParameters(self, INFERENCE_NODE_PARAMETERS)
        self.gripper = load_gripper_parameter(self.parameters)
        self.camera_range = load_camera_range(self.parameters)
        self.image_limits = image_limits(self.parameters)
        self.hand_eye_enabled = bool(self.parameters["hand_eye.enabled"])
        HandEye.from_parameters(self.parameters)  # refuse an invalid calibration at start
        self.planners: dict[str, GraspPlanner] = {}
        self.load_planners()
        # Per-request timestamps in the log at debug level, to split the round trip of a
        # request between processes (benchmarks/detect_grasp_overhead.py --breakdown).
        self.log_request_timing = self.get_logger().is_enabled_for(LoggingSeverity.DEBUG)
        self.latest_frame: ReceivedFrame | None = None
        # Recent camera_info messages: a frame is paired with the one of the same stamp,
        # whichever of the two arrived first, else with the newest one of the same size.
        self.recent_infos: deque[CameraInfo] = deque(maxlen=CAMERA_INFO_HISTORY)
        # Requests waiting for the camera_info of a frame that arrived before it.
        self.info_waiters: list[Future] = []

        self.inference_group = MutuallyExclusiveCallbackGroup()
        self.frames_group = MutuallyExclusiveCallbackGroup()
        self.fallback_group = ReentrantCallbackGroup()

        self.grasp_publisher = self.create_publisher(Grasp, GRASP_TOPIC, RESULT_QOS)
        self.base_grasp_publisher = self.create_publisher(Grasp, BASE_GRASP_TOPIC, RESULT_QOS)
        self.marker_publisher = self.create_publisher(MarkerArray, MARKER_TOPIC, RESULT_QOS)
        # Reliable keep-last-1: received by RViz's default (reliable) and best-effort subscribers.
        self.debug_publisher = self.create_publisher(Image, DEBUG_IMAGE_TOPIC, DEBUG_IMAGE_QOS)
        self.create_transform_publishers()
        self.fallback_client = self.create_client(
            PlanGrasp, FALLBACK_SERVICE, callback_group=self.fallback_group
        )
        every_frame = self.parameters["detect_on_every_frame"]
        self.create_subscription(
            CameraInfo,
            INPAINTED_INFO_TOPIC,
            self.on_camera_info,
            SENSOR_QOS,
            callback_group=self.frames_group,
        )
        self.create_subscription(
            Image,
            INPAINTED_TOPIC,
            self.on_depth_frame,
            SENSOR_QOS,
            callback_group=self.inference_group if every_frame else self.frames_group,
        )
        self.set_up_request_flow()
        self.get_logger().info(self.startup_summary())

    # --- start-up --------------------------------------------------------------------------

    def load_planners(self) -> None:
        """Load every planner of `planners`; a missing or unreadable model, or one trained
        for another gripper, stops the node (ParameterValueError naming the file)."""
        models_dir = self.parameters["models_dir"] or None
        backend = self.parameters["backend"]
        judge = self.parameters["judge_model"]
        if judge:
            judge_path = Path(models_dir or default_models_dir()) / judge  # absolute stays
            if not judge_path.is_file():
                raise ParameterValueError(f"parameter judge_model: {judge_path} does not exist")
        for name in dict.fromkeys(self.parameters["planners"]):
            try:
                options = options_for(
                    name,
                    symmetric_views=self.parameters["symmetric_views"],
                    judge_model=self.parameters["judge_model"] or None,
                    view_scale=self.parameters["view_scale"],
                )
                self.planners[name] = load_planner(
                    name, models_dir, backend, gripper=self.gripper, **options
                )
            except GripperMismatchError as error:
                raise ParameterValueError(f"parameter gripper: planner {name}: {error}") from error
            except (PlannerUnavailable, ValueError) as error:
                raise ParameterValueError(
                    f"parameter planners: planner {name} cannot be loaded: {error}"
                ) from error
        self.q_calibrations = self.load_q_calibrations()

    def load_q_calibrations(self) -> dict[str, QCalibration]:
        """The q calibration of every loaded planner that has one in q_calibration_dir."""
        folder = self.parameters["q_calibration_dir"]
        if not folder:
            return {}
        path = Path(self.parameters["models_dir"] or default_models_dir()) / folder
        try:
            return load_q_calibrations(path, self.planners)
        except ValueError as error:
            raise ParameterValueError(f"parameter q_calibration_dir: {error}") from error

    def calibrated_q(self, planner_name: str, q: float) -> float:
        """q on the calibrated scale of `planner_name` (raw without a calibration)."""
        calibration = getattr(self, "q_calibrations", {}).get(planner_name)
        return float(calibration.apply(q)) if calibration is not None else float(q)

    # --- frames ----------------------------------------------------------------------------

    def on_camera_info(self, info: CameraInfo) -> None:
        self.recent_infos.append(info)
        for waiter in list(self.info_waiters):
            if not waiter.done():
                waiter.set_result(info)

    def camera_info_of(self, image: Image) -> CameraInfo | None:
        """The received camera_info of `image`: same stamp, else the newest of its size."""
        same_size = [
            info
            for info in self.recent_infos
            if (info.width, info.height) == (image.width, image.height)
        ]
        for info in reversed(same_size):
            if info.header.stamp == image.header.stamp:
                return info
        return same_size[-1] if same_size else None

    def on_depth_frame(self, image: Image) -> None:
        self.latest_frame = ReceivedFrame(image, time.monotonic())
        if self.parameters["detect_on_every_frame"] and not self.frame_detection_queued:
            # On the planning thread, behind the requests; frames arriving meanwhile are skipped.
            self.frame_detection_queued = True
            self.worker.submit(self.detect_on_latest_frame)

    def detect_on_latest_frame(self) -> None:
        """detect_on_every_frame: plan on the latest frame and publish (planning thread)."""
        try:
            frame = self.latest_detection_frame()
            grasp = self.plan(frame, self.parameters["default_planner"], time.perf_counter())
        except RequestRefusedError as error:
            self.get_logger().warning(f"detection on frame failed: {error}")
            return
        finally:
            self.frame_detection_queued = False
        self.publish_grasp(grasp, frame)

    # --- the service -----------------------------------------------------------------------

    async def on_detect_grasp(
        self, request: DetectGrasp.Request, response: DetectGrasp.Response
    ) -> DetectGrasp.Response:
        started = time.perf_counter()
        callback_started_s = time.monotonic()
        planner = request.planner or self.parameters["default_planner"]
        try:
            if request.depth.width == 0:
                await self.wait_for_latest_camera_info()
                frame = await self.worker.submit(self.latest_detection_frame)
            else:
                frame = await self.worker.submit(
                    lambda: self.request_detection_frame(request.depth, request.camera_info)
                )
            target = await self.worker.submit(lambda: self.request_target(request, frame))
            forwarded = self.forwards(planner)
            if forwarded:
                grasp = await self.plan_through_fallback_node(frame, started, target)
            else:
                grasp = await self.worker.submit(lambda: self.plan(frame, planner, started, target))
        except RequestRefusedError as error:
            self.get_logger().warning(f"{DETECT_SERVICE} refused: {error}")
            response.success = False
            response.message = str(error)
            return response
        response.message = f"{planner} grasp, q={grasp.q_value:.3f}"
        fallback_allowed = (
            self.parameters["allow_fallback"] and not request.disable_fallback and not forwarded
        )
        if not grasp.robust and fallback_allowed:
            fallback_grasp, note = await self.call_fallback(frame, target)
            if fallback_grasp is not None:
                judged_q = await self.worker.submit(
                    lambda: self.judged_quality(planner, frame, fallback_grasp, target)
                )
                if judged_q is None or judged_q > grasp.q_value:
                    fallback_grasp.planning_time = float(time.perf_counter() - started)
                    if judged_q is not None:  # one scale: the judge of the primary's q
                        fallback_grasp.q_value = judged_q
                        fallback_grasp.robust = judged_q >= self.parameters["q_threshold"]
                    grasp = fallback_grasp
                    response.used_fallback = True
                    response.message = f"{planner} grasp not robust; fallback {note}"
                else:
                    response.message += (
                        f" (not robust; the fallback's grasp, judged q={judged_q:.3f} by the "
                        f"same GQ-CNN, is no better)"
                    )
            else:
                response.message += f" (not robust; {note})"
        grasp_ready_s = time.monotonic()  # the grasp answered, after the fallback if one ran
        self.publish_grasp(grasp, frame)
        response.success = True
        response.grasp = grasp
        if self.log_request_timing:  # --log-level inference_node:=debug
            self.get_logger().debug(
                f"{REQUEST_TIMING_TEXT} callback {callback_started_s:.6f} grasp "
                f"{grasp_ready_s:.6f} answered {time.monotonic():.6f}"
            )
        return response

    async def wait_for_latest_camera_info(self) -> None:
        """Wait up to camera_info_wait_s for the camera_info of a frame that came first.

        A frame and its camera_info travel on two topics, so either can arrive first; a
        request right after the first frame would otherwise be refused.
        """
        wait_s = self.parameters["camera_info_wait_s"]
        received = self.latest_frame
        if wait_s <= 0 or received is None or self.camera_info_of(received.image) is not None:
            return
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            waiter = Future()
            self.info_waiters.append(waiter)  # before the check: no camera_info slips past
            if self.camera_info_of(received.image) is not None:
                self.info_waiters.remove(waiter)
                return
            timer = self.create_timer(
                max(deadline - time.monotonic(), 1e-3),
                lambda waiter=waiter: waiter.done() or waiter.set_result(None),
                callback_group=self.fallback_group,
            )
            try:
                await waiter
            finally:
                timer.cancel()
                self.destroy_timer(timer)
                self.info_waiters.remove(waiter)

    def latest_detection_frame(self) -> DetectionFrame:
        received = self.latest_frame
        if received is None:
            raise RequestRefusedError(self.no_frame_reason())
        age_s = time.monotonic() - received.received_s
        max_age_s = self.parameters["max_frame_age_s"]
        if max_age_s > 0 and age_s > max_age_s:
            raise RequestRefusedError(
                f"latest depth frame is stale: received {age_s:.2f} s ago "
                f"(max_frame_age_s {max_age_s:g})"
            )
        info = self.camera_info_of(received.image)
        if info is None:
            raise RequestRefusedError(
                f"no matching camera_info received on {INPAINTED_INFO_TOPIC} for the latest "
                f"{received.image.width}x{received.image.height} frame"
            )
        return self.prepare(received.image, info)

    def request_target(
        self, request: DetectGrasp.Request, frame: DetectionFrame
    ) -> RequestTarget | None:
        """The request's target in `frame` (None: any object); RequestRefusedError when a
        target field does not fit the frame or the target is not visible in it (its pixels
        measured in the request image, else in the inpainted latest frame)."""
        height, width = frame.depth_m.shape
        try:
            target = target_from_request(request.target_mask, request.target_roi, (width, height))
            if target is None:
                return None
            # The table plane fitted once: the visibility check and the planner share it.
            target = target.with_heights(frame.depth_m, frame.intrinsics)
            valid = None
            if request.depth.width:  # the pixels the camera measured, before inpainting
                valid = ~invalid_mask(depth_to_metres(request.depth))
                if valid.shape != target.shape:  # the frame was resized: no pixel map
                    valid = None
            check_target_visible(
                target, frame.depth_m, frame.intrinsics, scene_check(self.parameters), valid
            )
        except PlanningError as error:  # no table plane in the frame
            raise RequestRefusedError(f"target not visible: {error}") from error
        except (RequestLimitError, DepthImageError) as error:
            raise RequestRefusedError(str(error)) from error
        return RequestTarget(target, request.target_mask, request.target_roi)

    def request_detection_frame(self, image: Image, info: CameraInfo) -> DetectionFrame:
        if info.width == 0 and info.height == 0:
            info = self.camera_info_for_size(image.width, image.height)
        return self.prepare(image, info)

    def camera_info_for_size(self, width: int, height: int) -> CameraInfo:
        """A camera_info for a request without one: the latest received, else configured."""
        for received in reversed(self.recent_infos):
            if (received.width, received.height) == (width, height):
                return received
        values = self.parameters["camera_intrinsics"]
        if (int(values[0]), int(values[1])) == (width, height):
            configured = CameraIntrinsics(int(values[0]), int(values[1]), *values[2:])
            return intrinsics_to_camera_info(configured)
        raise RequestRefusedError(
            f"the request has no camera_info and none is known for a {width}x{height} image "
            f"(configured camera_intrinsics are {int(values[0])}x{int(values[1])})"
        )

    def prepare(self, image: Image, info: CameraInfo) -> DetectionFrame:
        try:
            check_depth_image(image, self.image_limits)
            check_camera_info(info)
            intrinsics = camera_info_to_intrinsics(info)
            inpaint = InpaintConfig(
                scale=self.parameters["inpaint_scale"],
                max_invalid_ratio=self.parameters["max_invalid_ratio"],
            )
            prepared = prepare_depth_frame(
                image, intrinsics, inpaint, camera_range=self.camera_range
            )
        except (RejectedFrameError, DepthImageError, RequestLimitError) as error:
            raise RequestRefusedError(f"bad depth request: {error}") from error
        return DetectionFrame(prepared.depth_m, prepared.intrinsics, image.header)

    def plan(
        self,
        frame: DetectionFrame,
        planner_name: str,
        started: float,
        target: RequestTarget | None = None,
    ) -> Grasp:
        """The best grasp of `planner_name` within the gripper stroke (on `target` when
        given), as a Grasp message."""
        planner = self.planners.get(planner_name)
        if planner is None:
            if planner_name not in PLANNER_NAMES:
                raise RequestRefusedError(
                    f"unknown planner {planner_name!r}: expected one of {', '.join(PLANNER_NAMES)}"
                )
            raise RequestRefusedError(
                f"planner {planner_name!r} is not loaded by this node "
                f"(parameter planners: {', '.join(self.parameters['planners'])})"
            )
        try:
            check_object_above_table(frame.depth_m, frame.intrinsics, scene_check(self.parameters))
        except RequestLimitError as error:
            raise RequestRefusedError(str(error)) from error
        try:
            options = {"target": target.target} if target is not None else {}
            planned = planner.plan(
                frame.depth_m, frame.intrinsics, self.parameters["top_k"], **options
            )
        except PlanningError as error:
            raise RequestRefusedError(f"{planner_name} found no grasp: {error}") from error
        except Exception as error:  # a planner bug must not take the service down
            self.get_logger().error(f"{planner_name} failed: {error!r}")
            raise RequestRefusedError(
                f"{planner_name} failed: {type(error).__name__}: {error}"
            ) from error
        threshold = self.parameters["q_threshold"]
        for raw in planned:
            candidate = replace(raw, q_value=self.calibrated_q(planner_name, raw.q_value))
            grasp = planned_grasp_to_msg(
                candidate, frame.intrinsics, frame.header, threshold, time.perf_counter() - started
            )
            if self.gripper.fits_stroke(grasp.width):
                return grasp
        raise RequestRefusedError(
            f"{planner_name} returned {len(planned)} grasps, none within the stroke of gripper "
            f"{self.gripper.name} ({self.gripper.max_width * 1e3:.0f} mm)"
        )

    def judged_quality(
        self,
        planner_name: str,
        frame: DetectionFrame,
        grasp: Grasp,
        target: RequestTarget | None = None,
    ) -> float | None:
        """q of another planner's `grasp` by the GQ-CNN that judged `planner_name`'s grasp, on
        the same view (None when that planner has no judge or cannot judge this grasp)."""
        judge = getattr(self.planners.get(planner_name), "judge", None)
        if judge is None:
            return None
        options = {"target": target.target} if target is not None else {}
        try:
            q = judge(
                frame.depth_m,
                frame.intrinsics,
                np.array([grasp.center_px], dtype=np.float64),
                np.array([grasp.angle]),
                np.array([grasp.width_px]),
                np.array([grasp.depth]),
                **options,
            )
        except (PlanningError, ValueError) as error:  # cannot compare: keep the fallback's
            self.get_logger().warning(f"fallback grasp not judged by {planner_name}: {error}")
            return None
        return self.calibrated_q(planner_name, float(q[0]))

    async def call_fallback(
        self, frame: DetectionFrame, target: RequestTarget | None = None
    ) -> tuple[Grasp | None, str]:
        """The best Prop+GQ-CNN grasp on `frame` (on `target` when given) from /plan_grasp,
        or None and why not."""
        if self.fallback_dead is not None:
            return None, self.fallback_dead
        if not self.fallback_client.service_is_ready():
            return None, f"fallback {FALLBACK_SERVICE} is not available"
        if not self.fallback_gate.try_enter():
            return None, f"fallback {self.fallback_gate.busy_message(FALLBACK_SERVICE)}"
        try:
            return await self.call_fallback_admitted(frame, target)
        finally:
            self.fallback_gate.leave()

    async def call_fallback_admitted(
        self, frame: DetectionFrame, target: RequestTarget | None = None
    ) -> tuple[Grasp | None, str]:
        """call_fallback once admitted by the fallback gate."""
        request = PlanGrasp.Request(
            depth=metres_to_image(frame.depth_m, header=frame.header),
            camera_info=intrinsics_to_camera_info(frame.intrinsics, frame.header),
            num_candidates=0,
            top_k=1,
        )
        if target is not None:  # the frame sent is the one the target's fields describe
            request.target_mask = target.mask
            request.target_roi = target.roi
        timeout_s = self.parameters["fallback_timeout_s"]
        future = self.fallback_client.call_async(request)
        self.fallback_calls[future] = ""  # the reason, when cancelled before its timeout
        timer = self.create_timer(timeout_s, future.cancel, callback_group=self.fallback_group)
        try:
            response = await future
        finally:
            timer.cancel()
            self.destroy_timer(timer)
            reason = self.fallback_calls.pop(future, "")
        if future.cancelled() or response is None:
            self.fallback_client.remove_pending_request(future)
            return None, reason or f"fallback {FALLBACK_SERVICE} timed out after {timeout_s:g} s"
        if not response.success:
            return None, f"fallback failed: {response.message}"
        if not response.grasps:
            return None, "fallback returned no grasp"
        return response.grasps[0], f"grasp from {response.grasps[0].planner}"

    # --- request flow: admission, limits, fallback liveliness, shutdown ------------------

    def set_up_request_flow(self) -> None:
        """The /detect_grasp service (reentrant intake, deep queue), its admission gates, the
        planning thread and the fallback's liveliness subscription."""
        self.worker = PlanningWorker(f"{NODE_NAME}_planning")
        self.frame_detection_queued = False
        self.request_gate = AdmissionGate(
            self.parameters["max_requests_in_flight"], "max_requests_in_flight"
        )
        self.fallback_gate = AdmissionGate(
            self.parameters["max_fallback_requests"], "max_fallback_requests"
        )
        self.fallback_calls: dict[Future, str] = {}  # fallback calls waiting on an answer
        self.fallback_dead: str | None = None  # why the fallback is known dead, else None
        # Says once when /plan_grasp is first reachable (discovered): until then a request that
        # would fall back is answered without the fallback ("not available").
        self.fallback_watch = self.create_timer(
            FALLBACK_WATCH_PERIOD_S, self.on_fallback_watch, callback_group=self.fallback_group
        )
        self.create_subscription(
            Empty,
            alive_topic(FALLBACK_SERVICE),
            lambda _message: None,
            ALIVE_QOS,
            event_callbacks=SubscriptionEventCallbacks(liveliness=self.on_fallback_liveliness),
            callback_group=self.fallback_group,
        )
        self.create_service(
            DetectGrasp,
            DETECT_SERVICE,
            self.on_detect_grasp_request,
            qos_profile=SERVICE_QOS,
            callback_group=ReentrantCallbackGroup(),
        )

    async def on_detect_grasp_request(
        self, request: DetectGrasp.Request, response: DetectGrasp.Response
    ) -> DetectGrasp.Response:
        """Admit (else answer "busy:" at once), check the limits, then `on_detect_grasp`."""
        return await answer_admitted(
            self, self.request_gate, DETECT_SERVICE, response,
            lambda: self.check_request_limits(request),
            lambda: self.on_detect_grasp(request, response),
        )  # fmt: skip

    def check_request_limits(self, request: DetectGrasp.Request) -> None:
        """RequestLimitError for a request field outside its limits (before any work)."""
        check_planner_name(request.planner)
        depth, info = request.depth, request.camera_info
        # Sizes are checked against a request image here, against the latest frame once taken.
        size = (int(depth.width), int(depth.height)) if depth.width else None
        check_target_fields(request.target_mask, request.target_roi, size)
        if depth.width == 0:
            if depth.height or len(depth.data) or depth.encoding or depth.step:
                raise RequestLimitError(
                    f"depth has width 0 but is not empty (height {depth.height}, encoding "
                    f"{depth.encoding!r}, {len(depth.data)} bytes of data): a request image "
                    "needs its width, and only an empty depth asks for the latest frame"
                )
            if info.width or info.height or any(info.k):
                raise RequestLimitError(
                    "camera_info comes without a depth image: an empty depth asks for the "
                    f"latest frame on {INPAINTED_TOPIC}, which comes with its own camera_info"
                )
            return
        check_depth_image(depth, self.image_limits)
        if info.width or info.height:
            check_camera_info(info)

    def on_fallback_watch(self) -> None:
        if not self.fallback_client.service_is_ready():
            return
        self.fallback_watch.cancel()
        self.get_logger().info(f"fallback {FALLBACK_SERVICE} is reachable")

    def on_fallback_liveliness(self, info: QoSLivelinessChangedInfo) -> None:
        """The fallback node's liveliness changed: dead (lapsed or gone) or back."""
        if info.alive_count > 0:
            if self.fallback_dead is not None:
                self.get_logger().info(f"fallback {FALLBACK_SERVICE} is back")
            self.fallback_dead = None
            return
        self.fallback_dead = (
            f"fallback {FALLBACK_SERVICE} died (no liveliness on {alive_topic(FALLBACK_SERVICE)} "
            "for its lease)"
        )
        self.get_logger().warning(self.fallback_dead)
        self.cancel_fallback_calls(self.fallback_dead)

    def cancel_fallback_calls(self, reason: str) -> None:
        """Answer every fallback call still waiting, with `reason`."""
        for future in list(self.fallback_calls):
            self.fallback_calls[future] = reason
            future.cancel()

    def begin_shutdown(self) -> None:
        """The process is stopping (`gqstn_ros.nodes.shutdown`): answer every request now."""
        self.worker.close()
        self.cancel_fallback_calls(f"{NODE_NAME} is shutting down")

    def shutdown_pending(self) -> bool:
        """Answers to requests in flight are still to be sent."""
        return self.request_gate.in_flight > 0

    # --- planners served by the fallback node ---------------------------------------------

    def forwards(self, planner_name: str) -> bool:
        """True when `planner_name` is not loaded here and the fallback node serves it."""
        return planner_name == PROP_PLANNER and planner_name not in self.planners

    async def plan_through_fallback_node(
        self, frame: DetectionFrame, started: float, target: RequestTarget | None = None
    ) -> Grasp:
        """The best Prop+GQ-CNN grasp on `frame` (on `target` when given) from /plan_grasp,
        judged by this node's q_threshold; RequestRefusedError says why there is none."""
        grasp, note = await self.call_fallback(frame, target)
        if grasp is None:
            raise RequestRefusedError(
                f"planner {PROP_PLANNER} is served by the fallback node: {note}"
            )
        grasp.planning_time = float(time.perf_counter() - started)
        grasp.robust = bool(grasp.q_value >= self.parameters["q_threshold"])
        return grasp

    # --- messages to the user --------------------------------------------------------------

    def startup_summary(self) -> str:
        """The one start-up line: what is served and what was loaded."""
        models_dir = self.parameters["models_dir"] or str(default_models_dir())
        loaded = ", ".join(self.planners)
        forwarded = (
            f"; {PROP_PLANNER} through {FALLBACK_SERVICE}"
            if PROP_PLANNER not in self.planners
            else ""
        )
        judge = self.parameters["judge_model"] or "each network's own GQ-CNN head"
        if self.hand_eye_enabled:
            hand_eye = HandEye.from_parameters(self.parameters)
            frames = (
                f"grasps also in {hand_eye.base_frame} ({hand_eye.camera_frame} on "
                f"{TF_STATIC_TOPIC})"
            )
        else:
            frames = "no hand-eye calibration (grasps in the camera frame only)"
        return (
            f"inference node ready: {DETECT_SERVICE}; planners {loaded} from {models_dir}"
            f"{forwarded}; {self.parameters['backend']}, {self.parameters['symmetric_views']} "
            f"view(s), {self.parameters['view_scale']} view scale, judged by {judge}; gripper "
            f"{self.gripper.name}; {frames}"
        )

    def no_frame_reason(self) -> str:
        """Why no depth frame has arrived yet, naming the topic that is missing."""
        reason = f"no depth frame received yet on {INPAINTED_TOPIC}"
        if self.count_publishers(INPAINTED_TOPIC) == 0:
            return f"{reason}: nothing publishes it (is the depth node running?)"
        if self.count_publishers(RAW_DEPTH_TOPIC) == 0:
            return (
                f"{reason}: nothing publishes {RAW_DEPTH_TOPIC}, the depth node's input (is the "
                "camera driver running?)"
            )
        return f"{reason} (the depth node has not published a frame from {RAW_DEPTH_TOPIC} yet)"

    # --- publications ----------------------------------------------------------------------

    def create_transform_publishers(self) -> None:
        """/tf for grasp frames; /tf_static with the camera's pose when the hand-eye is known."""
        self.tf_publisher = self.create_publisher(TFMessage, TF_TOPIC, TF_QOS)
        self.tf_static_publisher = self.create_publisher(TFMessage, TF_STATIC_TOPIC, TF_STATIC_QOS)
        self.published_camera_transform = None
        if self.hand_eye_enabled:
            self.publish_camera_transform(HandEye.from_parameters(self.parameters))

    def publish_camera_transform(self, hand_eye: HandEye) -> None:
        """The camera optical frame in the base frame on /tf_static (again when it changed)."""
        transform = hand_eye.transform_stamped()
        if transform != self.published_camera_transform:
            self.tf_static_publisher.publish(TFMessage(transforms=[transform]))
            self.published_camera_transform = transform

    def publish_grasp_transform(self, grasp: Grasp) -> None:
        """The grasp frame (origin at the grasp centre, x = approach, y = jaw axis) on /tf,
        child of the frame the grasp is given in, stamped with its depth frame's stamp."""
        transform = transform_stamped(
            pose_to_transform(grasp.pose),
            grasp.header.frame_id,
            self.parameters["grasp_frame"],
            grasp.header.stamp,
        )
        self.tf_publisher.publish(TFMessage(transforms=[transform]))

    def grasp_in_base(self, grasp: Grasp) -> Grasp | None:
        """`grasp` in the hand-eye base frame; None without a calibration for its frame."""
        if not self.hand_eye_enabled:
            return None
        hand_eye = HandEye.from_parameters(self.parameters)
        self.publish_camera_transform(hand_eye)
        if grasp.header.frame_id != hand_eye.camera_frame:
            self.get_logger().warning(
                f"grasp in frame {grasp.header.frame_id!r}, not the calibrated camera frame "
                f"{hand_eye.camera_frame!r} (hand_eye.camera_frame): not published in "
                f"{hand_eye.base_frame}",
                throttle_duration_sec=60.0,
            )
            return None
        return grasp_in_frame(grasp, hand_eye.base_from_camera, hand_eye.base_frame)

    def publish_grasp(self, grasp: Grasp, frame: DetectionFrame) -> None:
        self.grasp_publisher.publish(grasp)
        self.publish_grasp_transform(grasp)
        base_grasp = self.grasp_in_base(grasp)
        if base_grasp is not None:
            self.base_grasp_publisher.publish(base_grasp)
        shown = base_grasp if base_grasp is not None else grasp
        self.marker_publisher.publish(gripper_markers(shown, self.gripper))
        if self.debug_publisher.get_subscription_count() > 0:
            self.debug_publisher.publish(grasp_debug_image(frame.depth_m, grasp, frame.header))


def main(args: list[str] | None = None) -> None:
    rclpy.init(args=args)
    spin_node(InferenceNode, NODE_NAME, num_threads=3)


if __name__ == "__main__":
    main()
