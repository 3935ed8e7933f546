"""Agreement of the robust label with a simulated MuJoCo lift, per object family, and label timing.

Usage: .venv/bin/python benchmarks/label_agreement.py
       [--calibration-families box cylinder ...] [--test-families composite tool ...]
       [--calibration-grasps 80] [--test-grasps 80 (0: no test)] [--calibration-seeds 0]
       [--seed 1] [--mass-scales 1 4 11] [--weight-factor-candidates 0 0.5 0.75 1 1.25 1.5 2]
       [--label lift_calibrated|defaults] [--list-disagreements] [--records-csv PATH]
       [--perturbed-lifts N]
       [--parameter-sweeps [--push-force-candidates ...] [--palm-stop-mm-candidates ...]
       [--turn-step-deg-candidates ...] [--weight-edge-candidates ...] [--flush-mm-candidates ...]
       [--rotation-max-deg-candidates ...] [--no-switch-candidates]]
       .venv/bin/python benchmarks/label_agreement.py --relabel RECORDS_CSV
       [--change "FIELD=VALUE ..."] ...

Objects come from `gqstn_ros.sim.objects` (each family with its own materials and surface
friction), every k-th object of a family with its part densities times a mass scale (the
heavy-ended tools and composites and the long sticks then weigh enough for the weight step to
matter), dropped and settled on the table; grasps are sampled on the mesh and partly disturbed
(`lift_check.measure_family_agreement`). The lift closes the gripper with the same grip force
as the label (`GripperConfig.grip_force`).

Prints: the CPU time of both labels for 100 grasps x K perturbations on a ~2k-triangle mesh
with and without the weight step; on the calibration families (pooled over the calibration
seeds), per family agreement and confusion, the pooled agreement for every (weight safety factor,
threshold) pair, with --parameter-sweeps for every candidate value of the other label
parameters (one at a time, the others at their configured values: the push of the arm's
descent, the palm's stop tolerance, the squeeze's rotation step and largest rotation, the weight
step's cone edges and flush tolerance, and each on/off model option), the other label's
agreement, and why the label and lift disagree; on the held-out test families, which never
choose anything, per family agreement and 2x2 confusion with the configured label (--label:
`RobustnessConfig.lift_calibrated()`, the default, or the `RobustnessConfig` defaults), the
pooled figure and why they disagree. With
--list-disagreements, every held-out grasp on which label and lift disagree (family, object,
mass, the label's verdict and the step that decided it, how the lift ended and how far the
object rose) and their counts by family, label step and lift outcome; --records-csv writes
every grasp's record (calibration and held-out) to a CSV file, with what replays its lift:
`gqstn_ros.grasping.lift_check.replay_family_lift(family, object_seed, mass_scale,
settle_seed, centre, axis, width)`, the centre and axis read from the space-separated columns
grasp_center_m and grasp_axis. With --perturbed-lifts N, each held-out grasp is also lifted N
times perturbed as the label perturbs it: the agreement with the robust lift (held in at least
half of them), the share held (records column perturbed_lifts_held), and how far the lift
repeats itself (`AgreementReport.lift_repeatability`): how often the unperturbed lift agrees with
the robust lift, which is how well a label that predicted the robust lift without error would
agree with the unperturbed lift.

--relabel RECORDS_CSV runs no lift: it labels the grasps of a --records-csv file again, with the
configured label and each --change variant (the same perturbations for all), and prints their
agreement with the lifts the file records, per record set and family: a label change is tried
on recorded lifts without running them again. `friction_coef` changes only objects without a
friction of their own (the original families; every extended family has its own).
"""

from __future__ import annotations

import argparse
import csv
import itertools
import time
import typing
import zlib
from collections import Counter
from dataclasses import replace

import numpy as np

from gqstn_ros.grasping import primitives
from gqstn_ros.grasping.lift_check import (
    AgreementReport,
    measure_family_agreement,
    scaled_mass,
    settled_pose,
)
from gqstn_ros.grasping.mesh_geometry import TriangleMesh
from gqstn_ros.grasping.robustness import GraspQualityEvaluator, RobustnessConfig
from gqstn_ros.sim import objects

