"""Checkpoints: one dict per network file, loaded with `torch.load(weights_only=True)`.

    {
      "format_version": 1,
      "kind": a network kind (`configs.network_kinds()`: "gqcnn", "gqstn", "multigrasp",
              "directgrasp", and those of plug-in planners),
      "config": model config (plain dict),
      "state_dict": weights,
      "normalization": preprocessing.Normalization (dict),
      "input": preprocessing.NetworkInputConfig (dict),
      "provenance": {data, code, ...} (plain dict),
      "extra": anything else the trainer keeps (plain containers and tensors),
      "gqcnn_config": GQ-CNN config (dict), only for a kind with a frozen GQ-CNN (GQ-STN's
                      `NetworkSpec.frozen_gqcnn`), whose weights are in the state_dict under
                      "gqcnn.",
      "trained_for": {                        optional: what the training data was made for
        "gripper": GripperConfig.to_dict() of the gripper the grasps were labelled for,
        "depth_range": [near, far] metres of table depth the training views covered (optional)
      }
    }

A checkpoint without "trained_for" (the shipped models, and any checkpoint written before the
field existed) was trained for the Robotiq 2F-85: it loads as trained for the `robotiq_2f85`
profile (`gripper.default_gripper()`), with no known depth range. `load_checkpoint(gripper=...)`
refuses a model trained for another gripper geometry (`gripper.check_same_geometry`).

Every problem with a file comes back as `CheckpointError` naming the file and what is wrong.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from gqstn_ros.gripper import GripperConfig, check_same_geometry, default_gripper
from gqstn_ros.networks.configs import (
    ModelConfig,
    build_model,
    config_from_dict,
    network_kinds,
    network_spec,
)
from gqstn_ros.networks.gqcnn import GQCNN, GQCNNConfig
from gqstn_ros.preprocessing import NetworkInputConfig, Normalization

FORMAT_VERSION = 1
REQUIRED_KEYS = (
    "format_version",
    "kind",
    "config",
    "state_dict",
    "normalization",
    "input",
    "provenance",
)
_SHOWN = 5  # mismatching weight names listed in an error
TRAINED_FOR_KEY = "trained_for"


class CheckpointError(RuntimeError):
    """A checkpoint file that cannot be used; the message names the file and the problem."""


@dataclass
class LoadedModel:
    model: nn.Module  # in eval mode
    kind: str
    config: ModelConfig
    normalization: Normalization
    input_config: NetworkInputConfig
    provenance: dict
    extra: dict
    gripper: GripperConfig  # the gripper the model was trained for
    gripper_recorded: bool  # False: the checkpoint has no "trained_for" (taken as the 2F-85)
    depth_range: tuple[float, float] | None  # table depths (m) the training views covered


def trained_for_mapping(
    gripper: GripperConfig, depth_range: tuple[float, float] | None = None
) -> dict:
    """The checkpoint's "trained_for" entry (plain containers); ValueError for a bad range."""
    entry: dict = {"gripper": gripper.to_dict()}
    if depth_range is not None:
        near, far = (float(value) for value in depth_range)
        if not 0 < near <= far:
            raise ValueError(f"depth_range must satisfy 0 < near <= far, got {depth_range}")
        entry["depth_range"] = [near, far]
    return entry


def save_checkpoint(
    path: str | Path,
    model: nn.Module,
    kind: str,
    config: ModelConfig,
    normalization: Normalization,
    provenance: dict,
    extra: dict | None = None,
    input_config: NetworkInputConfig | None = None,
    gripper: GripperConfig | None = None,
    depth_range: tuple[float, float] | None = None,
) -> Path:
    """Write `model` as a checkpoint dict to `path` (parent folders created); returns the path.

    gripper: the gripper the training grasps were labelled for, recorded as "trained_for"
    (None: nothing recorded, the checkpoint loads as trained for the 2F-85); depth_range: the
    table depths (m) the training views covered, recorded with it.
    """
    spec = network_spec(kind)
    model_normalization = getattr(model, "normalization", normalization)
    if model_normalization != normalization:
        raise ValueError(
            f"the model was built with {model_normalization}, the checkpoint would record "
            f"{normalization}: pass the model's normalization"
        )
    path = Path(path)
    checkpoint = {
        "format_version": FORMAT_VERSION,
        "kind": kind,
        "config": config.to_dict(),
        "state_dict": {name: value.detach().cpu() for name, value in model.state_dict().items()},
        "normalization": normalization.to_dict(),
        "input": (input_config or NetworkInputConfig()).to_dict(),
        "provenance": dict(provenance),
        "extra": dict(extra or {}),
    }
    if gripper is not None:
        checkpoint[TRAINED_FOR_KEY] = trained_for_mapping(gripper, depth_range)
    elif depth_range is not None:
        raise ValueError("depth_range is recorded with the gripper: pass the gripper too")
    if spec.frozen_gqcnn:
        if not isinstance(getattr(model, "gqcnn", None), GQCNN):
            raise TypeError(
                f"kind {kind!r} needs a network with its GQ-CNN, got {type(model).__name__}"
            )
        checkpoint["gqcnn_config"] = model.gqcnn.config.to_dict()
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(checkpoint, path)
    return path


