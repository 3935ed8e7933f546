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
from gqstn_ros.tools.benchmark.targeting import (
    ANY_OBJECT,
    TargetPolicy,
    object_aimed_at,
    target_mask,
    visible_objects,
)
from ros_test_support import run_program

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
    assert quick.methods == ("gqstn", "multigrasp", "prop_gqcnn", "default")
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


def test_the_default_pipeline_row_says_whose_grasps_it_picked_with() -> None:
    piles = [PileRun("default", 0, 1, 3, objects_at_start=3, cleared=2)]
    attempts = [attempt("default", True, 10.0, 2.0, 0.2) for _ in range(3)]
    for record, planner in zip(attempts, ("prop_gqcnn", "minor_axis", "prop_gqcnn"), strict=True):
        record.answered_by = planner
    (row,) = summarize_clutter(piles, attempts, ["default"])
    assert row.answered_by == {"prop_gqcnn": 2, "minor_axis": 1}
    assert "default answered: Prop+GQ-CNN x2, minor axis x1" in format_clutter_table([row])


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

    def detect_grasp(
        self, method: str, image: Any, info: Any, target: Any = None
    ) -> tuple[Any, float]:
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


# ------------------------------------------------------------------------------ target policies
def segmentation(*blocks: tuple[int, int, int]) -> np.ndarray:
    """A 48x64 segmentation: for each (label, first row, rows) a band of `rows` full rows."""
    labels = np.zeros((48, 64), dtype=np.uint8)
    for label, row, rows in blocks:
        labels[row : row + rows] = label
    return labels


def test_visible_objects_most_exposed_first_slivers_left_out() -> None:
    labels = segmentation((1, 0, 2), (2, 4, 5), (3, 20, 5), (4, 30, 1))
    # 128, 320, 320 and 64 pixels; 40 pixels of label 5 are below the 50-pixel minimum.
    labels[40, :40] = 5
    assert visible_objects(labels) == [(2, 320), (3, 320), (1, 128), (4, 64)]
    assert visible_objects(labels, min_pixels=100) == [(2, 320), (3, 320), (1, 128)]
    assert visible_objects(np.zeros((4, 4), dtype=np.uint8)) == []


def test_object_aimed_at_centre_pixel_else_nearest_labelled_pixel() -> None:
    labels = segmentation((1, 0, 4), (2, 30, 4))
    assert object_aimed_at(labels, (10.0, 2.0)) == 1
    assert object_aimed_at(labels, (10.0, 31.4)) == 2
    assert object_aimed_at(labels, (10.0, 25.0)) == 2  # background: row 30 is nearer than 3
    assert object_aimed_at(labels, (10.0, 8.0)) == 1
    assert object_aimed_at(labels, (-5.0, 100.0)) == 2  # clipped into the frame
    assert object_aimed_at(np.zeros((8, 8), dtype=np.uint8), (3.0, 3.0)) == ANY_OBJECT
    mask = target_mask(labels, 2)
    assert mask.dtype == np.uint8 and set(np.unique(mask)) == {0, 255}
    assert np.array_equal(mask != 0, labels == 2)


def test_named_policy_rotates_after_failures_and_comes_back() -> None:
    labels = segmentation((1, 0, 10), (2, 10, 6), (3, 20, 3))  # 640, 384, 192 pixels
    policy = TargetPolicy("named")
    assert policy.needs_segmentation
    assert policy.choose(labels) == 1  # the most exposed
    policy.record(False, target=1, aimed=1)
    assert policy.choose(labels) == 2  # not the failed one again
    policy.record(False, target=2, aimed=3)  # a named pick's failure marks the named object
    assert policy.choose(labels) == 3
    policy.record(False, target=3, aimed=3)
    assert policy.choose(labels) == 1  # every visible one failed: the oldest failure first
    policy.record(False, target=1, aimed=1)
    assert policy.choose(labels) == 2
    policy.record(True, target=2, aimed=2)  # a success changes the pile: all are candidates
    assert policy.failed == {} and policy.choose(labels) == 1
    # An object hidden in this frame is not named; nothing visible: any object.
    assert policy.choose(segmentation((1, 0, 10))) == 1
    assert policy.choose(np.zeros((48, 64), dtype=np.uint8)) == ANY_OBJECT