THRESHOLD_CANDIDATES = (0.00005, 0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005)
# The original families (light, uniform density) plus none of the extended ones: every choice
# is made on these; the extended families (composites, heavy-headed tools, vessels, ...) are
# the held-out test.
CALIBRATION_FAMILIES = (
    "box", "cylinder", "sphere", "ellipsoid", "prism_convex", "prism_concave", "l_shape",
    "t_shape", "u_shape", "mug", "plate", "disc", "stick",
)  # fmt: skip
# The label's on/off model options (`RobustnessConfig`), each swept as off and on.
SWITCHES = (
    "exact_descent", "finger_yield", "rim_contact_by_facing", "nominal_must_hold",
    "elliptic_limit_surface",
)  # fmt: skip
TEST_FAMILIES = (
    "composite", "tool", "superquadric", "bottle", "vase", "bowl", "cup", "extrusion",
    "thin_flat", "tiny", "tall_slender",
)  # fmt: skip


def time_labels(repeats: int = 10) -> None:
    """CPU time of the label (process time: comparable on a shared machine)."""
    shape = primitives.cylinder(0.03, 0.08, segments=500)  # 2000 triangles
    pose = primitives.resting_pose(shape.vertices)
    mesh = TriangleMesh(shape.vertices, shape.faces).transformed(pose)
    rng = np.random.default_rng(0)
    count = 100
    angle = rng.uniform(0, np.pi, count)
    centers = np.column_stack([rng.normal(0, 0.005, (count, 2)), rng.uniform(0.01, 0.07, count)])
    axes = np.column_stack([np.cos(angle), np.sin(angle), np.zeros(count)])
    widths = np.full(count, 0.075)
    volume = np.pi * 0.03**2 * 0.08
    for (what, mass), (label, config) in itertools.product(
        (
            ("without the weight step (no mass)", None),
            ("with the weight step, 700 kg/m^3", 700.0 * volume),
            ("with the weight step, 8000 kg/m^3", 8000.0 * volume),
        ),
        (("defaults", RobustnessConfig()), ("lift_calibrated", RobustnessConfig.lift_calibrated())),
    ):
        t0 = time.process_time()
        evaluator = GraspQualityEvaluator(mesh, config=config, mass=mass)
        setup = time.process_time() - t0
        best = np.inf
        for _ in range(repeats):
            t0 = time.process_time()
            result = evaluator.evaluate(centers, axes, widths, rng=1)
            best = min(best, time.process_time() - t0)
        print(
            f"label CPU time, {label}, {what}: {len(mesh.faces)} triangles, 100 grasps x K="
            f"{evaluator.config.num_perturbations}: best of {repeats} = {best * 1e3:.1f} ms "
            f"(evaluator setup incl. height map {setup * 1e3:.1f} ms); "
            f"{result.robust.mean():.0%} robust"
        )


def print_families(title: str, report: AgreementReport) -> None:
    """Per family: grasps, agreement, confusion [[no/fail, no/held], [yes/fail, yes/held]], and
    with perturbed lifts the agreement with the robust lift (held in at least half)."""
    robust = report.held_under_perturbation is not None
    off_table = report.lifted_off_table is not None
    print(f"{title}: {len(report.labels)} grasps, agreement {report.agreement:.1%}")
    print(
        "  family          n   agree  lifted  confusion [[label no: lift fail, held],"
        + ("   robust-lift agree" if robust else "")
        + ("   held-off-table agree" if off_table else "")
    )
    print("                                               [label yes: lift fail, held]]")
    rows = [*report.by_family().items(), ("pooled", report)]
    for family, part in rows:
        matrix = part.confusion
        line = (
            f"  {family:14s}{len(part.labels):4d}  {part.agreement:6.1%}  {part.lifted.mean():5.0%}"
            f"   [[{matrix[0, 0]:3d} {matrix[0, 1]:3d}] [{matrix[1, 0]:3d} {matrix[1, 1]:3d}]]"
        )
        if robust:
            line += f"      {part.robust_lift_agreement:6.1%}"
        if off_table:  # the label against "held off the table, level or not"
            line += f"      {np.mean(part.labels == part.lifted_off_table):6.1%}"
        print(line)


