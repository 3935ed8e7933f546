"""Train GQ-CNN on the classification set of a generated dataset (object-wise splits).

Adam on the cross-entropy of the robust label, the crops augmented with the grasp's two
symmetries (a 180 degree turn, a mirror across the jaw axis), early stopping on the validation
loss, resumable after every epoch. Reports accuracy, precision, recall and ROC-AUC on the
held-out test objects and writes the checkpoint (`networks.checkpoint`), metrics.json and
curves.png to the run folder.

With `--extra-grasps` (files of `mine_detector_grasps`: a detector's own grasps, labelled by
the physical metric) those grasps join the training set (their train split) and the validation
set (their val split), and the metrics on the extra validation grasps alone are reported before
and after training: how well this GQ-CNN judges the grasps a detector actually proposes.
`--init` starts from a trained GQ-CNN checkpoint (its configuration and normalization kept, so a
GQ-STN built on it reads the same inputs) instead of from scratch.

Usage: python -m gqstn_ros.training.train_gqcnn --dataset data/synthetic --config cpu
       --output runs/gqcnn_cpu [--epochs 12] [--export models/gqcnn.pt]
       [--init runs/gqcnn_cpu/gqcnn.pt --extra-grasps runs/mined/gqstn.npz]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812
from tqdm import tqdm

from gqstn_ros.networks.checkpoint import load_checkpoint, save_checkpoint
from gqstn_ros.networks.configs import GQCNN_KIND, build_model, config_names, model_config
from gqstn_ros.preprocessing import Normalization, gqcnn_inputs
from gqstn_ros.training.common import (
    Distributed,
    RunState,
    binary_metrics,
    dataset_depth_range,
    dataset_gripper,
    dataset_input_config,
    load_run,
    plot_curves,
    provenance,
    run_data_parallel,
    save_run,
    set_threads,
)
from gqstn_ros.training.data import GraspSet, fit_normalization, load_grasps


@dataclass
class ClassificationSet:
    """N grasps as GQ-CNN sees them: crops (N, 1, c, c) m, gripper depths, view medians (N,) m,
    labels (N,) long, 1 = robust."""

    crops: torch.Tensor
    depths: torch.Tensor
    references: torch.Tensor
    labels: torch.Tensor

    def __len__(self) -> int:
        return len(self.labels)

    @classmethod
    def of(cls, grasps: GraspSet | ClassificationSet) -> ClassificationSet:
        assert grasps.crops is not None, "GQ-CNN trains on crops"
        return cls(grasps.crops, grasps.depths, grasps.references, grasps.labels)

    def plus(self, other: ClassificationSet) -> ClassificationSet:
        return ClassificationSet(
            *(torch.cat([a, b]) for a, b in zip(self.fields(), other.fields(), strict=True))
        )

    def fields(self) -> tuple[torch.Tensor, ...]:
        return self.crops, self.depths, self.references, self.labels


def load_extra_grasps(paths: list[Path], split: str) -> ClassificationSet | None:
    """The `split` grasps of `mine_detector_grasps` files, together (None when none)."""
    parts = []
    for path in paths:
        with np.load(path) as arrays:
            if f"{split}_labels" not in arrays:
                continue
            parts.append(
                ClassificationSet(
                    torch.from_numpy(arrays[f"{split}_crops"]),
                    torch.from_numpy(arrays[f"{split}_depths"]),
                    torch.from_numpy(arrays[f"{split}_references"]),
                    torch.from_numpy(arrays[f"{split}_labels"].astype(np.int64)),
                )
            )
    if not parts:
        return None
    merged = parts[0]
    for part in parts[1:]:
        merged = merged.plus(part)
    return merged


def augment(crops: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """The grasp's symmetries: turn half of the crops by 180 degrees, mirror half across x."""
    n = len(crops)
    turn = (torch.rand(n, generator=generator) < 0.5).to(crops.device)
    mirror = (torch.rand(n, generator=generator) < 0.5).to(crops.device)
    crops = torch.where(turn[:, None, None, None], crops.flip(-1, -2), crops)
    return torch.where(mirror[:, None, None, None], crops.flip(-2), crops)


def predict(
    model, grasps: GraspSet | ClassificationSet, norm: Normalization, batch_size: int = 2048
) -> np.ndarray:
    """Robust probabilities of every grasp of the set."""
    model.eval()
    device = next(model.parameters()).device
    out = []
    with torch.inference_mode():
        for start in range(0, len(grasps), batch_size):
            part = slice(start, start + batch_size)
            image, pose = gqcnn_inputs(
                grasps.crops[part], grasps.depths[part], grasps.references[part], norm
            )
            out.append(model.robustness(image.to(device), pose.to(device)).cpu())
    return torch.cat(out).numpy() if out else np.zeros(0)