def test_after_failure_policy_names_other_objects_only_until_a_success() -> None:
    labels = segmentation((1, 0, 10), (2, 10, 6))
    policy = TargetPolicy("after-failure")
    assert policy.choose(labels) == ANY_OBJECT
    policy.record(True, target=ANY_OBJECT, aimed=1)
    assert policy.choose(labels) == ANY_OBJECT
    policy.record(False, target=ANY_OBJECT, aimed=1)  # the untargeted grasp was on object 1
    assert policy.choose(labels) == 2
    policy.record(False, target=2, aimed=2)
    assert policy.choose(labels) == 1  # both failed: the older failure is tried again
    policy.record(True, target=1, aimed=1)
    assert policy.choose(labels) == ANY_OBJECT
    # A refusal without a grasp marks no object, but the next request still names one.
    policy.record(False, target=ANY_OBJECT, aimed=ANY_OBJECT)
    assert policy.failed == {} and policy.choose(labels) == 1


def test_any_policy_never_names_and_unknown_policies_are_refused() -> None:
    policy = TargetPolicy("any")
    assert not policy.needs_segmentation
    policy.record(False, target=ANY_OBJECT, aimed=1)
    assert policy.choose(segmentation((1, 0, 10))) == ANY_OBJECT
    with pytest.raises(ValueError, match="target policy must be one of any, named"):
        TargetPolicy("nearest")
    with pytest.raises(ValueError, match="targets must be one of"):
        ClutterConfig(targets="nearest")
    options = ["--clutter", "--models", "m", "--targets", "after-failure"]
    assert parse_clutter_config(options).targets == "after-failure"
    assert parse_clutter_config(["--clutter", "--models", "m"]).targets == "any"
    with pytest.raises(SystemExit):
        parse_clutter_config(["--clutter", "--targets", "nearest"])


def test_avoid_failed_policy_asks_again_only_for_a_grasp_on_a_failed_object() -> None:
    labels = segmentation((1, 0, 10), (2, 10, 6), (3, 20, 3))
    policy = TargetPolicy("avoid-failed")
    assert policy.choose(labels) == ANY_OBJECT
    assert policy.retarget(labels, aimed=1) == ANY_OBJECT  # nothing failed yet
    policy.record(False, target=ANY_OBJECT, aimed=1)
    assert policy.choose(labels) == ANY_OBJECT  # the planner chooses first ...
    assert policy.retarget(labels, aimed=2) == ANY_OBJECT  # ... a grasp elsewhere is executed
    assert policy.retarget(labels, aimed=1) == 2  # ... one on the failed object is not
    policy.record(False, target=2, aimed=2)
    assert policy.retarget(labels, aimed=2) == 3
    policy.record(False, target=3, aimed=3)
    # Every object failed: the one that failed longest ago (o1, label 1) is tried again.
    assert policy.retarget(labels, aimed=1) == ANY_OBJECT
    assert policy.retarget(labels, aimed=3) == 1
    assert policy.retarget(segmentation((1, 0, 10)), aimed=1) == ANY_OBJECT  # no other object
    # A refused untargeted request: the next one names an object straight away.
    policy.record(True, target=ANY_OBJECT, aimed=1)
    policy.record(False, target=ANY_OBJECT, aimed=ANY_OBJECT)
    assert policy.choose(labels) == 1
    policy.record(False, target=1, aimed=1)
    assert policy.choose(labels) == ANY_OBJECT


def targeted(target: str, held: str, success: bool, category: str = "") -> ClutterAttempt:
    record = attempt("gqstn", success, 5.0, 1.0)
    record.target_object, record.target_label = target, 1 if target else 0
    record.held_object = held
    record.lifted_named = bool(target) and held == target
    if category:
        record.category = category
    return record