def print_lift_repeatability(report: AgreementReport, copies: int) -> None:
    """How far the lift repeats under the label's perturbations (`AgreementReport.
    lift_repeatability`), pooled and per family."""
    print(
        f"  lift repeatability ({copies} perturbed lifts a grasp): [nominal lift = robust lift, "
        "held in at least half the perturbed lifts] [best any label can agree with one "
        "perturbed lift] [this label with one perturbed lift]"
    )
    for family, part in [*report.by_family().items(), ("pooled", report)]:
        figures = part.lift_repeatability()
        print(
            f"  {family:14s}  {figures['nominal_vs_robust_lift']:6.1%}  "
            f"{figures['best_label_vs_one_copy']:6.1%}  {figures['label_vs_one_copy']:6.1%}"
        )


def print_disagreements(report: AgreementReport) -> None:
    """Why the label and the lift disagree, by the label's reason and by family."""
    reasons = np.where(report.reasons == "", "robust", report.reasons)
    families = np.asarray(report.families)
    for title, mask in (
        ("label not robust, lift held", ~report.labels & report.lifted),
        ("label robust, lift failed", report.labels & ~report.lifted),
    ):
        print(f"  {title} ({mask.sum()}):")
        for reason in sorted(set(reasons[mask])):
            chosen = mask & (reasons == reason)
            counts = Counter(families[chosen].tolist())
            print(f"    {reason:17s} {chosen.sum():3d}: {dict(sorted(counts.items()))}")


RECORD_COLUMNS = (
    "set", "family", "object", "mass_kg", "label_robust", "label_step", "robust_quality",
    "nominal_collision_free", "force_closure_rate", "weight_hold_rate", "lift_held",
    "lift_outcome", "lift_rise_m", "lift_off_table", "object_seed", "mass_scale", "settle_seed",
    "grasp_center_m", "grasp_axis", "grasp_width_m", "perturbed_lifts_held",
)  # fmt: skip


# What --relabel reads of a records file.
RELABEL_COLUMNS = (
    "set", "family", "lift_held", "object_seed", "mass_scale", "settle_seed", "grasp_center_m",
    "grasp_axis", "grasp_width_m",
)  # fmt: skip


def grasp_records(name: str, report: AgreementReport) -> list[dict[str, object]]:
    """One record per grasp of `report` (a report of `measure_family_agreement`): the label's
    verdict and the step that decided it (`RobustnessResult.reasons`, "robust" for a robust
    grasp), how the lift ended (`LiftResult.outcome`), and what replays the lift (the object's
    seed, mass scale and settling seed; the grasp's world centre, jaw axis and opening:
    `lift_check.replay_family_lift` takes them); with --perturbed-lifts, the share of the
    grasp's perturbed copies that the lift held."""
    assert report.families is not None and report.reasons is not None
    assert report.lift_outcomes is not None and report.lift_rises is not None
    assert report.object_masses is not None and report.nominal_collision_free is not None
    assert report.force_closure_rate is not None and report.weight_hold_rate is not None
    assert report.grasps is not None and report.object_seeds is not None
    assert report.mass_scales is not None and report.settle_seeds is not None
    return [
        {
            "set": name,
            "family": report.families[i],
            "object": report.object_names[i],
            "mass_kg": round(float(report.object_masses[i]), 4),
            "label_robust": bool(report.labels[i]),
            "label_step": report.reasons[i] or "robust",
            "robust_quality": float(report.robust_quality[i]),
            "nominal_collision_free": bool(report.nominal_collision_free[i]),
            "force_closure_rate": float(report.force_closure_rate[i]),
            "weight_hold_rate": float(report.weight_hold_rate[i]),
            "lift_held": bool(report.lifted[i]),
            "lift_outcome": str(report.lift_outcomes[i]),
            "lift_rise_m": round(float(report.lift_rises[i]), 4),
            "lift_off_table": (
                None if report.lifted_off_table is None else bool(report.lifted_off_table[i])
            ),
            "object_seed": int(report.object_seeds[i]),
            "mass_scale": float(report.mass_scales[i]),
            "settle_seed": int(report.settle_seeds[i]),
            "grasp_center_m": " ".join(f"{v:.9g}" for v in report.grasps[0:3, i]),
            "grasp_axis": " ".join(f"{v:.9g}" for v in report.grasps[3:6, i]),
            "grasp_width_m": float(report.grasps[6, i]),
            "perturbed_lifts_held": (
                None
                if report.held_under_perturbation is None
                else float(report.held_under_perturbation[i])
            ),
        }
        for i in range(len(report.labels))
    ]


