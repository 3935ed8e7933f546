"""Cornell reader on PCD and rectangle files written in the released format."""

import math

import numpy as np
import pytest
from dataset_fixtures import write_cornell_scene

from gqstn_ros.datasets.readers.cornell import (
    CornellDataset,
    read_cornell_pcd,
    read_cornell_rectangles,
    read_cornell_sample,
)
from gqstn_ros.datasets.tensor_dataset import DatasetError

POINTS = [
    (600.0, 0.0, 0.0, 0),  # row 0, column 0
    (300.0, 400.0, 0.0, 641),  # row 1, column 1: range 500 mm
    (1924.064, -647.111, -119.4176, 25547),  # a line of the released pcd0100.txt
    (0.0, 0.0, 700.0, 480 * 640 - 1),  # last pixel
]
POSITIVE = [
    # axis-aligned: opening 40 along +u, jaw size 20
    "100 200",
    "140 200",
    "140 220",
    "100 220",
    # turned 45 degrees towards +v
    "10.0 10.0",
    "20.0 20.0",
    "15.0 25.0",
    "5.0 15.0",
    # released files have a few NaN corners: skipped
    "NaN NaN",
    "1 2",
    "3 4",
    "5 6",
]
NEGATIVE = ["300.5 100", "300.5 130", "290.5 130", "290.5 100"]


def test_reads_depth_and_rectangles(tmp_path):
    pcd = write_cornell_scene(tmp_path / "01", 100, POINTS, POSITIVE, NEGATIVE)
    sample = read_cornell_sample(pcd, load_rgb=True)
    assert sample.name == "pcd0100"
    assert sample.depth.shape == (480, 640) and sample.depth.dtype == np.float32
    assert sample.depth[0, 0] == pytest.approx(0.6)
    assert sample.depth[1, 1] == pytest.approx(0.5)
    row, col = divmod(25547, 640)
    assert sample.depth[row, col] == pytest.approx(
        math.sqrt(1924.064**2 + 647.111**2 + 119.4176**2) / 1000
    )
    assert sample.depth[479, 639] == pytest.approx(0.7)
    assert np.count_nonzero(sample.depth) == 4  # no point, no depth
    assert sample.rgb.shape == (480, 640, 3)

    aligned, turned = sample.positive
    assert aligned.center_px == (120.0, 210.0)
    assert aligned.angle == 0.0
    assert (aligned.width_px, aligned.height_px) == (40.0, 20.0)
    assert turned.center_px == (12.5, 17.5)
    assert turned.angle == pytest.approx(math.pi / 4)
    assert turned.width_px == pytest.approx(10 * math.sqrt(2))
    assert turned.height_px == pytest.approx(5 * math.sqrt(2))
    np.testing.assert_allclose(turned.corners(), [[10, 10], [20, 20], [15, 25], [5, 15]])
    (negative,) = sample.negative
    assert negative.center_px == (295.5, 115.0)
    assert negative.angle == pytest.approx(math.pi / 2)  # first edge along +v
    assert (negative.width_px, negative.height_px) == (30.0, 10.0)

    dataset = CornellDataset(tmp_path)
    assert len(dataset) == 1 and dataset[0].name == "pcd0100"


def test_pcd_errors_name_file_and_line(tmp_path):
    pcd = write_cornell_scene(tmp_path, 101, POINTS, POSITIVE, NEGATIVE)
    lines = pcd.read_text().splitlines()
    header_lines = 10
    broken = [*lines[: header_lines + 1], "1.0 2.0 3.0 0", *lines[header_lines + 1 :]]
    pcd.write_text("\n".join(broken) + "\n")
    with pytest.raises(DatasetError, match=r"pcd0101.txt:12: expected 5 values"):
        read_cornell_pcd(pcd)
    broken = [*lines[: header_lines + 1], "1.0 2.0 x 0 5", *lines[header_lines + 1 :]]
    pcd.write_text("\n".join(broken) + "\n")
    with pytest.raises(DatasetError, match=r"pcd0101.txt:12: not a number"):
        read_cornell_pcd(pcd)
    pcd.write_text("\n".join([*lines[:-1], "1.0 2.0 3.0 0 307200"]) + "\n")
    with pytest.raises(DatasetError, match=r"pcd0101.txt:14: pixel index 307200"):
        read_cornell_pcd(pcd)
    pcd.write_text("\n".join(lines[:-1]) + "\n")  # truncated
    with pytest.raises(DatasetError, match=r"declares POINTS 4, the file holds 3"):
        read_cornell_pcd(pcd)
    pcd.write_text("\n".join(lines[:9]) + "\n")
    with pytest.raises(DatasetError, match=r"no DATA line"):
        read_cornell_pcd(pcd)
    pcd.unlink()
    with pytest.raises(DatasetError, match=r"pcd0101.txt: point cloud file is missing"):
        read_cornell_pcd(pcd)


def test_rectangle_errors_name_file_and_line(tmp_path):
    path = tmp_path / "pcd0102cpos.txt"
    path.write_text("1 2\n3 4\n5 6\n7 8\n9 10\n")
    with pytest.raises(DatasetError, match=r"pcd0102cpos.txt:5: incomplete rectangle"):
        read_cornell_rectangles(path)
    path.write_text("1 2\n3 4 5\n5 6\n7 8\n")
    with pytest.raises(DatasetError, match=r"pcd0102cpos.txt:2: expected 'x y'"):
        read_cornell_rectangles(path)
    path.write_text("1 2\n3 4\n5 six\n7 8\n")
    with pytest.raises(DatasetError, match=r"pcd0102cpos.txt:3: not a number"):
        read_cornell_rectangles(path)
    pcd = write_cornell_scene(tmp_path / "scene", 103, POINTS, POSITIVE, NEGATIVE)
    (tmp_path / "scene" / "pcd0103cneg.txt").unlink()
    with pytest.raises(DatasetError, match=r"pcd0103cneg.txt: rectangle file is missing"):
        read_cornell_sample(pcd)
