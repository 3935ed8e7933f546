"""How well GQ-CNN checkpoints judge a detector's own grasps (files of `mine_detector_grasps`).

For each GQ-CNN and each detector state in the file, against the physical labels: accuracy,
ROC-AUC, precision and the share of all grasps that GQ-CNN calls robust although they are not
(what a GQ-STN trained against that GQ-CNN can exploit). Prints a table; `--output` also writes
it as JSON.

Usage: python -m gqstn_ros.training.judge_detector_grasps --grasps runs/mined/gqstn.npz
       --gqcnn runs/gqcnn_cpu/gqcnn.pt runs/gqcnn_tuned/gqcnn.pt [--split val] [--output x.json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

from gqstn_ros.detection import ROBUST_Q_THRESHOLD
from gqstn_ros.networks.checkpoint import CheckpointError, load_checkpoint
from gqstn_ros.training.common import binary_metrics, set_threads
from gqstn_ros.training.mine_detector_grasps import MINED_SPLITS
from gqstn_ros.training.train_gqcnn import ClassificationSet, predict


def judge_file(gqcnn_path: Path, grasps_path: Path, split: str) -> dict[str, dict]:
    """Per detector state of the file: metrics of the GQ-CNN's robust probability >=
    `ROBUST_Q_THRESHOLD`."""
    loaded = load_checkpoint(gqcnn_path, expected_kind="gqcnn")
    with np.load(grasps_path) as arrays:
        if f"{split}_labels" not in arrays:
            raise ValueError(f"{grasps_path} holds no {split} grasps")
        states = json.loads(str(arrays["metadata"]))["states"]
        grasps = ClassificationSet(
            torch.from_numpy(arrays[f"{split}_crops"]),
            torch.from_numpy(arrays[f"{split}_depths"]),
            torch.from_numpy(arrays[f"{split}_references"]),
            torch.from_numpy(arrays[f"{split}_labels"].astype(np.int64)),
        )
        sources = arrays[f"{split}_sources"]
    probabilities = predict(loaded.model, grasps, loaded.normalization)
    labels = grasps.labels.numpy()
    result = {}
    for source, name in enumerate(states):
        rows = sources == source
        if not rows.any():
            continue
        metrics = binary_metrics(probabilities[rows], labels[rows])
        called_robust = probabilities[rows] >= ROBUST_Q_THRESHOLD
        metrics["grasps"] = int(rows.sum())
        metrics["physically_robust"] = float(labels[rows].mean())
        metrics["wrongly_called_robust"] = float(np.mean(called_robust & (labels[rows] == 0)))
        result[name] = metrics
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grasps", type=Path, required=True, help="mine_detector_grasps file")
    parser.add_argument("--gqcnn", type=Path, nargs="+", required=True)
    parser.add_argument("--split", choices=MINED_SPLITS, default="val")
    parser.add_argument("--output", type=Path, default=None, help="JSON file to write")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    set_threads(args.threads)
    report = {}
    try:
        for path in args.gqcnn:
            report[str(path)] = judge_file(path, args.grasps, args.split)
    except (OSError, ValueError, KeyError, CheckpointError) as error:
        print(f"judge_detector_grasps: {error}", file=sys.stderr)
        return 2
    print(f"{args.grasps}, {args.split} split")
    print(
        f"{'GQ-CNN':40s} {'detector state':32s} {'grasps':>6s} {'phys':>6s} {'acc':>6s} "
        f"{'AUC':>6s} {'prec':>6s} {'wrongly robust':>14s}"
    )
    for gqcnn, states in report.items():
        for state, m in states.items():
            print(
                f"{gqcnn[-40:]:40s} {state[:32]:32s} {m['grasps']:6d} "
                f"{m['physically_robust']:6.1%} {m['accuracy']:6.1%} {m['roc_auc']:6.3f} "
                f"{m['precision']:6.1%} {m['wrongly_called_robust']:14.1%}"
            )
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
