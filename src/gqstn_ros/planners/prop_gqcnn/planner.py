"""Prop+GQ-CNN: antipodal proposals on the depth image ranked by GQ-CNN (Dex-Net 2.0).

The baseline planner of the paper, served by the fallback node as /plan_grasp:

1. **Proposals.** `sample_antipodal_depth` draws antipodal pairs on the depth edges of the
   view window (1000 by default, as in Dex-Net 2.0): edge pixels, a closing line inside the
   friction cone to an edge facing back or, with the wall test this planner turns on, to where
   the surface falls off a thin wall (a pinch of a bowl's rim), widths within the stroke,
   gripper depths between the contact surface and the configured maximum. The window is the
   checkpoint's, in metres at the table's depth with the loader's default view_scale.
2. **Ranking.** The shared preprocessing cuts the view once (`extract_view`), turns every
   candidate into its STN parameters (`grasps_to_stn`) and crops all of them in one resampling
   (`extract_crops`, no loop over candidates); GQ-CNN judges them in batches
   (`gqcnn_inputs`, softmax of the logits, class 1 = robust) under `torch.inference_mode`.
   The ranking model is `models/gqcnn_fast.pt` (the `fast` GQ-CNN configuration, about 30
   times cheaper than `cpu`, so that 1000 candidates fit the fallback's latency budget) when
   it exists, else `models/gqcnn.pt`; `loader.load_prop_planner(ranking_model=...)`
   picks another, and `PropGQCNNPlanner.ranking_model` says which one a planner uses.
3. **Cross-entropy method (optional, `CEMConfig`).** Dex-Net 2.0's refinement: fit a Gaussian
   mixture to the elite grasps, resample, project the samples back to valid grasps, re-rank.

With a target (`grasping.target.GraspTarget`): the view is centred on the target, the search
window is the target's bounding box (grown by TARGET_MARGIN_PX), both contacts of every proposal
lie on target pixels (grown by TARGET_EDGE_GROWTH_PX, for a mask a little short of the object's
silhouette), and only grasps whose centre pixel is on the target and whose fingers clear the
other objects (`target.finger_clearance`) are ranked and returned, CEM samples included.
Without a target, candidates whose fingers land on an object other than the one under their
centre (`target.clear_of_other_objects`: in a pile) are dropped the same way. With a target or
without, so are candidates deeper than the fingers reach (`gripper_contact.palm_blocked`: the
palm would land on the object first, as on the cap of a tall bottle gripped at its shoulder).

Bad input raises `PlanningError` naming the problem: a depth image that is not (H, W), has
invalid pixels, or has no valid pixel at all ("all-invalid depth image"); a view with nothing
standing on the table; an object wider than the stroke everywhere. Results are deterministic
for a given seed (`PropConfig.seed`, or `seed=` per call).
"""

from __future__ import annotations

import errno
import logging
import math
from dataclasses import dataclass, field, replace
from pathlib import Path

import cv2
import numpy as np
import torch
from torch import nn

from gqstn_ros.camera_model import CameraIntrinsics
from gqstn_ros.detection import PlannedGrasp, PlanningError
from gqstn_ros.geometry import wrap_angle
from gqstn_ros.grasping.antipodal import (
    WALL_DROP,
    AntipodalConfig,
    DepthSamplingReport,
    ImageGraspCandidates,
    sample_antipodal_depth_with_report,
)
from gqstn_ros.grasping.gripper_contact import palm_blocked
from gqstn_ros.grasping.target import GraspTarget, clear_of_other_objects, finger_clearance
from gqstn_ros.gripper import GripperConfig, default_gripper
from gqstn_ros.preprocessing import (
    NetworkInputConfig,
    Normalization,
    ViewWindow,
    extract_crops,
    extract_view,
    gqcnn_inputs,
    grasps_to_stn,
    view_window,
)

PLANNER_NAME = "prop_gqcnn"
GQCNN_CHECKPOINT = "gqcnn.pt"  # file name of the GQ-CNN checkpoint in the models folder
FAST_GQCNN_CHECKPOINT = "gqcnn_fast.pt"  # the `fast` GQ-CNN: ranks 1000 candidates cheaply
# The ranking model `loader.load_prop_planner` takes by default: the first of
# these that exists.
RANKING_CHECKPOINTS = (FAST_GQCNN_CHECKPOINT, GQCNN_CHECKPOINT)

