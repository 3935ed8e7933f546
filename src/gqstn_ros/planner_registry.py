"""Planners by name: the one place the package learns which planners exist and loads them.

A planner is one folder (a package) whose `__init__.py` declares `PLANNER`, a
`detection.PlannerSpec`: its name, label, network or loader, checkpoint files and options.
The planners shipped with the package are the folders of `gqstn_ros.planners` listed in
`BUILTIN_PLANNERS`; another installed distribution adds one with an entry point in the group
`gqstn_ros.planners` (`name = module`, the module holding `PLANNER`). Every list of planner
names (node parameters, training and export choices, benchmark labels) derives from
`planner_specs()`, collected once when this module is imported.

A spec names its code by module path: loading a planner imports its model code only then, so
that a node without torch models still starts and can say why it has no model. No rclpy here.
"""

from __future__ import annotations

import importlib
import logging
import os
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from gqstn_ros.detection import GraspPlanner, PlannerSpec
from gqstn_ros.gripper import GripperMismatchError
from gqstn_ros.package_data import data_dir

# The shipped planners, in the order names are listed (parameter choices, tables).
BUILTIN_PLANNERS = (
    "gqstn_ros.planners.gqstn",
    "gqstn_ros.planners.multigrasp",
    "gqstn_ros.planners.directgrasp",
    "gqstn_ros.planners.prop_gqcnn",
)
ENTRY_POINT_GROUP = "gqstn_ros.planners"
# The loader of every planner that runs a one-shot network and names no loader of its own.
NETWORK_LOADER = "gqstn_ros.networks.planners:load_network_planner"
# The keyword options of that loader that callers may pass (`options_for`).
NETWORK_OPTIONS = (
    "symmetric_views", "judge_model", "view_scale", "replan_on_air", "object_height_m",
    "raise_to_reach", "sweep_angles_below_q", "onnx_cache_dir", "onnx_threads",
)  # fmt: skip
BACKENDS = ("torch", "onnxruntime")
# How many symmetric copies of the view (quarter turns, mirrors) a network planner may run on.
SYMMETRIC_VIEW_COUNTS = (1, 2, 4, 8)
# How a network's view window is sized: "metric" brings every camera to the scale the network
# was trained at (pixels per metre at the working depth); "checkpoint" uses the window exactly
# as stored in the checkpoint (for pixel-window checkpoints: a fixed count of frame pixels).
VIEW_SCALES = ("metric", "checkpoint")
PACKAGE_NAME = "gqstn_ros"
REPO_MODELS_DIR = Path(__file__).resolve().parents[2] / "models"
# The judge the package ships and the folder of the q calibrations fitted for it, both inside
# the models folder: the inference node's judge_model and q_calibration_dir defaults.
SHIPPED_JUDGE_MODEL = "gqcnn_judge.pt"
SHIPPED_Q_CALIBRATION_DIR = "judge_q_calibration"
# A judge choice of the launch file and the benchmarks: the networks' own GQ-CNN head, as in
# the paper, with raw q.
OWN_HEAD = "own_head"


def judge_settings(judge_choice: str) -> tuple[str, str]:
    """(judge_model, q_calibration_dir) the inference node runs with for a judge choice of the
    launch file or a benchmark: '' or the shipped judge = the node's defaults; `OWN_HEAD` =
    ('', ''), the networks' own head with raw q; any other checkpoint = (it, ''), raw q, since
    the shipped calibration was fitted for the shipped judge."""
    if judge_choice in ("", SHIPPED_JUDGE_MODEL):
        return SHIPPED_JUDGE_MODEL, SHIPPED_Q_CALIBRATION_DIR
    if judge_choice == OWN_HEAD:
        return "", ""
    return judge_choice, ""


def judge_parameters(judge_choice: str) -> tuple[tuple[str, str], ...]:
    """The inference node parameters a judge choice overrides (`judge_settings`): '' none (the
    node's parameter files decide); the shipped judge its name only (the files keep their
    calibration folder); any other choice both judge_model and q_calibration_dir."""
    if not judge_choice:
        return ()
    judge_model, q_calibration_dir = judge_settings(judge_choice)
    if judge_choice == SHIPPED_JUDGE_MODEL:
        return (("judge_model", judge_model),)
    return (("judge_model", judge_model), ("q_calibration_dir", q_calibration_dir))


_log = logging.getLogger(__name__)