def print_disagreement_records(records: list[dict[str, object]]) -> None:
    """The records on which label and lift disagree, one a line, then their counts by family,
    the label's deciding step and the lift's outcome."""
    disagreeing = [r for r in records if r["label_robust"] != r["lift_held"]]
    print(f"  disagreeing grasps ({len(disagreeing)} of {len(records)}):")
    print(
        "    family        object                     mass kg  label       step              "
        "lift     outcome       rise cm  closure  weight"
    )
    for r in disagreeing:
        print(
            f"    {r['family']:13s} {r['object']:26s} {r['mass_kg']:7.3f}  "
            f"{'robust' if r['label_robust'] else 'not':10s}  {r['label_step']:16s}  "
            f"{'held' if r['lift_held'] else 'failed':7s}  {r['lift_outcome']:12s}  "
            f"{100 * float(r['lift_rise_m']):7.1f}  {r['force_closure_rate']:7.1f}  "
            f"{r['weight_hold_rate']:6.1f}"
        )
    groups = Counter((r["family"], r["label_step"], r["lift_outcome"]) for r in disagreeing)
    print("  by family, label step and lift outcome:")
    for (family, step, outcome), count in sorted(groups.items(), key=lambda kv: -kv[1]):
        print(f"    {count:3d}  {family:13s} label {step:16s} lift {outcome}")


def write_records(path: str, records: list[dict[str, object]]) -> None:
    with open(path, "w", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=RECORD_COLUMNS)
        writer.writeheader()
        writer.writerows(records)
    print(f"wrote {len(records)} grasp records to {path}")


def parameter_sweeps(args: argparse.Namespace, default: RobustnessConfig) -> list[tuple]:
    """(title, value, config) of every one-at-a-time candidate of the label's parameters."""
    sweeps = [
        ("descent_push_force (N)", args.push_force_candidates, "descent_push_force", 1.0),
        ("palm_stop_tolerance (mm)", args.palm_stop_mm_candidates, "palm_stop_tolerance", 1e-3),
        ("squeeze_turn_step (deg)", args.turn_step_deg_candidates, "squeeze_turn_step", None),
        ("weight_cone_edges", args.weight_edge_candidates, "weight_cone_edges", None),
        ("flush_tolerance (mm)", args.flush_mm_candidates, "flush_tolerance", 1e-3),
        (
            "squeeze_alignment_max_angle (deg)",
            args.rotation_max_deg_candidates,
            "squeeze_alignment_max_angle",
            None,
        ),
    ]
    out = []
    for title, values, name, scale in sweeps:
        for value in values:
            if name in ("squeeze_turn_step", "squeeze_alignment_max_angle"):
                field = float(np.deg2rad(value))
            elif name == "weight_cone_edges":
                field = int(value)
            else:
                field = float(value) * scale
            out.append((title, value, replace(default, **{name: field})))
    if args.switch_candidates:
        for name in SWITCHES:
            for value in (False, True):
                out.append((name, int(value), replace(default, **{name: value})))
    return out


def print_parameter_sweeps(calib: AgreementReport, sweeps: list[tuple], offset: int) -> None:
    """Pooled calibration agreement of each one-at-a-time candidate (configured threshold)."""
    assert calib.alternative_qualities is not None
    print("  pooled agreement by parameter (one at a time, the others as configured):")
    title_before = None
    for index, (title, value, config) in enumerate(sweeps):
        quality = calib.alternative_qualities[offset + index]
        agreement = np.mean((quality >= config.robust_threshold) == calib.lifted)
        if title != title_before:
            print(f"    {title}:", end="")
            title_before = title
        print(f"  {value:g}: {agreement:.1%}", end="")
        following = sweeps[index + 1][0] if index + 1 < len(sweeps) else None
        if following != title:
            print()


