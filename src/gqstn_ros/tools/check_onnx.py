"""Export each shipped one-shot network to ONNX and check onnxruntime against PyTorch on the
held-out test split (the views the node would hand it).

For every one-shot network planner (`planner_registry.NETWORK_PLANNERS`: gqstn, multigrasp,
directgrasp and any plug-in's; a missing file is reported, not fatal) the inference graph
(network plus GQ-CNN head) is exported, both runtimes run on every test view, and the
largest absolute difference of each output is printed (x, y, theta, s in
the network's units, depth in metres, q, crop in metres), with the share of views whose grasp
agrees within `--grasp-tolerance` and q within `--q-tolerance`. Exit status 1 when a network
disagrees beyond those tolerances.

Usage: python -m gqstn_ros.tools.check_onnx --dataset data/synthetic_v1 --models models
       [--output runs/onnx_check.json]
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
from pathlib import Path

import numpy as np
import torch

from gqstn_ros.networks.checkpoint import CheckpointError, load_checkpoint
from gqstn_ros.networks.configs import GQCNN_KIND
from gqstn_ros.networks.export import (
    OUTPUT_NAMES,
    export_inference_graph,
    inference_graph_from_checkpoints,
    onnx_session,
)
from gqstn_ros.planner_registry import NETWORK_PLANNERS
from gqstn_ros.training.common import set_threads
from gqstn_ros.training.data import load_images


def angle_difference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """|a - b| for grasp angles (period pi), radians."""
    return np.abs((a - b + math.pi / 2) % math.pi - math.pi / 2)


def compare(graph, session, views: torch.Tensor, batch_size: int = 32) -> dict[str, np.ndarray]:
    """Per output, the per-view largest absolute difference between the two runtimes."""
    differences: dict[str, list[np.ndarray]] = {name: [] for name in OUTPUT_NAMES}
    with torch.inference_mode():
        for start in range(0, len(views), batch_size):
            chunk = views[start : start + batch_size]
            expected = [t.numpy() for t in graph(chunk)]
            actual = session.run(list(OUTPUT_NAMES), {"view": chunk.numpy()})
            for name, a, e in zip(OUTPUT_NAMES, actual, expected, strict=True):
                if name == "theta":
                    diff = angle_difference(a, e)
                else:
                    diff = np.abs(a - e).reshape(len(chunk), -1).max(axis=1)
                differences[name].append(diff)
    return {name: np.concatenate(parts) for name, parts in differences.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, required=True)
    parser.add_argument("--models", type=Path, default=Path("models"))
    parser.add_argument("--split", default="test", choices=("train", "val", "test"))
    parser.add_argument("--grasp-tolerance", type=float, default=1e-3, help="x, y, theta, s")
    parser.add_argument("--q-tolerance", type=float, default=1e-3)
    parser.add_argument("--output", type=Path, default=None, help="also write the JSON here")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    set_threads(args.threads)
    gqcnn_path = args.models / f"{GQCNN_KIND}.pt"
    gqcnn = load_checkpoint(gqcnn_path, expected_kind=GQCNN_KIND)
    report: dict[str, dict] = {}
    views: torch.Tensor | None = None
    failed = False
    for name in NETWORK_PLANNERS:
        path = args.models / f"{name}.pt"
        if not path.exists():
            report[name] = {"error": f"{path} not found"}
            print(f"{name}: {path} not found, skipped")
            continue
        try:
            graph, loaded = inference_graph_from_checkpoints(path, gqcnn)
        except CheckpointError as error:
            report[name] = {"error": str(error)}
            print(f"{name}: {error}")
            failed = True
            continue
        if views is None:
            views = load_images(args.dataset, args.split, loaded.input_config).views
        with tempfile.TemporaryDirectory() as folder:
            onnx_path = export_inference_graph(
                graph, Path(folder) / f"{name}.onnx", loaded.input_config.input_size
            )
            differences = compare(graph, onnx_session(onnx_path, args.threads), views)
        grasp_ok = np.all(
            [differences[k] <= args.grasp_tolerance for k in ("x", "y", "theta", "s")], axis=0
        )
        q_ok = differences["q"] <= args.q_tolerance
        entry = {
            "views": len(views),
            "max_abs_difference": {k: float(v.max()) for k, v in differences.items()},
            "grasp_agreement": float(grasp_ok.mean()),
            "q_agreement": float(q_ok.mean()),
        }
        report[name] = entry
        failed |= not (grasp_ok.all() and q_ok.all())
        listed = ", ".join(f"{k} {v:.2e}" for k, v in entry["max_abs_difference"].items())
        print(
            f"{name}: {len(views)} {args.split} views; grasp agrees on "
            f"{entry['grasp_agreement']:.1%}, q on {entry['q_agreement']:.1%}; max |diff|: "
            f"{listed}"
        )
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(report, indent=2))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
