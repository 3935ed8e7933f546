"""The camera sheet renders one settled scene with two camera profiles and writes its PNG."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.image import imread

from gqstn_ros.depth_processing import invalid_mask
from gqstn_ros.tools import camera_sheet


def test_two_cameras_give_plausible_depth_and_a_sheet(tmp_path, capsys) -> None:
    cameras, families = ("kinect_v1", "realsense_d435"), ("box", "mug")
    samples = camera_sheet.render_samples(cameras, families, seed=0, height=0.7)
    assert [s.profile.name for s in samples] == list(cameras)
    for sample in samples:
        intrinsics = sample.profile.intrinsics
        assert sample.raw.shape == sample.inpainted.shape == (intrinsics.height, intrinsics.width)
        assert sample.height == 0.7  # inside both mounting ranges
        # Looking straight down: the table top lies at the camera's height (noise aside).
        assert abs(sample.table_depth - 0.7) < 0.005
        assert sample.table.mean() > 0.3
        # Both sensors are noisy: some pixels have no depth, inpainting fills all of them
        # and leaves the measured ones as they were.
        holes = invalid_mask(sample.raw)
        assert 0.0 < sample.hole_share < 0.2 and holes.any()
        assert not invalid_mask(sample.inpainted).any()
        assert np.array_equal(sample.inpainted[~holes], sample.raw[~holes])
        # The objects stand above the table in the close-up.
        r0, r1, c0, c1 = sample.window
        assert np.percentile(sample.inpainted[r0:r1, c0:c1], 1) < 0.7 - 0.02
    # Every camera saw the same scene from the same place: the objects' tops agree.
    tops = [float(np.percentile(s.inpainted, 0.05)) for s in samples]
    assert abs(tops[0] - tops[1]) < 0.01

    output = tmp_path / "sheet" / "cameras.png"
    assert camera_sheet.write_sheet(samples, output, families, 0.3) == output
    image = imread(output)
    assert image.shape[0] > 400 and image.shape[1] > 600  # two rows of three panels
    assert image[..., :3].std() > 0.05  # drawn, not blank


def test_the_command_line_writes_the_sheet(tmp_path, capsys) -> None:
    output = tmp_path / "views.png"
    argv = ["--output", str(output), "--cameras", "realsense_d435", "--families", "box"]
    assert camera_sheet.main([*argv, "--height", "1.5"]) == 0
    out = capsys.readouterr().out
    # 1.5 m is above the D435's mounting range (0.35-0.80 m): it is seen from 0.80 m.
    assert "realsense_d435" in out and " 0.80 " in out and output.is_file()


@pytest.mark.parametrize(
    ("option", "value"),
    [("--cameras", "kinect_v9"), ("--families", "spaceship"), ("--gripper", "pincer")],
)
def test_unknown_names_are_refused_before_any_work(tmp_path, capsys, option, value) -> None:
    output = tmp_path / "views.png"
    with pytest.raises(SystemExit):
        camera_sheet.main(["--output", str(output), option, value])
    assert value in capsys.readouterr().err
    assert not output.exists()
