"""Run the bench's node graph without the `ros2` command: one process per node.

    python -m gqstn_ros.tools.run_graph [use_sim:=true] [robot_ip:=...] [gripper_port:=...]
        [model_backend:=torch|onnxruntime] [params_file:=extra.yaml]
        [respawn:=true] [respawn_delay:=2.0] [--only depth_node,...]

The same arguments and the same nodes as `ros2 launch gqstn_ros bench.launch.py`
(`gqstn_ros.node_graph`). Each node runs as
`python -m gqstn_ros.nodes.<executable> --ros-args -r __node:=<name> --params-file <yaml> -p ...`,
its output prefixed with its name. SIGINT/SIGTERM are forwarded to every node (as SIGINT), and
each node's exit code is reported. When a node exits on its own the runner reports its code
and, with `respawn:=true`, starts it again after `respawn_delay` seconds (not after an invalid
configuration, exit code 2); else it stops the others (or keeps them with `--keep-going`).
The exit status is 0 when every node exited with code 0, else the first failing node's
(128 + N for a node ended by signal N).

`RunningNode` and `stop_nodes` are the one node process runner of the package: the benchmark
(`gqstn_ros.tools.benchmark`) starts and stops its graph with them, each node's output in a log
file.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from gqstn_ros.node_graph import (
    LAUNCH_ARGUMENTS,
    LOG_ENVIRONMENT,
    GraphArguments,
    NodeSpec,
    ParameterOverride,
    default_config_dir,
    node_environment,
    nodes_to_start,
)
from gqstn_ros.nodes.shutdown import (
    started_as_node_process,
    stop_signals_held,
    stopped_with_parent,
)

STOP_TIMEOUT_S = 10.0
POLL_PERIOD_S = 0.2
INVALID_CONFIGURATION_CODE = 2  # a node's exit code for an invalid configuration (spin_node)


def parameter_text(value: ParameterOverride) -> str:
    """A `-p name:=value` value as the ROS command line parses it (YAML; an empty string is
    written '')."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value) if value != "" else "''"


def node_command(spec: NodeSpec, config_dir: Path, python: str = sys.executable) -> list[str]:
    """The command line that runs `spec` in its own process."""
    command = [python, "-m", spec.module, "--ros-args"]
    if spec.name:
        command += ["-r", f"__node:={spec.name}"]
    for path in spec.parameter_paths(config_dir):
        if not path.is_file():
            raise FileNotFoundError(f"parameters file of {spec.label} not found: {path}")
        command += ["--params-file", str(path)]
    for name, value in spec.parameters:
        command += ["-p", f"{name}:={parameter_text(value)}"]
    for source, target in spec.remappings:
        command += ["-r", f"{source}:={target}"]
    return command


