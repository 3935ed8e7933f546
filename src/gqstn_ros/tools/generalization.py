"""Generalization benchmark: unseen objects, cameras and heights, judged by the MuJoCo lift.

    python -m gqstn_ros.tools.generalization --output runs/generalization \
        [--cameras kinect_v1 realsense_d415 ...] [--families composite tool ...] \
        [--scenes-per-camera 20] [--planners default gqstn prop_gqcnn minor_axis random ...]

Each scene: one object of a family (drawn by seed) dropped on the table and settled in MuJoCo;
a camera of a profile (`config/cameras`) at a random height and tilt within the profile's
mounting range, looking down at the table, renders depth with that sensor's noise model; the
frame is inpainted as the depth node does. Every planner plans on the same frame; each grasp is
executed by the simulated lift (`grasping.lift_check.simulate_lift`: descend, close with the
gripper profile's grip force, lift 10 cm, hold 1 s) on the object's true mesh and pose, and
again on `perturbed_lifts` copies with the grasp moved and turned by the label's perturbation
model. Success (`--success-rule held`, the default): the nominal lift leaves the object in the
gripper and off the table after the hold, level or turned between the fingers (a bowl pinched
at its rim hangs from it), as Dex-Net's and the real-robot benchmarks count a lift. Robust
success: it succeeds and at least `ROBUST_HOLD_SHARE` of the perturbed lifts succeed too, by the
same rule. Level: the nominal lift raised the object's centre of mass with the gripper (it did
not turn or slip in the pads); `--success-rule level` makes that the success rule.

Planners: the networks and Prop+GQ-CNN (`planner_registry.load_planner`), the default pipeline
of the inference node (of GQ-STN's grasp, the minor-axis grasp and Prop+GQ-CNN's grasp, one that
can be carried out first, then the best as GQ-STN's judge rates them: `grasping.alternatives`;
`--default-fallback-when not_robust --no-default-minor-axis` gives the earlier rule,
Prop+GQ-CNN only below the robust threshold), and two floors (`grasping.baselines`): the naive
minor-axis grasp and a random grasp on the object. Each attempt records the planner whose grasp
was answered (`answered_by`); the summary says how often the default pipeline answered each.
Defaults: every shipped camera profile and the object families no shipped model was trained on
(`sim.objects.EXTENDED_FAMILIES`), each object sized for the gripper's stroke; the same objects
are seen by every camera. The networks' grasps are
judged as the inference node's defaults judge them (`--judge-model`: the shipped judge, its q
calibrated; `--judge-model own_head` for each network's own GQ-CNN head and raw q).

Writes `<output>/results.json` (every scene and attempt), `summary.md` (tables by planner,
family and camera; q calibration of the planners that report q) and `summary.png`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from gqstn_ros.camera_model import CameraIntrinsics
from gqstn_ros.depth_processing import DepthFrameError, inpaint_depth
from gqstn_ros.detection import (
    FALLBACK_ALWAYS,
    FALLBACK_WHEN,
    ROBUST_Q_THRESHOLD,
    PlannedGrasp,
    PlanningError,
)
from gqstn_ros.grasping.alternatives import (
    ExecutionCheck,
    asks_fallback,
    minor_axis_alternative,
    preferred,
)
from gqstn_ros.grasping.baselines import MinorAxisPlanner, RandomPixelPlanner
from gqstn_ros.grasping.grasp import grasps_2d_to_3d
from gqstn_ros.grasping.lift_check import LiftConfig, LiftResult, simulate_lift
from gqstn_ros.gripper import DEFAULT_GRIPPER_PROFILE, GripperConfig
from gqstn_ros.planner_registry import (
    DEFAULT_PIPELINE,
    DEFAULT_REQUEST_PLANNER,
    OWN_HEAD,
    PLANNER_NAMES,
    PROP_PLANNER,
    SHIPPED_JUDGE_MODEL,
    default_models_dir,
    judge_settings,
    load_planner,
    options_for,
)
from gqstn_ros.profiles import (
    CameraProfile,
    camera_profile_names,
    load_camera_profile,
    load_gripper_profile,
)
from gqstn_ros.q_calibration import (
    JUDGE_MODEL_KEY,
    QCalibration,
    expected_calibration_error,
    load_q_calibrations,
    q_calibration_path,
)
from gqstn_ros.sim.objects import EXTENDED_FAMILIES, ObjectModel, generate_object

ROBUST_HOLD_SHARE = 0.75  # of the perturbed lifts that must hold for a robust success
FLOOR_PLANNERS = ("minor_axis", "random")
ALL_PLANNERS = (DEFAULT_PIPELINE, *PLANNER_NAMES, *FLOOR_PLANNERS)
CALIBRATION_BINS = 10
CANDIDATE_SUFFIX = "@candidate"
# What a successful lift is (`BenchmarkConfig.success_rule`).
SUCCESS_HELD = "held"  # `LiftResult.off_the_table`: in the gripper and off the table, any tilt
SUCCESS_LEVEL = "level"  # `LiftResult.success`: the centre of mass rose with the gripper
SUCCESS_RULES = (SUCCESS_HELD, SUCCESS_LEVEL)
# The key under which results.json's config and a calibration's fitted_on record the rule.
SUCCESS_RULE_KEY = "success_rule"


@dataclass(frozen=True)
class BenchmarkConfig:
    # Every shipped camera profile, and the families no shipped model was trained on.
    cameras: tuple[str, ...] = field(default_factory=camera_profile_names)
    families: tuple[str, ...] = EXTENDED_FAMILIES
    scenes_per_camera: int = 22
    planners: tuple[str, ...] = ALL_PLANNERS
    gripper: str = DEFAULT_GRIPPER_PROFILE
    perturbed_lifts: int = 4
    translation_sigma: float = 0.0025  # m, as RobustnessConfig.grasp_translation_sigma
    rotation_sigma: float = 0.05  # rad, as RobustnessConfig.grasp_rotation_sigma
    seed: int = 0
    view_scale: str = "metric"
    models_dir: str = ""
    # A second models folder: its networks, Prop+GQ-CNN and default pipeline plan on the same
    # frames as the first folder's, reported as "<planner>@candidate" (a paired comparison).
    candidate_models_dir: str = ""
    # A folder of <planner>_q_calibration.json files (`q_calibration.QCalibration`): the q of
    # each planner that has one is calibrated before the robust threshold and the report.
    q_calibration_dir: str = ""
    # A GQ-CNN checkpoint (in the models folder) that judges the networks' grasps instead of
    # their own head, as the inference node's judge_model ("" = their own head).
    judge_model: str = ""
    # The default pipeline's rules (`grasping.alternatives`), as the inference node's
    # parameters fallback_when and minor_axis_alternative.
    default_fallback_when: str = FALLBACK_ALWAYS
    default_minor_axis: bool = True
    # What counts as a successful lift, nominal and perturbed: one of `SUCCESS_RULES`.
    success_rule: str = SUCCESS_HELD

    def __post_init__(self) -> None:
        if self.success_rule not in SUCCESS_RULES:
            raise ValueError(
                f"success_rule must be one of {', '.join(SUCCESS_RULES)}, got {self.success_rule!r}"
            )
        if self.default_fallback_when not in FALLBACK_WHEN:
            raise ValueError(
                f"default_fallback_when must be one of {', '.join(FALLBACK_WHEN)}, "
                f"got {self.default_fallback_when!r}"
            )
        if self.scenes_per_camera < 1:
            raise ValueError(f"scenes_per_camera must be >= 1, got {self.scenes_per_camera}")
        if self.perturbed_lifts < 0:
            raise ValueError(f"perturbed_lifts must be >= 0, got {self.perturbed_lifts}")
        unknown = sorted(set(self.planners) - set(ALL_PLANNERS))
        if unknown:
            raise ValueError(f"unknown planners {unknown}; known: {', '.join(ALL_PLANNERS)}")
        if not self.cameras or not self.families:
            raise ValueError("name at least one camera and one family")

    def planner_names(self) -> tuple[str, ...]:
        """Every planner the run reports: `planners`, then with a candidate models folder
        the candidate's copy of each planner that reads models (`CANDIDATE_SUFFIX`)."""
        if not self.candidate_models_dir:
            return self.planners
        candidates = [f"{n}{CANDIDATE_SUFFIX}" for n in self.planners if n not in FLOOR_PLANNERS]
        return (*self.planners, *candidates)


