"""Read the Cornell grasping dataset.

Layout (as released, and as read by GG-CNN's cornell_data.py): numbered folders holding, per
scene XXXX::

    pcdXXXX.txt      point cloud, PCD v.7 ASCII: header (FIELDS x y z rgb index, ...,
                     POINTS n, DATA ascii), then one "x y z rgb index" line per point; x, y, z
                     in millimetres; index = row * 640 + column of the point's pixel
    pcdXXXXr.png     colour image, 640 x 480
    pcdXXXXcpos.txt  positive grasp rectangles, 4 lines "x y" (x = column, y = row) each
    pcdXXXXcneg.txt  negative grasp rectangles, same format

A rectangle's first edge (corner 0 -> 1) runs along the jaw axis: its length is the opening
(width_px) and its direction the grasp angle; the second edge (1 -> 2) gives the jaw size
(height_px). The depth image is built as GG-CNN does: the range sqrt(x² + y² + z²) of the point
at each pixel, in metres, 0 where no point falls. A few released rectangle files contain NaN
corners; such rectangles are skipped (as GG-CNN does), anything else malformed is an error.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from gqstn_ros.datasets.readers import GraspDetectionSample, GraspRectangle
from gqstn_ros.datasets.tensor_dataset import DatasetError

CORNELL_IMAGE_SHAPE = (480, 640)  # rows, columns
CORNELL_MM_PER_METRE = 1000.0
POSITIVE_SUFFIX = "cpos.txt"
NEGATIVE_SUFFIX = "cneg.txt"
RGB_SUFFIX = "r.png"
_PCD_NAME = re.compile(r"pcd\d{4}\.txt")
_CORNERS = 4


def _read_text(path: Path, what: str) -> str:
    try:
        return Path(path).read_text()
    except FileNotFoundError as error:
        raise DatasetError(f"{path}: {what} file is missing") from error
    except (OSError, UnicodeDecodeError) as error:
        raise DatasetError(f"{path}: {what} file is not readable text ({error})") from error


def rectangle_from_corners(corners: np.ndarray) -> GraspRectangle:
    """corners: (4, 2) (u, v) pixels in the Cornell order -> GraspRectangle."""
    corners = np.asarray(corners, dtype=np.float64).reshape(_CORNERS, 2)
    along = corners[1] - corners[0]
    return GraspRectangle(
        center_px=tuple(corners.mean(axis=0)),
        angle=math.atan2(along[1], along[0]),
        width_px=float(np.linalg.norm(along)),
        height_px=float(np.linalg.norm(corners[2] - corners[1])),
    )


def read_cornell_rectangles(path: Path) -> tuple[GraspRectangle, ...]:
    """Parse a pcdXXXXcpos.txt / cneg.txt file (blank lines are skipped)."""
    path = Path(path)
    lines = [
        (number, line.strip())
        for number, line in enumerate(_read_text(path, "rectangle").splitlines(), start=1)
        if line.strip()
    ]
    if len(lines) % _CORNERS:
        first = lines[len(lines) - len(lines) % _CORNERS][0]
        raise DatasetError(
            f"{path}:{first}: incomplete rectangle: {len(lines) % _CORNERS} corner lines "
            f"at the end, {_CORNERS} per rectangle"
        )
    rectangles = []
    for start in range(0, len(lines), _CORNERS):
        corners = np.empty((_CORNERS, 2))
        for corner, (number, line) in enumerate(lines[start : start + _CORNERS]):
            tokens = line.split()
            if len(tokens) != 2:
                raise DatasetError(f"{path}:{number}: expected 'x y', got {line!r}")
            try:
                corners[corner] = [float(token) for token in tokens]
            except ValueError as error:
                raise DatasetError(f"{path}:{number}: not a number in {line!r}") from error
            if np.any(np.isinf(corners[corner])):
                raise DatasetError(f"{path}:{number}: infinite corner coordinate {line!r}")
        if np.any(np.isnan(corners)):
            continue  # released with NaN corners: no usable rectangle
        rectangles.append(rectangle_from_corners(corners))
    return tuple(rectangles)


def read_cornell_pcd(path: Path, image_shape: tuple[int, int] = CORNELL_IMAGE_SHAPE) -> np.ndarray:
    """(rows, cols) float32 depth image, metres, from a Cornell ASCII PCD file."""
    path = Path(path)
    text = _read_text(path, "point cloud")
    lines = text.splitlines()
    header: dict[str, list[str]] = {}
    data_start = None
    for number, line in enumerate(lines, start=1):
        tokens = line.split()
        if not tokens or tokens[0].startswith("#"):
            continue
        header[tokens[0].upper()] = tokens[1:]
        if tokens[0].upper() == "DATA":
            data_start = number
            break
    if data_start is None:
        raise DatasetError(f"{path}: PCD header has no DATA line")
    if header["DATA"] != ["ascii"]:
        raise DatasetError(f"{path}:{data_start}: only 'DATA ascii' is supported")
    fields = header.get("FIELDS")
    if not fields or not {"x", "y", "z", "index"} <= set(fields):
        raise DatasetError(f"{path}: PCD FIELDS must include x y z index, got {fields}")
    columns = {name: fields.index(name) for name in ("x", "y", "z", "index")}
    body = lines[data_start:]
    if not any(line.strip() for line in body):
        points = np.zeros((0, len(fields)))
    else:
        try:
            points = np.loadtxt(io.StringIO("\n".join(body)), dtype=np.float64, ndmin=2)
        except ValueError:
            points = None
    if points is None or (points.size and points.shape[1] != len(fields)):
        for offset, line in enumerate(body):
            tokens = line.split()
            number = data_start + offset + 1
            if tokens and len(tokens) != len(fields):
                raise DatasetError(
                    f"{path}:{number}: expected {len(fields)} values ({' '.join(fields)})"
                )
            try:
                [float(token) for token in tokens]
            except ValueError as error:
                raise DatasetError(f"{path}:{number}: not a number in {line!r}") from error
        raise DatasetError(f"{path}: unreadable point data")
    points = points.reshape(-1, len(fields))
    declared = header.get("POINTS")
    if declared and (not declared[0].isdigit() or int(declared[0]) != len(points)):
        raise DatasetError(
            f"{path}: header declares POINTS {declared[0]}, the file holds {len(points)}"
        )
    rows, cols = image_shape
    index = points[:, columns["index"]]
    bad = np.flatnonzero((index != np.round(index)) | (index < 0) | (index >= rows * cols))
    if bad.size:
        number = data_start + _nonblank_line_offset(body, int(bad[0])) + 1
        raise DatasetError(
            f"{path}:{number}: pixel index {index[bad[0]]} outside a {rows} x {cols} image"
        )
    xyz = points[:, [columns["x"], columns["y"], columns["z"]]]
    depth = np.zeros(rows * cols, dtype=np.float32)
    depth[index.astype(np.int64)] = np.linalg.norm(xyz, axis=1) / CORNELL_MM_PER_METRE
    depth[~np.isfinite(depth)] = 0.0
    return depth.reshape(rows, cols)


def _nonblank_line_offset(lines: list[str], point: int) -> int:
    """Offset in `lines` of the point-th non-blank line."""
    seen = -1
    for offset, line in enumerate(lines):
        if line.strip():
            seen += 1
            if seen == point:
                return offset
    return len(lines)


def read_cornell_sample(pcd_path: Path, load_rgb: bool = False) -> GraspDetectionSample:
    """One Cornell scene, named by its pcdXXXX.txt; the other files are found beside it."""
    pcd_path = Path(pcd_path)
    stem = pcd_path.with_suffix("")
    depth = read_cornell_pcd(pcd_path)
    rgb = None
    if load_rgb:
        rgb_path = stem.with_name(stem.name + RGB_SUFFIX)
        if not rgb_path.is_file():
            raise DatasetError(f"{rgb_path}: RGB file is missing")
        bgr = cv2.imread(str(rgb_path), cv2.IMREAD_COLOR)
        if bgr is None:
            raise DatasetError(f"{rgb_path}: not a readable RGB image")
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    return GraspDetectionSample(
        name=stem.name,
        depth=depth,
        positive=read_cornell_rectangles(stem.with_name(stem.name + POSITIVE_SUFFIX)),
        negative=read_cornell_rectangles(stem.with_name(stem.name + NEGATIVE_SUFFIX)),
        rgb=rgb,
    )


class CornellDataset:
    """All Cornell scenes (pcdXXXX.txt) under a root, at any depth, sorted by path."""

    def __init__(self, root: Path, load_rgb: bool = False) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise DatasetError(f"{self.root}: Cornell folder is missing")
        self.pcd_files = sorted(
            path for path in self.root.rglob("pcd*.txt") if _PCD_NAME.fullmatch(path.name)
        )
        if not self.pcd_files:
            raise DatasetError(f"{self.root}: no Cornell point clouds (pcdXXXX.txt) in it")
        self.load_rgb = load_rgb

    def __len__(self) -> int:
        return len(self.pcd_files)

    def __getitem__(self, index: int) -> GraspDetectionSample:
        return read_cornell_sample(self.pcd_files[index], self.load_rgb)

    def __iter__(self) -> Iterator[GraspDetectionSample]:
        for index in range(len(self)):
            yield self[index]