LOGGER = logging.getLogger(__name__)
# With a target: the search window is its bounding box grown by this many pixels (the depth
# edges of its silhouette need the pixels just outside it), and the contacts may lie this many
# pixels off the target's own pixels (a segmentation mask a little short of the silhouette).
TARGET_MARGIN_PX = 4
TARGET_EDGE_GROWTH_PX = 2


@dataclass(frozen=True)
class CEMConfig:
    """Cross-entropy method refinement; defaults are Dex-Net 2.0's (gqcnn's
    `CrossEntropyRobustGraspingPolicy`, cfg/examples/replication/dex-net_2.0.yaml):
    num_seed_samples 250, num_gmm_samples 50, num_iters 3, gmm_refit_p 0.25,
    gmm_component_frac 0.4, gmm_reg_covar 0.01.

    Each iteration keeps the best `elite_fraction` of the latest grasps, fits a Gaussian
    mixture with ceil(component_fraction * elites) components to their standardized features
    (u, v, cos 2a, sin 2a, width px, depth), draws `samples_per_iteration` grasps from it and
    ranks them. Unlike Dex-Net 2.0, which returns the best grasp of the last iteration, the
    best grasps over all iterations are returned, so the refinement never returns a grasp worse
    than the best seed.
    """

    iterations: int = 3  # num_iters
    num_seed_samples: int = 250  # num_seed_samples: antipodal proposals of the first round
    samples_per_iteration: int = 50  # num_gmm_samples
    elite_fraction: float = 0.25  # gmm_refit_p
    component_fraction: float = 0.4  # gmm_component_frac: components per elite grasp
    covariance_regularization: float = 0.01  # gmm_reg_covar (standardized features)
    em_iterations: int = 100  # EM steps at most (scikit-learn's max_iter)
    em_tolerance: float = 1e-3  # EM stops when the mean log-likelihood gains less

    def __post_init__(self) -> None:
        for name in ("iterations", "num_seed_samples", "samples_per_iteration", "em_iterations"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"CEMConfig.{name} must be >= 1, got {getattr(self, name)}")
        for name in ("elite_fraction", "component_fraction"):
            value = getattr(self, name)
            if not 0.0 < value <= 1.0:
                raise ValueError(f"CEMConfig.{name} must be in (0, 1], got {value}")
        if not self.covariance_regularization > 0:
            raise ValueError(
                "CEMConfig.covariance_regularization must be > 0, got "
                f"{self.covariance_regularization}"
            )


def _default_antipodal() -> AntipodalConfig:
    # Two lines per requested grasp: the sampler runs further rounds when the first falls short.
    # The wall test on: a vessel wider than the stroke is grasped by a pinch of its rim.
    return AntipodalConfig(oversample=2, wall_drop=WALL_DROP)


@dataclass(frozen=True)
class PropConfig:
    """Prop+GQ-CNN parameters (metres where physical)."""

    num_candidates: int = 1000  # antipodal proposals ranked (Dex-Net 2.0's 1000)
    batch_size: int = 256  # crops per GQ-CNN forward pass
    seed: int = 0  # proposals and CEM draws; `plan(seed=...)` overrides it per call
    min_object_height: float = 0.01  # m above the view median (the table): something to grasp
    gripper: GripperConfig = field(default_factory=default_gripper)
    antipodal: AntipodalConfig = field(default_factory=_default_antipodal)
    cem: CEMConfig | None = None  # None: rank the proposals only

    def __post_init__(self) -> None:
        for name in ("num_candidates", "batch_size"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"PropConfig.{name} must be >= 1, got {getattr(self, name)}")
        if not self.min_object_height >= 0:
            raise ValueError(
                f"PropConfig.min_object_height must be >= 0, got {self.min_object_height}"
            )


