"""The benchmark run: start the node graph, make every planned attempt through the ROS client,
score and keep each one, stop the graph, write the report. A fault ends one attempt as a failure
with its reason; the run goes on (after a node died, with the graph started again)."""

from __future__ import annotations

import math
import os
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from gqstn_ros.node_graph import DOMAIN_VARIABLE
from gqstn_ros.tools.benchmark.client import (
    HOLD_SERVICE,
    OBJECT_STATE_SERVICE,
    RESET_SERVICE,
    BenchClient,
)
from gqstn_ros.tools.benchmark.graph import GraphProcesses, parameters_yaml
from gqstn_ros.tools.benchmark.report import format_table, save_replay, write_results
from gqstn_ros.tools.benchmark.scenario import (
    AttemptFailure,
    AttemptRecord,
    BenchmarkConfig,
    PlannedAttempt,
    planned_attempts,
)
from gqstn_ros.tools.benchmark.scoring import (
    PhysicalRobustness,
    detection_time_ratio,
    judge_hold,
    summarize,
)


class BenchmarkRunner:
    """Runs the attempts of `config` against a started graph (see the package docstring)."""

    def __init__(
        self,
        config: BenchmarkConfig,
        client: BenchClient,
        graph: GraphProcesses,
        log: Callable[[str], None] = print,
    ) -> None:
        self.config = config
        self.client = client
        self.graph = graph
        self.log = log
        self.robustness = PhysicalRobustness()
        self.attempts_dir = config.output_dir / "attempts"
        self.attempts_dir.mkdir(parents=True, exist_ok=True)

    def wait_ready(self) -> None:
        """Wait until the graph serves everything; RuntimeError (with the logs) if it does not."""
        deadline = time.monotonic() + self.config.startup_timeout_s
        missing = self.client.ready()
        while missing and time.monotonic() < deadline:
            dead = self.graph.dead()
            if dead:
                raise RuntimeError(self._dead_message(dead))
            self.client.spin_until(lambda: False, 0.5)
            missing = self.client.ready()
        if missing:
            raise RuntimeError(
                f"the node graph did not come up in {self.config.startup_timeout_s:g} s: "
                f"missing {', '.join(missing)} (logs in {self.graph.log_dir})"
            )

    def _dead_message(self, dead: dict[str, int]) -> str:
        parts = []
        for label, code in dead.items():
            parts.append(f"{label} exited with code {code}:\n{self.graph.log_tail(label)}")
        return "node(s) died: " + "\n".join(parts)

    def attempt(self, planned: PlannedAttempt) -> AttemptRecord:
        """The attempt `planned`, always recorded (a fault is a failure with its reason) and
        kept in attempts/ with what it reached."""
        record = AttemptRecord(
            object_name=planned.object_name,
            trial=planned.trial,
            method=planned.method,
            seed=planned.seed,
        )
        replay: dict[str, Any] = {}
        started = time.monotonic()
        try:
            self._run(record, replay)
            record.category = "success" if record.success else record.category
        except AttemptFailure as failure:
            record.fail(failure.category, failure.detail)
        except Exception as error:  # a runner bug must not end the benchmark
            record.fail("internal error", f"{type(error).__name__}: {error}")
        dead = self.graph.dead()
        if dead:
            record.fail("node died", ", ".join(f"{k} (code {v})" for k, v in dead.items()))
        record.wall_time = time.monotonic() - started
        record.replay_file = str(save_replay(self.attempts_dir, record, replay))
        return record

    def _run(self, record: AttemptRecord, replay: dict[str, Any]) -> None:
        """The steps of one attempt; returns on success, else raises AttemptFailure."""
        reset_done_ns, object_pose, camera_pose = self._reset_scene(record, replay)
        grasp = self._detect(record, replay, reset_done_ns)
        from gqstn_ros.nodes.grasp_messages import pose_to_transform  # noqa: PLC0415

        grasp_in_camera = pose_to_transform(grasp.pose).matrix()
        replay.update(grasp_in_camera=grasp_in_camera, grasp_planner=grasp.planner)
        record.physical_robust_quality, record.physical_robust = self.robustness.score(
            record.object_name,
            object_pose,
            camera_pose,
            grasp_in_camera,
            record.grasp_width,
            record.seed,
        )
        self._execute_and_hold(record, replay, grasp)

    def _reset_scene(
        self, record: AttemptRecord, replay: dict[str, Any]
    ) -> tuple[int, np.ndarray, np.ndarray]:
        """Drops the attempt's object; (the reset's end in time.time_ns(), the object's and the
        camera's true poses in the world)."""
        client = self.client
        client.set_scene(record.object_name, record.seed)
        reset = client.trigger(client.reset, RESET_SERVICE)
        reset_done_ns = time.time_ns()
        if not reset.success:
            category = "fell off" if "fell off" in reset.message.lower() else "reset failed"
            raise AttemptFailure(category, f"scene not ready: {reset.message}")
        state = client.ground_truth(client.object_state, OBJECT_STATE_SERVICE)
        if state.get("object_name") != record.object_name or state.get("seed") != record.seed:
            raise AttemptFailure("reset failed", f"the world holds {state.get('object_name')}")
        object_pose = np.asarray(state["object_pose"], dtype=np.float64)
        camera_pose = np.asarray(state["camera_pose"], dtype=np.float64)
        replay.update(object_pose=object_pose, camera_pose=camera_pose)
        if not state["on_table"]:
            raise AttemptFailure("fell off", "the object fell off the table when dropped")
        return reset_done_ns, object_pose, camera_pose

    def _detect(self, record: AttemptRecord, replay: dict[str, Any], reset_done_ns: int) -> Any:
        """The method's grasp (a gqstn_msgs/Grasp) on a frame taken after the reset (one frame
        period of margin) through the depth node, sent with the request: the planner sees
        exactly the frame kept for replay, whatever frames the inference node's own
        subscription received or lost."""
        record.stage = "detecting"
        period_ns = int(1e9 / self.config.camera_rate_hz)
        stamp_ns, image, info = self.client.frame_after(reset_done_ns + period_ns)
        self._keep_frames(stamp_ns, image, info, replay)
        grasp, round_trip = self.client.detect_grasp(record.method, image, info)
        record.detected = True
        record.detection_time = float(grasp.planning_time)
        record.detection_round_trip = round_trip
        record.q_value = float(grasp.q_value)
        record.robust_prediction = bool(grasp.robust)
        record.grasp_center_px_u, record.grasp_center_px_v = (float(v) for v in grasp.center_px)
        record.grasp_angle = float(grasp.angle)
        record.grasp_width = float(grasp.width)
        record.grasp_depth = float(grasp.depth)
        record.answered_by = str(grasp.planner)
        return grasp

    def _execute_and_hold(self, record: AttemptRecord, replay: dict[str, Any], grasp: Any) -> None:
        """Executes `grasp` (even when not robust), then the hold judged on the ground truth."""
        record.stage = "executing"

        def on_stage(stage: str) -> None:
            record.stage = stage

        client = self.client
        result = client.execute_grasp(grasp, on_stage)
        record.executor_success = bool(result.success)
        record.executor_message = result.message
        held = client.ground_truth(client.hold, HOLD_SERVICE)
        record.lifted_height_min = float(held["lifted_height_min"])
        record.object_on_table = bool(held["on_table"])
        replay.update(final_object_pose=np.asarray(held["object_pose"]))
        judge_hold(held, record.executor_success, result.message, self.config.lift_threshold)
        record.success = True
        record.stage = "held"

    def _keep_frames(self, stamp_ns: int, image: Any, info: Any, replay: dict[str, Any]) -> None:
        from gqstn_ros.depth_image import camera_info_to_intrinsics, depth_to_metres  # noqa: PLC0415

        replay["depth_inpainted"] = depth_to_metres(image)  # (H, W) float32 m
        raw = self.client.kept(self.client.raw, stamp_ns)
        if raw is not None:
            replay["depth_raw"] = depth_to_metres(raw)  # (H, W) float32 m, NaN = no data
        k = camera_info_to_intrinsics(info)
        replay["intrinsics"] = np.array([k.width, k.height, k.fx, k.fy, k.cx, k.cy])
        replay["frame_stamp_ns"] = np.int64(stamp_ns)

    def run(self, progress: Any = None) -> list[AttemptRecord]:
        """Every attempt of the configuration (objects, then trials, then methods)."""
        records = []
        for planned in planned_attempts(self.config):
            record = self.attempt(planned)
            records.append(record)
            outcome = "success" if record.success else record.reason
            message = f"{planned.object_name} #{planned.trial} {planned.method}: {outcome[:100]}"
            if progress is not None:
                progress.update(1)
                progress.set_postfix_str(message[:60])
                progress.write(message)
            else:
                self.log(message)
            if record.category == "node died":
                self.restart_graph()
        return records

    def restart_graph(self) -> None:
        """After a node died: stop the graph and start it again (the benchmark goes on)."""
        self.log("restarting the node graph after a node died")
        self.graph.stop()
        self.graph.start()
        self.wait_ready()


@contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM ends the run like Ctrl-C, so that the nodes are stopped and results written."""

    def on_term(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_on_graph(
    graph: GraphProcesses,
    header: str,
    make_client: Callable[[], BenchClient],
    work: Callable[[BenchClient], None],
    timing: dict[str, Any],
    started: float,
) -> tuple[dict[str, int], bool]:
    """Print `header` (with the node logs' folder and the ROS domain), start `graph`, make the
    client and run `work` with it; Ctrl-C or SIGTERM ends the work early. The client is closed
    and the graph stopped whatever happens; timing["total_s"] is set from `started`. Returns
    the nodes' exit codes and whether the run was interrupted."""
    client = None
    interrupted = False
    codes: dict[str, int] = {}
    with _terminate_as_interrupt():
        try:
            print(
                f"{header}, node logs in {graph.log_dir}, ROS domain {os.environ[DOMAIN_VARIABLE]}",
                flush=True,
            )
            graph.start()
            client = make_client()
            work(client)
        except KeyboardInterrupt:
            interrupted = True
            print("interrupted: stopping the node graph", flush=True)
        finally:
            if client is not None:
                client.close()
            codes = graph.stop()
            timing["total_s"] = time.monotonic() - started
    return codes, interrupted


def run_benchmark(config: BenchmarkConfig) -> tuple[list[AttemptRecord], dict[str, Path]]:
    """Start the graph, run every attempt, stop the graph, write the results; the records and
    the report's paths (see report.write_results). KeyboardInterrupt (Ctrl-C or SIGTERM) after
    the results so far are written; RuntimeError when the graph does not come up."""
    output = config.output_dir
    output.mkdir(parents=True, exist_ok=True)
    params_file = output / "benchmark_params.yaml"
    params_file.write_text(parameters_yaml(config, output / "executor_attempts.jsonl"))
    graph = GraphProcesses(config, params_file, output / "logs")
    records: list[AttemptRecord] = []
    timing: dict[str, Any] = {}
    started = time.monotonic()
    header = (
        f"benchmark: {len(config.objects)} objects x {config.trials} trials x "
        f"{len(config.methods)} methods = {config.attempt_count} attempts; "
        f"models from {config.models_dir}"
    )

    def attempts(client: BenchClient) -> None:
        runner = BenchmarkRunner(config, client, graph)
        records.extend(_run_attempts(config, runner, timing, started))

    codes, interrupted = run_on_graph(
        graph, header, lambda: BenchClient(config), attempts, timing, started
    )
    if records and timing.get("attempts_s"):
        timing["attempts_per_s"] = len(records) / timing["attempts_s"]
    timing["node_exit_codes"] = codes
    paths = write_results(output, config, records, timing)
    rows = summarize(records, config.methods)
    print(format_table(rows, detection_time_ratio(rows)))
    print(
        f"{len(records)} attempts in {timing['total_s']:.0f} s "
        f"(startup {timing.get('startup_s', math.nan):.0f} s); results in {output}"
    )
    if interrupted:
        raise KeyboardInterrupt
    return records, paths


def _run_attempts(
    config: BenchmarkConfig, runner: BenchmarkRunner, timing: dict[str, Any], started: float
) -> list[AttemptRecord]:
    """Waits for the graph, then makes every attempt; startup_s and attempts_s into `timing`
    (`started`: the run's start in time.monotonic())."""
    runner.wait_ready()
    timing["startup_s"] = time.monotonic() - started
    print(f"node graph ready in {timing['startup_s']:.1f} s", flush=True)
    attempts_started = time.monotonic()
    progress = _progress_bar(config)
    try:
        records = runner.run(progress)
    finally:
        if progress is not None:
            progress.close()
    timing["attempts_s"] = time.monotonic() - attempts_started
    return records


def _progress_bar(config: BenchmarkConfig) -> Any:
    if not config.show_progress:
        return None
    try:
        from tqdm import tqdm  # noqa: PLC0415
    except ImportError:
        return None
    return tqdm(total=config.attempt_count, unit="attempt", dynamic_ncols=True)
