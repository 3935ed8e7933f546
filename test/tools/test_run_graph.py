"""run_graph and the launch file under faults: each node's real exit code is reported, a node
that dies is respawned when asked (else the graph stops, naming it), and the launch file hands
respawn and respawn_delay to launch_ros."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import types
from pathlib import Path

import pytest

from gqstn_ros.node_graph import LAUNCH_ARGUMENTS, GraphArguments, NodeSpec
from gqstn_ros.tools.run_graph import RunningNode, describe_exit, exit_status, stop_nodes
from ros_test_support import REPO_ROOT, PeerProcess

LAUNCH_FILE = REPO_ROOT / "launch" / "bench.launch.py"
TIMEOUT_S = 60.0  # generous: node processes start slowly on a loaded 2-core machine
READY_TEXT = "depth node ready"


def test_respawn_arguments() -> None:
    assert not GraphArguments().respawn and GraphArguments().respawn_delay == 2.0
    arguments = GraphArguments.from_strings({"respawn": "true", "respawn_delay": "0.5"})
    assert arguments.respawn and arguments.respawn_delay == 0.5
    with pytest.raises(ValueError, match=r"respawn:='yes' is not one of true, false"):
        GraphArguments.from_strings({"respawn": "yes"})
    for bad in ("-1", "soon", "nan", "1e9"):
        with pytest.raises(ValueError, match=r"respawn_delay:=.* must be a number of seconds"):
            GraphArguments.from_strings({"respawn_delay": bad})


def test_exit_codes_are_reported_as_a_shell_does() -> None:
    assert exit_status(0) == 0 and exit_status(2) == 2
    assert exit_status(-signal.SIGKILL) == 137
    assert describe_exit(-signal.SIGKILL) == "was ended by SIGKILL (code -9)"
    assert describe_exit(1) == "exited with code 1"


# A stand-in node: says it is ready once its SIGINT handler is set, then waits; on SIGINT it
# exits with code 0, or, told to, ignores it.
FAKE_NODE = """
import os, signal, sys, time
if sys.argv[1] == "ignore":
    signal.signal(signal.SIGINT, signal.SIG_IGN)
else:
    signal.signal(signal.SIGINT, lambda *_: sys.exit(0))
print("ready", os.environ.get("FAKE_NODE_VALUE"), flush=True)
time.sleep(60)
"""


def fake_node(label: str, log_dir: Path, on_sigint: str) -> RunningNode:
    spec = NodeSpec("gqstn_ros", label, label, (), "always")
    command = [sys.executable, "-c", FAKE_NODE, on_sigint]
    node = RunningNode(
        spec, command, {"FAKE_NODE_VALUE": label}, log_path=log_dir / f"{label}.log",
        new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + TIMEOUT_S
    while f"\nready {label}\n" not in (log_dir / f"{label}.log").read_text():
        assert time.monotonic() < deadline and node.process.poll() is None
        time.sleep(0.05)
    return node


def test_nodes_logged_to_files_in_their_own_sessions_stop_or_are_killed(tmp_path: Path) -> None:
    """The runner the benchmark uses: output to a log file after the command, a session of the
    node's own, and one stop deadline after which a node that ignores SIGINT is killed."""
    polite = fake_node("polite", tmp_path, "exit")
    stubborn = fake_node("stubborn", tmp_path, "ignore")
    assert os.getsid(polite.process.pid) == polite.process.pid != os.getsid(0)
    assert polite.reader is None  # nothing to copy: the output is in the file
    log = (tmp_path / "polite.log").read_text()
    assert log == "$ " + " ".join(polite.command) + "\nready polite\n"
    exits: list[tuple[str, int]] = []
    started = time.monotonic()
    codes = stop_nodes([polite, stubborn], timeout_s=1.0, on_exit=lambda n, c: exits.append(
        (n.spec.label, c)))  # fmt: skip
    assert codes == [0, -signal.SIGKILL] and exits == [("polite", 0), ("stubborn", -9)]
    assert stubborn.killed and not polite.killed and time.monotonic() - started < TIMEOUT_S
    # Started again, a node appends to its log.
    again = polite.restarted()
    try:
        while (tmp_path / "polite.log").read_text().count("ready polite") < 2:
            assert again.process.poll() is None
            time.sleep(0.05)
    finally:
        assert stop_nodes([again]) == [0]
    assert (tmp_path / "polite.log").read_text().count("$ ") == 2


class Recorded:
    """A launch class double that keeps its constructor arguments (launch is not installed)."""

    def __init__(self, *args, **kwargs) -> None:
        self.args, self.kwargs = args, kwargs