@dataclass(frozen=True)
class RankedGrasps:
    """N grasps with their GQ-CNN verdicts, best first.

    centers_px (N, 2), angles (N,), widths_px (N,), depths (N,) m, q (N,), crops (N, c, c) m.
    """

    centers_px: np.ndarray
    angles: np.ndarray
    widths_px: np.ndarray
    depths: np.ndarray
    q: np.ndarray
    crops: np.ndarray

    def __len__(self) -> int:
        return len(self.q)

    def subset(self, keep: np.ndarray) -> RankedGrasps:
        """The grasps where `keep` ((N,) bool) is True, in the same order."""
        return RankedGrasps(
            centers_px=self.centers_px[keep],
            angles=self.angles[keep],
            widths_px=self.widths_px[keep],
            depths=self.depths[keep],
            q=self.q[keep],
            crops=self.crops[keep],
        )

    def top(self, k: int) -> list[PlannedGrasp]:
        return [
            PlannedGrasp(
                center_px=(float(self.centers_px[i, 0]), float(self.centers_px[i, 1])),
                angle=float(self.angles[i]),
                width_px=float(self.widths_px[i]),
                depth=float(self.depths[i]),
                q_value=float(self.q[i]),
                thumbnail=self.crops[i].astype(np.float32),
                planner=PLANNER_NAME,
            )
            for i in range(min(k, len(self)))
        ]


def _concatenate(parts: list[RankedGrasps]) -> RankedGrasps:
    merged = {
        name: np.concatenate([getattr(part, name) for part in parts])
        for name in ("centers_px", "angles", "widths_px", "depths", "q", "crops")
    }
    order = np.argsort(-merged["q"], kind="stable")
    return RankedGrasps(**{name: values[order] for name, values in merged.items()})


# --- Gaussian mixture (EM, full covariances), for the cross-entropy method -------------------


@dataclass(frozen=True)
class GaussianMixture:
    """weights (K,), means (K, D), covariances (K, D, D)."""

    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray

    def log_likelihoods(self, points: np.ndarray) -> np.ndarray:
        """(N, D) -> (N, K) log(weight_k * N(x | mean_k, cov_k))."""
        dims = points.shape[1]
        cholesky = np.linalg.cholesky(self.covariances)  # (K, D, D)
        diff = points[None, :, :] - self.means[:, None, :]  # (K, N, D)
        solved = np.linalg.solve(cholesky, diff.transpose(0, 2, 1))  # (K, D, N)
        mahalanobis = np.sum(solved * solved, axis=1)  # (K, N)
        log_det = 2.0 * np.sum(np.log(np.diagonal(cholesky, axis1=1, axis2=2)), axis=1)
        log_normal = -0.5 * (dims * math.log(2.0 * math.pi) + log_det[:, None] + mahalanobis)
        return (log_normal + np.log(self.weights)[:, None]).T

    def sample(self, count: int, rng: np.random.Generator) -> np.ndarray:
        """(count, D) draws; the components' shares are multinomial, as in scikit-learn."""
        per_component = rng.multinomial(count, self.weights)
        cholesky = np.linalg.cholesky(self.covariances)
        draws = [
            self.means[k] + rng.standard_normal((n, self.means.shape[1])) @ cholesky[k].T
            for k, n in enumerate(per_component)
        ]
        return np.concatenate(draws, axis=0)


def fit_gaussian_mixture(
    points: np.ndarray,
    components: int,
    rng: np.random.Generator,
    regularization: float = 0.01,
    max_iterations: int = 100,
    tolerance: float = 1e-3,
) -> GaussianMixture:
    """EM fit of a full-covariance mixture to (N, D) points; `regularization` is added to
    every covariance's diagonal. Means start at distinct random points, weights uniform."""
    points = np.asarray(points, dtype=np.float64)
    count, dims = points.shape
    components = int(min(max(components, 1), count))
    eye = regularization * np.eye(dims)
    start = np.cov(points, rowvar=False).reshape(dims, dims) + eye if count > 1 else eye
    mixture = GaussianMixture(
        weights=np.full(components, 1.0 / components),
        means=points[rng.choice(count, components, replace=False)],
        covariances=np.repeat(start[None], components, axis=0),
    )
    previous = -np.inf
    for _ in range(max_iterations):
        # E-step: responsibilities from the log-likelihoods (log-sum-exp for stability).
        log_joint = mixture.log_likelihoods(points)  # (N, K)
        peak = log_joint.max(axis=1, keepdims=True)
        log_total = peak[:, 0] + np.log(np.exp(log_joint - peak).sum(axis=1))
        responsibilities = np.exp(log_joint - log_total[:, None])
        # M-step.
        mass = responsibilities.sum(axis=0) + 10 * np.finfo(float).eps  # (K,)
        means = responsibilities.T @ points / mass[:, None]
        diff = points[None, :, :] - means[:, None, :]  # (K, N, D)
        weighted = diff * responsibilities.T[:, :, None]
        covariances = np.einsum("knd,kne->kde", weighted, diff) / mass[:, None, None] + eye
        mixture = GaussianMixture(mass / count, means, covariances)
        mean_log_likelihood = float(log_total.mean())
        if abs(mean_log_likelihood - previous) < tolerance:
            break
        previous = mean_log_likelihood
    return mixture