@dataclass
class Attempt:
    planner: str
    found: bool
    success: bool = False
    robust_success: bool = False
    # The nominal lift leaves the object in the gripper and off the table, level or turned
    # between the fingers (`LiftResult.off_the_table`): `success` by the default rule.
    held: bool = False
    perturbed_held: int = 0  # perturbed lifts that succeeded by the run's success rule
    q_value: float = float("nan")
    detection_ms: float = 0.0
    width_m: float = 0.0
    note: str = ""
    # The nominal lift raised the object's centre of mass with the gripper
    # (`LiftResult.success`): `success` by the rule `level`.
    level: bool = False
    # The planner whose grasp was answered (`PlannedGrasp.planner`): the default pipeline's
    # choice among GQ-STN's, the minor-axis and Prop+GQ-CNN's grasps; the planner itself else.
    answered_by: str = ""


@dataclass
class SceneRecord:
    index: int
    camera: str
    family: str
    object_seed: int
    camera_height: float
    settled: bool
    attempts: list[Attempt] = field(default_factory=list)


@dataclass
class View:
    """A rendered, inpainted frame and the ground truth to execute grasps on."""

    depth: np.ndarray  # (H, W) float32 metres, inpainted
    intrinsics: CameraIntrinsics
    world_from_camera: np.ndarray  # (4, 4)
    model: ObjectModel
    world_from_object: np.ndarray  # (4, 4)
    height: float


