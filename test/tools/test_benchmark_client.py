"""BenchClient.call over real DDS against a server that leaves a request unanswered, as a reply
lost to discovery looks to a client."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from gqstn_ros.tools.benchmark.scenario import AttemptFailure, BenchmarkConfig

SERVICE = "/test_bench_client/flaky"


@pytest.fixture
def bench() -> Iterator:
    from gqstn_ros.tools.benchmark.client import BenchClient

    client = BenchClient(BenchmarkConfig())
    yield client
    client.close()


def serve(bench, answers: list) -> None:
    """A Trigger server in `bench`'s context and executor; request i gets answers[i]: a message
    (answered at once), ("after", seconds, message), or None (never answered)."""
    import rclpy
    from rclpy.callback_groups import ReentrantCallbackGroup
    from rclpy.task import Future
    from std_srvs.srv import Trigger

    node = rclpy.create_node("flaky_server", context=bench.context)
    group = ReentrantCallbackGroup()  # a request waits while the next ones are served
    bench.executor.add_node(node)
    count = [0]

    async def on_request(_request, response):
        answer = answers[min(count[0], len(answers) - 1)]
        count[0] += 1
        if answer is None:
            await Future()  # never done: no reply leaves
        if isinstance(answer, tuple):
            _, seconds, answer = answer
            later = Future()
            timer = node.create_timer(
                seconds, lambda: later.done() or later.set_result(True), group
            )
            await later
            timer.cancel()
        response.success, response.message = True, answer
        return response

    node.create_service(Trigger, SERVICE, on_request, callback_group=group)


def call(bench, resend_after_s: float, timeout_s: float = 20.0, **options) -> str:
    from std_srvs.srv import Trigger

    client = bench.node.create_client(Trigger, SERVICE)
    return bench.call(
        client, Trigger.Request(), timeout_s, "flaky", resend_after_s, **options
    ).message


@pytest.mark.ros
def test_an_unanswered_request_is_sent_again_and_the_repetition_answered(bench) -> None:
    serve(bench, [None, "second"])
    assert call(bench, resend_after_s=0.5) == "second"


@pytest.mark.ros
def test_without_a_repetition_an_unanswered_request_times_out(bench) -> None:
    serve(bench, [None, "second"])
    started = time.monotonic()
    with pytest.raises(AttemptFailure, match="flaky: no answer in 1 s"):
        call(bench, resend_after_s=0.0, timeout_s=1.0)
    assert time.monotonic() - started < 15.0  # the timeout, not a hang


@pytest.mark.ros
def test_a_refused_repetition_waits_for_the_first_answer(bench) -> None:
    # The first request is slow, not lost: the repetition is refused ("busy:") and the first
    # request's answer is the one taken.
    serve(bench, [("after", 2.0, "first"), "busy: one request at a time"])
    answer = call(
        bench,
        resend_after_s=0.5,
        counts_if_resent=lambda reply: not reply.message.startswith("busy:"),
    )
    assert answer == "first"
