"""The synthetic grasp world end to end, one scene per object family, with figures.

For every scene: a procedural object is dropped on the table and settles (MuJoCo physics), the
simulated Kinect renders it (OpenGL, or ray casting without GL) and adds structured-light
noise and holes, the holes are inpainted, antipodal grasps are sampled on the inpainted depth
image, and each grasp is labelled by the robust Ferrari-Canny metric on the object's true 3-D
mesh. Prints a table per family and writes `summary.json` and `preview.png` to the output
folder. This is the main job until the simulated physical benchmark lands.

Usage: python -m gqstn_ros.tools.world_preview [--scenes-per-family 2] [--grasps 100]
       [--output runs/world_preview] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

from gqstn_ros.depth_processing import inpaint_depth, invalid_mask
from gqstn_ros.grasping.antipodal import sample_antipodal_depth
from gqstn_ros.grasping.grasp import grasps_2d_to_3d
from gqstn_ros.grasping.robustness import GraspQualityEvaluator
from gqstn_ros.gripper import GripperConfig, default_gripper
from gqstn_ros.profiles import DEFAULT_GRIPPER_PROFILE, ProfileError, load_gripper_profile
from gqstn_ros.sim.camera import DepthCamera
from gqstn_ros.sim.objects import FAMILIES, generate_object
from gqstn_ros.sim.scene import Scene
from gqstn_ros.sim.sensor_models import apply_sensor_noise
from gqstn_ros.sim.world_config import WorldConfig


@dataclass
class SceneReport:
    family: str
    seed: int
    settled: bool
    settle_message: str
    render_backend: str
    invalid_ratio: float  # share of pixels the simulated Kinect left without depth
    inpaint_mae_mm: float  # mean |inpainted - clean| over the holes, millimetres
    candidates: int  # antipodal grasps found on the depth image
    robust: int  # of those, robust by the physical metric on the true mesh
    best_quality: float
    times_ms: dict[str, float]


def run_scene(
    family: str,
    seed: int,
    config: WorldConfig,
    grasps: int,
    gripper: GripperConfig | None = None,
) -> tuple[SceneReport, dict]:
    """One scene end to end; returns its report and the images for the preview."""
    times: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        times[name] = (now - clock) * 1e3
        clock = now

    gripper = gripper if gripper is not None else default_gripper()
    model = generate_object(family, seed)
    scene = Scene.build([model], config, seed)
    settle = scene.settle()
    lap("settle")
    with DepthCamera(scene) as camera:
        frame = camera.render()
    lap("render")
    noisy = apply_sensor_noise(frame.depth, frame.intrinsics, config.noise, seed)
    lap("noise")
    filled = inpaint_depth(noisy)
    lap("inpaint")
    holes = invalid_mask(noisy) & (frame.depth > 0)
    mae_mm = float(np.abs(filled[holes] - frame.depth[holes]).mean() * 1e3) if holes.any() else 0.0
    rng = np.random.default_rng(seed)
    candidates = sample_antipodal_depth(filled, frame.intrinsics, gripper, grasps, rng)
    lap("sample")
    robust_count, best_quality, best_index, robust_flags = 0, 0.0, -1, np.zeros(0, bool)
    if len(candidates):
        centers_c, axes_c, widths = grasps_2d_to_3d(
            candidates.centers_px,
            candidates.angles,
            candidates.widths_px,
            candidates.depths,
            frame.intrinsics,
        )
        world_from_camera = frame.pose.transform
        centers_w = centers_c @ world_from_camera[:3, :3].T + world_from_camera[:3, 3]
        axes_w = axes_c @ world_from_camera[:3, :3].T
        evaluator = GraspQualityEvaluator.from_object(
            model.vertices, model.faces, scene.object_transform(0), gripper
        )
        result = evaluator.evaluate(centers_w, axes_w, widths, rng=seed)
        robust_flags = np.asarray(result.robust, dtype=bool)
        robust_count = int(robust_flags.sum())
        best_index = int(np.argmax(result.robust_quality))
        best_quality = float(result.robust_quality[best_index])
    lap("label")
    report = SceneReport(
        family=family,
        seed=seed,
        settled=settle.ok,
        settle_message=settle.message,
        render_backend=frame.backend,
        invalid_ratio=float(invalid_mask(noisy).mean()),
        inpaint_mae_mm=mae_mm,
        candidates=len(candidates),
        robust=robust_count,
        best_quality=best_quality,
        times_ms=times,
    )
    images = {
        "noisy": noisy,
        "filled": filled,
        "candidates": candidates,
        "robust": robust_flags,
        "best": best_index,
    }
    return report, images


def draw_preview(images: dict, size: int = 240) -> np.ndarray:
    """An 8-bit BGR tile: the noisy frame (holes black) beside the inpainted one with grasps."""
    noisy, filled = images["noisy"], images["filled"]
    near, far = np.percentile(filled, 1), np.percentile(filled, 99) + 1e-6

    def to_gray(depth: np.ndarray) -> np.ndarray:
        scaled = np.clip((far - depth) / (far - near), 0, 1) * 255
        gray = np.where(depth > 0, scaled, 0).astype(np.uint8)
        return cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)

    left, right = to_gray(noisy), to_gray(filled)
    candidates = images["candidates"]
    for index in range(len(candidates)):
        robust = bool(images["robust"][index]) if len(images["robust"]) else False
        (u0, v0), (u1, v1) = candidates.contacts_px[index]
        colour = (0, 200, 0) if robust else (0, 0, 200)
        thickness = 3 if index == images["best"] else 1
        cv2.line(right, (int(u0), int(v0)), (int(u1), int(v1)), colour, thickness)
    # The central half of the frame: the drop area, where the object lies.
    height, width = noisy.shape
    window = (slice(height // 4, 3 * height // 4), slice(width // 4, 3 * width // 4))
    tile = np.hstack([left[window], right[window]])
    return cv2.resize(tile, (2 * size, size * height // width))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes-per-family", type=int, default=2)
    parser.add_argument("--grasps", type=int, default=100, help="antipodal samples per image")
    parser.add_argument("--families", nargs="*", default=list(FAMILIES))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", type=Path, default=Path("runs/world_preview"))
    parser.add_argument(
        "--gripper",
        default=DEFAULT_GRIPPER_PROFILE,
        help="gripper profile: a name under config/grippers or a YAML file path",
    )
    args = parser.parse_args(argv)
    if args.scenes_per_family < 1 or args.grasps < 1:
        parser.error("--scenes-per-family and --grasps must be >= 1")
    try:
        gripper = load_gripper_profile(args.gripper)
    except ProfileError as error:
        parser.error(f"--gripper: {error}")
    config = WorldConfig()
    args.output.mkdir(parents=True, exist_ok=True)
    reports: list[SceneReport] = []
    tiles: list[np.ndarray] = []
    total = len(args.families) * args.scenes_per_family
    print(f"synthetic grasp world: {total} scenes, {args.grasps} antipodal samples per image")
    for family_index, family in enumerate(args.families):
        for repeat in range(args.scenes_per_family):
            seed = args.seed + 1000 * repeat + family_index
            report, images = run_scene(family, seed, config, args.grasps, gripper)
            reports.append(report)
            if repeat == 0:
                tiles.append(draw_preview(images))
            print(
                f"[{len(reports):3d}/{total}] {family:13s} seed {seed:5d}: "
                f"{'settled' if report.settled else 'NOT settled'}, "
                f"{report.candidates:3d} grasps, {report.robust:3d} robust, "
                f"{sum(report.times_ms.values()):6.0f} ms ({report.render_backend})",
                flush=True,
            )
    print_summary(reports)
    summary = {
        "scenes": [asdict(r) for r in reports],
        "config": {"grasps": args.grasps, "gripper": gripper.to_dict()},
    }
    (args.output / "summary.json").write_text(json.dumps(summary, indent=2))
    columns = 3
    while len(tiles) % columns:
        tiles.append(np.zeros_like(tiles[0]))
    rows = [np.hstack(tiles[i : i + columns]) for i in range(0, len(tiles), columns)]
    cv2.imwrite(str(args.output / "preview.png"), np.vstack(rows))
    print(f"wrote {args.output / 'summary.json'} and {args.output / 'preview.png'}")
    return 0


def print_summary(reports: list[SceneReport]) -> None:
    by_family: dict[str, list[SceneReport]] = defaultdict(list)
    for report in reports:
        by_family[report.family].append(report)
    print()
    header = f"{'family':13s} {'scenes':>6s} {'holes %':>7s} {'fill mm':>7s} {'grasps':>6s} "
    print(header + f"{'robust %':>8s}")
    for family, group in by_family.items():
        grasps = sum(r.candidates for r in group)
        robust = sum(r.robust for r in group)
        print(
            f"{family:13s} {len(group):6d} {100 * np.mean([r.invalid_ratio for r in group]):7.2f} "
            f"{np.mean([r.inpaint_mae_mm for r in group]):7.2f} {grasps:6d} "
            f"{100 * robust / max(grasps, 1):8.1f}"
        )
    stages = reports[0].times_ms.keys()
    medians = {s: float(np.median([r.times_ms[s] for r in reports])) for s in stages}
    print("median ms per scene: " + ", ".join(f"{s} {m:.1f}" for s, m in medians.items()))
    per_image = float(np.median([sum(r.times_ms.values()) for r in reports]))
    print(f"labelled images per second (1 process): {1e3 / per_image:.2f}")


if __name__ == "__main__":
    raise SystemExit(main())
