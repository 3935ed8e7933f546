"""QuietMultiThreadedExecutor: rclpy's MultiThreadedExecutor scheduling without its busy loop.

Counted, not timed: how often each executor hands a task to its worker pool while callbacks
run. rclpy 9's MultiThreadedExecutor resubmits a task that waits for a worker over and over
(ros2/rclpy#1452); ours submits each callback once and resumes an awaiting coroutine at most
once per resume period.
"""

from __future__ import annotations

import threading
import time

import pytest
import rclpy
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.executors import MultiThreadedExecutor, SingleThreadedExecutor
from rclpy.node import Node
from rclpy.task import Future

from gqstn_ros.nodes.executors import QuietMultiThreadedExecutor, make_executor

pytestmark = pytest.mark.ros

CALLBACK_S = 0.05


def counting_submissions(executor: MultiThreadedExecutor) -> list[int]:
    """Wrap the executor's worker pool so every submitted task is counted."""
    count = [0]
    pool_submit = executor._executor.submit

    def submit(*args, **kwargs):
        count[0] += 1
        return pool_submit(*args, **kwargs)

    executor._executor.submit = submit
    return count


def run_slow_timers(executor: MultiThreadedExecutor, context: rclpy.Context) -> tuple[int, int]:
    """Two timers whose callbacks take CALLBACK_S, in a reentrant group, on an executor with
    one worker (so one callback waits in the pool while the other runs), spun for 0.6 s:
    (callbacks run, tasks submitted)."""
    node = Node("executor_test_node", context=context)
    group = ReentrantCallbackGroup()
    calls = [0]

    def slow() -> None:
        calls[0] += 1
        time.sleep(CALLBACK_S)

    node.create_timer(0.01, slow, callback_group=group)
    node.create_timer(0.01, slow, callback_group=group)
    submissions = counting_submissions(executor)
    executor.add_node(node)
    deadline = time.monotonic() + 0.6
    while time.monotonic() < deadline:
        executor.spin_once(timeout_sec=0.05)
    executor.shutdown()
    node.destroy_node()
    return calls[0], submissions[0]


def test_each_callback_is_submitted_once(context):
    executor = QuietMultiThreadedExecutor(num_threads=1, context=context)
    calls, submissions = run_slow_timers(executor, context)
    assert calls >= 5
    # each callback once; a task can be in the pool when spinning stops
    assert calls <= submissions <= calls + 2


def test_upstream_executor_resubmits_waiting_tasks(context):
    """The baseline the quiet executor fixes (if rclpy fixes it, this test says so)."""
    executor = MultiThreadedExecutor(num_threads=1, context=context)
    calls, submissions = run_slow_timers(executor, context)
    assert calls >= 5
    assert submissions > 2 * calls, (calls, submissions)


def test_awaiting_coroutine_completes_with_bounded_resumptions(context):
    executor = QuietMultiThreadedExecutor(num_threads=2, context=context, resume_period_s=0.005)
    node = Node("executor_await_node", context=context)
    awaited: Future = Future()
    results: list[str] = []

    async def waits_for_answer() -> None:
        results.append(await awaited)

    node.create_timer(0.01, waits_for_answer, callback_group=ReentrantCallbackGroup())
    executor.add_node(node)
    threading.Timer(0.2, awaited.set_result, args=("answer",)).start()
    started = time.monotonic()
    while not results and time.monotonic() - started < 5.0:
        executor.spin_once(timeout_sec=0.05)
    elapsed = time.monotonic() - started
    executor.shutdown()
    node.destroy_node()
    assert results and results[0] == "answer"
    # every timer tick awaits the same future; resumptions are paced by the resume period
    assert executor.submissions <= elapsed / 0.005 + 25


def test_callback_exception_reaches_the_spinner(context):
    executor = QuietMultiThreadedExecutor(num_threads=2, context=context)
    node = Node("executor_error_node", context=context)

    def fails() -> None:
        raise RuntimeError("callback failed on purpose")

    node.create_timer(0.01, fails)
    executor.add_node(node)
    with pytest.raises(RuntimeError, match="on purpose"):
        for _ in range(200):
            executor.spin_once(timeout_sec=0.05)
    executor.shutdown()
    node.destroy_node()


def test_make_executor_choices(context):
    assert isinstance(make_executor(1, context), SingleThreadedExecutor)
    assert isinstance(make_executor(3, context), QuietMultiThreadedExecutor)
    with pytest.raises(ValueError, match="num_threads"):
        make_executor(0, context)
    with pytest.raises(ValueError, match="resume_period_s"):
        QuietMultiThreadedExecutor(2, context=context, resume_period_s=0.0)
