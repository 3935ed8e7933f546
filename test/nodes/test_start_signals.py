"""A stop signal that reaches a node process while its interpreter starts ends it cleanly."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

from gqstn_ros.nodes.shutdown import STOP_SIGNALS, stop_signals_held
from ros_test_support import peer_environment


def test_the_parents_signal_mask_is_restored() -> None:
    before = signal.pthread_sigmask(signal.SIG_BLOCK, [])
    with stop_signals_held():
        held = signal.pthread_sigmask(signal.SIG_BLOCK, [])
        assert set(STOP_SIGNALS) <= held
    assert signal.pthread_sigmask(signal.SIG_BLOCK, []) == before


def test_a_signal_sent_at_spawn_waits_for_the_nodes_own_handling() -> None:
    # Sent right after spawning, the signal arrives while the interpreter runs its own imports
    # (site), before any code of the package: unblocked, it would end the process with a
    # traceback and code 1. Held, it ends the node with code 0 once `gqstn_ros.nodes` handles it.
    # The last case inherits SIGINT ignored, as a background job of a shell does: the node
    # handles it all the same.
    for signum, inherited in (
        (signal.SIGINT, signal.SIG_DFL),
        (signal.SIGTERM, signal.SIG_DFL),
        (signal.SIGINT, signal.SIG_IGN),
    ):
        with stop_signals_held():
            process = subprocess.Popen(
                [sys.executable, "-m", "gqstn_ros.nodes.depth_node"],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                env=peer_environment(),
                preexec_fn=lambda inherited=inherited: signal.signal(signal.SIGINT, inherited),  # noqa: PLW1509
            )
        process.send_signal(signum)
        output, _ = process.communicate(timeout=120)
        assert process.returncode == 0, output
        assert "Traceback" not in output and "site" not in output, output


HANGING_TEARDOWN_NODE = """
import time
import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from gqstn_ros.nodes.shutdown import run_node_process


class HangingTeardown(Node):
    def __init__(self):
        super().__init__("hanging_teardown")
        self.create_timer(0.05, self.say_ready)
        self.ready_said = False

    def say_ready(self):  # from the spin: the stop signal then finds the node spinning
        if not self.ready_said:
            print("READY", flush=True)
            self.ready_said = True

    def destroy_node(self):
        time.sleep(120)  # a teardown that waits on a peer that never answers


rclpy.init()
run_node_process(lambda nodes: nodes.append(HangingTeardown()), "hanging_teardown",
                 SingleThreadedExecutor, ValueError)
"""


def test_a_teardown_that_hangs_does_not_keep_the_process() -> None:
    process = subprocess.Popen(
        [sys.executable, "-c", HANGING_TEARDOWN_NODE],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=peer_environment(),
    )
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], 60)
    assert ready, "the node never said READY"
    assert process.stdout.readline().strip() == "READY"
    process.send_signal(signal.SIGINT)
    # Ends TEARDOWN_DEADLINE_S after the node stopped its work, not after the 120 s teardown;
    # the generous timeout only guards against a busy machine.
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 0, output
    assert "stopping took longer than" in output, output
    assert "Traceback" not in output, output


# A parent that starts a depth node the way run_graph does, prints the node's pid and waits.
PARENT_OF_A_NODE = """
import subprocess, sys
from gqstn_ros.nodes.shutdown import stop_signals_held, stopped_with_parent
with stop_signals_held():
    node = subprocess.Popen(
        [sys.executable, "-m", "gqstn_ros.nodes.depth_node"], preexec_fn=stopped_with_parent()
    )
print(node.pid, flush=True)
node.wait()
"""


def test_a_node_stops_when_the_program_that_started_it_is_killed() -> None:
    # A benchmark killed with SIGKILL (a test's timeout) must not leave its nodes answering the
    # next run's requests: they get SIGTERM, their usual stop, and exit 0.
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT_OF_A_NODE],
        stdout=subprocess.PIPE,
        text=True,
        env=peer_environment(),
    )
    assert parent.stdout is not None
    node_pid = int(parent.stdout.readline())
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 30.0
    while node_runs(node_pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if node_runs(node_pid):
        os.kill(node_pid, signal.SIGKILL)
        raise AssertionError(f"the node (pid {node_pid}) still ran 30 s after its parent died")


def node_runs(pid: int) -> bool:
    """Whether process `pid` exists and has not ended (a zombie has ended)."""
    try:
        return "State:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
