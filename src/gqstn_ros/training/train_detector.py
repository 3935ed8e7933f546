"""Train a one-shot detector (GQ-STN, MultiGrasp, DirectGrasp or a plug-in's network) per
sections IV-C and V; `--kind` is any kind of `networks.configs.detector_kinds()`, each trained
with the loss its planner's `NetworkSpec` declares.

Each step draws, for each image of the batch, one robust ground-truth grasp (the paper's
"randomly select a ground truth positive grasp example"), whose STN parameters are the target
(x, y, theta, s, z); with `--targets closest` the target is instead the image's robust grasp
nearest the model's own prediction on the augmented view (`closest_targets`), so that an image
with several good grasps does not pull the regression towards their average. Views and
targets are augmented with the square's 8 symmetries and a random rotation and shift
(`augment_se2`, `--max-shift`), which leave each grasp's crop as it was: a few hundred images
become a continuum of views.

GQ-STN: L_tot = xi L_loc + (1 - xi) L_rob with the frozen GQ-CNN of `--gqcnn`, plus
`--geometry-anchor` (1 - xi) (L_scale + L_z) (0: the paper's loss exactly), the paper's
schedule of xi and learning rate (`PAPER_SCHEDULE`, epoch counts multiplied by
`--epoch-scale`), teacher forcing during the first three phases, Adam with L2 1e-7, early
stopping in the last phase. DirectGrasp and MultiGrasp: their own regression losses with the
same learning-rate schedule. For all three the epoch kept (and early stopping) follows
`--select-by`: by default the share of validation images whose grasp is robust by the physical
metric on the true object (`evaluate.PhysicalJudge`; validation objects only, the test objects
of Table I stay unseen); the paper kept GQ-STN by GQ-CNN's judgement (`gqcnn`) and the baselines
by the rectangle metric (`rectangle`). Resumable after every epoch.

Usage: python -m gqstn_ros.training.train_detector --kind gqstn --dataset data/synthetic
       --gqcnn models/gqcnn.pt --config cpu --output runs/gqstn_cpu [--epoch-scale 0.25]
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from gqstn_ros.detection import ROBUST_Q_THRESHOLD
from gqstn_ros.gripper import GripperConfig, GripperMismatchError
from gqstn_ros.networks.checkpoint import LoadedModel, load_checkpoint, save_checkpoint
from gqstn_ros.networks.configs import (
    NetworkSpec,
    TrainingStep,
    build_model,
    config_names,
    detector_kinds,
    model_config,
    network_spec,
)
from gqstn_ros.preprocessing import (
    TRANSLATION_LIMIT,
    NetworkInputConfig,
    Normalization,
    STNParameters,
    ViewWindow,
    affine_matrices,
    depth_offset_to_depth,
    depth_to_depth_offset,
    extract_crops,
    gqcnn_inputs,
    sample_image,
    stn_to_grasps,
    view_reference,
)
from gqstn_ros.training.common import (
    Distributed,
    RunState,
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
from gqstn_ros.training.data import ImageSet, fit_normalization, load_images
from gqstn_ros.training.evaluate import PhysicalJudge
from gqstn_ros.training.metrics import rectangle_correct

TARGET_CHOICES = ("random", "closest")

# Validation score (higher is better) per --select-by.
SELECTION_SCORES = {
    "physical": lambda m: m["robust_physical"] + 1e-3 * m["mean_q"],
    "gqcnn": lambda m: m["mean_q"],
    "rectangle": lambda m: m["rectangle"],
}


@dataclass(frozen=True)
class Phase:
    epochs: int
    xi: float  # weight of L_loc (GQ-STN)
    lr: float
    teacher_forcing: bool
    early_stopping: bool = False


# Section V: 6 epochs xi 1 lr 1e-3, 3 at xi 0.5 lr 2e-4, 3 at xi 0.2 lr 4e-5 (teacher forcing on
# for these 12), 9 at xi 0 lr 4e-5, then 19 at xi 0 lr 8e-6 with early stopping.
PAPER_SCHEDULE = (
    Phase(6, 1.0, 1e-3, True),
    Phase(3, 0.5, 2e-4, True),
    Phase(3, 0.2, 4e-5, True),
    Phase(9, 0.0, 4e-5, False),
    Phase(19, 0.0, 8e-6, False, early_stopping=True),
)


def scaled_schedule(scale: float) -> list[Phase]:
    """The paper's schedule with every phase's epochs multiplied by `scale` (at least 1)."""
    if scale <= 0:
        raise ValueError(f"epoch scale must be > 0, got {scale}")
    return [
        Phase(max(1, round(p.epochs * scale)), p.xi, p.lr, p.teacher_forcing, p.early_stopping)
        for p in PAPER_SCHEDULE
    ]


def phase_of_epoch(schedule: list[Phase], epoch: int) -> Phase:
    """The phase of 1-based `epoch`."""
    end = 0
    for phase in schedule:
        end += phase.epochs
        if epoch <= end:
            return phase
    return schedule[-1]


def augment(views: torch.Tensor, targets: torch.Tensor, generator: torch.Generator):
    """The square's symmetries on views (B, 1, D, D) and their targets (B, 5) or (B, P, 5)
    [x, y, theta, s, z] (all P targets of a view move with it)."""
    views, targets = views.clone(), targets.clone()
    for transform, flag in enumerate(torch.rand(3, len(views), generator=generator) < 0.5):
        rows = flag.nonzero()[:, 0]
        if len(rows) == 0:
            continue
        if transform == 0:  # mirror left-right: x -> -x, theta -> -theta
            views[rows] = views[rows].flip(-1)
            targets[rows, ..., 0] = -targets[rows, ..., 0]
            targets[rows, ..., 2] = -targets[rows, ..., 2]
        elif transform == 1:  # mirror up-down: y -> -y, theta -> -theta
            views[rows] = views[rows].flip(-2)
            targets[rows, ..., 1] = -targets[rows, ..., 1]
            targets[rows, ..., 2] = -targets[rows, ..., 2]
        else:  # transpose: (x, y) -> (y, x), theta -> pi/2 - theta
            views[rows] = views[rows].transpose(-1, -2)
            x, y = targets[rows, ..., 0].clone(), targets[rows, ..., 1].clone()
            targets[rows, ..., 0], targets[rows, ..., 1] = y, x
            targets[rows, ..., 2] = math.pi / 2 - targets[rows, ..., 2]
    targets[..., 2] = wrap_grasp_angle(targets[..., 2])
    return views, targets


def wrap_grasp_angle(theta: torch.Tensor) -> torch.Tensor:
    """Grasp angles (a grasp is symmetric under pi) wrapped into (-pi/2, pi/2]."""
    theta = torch.remainder(theta + math.pi / 2, math.pi) - math.pi / 2
    return torch.where(theta <= -math.pi / 2, theta + math.pi, theta)


def augment_se2(
    views: torch.Tensor, targets: torch.Tensor, generator: torch.Generator, max_shift: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Random rotation (any angle) and shift of views (B, 1, D, D) and their targets (B, >= 4),
    or (B, P, >= 4): all P targets of a view move with it.

    The new view is the old one sampled on [R(phi) | t] (normalized coordinates, border
    padding), so a grasp [s R(theta) | p] of the old view is [s R(theta - phi) | R(phi)^T
    (p - t)] of the new one: its crop is unchanged (tested). A sample whose (first) grasp would
    leave GQ-STN's reachable square (|x|, |y| < TRANSLATION_LIMIT) is left as it was; its
    other grasps may leave it (`reachable` tells).
    """
    single = targets.dim() == 2
    candidates = targets[:, None] if single else targets  # (B, P, >= 4)
    count = len(views)
    phi = (torch.rand(count, generator=generator) * 2.0 - 1.0) * math.pi
    shift = (torch.rand(count, 2, generator=generator) * 2.0 - 1.0) * max_shift

    def moved(phi: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:  # (B, P, 2)
        cos, sin = torch.cos(phi)[:, None], torch.sin(phi)[:, None]
        offset = candidates[..., :2] - shift[:, None]
        return torch.stack(
            [
                cos * offset[..., 0] + sin * offset[..., 1],
                -sin * offset[..., 0] + cos * offset[..., 1],
            ],
            -1,
        )

    keep = (moved(phi, shift)[:, 0].abs() < TRANSLATION_LIMIT - 0.02).all(dim=1)
    phi, shift = torch.where(keep, phi, 0.0), torch.where(keep[:, None], shift, 0.0)
    matrices = affine_matrices(shift[:, 0], shift[:, 1], phi, torch.ones_like(phi))
    new_targets = candidates.clone()
    new_targets[..., :2] = torch.where(keep[:, None, None], moved(phi, shift), candidates[..., :2])
    new_targets[..., 2] = wrap_grasp_angle(candidates[..., 2] - phi[:, None])
    return sample_image(views, matrices, views.shape[-1]), (
        new_targets[:, 0] if single else new_targets
    )


def reachable(targets: torch.Tensor) -> torch.Tensor:
    """Targets (..., >= 2) whose centre GQ-STN's translation can reach."""
    return (targets[..., :2].abs() < TRANSLATION_LIMIT - 0.02).all(dim=-1)


def positive_rows(images: ImageSet) -> list[np.ndarray]:
    """Per image, the rows of its robust grasps that GQ-STN can reach (|x|, |y| < 0.5)."""
    grasps = images.grasps
    reachable = (grasps.stn_params[:, :2].abs() < 0.5).all(dim=1).numpy()
    robust = grasps.labels.numpy() == 1
    return [rows[robust[rows] & reachable[rows]] for rows in images.grasp_rows]


def draw_targets(
    images: ImageSet,
    positives: list[np.ndarray],
    batch: np.ndarray,
    rng,
    preferred: torch.Tensor | None = None,
) -> torch.Tensor:
    """(B, 5) [x, y, theta, s, gripper depth (m)]: one robust grasp of each image of `batch`,
    or the image's row of `preferred` (N, 5) where it has one (not NaN)."""
    rows = np.array([rng.choice(positives[i]) if len(positives[i]) else -1 for i in batch])
    grasps = images.grasps
    safe = np.maximum(rows, 0)
    targets = torch.cat([grasps.stn_params[safe], grasps.depths[safe][:, None]], dim=1)
    if preferred is not None:
        chosen = preferred[torch.from_numpy(np.asarray(batch))]
        has = ~torch.isnan(chosen[:, 0])
        targets[has] = chosen[has]
    return targets


def all_targets(
    images: ImageSet, positives: list[np.ndarray], batch: np.ndarray, rng
) -> torch.Tensor:
    """(B, P, 5): every robust grasp of each image of `batch`, a random one first (it decides
    the SE(2) augmentation, as `draw_targets`'s does), shorter lists padded with that one."""
    grasps = images.grasps
    width = max(len(positives[i]) for i in batch)
    rows = np.empty((len(batch), width), dtype=np.int64)
    for row, image in enumerate(batch):
        mine = rng.permutation(positives[image])
        rows[row] = np.concatenate([mine, np.full(width - len(mine), mine[0])])
    flat = torch.from_numpy(rows.reshape(-1))
    targets = torch.cat([grasps.stn_params[flat], grasps.depths[flat][:, None]], dim=1)
    return targets.reshape(len(batch), width, 5)


# "closest" target choice: squared distance between grasps in normalized view units, the angle
# term (1 - cos 2 dtheta) / 2 (0 same axis, 1 perpendicular) weighted so that a perpendicular
# grasp counts as far as one 0.1 view units (8 % of the view width, about 2.6 cm) away.
ANGLE_DISTANCE_WEIGHT = 0.01


def grasp_distances(predicted: torch.Tensor, candidates: torch.Tensor) -> torch.Tensor:
    """(B, P) distances between predicted grasps (B, >= 3) and candidates (B, P, >= 3)."""
    planar = ((candidates[..., :2] - predicted[:, None, :2]) ** 2).sum(-1)
    turn = (1.0 - torch.cos(2.0 * (candidates[..., 2] - predicted[:, None, 2]))) / 2.0
    return planar + ANGLE_DISTANCE_WEIGHT * turn


def closest_targets(
    predicted: torch.Tensor, candidates: torch.Tensor, valid: torch.Tensor
) -> torch.Tensor:
    """(B, 5): per sample, the valid candidate (B, P, 5) nearest the predicted grasp (B, >= 3)."""
    distances = grasp_distances(predicted, candidates).masked_fill(~valid, math.inf)
    chosen = distances.argmin(dim=1)
    return candidates[torch.arange(len(candidates)), chosen]


def training_batch(
    images: ImageSet,
    positives: list[np.ndarray],
    batch: np.ndarray,
    rng,
    generator: torch.Generator,
    norm: Normalization,
    max_shift: float,
    predict: Callable[[torch.Tensor], torch.Tensor] | None = None,
    preferred: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Augmented views (B, 1, D, D) and targets (B, 5) [x, y, theta, s, z normalized].

    Without `predict`, each image's target is one of its robust grasps drawn at random (the
    paper). With `predict` (augmented views -> predicted (B, >= 3) [x, y, theta]), it is the
    robust grasp nearest the model's own prediction (`--targets closest`): a view with several
    good grasps no longer pulls the regression towards their average.
    """
    if predict is None:
        targets = draw_targets(images, positives, batch, rng, preferred)
    else:
        targets = all_targets(images, positives, batch, rng)
    views, targets = augment(images.views[batch], targets, generator)
    if max_shift >= 0:
        views, targets = augment_se2(views, targets, generator, max_shift)
    if predict is not None:
        valid = reachable(targets)
        valid[:, 0] = True  # the first one always is (augment_se2 keeps it reachable)
        targets = closest_targets(predict(views), targets, valid)
    targets[:, 4] = depth_to_depth_offset(targets[:, 4], views, norm)
    return views, targets


def _device_of(model: torch.nn.Module) -> torch.device:
    return next(model.parameters()).device


def own_prediction(model: torch.nn.Module) -> Callable[[torch.Tensor], torch.Tensor]:
    """views (B, 1, D, D) -> the model's grasps (B, 4) [x, y, theta, s] on them (CPU), from an
    inference pass (eval mode, no gradient; the model's mode is restored)."""

    def predict(views: torch.Tensor) -> torch.Tensor:
        was_training = model.training
        model.eval()
        with torch.inference_mode():
            params = model(views.to(_device_of(model))).params().cpu()
        model.train(was_training)
        return params.clone()

    return predict


def predict_params(model, views: torch.Tensor, batch_size: int = 64):
    """(N, 4) [x, y, theta, s] and (N,) depths (m) predicted on views (CPU tensors out); the
    depth is the network's normalized gripper height z in metres."""
    out_params, out_depths = [], []
    model.eval()
    device = _device_of(model)
    with torch.inference_mode():
        for start in range(0, len(views), batch_size):
            chunk = views[start : start + batch_size].to(device)
            outputs = model(chunk)
            out_params.append(outputs.params().cpu())
            out_depths.append(depth_offset_to_depth(outputs.z, chunk, model.normalization).cpu())
    return torch.cat(out_params), torch.cat(out_depths)


def judge_gqcnn(gqcnn, norm: Normalization, views, params, depths, crop_size: int) -> torch.Tensor:
    """GQ-CNN's robust probability of each predicted grasp, on the crop of its view."""
    device = _device_of(gqcnn)
    with torch.inference_mode():
        views, params, depths = views.to(device), params.to(device), depths.to(device)
        crops = extract_crops(views, params, crop_size)
        image, pose = gqcnn_inputs(crops, depths, view_reference(views), norm)
        return gqcnn.robustness(image, pose).cpu()


def validate(
    model,
    images: ImageSet,
    gqcnn,
    gqcnn_norm: Normalization,
    physical: PhysicalJudge | None = None,
    input_config: NetworkInputConfig | None = None,
) -> dict:
    """Validation metrics of the model's grasp on each image: robust by GQ-CNN (rate and mean
    q), the rectangle metric and, with a `physical` judge, robust by the physical metric."""
    params, depths = predict_params(model, images.views)
    q = judge_gqcnn(gqcnn, gqcnn_norm, images.views, params, depths, gqcnn.config.crop_size)
    size = images.views.shape[-1]
    robust = images.grasps.labels.numpy() == 1
    truth = images.grasps.stn_params.numpy()
    correct = [
        rectangle_correct(params[i].numpy(), truth[rows[robust[rows]]], size)
        for i, rows in enumerate(images.grasp_rows)
    ]
    metrics = {
        "robust_gqcnn": float((q >= ROBUST_Q_THRESHOLD).float().mean()),
        "mean_q": float(q.mean()),
        "rectangle": float(np.mean(correct)),
    }
    if physical is not None and input_config is not None:
        window = ViewWindow.centered(images.raw_mm.shape[1:], input_config)
        values = params.numpy().astype(np.float64)
        centers, angles, widths = stn_to_grasps(
            STNParameters(values[:, 0], values[:, 1], values[:, 2], values[:, 3]), window
        )
        # As the planners do at inference: an opening wider than the stroke is narrowed to it.
        depth_m = depths.numpy().astype(np.float64)
        fx = np.array([physical.intrinsics(i).fx for i in range(len(images))])
        valid = np.isfinite(depth_m) & (depth_m > 0)
        stroke_px = physical.gripper.stroke_in_pixels(np.where(valid, depth_m, 1.0), fx)
        widths = np.where(valid, np.minimum(widths, stroke_px), widths)
        metrics["robust_physical"] = float(
            np.mean(
                [
                    physical.judge(i, centers[i], angles[i], widths[i], float(depths[i]))
                    for i in range(len(images))
                ]
            )
        )
    return metrics


def start_from(model: torch.nn.Module, path: Path, kind: str) -> None:
    """Load a trained detector's weights into `model` (a GQ-STN keeps its own frozen GQ-CNN)."""
    loaded = load_checkpoint(path, expected_kind=kind)
    if loaded.normalization != model.normalization:
        raise ValueError(
            f"--init {path} was trained with {loaded.normalization}, this run uses "
            f"{model.normalization}: its GQ-CNN and data must match"
        )
    weights = {k: v for k, v in loaded.model.state_dict().items() if not k.startswith("gqcnn.")}
    missing, unexpected = model.load_state_dict(weights, strict=False)
    if unexpected or any(not k.startswith("gqcnn.") for k in missing):
        raise ValueError(f"--init {path} does not fit: missing {missing}, unexpected {unexpected}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kind", choices=detector_kinds(), required=True)
    parser.add_argument("--dataset", type=Path, required=True)
    parser.add_argument("--gqcnn", type=Path, required=True, help="trained GQ-CNN checkpoint")
    parser.add_argument("--config", choices=config_names(), default="cpu")
    parser.add_argument("--output", type=Path, required=True, help="run folder (resumable)")
    parser.add_argument("--epoch-scale", type=float, default=1.0, help="x the paper's epochs")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument(
        "--batches-per-epoch",
        type=int,
        default=0,
        help="steps per epoch (images drawn at random, each augmented anew); 0: one pass over "
        "the training images. The paper's schedule counts epochs of a dataset far larger than "
        "a CPU-made one: this keeps its number of steps",
    )
    parser.add_argument("--weight-decay", type=float, default=1e-7, help="L2 factor")
    parser.add_argument("--patience", type=int, default=3, help="early stopping, epochs")
    parser.add_argument(
        "--max-shift",
        type=float,
        default=0.1,
        help="SE(2) augmentation: views rotated by any angle and shifted by up to this much "
        "(normalized view coordinates, the view spans [-1, 1]); negative: only the square's "
        "8 symmetries",
    )
    parser.add_argument(
        "--geometry-anchor",
        type=float,
        default=1.0,
        help="GQ-STN: weight of the scale and gripper-height localization terms kept in the "
        "robustness phases (times 1 - xi). 0 is the paper's loss, with which the cascade learns "
        "widths and heights that the frozen GQ-CNN rates robust but that are physically wrong "
        "(measured: see the model card)",
    )
    parser.add_argument(
        "--targets",
        choices=TARGET_CHOICES,
        default="random",
        help="localization target of each image: random (one of its robust grasps drawn at "
        "random, the paper) or closest (the robust grasp nearest the model's own prediction "
        "on the augmented view; gqstn and directgrasp)",
    )
    parser.add_argument(
        "--select-by",
        choices=tuple(SELECTION_SCORES),
        default="physical",
        help="validation score that keeps the best epoch (and early-stops): physical (robust "
        "by the physical metric on the validation objects, then mean GQ-CNN q), gqcnn (mean "
        "GQ-CNN q, the paper's GQ-STN), rectangle (the paper's baselines)",
    )
    parser.add_argument(
        "--init",
        type=Path,
        default=None,
        help="start from this detector checkpoint of the same kind (GQ-STN: its localization "
        "networks; the frozen GQ-CNN is --gqcnn's), validated first as epoch --first-epoch - 1, "
        "so the kept model is never worse on validation than the starting one",
    )
    parser.add_argument(
        "--keep-init-normalization",
        action="store_true",
        help="with --init: keep the starting checkpoint's normalization constants instead of "
        "this dataset's (fine-tuning a detector trained on another dataset)",
    )
    parser.add_argument(
        "--first-epoch",
        type=int,
        default=1,
        help="with --init: the schedule's epoch to start at (e.g. the first robustness-only one); "
        "beyond the last epoch, nothing is trained: the starting model is validated and "
        "exported with --gqcnn as its robustness head",
    )
    parser.add_argument(
        "--preferred-targets",
        type=Path,
        default=None,
        help="npz of choose_view_targets: per train image, a grasp to use as the target instead "
        "of a random robust one (--targets random only)",
    )
    parser.add_argument(
        "--last-epoch",
        type=int,
        default=0,
        help="end the run after this epoch of the schedule (0: its end) and keep the best epoch "
        "so far; a run already past it ends at once (a CPU budget, or a schedule whose later "
        "phases do not pay)",
    )
    parser.add_argument(
        "--max-train-images",
        type=int,
        default=0,
        help="train on this many images of the train split, drawn at random (0: all)",
    )
    parser.add_argument(
        "--max-val-images",
        type=int,
        default=0,
        help="validate on this many images of the val split, drawn at random (0: all)",
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--export", type=Path, default=None, help="copy the best model here")
    parser.add_argument("--device", default="cpu", help="torch device (cpu, cuda)")
    args = parser.parse_args(argv)
    if min(args.max_train_images, args.max_val_images, args.last_epoch) < 0:
        parser.error("--max-train-images, --max-val-images and --last-epoch are >= 0")
    if args.first_epoch < 1 or (args.first_epoch > 1 and args.init is None):
        parser.error("--first-epoch must be >= 1, and above 1 only with --init")
    if args.init is not None and not args.init.is_file():
        parser.error(f"--init {args.init} not found")
    if args.preferred_targets is not None and not args.preferred_targets.is_file():
        parser.error(f"--preferred-targets {args.preferred_targets} not found")
    if args.preferred_targets is not None and args.targets != "random":
        parser.error("--preferred-targets replaces random targets: use it with --targets random")
    network = network_spec(args.kind)
    if args.targets == "closest" and not network.closest_targets:
        closest = ", ".join(k for k in detector_kinds() if network_spec(k).closest_targets)
        parser.error(f"--targets closest is for {closest} ({args.kind} assigns its own targets)")
    set_threads(args.threads)
    gripper = dataset_gripper(args.dataset)  # the labels', and so the trained model's
    try:  # the GQ-CNN's robust label must be the same gripper's
        judge = load_checkpoint(args.gqcnn, expected_kind="gqcnn", gripper=gripper)
    except GripperMismatchError as error:
        parser.error(f"--gqcnn does not fit --dataset: {error}")
    command = sys.argv[1:] if argv is None else argv
    return run_data_parallel(lambda parallel: _train(args, command, parallel, judge, gripper))


@dataclass
class _Run:
    """A detector training run as `_set_up` makes it: its data, model, optimizer and the
    resumable bookkeeping (`state`, `best_state`: the weights of the best epoch so far)."""

    args: argparse.Namespace
    parallel: Distributed
    judge: LoadedModel
    say: Callable[..., None]  # print on rank 0, nothing on the others
    device: torch.device
    generator: torch.Generator  # augmentation draws
    rng: np.random.Generator  # batch order and target draws
    schedule: list[Phase]
    input_config: NetworkInputConfig
    train: ImageSet
    val: ImageSet
    positives: list[np.ndarray]  # per train image, its robust grasp rows
    preferred: torch.Tensor | None  # (len(train), 5) --preferred-targets, NaN rows: none
    trainable: np.ndarray  # train images with a robust grasp or a preferred target
    norm: Normalization
    network: NetworkSpec
    physical: PhysicalJudge | None  # rank 0 with --select-by physical
    config: Any
    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    run_path: Path
    state: RunState
    best_state: dict[str, torch.Tensor]
    restored: bool  # resumed from `run_path`

    @property
    def total_epochs(self) -> int:
        return sum(p.epochs for p in self.schedule)

    def validated(self) -> dict:
        """The validation metrics of the model as it stands (rank 0's, on every process)."""
        metrics = None
        if self.parallel.is_main:
            metrics = validate(
                self.model,
                self.val,
                self.judge.model,
                self.judge.normalization,
                self.physical,
                self.input_config,
            )
        return self.parallel.share(metrics)

    def record(self, entry: dict, metrics: dict) -> None:
        """Append an epoch's entry to the history, keeping the model if its validation
        `metrics` score best by --select-by."""
        score = -SELECTION_SCORES[self.args.select_by](metrics)
        self.best_state = self.state.record_epoch(entry, score, self.model, self.best_state)


def _train(
    args: argparse.Namespace,
    argv: list[str],
    parallel: Distributed,
    judge: LoadedModel,
    gripper: GripperConfig,
) -> int:
    """The training run of `main` (every process of a data-parallel run executes it: each
    draws the same batches and trains on its shard; rank 0 validates and writes)."""
    run = _set_up(args, parallel, judge)
    _start(run)
    predict = own_prediction(run.model) if args.targets == "closest" else None
    trained = parallel.wrap(run.model)  # the module whose backward pass averages the gradients
    end_epoch = min(run.total_epochs, args.last_epoch) if args.last_epoch else run.total_epochs
    while run.state.epoch < end_epoch:
        epoch = run.state.epoch + 1
        phase = phase_of_epoch(run.schedule, epoch)
        if _stops_early(run, epoch, phase):
            run.say(f"early stopping after epoch {run.state.epoch}", flush=True)
            break
        started = time.perf_counter()
        losses = _train_epoch(run, trained, epoch, phase, predict)
        metrics = run.validated()
        entry = {
            "epoch": epoch,
            "xi": phase.xi,
            "lr": phase.lr,
            **{f"train_{k}": v for k, v in losses.items()},
            **{f"val_{k}": v for k, v in metrics.items()},
            "seconds": time.perf_counter() - started,
        }
        run.record(entry, metrics)
        if parallel.is_main:
            save_run(run.run_path, run.state, run.model, run.optimizer, run.best_state)
            _print_epoch(run, entry, metrics, phase)
    if parallel.is_main:
        _finish(run, argv, gripper)
    return 0


def _set_up(args: argparse.Namespace, parallel: Distributed, judge: LoadedModel) -> _Run:
    """Seeds, data, normalization, model and optimizer of a run; its saved state when
    `args.output` holds one (`_Run.restored`)."""
    say = print if parallel.is_main else (lambda *a, **k: None)
    device = torch.device(args.device)
    torch.manual_seed(args.seed)
    generator = torch.Generator().manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    schedule = scaled_schedule(args.epoch_scale)
    total_epochs = sum(p.epochs for p in schedule)
    input_config = dataset_input_config(args.dataset)
    say(f"loading {args.dataset} ... ({parallel.world_size} process(es))", flush=True)
    train = load_images(args.dataset, "train", input_config, args.max_train_images, args.seed)
    val = load_images(args.dataset, "val", input_config, args.max_val_images, args.seed)
    positives = positive_rows(train)
    preferred = _preferred_targets(args.preferred_targets, len(train))
    has_preferred = (
        ~torch.isnan(preferred[:, 0]).numpy()
        if preferred is not None
        else np.zeros(len(train), bool)
    )
    trainable = np.array([i for i, rows in enumerate(positives) if len(rows) or has_preferred[i]])
    network = network_spec(args.kind)
    norm = _normalization(args, network, judge, train)
    say(
        f"images: train {len(train)} ({len(trainable)} with a robust grasp), val {len(val)}; "
        f"{total_epochs} epochs; {norm}",
        flush=True,
    )
    physical = (
        PhysicalJudge(args.dataset, val, keep=True)
        if args.select_by == "physical" and parallel.is_main
        else None
    )
    config = model_config(args.kind, args.config)
    model = build_model(args.kind, config, norm, judge.model)
    model.to(device)
    judge.model.to(device)
    parameters = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(parameters, lr=schedule[0].lr, weight_decay=args.weight_decay)
    run_path = args.output / "run.pt"
    restored = load_run(run_path, model, optimizer)
    state, best_state = (
        restored
        if restored
        else (RunState(), {k: v.clone() for k, v in model.state_dict().items()})
    )
    return _Run(
        args=args,
        parallel=parallel,
        judge=judge,
        say=say,
        device=device,
        generator=generator,
        rng=rng,
        schedule=schedule,
        input_config=input_config,
        train=train,
        val=val,
        positives=positives,
        preferred=preferred,
        trainable=trainable,
        norm=norm,
        network=network,
        physical=physical,
        config=config,
        model=model,
        optimizer=optimizer,
        run_path=run_path,
        state=state,
        best_state=best_state,
        restored=restored is not None,
    )


def _preferred_targets(path: Path | None, count: int) -> torch.Tensor | None:
    """(count, 5) targets of `choose_view_targets`' npz per train image (NaN rows: none);
    None without a file."""
    if path is None:
        return None
    with np.load(path) as chosen:
        preferred = torch.full((count, 5), float("nan"))
        rows = torch.from_numpy(chosen["image_index"].astype(np.int64))
        preferred[rows] = torch.from_numpy(chosen["targets"].astype(np.float32))
    return preferred


def _normalization(
    args: argparse.Namespace, network: NetworkSpec, judge: LoadedModel, train: ImageSet
) -> Normalization:
    """The network's normalization constants: fitted on the train split, the frozen GQ-CNN's
    own for a network that carries it, or --init's with --keep-init-normalization."""
    norm = fit_normalization(train.grasps, train.views)
    # A network's crops that feed its frozen GQ-CNN (GQ-STN's) must use the GQ-CNN's own
    # constants; its view scale comes from these views.
    if network.frozen_gqcnn:
        norm = Normalization(
            **{
                **judge.normalization.to_dict(),
                "view_scale": norm.view_scale,
                "scale_max": norm.scale_max,
            }
        )
    if args.init is not None and args.keep_init_normalization:
        # Fine-tuning on another dataset: the network keeps the constants it learnt with.
        norm = load_checkpoint(args.init, expected_kind=args.kind).normalization
        if network.frozen_gqcnn and norm.crop_scale != judge.normalization.crop_scale:
            raise SystemExit(
                f"--init {args.init} crops with {norm}, the --gqcnn head {args.gqcnn} with "
                f"{judge.normalization}: give the head it was trained with"
            )
    return norm


def _start(run: _Run) -> None:
    """A resumed run says where it resumes; a run from --init loads those weights and records
    them, validated, as epoch --first-epoch - 1."""
    args = run.args
    if run.restored:
        run.say(f"resuming after epoch {run.state.epoch}", flush=True)
    elif args.init is not None:
        start_from(run.model, args.init, args.kind)
        metrics = run.validated()
        entry = {"epoch": args.first_epoch - 1, "init": str(args.init)}
        entry.update({f"val_{k}": v for k, v in metrics.items()})
        run.record(entry, metrics)
        run.say(
            f"starting from {args.init} (as epoch {args.first_epoch - 1}): {metrics}", flush=True
        )


def _stops_early(run: _Run, epoch: int, phase: Phase) -> bool:
    """Whether `epoch`, of an early-stopping phase, comes --patience epochs or more after the
    best one (counted from the start of the last phase)."""
    first_early = 1 + sum(p.epochs for p in run.schedule[:-1])
    stale = (epoch - 1) - max(run.state.best_epoch, first_early - 1)
    return phase.early_stopping and stale >= run.args.patience


def _train_epoch(
    run: _Run,
    trained: torch.nn.Module,
    epoch: int,
    phase: Phase,
    predict: Callable[[torch.Tensor], torch.Tensor] | None,
) -> dict[str, float]:
    """One epoch of training steps at the phase's learning rate and loss weights; the mean
    loss terms per sample over every process: loss, loc, rob and loc_<part>."""
    args, parallel, device = run.args, run.parallel, run.device
    for group in run.optimizer.param_groups:
        group["lr"] = phase.lr
    step = TrainingStep(phase.xi, phase.teacher_forcing, args.geometry_anchor, run.norm.scale_mean)
    run.model.train()
    if args.batches_per_epoch > 0:  # a fixed number of steps, images drawn at random
        order = run.rng.choice(run.trainable, size=args.batches_per_epoch * args.batch_size)
    else:
        order = run.rng.permutation(run.trainable)
    sums, seen = {"loss": 0.0, "loc": 0.0, "rob": 0.0}, 0
    batches = range(0, len(order), args.batch_size)
    description = f"epoch {epoch}/{run.total_epochs} xi {phase.xi} lr {phase.lr:g}"
    bar = tqdm(
        batches,
        desc=description,
        unit="batch",
        leave=False,
        mininterval=2,
        disable=not parallel.is_main,
    )
    with bar:
        for start in bar:
            batch = order[start : start + args.batch_size]
            views, targets = training_batch(
                run.train,
                run.positives,
                batch,
                run.rng,
                run.generator,
                run.norm,
                args.max_shift,
                predict,
                run.preferred,
            )
            mine = parallel.shard(len(views))  # every process drew the whole batch
            views, targets = views[mine].to(device), targets[mine].to(device)
            terms = run.network.training_loss(trained, views, targets, step)
            for name, term in terms.parts.items():
                sums[f"loc_{name}"] = sums.get(f"loc_{name}", 0.0) + float(term.detach()) * len(
                    mine
                )
            run.optimizer.zero_grad(set_to_none=True)
            terms.loss.backward()
            run.optimizer.step()
            for key, value in (
                ("loss", terms.loss),
                ("loc", terms.localization),
                ("rob", terms.robustness),
            ):
                sums[key] += float(value.detach()) * len(mine)
            seen += len(mine)
            bar.set_postfix(loss=f"{sums['loss'] / seen:.4f}")
    *totals, seen = parallel.total(*sums.values(), seen)
    return {k: v / max(seen, 1) for k, v in zip(sums, totals, strict=True)}


def _print_epoch(run: _Run, entry: dict, metrics: dict, phase: Phase) -> None:
    """One line of an epoch's training losses and validation metrics."""
    print(
        f"epoch {entry['epoch']}/{run.total_epochs} (xi {phase.xi}, lr {phase.lr:g}, teacher "
        f"{phase.teacher_forcing}): loss {entry['train_loss']:.4f} (loc "
        f"{entry['train_loc']:.4f}, rob {entry['train_rob']:.4f}); val robust by GQ-CNN "
        f"{metrics['robust_gqcnn']:.3f}, mean q {metrics['mean_q']:.3f}, rectangle "
        f"{metrics['rectangle']:.3f}, physical {metrics.get('robust_physical', math.nan):.3f} "
        f"({entry['seconds']:.0f} s)"
        + "".join(
            f", {k[len('train_loc_') :]} {v:.3f}"
            for k, v in entry.items()
            if k.startswith("train_loc_")
        ),
        flush=True,
    )


def _finish(run: _Run, argv: list[str], gripper: GripperConfig) -> None:
    """Rank 0's end of a run: the best epoch's model validated and written as `<kind>.pt`
    with `metrics.json` and `curves.png`, and copied to --export."""
    args, state = run.args, run.state
    run.model.load_state_dict(run.best_state)
    final = validate(
        run.model, run.val, run.judge.model, run.judge.normalization, run.physical, run.input_config
    )
    checkpoint = save_checkpoint(
        args.output / f"{args.kind}.pt",
        run.model,
        args.kind,
        run.config,
        run.norm,
        provenance(
            args.dataset,
            ["gqstn_ros.training.train_detector", *argv],
        ),
        extra={
            "config_name": args.config,
            "best_epoch": state.best_epoch,
            "val_metrics": final,
            "schedule": [vars(p) for p in run.schedule],
            "epochs_trained": state.epoch,
            "processes": run.parallel.world_size,
            "gqcnn": str(args.gqcnn),
            "targets": args.targets,
            "trained_on": str(run.device),
        },
        input_config=run.input_config,
        gripper=gripper,
        depth_range=dataset_depth_range(args.dataset),
    )
    summary = {"best_epoch": state.best_epoch, "val": final, "history": state.history}
    (args.output / "metrics.json").write_text(json.dumps(summary, indent=2))
    plot_curves(
        state.history,
        ["train_loss", "val_mean_q", "val_robust_gqcnn", "val_rectangle"],
        args.output / "curves.png",
        args.kind,
    )
    print(f"best epoch {state.best_epoch}: {final}", flush=True)
    if args.export:
        args.export.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(checkpoint, args.export)
        print(f"exported {args.export}")


if __name__ == "__main__":
    raise SystemExit(main())
