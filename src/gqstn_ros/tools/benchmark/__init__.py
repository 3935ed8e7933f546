"""The simulated physical benchmark (the paper's Table II) through the real node graph.

    python -m gqstn_ros.tools.benchmark [--objects all|NAME ...] [--trials 5]
        [--methods gqstn multigrasp prop_gqcnn default] [--quick] [--output runs/benchmark]
        [--models models] [--seed 0]

Brings up the bench's node graph in simulation (`gqstn_ros.node_graph`, one process per node
as `gqstn_ros.tools.run_graph` starts them: sim_world_node with the executor, depth_node,
inference_node, fallback_node) and acts as a ROS 2 client of it. For every object x trial x
method:

1. set `object_name` / `seed` on `sim_world` through its parameter service and call
   `/sim/reset_scene` (the object is dropped at a random pose near the table centre and
   settled; the seed depends on object and trial only, so every method meets the same scene);
2. read the ground truth (`/sim/object_state`: the object's true pose, the camera's pose);
3. wait for a depth frame taken after the reset on `/depth/inpainted` (the simulated Kinect's
   frame through the depth node);
4. call `/detect_grasp` with that frame (planner = the method, fallback disabled so each method
   is measured alone; method `default`: no planner named and the fallback allowed, the request
   a user sends, answered by the inference node's default pipeline; sending the frame makes the
   planner see exactly the frame kept for replay, whatever the inference node's own
   subscription received) and score the grasp's
   physical robustness independently: the robust Ferrari-Canny label
   (`grasping.robustness.GraspQualityEvaluator`) on the object's true mesh and pose;
5. execute it with `/execute_grasp` (even when not robust), then `/sim/hold` lets 1 s pass with
   the arm still: success = the object is at least 10 cm above where it settled during the
   whole second.

Every fault (no model, planner error, unreachable grasp, gripper closing on nothing, object
falling off, simulation diverging, a node dying, a timeout) is a failed attempt with its reason,
and the benchmark goes on. Table II (per method: success rate, robust prediction rate, mean and
median detection time, physical robustness; the detection time ratio Prop+GQ-CNN / GQ-STN, every
method's mean /detect_grasp round trip, and how often the default pipeline answered each
planner's grasp, from each attempt's `answered_by`) is
printed and saved with every attempt as JSON and CSV, with a bar plot; each attempt's depth
frames, grasp and ground truth are kept in attempts/*.npz so a failure can be replayed
(`--replay FILE.npz` re-scores a kept attempt without ROS).

The package, a module a job: `scenario` (the configuration, the scenes every method meets, the
attempt record), `client` (the ROS 2 client of the nodes), `graph` (the node processes, started
by `gqstn_ros.tools.run_graph`'s runner, and the benchmark's parameter overrides), `scoring`
(failure categories, the hold rule, physical robustness, Table II's rows), `report` (the table,
results.json, attempts.csv, the plot, the replay files), `runner` (one run from start to stop)
and `cli` (the command line).

`--clutter` runs the clear-the-table benchmark instead: piles of objects the shipped models
never saw, each cleared by every method through `/detect_grasp` and `/execute_grasp` until the
table is empty or after 3 failures in a row (`clutter`: configuration, stopping rule, records,
scoring, report; `clutter_runner`: the run through the nodes; results in runs/clutter).
"""

from gqstn_ros.tools.benchmark.cli import main, parse_config
from gqstn_ros.tools.benchmark.client import BenchClient
from gqstn_ros.tools.benchmark.clutter import (
    ClutterAttempt,
    ClutterConfig,
    ClutterSummary,
    PileRun,
    stop_reason,
    summarize_clutter,
)
from gqstn_ros.tools.benchmark.clutter_runner import ClutterRunner, run_clutter
from gqstn_ros.tools.benchmark.graph import GraphProcesses, parameters_yaml
from gqstn_ros.tools.benchmark.report import (
    METHOD_LABELS,
    format_table,
    plot_table,
    replay_attempt,
    write_results,
)
from gqstn_ros.tools.benchmark.runner import BenchmarkRunner, run_benchmark
from gqstn_ros.tools.benchmark.scenario import (
    DEFAULT_METHODS,
    DEFAULT_PIPELINE,
    METHOD_NAMES,
    AttemptFailure,
    AttemptRecord,
    BenchmarkConfig,
    scene_seed,
)
from gqstn_ros.tools.benchmark.scoring import (
    MethodSummary,
    PhysicalRobustness,
    classify_detection_failure,
    classify_execution_failure,
    detection_time_ratio,
    summarize,
)

__all__ = [
    "DEFAULT_METHODS",
    "DEFAULT_PIPELINE",
    "METHOD_LABELS",
    "METHOD_NAMES",
    "AttemptFailure",
    "AttemptRecord",
    "BenchClient",
    "BenchmarkConfig",
    "BenchmarkRunner",
    "ClutterAttempt",
    "ClutterConfig",
    "ClutterRunner",
    "ClutterSummary",
    "GraphProcesses",
    "MethodSummary",
    "PhysicalRobustness",
    "PileRun",
    "classify_detection_failure",
    "classify_execution_failure",
    "detection_time_ratio",
    "format_table",
    "main",
    "parameters_yaml",
    "parse_config",
    "plot_table",
    "replay_attempt",
    "run_benchmark",
    "run_clutter",
    "scene_seed",
    "stop_reason",
    "summarize",
    "summarize_clutter",
    "write_results",
]