# --- The planner ---------------------------------------------------------------------------


class PropGQCNNPlanner:
    """Antipodal proposals ranked by GQ-CNN; implements `detection.GraspPlanner`.

    gqcnn: a module with `forward(image (N, 1, c, c), pose (N, 1)) -> logits (N, 2)` (class
    1 = robust), e.g. `gqstn_ros.networks.gqcnn.GQCNN`; normalization and input_config: those
    it was trained with (stored in its checkpoint); ranking_model: what the ranking network is,
    for logs and reports (`loader.load_prop_planner` gives the checkpoint file and
    its configuration).
    """

    name = PLANNER_NAME

    def __init__(
        self,
        gqcnn: nn.Module,
        normalization: Normalization,
        input_config: NetworkInputConfig | None = None,
        config: PropConfig | None = None,
        ranking_model: str | None = None,
    ) -> None:
        # Channels-last weights and crops: oneDNN's CPU convolutions run about 1.8 times faster
        # for the fast GQ-CNN (1.25 for cpu) with the same results up to float rounding. The
        # module is converted in place (a module without 4-D weights is left as it is).
        self.gqcnn = gqcnn.eval().to(memory_format=torch.channels_last)
        self.normalization = normalization
        self.input_config = input_config or NetworkInputConfig()
        self.config = config or PropConfig()
        self.ranking_model = ranking_model or type(gqcnn).__name__

    def __repr__(self) -> str:
        return (
            f"PropGQCNNPlanner(ranking_model={self.ranking_model!r}, "
            f"num_candidates={self.config.num_candidates}, cem={self.config.cem is not None})"
        )

    @property
    def gripper(self) -> GripperConfig:
        """The gripper whose stroke the proposals fit (`config.gripper`)."""
        return self.config.gripper

    # -- public API ------------------------------------------------------------------------
    def plan(
        self,
        depth_m: np.ndarray,
        intrinsics: CameraIntrinsics,
        top_k: int = 1,
        *,
        num_candidates: int | None = None,
        seed: int | None = None,
        target: GraspTarget | None = None,
    ) -> list[PlannedGrasp]:
        """Up to top_k grasps, best first. num_candidates: proposals ranked (default
        `config.num_candidates`, or the CEM seed count when CEM is on); seed: overrides
        `config.seed`; target: grasps on that object only (module docstring)."""
        if int(top_k) != top_k or top_k < 1:
            raise PlanningError(f"top_k must be a positive integer, got {top_k}")
        ranked = self.rank(
            depth_m, intrinsics, num_candidates=num_candidates, seed=seed, target=target
        )
        return ranked.top(int(top_k))

    def rank(
        self,
        depth_m: np.ndarray,
        intrinsics: CameraIntrinsics,
        *,
        num_candidates: int | None = None,
        seed: int | None = None,
        target: GraspTarget | None = None,
    ) -> RankedGrasps:
        """Every grasp judged (proposals, and CEM samples when on), best first; with `target`
        only grasps on it whose fingers clear the other objects (PlanningError: none)."""
        cem = self.config.cem
        if num_candidates is None:
            num_candidates = cem.num_seed_samples if cem else self.config.num_candidates
        if int(num_candidates) != num_candidates or num_candidates < 1:
            raise PlanningError(f"num_candidates must be a positive integer, got {num_candidates}")
        rng = np.random.default_rng(self.config.seed if seed is None else seed)
        depth = validate_depth(depth_m, intrinsics)
        if target is not None and target.shape != depth.shape:
            raise PlanningError(
                f"the target is {target.shape[1]}x{target.shape[0]} pixels, the depth image "
                f"{depth.shape[1]}x{depth.shape[0]}"
            )
        # The frame centre, or the target's; metres wide at the working depth for a metric
        # input config (the loader's view_scale), else the checkpoint's frame pixels.
        center = target.center_px() if target is not None else None
        try:
            window = view_window(depth, intrinsics, self.input_config, center)
        except ValueError as error:  # no positive working depth to size a metric window by
            raise PlanningError(str(error)) from error
        view, window = extract_view(depth, self.input_config, window)
        view_tensor = torch.from_numpy(view)[None, None]  # (1, 1, D, D)
        roi = self.search_window(window, depth.shape)
        if target is None:
            candidates = self.propose(depth, intrinsics, int(num_candidates), rng, roi)
            candidates = _keep_feasible(depth, intrinsics, self.config.gripper, candidates)
            ranked = self.score(view_tensor, window, candidates)
            if cem is None:
                return ranked
            ranked = self._refine(view_tensor, window, depth, intrinsics, roi, ranked, cem, rng)
            clear = clear_of_other_objects(
                depth, intrinsics, ranked.centers_px, ranked.angles, ranked.widths_px,
                ranked.depths, self.config.gripper,
            )  # fmt: skip
            return ranked.subset(clear & self._reachable(depth, intrinsics, ranked))
        on_target = _TargetFilter(target, depth, intrinsics, self.config.gripper)
        roi = _intersect(roi, target.bounds(TARGET_MARGIN_PX))
        edges = cv2.dilate(
            target.region.astype(np.uint8),
            np.ones((2 * TARGET_EDGE_GROWTH_PX + 1,) * 2, dtype=np.uint8),
        ).astype(bool)
        candidates = self.propose(depth, intrinsics, int(num_candidates), rng, roi, edges)
        candidates = on_target.keep(candidates)
        candidates = _keep_feasible(
            depth, intrinsics, self.config.gripper, candidates, clear_of_neighbours=False
        )
        ranked = self.score(view_tensor, window, candidates)
        if cem is not None:
            ranked = self._refine(view_tensor, window, depth, intrinsics, roi, ranked, cem, rng)
            accepted = on_target.accepts(
                ranked.centers_px, ranked.angles, ranked.widths_px, ranked.depths
            )
            ranked = ranked.subset(accepted & self._reachable(depth, intrinsics, ranked))
        return ranked

    def _reachable(
        self, depth: np.ndarray, intrinsics: CameraIntrinsics, ranked: RankedGrasps
    ) -> np.ndarray:
        """(N,) bool: the ranked grasps whose palm lets the fingers reach their depth."""
        return ~palm_blocked(
            depth, intrinsics, ranked.centers_px, ranked.angles, ranked.depths,
            self.config.gripper,
        )  # fmt: skip

    @staticmethod
    def search_window(window: ViewWindow, shape: tuple[int, int]) -> tuple[int, int, int, int]:
        """(u_min, v_min, u_max, v_max) of the view window within the frame, max exclusive."""
        height, width = shape
        u_min = max(math.ceil(window.center_u - window.half + 0.5), 0)
        v_min = max(math.ceil(window.center_v - window.half + 0.5), 0)
        u_max = min(math.floor(window.center_u + window.half - 0.5) + 1, width)
        v_max = min(math.floor(window.center_v + window.half - 0.5) + 1, height)
        return u_min, v_min, u_max, v_max

    def propose(
        self,
        depth: np.ndarray,
        intrinsics: CameraIntrinsics,
        count: int,
        rng: np.random.Generator,
        roi: tuple[int, int, int, int],
        edge_mask: np.ndarray | None = None,
    ) -> ImageGraspCandidates:
        """Antipodal proposals in the view window (contacts on `edge_mask` when given);
        PlanningError says why there are none."""
        u_min, v_min, u_max, v_max = roi
        region = depth[v_min:v_max, u_min:u_max]
        relief = float(np.median(region) - region.min())
        candidates, report = sample_antipodal_depth_with_report(
            depth, intrinsics, self.config.gripper, count, rng, self.config.antipodal, roi=roi,
            edge_mask=edge_mask,
        )  # fmt: skip
        if len(candidates) == 0:
            raise PlanningError(self._no_candidates_message(report, relief))
        return candidates

    def score(
        self, view: torch.Tensor, window: ViewWindow, candidates: ImageGraspCandidates
    ) -> RankedGrasps:
        """GQ-CNN verdicts of the candidates on view (1, 1, D, D) metres, best first."""
        centers = np.asarray(candidates.centers_px, dtype=np.float64).reshape(-1, 2)
        angles = np.asarray(candidates.angles, dtype=np.float64).reshape(-1)
        widths = np.asarray(candidates.widths_px, dtype=np.float64).reshape(-1)
        depths = np.asarray(candidates.depths, dtype=np.float64).reshape(-1)
        params = torch.from_numpy(grasps_to_stn(centers, angles, widths, window).as_array())
        depth_tensor = torch.from_numpy(depths.astype(np.float32))
        count = len(depths)
        reference = view.flatten().median()  # the view median (the table)
        crop_size = self.input_config.crop_size
        q = torch.empty(count)
        crops = torch.empty(count, 1, crop_size, crop_size)
        with torch.inference_mode():
            for start in range(0, count, self.config.batch_size):
                part = slice(start, min(start + self.config.batch_size, count))
                size = part.stop - part.start
                # One resampling for the whole batch; the view is shared, not copied.
                batch_crops = extract_crops(view.expand(size, -1, -1, -1), params[part], crop_size)
                image, pose = gqcnn_inputs(
                    batch_crops, depth_tensor[part], reference.expand(size), self.normalization
                )
                logits = self.gqcnn(image.contiguous(memory_format=torch.channels_last), pose)
                q[part] = torch.softmax(logits.float(), dim=1)[:, 1]
                crops[part] = batch_crops
        q_values = q.numpy().astype(np.float64)
        order = np.argsort(-q_values, kind="stable")
        return RankedGrasps(
            centers_px=centers[order],
            angles=angles[order],
            widths_px=widths[order],
            depths=depths[order],
            q=q_values[order],
            crops=crops[:, 0].numpy()[order],
        )

    # -- internals -------------------------------------------------------------------------
    def _no_candidates_message(self, report: DepthSamplingReport, relief: float) -> str:
        if report.edge_pixels == 0 or relief < self.config.min_object_height:
            return (
                "nothing to grasp: nothing stands above the table in the view "
                f"(relief {relief * 1e3:.1f} mm, {report.edge_pixels} depth-edge pixels)"
            )
        other = max(report.too_narrow, report.too_shallow)
        if report.too_wide > 0 and report.too_wide >= other:
            return (
                "object wider than the gripper stroke: every antipodal pair is wider than "
                f"{self.config.gripper.max_width * 1e3:.0f} mm ({report.too_wide} of "
                f"{report.lines} closing lines)"
            )
        return (
            f"no antipodal grasp found: {report.lines} closing lines from "
            f"{report.edge_pixels} edge pixels; no facing edge {report.no_opposite}, "
            f"table too close below the contacts {report.too_shallow}, "
            f"narrower than the closed gripper {report.too_narrow}"
        )

    def _refine(
        self,
        view: torch.Tensor,
        window: ViewWindow,
        depth: np.ndarray,
        intrinsics: CameraIntrinsics,
        roi: tuple[int, int, int, int],
        seeds: RankedGrasps,
        cem: CEMConfig,
        rng: np.random.Generator,
    ) -> RankedGrasps:
        """Cross-entropy method: refit, resample, project, re-rank (`CEMConfig`)."""
        focal = 0.5 * (intrinsics.fx + intrinsics.fy)
        u_min, v_min, u_max, v_max = roi
        region = depth[v_min:v_max, u_min:u_max]
        depth_range = (float(region.min()), float(np.median(region)))
        gripper = self.config.gripper
        evaluated, latest = [seeds], seeds
        for _ in range(cem.iterations):
            elite_count = max(math.ceil(cem.elite_fraction * len(latest)), 1)
            features = _grasp_features(latest, elite_count)  # latest is sorted, best first
            mean, std = features.mean(axis=0), features.std(axis=0)
            std[std == 0] = 1e-6
            components = max(math.ceil(cem.component_fraction * elite_count), 1)
            mixture = fit_gaussian_mixture(
                (features - mean) / std,
                components,
                rng,
                cem.covariance_regularization,
                cem.em_iterations,
                cem.em_tolerance,
            )
            drawn = mixture.sample(cem.samples_per_iteration, rng) * std + mean
            candidates = _project_features(drawn, roi, depth_range, gripper, focal)
            latest = self.score(view, window, candidates)
            evaluated.append(latest)
        return _concatenate(evaluated)


