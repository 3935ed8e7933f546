"""The clutter run through the real nodes: start the bench's graph with sim_world in pile mode,
clear every pile with every method (`clutter` has the rules), keep every attempt, stop the graph,
write the report. A fault ends one attempt as a failure with its reason and the run goes on
(after a node died, with the graph started again and the pile dropped anew). With a target
policy other than "any" (`targeting`) each request's mask is cut from the world's segmentation
of the very frame the request sends (`/sim/segmentation`, matched by stamp)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from gqstn_ros.tools.benchmark.client import (
    FINISH_PICK_SERVICE,
    HOLD_SERVICE,
    OBJECT_STATE_SERVICE,
    RESET_SERVICE,
    BenchClient,
)
from gqstn_ros.tools.benchmark.clutter import (
    ClutterAttempt,
    ClutterConfig,
    PileRun,
    format_clutter_table,
    pile_seed,
    save_clutter_replay,
    stop_reason,
    summarize_clutter,
    write_clutter_results,
)
from gqstn_ros.tools.benchmark.graph import GraphProcesses, parameters_yaml
from gqstn_ros.tools.benchmark.runner import BenchmarkRunner, run_on_graph
from gqstn_ros.tools.benchmark.scenario import AttemptFailure
from gqstn_ros.tools.benchmark.scoring import judge_hold
from gqstn_ros.tools.benchmark.targeting import (
    ANY_OBJECT,
    TargetPolicy,
    object_aimed_at,
    target_mask,
)

PLACES = ("table", "bin", "lost")


def _print_now(line: str) -> None:
    """A progress line, flushed (the run's output is often a log file)."""
    print(line, flush=True)


def _counts(state: dict[str, Any]) -> dict[str, int]:
    """Objects on the table, in the bin and lost in a pile-mode ground truth."""
    return {
        "table": int(state["objects_on_table"]),
        "bin": int(state["objects_in_bin"]),
        "lost": int(state["objects_lost"]),
    }


class ClutterRunner:
    """Clears piles with the methods of `config` against a started graph."""

    def __init__(
        self,
        config: ClutterConfig,
        client: BenchClient,
        graph: GraphProcesses,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.config = config
        self.client = client
        self.graph = graph
        self.log = log or _print_now
        # Table II's runner: graph start-up, restarts and frame keeping are the same.
        self.bench = BenchmarkRunner(config.base, client, graph, self.log)
        self.attempts_dir = self.bench.attempts_dir
        self.piles: list[PileRun] = []
        self.attempts: list[ClutterAttempt] = []

    def run(self) -> None:
        """Every pile, each cleared by every method in turn (the same seed: the same pile)."""
        for pile in range(self.config.piles):
            seed = pile_seed(self.config.base.seed, pile)
            for method in self.config.methods:
                self.clear_pile(method, pile, seed)

    # ------------------------------------------------------------------ one pile
    def clear_pile(self, method: str, pile: int, seed: int) -> PileRun:
        """`method` picks on pile `pile` until the table is empty or the failures stop it."""
        run = PileRun(method=method, pile=pile, seed=seed, objects_dropped=self.config.objects)
        self.piles.append(run)
        started = time.monotonic()
        try:
            state = self._drop_pile(seed)
        except AttemptFailure as failure:
            run.error = str(failure)
            run.stop_reason = "pile not set up"
            self.log(f"pile {pile} {method}: not set up: {failure}")
            self._restart_if_dead()
            run.wall_time = time.monotonic() - started
            return run
        counts = _counts(state)
        run.objects_at_start, run.lost_at_drop = counts["table"], counts["lost"]
        policy = TargetPolicy(self.config.targets)
        failures_in_row = 0
        while True:
            run.stop_reason = stop_reason(
                counts["table"], failures_in_row, self.config.max_consecutive_failures
            )
            if not run.stop_reason and run.attempts >= self.config.max_attempts_per_pile:
                # Only a world whose successful picks leave the table as full gets here.
                run.stop_reason = f"attempt limit ({run.attempts})"
            if run.stop_reason:
                break
            attempt = self.attempt(method, pile, seed, run.attempts, counts["table"], policy)
            policy.record(attempt.success, attempt.target_label, attempt.aimed_label)
            self.attempts.append(attempt)
            run.attempts += 1
            run.successes += attempt.success
            failures_in_row = 0 if attempt.success else failures_in_row + 1
            named = f" [named {attempt.target_object}]" if attempt.target_object else ""
            self.log(
                f"pile {pile} {method} #{attempt.index}{named}: "
                f"{'success' if attempt.success else attempt.reason[:100]} "
                f"({attempt.objects_on_table_after} left)"
            )
            if attempt.category == "node died":
                self._restart_if_dead()
                run.stop_reason = "node died"
                break
            counts = self._counts_now(counts)
        counts = self._counts_now(counts)
        run.cleared, run.remaining = counts["bin"], counts["table"]
        run.lost = counts["lost"] - run.lost_at_drop
        if run.stop_reason == "table empty":
            run.empty_table_answer = self._detect_on_empty_table(method)
        run.wall_time = time.monotonic() - started
        self.log(
            f"pile {pile} {method}: {run.cleared}/{run.objects_at_start} cleared in "
            f"{run.attempts} attempts, {run.lost} lost; stopped: {run.stop_reason}"
        )
        return run

    def _drop_pile(self, seed: int) -> dict[str, Any]:
        """Drops the pile of `seed`; its ground truth (AttemptFailure when it is not ready)."""
        client = self.client
        client.set_world_parameters(
            {"scene_mode": "pile", "pile_objects": self.config.objects, "seed": seed}
        )
        reset = client.trigger(client.reset, RESET_SERVICE)
        if not reset.success:
            raise AttemptFailure("reset failed", reset.message)
        state = client.ground_truth(client.object_state, OBJECT_STATE_SERVICE)
        if state.get("scene_mode") != "pile" or state.get("seed") != seed:
            raise AttemptFailure("reset failed", f"the world holds {state.get('object_name')}")
        return state

    def _counts_now(self, previous: dict[str, int]) -> dict[str, int]:
        """The world's counts now (the previous ones when it does not answer)."""
        try:
            return _counts(self.client.ground_truth(self.client.object_state, OBJECT_STATE_SERVICE))
        except (AttemptFailure, KeyError):
            return previous

    def _restart_if_dead(self) -> None:
        if self.graph.dead():
            self.bench.restart_graph()

    def _detect_on_empty_table(self, method: str) -> str:
        """/detect_grasp on a frame of the cleared table: the planner's answer (a refusal such
        as "no object above the table" is expected; the run goes on whatever it is)."""
        try:
            _, image, info = self.client.frame_after(time.time_ns())
            grasp, _ = self.client.detect_grasp(method, image, info)
        except AttemptFailure as failure:
            return str(failure)
        return f"a grasp (q {float(grasp.q_value):.2f}) on the empty table"

    # ------------------------------------------------------------------ one attempt
    def attempt(
        self,
        method: str,
        pile: int,
        seed: int,
        index: int,
        on_table: int,
        policy: TargetPolicy | None = None,
    ) -> ClutterAttempt:
        """One pick, always recorded (a fault is a failure with its reason) and kept in
        attempts/ with what it reached; the pick is finished (carried object to the bin, arm
        home) whatever happened. `policy` chooses the object the request names (None: any)."""
        record = ClutterAttempt(
            method=method, pile=pile, seed=seed, index=index, objects_on_table_before=on_table
        )
        replay: dict[str, Any] = {}
        started = time.monotonic()
        try:
            self._pick(record, replay, policy or TargetPolicy())
            record.success = True
            record.category = "success"
        except AttemptFailure as failure:
            record.fail(failure.category, failure.detail)
        except Exception as error:  # a runner bug must not end the benchmark
            record.fail("internal error", f"{type(error).__name__}: {error}")
        dead = self.graph.dead()
        if dead:
            record.fail("node died", ", ".join(f"{k} (code {v})" for k, v in dead.items()))
        else:
            self._finish(record)
        record.wall_time = time.monotonic() - started
        record.replay_file = str(save_clutter_replay(self.attempts_dir, record, replay))
        return record

    def _pick(self, record: ClutterAttempt, replay: dict[str, Any], policy: TargetPolicy) -> None:
        client = self.client
        before = client.ground_truth(client.object_state, OBJECT_STATE_SERVICE)
        replay.update(
            camera_pose=np.asarray(before["camera_pose"]),
            object_names=np.asarray([o["name"] for o in before["objects"]]),
            object_places=np.asarray([o["where"] for o in before["objects"]]),
            object_poses=np.asarray([o["pose"] for o in before["objects"]]),
        )
        period_ns = int(1e9 / self.config.base.camera_rate_hz)
        stamp_ns, image, info = client.frame_after(time.time_ns() + period_ns)
        self.bench._keep_frames(stamp_ns, image, info, replay)
        labels = None
        if policy.needs_segmentation:
            labels = client.segmentation_of(stamp_ns)
            replay.update(segmentation=labels)
            self._name_target(record, policy, labels, before["objects"])
        grasp = self._detect(record, image, info, labels, before["objects"])
        again = policy.retarget(labels, record.aimed_label)
        if labels is not None and again != ANY_OBJECT:
            # The grasp is on an object that failed since the last success: not executed; the
            # request goes again naming another object (its planning time is the robot's too).
            record.declined_object = record.aimed_object
            record.declined_detection_time = record.detection_time
            record.target_label = again
            record.target_object = _object_name(before["objects"], again)
            record.target_pixels = int(np.count_nonzero(labels == again))
            record.forget_detection()
            record.robot_time = record.declined_detection_time
            grasp = self._detect(record, image, info, labels, before["objects"])
            record.robot_time += record.declined_detection_time
        from gqstn_ros.nodes.grasp_messages import pose_to_transform  # noqa: PLC0415

        replay.update(grasp_in_camera=pose_to_transform(grasp.pose).matrix())
        sim_start = float(
            client.ground_truth(client.object_state, OBJECT_STATE_SERVICE)["sim_time"]
        )
        result = client.execute_grasp(grasp, lambda _stage: None)
        record.executor_success = bool(result.success)
        record.executor_message = result.message
        held = client.ground_truth(client.hold, HOLD_SERVICE)
        # The robot's clock: the motions, not the hold (a judging pause of the benchmark).
        record.robot_time += max(
            0.0, float(held["sim_time"]) - float(held["hold_duration_s"]) - sim_start
        )
        record.held_object = held.get("held_object") or ""
        record.lifted_named = bool(record.target_object) and (
            record.held_object == record.target_object
        )
        record.lifted_height_min = float(held["lifted_height_min"])
        judge_hold(held, record.executor_success, result.message, self.config.base.lift_threshold)

    def _detect(
        self,
        record: ClutterAttempt,
        image: Any,
        info: Any,
        labels: np.ndarray | None,
        objects: list[dict[str, Any]],
    ) -> Any:
        """/detect_grasp on the frame, naming `record.target_label` by its mask in `labels`
        (none when 0); the grasp, with what it reached in `record`."""
        mask = target_mask(labels, record.target_label) if record.target_label else None
        grasp, round_trip = self.client.detect_grasp(record.method, image, info, mask)
        record.detected = True
        record.detection_time = float(grasp.planning_time)
        record.detection_round_trip = round_trip
        record.robot_time = record.detection_time
        record.q_value = float(grasp.q_value)
        record.grasp_center_px_u, record.grasp_center_px_v = (float(v) for v in grasp.center_px)
        record.grasp_angle = float(grasp.angle)
        record.grasp_width = float(grasp.width)
        record.grasp_depth = float(grasp.depth)
        record.answered_by = str(grasp.planner)
        if labels is not None:
            record.aimed_label = object_aimed_at(labels, grasp.center_px)
            record.aimed_object = _object_name(objects, record.aimed_label)
        return grasp

    @staticmethod
    def _name_target(
        record: ClutterAttempt,
        policy: TargetPolicy,
        labels: np.ndarray,
        objects: list[dict[str, Any]],
    ) -> None:
        """The object the request names (the policy's choice on `labels`), and how many objects
        on the table are too hidden to be named, into `record`."""
        pixels = np.bincount(labels.ravel().astype(np.int64), minlength=len(objects) + 1)
        record.objects_not_visible = sum(
            1
            for index, item in enumerate(objects)
            if item["where"] == "table" and pixels[index + 1] < policy.min_pixels
        )
        record.target_label = policy.choose(labels)
        if record.target_label != ANY_OBJECT:
            record.target_object = _object_name(objects, record.target_label)
            record.target_pixels = int(pixels[record.target_label])

    def _finish(self, record: ClutterAttempt) -> None:
        """/sim/finish_pick: the carried object to the bin, the arm home, the table settled."""
        try:
            state = self.client.ground_truth(self.client.finish_pick, FINISH_PICK_SERVICE)
        except AttemptFailure as failure:
            if record.success:
                record.fail(failure.category, f"finishing the pick: {failure.detail}")
            return
        record.binned_object = state.get("binned") or ""
        record.objects_on_table_after = int(state["objects_on_table"])
        if not state["ok"] and record.success:
            record.fail("sim diverged", f"finishing the pick: {state.get('fault', '')}")


def _object_name(objects: list[dict[str, Any]], label: int) -> str:
    """The name of the object of segmentation label `label` (object label - 1 of the world's
    list), '' for ANY_OBJECT or a label the list does not hold."""
    if label == ANY_OBJECT or label > len(objects):
        return ""
    return str(objects[label - 1]["name"])


def run_clutter(config: ClutterConfig) -> tuple[list[PileRun], list[ClutterAttempt]]:
    """Start the graph (sim_world in pile mode), clear every pile with every method, stop the
    graph, write the results; the piles and attempts. KeyboardInterrupt (Ctrl-C or SIGTERM)
    after the results so far are written; RuntimeError when the graph does not come up."""
    base = config.base
    output = base.output_dir
    output.mkdir(parents=True, exist_ok=True)
    params_file = output / "benchmark_params.yaml"
    world = {"scene_mode": "pile", "pile_objects": config.objects}
    params_file.write_text(parameters_yaml(base, output / "executor_attempts.jsonl", world))
    graph = GraphProcesses(base, params_file, output / "logs")
    timing: dict[str, Any] = {}
    started = time.monotonic()
    runner: ClutterRunner | None = None
    header = (
        f"clutter benchmark: {config.piles} pile(s) of {config.objects} unseen objects "
        f"x {len(config.methods)} methods, target policy {config.targets}, stop after "
        f"{config.max_consecutive_failures} failures in a row; models from {base.models_dir}"
    )

    def pick(client: BenchClient) -> None:
        nonlocal runner
        runner = ClutterRunner(config, client, graph)
        runner.bench.wait_ready()
        timing["startup_s"] = time.monotonic() - started
        print(f"node graph ready in {timing['startup_s']:.1f} s", flush=True)
        picking = time.monotonic()
        runner.run()
        timing["picking_s"] = time.monotonic() - picking

    codes, interrupted = run_on_graph(
        graph,
        header,
        lambda: BenchClient(base, segmentation=config.targets != "any"),
        pick,
        timing,
        started,
    )
    timing["node_exit_codes"] = codes
    piles = runner.piles if runner is not None else []
    attempts = runner.attempts if runner is not None else []
    write_clutter_results(output, config, piles, attempts, timing)
    print(format_clutter_table(summarize_clutter(piles, attempts, config.methods), config.targets))
    print(f"{len(attempts)} attempts in {timing['total_s']:.0f} s; results in {output}")
    if interrupted:
        raise KeyboardInterrupt
    return piles, attempts
