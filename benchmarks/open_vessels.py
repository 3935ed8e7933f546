"""Open vessels wider than the gripper's stroke: do the planners find and hold their rims?

Usage: .venv/bin/python benchmarks/open_vessels.py [--scenes 30] [--planners default prop_gqcnn]

A development set, not a benchmark family: straight-walled pots (`solids.mug_solid`, 0.5-0.8
of the stroke in radius) and flared pans (`extended_solids.revolved_shell_solid`, a straight
conical wall, rim 0.5-0.85 of the stroke in radius), in turn, each dropped, settled and seen by
a training camera profile (every shipped profile but the held-out RealSense D455) at a random
mounting, through the generalization benchmark's own scene, planners and lifts
(`tools.generalization`, the inference node's default judge and calibration). Only a pinch of
the wall fits such a vessel; one lying upside down has none. Prints, per scene and per planner,
the lift (S level, H held turned, - failed) with its opening and q, then the counts: found,
level, held (in the gripper off the table, level or not), and perturbed lifts held (of 4 each
held grasp). Beside the planners asked, the same process runs Prop+GQ-CNN with the depth
sampler's wall test off (`AntipodalConfig(wall_drop=0)`), as `prop_gqcnn, no wall test`.
"""

from __future__ import annotations

import argparse
from dataclasses import replace

import numpy as np

from gqstn_ros.detection import PlanningError
from gqstn_ros.gripper import load_gripper_profile
from gqstn_ros.planner_registry import load_planner, options_for
from gqstn_ros.profiles import load_camera_profile
from gqstn_ros.sim.objects import ObjectModel, Solid
from gqstn_ros.sim.objects.extended_solids import revolved_shell_solid
from gqstn_ros.sim.objects.mass import object_from_solid
from gqstn_ros.sim.objects.solids import mug_solid
from gqstn_ros.tools import generalization

TRAINING_CAMERAS = (
    "azure_kinect_nfov",
    "kinect_v1",
    "realsense_d415",
    "realsense_d435",
    "zivid_like",
)
FIRST_SEED = 91000  # vessel seeds are FIRST_SEED + scene index
NO_WALL_TEST = "prop_gqcnn, no wall test"


def straight_pot(rng: np.random.Generator, stroke: float) -> tuple[Solid, float]:
    """A pot's solid and its surface friction."""
    height = rng.uniform(0.4, 0.9) * stroke
    solid = mug_solid(
        radius=rng.uniform(0.5, 0.8) * stroke,
        height=height,
        wall=rng.uniform(0.03, 0.06) * stroke,
        bottom=rng.uniform(0.05, 0.1) * stroke,
        handle_reach=0.2 * stroke,
        handle_bar=0.07 * stroke,
        handle_height=0.5 * height,
        segments=24,
    )
    return solid, 0.5


def flared_pan(rng: np.random.Generator, stroke: float) -> tuple[Solid, float]:
    """A pan's solid and its surface friction."""
    rim = rng.uniform(0.5, 0.85) * stroke
    height = rng.uniform(0.25, 0.6) * stroke
    base = rng.uniform(0.4, 0.75) * rim
    floor = rng.uniform(0.04, 0.08) * stroke
    wall = rng.uniform(0.03, 0.06) * stroke
    at_floor = base + (rim - base) * floor / height
    outer = np.array([[base, 0.0], [at_floor, floor], [rim, height]])
    return revolved_shell_solid(outer, wall, floor), float(rng.uniform(0.35, 0.8))


def vessel(seed: int, stroke: float) -> ObjectModel:
    """A straight pot for an even seed, a flared pan for an odd one; 900-2400 kg/m^3."""
    rng = np.random.default_rng(seed)
    solid, friction = (flared_pan if seed % 2 else straight_pot)(rng, stroke)
    density = float(rng.uniform(900.0, 2400.0))
    return object_from_solid(
        f"vessel_{seed}", "vessel", seed, solid, density=density, friction=friction, stroke=stroke
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenes", type=int, default=30)
    parser.add_argument("--planners", nargs="+", default=["default", "prop_gqcnn"])
    args = parser.parse_args(argv)
    judge, calibration_dir = generalization.resolved_judge("", None, "", False)
    config = generalization.BenchmarkConfig(
        planners=tuple(args.planners), judge_model=judge, q_calibration_dir=calibration_dir
    )
    gripper = load_gripper_profile(config.gripper)
    planners = generalization.load_planners(config, gripper)
    options = options_for("prop_gqcnn", view_scale=config.view_scale)
    no_walls = load_planner("prop_gqcnn", gripper=gripper, **options)
    no_walls.config = replace(
        no_walls.config, antipodal=replace(no_walls.config.antipodal, wall_drop=0.0)
    )
    planners[NO_WALL_TEST] = lambda depth, intrinsics: no_walls.plan(depth, intrinsics)[0]
    totals = {name: np.zeros(4, dtype=int) for name in planners}  # found level held perturbed
    for index in range(args.scenes):
        seed = FIRST_SEED + index
        profile = load_camera_profile(TRAINING_CAMERAS[index % len(TRAINING_CAMERAS)])
        model = vessel(seed, gripper.max_width)
        view = generalization.render_view(profile, model, seed, np.random.default_rng([seed, 1]))
        if view is None:
            print(f"{index:3d} {profile.name}: did not settle")
            continue
        cells = []
        for name, plan in planners.items():
            try:
                grasp = plan(view.depth, view.intrinsics)
            except PlanningError as error:
                cells.append(f"{name}: none ({str(error)[:50]})")
                continue
            lifts = generalization.execute(
                grasp, view, gripper, config, np.random.default_rng([seed, 7])
            )
            totals[name] += (1, lifts.level, lifts.held, lifts.perturbed_held)
            mark = "S" if lifts.level else "H" if lifts.held else "-"
            cells.append(
                f"{name}: {mark}{lifts.perturbed_held} w{lifts.width_m * 1e3:.0f} "
                f"q{grasp.q_value:.2f}"
            )
        print(f"{index:3d} {profile.name:18s} " + " | ".join(cells), flush=True)
    print(f"\n{args.scenes} vessels")
    print("| planner | found | level | held | perturbed lifts held |")
    print("| --- | --- | --- | --- | --- |")
    for name, (found, level, held, perturbed) in totals.items():
        tried = config.perturbed_lifts * held
        print(f"| {name} | {found} | {level} | {held} | {perturbed} of {tried} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
