"""A picture sheet of sample depth images of every camera profile, on one settled scene.

Usage: python -m gqstn_ros.tools.camera_sheet --output docs/images/camera_views.png
       [--cameras kinect_v1 realsense_d415 ...] [--families mug composite tool]
       [--seed 0] [--height 0.70] [--window-m 0.30] [--gripper robotiq_2f85]

One object of each of `--families` (seeds seed, seed+1, ..., sized for the gripper's stroke) is
dropped on the MuJoCo table and settled (`gqstn_ros.tools.sensor_views`, the rendering path of the
generalization benchmark). Every camera profile (`config/cameras`) then looks straight down at
the objects from `--height` metres above the table, or from the nearest end of its mounting
range where that height lies outside it, renders depth at its own resolution and adds its own
sensor noise (`gqstn_ros.sim.sensor_models`). A row per camera: the raw frame as its driver
publishes it (holes in red), a close-up of `--window-m` metres about the objects, raw, and the
same close-up inpainted (`gqstn_ros.depth_processing.inpaint_depth`, as the depth node does).
Each panel is titled with the camera's name, resolution, focal length and height.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.patches import Rectangle

from gqstn_ros.depth_processing import inpaint_depth, invalid_mask
from gqstn_ros.profiles import (
    DEFAULT_GRIPPER_PROFILE,
    CameraProfile,
    ProfileError,
    camera_profile_names,
    load_camera_profile,
    load_gripper_profile,
)
from gqstn_ros.sim.objects import check_family, generate_object
from gqstn_ros.sim.world_config import CameraPose
from gqstn_ros.tools.sheets import new_sheet, report_written, save_sheet

DEFAULT_FAMILIES = ("mug", "composite", "tool")
DEFAULT_HEIGHT = 0.70  # m: inside the mounting range of every shipped camera
DEFAULT_WINDOW_M = 0.30  # m, side of the close-up at the table
# Depth above the table top that still counts as table (m): a straight-down camera sees the
# table top at its height, the floor 0.75 m further.
TABLE_BAND = 0.02
HOLE_COLOUR = "red"
COLUMNS = ("raw", "raw, close-up", "inpainted, close-up")


class SheetError(RuntimeError):
    """The scene cannot be shown (it does not settle on the table)."""


@dataclass(frozen=True)
class CameraSample:
    """One camera's frame of the scene.

    raw: (H, W) float32 metres with the sensor noise, 0 = hole. inpainted: raw with its holes
    filled. table: (H, W) bool, pixels whose clean depth is the table top (no object, not the
    floor). window: (row0, row1, col0, col1) of the close-up in the frame.
    """

    profile: CameraProfile
    height: float
    raw: np.ndarray
    inpainted: np.ndarray
    table: np.ndarray
    window: tuple[int, int, int, int]

    @property
    def table_depth(self) -> float:
        """Median raw depth over the valid table-top pixels (m): the height when looking down."""
        valid = self.table & ~invalid_mask(self.raw)
        return float(np.median(self.raw[valid])) if valid.any() else float("nan")

    @property
    def hole_share(self) -> float:
        """Share of the frame's pixels without depth."""
        return float(invalid_mask(self.raw).mean())

    def title(self) -> str:
        intrinsics = self.profile.intrinsics
        return (
            f"{self.profile.name}: {intrinsics.width}x{intrinsics.height}, "
            f"fx {intrinsics.fx:.0f} px, {self.height:.2f} m"
        )


def camera_height(profile: CameraProfile, requested: float) -> float:
    """`requested` where it lies in the profile's mounting range, else the nearest end of it."""
    low, high = profile.height_range
    return float(min(max(requested, low), high))


def close_up_window(
    profile: CameraProfile, height: float, window_m: float
) -> tuple[int, int, int, int]:
    """(row0, row1, col0, col1): a square of `window_m` metres at the table about the
    principal point (where a straight-down camera's axis meets the table), clipped to the
    frame."""
    intrinsics = profile.intrinsics
    half = max(1, round(window_m * intrinsics.fx / height / 2))
    u, v = round(intrinsics.cx), round(intrinsics.cy)
    return (
        max(0, v - half), min(intrinsics.height, v + half),
        max(0, u - half), min(intrinsics.width, u + half),
    )  # fmt: skip


