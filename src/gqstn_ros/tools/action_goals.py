"""Sending an action goal so that a reply lost to DDS discovery neither hangs the client nor runs
the goal twice.

A server may see a new client's goal request before its reply can reach that client (Fast DDS
drops a reply whose reader is not matched within 100 ms; on a loaded machine it sometimes is
not). `send_goal` therefore sends the goal with a UUID of its own and, when no reply has come
after `ask_again_after_s`, sends the same goal with the same UUID again: rclpy's action server
refuses a UUID it already tracks, so the goal runs at most once. Whether the server took the
first request is read from the action's status topic, which lists every goal the server has
accepted; a refusal of the repetition with the UUID missing from the status is a real refusal.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

# The repetition's refusal is taken as final when the status has not listed the goal this long
# after it (seconds): the server publishes a goal's status when it accepts it, before it reads
# the repetition.
STATUS_GRACE_S = 2.0

SpinUntil = Callable[[Callable[[], Any], float], bool]


def send_goal(
    spin_until: SpinUntil,
    client: Any,
    goal: Any,
    timeout_s: float,
    feedback_callback: Callable[[Any], None] | None = None,
    ask_again_after_s: float | None = None,
) -> Any:
    """The ClientGoalHandle of `goal` sent through the rclpy ActionClient `client`, accepted or
    refused; TimeoutError when the server answers nothing within `timeout_s`.

    spin_until(condition, seconds) spins the client's node until condition() holds or the time
    is up (whether it held). ask_again_after_s: None is `topics.ASK_AGAIN_AFTER_S`. Reads the
    ActionClient's node, action name and type from its attributes (`_node`, `_action_name`,
    `_action_type`: rclpy of ROS 2 Kilted; `test_action_goals` covers them)."""
    from action_msgs.msg import GoalStatusArray  # noqa: PLC0415 (ROS only where used)
    from rclpy.action.client import ClientGoalHandle  # noqa: PLC0415
    from rclpy.qos import qos_profile_action_status_default  # noqa: PLC0415
    from unique_identifier_msgs.msg import UUID  # noqa: PLC0415

    from gqstn_ros.nodes.topics import ASK_AGAIN_AFTER_S  # noqa: PLC0415 (imports rclpy)

    if ask_again_after_s is None:
        ask_again_after_s = ASK_AGAIN_AFTER_S

    goal_id = UUID(uuid=list(uuid.uuid4().bytes))
    listed: list[Any] = []  # the status entry of this goal, once the server lists it

    def on_status(message: Any) -> None:
        for status in message.status_list:
            if bytes(status.goal_info.goal_id.uuid) == bytes(goal_id.uuid) and not listed:
                listed.append(status.goal_info)

    node = client._node  # the ActionClient's node (rclpy keeps it there)
    status_topic = f"{client._action_name}/_action/status"
    subscription = node.create_subscription(
        GoalStatusArray, status_topic, on_status, qos_profile_action_status_default
    )
    try:
        options = {"goal_uuid": goal_id, "feedback_callback": feedback_callback}
        first = client.send_goal_async(goal, **options)
        if spin_until(first.done, min(ask_again_after_s, timeout_s)):
            return first.result()
        again = client.send_goal_async(goal, **options)
        remaining = timeout_s - ask_again_after_s

        def settled() -> bool:
            return first.done() or bool(listed) or (again.done() and again.result().accepted)

        if spin_until(lambda: settled() or again.done(), max(remaining, 0.0)) and not settled():
            spin_until(settled, STATUS_GRACE_S)  # refused: a duplicate, or really refused
        if first.done():
            return first.result()
        if again.done() and again.result().accepted:
            return again.result()
        if listed:  # the server took the first request; its reply was lost
            accepted = client._action_type.Impl.SendGoalService.Response(
                accepted=True, stamp=listed[0].stamp
            )
            return ClientGoalHandle(client, goal_id, accepted)
        if again.done():
            return again.result()
        raise TimeoutError(f"{client._action_name}: no reply to the goal in {timeout_s:g} s")
    finally:
        node.destroy_subscription(subscription)
