"""Agreement of the robust label with a simulated MuJoCo lift, per object family, and label timing.

Usage: .venv/bin/python benchmarks/label_agreement.py
       [--calibration-families box cylinder ...] [--test-families composite tool ...]
       [--calibration-grasps 80] [--test-grasps 80] [--calibration-seed 0] [--seed 1]
       [--mass-scales 1 4 11] [--weight-factor-candidates 0 0.5 0.75 1 1.25 1.5 2]

Objects come from `gqstn_ros.sim.objects` (each family with its own materials and surface
friction), every k-th object of a family with its part densities times a mass scale (the
heavy-ended tools and composites and the long sticks then weigh enough for the weight step to
matter), dropped and settled on the table; grasps are sampled on the mesh and partly disturbed
(`lift_check.measure_family_agreement`). The lift closes the gripper with the same grip force
as the label (`GripperConfig.grip_force`).

Prints: the label's CPU time for 100 grasps x K perturbations on a ~2k-triangle mesh with and
without the weight step; on the calibration families, per family agreement and confusion, the
pooled agreement for every (weight safety factor, threshold) pair and why the label and lift
disagree; on the held-out test families, which never choose anything, per family agreement and
2x2 confusion with the configured label (`RobustnessConfig` defaults) and the pooled figure.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from dataclasses import replace

import numpy as np

from gqstn_ros.grasping import primitives
from gqstn_ros.grasping.lift_check import AgreementReport, measure_family_agreement
from gqstn_ros.grasping.mesh_geometry import TriangleMesh
from gqstn_ros.grasping.robustness import GraspQualityEvaluator, RobustnessConfig

THRESHOLD_CANDIDATES = (0.00005, 0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005)
# The original families (light, uniform density) plus none of the extended ones: every choice
# is made on these; the extended families (composites, heavy-headed tools, vessels, ...) are
# the held-out test.
CALIBRATION_FAMILIES = (
    "box", "cylinder", "sphere", "ellipsoid", "prism_convex", "prism_concave", "l_shape",
    "t_shape", "u_shape", "mug", "plate", "disc", "stick",
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
    for what, mass in (
        ("without the weight step (no mass)", None),
        ("with the weight step, 700 kg/m^3", 700.0 * volume),
        ("with the weight step, 8000 kg/m^3", 8000.0 * volume),
    ):
        t0 = time.process_time()
        evaluator = GraspQualityEvaluator(mesh, mass=mass)
        setup = time.process_time() - t0
        best = np.inf
        for _ in range(repeats):
            t0 = time.process_time()
            result = evaluator.evaluate(centers, axes, widths, rng=1)
            best = min(best, time.process_time() - t0)
        print(
            f"label CPU time {what}: {len(mesh.faces)} triangles, 100 grasps x K="
            f"{evaluator.config.num_perturbations}: best of {repeats} = {best * 1e3:.1f} ms "
            f"(evaluator setup incl. height map {setup * 1e3:.1f} ms); "
            f"{result.robust.mean():.0%} robust"
        )


def print_families(title: str, report: AgreementReport) -> None:
    """Per family: grasps, agreement, confusion [[no/fail, no/held], [yes/fail, yes/held]], and
    with perturbed lifts the agreement with the robust lift (held in at least half)."""
    robust = report.held_under_perturbation is not None
    print(f"{title}: {len(report.labels)} grasps, agreement {report.agreement:.1%}")
    print(
        "  family          n   agree  lifted  confusion [[label no: lift fail, held],"
        + ("   robust-lift agree" if robust else "")
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
        print(line)


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calibration-families", nargs="+", default=list(CALIBRATION_FAMILIES))
    parser.add_argument("--test-families", nargs="+", default=list(TEST_FAMILIES))
    parser.add_argument("--calibration-grasps", type=int, default=80, help="per family")
    parser.add_argument("--test-grasps", type=int, default=80, help="per family")
    parser.add_argument("--calibration-seed", type=int, default=0)
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
    parser.add_argument("--skip-timing", action="store_true")
    args = parser.parse_args()
    overlap = set(args.calibration_families) & set(args.test_families)
    if overlap:
        parser.error(f"calibration and test families must be disjoint; both have {overlap}")
    if args.calibration_grasps < 0 or args.test_grasps < 1:
        parser.error("--calibration-grasps must be >= 0 and --test-grasps >= 1")
    if not args.skip_timing:
        time_labels()
    default = RobustnessConfig()
    scales = tuple(args.mass_scales)
    if args.calibration_grasps > 0:
        candidates = tuple(
            replace(default, weight_safety_factor=factor)
            for factor in args.weight_factor_candidates
        )
        t0 = time.perf_counter()
        calib = measure_family_agreement(
            args.calibration_families,
            args.calibration_grasps,
            args.calibration_seed,
            mass_scales=scales,
            alternative_configs=candidates,
        )
        print(f"\ncalibration seed {args.calibration_seed}, {time.perf_counter() - t0:.0f} s")
        print_families("calibration families, configured label", calib)
        print("  pooled agreement by weight safety factor (rows) and threshold (columns):")
        print("          " + "".join(f"{t:>9g}" for t in THRESHOLD_CANDIDATES))
        best = (-1.0, 0.0, 0.0)
        assert calib.alternative_qualities is not None
        for factor, quality in zip(
            args.weight_factor_candidates, calib.alternative_qualities, strict=True
        ):
            row = [np.mean((quality >= t) == calib.lifted) for t in THRESHOLD_CANDIDATES]
            print(f"  {factor:6g}  " + "".join(f"{a:9.1%}" for a in row))
            for threshold, agreement in zip(THRESHOLD_CANDIDATES, row, strict=True):
                best = max(best, (float(agreement), factor, threshold))
        print(
            f"  best on calibration: factor {best[1]:g}, threshold {best[2]:g} ({best[0]:.1%}); "
            f"configured: factor {default.weight_safety_factor:g}, threshold "
            f"{default.robust_threshold:g}"
        )
        print_disagreements(calib)
    t0 = time.perf_counter()
    test = measure_family_agreement(
        args.test_families,
        args.test_grasps,
        args.seed,
        mass_scales=scales,
        perturbed_lifts=args.perturbed_lifts,
    )
    print(f"\ntest seed {args.seed} (held-out families, configured label), "
          f"{time.perf_counter() - t0:.0f} s")  # fmt: skip
    print_families("held-out test families", test)


if __name__ == "__main__":
    main()