def test_scoring_of_named_targets() -> None:
    attempts = [
        targeted("o1", "o1", True),
        targeted("o2", "o3", True),  # lifted another object: a success, not the named one
        targeted("o3", "o3", False, "slipped"),  # lifted the named one, dropped it
        targeted("o4", "", False, "target not visible"),
        targeted("o5", "", False),  # closed on nothing
        targeted("", "o6", True),  # untargeted: outside the named-target figures
    ]
    piles = [PileRun("gqstn", 0, 1, 6, objects_at_start=6, cleared=3)]
    (row,) = summarize_clutter(piles, attempts, ["gqstn"])
    assert (row.targeted_attempts, row.targeted_lifted, row.targeted_lifted_named) == (5, 3, 2)
    assert row.named_share == pytest.approx(2 / 3)
    assert row.target_not_visible == 1
    assert row.success_per_attempt == pytest.approx(3 / 6)
    table = format_clutter_table([row], "named")
    assert "target policy: named" in table
    assert "5 attempts named an object, 3 lifted one, 2 the named one (66.7% of lifted" in table
    (untargeted,) = summarize_clutter(piles, [targeted("", "o1", True)], ["gqstn"])
    assert untargeted.targeted_attempts == 0 and math.isnan(untargeted.named_share)
    assert "named targets" not in format_clutter_table([untargeted])


def test_target_not_visible_refusal_has_its_category() -> None:
    assert (
        classify_detection_failure("target not visible: 3 of its 40 pixels hold a valid depth")
        == "target not visible"
    )


class TargetedWorld(ScriptedWorld):
    """A scripted pile with a segmentation: object i (label i + 1) on rows 8 i .. 8 i + 5 of
    the 64-pixel-wide frame, fewer rows for later objects (o0 the most exposed), out of the
    frame in the bin; the last object is hidden (no pixel). A pick lifts the object the
    request names, or the first one on the table when it names none; `wrong` lifts o0
    whatever was named."""

    def __init__(self, objects: int, outcomes: list[str]) -> None:
        super().__init__(objects, outcomes)
        self.targets: list[int] = []
        self.named = -1

    def segmentation_of(self, stamp_ns: int) -> np.ndarray:
        labels = np.zeros((48, 64), dtype=np.uint8)
        for index, place in enumerate(self.places[:-1]):
            if place == "table":
                labels[8 * index : 8 * index + 6 - index] = index + 1
        return labels

    def detect_grasp(
        self, method: str, image: Any, info: Any, target: Any = None
    ) -> tuple[Any, float]:
        label = 0
        if target is not None:
            labels = self.segmentation_of(0)
            assert target.shape == labels.shape and target.dtype == np.uint8
            (label,) = np.unique(labels[target != 0])
            assert np.array_equal(target != 0, labels == label)
        self.targets.append(int(label))
        self.named = int(label) - 1
        grasp, round_trip = super().detect_grasp(method, image, info, target)
        row = 8 * max(self.named, 0) + 1
        grasp.center_px = [10.0, float(row)]
        return grasp, round_trip

    def ground_truth(self, client: str, what: str) -> dict:
        if client == "finish_pick" and self.lifted:
            index = self.lifted_index
            self.places[index] = "bin"
            self.lifted = False
            return {**self.state(), "binned": f"o{index}", "fault": ""}
        state = super().ground_truth(client, what)
        if client == "hold" and self.lifted:
            state["held_object"] = f"o{self.lifted_index}"
        return state

    def execute_grasp(self, grasp: Any, on_stage: Any) -> Any:
        outcome = self.outcomes[0]
        result = super().execute_grasp(grasp, on_stage)
        self.lifted = outcome in ("pick", "wrong")
        first = self.places.index("table")
        self.lifted_index = first if outcome == "wrong" or self.named < 0 else self.named
        return result


def world_rows(first: int, rows: int) -> np.ndarray:
    """(48, 64) bool: `rows` full rows from row `first`."""
    region = np.zeros((48, 64), dtype=bool)
    region[first : first + rows] = True
    return region


def targeted_run(tmp_path: Path, targets: str, objects: int, outcomes: list[str]):
    config = ClutterConfig(
        objects=objects,
        targets=targets,
        base=BenchmarkConfig(methods=("gqstn",), output_dir=tmp_path),
    )
    world = TargetedWorld(objects, outcomes)
    runner = ClutterRunner(config, world, QuietGraph(), log=lambda _line: None)
    run = runner.clear_pile("gqstn", 0, pile_seed(0, 0))
    return run, runner.attempts, world


