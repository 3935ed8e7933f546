"""Inference node: serves /detect_grasp with GQ-STN (or MultiGrasp, DirectGrasp).

Keeps the latest `/depth/inpainted` frame and its camera_info, and answers `/detect_grasp`
(gqstn_msgs/DetectGrasp) on that frame or on the image that comes with the request (inpainted
here when it has holes). Publishes every grasp on `/grasp_pose` (camera optical frame) and as
the TF frame `grasp_frame` on `/tf`; with a hand-eye calibration (`hand_eye.enabled`, set for the
bench by config/hand_eye.yaml) also the camera's pose in `base_link` on `/tf_static`, the grasp on
`/grasp_pose/base_link` and the markers in `base_link`; else the markers in the camera frame.
`/grasp_markers` and `/grasp_debug_image` are reliable (RViz's default subscription). A request
naming no planner gets the default pipeline (`gqstn_ros.grasping.alternatives`): the default
planner's grasp, the minor-axis grasp of the object and the Prop+GQ-CNN fallback's grasp
(`/plan_grasp`, fallback_node, asked in parallel with the planner when `fallback_when` is
'always'), the best as the default planner's GQ-CNN judges them. A request naming a planner
gets its grasp, replaced by the fallback's only when it is not robust and the fallback's is
judged better. Every planner the interface names is served: a request for `prop_gqcnn`, when
this node does not load it itself, is forwarded to `/plan_grasp`.

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
from dataclasses import replace
from pathlib import Path

import numpy as np
import rclpy
from gqstn_msgs.msg import Grasp
from gqstn_msgs.srv import DetectGrasp
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup, ReentrantCallbackGroup
from rclpy.logging import LoggingSeverity
from rclpy.node import Node
from rclpy.task import Future
from sensor_msgs.msg import CameraInfo, Image

from gqstn_ros.detection import FALLBACK_ALWAYS, FALLBACK_NOT_ROBUST, GraspPlanner, PlanningError
from gqstn_ros.grasping.alternatives import (
    ExecutionCheck,
    asks_fallback,
    judged_better,
    minor_axis_alternative,
    preferred,
)
from gqstn_ros.gripper import GripperMismatchError
from gqstn_ros.nodes.detection_frames import DetectionFrame, LatestFrame, RequestTarget
from gqstn_ros.nodes.fallback_client import FallbackClient
from gqstn_ros.nodes.grasp_messages import planned_grasp_to_msg
from gqstn_ros.nodes.grasp_publications import GraspPublications
from gqstn_ros.nodes.inference_parameters import INFERENCE_NODE_PARAMETERS
from gqstn_ros.nodes.limit_parameters import image_limits, load_camera_range, scene_check
from gqstn_ros.nodes.parameters import (
    NodeParameters,
    ParameterValueError,
    load_gripper_parameter,
    spin_node,
)
from gqstn_ros.nodes.planning_parameters import request_inpaint_config
from gqstn_ros.nodes.planning_requests import (
    RequestRefusedError,
    check_scene,
    find_request_target,
    prepare_request_frame,
    run_planner,
)
from gqstn_ros.nodes.request_flow import AdmissionGate, PlanningWorker, create_planning_service
from gqstn_ros.nodes.request_limits import (
    RequestLimitError,
    check_camera_info,
    check_depth_image,
    check_planner_name,
    check_target_fields,
)
from gqstn_ros.nodes.topics import (
    DETECT_SERVICE,
    INPAINTED_INFO_TOPIC,
    INPAINTED_TOPIC,
    PLAN_SERVICE,
    RAW_DEPTH_TOPIC,
    SENSOR_QOS,
    TF_STATIC_TOPIC,
)
from gqstn_ros.nodes.transforms import HandEye
from gqstn_ros.planner_registry import (
    PLANNER_NAMES,
    PROP_PLANNER,
    PlannerUnavailable,
    default_models_dir,
    load_planner,
    options_for,
)
from gqstn_ros.q_calibration import QCalibration, load_q_calibrations

NODE_NAME = "inference_node"
REQUEST_TIMING_TEXT = "request timing (CLOCK_MONOTONIC s):"


def message_fault(check: ExecutionCheck, grasp: Grasp) -> str | None:
    """(planning thread) Why the Grasp message cannot be carried out as planned
    (`ExecutionCheck.fault`), None when it can."""
    return check.fault(tuple(grasp.center_px), grasp.angle, grasp.width_px, grasp.depth)


def replaces(
    judged_q: float | None, candidate: Grasp, grasp: Grasp, check: ExecutionCheck | None
) -> bool:
    """(planning thread) Whether an alternative `candidate` judged `judged_q` replaces `grasp`:
    `alternatives.preferred` with `check`, else `alternatives.judged_better`."""
    if check is None:
        return judged_better(judged_q, grasp.q_value)
    return preferred(
        judged_q,
        message_fault(check, candidate) is None,
        grasp.q_value,
        message_fault(check, grasp) is None,
    )


class InferenceNode(Node):
    """Grasp detection service and publications (see the module docstring)."""

    def __init__(self) -> None:
        super().__init__(NODE_NAME)
        self.parameters = NodeParameters(self, INFERENCE_NODE_PARAMETERS)
        self.gripper = load_gripper_parameter(self.parameters)
        self.camera_range = load_camera_range(self.parameters)
        self.image_limits = image_limits(self.parameters)
        HandEye.from_parameters(self.parameters)  # refuse an invalid calibration at start
        self.planners: dict[str, GraspPlanner] = {}
        self.load_planners()
        # Per-request timestamps in the log at debug level, to split the round trip of a
        # request between processes (benchmarks/detect_grasp_overhead.py --breakdown).
        self.log_request_timing = self.get_logger().is_enabled_for(LoggingSeverity.DEBUG)
        self.latest = LatestFrame()
        # Requests waiting for the camera_info of a frame that arrived before it.
        self.info_waiters: list[Future] = []

        self.inference_group = MutuallyExclusiveCallbackGroup()
        self.frames_group = MutuallyExclusiveCallbackGroup()
        self.fallback_group = ReentrantCallbackGroup()
        self.publications = GraspPublications(self, self.parameters, self.gripper)
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
        # A node whose planners take no judge needs neither the judge nor its calibration.
        self.judged = any(
            "judge_model" in options_for(name, judge_model=judge)
            for name in self.parameters["planners"]
        )
        if judge and self.judged:
            judge_path = Path(models_dir or default_models_dir()) / judge  # absolute stays
            if not judge_path.is_file():
                raise ParameterValueError(
                    f"parameter judge_model: {judge_path} does not exist (judge_model:='' "
                    "q_calibration_dir:='' judges with each network's own GQ-CNN head)"
                )
        for name in dict.fromkeys(self.parameters["planners"]):
            try:
                options = options_for(
                    name,
                    symmetric_views=self.parameters["symmetric_views"],
                    judge_model=self.parameters["judge_model"] or None,
                    view_scale=self.parameters["view_scale"],
                    replan_on_air=self.parameters["replan_on_air"],
                    raise_to_reach=self.parameters["raise_to_reach"],
                    sweep_angles_below_q=self.parameters["sweep_angles_below_q"],
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
        """The q calibration of every loaded planner that has one in q_calibration_dir; none
        when no loaded planner takes a judge (the calibrations are of judged q)."""
        folder = self.parameters["q_calibration_dir"]
        if not folder or not self.judged:
            return {}
        models_dir = Path(self.parameters["models_dir"] or default_models_dir())
        try:
            return load_q_calibrations(
                models_dir / folder, self.planners, self.parameters["judge_model"], models_dir
            )
        except ValueError as error:
            raise ParameterValueError(
                f"parameter q_calibration_dir: {error} (q_calibration_dir:='' reports raw q)"
            ) from error

    def calibrated_q(self, planner_name: str, q: float) -> float:
        """q on the calibrated scale of `planner_name` (raw without a calibration)."""
        calibration = getattr(self, "q_calibrations", {}).get(planner_name)
        return float(calibration.apply(q)) if calibration is not None else float(q)

    # --- frames ----------------------------------------------------------------------------

    def on_camera_info(self, info: CameraInfo) -> None:
        self.latest.add_camera_info(info)
        for waiter in list(self.info_waiters):
            if not waiter.done():
                waiter.set_result(info)

    def on_depth_frame(self, image: Image) -> None:
        self.latest.add_frame(image)
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
        self.publications.publish(grasp, frame)

    async def wait_for_latest_camera_info(self) -> None:
        """Wait up to camera_info_wait_s for the camera_info of a frame that came first.

        A frame and its camera_info travel on two topics, so either can arrive first; a
        request right after the first frame would otherwise be refused.
        """
        wait_s = self.parameters["camera_info_wait_s"]
        received = self.latest.received
        if (
            wait_s <= 0
            or received is None
            or self.latest.camera_info_of(received.image) is not None
        ):
            return
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            waiter = Future()
            self.info_waiters.append(waiter)  # before the check: no camera_info slips past
            if self.latest.camera_info_of(received.image) is not None:
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
        image, info = self.latest.take(self.parameters["max_frame_age_s"], self.no_frame_reason)
        return self.prepare(image, info)

    def request_detection_frame(self, image: Image, info: CameraInfo) -> DetectionFrame:
        if info.width == 0 and info.height == 0:
            info = self.latest.camera_info_for_size(
                image.width, image.height, self.parameters["camera_intrinsics"]
            )
        return self.prepare(image, info)

    def prepare(self, image: Image, info: CameraInfo) -> DetectionFrame:
        inpaint = request_inpaint_config(self.parameters)
        prepared = prepare_request_frame(image, info, self.image_limits, inpaint, self.camera_range)
        return DetectionFrame(prepared.depth_m, prepared.intrinsics, image.header)

    def frame_and_target(
        self, request: DetectGrasp.Request
    ) -> tuple[DetectionFrame, RequestTarget | None]:
        """(planning thread) The request's frame (its image, else the latest frame) and its
        target in that frame; RequestRefusedError says what is wrong with either."""
        if request.depth.width == 0:
            frame = self.latest_detection_frame()
        else:
            frame = self.request_detection_frame(request.depth, request.camera_info)
        return frame, self.request_target(request, frame)

    def request_target(
        self, request: DetectGrasp.Request, frame: DetectionFrame
    ) -> RequestTarget | None:
        """The request's target in `frame` (None: any object); RequestRefusedError when a
        target field does not fit the frame or the target is not visible in it."""
        target = find_request_target(
            request.target_mask, request.target_roi, request.depth, frame.depth_m,
            frame.intrinsics, scene_check(self.parameters),
        )  # fmt: skip
        if target is None:
            return None
        return RequestTarget(target, request.target_mask, request.target_roi)

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
            frame, target = await self.worker.submit(lambda: self.frame_and_target(request))
            forwarded = self.forwards(planner)
            # Without a named planner: the default pipeline (`grasping.alternatives`).
            pipeline = not request.planner and not request.disable_fallback and not forwarded
            fallback_allowed = (
                self.parameters["allow_fallback"] and not request.disable_fallback and not forwarded
            )
            fallback_when = self.parameters["fallback_when"] if pipeline else FALLBACK_NOT_ROBUST
            early_fallback = None  # asked at once, in parallel with the planner
            if fallback_allowed and fallback_when == FALLBACK_ALWAYS:
                early_fallback = self.executor.create_task(self.fallback.call(frame, target))
            grasp: Grasp | None = None
            if forwarded:
                grasp = await self.plan_through_fallback_node(frame, started, target)
            else:
                try:
                    grasp = await self.worker.submit(
                        lambda: self.plan(frame, planner, started, target)
                    )
                except RequestRefusedError as error:
                    if not pipeline:
                        raise
                    response.message = str(error)  # the alternatives may still find a grasp
        except RequestRefusedError as error:
            self.get_logger().warning(f"{DETECT_SERVICE} refused: {error}")
            response.success = False
            response.message = str(error)
            return response
        check = None
        if pipeline:  # an object stands out of the table as much as the scene check says
            check = ExecutionCheck(
                frame.depth_m, frame.intrinsics, self.gripper,
                object_height_m=scene_check(self.parameters).min_height_m,
            )  # fmt: skip
        if grasp is not None:
            response.message = f"{planner} grasp, q={grasp.q_value:.3f}"
            fault = None
            if check is not None:
                fault = await self.worker.submit(lambda: message_fault(check, grasp))
            if fault is not None:
                response.message += f", {fault}"
        if pipeline and self.parameters["minor_axis_alternative"]:
            grasp = await self.worker.submit(
                lambda: self.try_minor_axis(planner, frame, target, grasp, started, response, check)
            )
        if fallback_allowed and asks_fallback(fallback_when, grasp is not None and grasp.robust):
            grasp = await self.try_fallback(
                planner, frame, target, grasp, started, response, early_fallback, check
            )
        if grasp is None:  # neither the planner nor an alternative found one
            self.get_logger().warning(f"{DETECT_SERVICE} refused: {response.message}")
            response.success = False
            return response
        grasp_ready_s = time.monotonic()  # the grasp answered, after the fallback if one ran
        self.publications.publish(grasp, frame)
        response.success = True
        response.grasp = grasp
        if self.log_request_timing:  # --log-level inference_node:=debug
            self.get_logger().debug(
                f"{REQUEST_TIMING_TEXT} callback {callback_started_s:.6f} grasp "
                f"{grasp_ready_s:.6f} answered {time.monotonic():.6f}"
            )
        return response

    def try_minor_axis(
        self,
        planner: str,
        frame: DetectionFrame,
        target: RequestTarget | None,
        grasp: Grasp | None,
        started: float,
        response: DetectGrasp.Response,
        check: ExecutionCheck | None = None,
    ) -> Grasp | None:
        """(planning thread) The minor-axis grasp of the object instead of `planner`'s `grasp`
        (None: it found none) when preferred (`alternatives.preferred`, with `check`; without
        it, judged better by the GQ-CNN that judges `planner`'s grasps), else `grasp`; the
        response's message says when it is."""
        try:
            alternative = minor_axis_alternative(
                frame.depth_m, frame.intrinsics, self.gripper, target.target if target else None
            )
        except PlanningError:
            return grasp  # no object blob, or fingers on another object: nothing to compare
        except Exception as error:  # its own fault must not take the service down (run_planner)
            self.get_logger().error(f"minor-axis alternative failed: {error!r}")
            return grasp
        candidate = planned_grasp_to_msg(
            alternative, frame.intrinsics, frame.header, self.parameters["q_threshold"],
            time.perf_counter() - started,
        )  # fmt: skip
        judged_q = self.judged_quality(planner, frame, candidate, target)
        if grasp is not None and not replaces(judged_q, candidate, grasp, check):
            return grasp
        if judged_q is not None:
            candidate.q_value = judged_q
            candidate.robust = judged_q >= self.parameters["q_threshold"]
        verdict = "is better" if grasp is not None else "is answered"
        response.message += f"; the minor-axis grasp, judged q={candidate.q_value:.3f}, {verdict}"
        return candidate

    async def try_fallback(
        self,
        planner: str,
        frame: DetectionFrame,
        target: RequestTarget | None,
        grasp: Grasp | None,
        started: float,
        response: DetectGrasp.Response,
        pending: Future | None = None,
        check: ExecutionCheck | None = None,
    ) -> Grasp | None:
        """The fallback's grasp instead of `grasp` (None: none yet) when it is better (judged
        by the GQ-CNN that judges `planner`'s grasps, where there is one; with `check`, a grasp
        that can be carried out as planned first, `alternatives.preferred`), else `grasp`;
        the response's message and `used_fallback` say which. `pending`: the fallback's call,
        already asked."""
        if pending is not None:
            fallback_grasp, note = await pending
        else:
            fallback_grasp, note = await self.fallback.call(frame, target)
        robustness = "" if grasp is None or grasp.robust else "not robust; "
        if fallback_grasp is None:
            response.message += f" ({robustness}{note})"
            return grasp
        judged_q = await self.worker.submit(
            lambda: self.judged_quality(planner, frame, fallback_grasp, target)
        )
        # With `check`: the one of the two that cannot be carried out, when only one can.
        infeasible, fault = None, None
        if check is not None and grasp is not None:
            fallback_fault, grasp_fault = await self.worker.submit(
                lambda: (message_fault(check, fallback_grasp), message_fault(check, grasp))
            )
            if (fallback_fault is None) != (grasp_fault is None):
                infeasible = grasp if fallback_fault is None else fallback_grasp
                fault = grasp_fault or fallback_fault
        if infeasible is fallback_grasp:
            response.message += f" (the fallback's grasp {note}: {fault})"
            return grasp
        if grasp is not None and infeasible is None:
            if judged_q is None and grasp.robust:
                response.message += " (the fallback's grasp cannot be judged by the same GQ-CNN)"
                return grasp
            if judged_q is not None and judged_q <= grasp.q_value:
                response.message += (
                    f" ({robustness}the fallback's grasp, judged q={judged_q:.3f} by the "
                    f"same GQ-CNN, is no better)"
                )
                return grasp
        fallback_grasp.planning_time = float(time.perf_counter() - started)
        if judged_q is not None:  # one scale: the judge of the primary's q
            fallback_grasp.q_value = judged_q
            fallback_grasp.robust = judged_q >= self.parameters["q_threshold"]
        response.used_fallback = True
        if grasp is None:
            response.message += f"; fallback {note}, judged q={fallback_grasp.q_value:.3f}"
        elif infeasible is grasp:
            response.message += (
                f"; fallback {note}, judged q={fallback_grasp.q_value:.3f}, can be carried out "
                "as planned"
            )
        elif grasp.robust:
            response.message += f"; fallback {note}, judged q={judged_q:.3f}, is better"
        else:
            response.message = f"{planner} grasp not robust; fallback {note}"
        return fallback_grasp

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
        scene = scene_check(self.parameters)
        check_scene(frame.depth_m, frame.intrinsics, scene)
        if hasattr(planner, "object_height_m"):  # the network planners: follows the parameter
            planner.object_height_m = scene.min_height_m
        options = {"target": target.target} if target is not None else {}
        planned = run_planner(
            planner, planner_name, frame.depth_m, frame.intrinsics, self.parameters["top_k"],
            self.get_logger(), **options,
        )  # fmt: skip
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
        except (PlanningError, ValueError) as error:  # cannot compare
            self.get_logger().warning(
                f"{grasp.planner} grasp not judged by {planner_name}: {error}"
            )
            return None
        return self.calibrated_q(planner_name, float(q[0]))

    # --- request flow: admission, limits, shutdown -----------------------------------------

    def set_up_request_flow(self) -> None:
        """The /detect_grasp service (reentrant intake, deep queue), its admission gate, the
        planning thread and the client of the fallback."""
        self.worker = PlanningWorker(f"{NODE_NAME}_planning", lambda: self.executor)
        self.frame_detection_queued = False
        self.request_gate = AdmissionGate(
            self.parameters["max_requests_in_flight"], "max_requests_in_flight"
        )
        self.fallback = FallbackClient(self, self.parameters, self.fallback_group)
        # Admitted (else "busy:" at once), checked, then `on_detect_grasp`.
        create_planning_service(
            self, DetectGrasp, DETECT_SERVICE, self.request_gate, self.check_request_limits,
            self.on_detect_grasp,
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

    def begin_shutdown(self) -> None:
        """The process is stopping (`gqstn_ros.nodes.shutdown`): answer every request now."""
        self.worker.close()
        self.fallback.cancel_calls(f"{NODE_NAME} is shutting down")

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
        grasp, note = await self.fallback.call(frame, target)
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
            f"; {PROP_PLANNER} through {PLAN_SERVICE}" if PROP_PLANNER not in self.planners else ""
        )
        judge = self.parameters["judge_model"] or "each network's own GQ-CNN head"
        if self.publications.hand_eye_enabled:
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


def main(args: list[str] | None = None) -> None:
    rclpy.init(args=args)
    spin_node(InferenceNode, NODE_NAME, num_threads=3)


if __name__ == "__main__":
    main()