def _keep_feasible(
    depth: np.ndarray,
    intrinsics: CameraIntrinsics,
    gripper: GripperConfig,
    candidates: ImageGraspCandidates,
    clear_of_neighbours: bool = True,
) -> ImageGraspCandidates:
    """The candidates whose palm lets the fingers reach their depth
    (`gripper_contact.palm_blocked`) and, with `clear_of_neighbours`, whose fingers clear the
    objects beside the one under their centre (`target.clear_of_other_objects`);
    PlanningError saying which test none passed."""
    subject = "antipodal candidates"
    if clear_of_neighbours:
        centers = np.asarray(candidates.centers_px, dtype=np.float64).reshape(-1, 2)
        clear = clear_of_other_objects(
            depth, intrinsics, centers, candidates.angles, candidates.widths_px,
            candidates.depths, gripper,
        )  # fmt: skip
        refusal = "puts a finger on an object beside the one it grasps"
        candidates = _kept(candidates, clear, subject, refusal)
        if not clear.all():
            subject = "antipodal candidates that clear the objects beside"
    centers = np.asarray(candidates.centers_px, dtype=np.float64).reshape(-1, 2)
    reachable = ~palm_blocked(
        depth, intrinsics, centers, candidates.angles, candidates.depths, gripper
    )
    refusal = (
        f"is deeper than the fingers of gripper {gripper.name} reach: the palm comes to rest "
        "on what stands under it first"
    )
    return _kept(candidates, reachable, subject, refusal)