class RunningNode:
    """One node process, started at construction.

    Its output goes to ours, each line prefixed with the node's label (a thread copies it), or,
    given `log_path`, is appended to that file after a `$ <command>` line. Its environment is
    ours, plus LOG_ENVIRONMENT, plus `extra_env`. `new_session`: the process gets a session of
    its own, so a Ctrl-C at the terminal reaches only the program that started it, which then
    stops the node itself (`stop_nodes`).
    """

    def __init__(
        self,
        spec: NodeSpec,
        command: list[str],
        extra_env: Mapping[str, str] | None = None,
        log_path: Path | None = None,
        new_session: bool = False,
    ) -> None:
        self.spec = spec
        self.command = command
        self.extra_env = extra_env
        self.log_path = log_path
        self.new_session = new_session
        self.killed = False
        self.reader: threading.Thread | None = None
        log = None if log_path is None else log_path.open("a")
        try:
            if log is not None:
                log.write(f"$ {' '.join(command)}\n")
                log.flush()
            # One of our nodes starts with the stop signals held until it handles them.
            held = (
                stop_signals_held()
                if started_as_node_process(command, command[0])
                else contextlib.nullcontext()
            )
            try:
                with held:
                    self.process = subprocess.Popen(
                        command,
                        stdout=subprocess.PIPE if log is None else log,
                        stderr=subprocess.STDOUT,
                        text=True,
                        env={**os.environ, **LOG_ENVIRONMENT, **(extra_env or {})},
                        start_new_session=new_session,
                        preexec_fn=stopped_with_parent(),  # noqa: PLW1509 (takes no lock)
                    )
            except BaseException:
                # A stop signal held during the spawn is raised here, when the block ends: the
                # node just started would be left running in its own session, owned by no one.
                if getattr(self, "process", None) is not None:
                    self.process.kill()
                    self.process.wait()
                raise
        finally:
            if log is not None:
                log.close()  # the node keeps its own descriptor of the file
        if log is None:
            self.reader = threading.Thread(target=self._copy_output, daemon=True)
            self.reader.start()

    def _copy_output(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            print(f"[{self.spec.label}] {line}", end="", flush=True)

    @property
    def reported(self) -> bool:
        """Exited before the graph stopped (its exit was reported then)."""
        return self.process.returncode is not None

    def restarted(self) -> RunningNode:
        """The same node in a new process (output, environment and session as this one's)."""
        return RunningNode(self.spec, self.command, self.extra_env, self.log_path, self.new_session)

    def interrupt(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)

    def wait(self, timeout_s: float) -> int:
        """The process's return code once it has exited; killed after `timeout_s`."""
        try:
            return self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            print(
                f"[run_graph] {self.spec.label} ignored SIGINT for {timeout_s:g} s: killing it",
                flush=True,
            )
            self.killed = True
            self.process.kill()
            return self.process.wait(STOP_TIMEOUT_S)

    def join_output(self, timeout_s: float) -> None:
        """Waits until the node's output has been copied to ours (at once with a log file)."""
        if self.reader is not None:
            self.reader.join(timeout_s)


def stop_nodes(
    nodes: Sequence[RunningNode],
    timeout_s: float = STOP_TIMEOUT_S,
    on_exit: Callable[[RunningNode, int], None] | None = None,
) -> list[int]:
    """Stops `nodes`: SIGINT to each one still running, then their return codes, in order.

    A node still running `timeout_s` after the signal (one deadline for all: they stop side by
    side) is killed. Each node's output is copied to the end before `on_exit(node, code)` is
    called, node by node as they are waited for.
    """
    for node in nodes:
        node.interrupt()
    deadline = time.monotonic() + timeout_s
    codes = []
    for node in nodes:
        code = node.wait(max(0.1, deadline - time.monotonic()))
        node.join_output(timeout_s)
        if on_exit is not None:
            on_exit(node, code)
        codes.append(code)
    return codes


def parse_arguments(argv: Sequence[str]) -> tuple[GraphArguments, argparse.Namespace]:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="launch arguments: "
        + "; ".join(
            f"{a.name}:=<{'|'.join(a.choices) or a.default or 'path'}> ({a.description})"
            for a in LAUNCH_ARGUMENTS
        ),
    )
    parser.add_argument("launch_arguments", nargs="*", metavar="name:=value")
    parser.add_argument("--only", default="", help="comma-separated node labels to start")
    parser.add_argument("--config-dir", type=Path, default=None, help="default: the package's")
    parser.add_argument("--keep-going", action="store_true", help="keep running if a node exits")
    options = parser.parse_args(argv)
    values = {}
    for item in options.launch_arguments:
        name, separator, value = item.partition(":=")
        if not separator:
            parser.error(f"launch arguments are written name:=value, got {item!r}")
        values[name] = value
    try:
        return GraphArguments.from_strings(values), options
    except ValueError as error:
        parser.error(str(error))
        raise  # parser.error exits; this line is for type checkers


def select_nodes(specs: list[NodeSpec], only: str) -> list[NodeSpec]:
    if not only:
        return specs
    wanted = [label.strip() for label in only.split(",") if label.strip()]
    labels = [spec.label for spec in specs]
    unknown = [label for label in wanted if label not in labels]
    if unknown:
        raise ValueError(f"--only names unknown nodes {unknown}: the graph has {labels}")
    return [spec for spec in specs if spec.label in wanted]


