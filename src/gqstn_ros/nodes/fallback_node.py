"""Fallback node: serves /plan_grasp with Prop+GQ-CNN (antipodal candidates ranked by GQ-CNN).

The inference node asks it when its own grasp is not robust; anyone may ask it directly.
`num_candidates` 0 means the node's default (1000, as in the paper), `top_k` 0 means 1. The
request image is validated and inpainted like the depth node's frames. Every failure a caller
can cause is answered with success false and a message naming it; the node keeps serving. The
ranking GQ-CNN is loaded at start: a missing or unreadable file stops the node with a FATAL
naming it (exit code 2).

Requests (`gqstn_ros.nodes.request_flow`): taken in a reentrant callback group from a deep
queue, checked against the limits of `gqstn_ros.nodes.request_limits` (image size,
camera_info, `num_candidates` at most `max_num_candidates`, `top_k` at most 100) before any
work, refused at once with a "busy:" message beyond `max_requests_in_flight`, and planned one
at a time on a planning thread. A request naming a target (`target_mask`, `target_roi`, as in
DetectGrasp) gets grasps on that object only: candidates are sampled on it, and a target not
visible in the request image is refused ("target not visible: ..."). The node holds a
publisher on `/plan_grasp/alive` with automatic liveliness, so that its callers notice within
a second when it dies. On SIGINT the requests in flight are answered ("shutting down") and the
process ends without waiting for a planner call in progress.
"""

from __future__ import annotations

import inspect
import time

import rclpy
from gqstn_msgs.msg import Grasp
from gqstn_msgs.srv import PlanGrasp
from rclpy.node import Node
from std_msgs.msg import Empty

from gqstn_ros.detection import GraspPlanner
from gqstn_ros.gripper import GripperMismatchError
from gqstn_ros.nodes.grasp_messages import planned_grasp_to_msg
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
from gqstn_ros.nodes.planning_parameters import (
    backend_spec,
    max_requests_in_flight_spec,
    models_dir_spec,
    request_inpaint_config,
    request_inpaint_specs,
    view_scale_spec,
)
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
    check_count,
    check_depth_image,
    check_target_fields,
)
from gqstn_ros.nodes.topics import ALIVE_QOS, PLAN_SERVICE, alive_topic
from gqstn_ros.planner_registry import (
    PROP_PLANNER,
    PlannerUnavailable,
    default_models_dir,
    load_planner,
)

NODE_NAME = "fallback_node"
MAX_TOP_K = 100
# Prop+GQ-CNN's cost grows with the candidates: 10,000 took 7.7 s and 0.4 GB on the 2-core CI
# machine (about 2 s for 1,000), 100,000 about 43 s and 2.7 GB.
DEFAULT_MAX_NUM_CANDIDATES = 10000

FALLBACK_NODE_PARAMETERS = (
    models_dir_spec("GQ-CNN weights"),
    backend_spec("GQ-CNN"),
    ParameterSpec(
        "ranking_model",
        "",
        "GQ-CNN checkpoint that ranks the candidates, a file in models_dir or a path ('' = "
        "gqcnn_fast.pt when it exists, else gqcnn.pt)",
        read_only=True,
    ),
    gripper_parameter_spec(
        "candidates fit its stroke, and the ranking GQ-CNN must have been trained for its "
        "geometry (else the node stops at start)"
    ),
    view_scale_spec(
        "the window the candidates are sampled in, and GQ-CNN's crops are cut from, is"
    ),
    ParameterSpec(
        "num_candidates",
        1000,
        "Antipodal candidates sampled per request when the request asks for 0",
        min_value=1,
        max_value=100000,
    ),
    Q_THRESHOLD_PARAMETER,
    *request_inpaint_specs(),
    camera_parameter_spec(),
    max_image_pixels_spec(),
    *scene_check_specs(),
    ParameterSpec(
        "max_num_candidates",
        DEFAULT_MAX_NUM_CANDIDATES,
        "Most candidates one request may have sampled (its num_candidates, or num_candidates "
        "for a request asking 0); bounds the time and memory of one request",
        min_value=1,
        max_value=100000,
        read_only=True,
    ),
    max_requests_in_flight_spec(PLAN_SERVICE, 4, "waiting or planning"),
)