def parse_change(text: str) -> dict[str, object]:
    """`RobustnessConfig` field changes from "FIELD=VALUE" words (space-separated), each value
    read as its field's type; ValueError naming an unknown or repeated field or a bad value."""
    kinds = typing.get_type_hints(RobustnessConfig)
    changes: dict[str, object] = {}
    if not text.split():
        raise ValueError("a change needs at least one FIELD=VALUE")
    for word in text.split():
        name, equals, value = word.partition("=")
        if not equals or name not in kinds:
            raise ValueError(
                f"{word!r} is not FIELD=VALUE with a RobustnessConfig field "
                f"({', '.join(sorted(kinds))})"
            )
        if name in changes:
            raise ValueError(f"{name} is given twice in {text!r}")
        kind = kinds[name]
        if kind is bool:
            if value.lower() not in ("true", "false", "1", "0"):
                raise ValueError(f"{name} takes true or false, got {value!r}")
            changes[name] = value.lower() in ("true", "1")
            continue
        try:
            number = kind(value)
        except ValueError:
            number = float("nan")
        if not np.isfinite(number):
            raise ValueError(f"{name} takes finite {kind.__name__} values, got {value!r}")
        changes[name] = number
    replace(RobustnessConfig(), **changes)  # validates the values
    return changes


def relabel_records(records: list[dict[str, str]], configs: list[RobustnessConfig]) -> np.ndarray:
    """(C, N) bool: the N recorded grasps labelled again with each of the C configs, on the same
    objects, masses, settled poses and grasps as recorded (`grasp_records` columns), with the
    same perturbations for every config (a stream drawn from each object's family, seeds and
    mass scale)."""
    labels = np.zeros((len(configs), len(records)), dtype=bool)
    groups: dict[tuple[str, str, str, str], list[int]] = {}
    for index, record in enumerate(records):
        key = (record["family"], record["object_seed"], record["mass_scale"], record["settle_seed"])
        groups.setdefault(key, []).append(index)
    for (family, object_seed, mass_scale, settle_seed), rows in groups.items():
        model = scaled_mass(objects.generate_object(family, int(object_seed)), float(mass_scale))
        pose = settled_pose(model, int(settle_seed))
        if pose is None:
            raise ValueError(f"{model.name} does not settle with seed {settle_seed} any more")
        centers = np.array([records[i]["grasp_center_m"].split() for i in rows], dtype=float)
        axes = np.array([records[i]["grasp_axis"].split() for i in rows], dtype=float)
        widths = np.array([records[i]["grasp_width_m"] for i in rows], dtype=float)
        for c, config in enumerate(configs):
            evaluator = GraspQualityEvaluator.from_object_model(model, pose, config=config)
            stream = np.random.default_rng(
                [zlib.crc32(family.encode()), int(object_seed), int(settle_seed),
                 zlib.crc32(mass_scale.encode())]
            )  # fmt: skip
            labels[c, rows] = evaluator.evaluate(centers, axes, widths, stream).robust
    return labels