def render_view(
    profile: CameraProfile, model: ObjectModel, seed: int, rng: np.random.Generator
) -> View | None:
    """Drop `model`, settle, and render it with `profile` at a random mounting; None when the
    object does not settle on the table."""
    from gqstn_ros.tools.sensor_views import (  # noqa: PLC0415 (MuJoCo rendering)
        mounting_pose,
        render_sensor_view,
        settle_scene,
    )

    scene = settle_scene([model], seed, [profile.intrinsics])
    if scene is None:
        return None
    position, _ = scene.object_pose(0)
    pose, height = mounting_pose(profile, (float(position[0]), float(position[1])), rng)
    sensor = render_sensor_view(scene, profile, pose, rng)
    try:
        filled = inpaint_depth(sensor.raw)
    except DepthFrameError:
        return None
    return View(
        depth=filled,
        intrinsics=sensor.intrinsics,
        world_from_camera=pose.transform,
        model=model,
        world_from_object=scene.object_transform(0),
        height=height,
    )


@dataclass(frozen=True)
class Execution:
    """The lifts of one grasp: whether the nominal lift succeeded by the run's success rule,
    whether it left the object in the gripper off the table, level or not (`held`), whether it
    raised the object level (`level`), how many perturbed lifts succeeded, the opening."""

    success: bool
    held: bool
    level: bool
    perturbed_held: int
    width_m: float


def execute(
    grasp: PlannedGrasp,
    view: View,
    gripper: GripperConfig,
    config: BenchmarkConfig,
    rng: np.random.Generator,
) -> Execution:
    """The nominal and perturbed lifts of a grasp on the view's object, each judged by
    `config.success_rule`."""
    centres, axes, widths = grasps_2d_to_3d(
        np.array([grasp.center_px]),
        np.array([grasp.angle]),
        np.array([grasp.width_px]),
        np.array([grasp.depth]),
        view.intrinsics,
    )
    rotation, translation = view.world_from_camera[:3, :3], view.world_from_camera[:3, 3]
    centre = rotation @ centres[0] + translation
    axis = rotation @ axes[0]
    axis[2] = 0.0  # top-down: the jaws close horizontally
    axis /= np.linalg.norm(axis)
    width = float(min(widths[0], gripper.max_width))
    lift = LiftConfig()  # the grip force is the gripper profile's
    if view.model.friction is not None:  # the object's own surface friction
        lift = replace(lift, friction_coef=float(view.model.friction))
    parts = list(view.model.convex_parts)

    def lifted(c: np.ndarray, a: np.ndarray) -> LiftResult:
        return simulate_lift(
            parts, view.world_from_object, c, a, width, gripper, lift, view.model.inertial
        )

    def succeeded(result: LiftResult) -> bool:
        return result.off_the_table() if config.success_rule == SUCCESS_HELD else result.success

    nominal = lifted(centre, axis)
    held = 0
    if succeeded(nominal):  # perturbed copies only matter for a grasp that works as commanded
        for _ in range(config.perturbed_lifts):
            offset = rng.normal(0.0, config.translation_sigma, 3)
            turn = rng.normal(0.0, config.rotation_sigma)
            cos, sin = math.cos(turn), math.sin(turn)
            turned = np.array([cos * axis[0] - sin * axis[1], sin * axis[0] + cos * axis[1], 0])
            held += succeeded(lifted(centre + offset, turned))
    return Execution(succeeded(nominal), nominal.off_the_table(), nominal.success, held, width)


def success_rule_of(run_config: dict) -> str:
    """The success rule a run's results.json `config` records; runs written before the rule
    existed counted level lifts."""
    return str(run_config.get(SUCCESS_RULE_KEY, SUCCESS_LEVEL))


def shared_success_rule(run_configs: dict[str, dict]) -> str:
    """The success rule every run counts by (run name -> its results.json `config`), for
    pooling their lifts; ValueError naming each run's rule when they differ."""
    rules = {name: success_rule_of(config) for name, config in run_configs.items()}
    if len(set(rules.values())) > 1:
        listed = ", ".join(f"{name}: {rule}" for name, rule in rules.items())
        raise ValueError(f"the runs count success by different rules ({listed})")
    return next(iter(rules.values()), SUCCESS_HELD)