def _kept(
    candidates: ImageGraspCandidates, keep: np.ndarray, subject: str, refusal: str
) -> ImageGraspCandidates:
    """The candidates where `keep` (N,) holds; PlanningError "every one of the N <subject>
    <refusal>" when it holds for none."""
    if keep.all():
        return candidates
    if not keep.any():
        raise PlanningError(f"every one of the {len(keep)} {subject} {refusal}")
    return candidates.subset(keep)


def _intersect(
    first: tuple[int, int, int, int], second: tuple[int, int, int, int]
) -> tuple[int, int, int, int]:
    """The overlap of two (u_min, v_min, u_max, v_max) windows; PlanningError when it has
    less than 3x3 pixels (the sampler's smallest window)."""
    u_min, v_min = max(first[0], second[0]), max(first[1], second[1])
    u_max, v_max = min(first[2], second[2]), min(first[3], second[3])
    if u_max - u_min < 3 or v_max - v_min < 3:
        raise PlanningError(
            f"the target (pixels {second}) lies outside the view window {first} of the planner"
        )
    return u_min, v_min, u_max, v_max


class _TargetFilter:
    """Which grasps a target allows: centre pixel on it, fingers clear of the other objects."""

    def __init__(
        self,
        target: GraspTarget,
        depth: np.ndarray,
        intrinsics: CameraIntrinsics,
        gripper: GripperConfig,
    ) -> None:
        self.target = target
        self.depth = depth
        self.gripper = gripper
        self.focal = 0.5 * (intrinsics.fx + intrinsics.fy)
        self.obstacles = target.obstacles(depth, intrinsics)

    def accepts(
        self, centers: np.ndarray, angles: np.ndarray, widths: np.ndarray, depths: np.ndarray
    ) -> np.ndarray:
        """(N,) bool for N grasps (centres (N, 2) px, angles, openings px, depths m)."""
        if len(centers) == 0:
            return np.zeros(0, dtype=bool)
        clear = finger_clearance(
            self.depth, self.obstacles, centers, angles, widths, depths, self.gripper, self.focal
        )
        return clear & self.target.contains(centers)

    def keep(self, candidates: ImageGraspCandidates) -> ImageGraspCandidates:
        """The candidates it accepts; PlanningError saying why when none is left."""
        centers = np.asarray(candidates.centers_px, dtype=np.float64).reshape(-1, 2)
        on_target = self.target.contains(centers)
        keep = self.accepts(centers, candidates.angles, candidates.widths_px, candidates.depths)
        if not keep.any():
            raise PlanningError(
                f"no grasp on the target clears the other objects: of {len(centers)} antipodal "
                f"candidates on its edges, {int((~on_target).sum())} have their centre off the "
                f"target and {int((on_target & ~keep).sum())} put a finger on another object"
            )
        return candidates.subset(keep)


