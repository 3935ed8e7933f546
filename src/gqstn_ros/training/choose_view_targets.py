"""Targets for distilling a planner into a detector's single pass: the grasp a planner chooses on
each train image (a detector with several symmetric views, or Prop+GQ-CNN's sampling), kept
where the physical judge calls it robust.

For every image of `--split` (train by default), the planner of `--models` (`--planner`: a
detector, with `--symmetric-views` views and `--judge-model`, if given; or prop_gqcnn) plans on
the inpainted frame, exactly as the inference node would; the chosen grasp is converted to the
view's STN parameters plus its gripper depth and judged by the physical metric on the true
object (`evaluate.PhysicalJudge`).
The robust ones are written to an npz (`image_index` into the split's images, `targets` (N, 5)
[x, y, theta, s, depth m]) that `train_detector --preferred-targets` uses in place of a random
robust grasp of those images.

Usage: python -m gqstn_ros.training.choose_view_targets --dataset data/synthetic_v1
       --models models [--planner gqstn --symmetric-views 4 | --planner prop_gqcnn]
       --output runs/mined/gqstn_views4.npz
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from gqstn_ros.depth_processing import inpaint_depth
from gqstn_ros.detection import PlanningError
from gqstn_ros.planner_registry import (
    NETWORK_PLANNERS,
    PLANNER_NAMES,
    SYMMETRIC_VIEW_COUNTS,
    load_planner,
)
from gqstn_ros.preprocessing import NetworkInputConfig, ViewWindow
from gqstn_ros.training.common import set_threads
from gqstn_ros.training.data import load_images, raw_to_metres
from gqstn_ros.training.evaluate import PhysicalJudge, planned_grasp_params


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, required=True)
    parser.add_argument("--models", type=Path, default=Path("models"))
    parser.add_argument(
        "--planner",
        default="gqstn",
        choices=PLANNER_NAMES,
        help="the teacher: a detector (with --symmetric-views, --judge-model) or prop_gqcnn",
    )
    parser.add_argument("--split", default="train", choices=("train", "val"))
    parser.add_argument(
        "--symmetric-views",
        type=int,
        default=None,
        choices=SYMMETRIC_VIEW_COUNTS,
        help="a detector's views (default 4)",
    )
    parser.add_argument("--judge-model", type=Path, default=None)
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    set_threads(args.threads)
    manifest = json.loads((args.dataset / "generation.json").read_text())
    input_config = NetworkInputConfig(**manifest["config"]["network_input"])
    images = load_images(args.dataset, args.split, input_config)
    detector = args.planner in NETWORK_PLANNERS
    if not detector and (args.judge_model is not None or args.symmetric_views is not None):
        parser.error(f"--symmetric-views and --judge-model are a detector's, not {args.planner}'s")
    views = args.symmetric_views or 4
    options = {"symmetric_views": views, "judge_model": args.judge_model} if detector else {}
    planner = load_planner(args.planner, args.models, **options)
    judge = PhysicalJudge(args.dataset, images)
    kept_index, kept_targets, robust_count = [], [], 0
    started = time.perf_counter()
    for index in range(len(images)):
        frame = inpaint_depth(raw_to_metres(images.raw_mm[index]))
        try:
            grasp = planner.plan(frame, judge.intrinsics(index), 1)[0]
        except PlanningError:
            continue
        window = ViewWindow.centered(frame.shape, input_config)
        params = planned_grasp_params(grasp, window)
        center = np.asarray(grasp.center_px)
        if judge.judge(index, center, grasp.angle, grasp.width_px, grasp.depth):
            robust_count += 1
            kept_index.append(index)
            kept_targets.append([*params.tolist(), grasp.depth])
        if (index + 1) % 50 == 0:
            print(f"  {index + 1}/{len(images)} images ({time.perf_counter() - started:.0f} s)")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    np.savez(
        args.output,
        image_index=np.asarray(kept_index, dtype=np.int64),
        targets=np.asarray(kept_targets, dtype=np.float32).reshape(-1, 5),
    )
    print(
        f"{robust_count} of {len(images)} {args.split} images have a physically robust chosen "
        f"grasp ({args.planner}"
        + (f", {views} views" if detector else "")
        + f"); written to {args.output}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