def print_relabelled(records: list[dict[str, str]], names: list[str], labels: np.ndarray) -> None:
    """Per record set (calibration, held-out) and label: pooled agreement with the recorded
    lifts, the confusion, and the agreement per family."""
    held = np.array([r["lift_held"] == "True" for r in records])
    sets = np.array([r["set"] for r in records])
    families = np.array([r["family"] for r in records])
    for name in dict.fromkeys(sets):
        chosen = sets == name
        print(f"{name}: {int(chosen.sum())} recorded grasps")
        for label_name, label in zip(names, labels, strict=True):
            agree = (label == held)[chosen]
            matrix = np.zeros((2, 2), dtype=int)
            np.add.at(matrix, (label[chosen].astype(int), held[chosen].astype(int)), 1)
            per_family = "  ".join(
                f"{family} {np.mean((label == held)[chosen & (families == family)]):.1%}"
                for family in dict.fromkeys(families[chosen])
            )
            print(f"  {label_name}: {agree.mean():.1%} {matrix.tolist()}")
            print(f"    {per_family}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calibration-families", nargs="+", default=list(CALIBRATION_FAMILIES))
    parser.add_argument("--test-families", nargs="+", default=list(TEST_FAMILIES))
    parser.add_argument("--calibration-grasps", type=int, default=80, help="per family")
    parser.add_argument("--test-grasps", type=int, default=80, help="per family")
    parser.add_argument(
        "--calibration-seeds", type=int, nargs="+", default=[0], help="pooled over these seeds"
    )
    parser.add_argument("--seed", type=int, default=1, help="seed of the test grasps")
    parser.add_argument(
        "--mass-scales",
        type=float,
        nargs="+",
        default=[1.0, 4.0, 11.0],
        help="the k-th object of a family has its part densities times scale k (mod the list), "
        "kept within the realistic maximum density",
    )
    parser.add_argument(
        "--weight-factor-candidates",
        type=float,
        nargs="+",
        default=[0.0, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0],
        help="RobustnessConfig.weight_safety_factor values swept on the calibration families "
        "(0: no weight step)",
    )
    parser.add_argument(
        "--perturbed-lifts",
        type=int,
        default=0,
        help="also lift this many copies of each test grasp drawn from the label's perturbation "
        "model, and compare the label with a robust lift (held in at least half of them)",
    )
    parser.add_argument(
        "--push-force-candidates",
        type=float,
        nargs="+",
        default=[0, 20, 100, 200, 500, 1000],
        help="RobustnessConfig.descent_push_force values (N)",
    )
    parser.add_argument(
        "--palm-stop-mm-candidates",
        type=float,
        nargs="+",
        default=[0, 2, 3, 5, 7],
        help="RobustnessConfig.palm_stop_tolerance values (mm)",
    )
    parser.add_argument(
        "--turn-step-deg-candidates",
        type=float,
        nargs="+",
        default=[0, 2.5, 5, 10],
        help="RobustnessConfig.squeeze_turn_step values (degrees; 0: no turn)",
    )
    parser.add_argument(
        "--weight-edge-candidates",
        type=int,
        nargs="+",
        default=[4, 8, 12],
        help="RobustnessConfig.weight_cone_edges values",
    )
    parser.add_argument(
        "--flush-mm-candidates",
        type=float,
        nargs="+",
        default=[0.1, 0.25, 0.5, 1],
        help="RobustnessConfig.flush_tolerance values (mm): the weight step's torsion lever",
    )
    parser.add_argument(
        "--rotation-max-deg-candidates",
        type=float,
        nargs="+",
        default=[30, 45, 60, 90],
        help="RobustnessConfig.squeeze_alignment_max_angle values (degrees): how far the "
        "squeeze rotates an object",
    )
    parser.add_argument(
        "--switch-candidates",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also sweep each on/off model option of the label (off and on)",
    )
    parser.add_argument(
        "--label",
        choices=("lift_calibrated", "defaults"),
        default="lift_calibrated",
        help="the configured label: RobustnessConfig.lift_calibrated() or RobustnessConfig()",
    )
    parser.add_argument(
        "--parameter-sweeps",
        action="store_true",
        help="also sweep the label's other parameters and model options on the calibration "
        "families (one label pass of every grasp per candidate)",
    )
    parser.add_argument(
        "--list-disagreements",
        action="store_true",
        help="list every held-out grasp on which label and lift disagree, and their counts by "
        "family, the label's deciding step and the lift's outcome",
    )
    parser.add_argument(
        "--records-csv", help="write every grasp's record (calibration and held-out) here"
    )
    parser.add_argument("--skip-timing", action="store_true")
    parser.add_argument(
        "--relabel",
        metavar="RECORDS_CSV",
        help="only label the grasps of a --records-csv file again, with the configured label and "
        "each --change, and compare them with the lifts it records (no lift is run)",
    )
    parser.add_argument(
        "--change",
        action="append",
        default=[],
        metavar='"FIELD=VALUE ..."',
        help="with --relabel: a label variant, the configured label with these RobustnessConfig "
        "fields changed (repeat for several variants; friction_coef changes only objects "
        "without a friction of their own)",
    )
    args = parser.parse_args()
    if args.change and not args.relabel:
        parser.error("--change needs --relabel")
    try:
        changes = [parse_change(text) for text in args.change]
    except ValueError as error:
        parser.error(f"--change: {error}")
    overlap = set(args.calibration_families) & set(args.test_families)
    if overlap:
        parser.error(f"calibration and test families must be disjoint; both have {overlap}")
    if args.calibration_grasps < 0 or args.test_grasps < 0:
        parser.error("--calibration-grasps and --test-grasps must be >= 0")
    if not args.skip_timing and not args.relabel:
        time_labels()
    default = (
        RobustnessConfig.lift_calibrated()
        if args.label == "lift_calibrated"
        else RobustnessConfig()
    )
    other = RobustnessConfig() if args.label == "lift_calibrated" else default.lift_calibrated()
    print(f"configured label: {args.label}")
    if args.relabel:
        with open(args.relabel, newline="") as stream:
            reader = csv.DictReader(stream)
            missing = set(RELABEL_COLUMNS) - set(reader.fieldnames or ())
            recorded = list(reader)
        if missing:
            parser.error(f"{args.relabel} lacks the record columns {sorted(missing)}")
        if not recorded:
            parser.error(f"{args.relabel} holds no grasp records")
        names = [args.label] + [
            " ".join(f"{k}={v}" for k, v in change.items()) for change in changes
        ]
        configs = [default] + [replace(default, **change) for change in changes]
        try:
            labels = relabel_records(recorded, configs)
        except (KeyError, ValueError) as error:  # a record this code cannot rebuild
            parser.error(f"{args.relabel}: {error}")
        print_relabelled(recorded, names, labels)
        return
    scales = tuple(args.mass_scales)
    records: list[dict[str, object]] = []
    if args.calibration_grasps > 0:
        factors = list(args.weight_factor_candidates)
        sweeps = parameter_sweeps(args, default) if args.parameter_sweeps else []
        candidates = (
            tuple(replace(default, weight_safety_factor=factor) for factor in factors)
            + tuple(config for _, _, config in sweeps)
            + (other,)
        )
        t0 = time.perf_counter()
        calib = AgreementReport.concatenate(
            [
                measure_family_agreement(
                    args.calibration_families,
                    args.calibration_grasps,
                    seed,
                    mass_scales=scales,
                    robustness_config=default,
                    alternative_configs=candidates,
                )
                for seed in args.calibration_seeds
            ]
        )
        seeds = " ".join(str(seed) for seed in args.calibration_seeds)
        print(f"\ncalibration seeds {seeds}, {time.perf_counter() - t0:.0f} s")
        print_families("calibration families, configured label", calib)
        if factors:
            print("  pooled agreement by weight safety factor (rows) and threshold (columns):")
            print("          " + "".join(f"{t:>9g}" for t in THRESHOLD_CANDIDATES))
            best = (-1.0, 0.0, 0.0)
            assert calib.alternative_qualities is not None
            for factor, quality in zip(factors, calib.alternative_qualities, strict=False):
                row = [np.mean((quality >= t) == calib.lifted) for t in THRESHOLD_CANDIDATES]
                print(f"  {factor:6g}  " + "".join(f"{a:9.1%}" for a in row))
                for threshold, agreement in zip(THRESHOLD_CANDIDATES, row, strict=True):
                    best = max(best, (float(agreement), factor, threshold))
            print(
                f"  best on calibration: factor {best[1]:g}, threshold {best[2]:g} "
                f"({best[0]:.1%}); configured: factor {default.weight_safety_factor:g}, "
                f"threshold {default.robust_threshold:g}"
            )
        if sweeps:
            print_parameter_sweeps(calib, sweeps, len(factors))
        assert calib.alternative_qualities is not None
        quality = calib.alternative_qualities[-1]
        agreement = np.mean((quality >= other.robust_threshold) == calib.lifted)
        name = (
            "RobustnessConfig() defaults" if args.label == "lift_calibrated" else "lift_calibrated"
        )
        print(f"  the other label ({name}) on the same grasps: {agreement:.1%}")
        print_disagreements(calib)
        records += grasp_records("calibration", calib)
    if args.test_grasps == 0:
        if args.records_csv:
            write_records(args.records_csv, records)
        return
    t0 = time.perf_counter()
    test = measure_family_agreement(
        args.test_families,
        args.test_grasps,
        args.seed,
        mass_scales=scales,
        robustness_config=default,
        perturbed_lifts=args.perturbed_lifts,
    )
    print(f"\ntest seed {args.seed} (held-out families, configured label), "
          f"{time.perf_counter() - t0:.0f} s")  # fmt: skip
    print_families("held-out test families", test)
    if args.perturbed_lifts > 0:  # at most one lift per perturbed copy the label draws
        print_lift_repeatability(test, min(args.perturbed_lifts, default.num_perturbations))
    print_disagreements(test)
    test_records = grasp_records("held_out", test)
    if args.list_disagreements:
        print_disagreement_records(test_records)
    if args.records_csv:
        write_records(args.records_csv, records + test_records)


if __name__ == "__main__":
    main()
