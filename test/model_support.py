"""Checkpoints recorded for another gripper, for tests of the gripper check.

The weights are whatever the source checkpoints hold: these tests exercise which gripper a model
serves and what the planners do with its stroke, not grasp quality.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from gqstn_ros.gripper import GripperConfig
from gqstn_ros.networks.checkpoint import load_checkpoint, save_checkpoint


def checkpoints_for_gripper(
    source_dir: Path,
    target_dir: Path,
    gripper: GripperConfig,
    names: Iterable[str],
    depth_range: tuple[float, float] | None = None,
) -> Path:
    """Copy the checkpoints `names` (file names) of `source_dir` into `target_dir`, each
    recorded as trained for `gripper` and for table depths `depth_range` (None: the source's)
    through the public save/load API; returns target_dir."""
    target_dir.mkdir(parents=True, exist_ok=True)
    for name in names:
        loaded = load_checkpoint(source_dir / name)
        save_checkpoint(
            target_dir / name,
            loaded.model,
            loaded.kind,
            loaded.config,
            loaded.normalization,
            loaded.provenance,
            loaded.extra,
            loaded.input_config,
            gripper=gripper,
            depth_range=depth_range if depth_range is not None else loaded.depth_range,
        )
    return target_dir
