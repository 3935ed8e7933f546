"""Read the Jacquard grasping dataset.

Layout (as released, and as read by GG-CNN's jacquard_data.py): one folder per object, holding
for each of its scenes `<i>_<object id>_<kind>` files::

    <i>_<id>_grasps.txt          one grasp a line: "x;y;theta;w;h"
    <i>_<id>_perfect_depth.tiff  float32 depth rendered without noise (1024 x 1024)
    <i>_<id>_stereo_depth.tiff   float32 depth from simulated stereo
    <i>_<id>_mask.png            object mask
    <i>_<id>_RGB.png             colour image

In a grasp line, (x, y) is the centre in pixels (x = column u, y = row v), theta the jaw axis
angle in degrees, w the jaw opening (along the axis) and h the jaw size, in pixels. Jacquard's
theta turns from +u towards +v (clockwise on screen): GG-CNN, whose angles turn from +u towards
-v, reads it as -theta. That is our convention, so angle = wrap(radians(theta)).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import cv2
import numpy as np

from gqstn_ros.datasets.readers import GraspDetectionSample, GraspRectangle
from gqstn_ros.datasets.tensor_dataset import DatasetError

GRASPS_SUFFIX = "_grasps.txt"
PERFECT_DEPTH_SUFFIX = "_perfect_depth.tiff"
STEREO_DEPTH_SUFFIX = "_stereo_depth.tiff"
MASK_SUFFIX = "_mask.png"
RGB_SUFFIX = "_RGB.png"
GRASP_LINE_VALUES = 5
DepthKind = Literal["perfect", "stereo"]


def read_jacquard_grasps(path: Path) -> tuple[GraspRectangle, ...]:
    """Parse a `<i>_<id>_grasps.txt` file (blank lines are skipped)."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError as error:
        raise DatasetError(f"{path}: grasp file is missing") from error
    except (OSError, UnicodeDecodeError) as error:
        raise DatasetError(f"{path}: grasp file is not readable text ({error})") from error
    grasps = []
    for line_number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        tokens = line.strip().split(";")
        if len(tokens) != GRASP_LINE_VALUES:
            raise DatasetError(
                f"{path}:{line_number}: expected 'x;y;theta;w;h', got {line.strip()!r}"
            )
        try:
            x, y, theta, width, height = (float(token) for token in tokens)
        except ValueError as error:
            raise DatasetError(f"{path}:{line_number}: not a number in {line.strip()!r}") from error
        if not np.all(np.isfinite([x, y, theta, width, height])) or width < 0 or height < 0:
            raise DatasetError(
                f"{path}:{line_number}: values must be finite and w, h >= 0: {line.strip()!r}"
            )
        grasps.append(GraspRectangle((x, y), np.deg2rad(theta), width, height))
    return tuple(grasps)


def _read_image(path: Path, flags: int, what: str) -> np.ndarray:
    if not path.is_file():
        raise DatasetError(f"{path}: {what} file is missing")
    image = cv2.imread(str(path), flags)
    if image is None:
        raise DatasetError(f"{path}: not a readable {what} image")
    return image


def read_jacquard_depth(path: Path) -> np.ndarray:
    """(H, W) float32 depth from a Jacquard TIFF, with non-finite values set to 0 (no data)."""
    path = Path(path)
    depth = _read_image(path, cv2.IMREAD_UNCHANGED, "depth")
    if depth.ndim != 2 or not np.issubdtype(depth.dtype, np.floating):
        raise DatasetError(
            f"{path}: expected a single-channel float depth image, got {depth.dtype} {depth.shape}"
        )
    depth = depth.astype(np.float32, copy=False)
    return np.where(np.isfinite(depth), depth, np.float32(0.0))


def jacquard_sample_name(grasps_path: Path) -> str:
    """`<i>_<id>` of a `<i>_<id>_grasps.txt` path."""
    name = Path(grasps_path).name
    if not name.endswith(GRASPS_SUFFIX):
        raise DatasetError(f"{grasps_path}: not a Jacquard grasp file (*{GRASPS_SUFFIX})")
    return name[: -len(GRASPS_SUFFIX)]


def read_jacquard_sample(
    grasps_path: Path,
    depth: DepthKind = "perfect",
    load_rgb: bool = False,
    load_mask: bool = False,
) -> GraspDetectionSample:
    """One Jacquard scene, named by its grasp file; the other files are found beside it."""
    grasps_path = Path(grasps_path)
    stem = grasps_path.parent / jacquard_sample_name(grasps_path)
    if depth not in ("perfect", "stereo"):
        raise ValueError(f"depth must be 'perfect' or 'stereo', got {depth!r}")
    depth_suffix = PERFECT_DEPTH_SUFFIX if depth == "perfect" else STEREO_DEPTH_SUFFIX
    depth_path = stem.with_name(stem.name + depth_suffix)
    depth_image = read_jacquard_depth(depth_path)
    rgb = mask = None
    if load_rgb:
        rgb_path = stem.with_name(stem.name + RGB_SUFFIX)
        bgr = _read_image(rgb_path, cv2.IMREAD_COLOR, "RGB")
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        if rgb.shape[:2] != depth_image.shape:
            raise DatasetError(f"{rgb_path}: size {rgb.shape[:2]} != depth {depth_image.shape}")
    if load_mask:
        mask_path = stem.with_name(stem.name + MASK_SUFFIX)
        mask = _read_image(mask_path, cv2.IMREAD_GRAYSCALE, "mask") > 0
        if mask.shape != depth_image.shape:
            raise DatasetError(f"{mask_path}: size {mask.shape} != depth {depth_image.shape}")
    return GraspDetectionSample(
        name=stem.name,
        depth=depth_image,
        positive=read_jacquard_grasps(grasps_path),
        rgb=rgb,
        mask=mask,
    )


class JacquardDataset:
    """All scenes under a Jacquard root (object folders at any depth below it), sorted."""

    def __init__(
        self,
        root: Path,
        depth: DepthKind = "perfect",
        load_rgb: bool = False,
        load_mask: bool = False,
    ) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise DatasetError(f"{self.root}: Jacquard folder is missing")
        self.grasp_files = sorted(self.root.rglob("*" + GRASPS_SUFFIX))
        if not self.grasp_files:
            raise DatasetError(f"{self.root}: no Jacquard grasp files (*{GRASPS_SUFFIX}) in it")
        self.depth, self.load_rgb, self.load_mask = depth, load_rgb, load_mask

    def __len__(self) -> int:
        return len(self.grasp_files)

    def __getitem__(self, index: int) -> GraspDetectionSample:
        return read_jacquard_sample(
            self.grasp_files[index], self.depth, self.load_rgb, self.load_mask
        )

    def __iter__(self) -> Iterator[GraspDetectionSample]:
        for index in range(len(self)):
            yield self[index]