def _grasp_features(grasps: RankedGrasps, count: int) -> np.ndarray:
    """(count, 6) u, v, cos 2a, sin 2a, width px, depth of the first `count` grasps (an axis
    and its reverse are one grasp: the doubled angle makes the feature continuous)."""
    angles = grasps.angles[:count]
    return np.column_stack(
        [
            grasps.centers_px[:count],
            np.cos(2 * angles),
            np.sin(2 * angles),
            grasps.widths_px[:count],
            grasps.depths[:count],
        ]
    )


def _project_features(
    features: np.ndarray,
    roi: tuple[int, int, int, int],
    depth_range: tuple[float, float],
    gripper: GripperConfig,
    focal: float,
) -> ImageGraspCandidates:
    """Sampled features -> valid grasps: centre in the search window, depth between the
    highest surface and the table, opening within the stroke at that depth."""
    u_min, v_min, u_max, v_max = roi
    u = np.clip(features[:, 0], u_min, u_max - 1)
    v = np.clip(features[:, 1], v_min, v_max - 1)
    angles = np.atleast_1d(wrap_angle(0.5 * np.arctan2(features[:, 3], features[:, 2])))
    depths = np.clip(features[:, 5], *depth_range)
    widths = np.clip(
        features[:, 4], gripper.min_width * focal / depths, gripper.max_width * focal / depths
    )
    widths = np.maximum(widths, 1.0)  # a jaw opening of at least one pixel
    half = 0.5 * widths[:, None] * np.column_stack([np.cos(angles), np.sin(angles)])
    centers = np.column_stack([u, v])
    return ImageGraspCandidates(
        centers_px=centers,
        angles=angles,
        widths_px=widths,
        depths=depths,
        contacts_px=np.stack([centers - half, centers + half], axis=1),
    )


