"""What every trainer shares: resumable run state, metrics, curves, provenance, and what a
dataset was made for (its gripper, its camera's depth range, its network input)."""

from __future__ import annotations

import hashlib
import json
import math
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib
import numpy as np
import torch
import torch.distributed

from gqstn_ros.detection import ROBUST_Q_THRESHOLD
from gqstn_ros.gripper import GripperConfig, default_gripper
from gqstn_ros.preprocessing import NetworkInputConfig
from gqstn_ros.profiles import ProfileError, gripper_from_mapping

matplotlib.use("Agg")
import matplotlib.pyplot as plt

REPO_ROOT = Path(__file__).resolve().parents[3]


def set_threads(threads: int) -> None:
    torch.set_num_threads(max(1, threads))


@dataclass(frozen=True)
class Distributed:
    """This process's place in a data-parallel run (`start_distributed`); one process of rank 0
    when the run is not distributed.

    Contract of a data-parallel trainer: every process draws the same batches and augmentations
    from the same seeded generators, and trains on its `shard` of each batch; gradients are
    averaged by `DistributedDataParallel`, so N processes on shards of a batch take the step one
    process takes on the whole batch. Rank 0 alone validates (and `share`s the result), writes
    the run and the checkpoint.
    """

    rank: int = 0
    world_size: int = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world_size > 1

    def shard(self, count: int) -> torch.Tensor:
        """Indices into a batch of `count` rows: this process's share."""
        return torch.arange(self.rank, count, self.world_size)

    def wrap(self, model: torch.nn.Module) -> torch.nn.Module:
        """The module to train: DistributedDataParallel about `model` when distributed."""
        if not self.active:
            return model
        from torch.nn.parallel import DistributedDataParallel  # noqa: PLC0415

        return DistributedDataParallel(model)

    def share(self, value: object) -> object:
        """Rank 0's `value` on every process (others pass anything, e.g. None)."""
        if not self.active:
            return value
        box = [value]
        torch.distributed.broadcast_object_list(box, src=0)
        return box[0]

    def total(self, *values: float) -> tuple[float, ...]:
        """Sums of `values` over the processes."""
        if not self.active:
            return values
        summed = torch.tensor(values, dtype=torch.float64)
        torch.distributed.all_reduce(summed)
        return tuple(float(v) for v in summed)

    def barrier(self) -> None:
        if self.active:
            torch.distributed.barrier()


def start_distributed() -> Distributed:
    """Join the data-parallel run torchrun started (`WORLD_SIZE` > 1 in the environment, gloo
    backend: CPU processes on one or several machines); otherwise a single process."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return Distributed()
    if not torch.distributed.is_initialized():
        torch.distributed.init_process_group("gloo")
    return Distributed(torch.distributed.get_rank(), torch.distributed.get_world_size())


def run_data_parallel(train: Callable[[Distributed], int]) -> int:
    """`train(parallel)` in this process's place of a torchrun run (alone without torchrun):
    the process group is joined before and left after, whatever `train` raises."""
    parallel = start_distributed()
    try:
        return train(parallel)
    finally:
        stop_distributed(parallel)


def stop_distributed(context: Distributed) -> None:
    if context.active and torch.distributed.is_initialized():
        torch.distributed.barrier()
        torch.distributed.destroy_process_group()


@dataclass
class RunState:
    """Everything needed to resume a training run after the last finished epoch."""

    epoch: int = 0  # epochs finished
    history: list[dict] = field(default_factory=list)  # one dict of metrics per epoch
    best_score: float = float("inf")  # lower is better
    best_epoch: int = -1
    epochs_without_improvement: int = 0

    def record_epoch(self, entry: dict, score: float, model: torch.nn.Module, best: dict) -> dict:
        """Append the epoch's metrics; returns the best state_dict so far (lower score wins)."""
        self.history.append(entry)
        self.epoch = int(entry["epoch"])
        if score < self.best_score:
            self.best_score, self.best_epoch = score, self.epoch
            self.epochs_without_improvement = 0
            return {k: v.detach().clone() for k, v in model.state_dict().items()}
        self.epochs_without_improvement += 1
        return best

    def to_dict(self) -> dict:
        return {
            "epoch": self.epoch,
            "history": json.loads(json.dumps(self.history)),
            "best_score": self.best_score,
            "best_epoch": self.best_epoch,
            "epochs_without_improvement": self.epochs_without_improvement,
        }


def save_run(
    path: Path, state: RunState, model: torch.nn.Module, optimizer, best_state: dict
) -> None:
    """Atomically write the resumable state of a run (loadable with weights_only=True)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save(
        {
            "state": state.to_dict(),
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "best_model": best_state,
        },
        tmp,
    )
    os.replace(tmp, path)


def load_run(path: Path, model: torch.nn.Module, optimizer) -> tuple[RunState, dict] | None:
    """Restore a run saved by `save_run`; None when there is none yet."""
    if not path.exists():
        return None
    saved = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict(saved["model"])
    optimizer.load_state_dict(saved["optimizer"])
    state = RunState(**saved["state"])
    return state, saved["best_model"]


def binary_metrics(
    probabilities: np.ndarray, labels: np.ndarray, threshold: float = ROBUST_Q_THRESHOLD
) -> dict:
    """Accuracy, precision, recall and ROC-AUC of probabilities against 0/1 labels."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    labels = np.asarray(labels).astype(bool)
    predicted = probabilities >= threshold
    tp = int(np.sum(predicted & labels))
    fp = int(np.sum(predicted & ~labels))
    fn = int(np.sum(~predicted & labels))
    positives, negatives = int(labels.sum()), int((~labels).sum())
    auc = float("nan")
    if positives and negatives:
        # Mann-Whitney U with average ranks for ties.
        order = np.argsort(probabilities, kind="mergesort")
        ranks = np.empty(len(order))
        sorted_p = probabilities[order]
        start = 0
        while start < len(order):
            end = start
            while end + 1 < len(order) and sorted_p[end + 1] == sorted_p[start]:
                end += 1
            ranks[order[start : end + 1]] = (start + end) / 2.0 + 1.0
            start = end + 1
        auc = (ranks[labels].sum() - positives * (positives + 1) / 2.0) / (positives * negatives)
    return {
        "accuracy": float(np.mean(predicted == labels)) if len(labels) else float("nan"),
        "precision": tp / (tp + fp) if tp + fp else float("nan"),
        "recall": tp / (tp + fn) if tp + fn else float("nan"),
        "roc_auc": float(auc),
        "positives": positives,
        "negatives": negatives,
    }


