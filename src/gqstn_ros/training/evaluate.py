"""Table I on the object-wise held-out test split: every planner, both robustness judges.

For each test image every planner gets the inpainted sensor window (exactly what the depth
node would hand it) and returns its best grasp. Per planner:

* rectangle metric (section V-B): Jaccard > 0.25 and angle difference < 30 degrees against
  the image's robust annotated grasps, rectangle height w / 5;
* robust by GQ-CNN: the GQ-CNN probability of the grasp's crop >= 0.5 (the paper's judge);
* robust by the physical metric: the robust Ferrari-Canny label of the grasp on the object's
  true mesh and pose, regenerated from the dataset's seeds (GQ-STN never saw this judge);
* the paper's cross-analysis: rectangle-positive grasps that are not robust, robust grasps
  that are rectangle-negative (by the GQ-CNN judge, and by the physical one);
* detection time per frame (median), measured here.

Writes table1.json, table1.csv and table1.png to the output folder.

Usage: python -m gqstn_ros.training.evaluate --dataset data/synthetic --models models
       --output runs/table1 [--planners gqstn multigrasp directgrasp prop_gqcnn] [--limit N]
"""

from __future__ import annotations

import argparse
import csv
import json
import time
from pathlib import Path

import matplotlib
import numpy as np
import torch

from gqstn_ros.camera_model import CameraIntrinsics
from gqstn_ros.datasets.generate import GenerationConfig, SceneLabeller, object_seed
from gqstn_ros.depth_processing import inpaint_depth
from gqstn_ros.detection import ROBUST_Q_THRESHOLD, PlannedGrasp, PlanningError
from gqstn_ros.geometry import pose7_to_matrix
from gqstn_ros.grasping.grasp import grasps_2d_to_3d
from gqstn_ros.grasping.robustness import GraspQualityEvaluator
from gqstn_ros.planner_registry import PLANNER_NAMES, load_planner, options_for
from gqstn_ros.preprocessing import NetworkInputConfig, ViewWindow, grasps_to_stn
from gqstn_ros.sim.objects import generate_object
from gqstn_ros.training.common import dataset_gripper, set_threads
from gqstn_ros.training.data import load_images, raw_to_metres
from gqstn_ros.training.metrics import rectangle_correct

matplotlib.use("Agg")
import matplotlib.pyplot as plt

PAPER_TABLE_I = {  # Table I of the paper (Dex-Net 2.0 test set), for reference in the output
    "gqstn": {"robust_gqcnn": 0.924},
}