def test_named_run_sends_each_target_by_mask_and_scores_the_lifted_object(
    tmp_path: Path,
) -> None:
    outcomes = ["miss", "pick", "pick", "pick", "pick"]
    run, attempts, world = targeted_run(tmp_path, "named", 4, outcomes)
    # o0 (label 1) is the most exposed; after its miss o1; after that success o0 again, then
    # o2; o3 is hidden (never named) and counted.
    assert world.targets[:4] == [1, 2, 1, 3]
    assert [a.target_object for a in attempts[:4]] == ["o0", "o1", "o0", "o2"]
    assert [a.target_label for a in attempts[:4]] == [1, 2, 1, 3]
    assert attempts[0].objects_not_visible == 1 and attempts[0].target_pixels == 6 * 64
    assert [a.lifted_named for a in attempts[:4]] == [False, True, True, True]
    assert [a.aimed_object for a in attempts[:4]] == ["o0", "o1", "o0", "o2"]
    assert "segmentation" in replay_attempt(Path(attempts[1].replay_file))["arrays"]
    with np.load(attempts[1].replay_file) as kept:
        assert np.array_equal(kept["segmentation"] == 2, world_rows(8, 5))
        assert json.loads(str(kept["record"]))["target_object"] == "o1"
    # The hidden o3 is then the only object on the table: not visible, so any object is asked.
    assert attempts[4].target_object == "" and world.targets[4] == 0
    assert run.stop_reason == "table empty" and run.cleared == 4


def test_named_run_counts_another_lifted_object(tmp_path: Path) -> None:
    _, attempts, _ = targeted_run(tmp_path, "named", 3, ["miss", "wrong", "miss", "miss", "miss"])
    assert [a.target_object for a in attempts[:2]] == ["o0", "o1"]
    assert attempts[1].success and attempts[1].held_object == "o0"
    assert not attempts[1].lifted_named
    (row,) = summarize_clutter([], attempts, ["gqstn"])
    assert row.targeted_lifted == 1 and row.targeted_lifted_named == 0
    assert row.named_share == 0.0


def test_after_failure_run_names_another_object_after_a_miss(tmp_path: Path) -> None:
    _, attempts, world = targeted_run(
        tmp_path, "after-failure", 4, ["pick", "miss", "pick", "pick", "pick"]
    )
    # Untargeted until the miss on o1 (the object under the grasp), then o2, then untargeted.
    assert world.targets[:4] == [0, 0, 3, 0]
    assert [a.aimed_object for a in attempts[:3]] == ["o0", "o1", "o2"]
    assert attempts[2].lifted_named and attempts[2].binned_object == "o2"
    assert all(a.target_object == "" for i, a in enumerate(attempts) if i != 2)


def test_avoid_failed_run_declines_a_grasp_on_the_object_that_failed(tmp_path: Path) -> None:
    """The scripted planner always grasps the first object on the table (o0) when no target is
    named: after its miss the runner does not execute that grasp again but asks for o1."""
    _, attempts, world = targeted_run(tmp_path, "avoid-failed", 3, ["miss", "pick", "pick", "pick"])
    assert world.targets[:3] == [0, 0, 2]  # the second request re-sent naming o1
    first, second = attempts[:2]
    assert first.aimed_object == "o0" and not first.declined_object
    assert second.declined_object == "o0" and second.target_object == "o1"
    assert second.success and second.lifted_named and second.binned_object == "o1"
    assert second.robot_time == pytest.approx(2 * 0.05 + 6.0)  # both plannings and the motion
    (row,) = summarize_clutter([], attempts, ["gqstn"])
    assert row.declined == 1 and row.targeted_attempts == 1
    assert "1 of them after a grasp on an object that had failed" in format_clutter_table([row])


