"""The node parameters that set the request limits of `gqstn_ros.nodes.request_limits`,
declared once for the depth, inference and fallback nodes, and their loaders."""

from __future__ import annotations

from gqstn_ros.depth_frames import CameraRange
from gqstn_ros.nodes.parameters import NodeParameters, ParameterSpec, ParameterValueError
from gqstn_ros.nodes.request_limits import (
    DEFAULT_MAX_IMAGE_PIXELS,
    MAX_IMAGE_SIDE_PX,
    ImageLimits,
    SceneCheck,
)
from gqstn_ros.profiles import (
    DEFAULT_CAMERA_PROFILE,
    ProfileError,
    camera_profile_names,
    load_camera_profile,
)

CAMERA_PARAMETER = "camera"


def camera_parameter_spec() -> ParameterSpec:
    """`camera`: the profile whose sensor range bounds plausible depths (read-only)."""
    return ParameterSpec(
        CAMERA_PARAMETER,
        DEFAULT_CAMERA_PROFILE,
        f"Camera profile: a name under config/cameras ({', '.join(camera_profile_names())}) or "
        "the path of a profile YAML file; depths outside its sensor range (noise.min_range to "
        "noise.max_range) are invalid pixels, and a frame with more than 5 % of its valid "
        "pixels there is refused",
        read_only=True,
    )


def max_image_pixels_spec() -> ParameterSpec:
    return ParameterSpec(
        "max_image_pixels",
        DEFAULT_MAX_IMAGE_PIXELS,
        f"Largest depth image accepted, width x height pixels (each side also at most "
        f"{MAX_IMAGE_SIDE_PX}); bounds the memory and time one frame or request can take",
        min_value=1,
        max_value=MAX_IMAGE_SIDE_PX**2,
        read_only=True,
    )


def scene_check_specs(height_used_by: str = "") -> tuple[ParameterSpec, ...]:
    """The scene check's parameters; `height_used_by` names what else of the node reads
    min_object_height_m, for its description."""
    defaults = SceneCheck()
    used_by = f" (also {height_used_by})" if height_used_by else ""
    return (
        ParameterSpec(
            "min_object_height_m",
            defaults.min_height_m,
            f"An object stands more than this above the table plane fitted to the frame, "
            f"metres{used_by}",
            min_value=0.001,
            max_value=0.5,
        ),
        ParameterSpec(
            "min_object_area_m2",
            defaults.min_area_m2,
            "A frame with no region above the table at least this large, square metres, is "
            "refused as 'no object above the table' (0: no check)",
            min_value=0.0,
            max_value=1.0,
        ),
    )


def load_camera_range(parameters: NodeParameters) -> CameraRange:
    """The sensor range of the camera profile the `camera` parameter names; a profile that
    cannot be used raises ParameterValueError naming the parameter, the file and the field."""
    try:
        profile = load_camera_profile(parameters[CAMERA_PARAMETER])
    except ProfileError as error:
        raise ParameterValueError(f"parameter {CAMERA_PARAMETER}: {error}") from error
    near, far = profile.depth_range
    return CameraRange(profile.name, near, far)


def image_limits(parameters: NodeParameters) -> ImageLimits:
    return ImageLimits(max_pixels=int(parameters["max_image_pixels"]))


def scene_check(parameters: NodeParameters) -> SceneCheck:
    return SceneCheck(
        min_height_m=float(parameters["min_object_height_m"]),
        min_area_m2=float(parameters["min_object_area_m2"]),
    )
