"""Procedural object generation per family: milliseconds per object, mesh and part counts, and
how many distinct objects the seeds give.

Usage: python benchmarks/object_generation.py [--seeds 200] [--first-seed 0]
       [--families composite tool ...] [--stroke 0.085]

For each family, objects `first_seed .. first_seed + seeds - 1` are generated one after the
other in this process (`generate_object`, wall time each, the first call of a family included).
Two objects are the same when their vertex arrays are equal (rounded to 1 nm); the total counts
distinct objects over all families. The load average is printed: on a shared machine the
timings are only comparable within one run.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import time

import numpy as np

from gqstn_ros.sim.objects import ALL_FAMILIES, STROKE, check_family, generate_object


def measure_family(family: str, seeds: range, stroke: float) -> dict[str, float]:
    """Timings (ms), largest triangle and part counts, and distinct shapes of one family."""
    times, triangles, parts, shapes = [], [], [], set()
    for seed in seeds:
        started = time.perf_counter()
        obj = generate_object(family, seed, stroke=stroke)
        times.append(1000.0 * (time.perf_counter() - started))
        triangles.append(len(obj.faces))
        parts.append(len(obj.convex_parts))
        rounded = np.round(obj.vertices, 9)
        shapes.add(hashlib.sha256(rounded.tobytes() + obj.faces.tobytes()).hexdigest())
    return {
        "mean_ms": float(np.mean(times)),
        "p95_ms": float(np.percentile(times, 95)),
        "max_ms": float(np.max(times)),
        "max_triangles": int(np.max(triangles)),
        "max_parts": int(np.max(parts)),
        "distinct": len(shapes),
        "shapes": shapes,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=200, help="objects per family")
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--families", nargs="*", default=list(ALL_FAMILIES))
    parser.add_argument("--stroke", type=float, default=STROKE, help="gripper stroke, m")
    args = parser.parse_args()
    if args.seeds < 1 or args.first_seed < 0:
        parser.error("--seeds must be >= 1 and --first-seed >= 0")
    try:
        for family in args.families:
            check_family(family)
    except ValueError as error:
        parser.error(str(error))
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"load average before: {load} ({os.cpu_count()} cores); {args.seeds} seeds per family, "
          f"stroke {args.stroke} m")  # fmt: skip
    print(f"{'family':13s} {'mean ms':>8s} {'p95 ms':>7s} {'max ms':>7s} {'tris':>5s} "
          f"{'parts':>5s} {'distinct':>8s}")  # fmt: skip
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    every: set[str] = set()
    total = 0
    for family in args.families:
        row = measure_family(family, seeds, args.stroke)
        every |= row["shapes"]
        total += len(seeds)
        print(
            f"{family:13s} {row['mean_ms']:8.1f} {row['p95_ms']:7.1f} {row['max_ms']:7.1f} "
            f"{row['max_triangles']:5d} {row['max_parts']:5d} {row['distinct']:5d}/{len(seeds)}"
        )
    print(f"distinct objects over all families: {len(every)} of {total}")


if __name__ == "__main__":
    main()
