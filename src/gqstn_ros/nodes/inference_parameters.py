"""The inference node's parameters (`gqstn_ros.nodes.inference_node`), declared once: names,
defaults, descriptions and limits; docs/interface.md lists them."""

from __future__ import annotations

from gqstn_ros.camera_model import KINECT_V1, CameraIntrinsics
from gqstn_ros.detection import FALLBACK_ALWAYS, FALLBACK_WHEN, ROBUST_Q_THRESHOLD
from gqstn_ros.nodes.limit_parameters import (
    camera_parameter_spec,
    max_image_pixels_spec,
    scene_check_specs,
)
from gqstn_ros.nodes.parameters import (
    Q_THRESHOLD_PARAMETER,
    ParameterSpec,
    gripper_parameter_spec,
)
from gqstn_ros.nodes.planning_parameters import (
    backend_spec,
    max_requests_in_flight_spec,
    models_dir_spec,
    request_inpaint_specs,
    view_scale_spec,
)
from gqstn_ros.nodes.topics import DETECT_SERVICE, SERVICE_QUEUE_DEPTH
from gqstn_ros.nodes.transforms import HAND_EYE_PARAMETERS
from gqstn_ros.planner_registry import (
    DEFAULT_PLANNERS,
    DEFAULT_REQUEST_PLANNER,
    PLANNER_NAMES,
    PROP_PLANNER,
    SHIPPED_JUDGE_MODEL,
    SHIPPED_Q_CALIBRATION_DIR,
    SYMMETRIC_VIEW_COUNTS,
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
        "default_planner",
        DEFAULT_REQUEST_PLANNER,
        "Planner used when a request names none",
        choices=PLANNER_NAMES,
    ),
    models_dir_spec("weights"),
    backend_spec("the networks"),
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
        "replan_on_air",
        True,
        "GQ-STN, MultiGrasp and DirectGrasp move a grasp with nothing between its jaws (more "
        "than min_object_height_m above the table) onto the object nearest to it, from the same "
        "pass of the network (false: the paper's single pass as it is)",
        read_only=True,
    ),
    ParameterSpec(
        "sweep_angles_below_q",
        ROBUST_Q_THRESHOLD,
        "GQ-STN, MultiGrasp and DirectGrasp judge a grasp (without a target) that GQ-CNN rates "
        "below this q again at 7 more jaw angles about its centre, same opening and depth, and "
        "answer the best-rated one with something between its jaws when rated higher (0: the "
        "network's angle as it is)",
        min_value=0.0,
        max_value=1.0,
        read_only=True,
    ),
    ParameterSpec(
        "raise_to_reach",
        True,
        "GQ-STN, MultiGrasp and DirectGrasp raise a grasp deeper than the fingers reach (the "
        "palm, across the stroke, comes to rest on the object first) to where the palm rests, "
        "when something still stands between the jaws there (false: the network's depth as it "
        "is)",
        read_only=True,
    ),
    view_scale_spec(
        "the networks' view window, and Prop+GQ-CNN's when it is one of `planners`, is"
    ),
    ParameterSpec(
        "judge_model",
        SHIPPED_JUDGE_MODEL,
        "GQ-CNN checkpoint that judges GQ-STN's, MultiGrasp's and DirectGrasp's grasps (q, "
        "robust label, choice among symmetric views, the default pipeline's choice) instead "
        "of their own GQ-CNN head; a relative path is inside models_dir; the default is the "
        "shipped GQ-CNN fine-tuned on detector grasps ('' = their own head, as in the paper, "
        "with q_calibration_dir ''); a missing or unreadable file stops the node",
        read_only=True,
    ),
    ParameterSpec(
        "q_calibration_dir",
        SHIPPED_Q_CALIBRATION_DIR,
        "Folder of <planner>_q_calibration.json files (q calibrated against executed lifts, "
        "gqstn_ros.q_calibration; a relative path is inside models_dir): a planner with one "
        "reports calibrated q, judged and thresholded on that scale ('' = raw q); the default "
        "holds GQ-STN's calibration for the default judge_model; a bad file, or one fitted "
        "for another judge_model, stops the node",
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
        "allow_fallback",
        True,
        "Ask /plan_grasp (Prop+GQ-CNN) for its grasp, judged against this node's (when: "
        "fallback_when)",
    ),
    ParameterSpec(
        "fallback_when",
        FALLBACK_ALWAYS,
        "When a request without a named planner asks /plan_grasp: 'always' (on every request, "
        "in parallel with the default planner; its grasp is answered when judged better) or "
        "'not_robust' (only when the grasp so far is not robust); a request naming a planner "
        "asks only when that planner's grasp is not robust",
        choices=FALLBACK_WHEN,
    ),
    ParameterSpec(
        "minor_axis_alternative",
        True,
        "A request without a named planner also judges the naive minor-axis grasp of the object "
        "(the target, else the largest object) with the default planner's GQ-CNN, and answers it "
        "when judged better (gqstn_ros.grasping.alternatives)",
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
    *request_inpaint_specs(),
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
    *scene_check_specs("the default pipeline's check that a grasp has something between its jaws"),
    max_requests_in_flight_spec(
        DETECT_SERVICE, 8, "waiting to be planned, planning or waiting on the fallback"
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
