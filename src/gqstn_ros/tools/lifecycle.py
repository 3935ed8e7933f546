"""Take a lifecycle transition of a managed node, or print its state, where `ros2 lifecycle` is
not installed (the same services: <node>/change_state, <node>/get_state).

    python -m gqstn_ros.tools.lifecycle activate            # the executor moves from now on
    python -m gqstn_ros.tools.lifecycle get
    python -m gqstn_ros.tools.lifecycle deactivate --node /executor_node

Prints the state after the transition. Exit status: 0 when the transition succeeded (or the
state was read), 1 when the node refused it (its log says why), 2 when the node did not
answer within --timeout seconds or the arguments are wrong. Run it with the node's
ROS_DOMAIN_ID (the simulated bench: 42 unless the environment set one; see README, Security).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

TRANSITIONS = ("configure", "activate", "deactivate", "cleanup", "shutdown")
# The state each transition ends in when it succeeds (lifecycle_msgs primary states).
TARGET_STATES = {
    "configure": "inactive",
    "activate": "active",
    "deactivate": "inactive",
    "cleanup": "unconfigured",
    "shutdown": "finalized",
}
DEFAULT_NODE = "/executor_node"


def parse_arguments(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=("get", *TRANSITIONS))
    parser.add_argument("--node", default=DEFAULT_NODE, help="fully qualified node name")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for it")
    options = parser.parse_args(argv)
    if not options.node.startswith("/"):
        parser.error(f"--node must be a fully qualified name (/name), got {options.node!r}")
    if not options.timeout > 0:
        parser.error(f"--timeout must be positive, got {options.timeout}")
    return options


def run(command: str, node_name: str, timeout_s: float) -> int:
    """Take `command` on `node_name` (or read its state for 'get'); the exit status.

    A reply can be lost while DDS still matches this new client (README, Interfaces): the state
    query is sent again after ASK_AGAIN_AFTER_S without a reply; a transition is not (a second
    one would be refused), but while its reply is missing the node's state is read every
    ASK_AGAIN_AFTER_S, and the transition counts as taken once the node is in its target state.
    """
    import rclpy  # noqa: PLC0415 (argument errors need no ROS)
    from lifecycle_msgs.srv import ChangeState, GetState  # noqa: PLC0415
    from rclpy.executors import SingleThreadedExecutor  # noqa: PLC0415

    from gqstn_ros.nodes.topics import ASK_AGAIN_AFTER_S  # noqa: PLC0415 (imports rclpy)

    context = rclpy.Context()
    rclpy.init(context=context)
    node = rclpy.create_node("gqstn_lifecycle", context=context)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)
    deadline = time.monotonic() + timeout_s
    try:
        get_client = node.create_client(GetState, f"{node_name}/get_state")
        change_client = node.create_client(ChangeState, f"{node_name}/change_state")

        def remaining() -> float:
            return max(deadline - time.monotonic(), 0.0)

        def reply(future, seconds: float):
            executor.spin_until_future_complete(future, timeout_sec=seconds)
            return future.result() if future.done() else None

        def get_state():
            if not get_client.wait_for_service(timeout_sec=remaining()):
                return None
            for _ in range(2):  # sent again once when its reply does not come
                future = get_client.call_async(GetState.Request())
                state = reply(future, min(ASK_AGAIN_AFTER_S, remaining()))
                if state is not None:
                    return state
                get_client.remove_pending_request(future)
            return None

        response = None
        if command != "get":
            if not change_client.wait_for_service(timeout_sec=remaining()):
                print(f"{node_name} did not answer {command} within {timeout_s:g} s")
                return 2
            request = ChangeState.Request()
            request.transition.label = command
            future = change_client.call_async(request)
            while response is None and remaining() > 0:
                response = reply(future, min(ASK_AGAIN_AFTER_S, remaining()))
                if response is None:
                    state = get_state()
                    if state is not None and state.current_state.label == TARGET_STATES[command]:
                        response = ChangeState.Response(success=True)
            if response is None:
                print(f"{node_name} did not answer {command} within {timeout_s:g} s")
                return 2
            if not response.success:
                print(f"{node_name} refused {command} (its log says why)")
        state = get_state()
        if state is None:
            print(f"{node_name} did not report its state within {timeout_s:g} s")
            return 2
        print(f"{node_name}: {state.current_state.label}")
        return 0 if command == "get" or response.success else 1
    finally:
        executor.shutdown()
        node.destroy_node()
        rclpy.shutdown(context=context)


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_arguments(sys.argv[1:] if argv is None else argv)
    return run(options.command, options.node, options.timeout)


if __name__ == "__main__":
    sys.exit(main())