def planner_q_calibrations(config: BenchmarkConfig) -> dict[str, QCalibration]:
    """planner -> its calibration, for the planners with a file in `q_calibration_dir`;
    ValueError for one fitted for another judge (`load_q_calibrations`) or on lifts counted by
    another success rule than the run's (its q would be another event's probability; a file
    that does not record its rule is not checked)."""
    if not config.q_calibration_dir:
        return {}
    calibrations = load_q_calibrations(config.q_calibration_dir, PLANNER_NAMES, config.judge_model)
    for name, calibration in calibrations.items():
        fitted_rule = calibration.fitted_on.get(SUCCESS_RULE_KEY)  # a file without it: unchecked
        if fitted_rule is not None and fitted_rule != config.success_rule:
            raise ValueError(
                f"{q_calibration_path(Path(config.q_calibration_dir), name)} was fitted on "
                f"{fitted_rule} lifts, but this run counts {config.success_rule} lifts: give "
                "--q-calibration-dir '' (raw q) or a calibration fitted with --success-rule "
                f"{config.success_rule}"
            )
    return calibrations


def load_planners(config: BenchmarkConfig, gripper: GripperConfig) -> dict[str, Callable]:
    """name -> plan(depth, intrinsics) -> PlannedGrasp, for every planner the run needs
    (`BenchmarkConfig.planner_names`), each grasp's q calibrated where the planner has a
    calibration."""
    calibrations = planner_q_calibrations(config)
    planners = _model_planners(config, config.models_dir or None, gripper, calibrations)
    if config.candidate_models_dir:
        # Judged by the same judge file as the current models (not one of the candidate
        # folder's), so calibrated alike: paired q stay comparable.
        judge = config.judge_model
        if judge and not Path(judge).is_absolute():
            judge = str(Path(config.models_dir or default_models_dir()).resolve() / judge)
        candidates = _model_planners(
            replace(config, judge_model=judge), config.candidate_models_dir, gripper, calibrations
        )
        planners.update({f"{n}{CANDIDATE_SUFFIX}": plan for n, plan in candidates.items()})
    floors = {
        "minor_axis": MinorAxisPlanner(gripper),
        "random": RandomPixelPlanner(gripper, seed=config.seed),
    }
    for name, planner in floors.items():
        planners[name] = lambda depth, intrinsics, p=planner: p.plan(depth, intrinsics)[0]
    return {name: planners[name] for name in config.planner_names()}


def _model_planners(
    config: BenchmarkConfig,
    models_dir: str | None,
    gripper: GripperConfig,
    calibrations: dict[str, QCalibration],
) -> dict[str, Callable]:
    """The planners of `config.planners` that read models, from `models_dir`."""
    needed = set(config.planners) - set(FLOOR_PLANNERS)
    if DEFAULT_PIPELINE in needed:
        needed |= {DEFAULT_REQUEST_PLANNER, PROP_PLANNER}
    loaded: dict[str, object] = {}
    for name in PLANNER_NAMES:
        if name in needed:
            options = options_for(
                name, view_scale=config.view_scale, judge_model=config.judge_model or None,
                replan_on_air=True, raise_to_reach=True,  # as the inference node's defaults
                sweep_angles_below_q=ROBUST_Q_THRESHOLD,
            )  # fmt: skip
            loaded[name] = load_planner(name, models_dir, gripper=gripper, **options)

    def calibrated(name: str, grasp: PlannedGrasp) -> PlannedGrasp:
        if name not in calibrations:
            return grasp
        return replace(grasp, q_value=float(calibrations[name].apply(grasp.q_value)))

    def single(name: str) -> Callable:
        return lambda depth, intrinsics: calibrated(name, loaded[name].plan(depth, intrinsics)[0])

    def default(depth: np.ndarray, intrinsics: CameraIntrinsics) -> PlannedGrasp:
        """The inference node's default pipeline (`grasping.alternatives`): GQ-STN's grasp,
        replaced by the minor-axis grasp or Prop+GQ-CNN's when preferred (`preferred`: it can
        be carried out where GQ-STN's cannot, `ExecutionCheck`, or GQ-STN's GQ-CNN judges it
        better, `NetworkPlanner.judge`)."""
        primary = DEFAULT_REQUEST_PLANNER
        gqstn = loaded[primary]
        check = ExecutionCheck(depth, intrinsics, gripper)

        def feasible(planned: PlannedGrasp) -> bool:
            return check.grasp_fault(planned) is None

        try:
            grasp: PlannedGrasp | None = calibrated(primary, gqstn.plan(depth, intrinsics, 1)[0])
        except PlanningError as error:  # the alternatives may still find one
            grasp, primary_error = None, error
        grasp_feasible = grasp is not None and feasible(grasp)

        def consider(other: PlannedGrasp) -> tuple[PlannedGrasp | None, bool]:
            judged = gqstn.judge(
                depth, intrinsics, np.array([other.center_px]), np.array([other.angle]),
                np.array([other.width_px]), np.array([other.depth]),
            )  # fmt: skip
            q = float(calibrated(primary, replace(other, q_value=float(judged[0]))).q_value)
            other_feasible = feasible(other)
            if grasp is None or preferred(q, other_feasible, grasp.q_value, grasp_feasible):
                return replace(other, q_value=q), other_feasible
            return grasp, grasp_feasible

        if config.default_minor_axis:
            with contextlib.suppress(PlanningError):  # no minor-axis grasp: GQ-STN's stays
                grasp, grasp_feasible = consider(minor_axis_alternative(depth, intrinsics, gripper))
        robust = grasp is not None and grasp.q_value >= ROBUST_Q_THRESHOLD
        if asks_fallback(config.default_fallback_when, robust):
            with contextlib.suppress(PlanningError):  # Prop+GQ-CNN found none
                grasp, grasp_feasible = consider(loaded[PROP_PLANNER].plan(depth, intrinsics, 1)[0])
        if grasp is None:
            raise primary_error
        return grasp

    planners = {name: single(name) for name in loaded}
    if DEFAULT_PIPELINE in needed:
        planners[DEFAULT_PIPELINE] = default
    return {name: planners[name] for name in config.planners if name in planners}