def _spec_of(module_name: str) -> PlannerSpec:
    spec = getattr(importlib.import_module(module_name), "PLANNER", None)
    if not isinstance(spec, PlannerSpec):
        raise TypeError(f"planner module {module_name} defines no PLANNER (a PlannerSpec)")
    return spec


# What the benchmarks call a request that names no planner, answered by the inference node's
# default pipeline (`grasping.alternatives`); not a planner name.
DEFAULT_PIPELINE = "default"
# Names a plug-in may not take: the default pipeline, and the floors the benchmarks and the
# default pipeline plan with (`grasping.baselines`, `Grasp.planner` "minor_axis").
RESERVED_NAMES = (DEFAULT_PIPELINE, "minor_axis", "random")


def _collect() -> dict[str, PlannerSpec]:
    """The built-in planners, then those of the entry points; a plug-in that cannot be
    imported, or that reuses a name (a planner's or one of RESERVED_NAMES), is logged and left
    out."""
    specs: dict[str, PlannerSpec] = {}
    for module_name in BUILTIN_PLANNERS:
        spec = _spec_of(module_name)
        specs[spec.name] = spec
    for point in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda p: p.name):
        try:
            spec = _spec_of(point.value)
        except (ImportError, TypeError) as error:
            _log.error("planner plug-in %s (%s) left out: %s", point.name, point.value, error)
            continue
        if spec.name in specs or spec.name in RESERVED_NAMES:
            _log.error(
                "planner plug-in %s (%s) left out: the name %r is taken",
                point.name,
                point.value,
                spec.name,
            )
            continue
        specs[spec.name] = spec
    return specs


_SPECS = _collect()
PLANNER_NAMES = tuple(_SPECS)
# The planners that run a one-shot network.
NETWORK_PLANNERS = tuple(name for name, spec in _SPECS.items() if spec.network is not None)
# The planners the inference node loads when its `planners` parameter is not set.
DEFAULT_PLANNERS = tuple(name for name, spec in _SPECS.items() if spec.loaded_by_default)
# The planner the fallback node serves.
PROP_PLANNER = next(name for name, spec in _SPECS.items() if spec.fallback)
# The planner of a /detect_grasp request that names none (the inference node's default_planner).
DEFAULT_REQUEST_PLANNER = "gqstn"


def planner_specs() -> dict[str, PlannerSpec]:
    """name -> spec of every planner, built-in ones first, in `PLANNER_NAMES` order."""
    return dict(_SPECS)


def planner_spec(name: str) -> PlannerSpec:
    """The spec of planner `name`; ValueError names the known planners."""
    if name not in _SPECS:
        raise ValueError(f"unknown planner {name!r}: expected one of {', '.join(PLANNER_NAMES)}")
    return _SPECS[name]


def planner_labels() -> dict[str, str]:
    """name -> label ("gqstn" -> "GQ-STN") of every planner."""
    return {name: spec.label for name, spec in _SPECS.items()}


def options_for(name: str, **options: Any) -> dict[str, Any]:
    """The options among `options` that planner `name`'s loader takes (its spec's `options`;
    a network planner without a loader of its own: `NETWORK_OPTIONS`); None values dropped."""
    spec = planner_spec(name)
    accepted = spec.options or (NETWORK_OPTIONS if spec.loader is None else ())
    return {key: value for key, value in options.items() if key in accepted and value is not None}


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
    `GripperConfig` the planner serves, for every planner; those its spec lists, such as
    `num_candidates` and `ranking_model`, the GQ-CNN checkpoint to rank with, for prop_gqcnn;
    `options_for` keeps the ones a planner takes). Raises `PlannerUnavailable` with a
    message starting "no model loaded" when the planner's code or weights are missing or
    unreadable, `gripper.GripperMismatchError` (a ValueError) when the weights were trained for
    another gripper geometry than `gripper` (default: the 2F-85), and ValueError for an unknown
    name or backend.
    """
    spec = planner_spec(name)
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}: expected one of {', '.join(BACKENDS)}")
    models_path = Path(models_dir) if models_dir else default_models_dir()
    if not models_path.is_dir():
        raise PlannerUnavailable(f"no model loaded: models directory {models_path} does not exist")
    if spec.loader is None:  # a one-shot network: its checkpoint <name>.pt
        load = _loader(*NETWORK_LOADER.split(":"))
        arguments: tuple[Any, ...] = (name, models_path, backend)
    else:
        load = _loader(*spec.loader.split(":"))
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
