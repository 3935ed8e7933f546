"""Checkpoints: one dict per network file, loaded with `torch.load(weights_only=True)`.

    {
      "format_version": 1,
      "kind": "gqcnn" | "gqstn" | "directgrasp" | "multigrasp",
      "config": model config (plain dict),
      "state_dict": weights,
      "normalization": preprocessing.Normalization (dict),
      "input": preprocessing.NetworkInputConfig (dict),
      "provenance": {data, code, ...} (plain dict),
      "extra": anything else the trainer keeps (plain containers and tensors),
      "gqcnn_config": GQ-CNN config (dict), GQ-STN only: its frozen GQ-CNN, whose weights are in
                      the state_dict under "gqcnn."
    }

Every problem with a file comes back as `CheckpointError` naming the file and what is wrong.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from gqstn_ros.networks.configs import KINDS, ModelConfig, build_model, config_from_dict
from gqstn_ros.networks.gqcnn import GQCNN, GQCNNConfig
from gqstn_ros.networks.gqstn import GQSTN
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


def save_checkpoint(
    path: str | Path,
    model: nn.Module,
    kind: str,
    config: ModelConfig,
    normalization: Normalization,
    provenance: dict,
    extra: dict | None = None,
    input_config: NetworkInputConfig | None = None,
) -> Path:
    """Write `model` as a checkpoint dict to `path` (parent folders created); returns the path."""
    if kind not in KINDS:
        raise ValueError(f"unknown network kind {kind!r}; expected one of {KINDS}")
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
    if kind == "gqstn":
        if not isinstance(model, GQSTN):
            raise TypeError(f"kind 'gqstn' needs a GQSTN, got {type(model).__name__}")
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


def load_checkpoint(path: str | Path, expected_kind: str | None = None) -> LoadedModel:
    """Build the network a checkpoint describes, load its weights, return it in eval mode."""
    path = Path(path)
    checkpoint = _read(path)
    kind = checkpoint["kind"]
    if kind not in KINDS:
        raise CheckpointError(
            f"checkpoint {path} has unknown kind {kind!r}; expected one of {KINDS}"
        )
    if expected_kind is not None and kind != expected_kind:
        raise CheckpointError(f"checkpoint {path} holds a {kind}, expected a {expected_kind}")
    try:
        config = config_from_dict(kind, checkpoint["config"])
        normalization = Normalization.from_dict(checkpoint["normalization"])
        input_config = NetworkInputConfig(**checkpoint["input"])
        gqcnn = None
        if kind == "gqstn":
            if "gqcnn_config" not in checkpoint:
                raise CheckpointError(f"checkpoint {path} (gqstn) lacks its gqcnn_config")
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
    )