def evaluate_loss(model, grasps: GraspSet | ClassificationSet, norm: Normalization) -> float:
    probabilities = torch.from_numpy(predict(model, grasps, norm)).clamp(1e-6, 1 - 1e-6)
    return float(F.binary_cross_entropy(probabilities, grasps.labels.float()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, required=True)
    parser.add_argument("--config", choices=config_names(GQCNN_KIND), default="cpu")
    parser.add_argument("--output", type=Path, required=True, help="run folder (resumable)")
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--weight-decay", type=float, default=1e-7, help="L2 factor")
    parser.add_argument("--patience", type=int, default=4, help="early stopping, epochs")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--export", type=Path, default=None, help="copy the best model here")
    parser.add_argument("--device", default="cpu", help="torch device (cpu, cuda)")
    parser.add_argument(
        "--init", type=Path, default=None, help="start from this GQ-CNN checkpoint (fine-tune)"
    )
    parser.add_argument(
        "--extra-grasps",
        type=Path,
        nargs="*",
        default=[],
        help="mine_detector_grasps files: their train grasps are trained on, their val grasps "
        "validated on (and reported alone)",
    )
    parser.add_argument(
        "--max-train-grasps",
        type=int,
        default=0,
        help="train on this many grasps of the train split, drawn at random (0: all)",
    )
    parser.add_argument(
        "--max-val-grasps",
        type=int,
        default=0,
        help="validate and test on this many grasps of each split, drawn at random (0: all)",
    )
    parser.add_argument(
        "--batches-per-epoch",
        type=int,
        default=0,
        help="an epoch is this many batches, then validation and a checkpoint (0: one pass "
        "over the train grasps)",
    )
    args = parser.parse_args(argv)
    missing = [str(p) for p in [args.init, *args.extra_grasps] if p and not p.is_file()]
    if missing:
        parser.error(f"not found: {', '.join(missing)}")
    device = torch.device(args.device)
    if args.epochs < 1 or args.batch_size < 1 or args.lr <= 0:
        parser.error("--epochs, --batch-size and --lr must be positive")
    if min(args.max_train_grasps, args.max_val_grasps, args.batches_per_epoch) < 0:
        parser.error("--max-train-grasps, --max-val-grasps and --batches-per-epoch are >= 0")
    set_threads(args.threads)
    torch.manual_seed(args.seed)
    generator = torch.Generator().manual_seed(args.seed)
    command = sys.argv[1:] if argv is None else argv
    return run_data_parallel(lambda parallel: _train(args, command, parallel, device, generator))


def _train(
    args: argparse.Namespace,
    argv: list[str],
    parallel: Distributed,
    device: torch.device,
    generator: torch.Generator,
) -> int:
    """The training run of `main` (every process of a data-parallel run executes it)."""
    say = print if parallel.is_main else (lambda *a, **k: None)
    say(f"loading {args.dataset} ... ({parallel.world_size} process(es))", flush=True)
    limits = {"train": args.max_train_grasps, "val": args.max_val_grasps}
    dataset_train, dataset_val, test = (
        load_grasps(args.dataset, s, max_grasps=limits.get(s, args.max_val_grasps), seed=args.seed)
        for s in ("train", "val", "test")
    )
    initial = load_checkpoint(args.init, expected_kind="gqcnn") if args.init else None
    norm = initial.normalization if initial else fit_normalization(dataset_train)
    train, val = ClassificationSet.of(dataset_train), ClassificationSet.of(dataset_val)
    extra_train = load_extra_grasps(args.extra_grasps, "train")
    extra_val = load_extra_grasps(args.extra_grasps, "val")
    if extra_train is not None:
        train = train.plus(extra_train)
    if extra_val is not None:
        val = val.plus(extra_val)
    say(
        f"grasps: train {len(train)} ({train.labels.float().mean():.1%} robust; "
        f"{len(extra_train) if extra_train else 0} detector grasps), val {len(val)} "
        f"({len(extra_val) if extra_val else 0} detector grasps), test {len(test)}; "
        f"normalization {norm}",
        flush=True,
    )
    if initial:
        config, model = initial.config, initial.model.to(device)
        args.config = initial.extra.get("config_name", args.config)
    else:
        config = model_config("gqcnn", args.config)
        model = build_model("gqcnn", config).to(device)
    extra_before = None
    if extra_val is not None:
        extra_before = binary_metrics(predict(model, extra_val, norm), extra_val.labels.numpy())
        say(f"detector grasps (val) before training: {extra_before}", flush=True)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    run_path = args.output / "run.pt"
    restored = load_run(run_path, model, optimizer)
    state, best_state = (
        restored
        if restored
        else (RunState(), {k: v.clone() for k, v in model.state_dict().items()})
    )
    if restored:
        say(f"resuming after epoch {state.epoch}", flush=True)
    images_train, poses_train = gqcnn_inputs(train.crops, train.depths, train.references, norm)
    images_train, poses_train = images_train.to(device), poses_train.to(device)
    labels_train = train.labels.to(device)
    trained = parallel.wrap(model)  # the module whose backward pass averages the gradients
    while state.epoch < args.epochs and state.epochs_without_improvement < args.patience:
        epoch = state.epoch + 1
        model.train()
        order = torch.randperm(len(train), generator=generator)
        if args.batches_per_epoch:
            order = order[: args.batches_per_epoch * args.batch_size]
        started, total_loss, seen = time.perf_counter(), 0.0, 0
        batches = range(0, len(order), args.batch_size)
        bar = tqdm(
            batches,
            desc=f"epoch {epoch}/{args.epochs}",
            unit="batch",
            leave=False,
            disable=not parallel.is_main,
        )
        with bar:
            for start in bar:
                rows = order[start : start + args.batch_size]
                # Every process draws the whole batch alike, then trains on its shard.
                image = augment(images_train[rows], generator)
                mine = parallel.shard(len(rows))
                rows, image = rows[mine], image[mine]
                logits = trained(image, poses_train[rows])
                loss = F.cross_entropy(logits, labels_train[rows])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                total_loss += float(loss.detach()) * len(rows)
                seen += len(rows)
                bar.set_postfix(loss=f"{total_loss / seen:.4f}")
        total_loss, seen = parallel.total(total_loss, seen)
        entry = None
        if parallel.is_main:
            val_probabilities = predict(model, val, norm)
            val_loss = evaluate_loss(model, val, norm)
            metrics = binary_metrics(val_probabilities, val.labels.numpy())
            entry = {
                "epoch": epoch,
                "train_loss": total_loss / max(seen, 1),
                "val_loss": val_loss,
                **{f"val_{k}": v for k, v in metrics.items() if isinstance(v, float)},
                "seconds": time.perf_counter() - started,
            }
        entry = parallel.share(entry)
        val_loss = entry["val_loss"]
        best_state = state.record_epoch(entry, val_loss, model, best_state)
        if not parallel.is_main:
            continue
        save_run(run_path, state, model, optimizer, best_state)
        print(
            f"epoch {epoch}: train loss {entry['train_loss']:.4f}, val loss {val_loss:.4f}, "
            f"val acc {entry['val_accuracy']:.3f} prec {entry['val_precision']:.3f} "
            f"rec {entry['val_recall']:.3f} auc {entry['val_roc_auc']:.3f} "
            f"({entry['seconds']:.0f} s)",
            flush=True,
        )
    if not parallel.is_main:
        return 0
    model.load_state_dict(best_state)
    test_metrics = binary_metrics(predict(model, test, norm), test.labels.numpy())
    val_metrics = binary_metrics(predict(model, dataset_val, norm), dataset_val.labels.numpy())
    extra_after = None
    if extra_val is not None:
        extra_after = binary_metrics(predict(model, extra_val, norm), extra_val.labels.numpy())
        print(f"detector grasps (val) after training: {extra_after}", flush=True)
    print(f"best epoch {state.best_epoch}; held-out test objects: {test_metrics}", flush=True)
    checkpoint = save_checkpoint(
        args.output / "gqcnn.pt",
        model,
        "gqcnn",
        config,
        norm,
        provenance(
            args.dataset,
            ["gqstn_ros.training.train_gqcnn", *argv],
        ),
        extra={
            "config_name": args.config,
            "best_epoch": state.best_epoch,
            "val_metrics": val_metrics,
            "test_metrics": test_metrics,
            "train_grasps": len(train),
            "batches_per_epoch": args.batches_per_epoch,
            "processes": parallel.world_size,
            "trained_on": str(device),
            "init": str(args.init) if args.init else None,
            "extra_grasps": [str(p) for p in args.extra_grasps],
            "detector_grasps_val_before": extra_before,
            "detector_grasps_val_after": extra_after,
        },
        input_config=dataset_input_config(args.dataset),
        # The labels are the dataset's gripper's: the model is trained for it.
        gripper=dataset_gripper(args.dataset),
        depth_range=dataset_depth_range(args.dataset),
    )
    summary = {"best_epoch": state.best_epoch, "val": val_metrics, "test": test_metrics}
    if extra_val is not None:
        summary["detector_grasps_val"] = {"before": extra_before, "after": extra_after}
    summary["history"] = state.history
    (args.output / "metrics.json").write_text(json.dumps(summary, indent=2))
    plot_curves(
        state.history,
        ["train_loss", "val_loss", "val_accuracy"],
        args.output / "curves.png",
        "GQ-CNN",
    )
    if args.export:
        args.export.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(checkpoint, args.export)
        print(f"exported {args.export}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
