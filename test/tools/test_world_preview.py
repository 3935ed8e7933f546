"""The main job's synthetic-world preview runs end to end on real physics and rendering."""

import json
from pathlib import Path

from gqstn_ros.tools.world_preview import main


def test_preview_of_two_families_writes_figures(tmp_path: Path, capsys) -> None:
    assert (
        main(["--families", "box", "oversized", "--grasps", "40", "--output", str(tmp_path)]) == 0
    )
    summary = json.loads((tmp_path / "summary.json").read_text())
    scenes = {scene["family"]: scene for scene in summary["scenes"] if scene["seed"] < 1000}
    assert all(scene["settled"] for scene in summary["scenes"])
    # A box sized for the 2F-85 yields antipodal grasps, some robust on its true geometry;
    # an object wider than the stroke in every direction yields no robust grasp.
    assert scenes["box"]["candidates"] > 0 and scenes["box"]["robust"] > 0
    assert scenes["oversized"]["robust"] == 0
    assert (tmp_path / "preview.png").stat().st_size > 1000
    assert "labelled images per second" in capsys.readouterr().out
