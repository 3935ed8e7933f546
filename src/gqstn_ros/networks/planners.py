"""One-shot network planners (GQ-STN, MultiGrasp, DirectGrasp, a plug-in's network) behind
`detection.GraspPlanner`.

plan(): validate the frame -> `preprocessing.extract_view` -> one pass of the planner's
`InferenceGraph` (PyTorch or onnxruntime) -> the grasp back in frame pixels
(`preprocessing.stn_to_grasps`), the gripper depth from the network, q and the thumbnail from
GQ-CNN on the crop. An opening wider than the gripper's stroke at that depth
(width_px * depth / fx > max_width) is narrowed to the stroke and the narrowed grasp is judged
again by GQ-CNN, so q and the thumbnail always describe the returned grasp.

With `symmetric_views` N > 1 the network runs on N symmetric copies of the view in one batch
(`preprocessing.VIEW_SYMMETRIES`: quarter turns, then mirrors). Every candidate is mapped back to
the original view, narrowed to the stroke if needed, and judged by GQ-CNN on the original view
through `GraspEvaluator` (one resampling); the best-rated one is returned. That q is not the
graph's own: GQ-STN's graph judges the crop its cascade resampled three times.

A one-shot network predicts one grasp per frame: `plan` returns that grasp for any top_k >= 1.

With a target (`grasping.target.GraspTarget`) the view window is centred on the target and the
network's grasps are masked to it: among the candidates (one per symmetric view) centred on the
target whose fingers clear the other objects (`target.finger_clearance`), the grasp is chosen
as without a target. When there is none, each candidate is moved to the nearest target pixel
(when off it), keeping its angle and opening and its depth below the surface (held to
TARGET_DEPTH_OFFSET_M, fingertips above the table); TARGET_ANGLES more grasps at the target's
central pixel, with the identity view's opening and depth below the surface (the first valid
view's), join them. All are judged by GQ-CNN on the target's view (`GraspEvaluator`); those
whose fingers land on another object are dropped, and the best-rated remaining one is returned.

Without a target, a grasp whose fingers land on an object other than the one under its centre
(`target.clear_of_other_objects`: in a pile) is replaced by the best grasp planned as above with
that object as the target.

With `sweep_angles_below_q` (the inference node's default: the robust threshold,
`detection.ROBUST_Q_THRESHOLD`), a grasp planned without a
target that GQ-CNN rates below that q is judged again at TARGET_ANGLES - 1 other jaw angles
over a half turn about the same centre, with the same opening and depth, on the same view; the
best-rated of those with something between the jaws (`target.closes_on_object` above the
frame's table plane) replaces it when rated higher. The network's pass is not repeated.

With `raise_to_reach` (the inference node's default), a returned grasp deeper than the fingers
reach (`gripper_contact.palm_rest_depths`: the palm comes to rest on the object first, as on
the cap of a tall bottle gripped at its shoulder) is raised up the optical axis to where the
palm rests, judged again by GQ-CNN, and returned raised when something still stands between its
jaws there (and, with a target, its centre is still on it). A frame without a table plane is
not raised (nothing tells what stands between the jaws).

`torch.set_num_threads` is the caller's business; onnxruntime's threads are a loader argument.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
from dataclasses import replace
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from gqstn_ros.camera_model import CameraIntrinsics
from gqstn_ros.detection import PlannedGrasp, PlanningError
from gqstn_ros.geometry import wrap_angle
from gqstn_ros.grasping.antipodal import AntipodalConfig
from gqstn_ros.grasping.gripper_contact import (
    REACH_TOLERANCE_M,
    palm_rest_depths,
    raised_to_rest,
)
from gqstn_ros.grasping.target import (
    FINGERTIP_BELOW_CENTER_M,
    OBJECT_HEIGHT_M,
    GraspTarget,
    clear_of_other_objects,
    closes_on_object,
    finger_clearance,
    object_at,
    object_nearest,
)
from gqstn_ros.gripper import GripperConfig, default_gripper
from gqstn_ros.networks.checkpoint import load_checkpoint
from gqstn_ros.networks.configs import GQCNN_KIND, network_spec
from gqstn_ros.networks.export import (
    EVALUATOR_OUTPUT_NAMES,
    OUTPUT_NAMES,
    GraspEvaluator,
    InferenceGraph,
    check_onnx_agreement,
    export_evaluator,
    export_inference_graph,
    onnx_session,
)
from gqstn_ros.planner_registry import NETWORK_PLANNERS, SYMMETRIC_VIEW_COUNTS, VIEW_SCALES
from gqstn_ros.preprocessing import (
    CROP_TO_WIDTH,
    VIEW_SYMMETRIES,
    NetworkInputConfig,
    STNParameters,
    ViewWindow,
    extract_view,
    grasps_to_stn,
    stn_to_grasps,
    transform_view,
    untransform_stn,
    view_window,
    working_depth,
)
from gqstn_ros.table_plane import NoTablePlaneError, TablePlane, frame_table_plane

# A metric window wider than this many times the frame's shorter side is mostly invented
# (border-replicated) pixels: such a frame is refused.
MAX_WINDOW_OVERHANG = 2.0
# A frame's working depth may lie this factor beyond the table depths a network was trained on
# (a metric view shows it the same scale; noise and perspective change slowly with depth).
DEPTH_RANGE_SLACK = 1.5
Backend = Literal["torch", "onnxruntime"]
ONNX_AGREEMENT_TOLERANCE = 1e-3  # max abs difference accepted for a shipped models/<name>.onnx
# With a target: grasps at the target's central pixel, at this many jaw angles over a half turn,
# join the network's own (moved onto the target) before GQ-CNN chooses.
TARGET_ANGLES = 8
# A grasp moved onto the target keeps the network's depth below the surface, held to this range
# (metres; the antipodal sampler's depth offsets), and no deeper than the table about the target
# (the deepest pixel of its bounding box grown by TARGET_FLOOR_MARGIN_PX) allows the fingertips.
TARGET_DEPTH_OFFSET_M = (
    AntipodalConfig().depth_offset_min,
    AntipodalConfig().depth_offset_max,
)
TARGET_FLOOR_MARGIN_PX = 10

_log = logging.getLogger(__name__)


class TorchBackend:
    """Runs the inference graph and the evaluator with PyTorch (no autograd)."""

    def __init__(self, graph: InferenceGraph, evaluator: GraspEvaluator) -> None:
        self.graph = graph.eval()
        self.evaluator = evaluator.eval()

    def infer(self, view: np.ndarray) -> dict[str, np.ndarray]:
        with torch.inference_mode():
            outputs = self.graph(torch.from_numpy(view))
        return {name: value.numpy() for name, value in zip(OUTPUT_NAMES, outputs, strict=True)}

    def evaluate(
        self, view: np.ndarray, params: np.ndarray, depths: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        with torch.inference_mode():
            q, crops = self.evaluator(
                torch.from_numpy(view), torch.from_numpy(params), torch.from_numpy(depths)
            )
        return q.numpy(), crops.numpy()


class OnnxBackend:
    """Runs the exported inference graph and evaluator with onnxruntime."""

    def __init__(self, graph_path: Path, evaluator_path: Path, threads: int | None = None):
        self.graph = onnx_session(graph_path, threads)
        self.evaluator = onnx_session(evaluator_path, threads)

    def infer(self, view: np.ndarray) -> dict[str, np.ndarray]:
        outputs = self.graph.run(list(OUTPUT_NAMES), {"view": view})
        return dict(zip(OUTPUT_NAMES, outputs, strict=True))

    def evaluate(
        self, view: np.ndarray, params: np.ndarray, depths: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        feeds = {"view": view, "params": params, "depths": depths}
        q, crops = self.evaluator.run(list(EVALUATOR_OUTPUT_NAMES), feeds)
        return q, crops


class NetworkPlanner:
    """A one-shot network as a `detection.GraspPlanner` (see the module docstring)."""

    def __init__(
        self,
        name: str,
        backend: TorchBackend | OnnxBackend,
        input_config: NetworkInputConfig,
        gripper: GripperConfig | None = None,
        symmetric_views: int = 1,
        judged_by_evaluator: bool = False,
        trained_depth_range: tuple[float, float] | None = None,
        replan_on_air: bool = False,
        object_height_m: float = OBJECT_HEIGHT_M,
        raise_to_reach: bool = False,
        sweep_angles_below_q: float = 0.0,
    ) -> None:
        """trained_depth_range: the table depths (m) the network's training views covered (its
        checkpoint's `depth_range`); a frame whose working depth lies more than
        `DEPTH_RANGE_SLACK` times outside it is refused. None: any depth.
        replan_on_air: a grasp that closes on nothing (`target.closes_on_object`: nothing more
        than `object_height_m` above the table between its jaws) is moved onto the object
        nearest its centre (the inference node's default; off: the paper's single pass, as
        training.evaluate measures it).
        raise_to_reach: a grasp deeper than the fingers reach is raised to where the palm comes
        to rest (module docstring; off: the network's depth as it is).
        sweep_angles_below_q: a grasp planned without a target and rated below this q is judged
        again at other jaw angles about its centre (module docstring; 0: off, the network's
        angle as it is)."""
        if name not in NETWORK_PLANNERS:
            raise ValueError(
                f"unknown network planner {name!r}; expected one of {NETWORK_PLANNERS}"
            )
        if symmetric_views not in SYMMETRIC_VIEW_COUNTS:
            raise ValueError(
                f"symmetric_views must be one of {SYMMETRIC_VIEW_COUNTS}, got {symmetric_views!r}"
            )
        self.symmetric_views = symmetric_views
        # True: every grasp is judged by the backend's evaluator, never by the graph's own head.
        self.judged_by_evaluator = judged_by_evaluator
        self.name = name
        self.backend = backend
        self.input_config = input_config
        self.gripper = gripper if gripper is not None else default_gripper()
        self.trained_depth_range = trained_depth_range
        self.replan_on_air = replan_on_air
        self.object_height_m = object_height_m
        self.raise_to_reach = raise_to_reach
        if not 0.0 <= sweep_angles_below_q <= 1.0:
            raise ValueError(
                f"sweep_angles_below_q must be a q in [0, 1], got {sweep_angles_below_q!r}"
            )
        self.sweep_angles_below_q = sweep_angles_below_q

    def _check_depth_range(self, reference_depth: float) -> None:
        """PlanningError when the working depth at the view's centre is outside the table
        depths the network was trained on."""
        if self.trained_depth_range is None:
            return
        near, far = self.trained_depth_range
        low, high = near / DEPTH_RANGE_SLACK, far * DEPTH_RANGE_SLACK
        if not low <= reference_depth <= high:
            raise PlanningError(
                f"the frame's working depth {reference_depth:.2f} m is outside the table depths "
                f"{near:.2f}-{far:.2f} m the {self.name} network was trained on (accepted: "
                f"{low:.2f}-{high:.2f} m): move the camera or retrain for this range"
            )

    def _validate(self, depth_m: np.ndarray, intrinsics: CameraIntrinsics, top_k: int) -> None:
        if not isinstance(depth_m, np.ndarray):
            raise PlanningError(f"depth must be a numpy array, got {type(depth_m).__name__}")
        if depth_m.ndim != 2:
            raise PlanningError(f"depth must be a 2-D (H, W) image, got shape {depth_m.shape}")
        if not np.issubdtype(depth_m.dtype, np.floating):
            raise PlanningError(f"depth must be float metres, got dtype {depth_m.dtype}")
        side = self.input_config.view_size_px
        if not self.input_config.metric and min(depth_m.shape) < side:
            raise PlanningError(
                f"depth image {depth_m.shape[1]}x{depth_m.shape[0]} is smaller than the "
                f"{side}x{side} view the network needs"
            )
        if depth_m.shape != (intrinsics.height, intrinsics.width):
            raise PlanningError(
                f"depth image is {depth_m.shape[1]}x{depth_m.shape[0]}, camera_info says "
                f"{intrinsics.width}x{intrinsics.height}"
            )
        finite = np.isfinite(depth_m)
        if not np.all(finite):
            raise PlanningError(
                f"depth has {int(np.count_nonzero(~finite))} NaN or inf pixels: inpaint it first"
            )
        if np.any(depth_m <= 0):
            raise PlanningError("depth has zero or negative pixels: inpaint it first")
        if top_k < 1:
            raise PlanningError(f"top_k must be >= 1, got {top_k}")

    def _window(
        self,
        depth_m: np.ndarray,
        intrinsics: CameraIntrinsics,
        target: GraspTarget | None = None,
        check_depth_range: bool = False,
        plane: TablePlane | None = None,
    ) -> ViewWindow:
        """The view window: centred on the frame, or on `target` when one is given (`plane`:
        the frame's table plane, when known). With `check_depth_range`, PlanningError when the
        table under its centre is at a depth the network was not trained for."""
        if target is not None and target.shape != depth_m.shape:
            raise PlanningError(
                f"the target is {target.shape[1]}x{target.shape[0]} pixels, the depth image "
                f"{depth_m.shape[1]}x{depth_m.shape[0]}"
            )
        center = target.center_px() if target is not None else None
        centred = ViewWindow.centered(depth_m.shape, self.input_config, center)
        reference = None
        if self.input_config.metric or (check_depth_range and self.trained_depth_range):
            centre = (centred.center_u, centred.center_v)
            reference = working_depth(depth_m, intrinsics, centre, plane)
        if check_depth_range and reference is not None:
            self._check_depth_range(reference)
        window = view_window(depth_m, intrinsics, self.input_config, center, reference)
        if window.side_px > MAX_WINDOW_OVERHANG * min(depth_m.shape):
            raise PlanningError(
                f"the {self.input_config.view_size_m:.3f} m view at the working depth "
                f"{reference or 0.0:.3f} m spans {window.side_px:.0f} px, more than "
                f"{MAX_WINDOW_OVERHANG:g} x the {depth_m.shape[1]}x{depth_m.shape[0]} image: "
                "the camera is too close to the table for this network"
            )
        return window

    def plan(
        self,
        depth_m: np.ndarray,
        intrinsics: CameraIntrinsics,
        top_k: int = 1,
        *,
        target: GraspTarget | None = None,
    ) -> list[PlannedGrasp]:
        """The network's grasp on an inpainted (H, W) frame in metres, as a one-element list;
        with `target`, a grasp centred on it whose fingers clear the other objects
        (PlanningError when there is none)."""
        self._validate(depth_m, intrinsics, top_k)
        plane = None  # fitted once: the working depth and the closing checks share it
        with contextlib.suppress(NoTablePlaneError):
            plane = frame_table_plane(depth_m, intrinsics)
        grasp = self._plan(depth_m, intrinsics, target, plane)
        if target is None and plane is not None and grasp.q_value < self.sweep_angles_below_q:
            grasp = self._best_angle(depth_m, intrinsics, grasp, plane)
        if self.raise_to_reach and plane is not None:
            grasp = self._within_reach(depth_m, intrinsics, grasp, target, plane)
        return [grasp]

    def _best_angle(
        self,
        depth_m: np.ndarray,
        intrinsics: CameraIntrinsics,
        grasp: PlannedGrasp,
        plane: TablePlane,
    ) -> PlannedGrasp:
        """`grasp`, or the same grasp turned to the one of TARGET_ANGLES - 1 other jaw angles
        (over a half turn, same centre, opening and depth) that GQ-CNN rates highest on the
        frame-centred view, among those with something between the jaws above `plane`, when it
        rates that one higher than `grasp`."""
        count = TARGET_ANGLES - 1
        angles = wrap_angle(grasp.angle + np.pi * np.arange(1, TARGET_ANGLES) / TARGET_ANGLES)
        centers = np.repeat(np.array([grasp.center_px]), count, axis=0)
        widths = np.full(count, grasp.width_px)
        depths = np.full(count, grasp.depth)
        closes = closes_on_object(
            depth_m, intrinsics, centers, angles, widths, depths, self.gripper,
            plane=plane, object_height_m=self.object_height_m,
        )  # fmt: skip
        if not closes.any():
            return grasp
        q, crops = self._judged(depth_m, intrinsics, centers, angles, widths, depths, plane=plane)
        q = np.where(closes, q, -np.inf)
        best = int(np.argmax(q))
        if not q[best] > grasp.q_value:
            return grasp
        return replace(
            grasp,
            angle=float(angles[best]),
            q_value=float(q[best]),
            thumbnail=np.ascontiguousarray(crops[best, 0], dtype=np.float32),
        )

    def _within_reach(
        self,
        depth_m: np.ndarray,
        intrinsics: CameraIntrinsics,
        grasp: PlannedGrasp,
        target: GraspTarget | None,
        plane: TablePlane,
    ) -> PlannedGrasp:
        """`grasp`, or, when the palm comes to rest short of its depth by more than the
        simulated lift's tolerance, the same grasp raised up the optical axis to where the palm
        rests (`gripper_contact.raised_to_rest`: the same point across the axis, the same
        opening in metres), judged again, if something stands between its jaws there
        (`target.closes_on_object` above the frame's table `plane`) and, with `target`, its
        centre is still on the target."""
        rest = palm_rest_depths(
            depth_m, intrinsics, np.array([grasp.center_px]), np.array([grasp.angle]),
            np.array([grasp.depth]), self.gripper,
        )[0]  # fmt: skip
        if not grasp.depth > rest + REACH_TOLERANCE_M:
            return grasp
        center_px, width_px = raised_to_rest(
            grasp.center_px, grasp.width_px, grasp.depth, float(rest), intrinsics
        )
        center, angle = np.array([center_px]), np.array([grasp.angle])
        width = np.array([width_px])
        closes = closes_on_object(
            depth_m, intrinsics, center, angle, width, np.array([rest]), self.gripper,
            plane=plane, object_height_m=self.object_height_m,
        )[0]  # fmt: skip
        if not closes or (target is not None and not target.contains(center)[0]):
            return grasp
        q, crops = self._judged(
            depth_m, intrinsics, center, angle, width, np.array([rest]), target, plane
        )
        return replace(
            grasp,
            center_px=center_px,
            width_px=width_px,
            depth=float(rest),
            q_value=float(q[0]),
            thumbnail=np.ascontiguousarray(crops[0, 0], dtype=np.float32),
        )

    def _plan(
        self,
        depth_m: np.ndarray,
        intrinsics: CameraIntrinsics,
        target: GraspTarget | None,
        plane: TablePlane | None,
    ) -> PlannedGrasp:
        """`plan`'s grasp on a validated frame (`plane`: its table plane, None where it has
        none), before it is raised to reach."""
        window = self._window(depth_m, intrinsics, target, True, plane)
        view, window = extract_view(depth_m, self.input_config, window)
        symmetries = VIEW_SYMMETRIES[: self.symmetric_views]
        views = np.stack([transform_view(view, symmetry) for symmetry in symmetries])
        out = self.backend.infer(views[:, None])  # (K, 1, D, D): one pass for all K views
        depths = out["depth"].astype(np.float64)
        valid = np.isfinite(depths) & (depths > 0)
        if not valid.any():
            raise PlanningError(f"{self.name} predicted an invalid gripper depth {depths[0]} m")
        mapped = [  # each view's grasp back on the original view
            untransform_stn(out["x"][i : i + 1], out["y"][i : i + 1], out["theta"][i : i + 1], sym)
            for i, sym in enumerate(symmetries)
        ]
        xs, ys, thetas = (np.concatenate(parts) for parts in zip(*mapped, strict=True))
        scales = out["s"].astype(np.float64)
        # The stroke at each predicted depth, as a scale; wider openings are narrowed to it.
        safe_depths = np.where(valid, depths, 1.0)
        stroke_px = self.gripper.stroke_in_pixels(safe_depths, intrinsics.fx)
        max_scales = CROP_TO_WIDTH * stroke_px / window.side_px
        narrowed = scales > max_scales
        scales = np.minimum(scales, max_scales)
        allowed = valid  # the candidates that may be returned
        if target is not None:
            candidates = STNParameters(xs, ys, thetas, scales)
            frame_centers, _, frame_widths = stn_to_grasps(candidates, window)
            obstacles = target.obstacles(depth_m, intrinsics)
            focal = 0.5 * (intrinsics.fx + intrinsics.fy)
            clear = finger_clearance(
                depth_m, obstacles, frame_centers, thetas, frame_widths, safe_depths,
                self.gripper, focal,
            )  # fmt: skip
            allowed = valid & target.contains(frame_centers) & clear
            if not allowed.any():  # no grasp of the network's own on the target: mask them
                moved = self._plan_on_target(
                    depth_m, intrinsics, view, window, candidates, depths, valid, target,
                    obstacles,
                )  # fmt: skip
                return moved
        if len(symmetries) == 1 and not narrowed[0] and not self.judged_by_evaluator:
            q_values, thumbnails = out["q"].astype(np.float64), out["crop"][:, 0]
        else:  # every candidate judged by GQ-CNN on the original view, as it is returned
            params = np.stack([xs, ys, thetas, scales], axis=1).astype(np.float32)
            q, crops = self.backend.evaluate(
                view[None, None], params, safe_depths.astype(np.float32)
            )
            q_values, thumbnails = q.astype(np.float64), crops[:, 0]
        q_values = np.where(allowed, q_values, -np.inf)
        best = int(np.argmax(q_values))
        centers, _, widths = stn_to_grasps(
            STNParameters(
                xs[best : best + 1],
                ys[best : best + 1],
                thetas[best : best + 1],
                scales[best : best + 1],
            ),
            window,
        )
        grasp = PlannedGrasp(
            center_px=(float(centers[0, 0]), float(centers[0, 1])),
            angle=float(wrap_angle(thetas[best])),
            width_px=float(widths[0]),
            depth=float(depths[best]),
            q_value=float(q_values[best]),
            thumbnail=np.ascontiguousarray(thumbnails[best], dtype=np.float32),
            planner=self.name,
        )
        if target is not None:  # on the target and clear of the others already
            return grasp
        predicted = STNParameters(xs, ys, thetas, scales)
        on_object = self._on_an_object(
            depth_m, intrinsics, grasp, view, window, predicted, depths, valid, plane
        )
        if on_object is not None:  # moved onto the nearest object: clear of the others
            return on_object
        return self._clear_of_neighbours(depth_m, intrinsics, grasp, plane)

    def _on_an_object(
        self,
        depth_m: np.ndarray,
        intrinsics: CameraIntrinsics,
        grasp: PlannedGrasp,
        view: np.ndarray,
        window: ViewWindow,
        predicted: STNParameters,
        depths: np.ndarray,
        valid: np.ndarray,
        plane: TablePlane | None,
    ) -> PlannedGrasp | None:
        """None when `grasp` has something between its jaws (`target.closes_on_object`, above
        the frame's table `plane`), or `replan_on_air` is off, or nothing can be told (no
        plane); else the best grasp on the object
        nearest its centre, from the network's candidates on the same view (`predicted`,
        `depths`, `valid`; `_plan_on_target`, no second pass of the network). None when the
        frame has no object or no grasp on it clears the others: `grasp` stays."""
        if not self.replan_on_air or plane is None:
            return None
        closes = closes_on_object(
            depth_m, intrinsics, np.array([grasp.center_px]), np.array([grasp.angle]),
            np.array([grasp.width_px]), np.array([grasp.depth]), self.gripper, plane=plane,
            object_height_m=self.object_height_m,
        )  # fmt: skip
        if closes[0]:
            return None
        nearest = object_nearest(depth_m, intrinsics, grasp.center_px, plane, self.object_height_m)
        if nearest is None:
            return None
        obstacles = nearest.obstacles(depth_m, intrinsics)
        try:
            return self._plan_on_target(
                depth_m, intrinsics, view, window, predicted, depths, valid, nearest, obstacles
            )
        except PlanningError:
            return None

    def _clear_of_neighbours(
        self,
        depth_m: np.ndarray,
        intrinsics: CameraIntrinsics,
        grasp: PlannedGrasp,
        plane: TablePlane | None,
    ) -> PlannedGrasp:
        """`grasp` when its fingers clear the objects beside the one under its centre
        (`target.clear_of_other_objects`); else the best grasp planned with that object as the
        target, or PlanningError when it has none."""
        clear = clear_of_other_objects(
            depth_m, intrinsics, np.array([grasp.center_px]), np.array([grasp.angle]),
            np.array([grasp.width_px]), np.array([grasp.depth]), self.gripper,
        )  # fmt: skip
        if clear[0]:
            return grasp
        under = object_at(depth_m, intrinsics, grasp.center_px)
        if under is None:  # not judged by clear_of_other_objects: cannot happen
            return grasp
        try:
            return self._plan(depth_m, intrinsics, under, plane)
        except PlanningError as error:
            raise PlanningError(
                f"{self.name}'s grasp puts a finger on an object beside the one it grasps, and "
                f"replanning on that object failed: {error}"
            ) from error

    def _plan_on_target(
        self,
        depth_m: np.ndarray,
        intrinsics: CameraIntrinsics,
        view: np.ndarray,
        window: ViewWindow,
        predicted: STNParameters,
        depths: np.ndarray,
        valid: np.ndarray,
        target: GraspTarget,
        obstacles: np.ndarray,
    ) -> PlannedGrasp:
        """The best grasp on `target` (module docstring): the network's K candidates
        (`predicted`, with their gripper depths; `valid`: depth usable) moved onto the target,
        and TARGET_ANGLES grasps at its central pixel, judged on `view` and kept when their
        fingers clear the other objects (`obstacles`, (H, W) bool)."""
        if not valid.any():
            raise PlanningError(f"{self.name} predicted no valid gripper depth on the target")
        centers, _, widths = stn_to_grasps(predicted, window)
        height, width = depth_m.shape

        def surface(points: np.ndarray) -> np.ndarray:  # depth under each (u, v) point
            u = np.clip(np.floor(points[:, 0] + 0.5), 0, width - 1).astype(np.int64)
            v = np.clip(np.floor(points[:, 1] + 0.5), 0, height - 1).astype(np.int64)
            return depth_m[v, u].astype(np.float64)

        keep = np.flatnonzero(valid)
        centers, thetas = centers[keep], predicted.theta[keep]
        widths, depths = widths[keep], depths[keep]
        # How deep below the surface the network grasps, kept when a grasp is moved; a grasp
        # predicted off the target (e.g. on the table beside it) says little about the
        # target's depth, so the offset is held to the depth sampler's range.
        below_surface = np.clip(
            depths - surface(centers), TARGET_DEPTH_OFFSET_M[0], TARGET_DEPTH_OFFSET_M[1]
        )
        on_target = target.contains(centers)
        moved = centers.copy()
        if not on_target.all():
            moved[~on_target] = target.nearest_pixels(centers[~on_target])
        # The central pixel (the target pixel nearest the middle of its bounding box), at
        # TARGET_ANGLES angles over a half turn, with the opening and depth below the surface
        # of the first valid candidate (the view as it is, the identity, unless its depth is
        # invalid).
        middle = target.nearest_pixels(np.array([target.center_px()]))
        extra_angles = np.pi * np.arange(TARGET_ANGLES) / TARGET_ANGLES - np.pi / 2 + 1e-6
        all_centers = np.concatenate([moved, np.repeat(middle, TARGET_ANGLES, axis=0)])
        all_thetas = np.concatenate([thetas, extra_angles])
        all_widths = np.concatenate([widths, np.full(TARGET_ANGLES, widths[0])])
        offsets = np.concatenate([below_surface, np.full(TARGET_ANGLES, below_surface[0])])
        # The fingertips stay above the deepest point about the target (the table there).
        u_min, v_min, u_max, v_max = target.bounds(TARGET_FLOOR_MARGIN_PX)
        floor = float(depth_m[v_min:v_max, u_min:u_max].max()) - FINGERTIP_BELOW_CENTER_M
        all_depths = np.maximum(np.minimum(surface(all_centers) + offsets, floor), 1e-3)
        unmoved = np.flatnonzero(on_target)  # the network's own grasps on the target: as is
        all_depths[unmoved] = depths[unmoved]
        # Openings within the stroke at each depth.
        stroke_px = self.gripper.stroke_in_pixels(all_depths, intrinsics.fx)
        all_widths = np.minimum(all_widths, stroke_px)
        params = grasps_to_stn(all_centers, all_thetas, all_widths, window).as_array()
        q, crops = self.backend.evaluate(
            view[None, None], params.astype(np.float32), all_depths.astype(np.float32)
        )
        q = np.asarray(q, dtype=np.float64).reshape(-1)
        focal = 0.5 * (intrinsics.fx + intrinsics.fy)
        clear = finger_clearance(
            depth_m, obstacles, all_centers, all_thetas, all_widths, all_depths,
            self.gripper, focal,
        )  # fmt: skip
        usable = clear & target.contains(all_centers)
        if not usable.any():
            raise PlanningError(
                f"no grasp on the target clears the other objects: all {len(q)} grasps "
                f"{self.name} tried on it put a finger on another object"
            )
        best = int(np.argmax(np.where(usable, q, -np.inf)))
        return PlannedGrasp(
            center_px=(float(all_centers[best, 0]), float(all_centers[best, 1])),
            angle=float(wrap_angle(all_thetas[best])),
            width_px=float(all_widths[best]),
            depth=float(all_depths[best]),
            q_value=float(q[best]),
            thumbnail=np.ascontiguousarray(crops[best, 0], dtype=np.float32),
            planner=self.name,
        )

    def judge(
        self,
        depth_m: np.ndarray,
        intrinsics: CameraIntrinsics,
        centers_px: np.ndarray,
        angles: np.ndarray,
        widths_px: np.ndarray,
        depths: np.ndarray,
        *,
        target: GraspTarget | None = None,
    ) -> np.ndarray:
        """(N,) q of N frame grasps (centres (N, 2) px, angles (N,) rad, openings (N,) px,
        gripper depths (N,) m) by the GQ-CNN this planner judges its own grasps with, on the
        view it plans on (centred on `target` when given): grasps of any planner compared on
        one scale."""
        self._validate(depth_m, intrinsics, 1)
        q, _ = self._judged(
            depth_m, intrinsics, np.asarray(centers_px), np.asarray(angles),
            np.asarray(widths_px), np.asarray(depths), target,
        )  # fmt: skip
        return q

    def _judged(
        self,
        depth_m: np.ndarray,
        intrinsics: CameraIntrinsics,
        centers_px: np.ndarray,
        angles: np.ndarray,
        widths_px: np.ndarray,
        depths: np.ndarray,
        target: GraspTarget | None = None,
        plane: TablePlane | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """(N,) q and (N, 1, S, S) crops of N frame grasps by the planner's GQ-CNN, on the view
        it plans on (centred on `target` when given; `plane`: the frame's table plane, when
        known)."""
        window = self._window(depth_m, intrinsics, target, plane=plane)
        view, window = extract_view(depth_m, self.input_config, window)
        params = grasps_to_stn(centers_px, angles, widths_px, window).as_array()
        q, crops = self.backend.evaluate(
            view[None, None],
            params.astype(np.float32),
            np.asarray(depths, dtype=np.float32).reshape(-1),
        )
        return np.asarray(q, dtype=np.float64).reshape(-1), crops


def default_onnx_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "gqstn_ros" / "onnx"


def _digest(*paths: Path) -> str:
    hasher = hashlib.sha256()
    for path in paths:
        hasher.update(path.read_bytes())
    return hasher.hexdigest()[:16]


def _probe_view(size: int) -> np.ndarray:
    """A table at 0.7 m with a box on it, (1, 1, size, size): a view with structure."""
    view = np.full((1, 1, size, size), 0.7, dtype=np.float32)
    view[..., size // 3 : size // 2, size // 4 : size // 2] = 0.64
    return view


def _export_atomically(export, module: torch.nn.Module, path: Path, size: int) -> None:
    """Export to a private file, then rename: a concurrent reader never sees half a file."""
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        export(module, partial, size)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def load_network_planner(
    name: str,
    models_dir: Path,
    backend: Backend = "torch",
    gripper: GripperConfig | None = None,
    onnx_cache_dir: Path | None = None,
    onnx_threads: int | None = None,
    symmetric_views: int = 1,
    judge_model: Path | None = None,
    view_scale: str = "metric",
    replan_on_air: bool = False,
    object_height_m: float = OBJECT_HEIGHT_M,
    raise_to_reach: bool = False,
    sweep_angles_below_q: float = 0.0,
) -> NetworkPlanner:
    """The planner of checkpoint models_dir/<name>.pt; a network without its own GQ-CNN
    (`NetworkSpec.frozen_gqcnn` False: MultiGrasp, DirectGrasp) also reads models_dir/gqcnn.pt.

    judge_model: a GQ-CNN checkpoint that judges every returned grasp (its q and robust label)
    and chooses among symmetric views, instead of the network's own GQ-CNN head; a relative
    path is looked up in models_dir.

    gripper: the gripper the planner serves (None: `gripper.default_gripper()`, the 2F-85); its
    stroke bounds the returned opening. Every checkpoint read (the network, the baselines'
    gqcnn.pt, the judge) must have been trained for its geometry, else
    `gripper.GripperMismatchError` names the file, both grippers and the differing fields.

    onnxruntime: models_dir/<name>.onnx is used when it agrees with the checkpoint on a probe
    view; otherwise the graph is exported to `onnx_cache_dir` (default ~/.cache/gqstn_ros/onnx),
    keyed by the checkpoints' content, so a cached file is never stale.

    replan_on_air, object_height_m, raise_to_reach, sweep_angles_below_q: `NetworkPlanner`'s.

    view_scale: one of `VIEW_SCALES`; "metric" (default) sizes the view window in metres at
    the frame's working depth, so that any camera shows the network the scale it was trained
    at (a pixel-window checkpoint gets the metric window of its training camera,
    `NetworkInputConfig.with_metric_view`).
    """
    if view_scale not in VIEW_SCALES:
        raise ValueError(f"view_scale must be one of {VIEW_SCALES}, got {view_scale!r}")
    if name not in NETWORK_PLANNERS:
        raise ValueError(f"unknown network planner {name!r}; expected one of {NETWORK_PLANNERS}")
    if backend not in ("torch", "onnxruntime"):
        raise ValueError(f"backend must be 'torch' or 'onnxruntime', got {backend!r}")
    models_dir = Path(models_dir)
    gripper = gripper if gripper is not None else default_gripper()
    checkpoint_paths = [models_dir / f"{name}.pt"]
    loaded = load_checkpoint(checkpoint_paths[0], expected_kind=name, gripper=gripper)
    input_config = (
        loaded.input_config.with_metric_view() if view_scale == "metric" else loaded.input_config
    )
    if network_spec(name).frozen_gqcnn:
        graph = InferenceGraph(loaded.model)
        evaluator = GraspEvaluator(loaded.model.gqcnn, loaded.normalization)
        gqcnn_loaded = None
    else:
        checkpoint_paths.append(models_dir / f"{GQCNN_KIND}.pt")
        gqcnn_loaded = load_checkpoint(
            checkpoint_paths[1], expected_kind=GQCNN_KIND, gripper=gripper
        )
        graph = InferenceGraph(loaded.model, gqcnn_loaded.model, gqcnn_loaded.normalization)
        evaluator = GraspEvaluator(gqcnn_loaded.model, gqcnn_loaded.normalization)
    judge_path = None
    if judge_model is not None:
        judge_path = Path(judge_model)
        judge_path = judge_path if judge_path.is_absolute() else models_dir / judge_path
        judge = load_checkpoint(judge_path, expected_kind=GQCNN_KIND, gripper=gripper)
        evaluator = GraspEvaluator(judge.model, judge.normalization)
    graph.eval()
    evaluator.eval()
    if backend == "torch":
        return NetworkPlanner(
            name,
            TorchBackend(graph, evaluator),
            input_config,
            gripper,
            symmetric_views,
            judged_by_evaluator=judge_path is not None,
            trained_depth_range=loaded.depth_range,
            replan_on_air=replan_on_air,
            object_height_m=object_height_m,
            raise_to_reach=raise_to_reach,
            sweep_angles_below_q=sweep_angles_below_q,
        )

    size = loaded.input_config.input_size
    cache = Path(onnx_cache_dir) if onnx_cache_dir is not None else default_onnx_cache()
    digest = _digest(*checkpoint_paths)
    graph_path = models_dir / f"{name}.onnx"
    shipped_ok = False
    if graph_path.is_file():
        differences = check_onnx_agreement(loaded, graph_path, _probe_view(size), gqcnn_loaded)
        shipped_ok = max(differences.values()) <= ONNX_AGREEMENT_TOLERANCE
        if not shipped_ok:
            _log.warning(
                "%s disagrees with %s (%s); exporting anew",
                graph_path,
                checkpoint_paths[0],
                differences,
            )
    if not shipped_ok:
        graph_path = cache / f"{name}-{digest}.onnx"
        if not graph_path.is_file():
            _export_atomically(export_inference_graph, graph, graph_path, size)
    evaluator_digest = _digest(*checkpoint_paths, *([judge_path] if judge_path else []))
    evaluator_path = cache / f"{name}-evaluator-{evaluator_digest}.onnx"
    if not evaluator_path.is_file():
        _export_atomically(export_evaluator, evaluator, evaluator_path, size)
    return NetworkPlanner(
        name,
        OnnxBackend(graph_path, evaluator_path, onnx_threads),
        input_config,
        gripper,
        symmetric_views,
        judged_by_evaluator=judge_path is not None,
        trained_depth_range=loaded.depth_range,
        replan_on_air=replan_on_air,
        object_height_m=object_height_m,
        raise_to_reach=raise_to_reach,
        sweep_angles_below_q=sweep_angles_below_q,
    )