def test_a_refused_second_request_leaves_no_grasp_of_the_declined_one(tmp_path: Path) -> None:
    class RefusingTargets(TargetedWorld):
        def detect_grasp(self, method, image, info, target=None):
            if target is not None:
                self.targets.append(-1)
                raise AttemptFailure("planner error", "found no grasp on the target")
            return super().detect_grasp(method, image, info, target)

    config = ClutterConfig(
        objects=3,
        targets="avoid-failed",
        base=BenchmarkConfig(methods=("gqstn",), output_dir=tmp_path),
    )
    world = RefusingTargets(3, ["miss", "pick", "pick"])
    runner = ClutterRunner(config, world, QuietGraph(), log=lambda _line: None)
    runner.clear_pile("gqstn", 0, pile_seed(0, 0))
    second = runner.attempts[1]
    assert second.declined_object == "o0" and second.target_object == "o1"
    assert second.category == "planner error" and not second.detected
    assert second.aimed_object == "" and math.isnan(second.grasp_center_px_u)
    assert second.declined_detection_time > 0
    assert second.robot_time == pytest.approx(second.declined_detection_time)


def run_clutter_benchmark(output: Path, *arguments: str) -> subprocess.CompletedProcess:
    """`python -m gqstn_ros.tools.benchmark --clutter` on one pile of 3 objects through the real
    nodes, writing to `output`, with `arguments` added; asserts that it exited 0."""
    command = [
        sys.executable, "-m", "gqstn_ros.tools.benchmark", "--clutter", "--objects", "3",
        "--models", str(REPO_MODELS_DIR), "--output", str(output), *arguments,
    ]  # fmt: skip
    finished = run_program(command, RUN_TIMEOUT_S, output / "logs")
    assert finished.returncode == 0, finished.stdout + finished.stderr
    return finished


# ------------------------------------------------------------------------ through the real nodes
@pytest.mark.ros
@pytest.mark.slow
def test_clutter_run_through_the_real_nodes_clears_or_stops_and_reports(tmp_path: Path) -> None:
    if not (REPO_MODELS_DIR / "gqstn.pt").is_file():
        pytest.skip(f"no trained GQ-STN at {REPO_MODELS_DIR / 'gqstn.pt'}")
    output = tmp_path / "run"
    finished = run_clutter_benchmark(output, "--methods", "gqstn")
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


@pytest.mark.ros
@pytest.mark.slow
def test_named_targets_run_through_the_real_nodes_reports_the_lifted_object(
    tmp_path: Path,
) -> None:
    """--targets named: every request names an object by a mask cut from /sim/segmentation of
    the frame it sends; the report says how often the lifted object was the named one."""
    if not (REPO_MODELS_DIR / "multigrasp.pt").is_file():
        pytest.skip(f"no trained MultiGrasp at {REPO_MODELS_DIR / 'multigrasp.pt'}")
    output = tmp_path / "run"
    finished = run_clutter_benchmark(output, "--methods", "multigrasp", "--targets", "named")
    assert "target policy: named" in finished.stdout
    results = json.loads((output / "results.json").read_text())
    assert results["config"]["targets"] == "named"
    (pile,) = results["piles"]
    assert pile["error"] == "" and pile["objects_at_start"] >= 1, pile
    attempts = results["attempts"]
    assert attempts and all(a["category"] != "no segmentation" for a in attempts), attempts
    for record in attempts:
        with np.load(record["replay_file"]) as arrays:
            labels = arrays["segmentation"]
            names = arrays["object_names"]
            depth = arrays["depth_inpainted"]
        assert labels.shape == depth.shape == (480, 640)
        if not record["target_object"]:  # only the hidden objects were left on the table
            assert record["objects_not_visible"] >= 1, record
            continue
        label = record["target_label"]
        assert names[label - 1] == record["target_object"]
        assert int(np.count_nonzero(labels == label)) == record["target_pixels"] >= 50
        # The named object stands above the table in the frame the request sent.
        table = float(np.median(depth[labels == 0]))
        assert float(np.median(depth[labels == label])) < table - 0.005, record
        if record["detected"]:
            assert record["aimed_object"] == record["target_object"], record
        assert record["lifted_named"] == (record["held_object"] == record["target_object"])
    (row,) = results["summary"]
    named = [a for a in attempts if a["target_object"]]
    assert row["targeted_attempts"] == len(named) >= 1
    lifted = [a for a in named if a["held_object"]]
    assert row["targeted_lifted"] == len(lifted)
    assert row["targeted_lifted_named"] == sum(a["lifted_named"] for a in named)
    assert "named targets:" in (output / "table_clutter.txt").read_text()