def _read(path: Path) -> dict:
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, EOFError, OSError, ValueError, pickle.UnpicklingError) as exc:
        raise CheckpointError(
            f"checkpoint {path} cannot be read (truncated, corrupt or not a torch file): {exc}"
        ) from exc
    if not isinstance(checkpoint, dict):
        raise CheckpointError(
            f"checkpoint {path} holds a {type(checkpoint).__name__}, expected a dict"
        )
    missing = [key for key in REQUIRED_KEYS if key not in checkpoint]
    if missing:
        raise CheckpointError(f"checkpoint {path} lacks the keys {missing}")
    if checkpoint["format_version"] != FORMAT_VERSION:
        raise CheckpointError(
            f"checkpoint {path} has format_version {checkpoint['format_version']!r}, "
            f"this code reads {FORMAT_VERSION}"
        )
    return checkpoint


def _check_state_dict(path: Path, model: nn.Module, state_dict: dict) -> None:
    expected = model.state_dict()
    missing = [name for name in expected if name not in state_dict]
    unexpected = [name for name in state_dict if name not in expected]
    mismatched = [
        f"{name} {tuple(state_dict[name].shape)} vs {tuple(value.shape)}"
        for name, value in expected.items()
        if name in state_dict and tuple(state_dict[name].shape) != tuple(value.shape)
    ]
    problems = []
    if missing:
        problems.append(f"{len(missing)} missing weights ({', '.join(missing[:_SHOWN])})")
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected weights ({', '.join(unexpected[:_SHOWN])})")
    if mismatched:
        problems.append(
            f"{len(mismatched)} shape mismatches, checkpoint vs config "
            f"({', '.join(mismatched[:_SHOWN])})"
        )
    if problems:
        raise CheckpointError(
            f"checkpoint {path}: its config does not match its state_dict: " + "; ".join(problems)
        )


def _trained_for(path: Path, checkpoint: dict) -> tuple[GripperConfig, bool, tuple | None]:
    """(gripper, recorded, depth_range) of a checkpoint; CheckpointError names a bad field."""
    entry = checkpoint.get(TRAINED_FOR_KEY)
    if entry is None:
        return default_gripper(), False, None
    if not isinstance(entry, dict) or "gripper" not in entry:
        raise CheckpointError(
            f"checkpoint {path}: {TRAINED_FOR_KEY} must be a mapping with a gripper, got {entry!r}"
        )
    from gqstn_ros.profiles import ProfileError, gripper_from_mapping  # noqa: PLC0415

    mapping = entry["gripper"]
    if not isinstance(mapping, dict):
        raise CheckpointError(
            f"checkpoint {path}: {TRAINED_FOR_KEY}.gripper must be a mapping, got {mapping!r}"
        )
    try:
        gripper = gripper_from_mapping(mapping, f"{path}: {TRAINED_FOR_KEY}.gripper")
    except ProfileError as error:
        raise CheckpointError(f"checkpoint {error}") from None
    depth_range = entry.get("depth_range")
    if depth_range is not None:
        valid = (
            isinstance(depth_range, (list, tuple))
            and len(depth_range) == 2
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in depth_range)
            and 0 < depth_range[0] <= depth_range[1]
        )
        if not valid:
            raise CheckpointError(
                f"checkpoint {path}: {TRAINED_FOR_KEY}.depth_range must be [near, far] metres "
                f"with 0 < near <= far, got {depth_range!r}"
            )
        depth_range = (float(depth_range[0]), float(depth_range[1]))
    return gripper, True, depth_range


def load_checkpoint(
    path: str | Path, expected_kind: str | None = None, gripper: GripperConfig | None = None
) -> LoadedModel:
    """Build the network a checkpoint describes, load its weights, return it in eval mode.

    gripper: the gripper the model will serve; a checkpoint trained for another gripper
    geometry raises `gripper.GripperMismatchError` naming the file, both grippers and the
    fields that differ (None: no check).
    """
    path = Path(path)
    checkpoint = _read(path)
    trained_gripper, recorded, depth_range = _trained_for(path, checkpoint)
    if gripper is not None:
        check_same_geometry(trained_gripper, gripper, f"checkpoint {path}")
    kind = checkpoint["kind"]
    if kind not in network_kinds():
        raise CheckpointError(
            f"checkpoint {path} has unknown kind {kind!r}; expected one of {network_kinds()}"
        )
    if expected_kind is not None and kind != expected_kind:
        raise CheckpointError(f"checkpoint {path} holds a {kind}, expected a {expected_kind}")
    try:
        config = config_from_dict(kind, checkpoint["config"])
        normalization = Normalization.from_dict(checkpoint["normalization"])
        input_config = NetworkInputConfig(**checkpoint["input"])
        gqcnn = None
        if network_spec(kind).frozen_gqcnn:
            if "gqcnn_config" not in checkpoint:
                raise CheckpointError(f"checkpoint {path} ({kind}) lacks its gqcnn_config")
            gqcnn = GQCNN(GQCNNConfig.from_dict(checkpoint["gqcnn_config"]))
        model = build_model(kind, config, normalization, gqcnn)
    except CheckpointError:
        raise
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise CheckpointError(f"checkpoint {path} has an invalid config: {exc}") from exc
    state_dict = checkpoint["state_dict"]
    if not isinstance(state_dict, dict):
        raise CheckpointError(f"checkpoint {path}: state_dict is a {type(state_dict).__name__}")
    _check_state_dict(path, model, state_dict)
    model.load_state_dict(state_dict)
    model.eval()
    return LoadedModel(
        model=model,
        kind=kind,
        config=config,
        normalization=normalization,
        input_config=input_config,
        provenance=dict(checkpoint["provenance"]),
        extra=dict(checkpoint.get("extra", {})),
        gripper=trained_gripper,
        gripper_recorded=recorded,
        depth_range=depth_range,
    )