class FallbackNode(Node):
    """Prop+GQ-CNN grasp planning service (see the module docstring)."""

    def __init__(self) -> None:
        super().__init__(NODE_NAME)
        self.parameters = NodeParameters(self, FALLBACK_NODE_PARAMETERS)
        self.gripper = load_gripper_parameter(self.parameters)
        self.camera_range = load_camera_range(self.parameters)
        self.image_limits = image_limits(self.parameters)
        try:
            self.planner: GraspPlanner = load_planner(
                PROP_PLANNER,
                self.parameters["models_dir"] or None,
                self.parameters["backend"],
                num_candidates=self.parameters["num_candidates"],
                ranking_model=self.parameters["ranking_model"] or None,
                gripper=self.gripper,
                view_scale=self.parameters["view_scale"],
            )
        except GripperMismatchError as error:
            raise ParameterValueError(
                f"parameter gripper: planner {PROP_PLANNER}: {error}"
            ) from error
        except (PlannerUnavailable, ValueError) as error:
            raise ParameterValueError(
                f"parameter ranking_model: {PROP_PLANNER} cannot be loaded: {error}"
            ) from error
        self.planner_takes_num_candidates = (
            "num_candidates" in inspect.signature(self.planner.plan).parameters
        )
        self.set_up_request_flow()
        ranking = getattr(self.planner, "ranking_model", "")
        models_dir = self.parameters["models_dir"] or str(default_models_dir())
        self.get_logger().info(
            f"fallback node ready: {PLAN_SERVICE}, {PROP_PLANNER} ranking with {ranking} from "
            f"{models_dir}; {self.parameters['backend']}; gripper {self.gripper.name} "
            f"({self.gripper.max_width * 1e3:.0f} mm stroke)"
        )

    # --- request flow: admission, limits, liveliness, shutdown --------------------------------

    def set_up_request_flow(self) -> None:
        """The /plan_grasp service (reentrant intake, deep queue), its admission gate, the
        planning thread and the liveliness publisher its callers watch."""
        self.worker = PlanningWorker(f"{NODE_NAME}_planning", lambda: self.executor)
        self.request_gate = AdmissionGate(
            self.parameters["max_requests_in_flight"], "max_requests_in_flight"
        )
        # Automatic liveliness: asserted by the middleware while this process lives.
        self.alive_publisher = self.create_publisher(Empty, alive_topic(PLAN_SERVICE), ALIVE_QOS)
        # Admitted (else "busy:" at once), checked, then planned on the planning thread.
        create_planning_service(
            self, PlanGrasp, PLAN_SERVICE, self.request_gate, self.check_request_limits,
            lambda request, response: self.worker.submit(
                lambda: self.on_plan_grasp(request, response)
            ),
        )  # fmt: skip

    def check_request_limits(self, request: PlanGrasp.Request) -> None:
        """RequestLimitError for a request field outside its limits (before any work)."""
        check_count(request.top_k, MAX_TOP_K, "top_k")
        num_candidates = request.num_candidates or self.parameters["num_candidates"]
        check_count(
            num_candidates, self.parameters["max_num_candidates"], "num_candidates",
            "max_num_candidates",
        )  # fmt: skip
        if request.depth.width:
            check_depth_image(request.depth, self.image_limits)
        if request.camera_info.width or request.camera_info.height:
            check_camera_info(request.camera_info)
        depth = request.depth
        size = (int(depth.width), int(depth.height)) if depth.width else None
        check_target_fields(request.target_mask, request.target_roi, size)

    def begin_shutdown(self) -> None:
        """The process is stopping (`gqstn_ros.nodes.shutdown`): answer every request now."""
        self.worker.close()

    def shutdown_pending(self) -> bool:
        """Answers to requests in flight are still to be sent."""
        return self.request_gate.in_flight > 0

    # --- planning --------------------------------------------------------------------------

    def on_plan_grasp(
        self, request: PlanGrasp.Request, response: PlanGrasp.Response
    ) -> PlanGrasp.Response:
        try:
            response.grasps = self.plan(request)
        except ValueError as error:
            self.get_logger().warning(f"{PLAN_SERVICE} refused: {error}")
            response.success = False
            response.message = str(error)
            return response
        response.success = True
        response.message = f"{len(response.grasps)} grasps, best q={response.grasps[0].q_value:.3f}"
        return response

    def plan(self, request: PlanGrasp.Request) -> list[Grasp]:
        """The request's best grasps within the gripper stroke; ValueError says why none."""
        started = time.perf_counter()
        if request.depth.width == 0:
            raise ValueError("the request has no depth image (width 0)")
        if request.camera_info.width == 0 and request.camera_info.height == 0:
            raise ValueError("the request has no camera_info")
        try:
            self.check_request_limits(request)
        except RequestLimitError as error:
            raise RequestRefusedError(f"bad depth request: {error}") from error
        frame = prepare_request_frame(
            request.depth,
            request.camera_info,
            self.image_limits,
            request_inpaint_config(self.parameters),
            self.camera_range,
        )
        top_k = request.top_k or 1
        if top_k > MAX_TOP_K:
            raise ValueError(f"top_k {top_k} is above the maximum {MAX_TOP_K}")
        num_candidates = request.num_candidates or self.parameters["num_candidates"]
        options = {}
        if self.planner_takes_num_candidates:
            options["num_candidates"] = num_candidates
        elif request.num_candidates not in (0, self.parameters["num_candidates"]):
            raise ValueError(
                f"this {PROP_PLANNER} planner samples a fixed number of candidates "
                f"({self.parameters['num_candidates']}); num_candidates must be 0"
            )
        check = scene_check(self.parameters)
        check_scene(frame.depth_m, frame.intrinsics, check)
        target = find_request_target(
            request.target_mask, request.target_roi, request.depth, frame.depth_m,
            frame.intrinsics, check,
        )  # fmt: skip
        if target is not None:
            options["target"] = target
        planned = run_planner(
            self.planner, PROP_PLANNER, frame.depth_m, frame.intrinsics, top_k, self.get_logger(),
            **options,
        )  # fmt: skip
        threshold = self.parameters["q_threshold"]
        grasps = [
            planned_grasp_to_msg(grasp, frame.intrinsics, request.depth.header, threshold, 0.0)
            for grasp in planned
        ]
        grasps = [grasp for grasp in grasps if self.gripper.fits_stroke(grasp.width)][:top_k]
        if not grasps:
            raise ValueError(
                f"{PROP_PLANNER} found no grasp within the stroke of gripper {self.gripper.name} "
                f"({self.gripper.max_width * 1e3:.0f} mm)"
            )
        elapsed_s = time.perf_counter() - started
        for grasp in grasps:
            grasp.planning_time = float(elapsed_s)
        return grasps


def main(args: list[str] | None = None) -> None:
    rclpy.init(args=args)
    spin_node(FallbackNode, NODE_NAME, num_threads=2)


if __name__ == "__main__":
    main()
