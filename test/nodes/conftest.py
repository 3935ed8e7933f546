"""Node tests: our nodes run in their own processes (python -m gqstn_ros.nodes.<module>), the
test talks to them over real DDS from a client node of its own."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node

from gqstn_ros.node_graph import process_module
from ros_test_support import PeerProcess

NODE_START_TIMEOUT_S = 20.0


class NodeUnderTest(PeerProcess):
    """One of our nodes, started as its console script would start it."""

    def __init__(self, module: str, *ros_args: str) -> None:
        args = ["-m", process_module(module)]
        if ros_args:
            args += ["--ros-args", *ros_args]
        super().__init__(args, module)

    def wait_for_log(self, text: str, timeout_s: float = NODE_START_TIMEOUT_S) -> str:
        """Wait until `text` appears in the node's output; returns the output."""
        deadline = time.monotonic() + timeout_s
        while text not in self.output():
            if not self.is_running() or time.monotonic() > deadline:
                raise AssertionError(f"{self.name} never logged {text!r}:\n{self.output()}")
            time.sleep(0.02)
        return self.output()


@pytest.fixture
def start_node() -> Iterator[Callable[..., NodeUnderTest]]:
    """Start our nodes; every one is stopped (SIGINT) at the end of the test."""
    started: list[NodeUnderTest] = []

    def start(module: str, *ros_args: str) -> NodeUnderTest:
        node = NodeUnderTest(module, *ros_args)
        started.append(node)
        return node

    yield start
    for node in started:
        node.stop()


@pytest.fixture
def context() -> Iterator[rclpy.Context]:
    """An rclpy context of the test process, for nodes created in it."""
    ctx = rclpy.Context()
    rclpy.init(context=ctx)
    try:
        yield ctx
    finally:
        rclpy.try_shutdown(context=ctx)


@pytest.fixture
def client_node() -> Iterator[tuple[Node, SingleThreadedExecutor]]:
    """A node of the test process (own context) and an executor spinning it on demand."""
    context = rclpy.Context()
    rclpy.init(context=context)
    node = rclpy.create_node("gqstn_node_test_client", context=context)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)
    try:
        yield node, executor
    finally:
        executor.shutdown()
        node.destroy_node()
        rclpy.shutdown(context=context)
