"""Agreement of the robust Ferrari-Canny label with a simulated MuJoCo lift, and label timing.

Usage: PYTHONPATH=src python benchmarks/label_agreement.py [--grasps 300] [--seed 1]
       [--calibration-seed 0] [--calibration-grasps 150] [--extra-calibration-seeds 2 3]
       [--perturbed-lifts 5] [--alignment-candidates 0 20 30 45 60]

Prints: the label timing for 100 grasps x K perturbations on a ~2k-triangle mesh, the
threshold sweep on the calibration seed (and, with --extra-calibration-seeds, pooled over it
and those seeds, --grasps each; with --alignment-candidates, the pooled agreement of each
squeeze-alignment limit), and agreement + confusion matrix on the test seed (with the
configured threshold, never tuned on the test seed).
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from dataclasses import replace

import numpy as np

from gqstn_ros.grasping import primitives
from gqstn_ros.grasping.lift_check import measure_label_agreement
from gqstn_ros.grasping.mesh_geometry import TriangleMesh
from gqstn_ros.grasping.robustness import GraspQualityEvaluator, RobustnessConfig

THRESHOLD_CANDIDATES = (
    0.00001,
    0.00005,
    0.0001,
    0.0002,
    0.0005,
    0.001,
    0.002,
    0.003,
    0.005,
    0.0075,
    0.01,
    0.02,
)


def time_labels(repeats: int = 3) -> None:
    shape = primitives.cylinder(0.03, 0.08, segments=500)  # 2000 triangles
    pose = primitives.resting_pose(shape.vertices)
    mesh = TriangleMesh(shape.vertices, shape.faces).transformed(pose)
    t0 = time.perf_counter()
    evaluator = GraspQualityEvaluator(mesh)
    setup = time.perf_counter() - t0
    rng = np.random.default_rng(0)
    count = 100
    angle = rng.uniform(0, np.pi, count)
    centers = np.column_stack([rng.normal(0, 0.005, (count, 2)), rng.uniform(0.01, 0.07, count)])
    axes = np.column_stack([np.cos(angle), np.sin(angle), np.zeros(count)])
    widths = np.full(count, 0.075)
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = evaluator.evaluate(centers, axes, widths, rng=1)
        best = min(best, time.perf_counter() - t0)
    print(
        f"label timing: {len(mesh.faces)} triangles, 100 grasps x K="
        f"{evaluator.config.num_perturbations}: best of {repeats} = {best * 1e3:.1f} ms "
        f"(evaluator setup incl. height map {setup * 1e3:.1f} ms); "
        f"{result.robust.mean():.0%} robust"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--grasps", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--calibration-grasps", type=int, default=150)
    parser.add_argument("--calibration-seed", type=int, default=0)
    parser.add_argument("--extra-calibration-seeds", type=int, nargs="*", default=[])
    parser.add_argument(
        "--perturbed-lifts",
        type=int,
        default=0,
        help="also lift this many copies of each test grasp drawn from the label's perturbation "
        "model, and compare the label with a robust lift (held in at least half of them)",
    )
    parser.add_argument(
        "--alignment-candidates",
        type=float,
        nargs="*",
        default=[],
        metavar="DEG",
        help="on the calibration seeds, also label with these squeeze_alignment_max_angle "
        "values (degrees; 0: no squeeze alignment) and print the pooled agreement of each",
    )
    args = parser.parse_args()
    time_labels()
    threshold = RobustnessConfig().robust_threshold
    candidates = tuple(
        replace(RobustnessConfig(), squeeze_alignment_max_angle=float(np.deg2rad(degrees)))
        for degrees in args.alignment_candidates
    )
    if args.calibration_grasps > 0:
        calib = measure_label_agreement(
            args.calibration_grasps, args.calibration_seed, alternative_configs=candidates
        )
        print(
            f"calibration seed {args.calibration_seed}: {len(calib.labels)} grasps, "
            f"{calib.lifted.mean():.0%} lifted"
        )
        reports = [calib]
        for seed in args.extra_calibration_seeds:
            if seed == args.seed:
                parser.error(f"calibration seed {seed} is the test seed")
            reports.append(
                measure_label_agreement(args.grasps, seed, alternative_configs=candidates)
            )
        for candidate in THRESHOLD_CANDIDATES:
            line = f"  threshold {candidate:<7}: agreement {calib.agreement_at(candidate):.1%}"
            if len(reports) > 1:
                agreeing = sum(r.agreement_at(candidate) * len(r.labels) for r in reports)
                pooled = agreeing / sum(len(r.labels) for r in reports)
                line += f", pooled over seeds {args.calibration_seed} and "
                line += f"{' '.join(map(str, args.extra_calibration_seeds))}: {pooled:.1%}"
            print(line)
        lifted = np.concatenate([r.lifted for r in reports])
        for index, degrees in enumerate(args.alignment_candidates):
            quality = np.concatenate([r.alternative_qualities[index] for r in reports])
            print(
                f"  squeeze alignment up to {degrees:g} deg, threshold {threshold}: agreement "
                f"{np.mean((quality >= threshold) == lifted):.1%} over {len(lifted)} "
                "calibration grasps"
            )
    t0 = time.perf_counter()
    report = measure_label_agreement(args.grasps, args.seed, perturbed_lifts=args.perturbed_lifts)
    elapsed = time.perf_counter() - t0
    print(
        f"test seed {args.seed}: {len(report.labels)} grasps on "
        f"{dict(Counter(report.object_names))}, {elapsed:.1f} s"
    )
    print(f"threshold {threshold}: label/lift agreement {report.agreement:.1%}")
    matrix = report.confusion
    print("confusion (rows: label not robust / robust; columns: lift failed / held):")
    print(f"  label not robust: {matrix[0, 0]:4d} {matrix[0, 1]:4d}")
    print(f"  label robust:     {matrix[1, 0]:4d} {matrix[1, 1]:4d}")
    missed = ~report.labels & report.lifted  # label "not robust", yet the lift held
    blocked = missed & ~report.nominal_collision_free
    no_closure = missed & report.nominal_collision_free
    print(
        f"label not robust but lift held ({missed.sum()}): the label's descent check blocks the "
        f"unperturbed grasp {blocked.sum()}, collision free but no force closure "
        f"{no_closure.sum()} (force closure in no perturbed copy: "
        f"{(no_closure & (report.force_closure_rate == 0)).sum()})"
    )
    for kind, mask in (("blocked", blocked), ("no closure", no_closure)):
        counts = Counter(np.array(report.object_names)[mask].tolist())
        print(f"  {kind:10s} by object: {dict(sorted(counts.items()))}")
    if report.held_under_perturbation is not None:
        robust_lift = report.held_under_perturbation >= 0.5
        matrix = np.zeros((2, 2), dtype=np.int64)
        np.add.at(matrix, (report.labels.astype(int), robust_lift.astype(int)), 1)
        print(
            f"robust lift ({args.perturbed_lifts} perturbed copies each, held in at least half): "
            f"{robust_lift.mean():.0%} of grasps; label/robust-lift agreement "
            f"{report.robust_lift_agreement:.1%}; single lift vs robust lift "
            f"{np.mean(report.lifted == robust_lift):.1%}"
        )
        print(f"  label not robust: {matrix[0, 0]:4d} {matrix[0, 1]:4d}")
        print(f"  label robust:     {matrix[1, 0]:4d} {matrix[1, 1]:4d}")
    for name in sorted(set(report.object_names)):
        mask = np.array(report.object_names) == name
        print(
            f"  {name:15s} n={mask.sum():3d} agreement "
            f"{np.mean(report.labels[mask] == report.lifted[mask]):.1%}"
        )


if __name__ == "__main__":
    main()