def exit_status(code: int) -> int:
    """A process's return code as a shell reports it: 128 + N when signal N ended it."""
    return 128 - code if code < 0 else code


def describe_exit(code: int) -> str:
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"was ended by {name} (code {code})"
    return f"exited with code {code}"


def run(
    specs: list[NodeSpec],
    config_dir: Path,
    keep_going: bool = False,
    extra_env: Mapping[str, str] | None = None,
    respawn: bool = False,
    respawn_delay_s: float = 0.0,
) -> int:
    """Start `specs` (their environment: ours plus `extra_env`), wait for a signal or a node's
    exit, stop everything; the exit status.

    A node that exits on its own is reported with its code; with `respawn` it is started again
    after `respawn_delay_s` (unless it stopped for an invalid configuration, code 2: starting
    it again cannot help), else the others are stopped (or kept with `keep_going`). On SIGINT
    or SIGTERM every node gets SIGINT and each one's exit code is reported. The exit status is
    0 when every node exited with 0, else the first failing node's (128 + N for signal N).
    """
    commands = [node_command(spec, config_dir) for spec in specs]  # all files checked first
    stop = threading.Event()
    received: list[int] = []

    def on_signal(signum: int, _frame: object) -> None:
        received.append(signum)
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    nodes: list[RunningNode] = []
    failures: list[int] = []
    restarts: dict[str, int] = {}
    try:
        for spec, command in zip(specs, commands, strict=True):
            nodes.append(RunningNode(spec, command, extra_env))
            print(
                f"[run_graph] started {spec.label} (pid {nodes[-1].process.pid}): "
                f"{' '.join(command)}",
                flush=True,
            )
        running = list(nodes)
        due: dict[int, float] = {}  # index in nodes -> time.monotonic() of its restart
        while (running or due) and not stop.wait(POLL_PERIOD_S):
            for node in list(running):
                code = node.process.poll()
                if code is None:
                    continue
                running.remove(node)
                node.join_output(STOP_TIMEOUT_S)
                print(f"[run_graph] {node.spec.label} {describe_exit(code)}", flush=True)
                if code != 0:
                    failures.append(exit_status(code))
                if respawn and code != INVALID_CONFIGURATION_CODE:
                    print(
                        f"[run_graph] respawning {node.spec.label} in {respawn_delay_s:g} s",
                        flush=True,
                    )
                    due[nodes.index(node)] = time.monotonic() + respawn_delay_s
                elif not keep_going:
                    stop.set()
            for index, when in list(due.items()):
                if time.monotonic() >= when and not stop.is_set():
                    del due[index]
                    label = nodes[index].spec.label
                    nodes[index] = nodes[index].restarted()
                    restarts[label] = restarts.get(label, 0) + 1
                    print(
                        f"[run_graph] {label} respawned (pid {nodes[index].process.pid}, "
                        f"restart {restarts[label]})",
                        flush=True,
                    )
                    running.append(nodes[index])
    finally:

        def report(node: RunningNode, code: int) -> None:
            print(f"[run_graph] {node.spec.label} {describe_exit(code)}", flush=True)
            if code != 0:
                failures.append(exit_status(code))

        stop_nodes([node for node in nodes if not node.reported], on_exit=report)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return failures[0] if failures else 0


def main(argv: Sequence[str] | None = None) -> int:
    arguments, options = parse_arguments(sys.argv[1:] if argv is None else argv)
    try:
        specs = select_nodes(nodes_to_start(arguments), options.only)
        config_dir = options.config_dir or default_config_dir()
        extra_env = node_environment(arguments, config_dir, os.environ)
        for name, value in extra_env.items():
            print(f"[run_graph] nodes run with {name}={value}", flush=True)
        return run(
            specs,
            config_dir,
            options.keep_going,
            extra_env,
            respawn=arguments.respawn,
            respawn_delay_s=arguments.respawn_delay,
        )
    except (ValueError, FileNotFoundError) as error:
        print(f"[run_graph] {error}", file=sys.stderr, flush=True)
        return 2


if __name__ == "__main__":
    sys.exit(main())
