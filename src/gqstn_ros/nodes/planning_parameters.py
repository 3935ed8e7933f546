"""The parameter specs the two planning services share (the inference node's /detect_grasp, the
fallback node's /plan_grasp), declared once here, and their loaders.

Each node lists these in its own spec tuple beside the limits of
`gqstn_ros.nodes.limit_parameters`, the gripper and `q_threshold` of `gqstn_ros.nodes.parameters`.
"""

from __future__ import annotations

from gqstn_ros.depth_processing import InpaintConfig
from gqstn_ros.nodes.parameters import NodeParameters, ParameterSpec, inpaint_specs
from gqstn_ros.nodes.topics import SERVICE_QUEUE_DEPTH
from gqstn_ros.planner_registry import BACKENDS, VIEW_SCALES


def models_dir_spec(weights: str) -> ParameterSpec:
    """`models_dir`: the folder of the node's `weights` (read-only)."""
    return ParameterSpec(
        "models_dir",
        "",
        f"Folder of the {weights} ('' = share/gqstn_ros/models, else the repository's models/)",
        read_only=True,
    )


def backend_spec(networks: str) -> ParameterSpec:
    """`backend`: the inference backend of the node's `networks` (read-only)."""
    return ParameterSpec(
        "backend", "torch", f"Inference backend of {networks}", choices=BACKENDS, read_only=True
    )


def view_scale_spec(windows: str) -> ParameterSpec:
    """`view_scale`: how the node's `windows` are sized (read-only; `VIEW_SCALES`)."""
    return ParameterSpec(
        "view_scale",
        "metric",
        f"How {windows} sized: 'metric' covers the metres the checkpoint's window covered in "
        "training, at the table's depth under the window, whatever the camera; 'checkpoint' "
        "uses the window stored in the checkpoint (the paper's fixed 320 frame pixels about "
        "the centre)",
        choices=VIEW_SCALES,
        read_only=True,
    )


def request_inpaint_specs() -> tuple[ParameterSpec, ParameterSpec]:
    """`inpaint_scale` and `max_invalid_ratio` of the request images (`inpaint_specs`)."""
    return inpaint_specs("request images", "Refuse")


def request_inpaint_config(parameters: NodeParameters) -> InpaintConfig:
    """The inpainting of request images that `request_inpaint_specs` set."""
    return InpaintConfig(
        scale=parameters["inpaint_scale"], max_invalid_ratio=parameters["max_invalid_ratio"]
    )


def max_requests_in_flight_spec(service: str, default: int, stages: str) -> ParameterSpec:
    """`max_requests_in_flight`: requests of `service` admitted at once (`stages`: what an
    admitted request may be doing), beyond which one is refused with a 'busy:' message."""
    return ParameterSpec(
        "max_requests_in_flight",
        default,
        f"Requests of {service} admitted at once ({stages}); a further one is refused at once "
        "with a 'busy:' message",
        min_value=1,
        max_value=SERVICE_QUEUE_DEPTH,
        read_only=True,
    )
