"""Planners by name: the one place the nodes, evaluation and benchmarks load a GraspPlanner.

`gqstn`, `multigrasp` and `directgrasp` are single-pass networks
(`gqstn_ros.networks.planners.load_network_planner`); `prop_gqcnn` samples antipodal candidates
and ranks them with GQ-CNN (`gqstn_ros.networks.prop_planner.load_prop_planner`: gqcnn_fast.pt when
the models folder has it, else gqcnn.pt; the `ranking_model` option picks another). Both loaders
are imported only when asked for, so that a node without torch models still starts and can say
why it has no model. No rclpy here.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Any

from gqstn_ros.detection import PLANNER_NAMES, GraspPlanner
from gqstn_ros.gripper import GripperMismatchError
from gqstn_ros.package_data import data_dir

NETWORK_PLANNERS = ("gqstn", "multigrasp", "directgrasp")
PROP_PLANNER = "prop_gqcnn"
BACKENDS = ("torch", "onnxruntime")
# How many symmetric copies of the view (quarter turns, mirrors) a network planner may run on.
SYMMETRIC_VIEW_COUNTS = (1, 2, 4, 8)
# How a network's view window is sized: "metric" brings every camera to the scale the network
# was trained at (pixels per metre at the working depth); "checkpoint" uses the window exactly
# as stored in the checkpoint (for pixel-window checkpoints: a fixed count of frame pixels).
VIEW_SCALES = ("metric", "checkpoint")
PACKAGE_NAME = "gqstn_ros"
REPO_MODELS_DIR = Path(__file__).resolve().parents[2] / "models"


class PlannerUnavailable(RuntimeError):  # noqa: N818 (the name says what happened)
    """A planner that cannot be loaded (unknown name, missing code or weights): says why."""


def default_models_dir() -> Path:
    """share/gqstn_ros/models of the installed package, else the repository's models/."""
    return data_dir("models")


def _loader(module_name: str, function_name: str) -> Any:
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise PlannerUnavailable(
            f"no model loaded: the planner code {module_name} cannot be imported ({error})"
        ) from error
    try:
        return getattr(module, function_name)
    except AttributeError as error:
        raise PlannerUnavailable(
            f"no model loaded: {module_name} has no {function_name}()"
        ) from error


def load_planner(
    name: str,
    models_dir: str | os.PathLike[str] | None = None,
    backend: str = "torch",
    **options: Any,
) -> GraspPlanner:
    """Load planner `name` with its weights from `models_dir` (default: `default_models_dir()`).

    `backend` is `torch` or `onnxruntime`; `options` go to the loader (e.g. `gripper`, the
    `GripperConfig` the planner serves, for every planner; `num_candidates` and `ranking_model`,
    the GQ-CNN checkpoint to rank with, for prop_gqcnn). Raises `PlannerUnavailable` with a
    message starting "no model loaded" when the planner's code or weights are missing or
    unreadable, `gripper.GripperMismatchError` (a ValueError) when the weights were trained for
    another gripper geometry than `gripper` (default: the 2F-85), and ValueError for an unknown
    name or backend.
    """
    if name not in PLANNER_NAMES:
        raise ValueError(f"unknown planner {name!r}: expected one of {', '.join(PLANNER_NAMES)}")
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}: expected one of {', '.join(BACKENDS)}")
    models_path = Path(models_dir) if models_dir else default_models_dir()
    if not models_path.is_dir():
        raise PlannerUnavailable(f"no model loaded: models directory {models_path} does not exist")
    if name in NETWORK_PLANNERS:
        load = _loader("gqstn_ros.networks.planners", "load_network_planner")
        arguments: tuple[Any, ...] = (name, models_path, backend)
    else:
        load = _loader("gqstn_ros.networks.prop_planner", "load_prop_planner")
        arguments = (models_path,)
        options = {"backend": backend, **options}
    try:
        planner = load(*arguments, **options)
    except FileNotFoundError as error:
        missing = error.filename or error
        raise PlannerUnavailable(f"no model loaded: {missing} not found") from error
    except GripperMismatchError:
        raise  # the weights exist but serve another gripper: not a missing model
    except (OSError, ValueError, RuntimeError, KeyError) as error:
        raise PlannerUnavailable(f"no model loaded: {name} from {models_path}: {error}") from error
    if not isinstance(planner, GraspPlanner):
        raise PlannerUnavailable(f"no model loaded: {load.__name__} returned no GraspPlanner")
    return planner
