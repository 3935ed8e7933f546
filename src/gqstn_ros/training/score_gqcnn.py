"""GQ-CNN checkpoints scored on the labelled grasps of a dataset split, side by side.

For each checkpoint: accuracy, precision, recall and ROC-AUC of its robust probability >= 0.5
against the dataset's robust label, over the split and by object family. Every checkpoint
judges the same grasps (a subset drawn by `--seed` when `--max-grasps` is given), so that a
retrained GQ-CNN and the one it would replace are compared on equal terms.

Usage: python -m gqstn_ros.training.score_gqcnn --dataset data/world_v1
       --gqcnn models/gqcnn_fast.pt runs/w1/gqcnn_fast/gqcnn.pt [--split test]
       [--max-grasps 100000] [--output scores.json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from gqstn_ros.networks.checkpoint import CheckpointError, load_checkpoint
from gqstn_ros.training.common import binary_metrics, dataset_manifest, set_threads
from gqstn_ros.training.data import SPLITS, load_grasps
from gqstn_ros.training.train_gqcnn import ClassificationSet, predict


def score(
    checkpoints: list[Path], dataset: Path, split: str, max_grasps: int, seed: int
) -> dict[str, dict]:
    """checkpoint path -> {"all": metrics, "by_family": {family: metrics}}."""
    grasps = load_grasps(dataset, split, max_grasps=max_grasps, seed=seed)
    families = dataset_manifest(dataset).get("config", {}).get("families", [])
    labels = grasps.labels.numpy()
    result = {}
    for path in checkpoints:
        loaded = load_checkpoint(path, expected_kind="gqcnn")
        probabilities = predict(loaded.model, ClassificationSet.of(grasps), loaded.normalization)
        by_family = {}
        for family in np.unique(grasps.family_labels):
            rows = grasps.family_labels == family
            name = families[int(family)] if int(family) < len(families) else str(int(family))
            by_family[name] = {
                **binary_metrics(probabilities[rows], labels[rows]),
                "grasps": int(rows.sum()),
            }
        result[str(path)] = {
            "all": {**binary_metrics(probabilities, labels), "grasps": len(labels)},
            "by_family": by_family,
        }
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, required=True)
    parser.add_argument("--gqcnn", type=Path, nargs="+", required=True, help="checkpoints")
    parser.add_argument("--split", default="test", choices=SPLITS)
    parser.add_argument("--max-grasps", type=int, default=0, help="a random subset (0: all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--output", type=Path, default=None, help="also write the scores here")
    args = parser.parse_args(argv)
    set_threads(args.threads)
    try:
        scores = score(args.gqcnn, args.dataset, args.split, args.max_grasps, args.seed)
    except (CheckpointError, FileNotFoundError, ValueError) as error:
        print(f"score_gqcnn: {error}", file=sys.stderr)
        return 2
    for path, entry in scores.items():
        m = entry["all"]
        print(
            f"{path}: {m['grasps']} grasps, accuracy {m['accuracy']:.3f}, precision "
            f"{m['precision']:.3f}, recall {m['recall']:.3f}, ROC-AUC {m['roc_auc']:.3f}"
        )
        for family, f in sorted(entry["by_family"].items()):
            figures = f"accuracy {f['accuracy']:.3f} auc {f['roc_auc']:.3f}"
            print(f"  {family:14s} {f['grasps']:7d} {figures}")
    if args.output is not None:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(scores, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