class PhysicalJudge:
    """The independent judge: the robust Ferrari-Canny label of a grasp on the true mesh and
    pose of an image's object, regenerated from the dataset's seeds (what labelled the data),
    for the gripper the dataset was labelled for (`gripper`, from its manifest), by the current
    label model.

    Images of a dataset that records its scenes (`scene_object_labels`: several objects, the
    extended families) are judged as the generator labels them (`SceneLabeller`): each grasp on
    the object nearest its centre, with the object's mass and friction, and with the other
    objects as obstacles of the fingers. Images of an earlier one-object dataset are judged on
    the object's mesh alone.

    `judge(index, center_px, angle, width_px, depth_m)` for image `index` of `images` (frame
    pixel coordinates of the stored window); the scene's evaluators are built once per image
    and kept (`keep=True`, for repeated validation) or dropped after use.
    """

    def __init__(self, dataset: Path, images, keep: bool = False) -> None:
        manifest = json.loads((Path(dataset) / "generation.json").read_text())
        self.dataset = Path(dataset)
        self.families = tuple(manifest["config"]["families"])
        self.base_seed = int(manifest["seed"])
        self.gripper = dataset_gripper(self.dataset)
        self.images = images
        self.keep = keep
        self.scenes = _image_scenes(self.dataset)
        self.config = GenerationConfig(families=self.families, gripper=self.gripper)
        self.labellers: dict[int, SceneLabeller | GraspQualityEvaluator] = {}

    def intrinsics(self, index: int) -> CameraIntrinsics:
        raw = self.images.raw_mm[index]
        fx, fy, cx, cy = (float(v) for v in self.images.intrinsics[index])
        return CameraIntrinsics(raw.shape[1], raw.shape[0], fx, fy, cx, cy)

    def judge(
        self, index: int, center_px: np.ndarray, angle: float, width_px: float, depth_m: float
    ) -> bool:
        return bool(
            self.judge_many(
                index,
                np.asarray(center_px, dtype=np.float64).reshape(1, 2),
                np.array([angle]),
                np.array([width_px]),
                np.array([depth_m]),
            )[0]
        )

    def _labeller(self, index: int, image_id: int) -> SceneLabeller | GraspQualityEvaluator:
        if self.scenes is not None:
            return SceneLabeller.of_record(
                self.config,
                self.base_seed,
                self.scenes["labels"][image_id],
                self.scenes["families"][image_id],
                self.scenes["poses"][image_id],
            )
        object_id = int(self.images.object_labels[index])
        model = generate_object(
            self.families[object_id % len(self.families)], object_seed(self.base_seed, object_id)
        )
        poses = _image_poses(self.dataset, image_id)
        return GraspQualityEvaluator.from_object(
            model.vertices, model.faces, pose7_to_matrix(poses["object"]), self.gripper
        )

    def judge_many(
        self,
        index: int,
        centers_px: np.ndarray,
        angles: np.ndarray,
        widths_px: np.ndarray,
        depths_m: np.ndarray,
    ) -> np.ndarray:
        """(N,) bool: the robust label of N grasps of image `index` (centres (N, 2) in frame
        pixels, angles (N,) rad, widths (N,) px, gripper depths (N,) m), in one evaluation."""
        image_id = int(self.images.image_labels[index])
        labeller = self.labellers.get(image_id)
        if labeller is None:
            labeller = self._labeller(index, image_id)
            if self.keep:
                self.labellers[image_id] = labeller
        center_c, axis_c, width_m = grasps_2d_to_3d(
            np.asarray(centers_px, dtype=np.float64).reshape(-1, 2),
            np.asarray(angles, dtype=np.float64),
            np.asarray(widths_px, dtype=np.float64),
            np.asarray(depths_m, dtype=np.float64),
            self.intrinsics(index),
        )
        world = pose7_to_matrix(_image_poses(self.dataset, image_id)["camera"])
        center_w = center_c @ world[:3, :3].T + world[:3, 3]
        axis_w = axis_c @ world[:3, :3].T
        if isinstance(labeller, SceneLabeller):
            quality = labeller.label_nearest(
                center_w, axis_w, width_m, np.random.default_rng(index)
            )
            return quality >= self.config.robustness.robust_threshold
        return np.asarray(labeller.evaluate(center_w, axis_w, width_m, rng=index).robust, bool)


def planned_grasp_params(grasp: PlannedGrasp, window: ViewWindow) -> np.ndarray:
    """(4,) float32 STN parameters [x, y, theta, s] of a planned grasp in the view `window`."""
    return grasps_to_stn(
        np.array([grasp.center_px]),
        np.array([grasp.angle]),
        np.array([grasp.width_px]),
        window,
    ).as_array()[0]