def run_benchmark(config: BenchmarkConfig, progress: Callable[[str], None] = print) -> list:
    """Every scene of every camera, every planner on each; the scene records."""
    gripper = load_gripper_profile(config.gripper)
    profiles = [load_camera_profile(name) for name in config.cameras]
    planners = load_planners(config, gripper)
    records: list[SceneRecord] = []
    for camera_index, profile in enumerate(profiles):
        for scene_index in range(config.scenes_per_camera):
            family = config.families[scene_index % len(config.families)]
            object_seed = int(
                np.random.SeedSequence([config.seed, scene_index]).generate_state(1)[0] >> 1
            )
            rng = np.random.default_rng([config.seed, camera_index, scene_index])
            model = generate_object(family, object_seed, stroke=gripper.max_width)
            view = render_view(profile, model, object_seed, rng)
            record = SceneRecord(
                len(records), profile.name, family, object_seed,
                view.height if view else 0.0, view is not None,
            )  # fmt: skip
            records.append(record)
            if view is None:
                continue
            for name, plan in planners.items():
                clock = time.perf_counter()
                try:
                    grasp = plan(view.depth, view.intrinsics)
                except PlanningError as error:
                    ms = (time.perf_counter() - clock) * 1e3
                    record.attempts.append(Attempt(name, False, detection_ms=ms, note=str(error)))
                    continue
                ms = (time.perf_counter() - clock) * 1e3
                lift_rng = np.random.default_rng([config.seed, camera_index, scene_index, 7])
                lifts = execute(grasp, view, gripper, config, lift_rng)
                needed = math.ceil(ROBUST_HOLD_SHARE * config.perturbed_lifts)
                robust = lifts.success and lifts.perturbed_held >= needed
                record.attempts.append(
                    Attempt(
                        name, True, lifts.success, robust, lifts.held, lifts.perturbed_held,
                        float(grasp.q_value), ms, lifts.width_m, level=lifts.level,
                        answered_by=grasp.planner,
                    )
                )  # fmt: skip
            progress(
                f"[{profile.name} {scene_index + 1}/{config.scenes_per_camera}] {family}: "
                + " ".join(f"{a.planner}={'+' if a.success else '-'}" for a in record.attempts)
            )
    return records


# ------------------------------------------------------------------------------- summary
def _rate(values: Sequence[bool]) -> str:
    return f"{100.0 * np.mean(values):.1f} %" if len(values) else "-"


def calibration(q: np.ndarray, success: np.ndarray) -> dict:
    """Expected calibration error of q as a success probability, the reliability bins (low,
    high, count, mean q, success rate), and the precision and recall of `q >= ROBUST_Q_THRESHOLD`
    for success."""
    index = np.minimum((q * CALIBRATION_BINS).astype(int), CALIBRATION_BINS - 1)
    bins = [
        [b / CALIBRATION_BINS, (b + 1) / CALIBRATION_BINS, int((index == b).sum()),
         float(q[index == b].mean()), float(success[index == b].mean())]
        for b in range(CALIBRATION_BINS)
        if (index == b).any()
    ]  # fmt: skip
    robust = q >= ROBUST_Q_THRESHOLD
    precision = float(success[robust].mean()) if robust.any() else float("nan")
    recall = float(robust[success].mean()) if success.any() else float("nan")
    ece = expected_calibration_error(q, success, CALIBRATION_BINS)
    return {"ece": ece, "precision": precision, "recall": recall, "bins": bins}


