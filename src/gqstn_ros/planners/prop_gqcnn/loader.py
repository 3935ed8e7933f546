"""Prop+GQ-CNN with a trained GQ-CNN: the loader of `planner.PropGQCNNPlanner`.

The sampling and ranking live in `planner`, which imports no model code; reading a checkpoint
is this module's.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

from gqstn_ros.gripper import GripperConfig
from gqstn_ros.networks.checkpoint import load_checkpoint
from gqstn_ros.planner_registry import VIEW_SCALES
from gqstn_ros.planners.prop_gqcnn.planner import PropConfig, PropGQCNNPlanner, ranking_checkpoint

LOGGER = logging.getLogger("gqstn_ros.planners.prop_gqcnn.planner")


def load_prop_planner(
    models_dir: str | Path,
    config: PropConfig | None = None,
    *,
    backend: str = "torch",
    num_candidates: int | None = None,
    ranking_model: str | Path | None = None,
    gripper: GripperConfig | None = None,
    view_scale: str = "metric",
) -> PropGQCNNPlanner:
    """The planner with a trained GQ-CNN from `models_dir` (`ranking_checkpoint`: by default
    gqcnn_fast.pt when it exists, else gqcnn.pt).

    backend: "torch" (the only one: GQ-CNN ranks crops cut by the torch preprocessing);
    num_candidates: overrides `config.num_candidates` (the fallback node's parameter);
    ranking_model: the checkpoint to rank with, a file name in `models_dir` or a path;
    gripper: overrides `config.gripper`, the gripper whose stroke the proposals fit. The ranking
    checkpoint must have been trained for that gripper's geometry, else
    `gripper.GripperMismatchError` names the file, both grippers and the differing fields.
    view_scale: one of `planner_registry.VIEW_SCALES`, as the network planners': "metric"
    (default) sizes the view window, in which the candidates are sampled and which GQ-CNN's
    crops are cut from, in metres at the table's depth under it (the window the checkpoint's
    pixels covered in training), so that every camera shows the same workspace; "checkpoint"
    keeps the checkpoint's frame pixels (the paper's 320-pixel window about the centre).
    The planner's `ranking_model` names the file and its configuration, and the choice is
    logged. FileNotFoundError names the missing checkpoint; the checkpoint loader's
    CheckpointError a file it cannot use.
    """
    if view_scale not in VIEW_SCALES:
        raise ValueError(f"view_scale must be one of {VIEW_SCALES}, got {view_scale!r}")
    if backend != "torch":
        raise ValueError(f"prop_gqcnn runs GQ-CNN with torch; backend {backend!r} is not supported")
    config = config or PropConfig()
    if num_candidates is not None:
        config = replace(config, num_candidates=num_candidates)
    if gripper is not None:
        config = replace(config, gripper=gripper)
    path = ranking_checkpoint(models_dir, ranking_model)
    loaded = load_checkpoint(path, expected_kind="gqcnn", gripper=config.gripper)
    config_name = loaded.extra.get("config_name", "unnamed")
    multiply_accumulates = getattr(loaded.config, "multiply_accumulates", None)
    cost = f", {multiply_accumulates / 1e6:.2f} M MAC per crop" if multiply_accumulates else ""
    description = f"{path.name} ({config_name} GQ-CNN{cost})"
    LOGGER.info("Prop+GQ-CNN ranks with %s from %s", description, path)
    inputs = loaded.input_config
    return PropGQCNNPlanner(
        loaded.model,
        loaded.normalization,
        inputs.with_metric_view() if view_scale == "metric" else inputs,
        config,
        ranking_model=description,
    )
