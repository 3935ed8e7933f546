"""The node graph a benchmark runs against: the bench's graph in simulation
(`gqstn_ros.node_graph`), one process per node started by run_graph's runner, with the
benchmark's parameter overrides and each node's output in <output>/logs/<node>.log."""

from __future__ import annotations

import json
import os
from pathlib import Path

from gqstn_ros.node_graph import (
    DOMAIN_VARIABLE,
    GraphArguments,
    claim_private_domain,
    default_config_dir,
    network_environment,
    node_environment,
    nodes_to_start,
)
from gqstn_ros.planner_registry import DEFAULT_REQUEST_PLANNER
from gqstn_ros.tools.benchmark.client import SIM_WORLD_NODE
from gqstn_ros.tools.benchmark.scenario import DEFAULT_PIPELINE, BenchmarkConfig
from gqstn_ros.tools.run_graph import RunningNode, node_command, stop_nodes

# Added to every node's environment: a node that crashes leaves its Python traceback in its log
# (faulthandler), and one thread each for the math libraries.
NODE_ENVIRONMENT = {"PYTHONFAULTHANDLER": "1", "OMP_NUM_THREADS": "1"}


def parameters_yaml(
    config: BenchmarkConfig, attempt_log: Path, world: dict[str, str | int] | None = None
) -> str:
    """The benchmark's parameter overrides, keyed by node name (a ROS 2 params file); `world`:
    more sim_world parameters (strings and integers), e.g. the clutter run's scene mode."""
    world_lines = [f"    {name}: {json.dumps(value)}" for name, value in (world or {}).items()]
    # A request naming no planner (DEFAULT_PIPELINE) is planned by the node's default planner,
    # then judged against the minor-axis grasp and Prop+GQ-CNN's (the fallback node's), so the
    # fallback is allowed; a request naming a planner disables it itself.
    pipeline = DEFAULT_PIPELINE in config.methods
    named = [method for method in config.methods if method != DEFAULT_PIPELINE]
    planners = list(dict.fromkeys(named + ([DEFAULT_REQUEST_PLANNER] if pipeline else [])))
    models = json.dumps(str(config.models_dir.resolve()))
    return "\n".join(
        [
            "# Written by gqstn_ros.tools.benchmark: overrides for one benchmark run.",
            f"{SIM_WORLD_NODE}:",
            "  ros__parameters:",
            f"    publish_rate_hz: {config.camera_rate_hz}",
            f"    real_time_factor: {config.real_time_factor}",
            f"    hold_duration_s: {config.hold_duration_s}",
            "    stats_period_s: 0.0",
            # The benchmark resets before each attempt itself and judges the hold after it.
            "    reset_after_attempt: false",
            *world_lines,
            "executor_node:",
            "  ros__parameters:",
            f"    attempt_log_path: {json.dumps(str(attempt_log.resolve()))}",
            "inference_node:",
            "  ros__parameters:",
            f"    planners: {json.dumps(planners)}",
            *([f"    default_planner: {json.dumps(DEFAULT_REQUEST_PLANNER)}"] if pipeline else []),
            f"    models_dir: {models}",
            f"    allow_fallback: {json.dumps(pipeline)}",
            "    max_frame_age_s: 5.0",
            f"    symmetric_views: {config.symmetric_views}",
            "fallback_node:",
            "  ros__parameters:",
            f"    models_dir: {models}",
            "",
        ]
    )


class GraphProcesses:
    """The bench's node graph, one process per node, output to `log_dir`/<node>.log.

    Making one puts the graph's DDS domain and discovery range into this process's environment,
    so that a client created afterwards (BenchClient) joins the nodes. The domain is the
    environment's ROS_DOMAIN_ID where set, else one this process claims for itself
    (`claim_private_domain`): a benchmark never talks to another one's nodes, nor to a bench
    started by `ros2 launch`. The nodes run in sessions
    of their own: Ctrl-C reaches the benchmark, which stops them (`stop`).
    """

    def __init__(self, config: BenchmarkConfig, params_file: Path, log_dir: Path) -> None:
        arguments = GraphArguments(
            use_sim=True,
            model_backend=config.model_backend,
            symmetric_views=config.symmetric_views,
            judge_model=config.judge_model,
            params_file=str(params_file),
            ros_domain_id=os.environ.get(DOMAIN_VARIABLE) or str(claim_private_domain()),
        )
        config_dir = default_config_dir()
        self.specs = nodes_to_start(arguments)
        self.commands = [node_command(spec, config_dir) for spec in self.specs]
        self.extra_env = {**NODE_ENVIRONMENT, **node_environment(arguments, config_dir, os.environ)}
        os.environ.update(network_environment(arguments, os.environ))
        self.log_dir = log_dir
        self.nodes: dict[str, RunningNode] = {}

    def start(self) -> None:
        """Starts every node (appending to its log when the graph is started again)."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for spec, command in zip(self.specs, self.commands, strict=True):
            self.nodes[spec.label] = RunningNode(
                spec,
                command,
                self.extra_env,
                log_path=self.log_dir / f"{spec.label}.log",
                new_session=True,
            )

    def dead(self) -> dict[str, int]:
        """Nodes that exited, with their exit codes."""
        return {
            label: code
            for label, node in self.nodes.items()
            if (code := node.process.poll()) is not None
        }

    def log_tail(self, label: str, lines: int = 15) -> str:
        """The last `lines` lines of a node's log ('' before it has one)."""
        path = self.log_dir / f"{label}.log"
        if not path.is_file():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> dict[str, int]:
        """SIGINT every node, wait, kill the ones that ignore it; their exit codes by label."""
        labels = list(self.nodes)
        codes = stop_nodes(list(self.nodes.values()))
        self.nodes.clear()
        return dict(zip(labels, codes, strict=True))
