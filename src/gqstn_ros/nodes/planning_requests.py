"""What the two planning services do alike with a request (the inference node's /detect_grasp,
the fallback node's /plan_grasp): prepare its depth image, find the object it names, check the
scene and run a planner.

Every refusal is a `RequestRefusedError` (a ValueError) whose message goes back to the caller;
the checks of `gqstn_ros.nodes.request_limits` and the frame preparation of
`gqstn_ros.depth_frames` run here in the order both services answer them. Pure (no rclpy node).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sensor_msgs.msg import CameraInfo, Image

from gqstn_ros.camera_model import CameraIntrinsics
from gqstn_ros.depth_frames import (
    CameraRange,
    PreparedFrame,
    RejectedFrameError,
    prepare_depth_frame,
)
from gqstn_ros.depth_image import DepthImageError, camera_info_to_intrinsics, depth_to_metres
from gqstn_ros.depth_processing import InpaintConfig, invalid_mask
from gqstn_ros.detection import GraspPlanner, PlannedGrasp, PlanningError
from gqstn_ros.grasping.target import GraspTarget
from gqstn_ros.nodes.request_limits import (
    ImageLimits,
    RequestLimitError,
    SceneCheck,
    check_camera_info,
    check_depth_image,
    check_object_above_table,
    check_target_visible,
    target_from_request,
)


class RequestRefusedError(ValueError):
    """A planning request that cannot be answered; the message goes back to the caller."""


def prepare_request_frame(
    image: Image,
    info: CameraInfo,
    limits: ImageLimits,
    inpaint: InpaintConfig,
    camera_range: CameraRange,
) -> PreparedFrame:
    """`image` (with its camera_info) checked against `limits` and prepared for a planner;
    RequestRefusedError "bad depth request: ..." names what is wrong with it."""
    try:
        check_depth_image(image, limits)
        check_camera_info(info)
        intrinsics = camera_info_to_intrinsics(info)
        return prepare_depth_frame(image, intrinsics, inpaint, camera_range=camera_range)
    except (RejectedFrameError, DepthImageError, RequestLimitError) as error:
        raise RequestRefusedError(f"bad depth request: {error}") from error


def find_request_target(
    mask: Image,
    roi: Any,
    request_depth: Image,
    depth_m: np.ndarray,
    intrinsics: CameraIntrinsics,
    check: SceneCheck,
) -> GraspTarget | None:
    """The object a request's `target_mask` / `target_roi` name, in the prepared frame `depth_m`
    (None: any object). RequestRefusedError when a field does not fit the frame or the target
    is not visible in it: its pixels are measured in `request_depth` (before inpainting) when
    the request carries an image of the frame's size, else in `depth_m`."""
    height, width = depth_m.shape
    try:
        target = target_from_request(mask, roi, (width, height))
        if target is None:
            return None
        # The table plane fitted once: the visibility check and the planner share it.
        target = target.with_heights(depth_m, intrinsics)
        valid = None
        if request_depth.width:  # the pixels the camera measured, before inpainting
            valid = ~invalid_mask(depth_to_metres(request_depth))
            if valid.shape != target.shape:  # the frame was resized: no pixel map
                valid = None
        check_target_visible(target, depth_m, intrinsics, check, valid)
    except PlanningError as error:  # no table plane in the frame
        raise RequestRefusedError(f"target not visible: {error}") from error
    except (RequestLimitError, DepthImageError) as error:
        raise RequestRefusedError(str(error)) from error
    return target


def check_scene(depth_m: np.ndarray, intrinsics: CameraIntrinsics, check: SceneCheck) -> None:
    """RequestRefusedError when the frame shows no object above the table (`check`)."""
    try:
        check_object_above_table(depth_m, intrinsics, check)
    except RequestLimitError as error:
        raise RequestRefusedError(str(error)) from error


def run_planner(
    planner: GraspPlanner,
    name: str,
    depth_m: np.ndarray,
    intrinsics: CameraIntrinsics,
    top_k: int,
    logger: Any,
    **options: Any,
) -> list[PlannedGrasp]:
    """The `top_k` grasps of `planner` (called `name`) on the prepared frame `depth_m`;
    RequestRefusedError when it finds none or fails. A planner's own fault is logged with
    `logger` and answered, not raised: it must not take the service down."""
    try:
        return planner.plan(depth_m, intrinsics, top_k, **options)
    except PlanningError as error:
        raise RequestRefusedError(f"{name} found no grasp: {error}") from error
    except Exception as error:
        logger.error(f"{name} failed: {error!r}")
        raise RequestRefusedError(f"{name} failed: {type(error).__name__}: {error}") from error
