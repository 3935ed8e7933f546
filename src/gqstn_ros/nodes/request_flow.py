"""How a planning service takes requests: every request answered, none waiting unboundedly.

- `topics.SERVICE_QOS`: the services' request queue holds SERVICE_QUEUE_DEPTH requests
  (rclpy's default keeps 10 and silently drops the rest of a burst). Callers that send many
  requests at once give their client the same profile, else their own queue drops the answers.
- `AdmissionGate`: a bounded count of requests in flight. The service callback runs in a
  reentrant callback group and only admits or refuses, so a burst is taken off the queue at
  once; a request beyond the bound is answered at once with a "busy" refusal naming the bound.
- `PlanningWorker`: one thread runs the planner for every admitted request, in order; the
  service coroutine awaits it without holding an executor thread, so the node keeps taking
  (and refusing) requests while a planner runs. `close` answers every request still waiting
  with `ShuttingDownError`.
- `topics.ALIVE_QOS` and `topics.alive_topic`: a planning service's server holds a publisher on
  `<service>/alive` with automatic liveliness and a short lease, and its callers subscribe:
  a server that dies (even by kill -9) is noticed within ALIVE_LEASE_S, not after DDS's
  20 s participant lease or a per-request timeout.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.executors import Executor
from rclpy.service import Service
from rclpy.task import Future

from gqstn_ros.nodes.request_limits import RequestLimitError
from gqstn_ros.nodes.topics import SERVICE_QOS

T = TypeVar("T")

BUSY_PREFIX = "busy:"  # every refusal for lack of capacity starts with this


def refused_busy(message: str) -> bool:
    """Whether a reply's message is a refusal for lack of capacity (`BUSY_PREFIX`)."""
    return message.startswith(BUSY_PREFIX)


class ShuttingDownError(RuntimeError):
    """The node is stopping: the request is answered without a result."""


class AdmissionGate:
    """At most `limit` requests in flight; thread-safe.

    `parameter` names the node parameter that sets the limit (for the refusal message).
    """

    def __init__(self, limit: int, parameter: str) -> None:
        if limit < 1:
            raise ValueError(f"{parameter} must be >= 1, got {limit}")
        self.limit = limit
        self.parameter = parameter
        self._count = 0
        self._lock = threading.Lock()
        self.admitted = 0  # totals since start, for logs and tests
        self.refused = 0

    @property
    def in_flight(self) -> int:
        with self._lock:
            return self._count

    def try_enter(self) -> bool:
        """Admit one request (True), or count a refusal (False) when `limit` are in flight."""
        with self._lock:
            if self._count >= self.limit:
                self.refused += 1
                return False
            self._count += 1
            self.admitted += 1
            return True

    def leave(self) -> None:
        with self._lock:
            if self._count == 0:
                raise RuntimeError("AdmissionGate.leave without a matching try_enter")
            self._count -= 1

    def busy_message(self, what: str) -> str:
        return (
            f"{BUSY_PREFIX} {what} already has {self.limit} requests in flight, its limit "
            f"(parameter {self.parameter}); try again later"
        )


class PlanningWorker:
    """One daemon thread running submitted jobs in order; results come back as rclpy Futures.

    A service coroutine `await`s the Future, so no executor thread waits while a planner runs.
    The thread is a daemon: a process that stops does not wait for a planner mid-call.
    """

    def __init__(
        self, name: str, executor_of: Callable[[], Executor | None] = lambda: None
    ) -> None:
        """executor_of: the executor of the coroutines that await the jobs (the node's
        `executor`), asked at each submit; a finished job wakes it, so that the awaiting
        coroutine resumes at once instead of at the executor's next wake for another reason."""
        self._executor_of = executor_of
        self._jobs: queue.SimpleQueue[tuple[Callable[[], Any], Future] | None] = queue.SimpleQueue()
        self._pending: set[Future] = set()
        self._lock = threading.Lock()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, job: Callable[[], T]) -> Future:
        """A Future of `job()`'s result (or of the exception it raised)."""
        executor = self._executor_of()
        future = Future(executor=executor)
        if executor is not None:
            # rclpy schedules a done callback as an executor task, which wakes its wait.
            future.add_done_callback(_wake_executor)
        with self._lock:
            if self._closed:
                future.set_exception(ShuttingDownError("the node is shutting down"))
                return future
            self._pending.add(future)
        self._jobs.put((job, future))
        return future

    def close(self) -> None:
        """Stop taking jobs; every job not finished yet ends with ShuttingDownError."""
        with self._lock:
            self._closed = True
            pending, self._pending = self._pending, set()
        for future in pending:
            if not future.done():
                future.set_exception(ShuttingDownError("the node is shutting down"))
        self._jobs.put(None)

    def _run(self) -> None:
        while True:
            item = self._jobs.get()
            if item is None:
                return
            job, future = item
            with self._lock:
                answered = future not in self._pending  # by close()
            if answered:
                continue
            try:
                outcome: tuple[bool, Any] = (True, job())
            except Exception as error:  # handed to the awaiting request
                outcome = (False, error)
            with self._lock:  # whoever removes the future from _pending answers it
                owned = future in self._pending
                self._pending.discard(future)
            if not owned:
                continue
            if outcome[0]:
                future.set_result(outcome[1])
            else:
                future.set_exception(outcome[1])


def _wake_executor(_future: Future) -> None:
    """Nothing to do: being scheduled on the executor is what wakes it (`PlanningWorker`)."""


async def answer_admitted(
    node: Any,
    gate: AdmissionGate,
    service: str,
    response: Any,
    check: Callable[[], None],
    serve: Callable[[], Awaitable[Any]],
) -> Any:
    """A service request through `gate`: refused at once with "busy:" when full, refused with
    the limit's message when `check` raises RequestLimitError, else `serve()`'s response; a
    node shutting down answers `success: false` saying so. The gate is always left."""
    if not gate.try_enter():
        response.success = False
        response.message = gate.busy_message(f"{node.get_name()} ({service})")
        node.get_logger().warning(
            f"{service} refused: {response.message}", throttle_duration_sec=1.0
        )
        return response
    try:
        check()
        return await serve()
    except RequestLimitError as error:
        node.get_logger().warning(f"{service} refused: {error}")
        response.success = False
        response.message = str(error)
        return response
    except ShuttingDownError:
        response.success = False
        response.message = f"{node.get_name()} is shutting down: the request was not served"
        return response
    finally:
        gate.leave()


def create_planning_service(
    node: Any,
    service_type: Any,
    service: str,
    gate: AdmissionGate,
    check: Callable[[Any], None],
    serve: Callable[[Any, Any], Awaitable[Any]],
) -> Service:
    """`node` serves `service` with SERVICE_QOS in a reentrant callback group of its own, so a
    burst is taken off the queue at once: each request goes through `answer_admitted` with
    `check(request)` and `serve(request, response)`."""

    async def on_request(request: Any, response: Any) -> Any:
        return await answer_admitted(
            node, gate, service, response,
            lambda: check(request),
            lambda: serve(request, response),
        )  # fmt: skip

    return node.create_service(
        service_type,
        service,
        on_request,
        qos_profile=SERVICE_QOS,
        callback_group=ReentrantCallbackGroup(),
    )
