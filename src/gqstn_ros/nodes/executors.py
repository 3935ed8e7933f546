"""A MultiThreadedExecutor that waits instead of spinning while its callbacks run.

rclpy 9 (ROS 2 Kilted, the version pinned here) has a busy loop in its MultiThreadedExecutor
(ros2/rclpy#1452; a fix, ros2/rclpy#1547, was merged upstream after this release):
`wait_for_ready_callbacks` yields again every task that is not done and not currently
executing, and returns at once whenever it has yielded one. So a callback submitted to the
worker pool but not started yet is yielded and resubmitted over and over until a worker picks
it up, while the spinning thread holds the GIL the callbacks need. Measured on our depth node
at 30 Hz before it moved to a SingleThreadedExecutor (`benchmarks/depth_node_rate.py`) and by
`benchmarks/executor_cpu.py`; a coroutine
awaiting a future is yielded again the same way, though no extra CPU was measured for it.

`QuietMultiThreadedExecutor` keeps rclpy's scheduling and changes only what happens when a task
is yielded again: a task still in the worker pool is not resubmitted, and a coroutine task that
was already started is resumed at most once per `resume_period_s` (1 ms by default), with the
spinning thread asleep in between. Callback groups, futures, exceptions and shutdown behave as
in `MultiThreadedExecutor`; only the private `_executor` (the thread pool) and `_futures` of
rclpy 9.1 are used, which `requirements/constraints.txt` pins.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable
from concurrent.futures import Future as PoolFuture

from rclpy.context import Context
from rclpy.executors import (
    ConditionReachedException,
    Executor,
    ExternalShutdownException,
    MultiThreadedExecutor,
    ShutdownException,
    SingleThreadedExecutor,
    TimeoutException,
)
from rclpy.task import Task

DEFAULT_RESUME_PERIOD_S = 0.001


class QuietMultiThreadedExecutor(MultiThreadedExecutor):
    """`MultiThreadedExecutor` without the busy loop of rclpy 9 (see the module docstring).

    resume_period_s: the shortest interval between two resumptions of a coroutine callback
    that is awaiting a future (the latency added to an await, at most).
    """

    def __init__(
        self,
        num_threads: int | None = None,
        *,
        context: Context | None = None,
        resume_period_s: float = DEFAULT_RESUME_PERIOD_S,
    ) -> None:
        super().__init__(num_threads=num_threads, context=context)
        if not resume_period_s > 0:  # checked after rclpy's __init__, which __del__ relies on
            self.shutdown()
            raise ValueError(f"resume_period_s must be > 0, got {resume_period_s}")
        self.resume_period_s = resume_period_s
        self._in_pool: dict[int, PoolFuture] = {}  # id(task) -> its pool future, until it ends
        self._in_pool_lock = threading.Lock()
        self._started: weakref.WeakSet[Task] = weakref.WeakSet()  # tasks run at least once
        self.submissions = 0  # tasks handed to the worker pool (for tests and benchmarks)

    def _spin_once_impl(
        self,
        timeout_sec: float | None = None,
        wait_condition: Callable[[], bool] = lambda: False,
    ) -> None:
        try:
            task, _entity, _node = self.wait_for_ready_callbacks(timeout_sec, None, wait_condition)
        except (
            ExternalShutdownException,
            ShutdownException,
            TimeoutException,
            ConditionReachedException,
        ):
            return
        with self._in_pool_lock:
            still_in_pool = id(task) in self._in_pool
        if still_in_pool:
            # Yielded again while waiting for a worker or running: rclpy 9 would resubmit it.
            time.sleep(self.resume_period_s)
            return
        if task in self._started:
            # A coroutine awaiting a future: poll it at a bounded rate, not in a tight loop.
            time.sleep(self.resume_period_s)
        self._started.add(task)
        self._submit(task)
        self._raise_finished_errors()

    def _submit(self, task: Task) -> None:
        key = id(task)
        with self._in_pool_lock:
            try:
                pool_future = self._executor.submit(task)
            except RuntimeError:
                if self._is_shutdown:  # shut down while this task was being yielded
                    return
                raise
            self._in_pool[key] = pool_future
            self.submissions += 1
        pool_future.add_done_callback(lambda _future: self._leave_pool(key))
        self._futures.append(task)

    def _leave_pool(self, key: int) -> None:
        with self._in_pool_lock:
            self._in_pool.pop(key, None)

    def _raise_finished_errors(self) -> None:
        """As MultiThreadedExecutor: forget finished tasks, re-raising a callback's exception."""
        for task in self._futures[:]:
            if task.done():
                self._futures.remove(task)
                task.result()


def make_executor(num_threads: int, context: Context | None = None) -> Executor:
    """The executor a node runs on: single-threaded for one thread, else the quiet one."""
    if num_threads < 1:
        raise ValueError(f"num_threads must be >= 1, got {num_threads}")
    if num_threads == 1:
        return SingleThreadedExecutor(context=context)
    return QuietMultiThreadedExecutor(num_threads=num_threads, context=context)


__all__ = ["DEFAULT_RESUME_PERIOD_S", "QuietMultiThreadedExecutor", "make_executor"]
