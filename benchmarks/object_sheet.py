"""A picture sheet of the procedural object families: a few sample objects of every family.

Usage: python benchmarks/object_sheet.py --output docs/images/object_families.png
       [--samples 3] [--first-seed 0] [--families box mug tool ...] [--stroke 0.085]

Each panel draws one object's mesh (matplotlib 3-D, faces shaded by their normal, faces
turned away from the viewer left out) scaled to fit the panel, with its family, seed, size (mm)
and mass (g); the red dot is its centre of mass (the object frame's origin), drawn on top.
Families follow `ALL_FAMILIES`, three to a row.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from matplotlib import colormaps
from matplotlib.axes import Axes
from mpl_toolkits.mplot3d.art3d import Poly3DCollection

from gqstn_ros.sim.objects import (
    ALL_FAMILIES,
    STROKE,
    ObjectModel,
    check_family,
    generate_object,
)
from gqstn_ros.tools.sheets import new_sheet, report_written, save_sheet

FAMILIES_PER_ROW = 3
# Light direction for the face shading (object frame, unit).
LIGHT = np.array([0.4, -0.5, 0.77]) / np.linalg.norm([0.4, -0.5, 0.77])
ELEVATION, AZIMUTH = 28.0, -58.0  # view, degrees
# Unit vector from the object towards the viewer.
EYE = np.array(
    [
        np.cos(np.radians(ELEVATION)) * np.cos(np.radians(AZIMUTH)),
        np.cos(np.radians(ELEVATION)) * np.sin(np.radians(AZIMUTH)),
        np.sin(np.radians(ELEVATION)),
    ]
)


def _draw(axes: Axes, obj: ObjectModel, colour: np.ndarray, title: str) -> None:
    triangles = obj.vertices[obj.faces]
    normals = np.cross(triangles[:, 1] - triangles[:, 0], triangles[:, 2] - triangles[:, 0])
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    facing = normals @ EYE > 0  # a closed mesh shows only the faces turned to the viewer
    shade = 0.35 + 0.65 * np.clip(normals[facing] @ LIGHT, 0.0, 1.0)
    colours = np.clip(colour[None, :] * shade[:, None], 0.0, 1.0)
    faces = Poly3DCollection(triangles[facing], linewidths=0.3, zorder=1)
    faces.set_facecolor(colours)
    faces.set_edgecolor(colours)  # no hairline gaps between neighbouring faces
    axes.computed_zorder = False  # keep the centre-of-mass dot above the mesh
    axes.add_collection3d(faces)
    centre = (obj.vertices.max(axis=0) + obj.vertices.min(axis=0)) / 2
    half = obj.extents.max() / 2
    for set_limits, c in zip((axes.set_xlim, axes.set_ylim, axes.set_zlim), centre, strict=True):
        set_limits(c - half, c + half)
    axes.set_box_aspect((1.0, 1.0, 1.0))
    axes.scatter([0.0], [0.0], [0.0], color="red", s=8, depthshade=False, zorder=2)
    axes.view_init(elev=ELEVATION, azim=AZIMUTH)
    axes.set_axis_off()
    size = "x".join(f"{1000 * e:.0f}" for e in obj.extents)
    grams = 1000 * obj.mass
    mass = f"{grams:.1f} g" if grams < 10 else f"{grams:.0f} g"
    axes.set_title(f"\nseed {obj.seed}: {size} mm, {mass}", fontsize=6, pad=-2)
    if title:
        axes.text2D(0.02, 1.1, title, transform=axes.transAxes, fontsize=8, fontweight="bold")


def render_sheet(
    families: tuple[str, ...], samples: int, first_seed: int, stroke: float, output: str
) -> None:
    """Draw `samples` objects (seeds first_seed ...) of each family and save the sheet."""
    rows = -(-len(families) // FAMILIES_PER_ROW)
    columns = FAMILIES_PER_ROW * samples
    figure = new_sheet(rows, columns, (1.75, 1.9))
    palette = colormaps["tab20"]
    for index, family in enumerate(families):
        row, slot = divmod(index, FAMILIES_PER_ROW)
        colour = np.array(palette(index % 20)[:3])
        for sample in range(samples):
            axes = figure.add_subplot(
                rows, columns, row * columns + slot * samples + sample + 1, projection="3d"
            )
            obj = generate_object(family, first_seed + sample, stroke=stroke)
            _draw(axes, obj, colour, family if sample == 0 else "")
    figure.subplots_adjust(left=0.01, right=0.99, bottom=0.01, top=0.95, wspace=0.0, hspace=0.25)
    save_sheet(
        figure,
        output,
        f"Procedural object families ({len(families)}), sized for a {1000 * stroke:.0f} mm "
        "stroke; red dot: centre of mass",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default="docs/images/object_families.png")
    parser.add_argument("--samples", type=int, default=3, help="objects per family")
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--families", nargs="*", default=list(ALL_FAMILIES))
    parser.add_argument("--stroke", type=float, default=STROKE, help="gripper stroke, m")
    args = parser.parse_args()
    if args.samples < 1 or args.first_seed < 0:
        parser.error("--samples must be >= 1 and --first-seed >= 0")
    try:
        for family in args.families:
            check_family(family)
    except ValueError as error:
        parser.error(str(error))
    started = time.perf_counter()
    render_sheet(tuple(args.families), args.samples, args.first_seed, args.stroke, args.output)
    report_written(args.output, started)


if __name__ == "__main__":
    main()
