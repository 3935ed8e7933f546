"""Clear the table: the stopping rule, the scoring and the report (pure), the runner's bookkeeping
against a scripted world, and a short run through the real nodes."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from gqstn_ros.planner_registry import REPO_MODELS_DIR
from gqstn_ros.tools.benchmark.cli import parse_clutter_config
from gqstn_ros.tools.benchmark.clutter import (
    ClutterAttempt,
    ClutterConfig,
    PileRun,
    format_clutter_table,
    pile_seed,
    stop_reason,
    summarize_clutter,
    write_clutter_results,
)
from gqstn_ros.tools.benchmark.clutter_runner import ClutterRunner
from gqstn_ros.tools.benchmark.graph import parameters_yaml
from gqstn_ros.tools.benchmark.report import replay_attempt
from gqstn_ros.tools.benchmark.scenario import AttemptFailure, BenchmarkConfig
from gqstn_ros.tools.benchmark.scoring import classify_detection_failure
from ros_test_support import REPO_ROOT, peer_environment

RUN_TIMEOUT_S = 240.0


# ------------------------------------------------------------------------------------- pure parts
def test_stopping_rule_empty_table_or_consecutive_failures() -> None:
    assert stop_reason(3, 0, 3) == ""
    assert stop_reason(3, 2, 3) == ""
    assert stop_reason(3, 3, 3) == "3 consecutive failures"
    assert stop_reason(0, 0, 3) == "table empty"
    assert stop_reason(0, 5, 3) == "table empty"  # an empty table wins
    assert stop_reason(1, 1, 1) == "1 consecutive failures"


def test_config_bounds_and_the_longest_pile() -> None:
    config = ClutterConfig(objects=4, max_consecutive_failures=3)
    assert config.max_attempts_per_pile == 15
    for bad, match in (
        ({"objects": 0}, "objects"),
        ({"objects": 31}, "objects"),
        ({"piles": 0}, "piles"),
        ({"max_consecutive_failures": 0}, "max_consecutive_failures"),
    ):
        with pytest.raises(ValueError, match=match):
            ClutterConfig(**bad)
    # Every method meets the same pile; piles differ.
    assert pile_seed(0, 0) != pile_seed(0, 1) and pile_seed(1, 0) != pile_seed(0, 0)


def test_command_line_quick_defaults_and_overrides(tmp_path: Path) -> None:
    quick = parse_clutter_config(["--clutter", "--quick", "--models", str(tmp_path)])
    assert (quick.objects, quick.piles) == (5, 1)
    assert quick.methods == ("gqstn", "multigrasp", "prop_gqcnn")
    chosen = parse_clutter_config(
        ["--clutter", "--quick", "--objects", "8", "--piles", "2", "--methods", "gqstn"]
    )
    assert (chosen.objects, chosen.piles, chosen.methods) == (8, 2, ("gqstn",))
    assert parse_clutter_config(["--clutter"]).objects == 10
    with pytest.raises(SystemExit):
        parse_clutter_config(["--clutter", "--objects", "0"])


def test_parameters_file_puts_sim_world_in_pile_mode(tmp_path: Path) -> None:
    text = parameters_yaml(
        BenchmarkConfig(models_dir=tmp_path),
        tmp_path / "log.jsonl",
        {"scene_mode": "pile", "pile_objects": 7},
    )
    world = text.split("executor_node:")[0]
    assert '    scene_mode: "pile"' in world and "    pile_objects: 7" in world


def test_empty_table_refusal_has_its_category() -> None:
    assert (
        classify_detection_failure("no object above the table: nothing stands more than 6 mm")
        == "no object seen"
    )


def attempt(method: str, success: bool, robot: float, wall: float, detect: float = 0.1):
    record = ClutterAttempt(method=method, pile=0, seed=1, index=0)
    record.success, record.category = success, "success" if success else "closed on nothing"
    record.detected, record.detection_time = not math.isnan(detect), detect
    record.robot_time, record.wall_time = robot, wall
    return record


def test_scoring_shares_rates_and_picks_per_hour() -> None:
    piles = [
        PileRun("gqstn", 0, 1, 5, objects_at_start=5, cleared=4, lost=1),
        PileRun("gqstn", 1, 2, 5, objects_at_start=4, lost_at_drop=1, cleared=4),
        PileRun("prop_gqcnn", 0, 1, 5, objects_at_start=5, cleared=0),
    ]
    attempts = [
        attempt("gqstn", True, 10.0, 2.0, 0.1),
        attempt("gqstn", True, 10.0, 2.0, 0.3),
        attempt("gqstn", False, 8.0, 4.0, 0.2),
        attempt("gqstn", True, 12.0, 2.0, math.nan),
        attempt("prop_gqcnn", False, 0.0, 1.0, math.nan),
    ]
    gqstn, prop = summarize_clutter(piles, attempts, ["gqstn", "prop_gqcnn"])
    assert (gqstn.objects, gqstn.cleared, gqstn.lost) == (9, 8, 1)
    assert gqstn.cleared_share == pytest.approx(8 / 9)
    assert gqstn.success_per_attempt == pytest.approx(3 / 4)
    assert gqstn.picks_per_hour_robot == pytest.approx(3 * 3600 / 40.0)
    assert gqstn.picks_per_hour_wall == pytest.approx(3 * 3600 / 10.0)
    assert gqstn.detection_time_mean == pytest.approx(0.2)
    assert gqstn.detection_time_median == pytest.approx(0.2)
    assert gqstn.failures == {"closed on nothing": 1}
    assert prop.cleared_share == 0.0 and prop.success_per_attempt == 0.0
    assert math.isnan(prop.picks_per_hour_robot) and math.isnan(prop.detection_time_mean)
    table = format_clutter_table([gqstn, prop])
    assert "88.9%" in table and "75.0%" in table and "n/a" in table


def test_results_are_written_with_nan_as_null(tmp_path: Path) -> None:
    config = ClutterConfig(objects=3, base=BenchmarkConfig(methods=("gqstn",), output_dir=tmp_path))
    piles = [PileRun("gqstn", 0, 1, 3, objects_at_start=3)]
    attempts = [attempt("gqstn", False, 0.0, 1.0, math.nan)]
    paths = write_clutter_results(tmp_path, config, piles, attempts, {"total_s": 1.0})
    document = json.loads(paths["json"].read_text())  # strict JSON: no NaN
    assert document["mode"] == "clutter" and document["config"]["objects"] == 3
    assert document["summary"][0]["detection_time_mean"] is None
    assert document["attempts"][0]["detection_time"] is None
    assert paths["plot"].stat().st_size > 0 and "CLEAR THE TABLE" in paths["table"].read_text()
    assert paths["piles"].read_text().startswith("method,pile,seed")


# ------------------------------------------------------------------- the runner on a scripted world
class ScriptedWorld:
    """Stands in for BenchClient: a pile whose picks succeed or fail as `outcomes` say
    ("pick": lifted and held, "miss": closes on nothing, "refuse": /detect_grasp refuses);
    /detect_grasp on the empty table refuses as the inference node does."""

    def __init__(self, objects: int, outcomes: list[str]) -> None:
        from gqstn_ros.camera_model import CameraIntrinsics
        from gqstn_ros.depth_image import (
            ENCODING_16UC1,
            intrinsics_to_camera_info,
            metres_to_image,
        )

        self.places = ["table"] * objects
        self.outcomes = list(outcomes)
        self.sim_time = 0.0
        self.detections: list[str] = []
        self.lifted = False
        self.raw: list = []
        for name in ("reset", "object_state", "hold", "finish_pick"):
            setattr(self, name, name)
        intrinsics = CameraIntrinsics(64, 48, 50.0, 50.0, 32.0, 24.0)
        depth = np.full((48, 64), 0.7, dtype=np.float32)
        self.image = metres_to_image(depth, ENCODING_16UC1)
        self.info = intrinsics_to_camera_info(intrinsics)

    def set_world_parameters(self, values: dict) -> None:
        assert values["scene_mode"] == "pile"

    def trigger(self, client: str, what: str) -> Any:
        return SimpleNamespace(success=True, message="pile ready")

    def state(self) -> dict:
        objects = [
            {"name": f"o{i}", "where": w, "lift": 0.0, "pose": np.eye(4).tolist()}
            for i, w in enumerate(self.places)
        ]
        return {
            "ok": True,
            "scene_mode": "pile",
            "seed": pile_seed(0, 0),
            "sim_time": self.sim_time,
            "camera_pose": np.eye(4).tolist(),
            "objects": objects,
            "objects_on_table": self.places.count("table"),
            "objects_in_bin": self.places.count("bin"),
            "objects_lost": self.places.count("lost"),
        }

    def ground_truth(self, client: str, what: str) -> dict:
        if client == "hold":
            self.sim_time += 1.0
            lift = 0.15 if self.lifted else 0.0
            return {
                **self.state(),
                "hold_duration_s": 1.0,
                "lifted_height_start": lift,
                "lifted_height_min": lift,
                "held_object": "o0" if self.lifted else None,
                "on_table": not self.lifted,
                "hold_fault": "",
            }
        if client == "finish_pick":
            binned = None
            if self.lifted:
                index = self.places.index("table")
                self.places[index], binned = "bin", f"o{index}"
            self.lifted = False
            return {**self.state(), "binned": binned, "fault": ""}
        return self.state()

    def frame_after(self, stamp_ns: int) -> tuple[int, Any, Any]:
        return stamp_ns + 1, self.image, self.info

    def kept(self, frames: Any, stamp_ns: int) -> None:
        return None

    def detect_grasp(self, method: str, image: Any, info: Any) -> tuple[Any, float]:
        from gqstn_msgs.msg import Grasp

        self.detections.append(method)
        if "table" not in self.places:
            raise AttemptFailure("no object seen", "no object above the table: nothing stands")
        if self.outcomes[0] == "refuse":
            self.outcomes.pop(0)
            raise AttemptFailure("planner error", "gqstn found no grasp")
        return Grasp(q_value=0.9, width=0.04, depth=0.7, planning_time=0.05), 0.06

    def execute_grasp(self, grasp: Any, on_stage: Any) -> Any:
        outcome = self.outcomes.pop(0)
        self.sim_time += 6.0
        self.lifted = outcome == "pick"
        message = "lifted 15.0 cm" if self.lifted else "nothing held: closed at 0.0 mm"
        return SimpleNamespace(success=self.lifted, message=message)


class QuietGraph:
    log_dir = Path("logs")

    def dead(self) -> dict[str, int]:
        return {}


def scripted_run(tmp_path: Path, objects: int, outcomes: list[str]):
    config = ClutterConfig(
        objects=objects, base=BenchmarkConfig(methods=("gqstn",), output_dir=tmp_path)
    )
    world = ScriptedWorld(objects, outcomes)
    runner = ClutterRunner(config, world, QuietGraph(), log=lambda _line: None)
    run = runner.clear_pile("gqstn", 0, pile_seed(0, 0))
    return run, runner.attempts, world


def test_runner_clears_the_table_then_asks_the_planner_about_the_empty_table(
    tmp_path: Path,
) -> None:
    run, attempts, world = scripted_run(tmp_path, 3, ["pick", "miss", "refuse", "pick", "pick"])
    assert run.stop_reason == "table empty"
    assert (run.objects_at_start, run.cleared, run.remaining, run.lost) == (3, 3, 0, 0)
    assert [a.success for a in attempts] == [True, False, False, True, True]
    assert attempts[2].category == "planner error" and not attempts[2].detected
    assert attempts[1].category == "closed on nothing"
    # The empty table is refused cleanly and the run goes on (it ended normally).
    assert run.empty_table_answer.startswith("no object seen: no object above the table")
    assert len(world.detections) == 6  # one per attempt, then one on the empty table
    # Robot time: detection plus the simulated motion, not the hold.
    assert attempts[0].robot_time == pytest.approx(0.05 + 6.0)
    assert [a.objects_on_table_after for a in attempts] == [2, 2, 2, 1, 0]
    kept = replay_attempt(Path(attempts[0].replay_file))
    assert kept["record"]["success"] and "object_names" in kept["arrays"]
    assert "grasp_in_camera" in kept["arrays"] and "depth_inpainted" in kept["arrays"]


def test_runner_stops_after_three_failures_in_a_row(tmp_path: Path) -> None:
    run, attempts, _ = scripted_run(tmp_path, 4, ["pick", "miss", "refuse", "miss", "pick"])
    assert run.stop_reason == "3 consecutive failures"
    assert run.attempts == 4 and (run.cleared, run.remaining) == (1, 3)
    assert run.empty_table_answer == ""
    assert all(Path(a.replay_file).is_file() for a in attempts)


def test_runner_stops_a_pile_whose_picks_never_clear_it(tmp_path: Path) -> None:
    """Successes that leave the object on the table (a world that does not bin) end at the
    attempt limit instead of running forever."""

    class StubbornWorld(ScriptedWorld):
        def ground_truth(self, client: str, what: str) -> dict:
            if client == "finish_pick":
                self.lifted = False
                return {**self.state(), "binned": None, "fault": ""}
            return super().ground_truth(client, what)

    config = ClutterConfig(objects=1, base=BenchmarkConfig(methods=("gqstn",), output_dir=tmp_path))
    stubborn = ClutterRunner(
        config, StubbornWorld(1, ["pick"] * 10), QuietGraph(), log=lambda _line: None
    )
    run = stubborn.clear_pile("gqstn", 0, pile_seed(0, 0))
    assert run.attempts == config.max_attempts_per_pile == 6
    assert run.stop_reason == "attempt limit (6)" and run.cleared == 0 and run.remaining == 1


# ------------------------------------------------------------------------ through the real nodes
@pytest.mark.ros
@pytest.mark.slow
def test_clutter_run_through_the_real_nodes_clears_or_stops_and_reports(tmp_path: Path) -> None:
    if not (REPO_MODELS_DIR / "gqstn.pt").is_file():
        pytest.skip(f"no trained GQ-STN at {REPO_MODELS_DIR / 'gqstn.pt'}")
    output = tmp_path / "run"
    command = [
        sys.executable, "-m", "gqstn_ros.tools.benchmark", "--clutter",
        "--objects", "3", "--methods", "gqstn",
        "--models", str(REPO_MODELS_DIR), "--output", str(output),
    ]  # fmt: skip
    finished = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        cwd=REPO_ROOT,
        env=peer_environment(),
    )
    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert "CLEAR THE TABLE" in finished.stdout
    results = json.loads((output / "results.json").read_text())
    assert all(code == 0 for code in results["timing"]["node_exit_codes"].values()), results
    (pile,) = results["piles"]
    assert pile["error"] == "", pile
    assert pile["stop_reason"] in ("table empty", "3 consecutive failures"), pile
    assert pile["objects_at_start"] >= 1
    assert pile["cleared"] + pile["remaining"] + pile["lost"] == pile["objects_at_start"]
    if pile["stop_reason"] == "table empty":
        assert "no object above the table" in pile["empty_table_answer"], pile
    else:
        tail = results["attempts"][-3:]
        assert len(tail) == 3 and not any(a["success"] for a in tail), tail
    (row,) = results["summary"]
    assert row["attempts"] == pile["attempts"] == len(results["attempts"])
    for record in results["attempts"]:
        assert record["success"] or record["reason"], record
        with np.load(record["replay_file"]) as arrays:
            assert arrays["object_poses"].shape[1:] == (4, 4)
            if record["detected"]:
                assert arrays["depth_inpainted"].shape == (480, 640)
                assert arrays["grasp_in_camera"].shape == (4, 4)
        if record["success"]:
            assert record["binned_object"] == record["held_object"] != "", record
            assert record["robot_time"] > record["detection_time"] > 0
    assert (output / "table_clutter.txt").is_file() and (output / "table_clutter.png").is_file()