def summarize(records: list[SceneRecord], config: BenchmarkConfig) -> dict:
    rows = [(r, a) for r in records if r.settled for a in r.attempts]
    summary: dict = {"scenes": len(records), "settled": sum(r.settled for r in records)}
    for name in config.planner_names():
        mine = [(r, a) for r, a in rows if a.planner == name]
        entry = {
            "attempts": len(mine),
            "success": float(np.mean([a.success for _, a in mine])) if mine else float("nan"),
            "robust_success": (
                float(np.mean([a.robust_success for _, a in mine])) if mine else float("nan")
            ),
            "held": float(np.mean([a.held for _, a in mine])) if mine else float("nan"),
            "level": float(np.mean([a.level for _, a in mine])) if mine else float("nan"),
            "detection_ms_p50": (
                float(np.median([a.detection_ms for _, a in mine])) if mine else float("nan")
            ),
            "by_family": {
                family: float(np.mean([a.success for r, a in mine if r.family == family]))
                for family in config.families
                if any(r.family == family for r, _ in mine)
            },
            "by_camera": {
                camera: float(np.mean([a.success for r, a in mine if r.camera == camera]))
                for camera in config.cameras
                if any(r.camera == camera for r, _ in mine)
            },
        }
        answered = sorted({a.answered_by for _, a in mine if a.found and a.answered_by})
        # The default pipeline: how often each planner's grasp was answered, and its lifts.
        if set(answered) - {name.removesuffix(CANDIDATE_SUFFIX)}:
            entry["answered_by"] = {
                planner: {
                    "attempts": sum(a.answered_by == planner for _, a in mine),
                    "success": float(
                        np.mean([a.success for _, a in mine if a.answered_by == planner])
                    ),
                }
                for planner in answered
            }
        found = [a for _, a in mine if a.found and name not in FLOOR_PLANNERS]
        if found:
            entry["calibration"] = calibration(
                np.array([a.q_value for a in found]), np.array([a.success for a in found])
            )
        summary[name] = entry
    if config.candidate_models_dir:
        summary["paired"] = paired_comparison(records, config)
    return summary


def paired_comparison(records: list[SceneRecord], config: BenchmarkConfig) -> dict:
    """Per planner with a candidate: on the scenes both attempted, the successes of each and
    the scenes only one of them lifted (the discordant pairs a sign test reads)."""
    result = {}
    for name in config.planners:
        candidate = f"{name}{CANDIDATE_SUFFIX}"
        if candidate not in config.planner_names():
            continue
        pairs = []
        for record in records:
            by_name = {a.planner: a for a in record.attempts}
            if record.settled and name in by_name and candidate in by_name:
                pairs.append((by_name[name].success, by_name[candidate].success))
        current = np.array([p[0] for p in pairs], dtype=bool)
        new = np.array([p[1] for p in pairs], dtype=bool)
        result[name] = {
            "scenes": len(pairs),
            "current": int(current.sum()),
            "candidate": int(new.sum()),
            "candidate_only": int((new & ~current).sum()),
            "current_only": int((current & ~new).sum()),
        }
    return result


SUCCESS_WORDS = {
    SUCCESS_HELD: "the object is held off the table after the lift, level or not",
    SUCCESS_LEVEL: "the object rose level with the gripper",
}


