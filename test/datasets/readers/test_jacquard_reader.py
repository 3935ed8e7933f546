"""Jacquard reader on an object folder written in the released format."""

import math

import numpy as np
import pytest
from dataset_fixtures import write_jacquard_scene

from gqstn_ros.datasets.readers.jacquard import (
    JacquardDataset,
    read_jacquard_grasps,
    read_jacquard_sample,
)
from gqstn_ros.datasets.tensor_dataset import DatasetError

OBJECT_ID = "1a0c94a2e3e67e4a2e4877b52b3fca7"


def make_depth(shape=(64, 80)):
    depth = np.full(shape, 1.5, np.float32)
    depth[20:40, 30:50] = 1.42
    return depth


def test_reads_depth_and_grasps_in_our_convention(tmp_path):
    depth = make_depth()
    stereo = depth + np.float32(0.01)
    stereo[0, 0] = np.nan  # stereo holes
    grasps_file = write_jacquard_scene(
        tmp_path / "Jacquard_Dataset_0" / OBJECT_ID,
        0,
        OBJECT_ID,
        ["40.5;30.25;30.0;24.0;10.0", "", "41;30;-120;20.5;8", "39.0;31.0;90.0;18.0;9.0"],
        depth,
        stereo,
    )
    sample = read_jacquard_sample(grasps_file, load_rgb=True, load_mask=True)
    assert sample.name == f"0_{OBJECT_ID}"
    assert sample.depth.dtype == np.float32
    np.testing.assert_array_equal(sample.depth, depth)
    assert sample.negative == ()
    first, second, third = sample.positive
    assert first.center_px == (40.5, 30.25)  # x = column u, y = row v
    assert first.angle == pytest.approx(math.radians(30))
    assert (first.width_px, first.height_px) == (24.0, 10.0)
    assert second.angle == pytest.approx(math.radians(60))  # -120 deg: same axis as 60 deg
    assert third.angle == pytest.approx(math.pi / 2)  # wrapped into (-pi/2, pi/2]
    # GG-CNN reads a Jacquard line as angle -theta in its +u -> -v convention; its rectangle's
    # first edge, (d_row, d_col) = (-w sin(-theta), w cos(-theta)), is our jaw axis.
    theta = math.radians(30)
    ggcnn_edge_uv = np.array([24 * math.cos(-theta), -24 * math.sin(-theta)])
    corners = first.corners()
    np.testing.assert_allclose(corners[1] - corners[0], ggcnn_edge_uv, atol=1e-9)
    assert sample.rgb.shape == (64, 80, 3) and tuple(sample.rgb[0, 0]) == (200, 0, 0)
    assert sample.mask.dtype == bool and sample.mask.sum() == 20 * 20

    stereo_sample = read_jacquard_sample(grasps_file, depth="stereo")
    assert stereo_sample.depth[0, 0] == 0.0  # no data
    np.testing.assert_allclose(stereo_sample.depth[1:, 1:], stereo[1:, 1:])

    dataset = JacquardDataset(tmp_path)
    assert len(dataset) == 1
    assert [s.name for s in dataset] == [f"0_{OBJECT_ID}"]


def test_malformed_lines_and_missing_files(tmp_path):
    folder = tmp_path / OBJECT_ID
    grasps_file = write_jacquard_scene(folder, 1, OBJECT_ID, ["1;2;3;4;5", "1;2;3;4"], make_depth())
    with pytest.raises(DatasetError, match=r"_grasps.txt:2: expected 'x;y;theta;w;h'"):
        read_jacquard_grasps(grasps_file)
    grasps_file.write_text("1;2;3;4;5\n1;2;three;4;5\n")
    with pytest.raises(DatasetError, match=r"_grasps.txt:2: not a number"):
        read_jacquard_grasps(grasps_file)
    grasps_file.write_text("1;2;3;-4;5\n")
    with pytest.raises(DatasetError, match=r"_grasps.txt:1: .*w, h >= 0"):
        read_jacquard_grasps(grasps_file)
    grasps_file.write_text("1;2;3;4;5\n")
    depth_file = folder / f"1_{OBJECT_ID}_perfect_depth.tiff"
    depth_file.write_bytes(b"II*\x00 truncated")
    with pytest.raises(DatasetError, match=r"perfect_depth.tiff: not a readable depth image"):
        read_jacquard_sample(grasps_file)
    depth_file.unlink()
    with pytest.raises(DatasetError, match=r"perfect_depth.tiff: depth file is missing"):
        read_jacquard_sample(grasps_file)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match=r"no Jacquard grasp files"):
        JacquardDataset(tmp_path / "empty")
    with pytest.raises(DatasetError, match=r"Jacquard folder is missing"):
        JacquardDataset(tmp_path / "absent")