def render_samples(
    cameras: Sequence[str],
    families: Sequence[str],
    seed: int = 0,
    height: float = DEFAULT_HEIGHT,
    window_m: float = DEFAULT_WINDOW_M,
    gripper: str = DEFAULT_GRIPPER_PROFILE,
) -> list[CameraSample]:
    """The scene of one object per family, settled once, seen by every camera in turn.

    Names are checked before any work (ProfileError, ValueError). Raises SheetError when the
    scene does not settle on the table. The same arguments give the same images."""
    profiles = [load_camera_profile(name) for name in cameras]
    for family in families:
        check_family(family)
    if not profiles or not families:
        raise ValueError("name at least one camera and one family")
    if not (height > 0 and window_m > 0):
        raise ValueError(f"height and window must be positive, got {height}, {window_m}")
    stroke = load_gripper_profile(gripper).max_width
    # Imported here: MuJoCo and its GL context are needed only from now on.
    from gqstn_ros.tools.sensor_views import render_sensor_view, settle_scene  # noqa: PLC0415

    models = [generate_object(f, seed + i, stroke=stroke) for i, f in enumerate(families)]
    scene = settle_scene(models, seed, [p.intrinsics for p in profiles])
    if scene is None:
        raise SheetError(f"the scene of seed {seed} did not settle on the table: try another seed")
    target = np.mean([scene.object_pose(i)[0][:2] for i in range(len(models))], axis=0)
    samples = []
    for index, profile in enumerate(profiles):
        mounted = camera_height(profile, height)
        pose = CameraPose.looking_down(
            height=mounted, target_x=float(target[0]), target_y=float(target[1])
        )
        view = render_sensor_view(scene, profile, pose, np.random.default_rng([seed, index]))
        table = (view.clean > 0) & (np.abs(view.clean - mounted) < TABLE_BAND)
        samples.append(
            CameraSample(
                profile=profile,
                height=mounted,
                raw=view.raw,
                inpainted=inpaint_depth(view.raw),
                table=table,
                window=close_up_window(profile, mounted, window_m),
            )
        )
    return samples


def _show(axes: Axes, depth: np.ndarray, limits: tuple[float, float], title: str) -> None:
    colours = colormaps["viridis_r"].with_extremes(bad=HOLE_COLOUR)
    shown = np.ma.masked_where(invalid_mask(depth), depth)
    axes.imshow(shown, cmap=colours, vmin=limits[0], vmax=limits[1], interpolation="nearest")
    axes.set_title(title, fontsize=7)
    axes.set_xticks([])
    axes.set_yticks([])


def write_sheet(
    samples: Sequence[CameraSample], output: str | Path, families: Sequence[str], window_m: float
) -> Path:
    """Draw a row per sample (raw frame, raw close-up, inpainted close-up) and save the PNG."""
    figure = new_sheet(len(samples), len(COLUMNS), (3.3, 2.45), dpi=110)
    for row, sample in enumerate(samples):
        r0, r1, c0, c1 = sample.window
        close_raw, close_filled = sample.raw[r0:r1, c0:c1], sample.inpainted[r0:r1, c0:c1]
        # Colours from the nearest object point to just below the table, per camera.
        near = float(np.percentile(close_filled, 0.5))
        limits = (near, sample.height + TABLE_BAND)
        panels = (
            (sample.raw, f"raw: {100 * sample.hole_share:.1f} % holes"),
            (close_raw, f"raw, {100 * window_m:.0f} cm close-up"),
            (close_filled, "inpainted, close-up"),
        )
        for column, (depth, caption) in enumerate(panels):
            axes = figure.add_subplot(len(samples), len(COLUMNS), row * len(COLUMNS) + column + 1)
            _show(axes, depth, limits, f"{sample.title()}\n{caption}")
            if column == 0:
                axes.add_patch(
                    Rectangle((c0, r0), c1 - c0, r1 - r0, fill=False, color="white", lw=0.8)
                )
    figure.subplots_adjust(left=0.01, right=0.99, bottom=0.01, top=0.935, wspace=0.05, hspace=0.3)
    return save_sheet(
        figure,
        output,
        f"Depth of one settled scene ({', '.join(families)}) by every camera profile, "
        f"with its sensor noise; red: no depth",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=Path("docs/images/camera_views.png"))
    parser.add_argument("--cameras", nargs="+", default=list(camera_profile_names()))
    parser.add_argument("--families", nargs="+", default=list(DEFAULT_FAMILIES))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--height", type=float, default=DEFAULT_HEIGHT, help="m above the table")
    parser.add_argument("--window-m", type=float, default=DEFAULT_WINDOW_M, help="close-up, m")
    parser.add_argument("--gripper", default=DEFAULT_GRIPPER_PROFILE, help="sizes the objects")
    args = parser.parse_args(argv)
    try:
        for name in args.cameras:
            load_camera_profile(name)
        for family in args.families:
            check_family(family)
        load_gripper_profile(args.gripper)
    except (ProfileError, ValueError) as error:
        parser.error(str(error))
    if args.seed < 0 or args.height <= 0 or args.window_m <= 0:
        parser.error("--seed must be >= 0, --height and --window-m > 0")
    started = time.perf_counter()
    try:
        samples = render_samples(
            args.cameras, args.families, args.seed, args.height, args.window_m, args.gripper
        )
    except SheetError as error:
        parser.exit(1, f"error: {error}\n")
    print(f"{'camera':18s} {'height m':>8s} {'table m':>8s} {'holes %':>7s}")
    for sample in samples:
        print(
            f"{sample.profile.name:18s} {sample.height:8.2f} {sample.table_depth:8.3f} "
            f"{100 * sample.hole_share:7.2f}"
        )
    path = write_sheet(samples, args.output, args.families, args.window_m)
    report_written(path, started)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
