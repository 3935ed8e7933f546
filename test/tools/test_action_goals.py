"""send_goal over real DDS against an action server whose first reply is late: the goal is
asked for again with the same UUID and still runs once."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import rclpy
from gqstn_msgs.action import ExecuteGrasp
from rclpy.action import ActionClient, ActionServer, GoalResponse
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.executors import SingleThreadedExecutor
from rclpy.task import Future

from gqstn_ros.tools.action_goals import send_goal
from ros_test_support import spin_until

pytestmark = pytest.mark.ros

ACTION = "/test_action_goals/execute"


class Graph:
    """A server node and a client node in one context, spun by one executor."""

    def __init__(self) -> None:
        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.server_node = rclpy.create_node("goal_server", context=self.context)
        self.client_node = rclpy.create_node("goal_client", context=self.context)
        self.executor.add_node(self.server_node)
        self.executor.add_node(self.client_node)
        self.requests = 0
        self.executed = 0

    def serve(self, first_reply_after_s: float, accept: bool) -> None:
        """The first goal request is answered after `first_reply_after_s`, the others at once."""
        group = ReentrantCallbackGroup()

        async def on_goal(_goal):
            self.requests += 1
            if self.requests == 1 and first_reply_after_s > 0:
                later = Future()
                timer = self.server_node.create_timer(
                    first_reply_after_s, lambda: later.done() or later.set_result(True), group
                )
                await later
                timer.cancel()
            return GoalResponse.ACCEPT if accept else GoalResponse.REJECT

        def execute(handle):
            self.executed += 1
            handle.succeed()
            return ExecuteGrasp.Result(success=True, message="done")

        self.server = ActionServer(
            self.server_node, ExecuteGrasp, ACTION, execute,
            goal_callback=on_goal, callback_group=group,
        )  # fmt: skip

    def send(self, ask_again_after_s: float, lose_first_reply: bool = False):
        """The goal handle; with `lose_first_reply` this client drops the server's first
        reply, as DDS does when the reply comes before the client's reader is matched."""
        self.client = client = ActionClient(self.client_node, ExecuteGrasp, ACTION)
        assert spin_until(self.executor, client.server_is_ready, 30.0)
        if lose_first_reply:
            send_async = client.send_goal_async

            def first_reply_lost(goal, **options):
                future = send_async(goal, **options)
                if self.requests == 0:
                    pending = client._pending_goal_requests
                    number = next(n for n, f in pending.items() if f is future)
                    del pending[number], client._goal_sequence_number_to_goal_id[number]
                return future

            client.send_goal_async = first_reply_lost
        return send_goal(
            lambda condition, seconds: spin_until(self.executor, condition, seconds),
            client,
            ExecuteGrasp.Goal(dry_run=True),
            30.0,
            ask_again_after_s=ask_again_after_s,
        )

    def close(self) -> None:
        self.executor.shutdown()
        rclpy.try_shutdown(context=self.context)


@pytest.fixture
def graph() -> Iterator[Graph]:
    made = Graph()
    yield made
    made.close()


def test_a_goal_answered_at_once_is_sent_once(graph) -> None:
    graph.serve(0.0, accept=True)
    handle = graph.send(ask_again_after_s=5.0)
    assert handle.accepted and graph.requests == 1
    done = handle.get_result_async()
    assert spin_until(graph.executor, done.done, 30.0)
    assert done.result().result.message == "done" and graph.executed == 1


def test_a_late_first_reply_is_asked_for_again_and_the_goal_runs_once(graph) -> None:
    graph.serve(1.5, accept=True)
    handle = graph.send(ask_again_after_s=0.3)
    assert handle.accepted
    assert graph.requests == 2  # the repetition reached the server
    done = handle.get_result_async()
    assert spin_until(graph.executor, done.done, 30.0)
    assert done.result().result.message == "done"
    spin_until(graph.executor, lambda: False, 2.0)  # the late first request is answered too
    assert graph.executed == 1


def test_a_refused_goal_stays_refused_when_asked_again(graph) -> None:
    graph.serve(1.5, accept=False)
    handle = graph.send(ask_again_after_s=0.3)
    assert not handle.accepted and graph.executed == 0


def test_a_lost_reply_to_an_accepted_goal_is_read_from_the_status(graph) -> None:
    # The server accepted the first request; its reply never reached the client. The
    # repetition is refused as a duplicate, and the goal's status says it was accepted.
    graph.serve(0.0, accept=True)
    handle = graph.send(ask_again_after_s=0.3, lose_first_reply=True)
    # The server refused the repetition as a duplicate, without asking its goal callback.
    assert handle.accepted and graph.requests == 1
    done = handle.get_result_async()
    assert spin_until(graph.executor, done.done, 30.0)
    assert done.result().result.message == "done" and graph.executed == 1