def validate_depth(depth_m: np.ndarray, intrinsics: CameraIntrinsics) -> np.ndarray:
    """(H, W) float metres, finite and positive everywhere, of the camera's size -> float64.

    PlanningError "all-invalid depth image" when no pixel holds depth (all zero / NaN).
    """
    depth = np.asarray(depth_m)
    if depth.ndim != 2 or depth.size == 0:
        raise PlanningError(f"depth must be a non-empty 2-D (H, W) image, got shape {depth.shape}")
    if not np.issubdtype(depth.dtype, np.floating):
        raise PlanningError(f"depth must be float metres, got dtype {depth.dtype}")
    if depth.shape != (intrinsics.height, intrinsics.width):
        raise PlanningError(
            f"depth image is {depth.shape[1]}x{depth.shape[0]}, camera is "
            f"{intrinsics.width}x{intrinsics.height}"
        )
    valid = np.isfinite(depth) & (depth > 0)
    if not valid.any():
        raise PlanningError("all-invalid depth image: no pixel holds a depth (all zero or NaN)")
    if not valid.all():
        raise PlanningError(
            f"depth has {int((~valid).sum())} invalid pixels (NaN, inf or <= 0): inpaint the "
            "frame before planning"
        )
    return depth.astype(np.float64)


def ranking_checkpoint(models_dir: str | Path, ranking_model: str | Path | None = None) -> Path:
    """The GQ-CNN checkpoint Prop+GQ-CNN ranks with.

    ranking_model: a file name in `models_dir` or a path; None takes the first of
    `RANKING_CHECKPOINTS` that exists (gqcnn_fast.pt, else gqcnn.pt). FileNotFoundError names
    the missing file (gqcnn.pt, the shipped model, when neither exists).
    """
    models_dir = Path(models_dir)
    if ranking_model is not None:
        path = Path(ranking_model)
        path = path if path.is_absolute() or path.parent != Path() else models_dir / path
        if not path.is_file():
            raise FileNotFoundError(
                errno.ENOENT,
                f"Prop+GQ-CNN ranking model {path} does not exist (ranking_model "
                f"{str(ranking_model)!r}, models_dir {models_dir})",
                str(path),
            )
        return path
    for name in RANKING_CHECKPOINTS:
        if (models_dir / name).is_file():
            return models_dir / name
    path = models_dir / GQCNN_CHECKPOINT
    raise FileNotFoundError(
        errno.ENOENT,
        f"Prop+GQ-CNN needs a trained GQ-CNN checkpoint at {path} (or {FAST_GQCNN_CHECKPOINT} "
        "beside it); train one (GQ-CNN training) or point models_dir to a folder holding "
        f"{GQCNN_CHECKPOINT}",
        str(path),
    )


def with_cem(config: PropConfig, cem: CEMConfig | None = None) -> PropConfig:
    """`config` with the cross-entropy refinement on (Dex-Net 2.0 defaults unless given)."""
    return replace(config, cem=cem or CEMConfig())