def plot_curves(history: list[dict], keys: list[str], path: Path, title: str) -> None:
    """Per-epoch curves of `keys` from `history` to a PNG."""
    figure, axis = plt.subplots(figsize=(7, 4))
    epochs = [entry["epoch"] for entry in history]
    for key in keys:
        values = [entry.get(key, float("nan")) for entry in history]
        axis.plot(epochs, values, marker="o", label=key)
    axis.set_xlabel("epoch")
    axis.set_title(title)
    axis.grid(True, alpha=0.3)
    axis.legend()
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)


def provenance(dataset_root: Path, argv: list[str] | None = None) -> dict:
    """Where a model came from: the code commit, the dataset's generation manifest, the command."""
    manifest = Path(dataset_root) / "generation.json"
    manifest_text = manifest.read_text() if manifest.exists() else ""
    try:
        git = ["git", "-C", str(REPO_ROOT)]
        commit = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True)
        status = [*git, "status", "--porcelain", "--untracked-files=no"]
        changes = subprocess.run(status, capture_output=True, text=True).stdout.strip()
        commit, dirty = commit.stdout.strip(), bool(changes)
    except OSError:
        commit, dirty = "", False
    return {
        "code_commit": commit,
        "code_dirty": dirty,
        "dataset": str(dataset_root),
        "dataset_generation": json.loads(manifest_text) if manifest_text else {},
        "dataset_generation_sha256": hashlib.sha256(manifest_text.encode()).hexdigest(),
        "command": " ".join(["python", "-m", *(argv if argv is not None else sys.argv)]),
    }


MANIFEST_NAME = "generation.json"


def dataset_manifest(dataset_root: Path) -> dict:
    """The dataset's generation manifest (generation.json), or {} when it has none."""
    path = Path(dataset_root) / MANIFEST_NAME
    return json.loads(path.read_text()) if path.is_file() else {}


def dataset_gripper(dataset_root: Path) -> GripperConfig:
    """The gripper the dataset's grasps were labelled for: its manifest's `config.gripper`.

    Fields a manifest written before they existed lacks (grip forces, pad friction) take the
    2F-85 values those datasets were labelled with; a dataset without a gripper in its manifest
    was labelled for the 2F-85 (`gripper.default_gripper()`). ValueError names the manifest and
    the field of a gripper entry that cannot be used.
    """
    path = Path(dataset_root) / MANIFEST_NAME
    mapping = dataset_manifest(dataset_root).get("config", {}).get("gripper")
    if mapping is None:
        return default_gripper()
    if not isinstance(mapping, dict):
        raise ValueError(f"{path}: config.gripper must be a mapping, got {mapping!r}")
    try:
        return gripper_from_mapping({**default_gripper().to_dict(), **mapping}, path)
    except ProfileError as error:
        raise ValueError(f"{error} (in config.gripper)") from None


def dataset_input_config(dataset_root: Path) -> NetworkInputConfig:
    """The network input the dataset's crops and stored windows were cut for: its manifest's
    `config.network_input` (a metric window when it records `view_size_m`). A dataset without
    one was cut for the default `NetworkInputConfig` (the 320-pixel window). ValueError names
    the manifest when the entry cannot be used."""
    mapping = dataset_manifest(dataset_root).get("config", {}).get("network_input")
    if mapping is None:
        return NetworkInputConfig()
    try:
        return NetworkInputConfig(**mapping)
    except (TypeError, ValueError) as error:
        path = Path(dataset_root) / MANIFEST_NAME
        raise ValueError(f"{path}: config.network_input {mapping!r}: {error}") from None


def dataset_depth_range(dataset_root: Path) -> tuple[float, float] | None:
    """(near, far) table depths (m) the dataset's views cover, from the camera mountings its
    manifest records: each camera of `config.cameras` (its `height_range` (m) and `tilt_max`
    (rad)), else the single camera of `config.camera_height_range` and `config.camera_tilt_max`.
    A mounting covers its lowest height looking straight down to its highest tilted by the most
    about both image axes. None when the manifest records no mounting."""
    config = dataset_manifest(dataset_root).get("config", {})
    cameras = config.get("cameras") or [
        {
            "height_range": config.get("camera_height_range"),
            "tilt_max": config.get("camera_tilt_max"),
        }
    ]
    ranges = []
    for camera in cameras:
        heights, tilt = camera.get("height_range"), camera.get("tilt_max")
        if heights is None or tilt is None:
            return None
        low, high = (float(value) for value in heights)
        ranges.append((low, high / math.cos(float(tilt)) ** 2))
    return min(low for low, _ in ranges), max(high for _, high in ranges)