def _share(numerator: np.ndarray, denominator: np.ndarray) -> float:
    return float(numerator.sum() / denominator.sum()) if denominator.sum() else float("nan")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, required=True)
    parser.add_argument("--models", type=Path, default=Path("models"))
    parser.add_argument("--output", type=Path, default=Path("runs/table1"))
    parser.add_argument("--planners", nargs="*", default=list(PLANNER_NAMES))
    parser.add_argument("--split", default="test", choices=("train", "val", "test"))
    parser.add_argument("--limit", type=int, default=0, help="first N images only (0: all)")
    parser.add_argument(
        "--unseen-by",
        type=Path,
        default=None,
        help="keep only images of objects outside this other dataset's train and val splits "
        "(to compare models trained on either dataset on images neither has seen)",
    )
    parser.add_argument(
        "--symmetric-views",
        type=int,
        default=1,
        choices=(1, 2, 4, 8),
        help="run each network on this many quarter-turned and mirrored copies of the view "
        "and keep the grasp GQ-CNN rates highest",
    )
    parser.add_argument(
        "--judge-model",
        type=Path,
        default=None,
        help="a GQ-CNN checkpoint that judges (q, robust label) and chooses the networks' "
        "grasps instead of their own GQ-CNN head (relative: inside --models)",
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--backend", default="torch", choices=("torch", "onnxruntime"))
    args = parser.parse_args(argv)
    set_threads(args.threads)
    manifest = json.loads((args.dataset / "generation.json").read_text())
    input_config = NetworkInputConfig(**manifest["config"]["network_input"])
    images = load_images(args.dataset, args.split, input_config)
    selected = np.arange(len(images))
    if args.unseen_by is not None:
        seen = seen_objects(args.unseen_by)
        selected = selected[~np.isin(images.object_labels, list(seen))]
    if args.limit > 0:
        selected = selected[: args.limit]
    count = len(selected)
    gripper = dataset_gripper(args.dataset)  # the planners serve the gripper of the labels
    planners = {
        name: load_planner(
            name,
            args.models,
            args.backend,
            gripper=gripper,
            **options_for(name, symmetric_views=args.symmetric_views, judge_model=args.judge_model),
        )
        for name in args.planners
    }
    unseen = f", objects unseen by {args.unseen_by}" if args.unseen_by else ""
    print(f"Table I on {count} {args.split} images (held-out objects{unseen}): {list(planners)}")

    robust_rows = images.grasps.labels.numpy() == 1
    truth = images.grasps.stn_params.numpy()
    records: dict[str, dict[str, list]] = {
        name: {k: [] for k in ("found", "rect", "q", "physical", "seconds")} for name in planners
    }
    judge = PhysicalJudge(args.dataset, images)
    started = time.perf_counter()
    for done, index in enumerate(selected):
        frame = inpaint_depth(raw_to_metres(images.raw_mm[index]))
        intrinsics = judge.intrinsics(index)
        window = ViewWindow.centered(frame.shape, input_config)
        gt = truth[images.grasp_rows[index][robust_rows[images.grasp_rows[index]]]]
        for name, planner in planners.items():
            record = records[name]
            clock = time.perf_counter()
            try:
                grasp = planner.plan(frame, intrinsics, 1)[0]
            except PlanningError:
                record["seconds"].append(time.perf_counter() - clock)
                for key, value in (
                    ("found", False),
                    ("rect", False),
                    ("q", 0.0),
                    ("physical", False),
                ):
                    record[key].append(value)
                continue
            record["seconds"].append(time.perf_counter() - clock)
            params = planned_grasp_params(grasp, window)
            physical = judge.judge(
                index, np.asarray(grasp.center_px), grasp.angle, grasp.width_px, grasp.depth
            )
            record["found"].append(True)
            record["rect"].append(rectangle_correct(params, gt, input_config.input_size))
            record["q"].append(float(grasp.q_value))
            record["physical"].append(physical)
        if (done + 1) % 20 == 0 or done + 1 == count:
            elapsed = time.perf_counter() - started
            print(f"  {done + 1}/{count} images ({elapsed:.0f} s)", flush=True)

    table = {}
    for name, record in records.items():
        rect = np.array(record["rect"], bool)
        robust_q = np.array(record["q"]) >= ROBUST_Q_THRESHOLD
        physical = np.array(record["physical"], bool)
        table[name] = {
            "images": count,
            "grasp_found": float(np.mean(record["found"])),
            "rectangle_metric": float(rect.mean()),
            "robust_gqcnn": float(robust_q.mean()),
            "robust_physical": float(physical.mean()),
            # the planner's robust label (q >= ROBUST_Q_THRESHOLD) against the physical judge
            "label_agrees_physical": float((robust_q == physical).mean()),
            "robust_label_physical_precision": _share(robust_q & physical, robust_q),
            "rect_positive_not_robust_gqcnn": _share(rect & ~robust_q, rect),
            "robust_gqcnn_rect_negative": _share(robust_q & ~rect, robust_q),
            "rect_positive_not_robust_physical": _share(rect & ~physical, rect),
            "robust_physical_rect_negative": _share(physical & ~rect, physical),
            "median_detection_ms": float(np.median(record["seconds"]) * 1e3),
        }
    args.output.mkdir(parents=True, exist_ok=True)
    result = {
        "dataset": str(args.dataset),
        "split": args.split,
        "unseen_by": str(args.unseen_by) if args.unseen_by else None,
        "models": str(args.models),
        "table": table,
        "paper": PAPER_TABLE_I,
    }
    (args.output / "table1.json").write_text(json.dumps(result, indent=2))
    columns = list(next(iter(table.values())).keys())
    with (args.output / "table1.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["planner", *columns])
        for name, row in table.items():
            writer.writerow([name, *(row[c] for c in columns)])
    _plot(table, args.output / "table1.png")
    _print(table)
    return 0


def seen_objects(dataset: Path) -> set[int]:
    """Object ids of a dataset's train and val images (what a model trained on it has seen)."""
    from gqstn_ros.datasets.splits import read_split  # noqa: PLC0415
    from gqstn_ros.datasets.tensor_dataset import TensorDataset  # noqa: PLC0415

    images = TensorDataset(Path(dataset) / "images")
    split = read_split(Path(dataset) / "images", "object_wise")
    indices = np.concatenate([split["train"], split["val"]])
    return {int(o) for o in images.datapoints(indices, ["object_labels"])["object_labels"]}


_POSE_CACHE: dict[Path, dict[str, np.ndarray]] = {}


def _image_scenes(root: Path) -> dict[str, np.ndarray] | None:
    """Every image's scene record (labels, family indices, pose7 rows of its objects), or
    None for a dataset that does not record scenes."""
    from gqstn_ros.datasets.tensor_dataset import TensorDataset  # noqa: PLC0415

    dataset = TensorDataset(root / "images")
    if "scene_object_labels" not in dataset.field_names:
        return None
    return {
        "labels": dataset.field("scene_object_labels"),
        "families": dataset.field("scene_family_labels"),
        "poses": dataset.field("scene_object_poses"),
    }


def _image_poses(root: Path, image_id: int) -> dict[str, np.ndarray]:
    from gqstn_ros.datasets.tensor_dataset import TensorDataset  # noqa: PLC0415

    if root not in _POSE_CACHE:
        dataset = TensorDataset(root / "images")
        _POSE_CACHE[root] = {
            "camera": dataset.field("camera_poses"),
            "object": dataset.field("object_poses"),
        }
    poses = _POSE_CACHE[root]
    return {"camera": poses["camera"][image_id], "object": poses["object"][image_id]}


def _print(table: dict) -> None:
    print()
    print(
        f"{'planner':12s} {'rect':>6s} {'robust':>7s} {'robust':>9s} {'rect+ not':>10s} "
        f"{'robust':>9s} {'ms':>7s} {'label = physical':>17s}"
    )
    print(
        f"{'':12s} {'':>6s} {'GQ-CNN':>7s} {'physical':>9s} {'robust':>10s} {'rect-':>9s} {'':>7s} "
        f"{'agree / precision':>17s}"
    )
    for name, row in table.items():
        print(
            f"{name:12s} {100 * row['rectangle_metric']:5.1f}% {100 * row['robust_gqcnn']:6.1f}% "
            f"{100 * row['robust_physical']:8.1f}% "
            f"{100 * row['rect_positive_not_robust_gqcnn']:9.1f}% "
            f"{100 * row['robust_gqcnn_rect_negative']:8.1f}% {row['median_detection_ms']:7.1f} "
            f"{100 * row['label_agrees_physical']:7.1f}% / "
            f"{100 * row['robust_label_physical_precision']:5.1f}%"
        )


def _plot(table: dict, path: Path) -> None:
    names = list(table)
    metrics = ("rectangle_metric", "robust_gqcnn", "robust_physical")
    figure, axis = plt.subplots(figsize=(7, 4))
    width = 0.25
    for offset, metric in enumerate(metrics):
        values = [100 * table[n][metric] for n in names]
        axis.bar(np.arange(len(names)) + (offset - 1) * width, values, width, label=metric)
    axis.set_xticks(np.arange(len(names)), names)
    axis.set_ylabel("% of test images")
    axis.set_ylim(0, 100)
    axis.legend()
    axis.set_title("Table I on held-out synthetic objects")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


if __name__ == "__main__":
    torch.set_grad_enabled(False)
    raise SystemExit(main())
