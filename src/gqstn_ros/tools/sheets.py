"""Picture sheets: a grid of small titled panels saved as one PNG for the documentation.

Used by `benchmarks/object_sheet.py` (docs/images/object_families.png) and
`gqstn_ros.tools.camera_sheet` (docs/images/camera_views.png). Figures are made without pyplot
(no global figure state, no display needed) and rendered by Agg.
"""

from __future__ import annotations

import time
from pathlib import Path

from matplotlib.figure import Figure

SHEET_DPI = 90


def new_sheet(
    rows: int, columns: int, panel_size: tuple[float, float], dpi: int = SHEET_DPI
) -> Figure:
    """An empty figure for `rows` x `columns` panels of `panel_size` (width, height) inches."""
    if rows < 1 or columns < 1:
        raise ValueError(f"a sheet needs at least one row and one column, got {rows}x{columns}")
    width, height = panel_size
    return Figure(figsize=(width * columns, height * rows), dpi=dpi)


def save_sheet(figure: Figure, output: str | Path, title: str, title_size: float = 11) -> Path:
    """Give `figure` its title and write it as PNG to `output` (parent folders are made);
    returns the path written."""
    path = Path(output)
    figure.suptitle(title, fontsize=title_size)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png")
    return path


def report_written(path: str | Path, started: float) -> None:
    """Print where a sheet went and how long it took since `started` (time.perf_counter())."""
    print(f"wrote {path} ({time.perf_counter() - started:.1f} s)")