def summary_markdown(summary: dict, config: BenchmarkConfig) -> str:
    def pct(value: float) -> str:
        return "-" if math.isnan(value) else f"{100 * value:.1f} %"

    lines = [
        f"Scenes: {summary['settled']} settled of {summary['scenes']}; cameras "
        f"{', '.join(config.cameras)}; families {', '.join(config.families)}; gripper "
        f"{config.gripper}; view scale {config.view_scale}; seed {config.seed}; success: "
        f"{SUCCESS_WORDS[config.success_rule]}.",
        "",
        "| planner | attempts | success | robust success | held, level or not | level "
        "| detection p50 | ECE | precision of robust | recall of robust |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name in config.planner_names():
        entry = summary[name]
        cal = entry.get("calibration", {})
        lines.append(
            f"| {name} | {entry['attempts']} | {pct(entry['success'])} | "
            f"{pct(entry['robust_success'])} | {pct(entry['held'])} | {pct(entry['level'])} | "
            f"{entry['detection_ms_p50']:.1f} ms | "
            f"{cal.get('ece', float('nan')):.3f} | {pct(cal.get('precision', float('nan')))} | "
            f"{pct(cal.get('recall', float('nan')))} |"
        )
    for name in config.planner_names():
        if "answered_by" in summary[name]:
            parts = [
                f"{planner} {answer['attempts']} ({pct(answer['success'])} lifted)"
                for planner, answer in sorted(
                    summary[name]["answered_by"].items(), key=lambda item: -item[1]["attempts"]
                )
            ]
            lines += ["", f"{name} answered the grasp of: " + ", ".join(parts) + "."]
    if "paired" in summary:
        lines += [
            "",
            f"Paired on the same frames: current models ({config.models_dir or 'models'}) "
            f"against the candidate ({config.candidate_models_dir}):",
            "",
            "| planner | scenes | current lifts | candidate lifts | candidate only "
            "| current only |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        for name, pair in summary["paired"].items():
            lines.append(
                f"| {name} | {pair['scenes']} | {pair['current']} | {pair['candidate']} | "
                f"{pair['candidate_only']} | {pair['current_only']} |"
            )
    for key, names in (("by_camera", config.cameras), ("by_family", config.families)):
        lines += ["", f"Success {key.replace('_', ' ')}:", ""]
        lines.append("| planner | " + " | ".join(names) + " |")
        lines.append("| --- |" + " --- |" * len(names))
        for name in config.planner_names():
            values = summary[name][key]
            lines.append(
                f"| {name} | " + " | ".join(pct(values.get(n, float("nan"))) for n in names) + " |"
            )
    return "\n".join(lines) + "\n"


def plot_summary(summary: dict, config: BenchmarkConfig, path: Path) -> None:
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    figure, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    width = 0.8 / len(config.planner_names())
    for offset, name in enumerate(config.planner_names()):
        values = [summary[name]["by_camera"].get(c, np.nan) * 100 for c in config.cameras]
        positions = np.arange(len(config.cameras)) + offset * width
        axes[0].bar(positions, values, width, label=name)
    axes[0].set_xticks(
        np.arange(len(config.cameras)) + 0.4 - width / 2, config.cameras, rotation=20, ha="right"
    )
    axes[0].set_ylabel("lift success (%)")
    axes[0].set_ylim(0, 100)
    axes[0].legend(fontsize=7)
    axes[0].set_title("success by camera")
    for name in config.planner_names():
        bins = summary[name].get("calibration", {}).get("bins", [])
        if bins:
            axes[1].plot([b[3] for b in bins], [b[4] for b in bins], "o-", label=name)
    axes[1].plot([0, 1], [0, 1], "k--", linewidth=0.8)
    axes[1].set_xlabel("predicted q")
    axes[1].set_ylabel("lift success rate")
    axes[1].set_title("reliability of q")
    axes[1].legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    defaults = BenchmarkConfig()
    parser.add_argument("--output", type=Path, default=Path("runs/generalization"))
    parser.add_argument("--cameras", nargs="+", default=list(defaults.cameras))
    parser.add_argument("--families", nargs="+", default=list(defaults.families))
    parser.add_argument("--scenes-per-camera", type=int, default=defaults.scenes_per_camera)
    parser.add_argument("--planners", nargs="+", default=list(defaults.planners))
    parser.add_argument("--gripper", default=defaults.gripper)
    parser.add_argument("--perturbed-lifts", type=int, default=defaults.perturbed_lifts)
    parser.add_argument("--view-scale", default=defaults.view_scale)
    parser.add_argument("--models-dir", default="")
    parser.add_argument(
        "--candidate-models-dir",
        default="",
        help="also run the planners of this models folder on the same frames, reported as "
        f"<planner>{CANDIDATE_SUFFIX} with a paired comparison",
    )
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument(
        "--judge-model",
        default="",
        help="GQ-CNN checkpoint in the models folder judging the networks' grasps, as the "
        f"launch file's judge_model: '' (default) = the inference node's ({SHIPPED_JUDGE_MODEL} "
        f"with the q calibration shipped for it); {OWN_HEAD} = each network's own head with raw "
        "q; another checkpoint: raw q",
    )
    parser.add_argument(
        "--default-fallback-when",
        choices=FALLBACK_WHEN,
        default=defaults.default_fallback_when,
        help="when the default pipeline asks Prop+GQ-CNN (the inference node's fallback_when)",
    )
    parser.add_argument(
        "--no-default-minor-axis",
        action="store_true",
        help="the default pipeline does not judge the minor-axis grasp (the inference node's "
        "minor_axis_alternative false)",
    )
    parser.add_argument(
        "--q-calibration-dir",
        default=None,
        help="calibrate each planner's q with <planner>_q_calibration.json of this folder ('' = "
        "raw q; default: as --judge-model says)",
    )
    parser.add_argument(
        "--success-rule",
        choices=SUCCESS_RULES,
        default=defaults.success_rule,
        help="what a successful lift is: held = in the gripper and off the table after the "
        "hold, level or not; level = the object's centre of mass rose with the gripper",
    )
    parser.add_argument(
        "--fit-q-calibration",
        type=Path,
        metavar="DIR",
        help="fit each planner's q calibration on this run's lifts and write it to DIR",
    )
    args = parser.parse_args(argv)
    if args.fit_q_calibration and args.q_calibration_dir:
        parser.error("--fit-q-calibration fits raw q: do not also give --q-calibration-dir")
    judge_model, q_calibration_dir = resolved_judge(
        args.judge_model, args.q_calibration_dir, args.models_dir, bool(args.fit_q_calibration)
    )
    try:
        config = BenchmarkConfig(
            cameras=tuple(args.cameras),
            families=tuple(args.families),
            scenes_per_camera=args.scenes_per_camera,
            planners=tuple(args.planners),
            gripper=args.gripper,
            perturbed_lifts=args.perturbed_lifts,
            seed=args.seed,
            view_scale=args.view_scale,
            models_dir=args.models_dir,
            candidate_models_dir=args.candidate_models_dir,
            q_calibration_dir=q_calibration_dir,
            judge_model=judge_model,
            default_fallback_when=args.default_fallback_when,
            default_minor_axis=not args.no_default_minor_axis,
            success_rule=args.success_rule,
        )
        planner_q_calibrations(config)
        for family in config.families:
            generate_object(family, 0)  # an unknown family fails here, before any work
        for camera in config.cameras:
            load_camera_profile(camera)
        load_gripper_profile(config.gripper)
    except ValueError as error:
        parser.error(str(error))
    started = time.perf_counter()
    records = run_benchmark(config)
    summary = summarize(records, config)
    args.output.mkdir(parents=True, exist_ok=True)
    scenes = [asdict(record) for record in records]
    results = {"config": asdict(config), "summary": summary, "scenes": scenes}
    (args.output / "results.json").write_text(json.dumps(results, indent=1))
    markdown = summary_markdown(summary, config)
    (args.output / "summary.md").write_text(markdown)
    plot_summary(summary, config, args.output / "summary.png")
    print(markdown)
    print(f"{len(records)} scenes in {time.perf_counter() - started:.0f} s -> {args.output}")
    if args.fit_q_calibration:
        fit_q_calibrations(records, config, args.fit_q_calibration, argv)
    return 0


def resolved_judge(
    judge_choice: str, q_calibration_dir: str | None, models_dir: str, raw_q: bool
) -> tuple[str, str]:
    """(BenchmarkConfig.judge_model, BenchmarkConfig.q_calibration_dir) of the command line's
    --judge-model (as the launch file's judge_model: `planner_registry.judge_settings`) and
    --q-calibration-dir (None = as the judge choice says, inside the models folder); `raw_q`:
    the run fits calibrations, so its q stays raw."""
    judge, calibration = judge_settings(judge_choice)
    if q_calibration_dir is None:
        models = Path(models_dir) if models_dir else default_models_dir()
        q_calibration_dir = str(models / calibration) if calibration else ""
    return judge, "" if raw_q else q_calibration_dir


def fit_q_calibrations(
    records: list[SceneRecord], config: BenchmarkConfig, folder: Path, argv: list[str] | None
) -> None:
    """Fit and write the q calibration of every planner with a q in the run."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in config.planners:
        if name in FLOOR_PLANNERS or name == DEFAULT_PIPELINE:
            continue
        found = [a for r in records for a in r.attempts if a.planner == name and a.found]
        if len(found) < 2:
            continue
        q = np.array([a.q_value for a in found])
        lifted = np.array([a.success for a in found])
        fitted_on = {
            "command": "python -m gqstn_ros.tools.generalization "
            + " ".join(argv if argv is not None else sys.argv[1:]),
            "grasps": len(found),
            "cameras": list(config.cameras),
            "families": list(config.families),
            "seed": config.seed,
            SUCCESS_RULE_KEY: config.success_rule,
            JUDGE_MODEL_KEY: config.judge_model,
            "ece_before": expected_calibration_error(q, lifted),
        }
        calibration = QCalibration.fit(q, lifted, fitted_on)
        calibration.fitted_on["ece_after"] = expected_calibration_error(
            calibration.apply(q), lifted
        )
        calibration.save(q_calibration_path(folder, name))
        print(
            f"{name}: q calibration slope {calibration.slope:.3f} intercept "
            f"{calibration.intercept:.3f}, ECE on the fitted run {fitted_on['ece_before']:.3f} "
            f"-> {calibration.fitted_on['ece_after']:.3f} -> {q_calibration_path(folder, name)}"
        )


if __name__ == "__main__":
    raise SystemExit(main())