@pytest.mark.parametrize(("respawn", "delay"), [("false", "2.0"), ("true", "0.5")])
def test_launch_file_hands_respawn_to_every_node(monkeypatch, respawn: str, delay: str) -> None:
    values = {"respawn": respawn, "respawn_delay": delay}

    class LaunchConfiguration(Recorded):
        def perform(self, _context) -> str:
            name = self.args[0]
            return values.get(name, next(a.default for a in LAUNCH_ARGUMENTS if a.name == name))

    modules = {
        "launch": {"LaunchContext": Recorded, "LaunchDescription": Recorded},
        "launch.actions": {"DeclareLaunchArgument": Recorded, "OpaqueFunction": Recorded},
        "launch.substitutions": {"LaunchConfiguration": LaunchConfiguration},
        # The real executor is a managed node (LifecycleNode): respawned like the others.
        "launch_ros.actions": {"Node": Recorded, "LifecycleNode": Recorded},
        "launch_ros": {},
    }
    for name, attributes in modules.items():
        module = types.ModuleType(name)
        module.__dict__.update(attributes)
        monkeypatch.setitem(sys.modules, name, module)
    namespace: dict = {}
    exec(compile(LAUNCH_FILE.read_text(), str(LAUNCH_FILE), "exec"), namespace)
    monkeypatch.setitem(
        namespace["launch_nodes"].__globals__,
        "get_package_share_directory",
        lambda package: str(REPO_ROOT),
    )
    description = namespace["generate_launch_description"]()
    *declared, opaque = description.args[0]
    assert {"respawn", "respawn_delay"} <= {action.args[0] for action in declared}
    nodes = opaque.kwargs["function"](object())
    assert nodes
    for node in nodes:
        assert node.kwargs["respawn"] is (respawn == "true")
        assert node.kwargs["respawn_delay"] == float(delay)


def wait_for(condition, timeout_s: float, runner: PeerProcess) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, runner.output()
        time.sleep(0.05)


def node_pids(output: str, label: str) -> list[int]:
    """Every pid run_graph reported for `label`, in start order."""
    return [
        int(match)
        for match in re.findall(rf"\[run_graph\] (?:started|{label} respawned).*?pid (\d+)", output)
    ]


def stop_runner(runner: PeerProcess) -> int:
    """SIGINT to run_graph, its exit code; one that does not stop in time is killed and the
    test fails with everything it printed."""
    runner.process.send_signal(signal.SIGINT)
    try:
        code = runner.process.wait(TIMEOUT_S)
    except subprocess.TimeoutExpired:
        runner.process.kill()
        runner.process.wait()
        runner.reader.join(5)
        raise AssertionError(
            f"run_graph did not stop within {TIMEOUT_S:g} s of SIGINT:\n{runner.output()}"
        ) from None
    runner.reader.join(5)
    return code


@pytest.mark.ros
def test_a_killed_node_is_respawned_and_every_exit_code_reported() -> None:
    runner = PeerProcess(
        [
            "-m",
            "gqstn_ros.tools.run_graph",
            "--only",
            "depth_node",
            "use_sim:=false",
            "respawn:=true",
            "respawn_delay:=0.2",
        ],
        "run_graph",
    )
    try:
        wait_for(lambda: runner.output().count(READY_TEXT) == 1, TIMEOUT_S, runner)
        (first,) = node_pids(runner.output(), "depth_node")
        os.kill(first, signal.SIGKILL)
        wait_for(lambda: runner.output().count(READY_TEXT) == 2, TIMEOUT_S, runner)
        assert runner.is_running()
    finally:
        code = stop_runner(runner)
    output = runner.output()
    assert "[run_graph] depth_node was ended by SIGKILL (code -9)" in output
    assert "[run_graph] respawning depth_node in 0.2 s" in output
    pids = node_pids(output, "depth_node")
    assert len(pids) == 2 and pids[0] == first, output
    # The respawned node stopped cleanly on SIGINT; the kill is still the run's outcome.
    assert output.rstrip().endswith("[run_graph] depth_node exited with code 0"), output
    assert code == 128 + signal.SIGKILL


@pytest.mark.ros
def test_without_respawn_a_dead_node_stops_the_graph_with_its_code() -> None:
    runner = PeerProcess(
        ["-m", "gqstn_ros.tools.run_graph", "--only", "depth_node", "use_sim:=false"],
        "run_graph",
    )
    try:
        wait_for(lambda: READY_TEXT in runner.output(), TIMEOUT_S, runner)
        (pid,) = node_pids(runner.output(), "depth_node")
        os.kill(pid, signal.SIGKILL)
        code = runner.process.wait(TIMEOUT_S)
        runner.reader.join(5)
    finally:
        if runner.is_running():
            stop_runner(runner)
    assert "[run_graph] depth_node was ended by SIGKILL (code -9)" in runner.output()
    assert "respawn" not in runner.output()
    assert code == 137
