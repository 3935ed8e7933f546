"""The tests' service call: a repeatable request whose reply is lost is sent again."""

from __future__ import annotations

import time

import pytest
from rclpy.task import Future

import ros_test_support
from ros_test_support import call_service


class ClientLosingReplies:
    """Answers the copies of a request after the first `lost` ones, whose replies never come."""

    srv_name = "/under_test"

    def __init__(self, lost: int) -> None:
        self.lost = lost
        self.sent: list[Future] = []
        self.removed: list[Future] = []

    def call_async(self, request: str) -> Future:
        future = Future()
        if len(self.sent) >= self.lost:
            future.set_result(f"reply to {request}")
        self.sent.append(future)
        return future

    def remove_pending_request(self, future: Future) -> None:
        self.removed.append(future)


class IdleExecutor:
    def spin_once(self, timeout_sec: float) -> None:
        time.sleep(min(timeout_sec, 0.01))


@pytest.fixture(autouse=True)
def quick_resend(monkeypatch) -> None:
    monkeypatch.setattr(ros_test_support, "RESEND_AFTER_S", 0.05)


def test_a_repeatable_request_is_sent_once_more_when_its_reply_is_lost() -> None:
    client = ClientLosingReplies(lost=1)
    assert call_service(IdleExecutor(), client, "q", 10.0, repeatable=True) == "reply to q"
    assert len(client.sent) == 2
    assert client.removed == client.sent[:1]  # the unanswered copy is dropped


def test_a_repeatable_request_is_sent_at_most_twice() -> None:
    client = ClientLosingReplies(lost=5)
    with pytest.raises(AssertionError, match="no reply from /under_test"):
        call_service(IdleExecutor(), client, "q", 0.5, repeatable=True)
    assert len(client.sent) == 2


def test_a_request_with_an_effect_is_sent_once() -> None:
    client = ClientLosingReplies(lost=1)
    with pytest.raises(AssertionError, match=r"no reply from /under_test within 0\.3 s"):
        call_service(IdleExecutor(), client, "pick", 0.3, repeatable=False)
    assert len(client.sent) == 1


def test_an_answered_request_is_sent_once() -> None:
    client = ClientLosingReplies(lost=0)
    assert call_service(IdleExecutor(), client, "q", 10.0, repeatable=True) == "reply to q"
    assert len(client.sent) == 1 and client.removed == []
