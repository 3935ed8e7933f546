"""HardwareConnection: both devices tried on every connection, the problem kept and reported,
the gripper activated once, a lost device noticed before a motion and reconnected."""

from __future__ import annotations

from gqstn_ros.hardware.connection import NOT_CONFIGURED, HardwareConnection
from gqstn_ros.hardware.interfaces import HardwareError


class Device:
    """An arm or a gripper that connects unless told to refuse; counts activations."""

    def __init__(self, refuse: str = "") -> None:
        self.refuse = refuse
        self.connected = False
        self.activations = 0

    def connect(self, timeout: float) -> None:
        if self.refuse:
            raise HardwareError(self.refuse)
        self.connected = True

    def is_connected(self) -> bool:
        return self.connected

    def activate(self) -> None:
        self.activations += 1

    def disconnect(self) -> None:
        self.connected = False


class Log:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def info(self, text: str) -> None:
        self.lines.append(f"info: {text}")

    def warning(self, text: str) -> None:
        self.lines.append(f"warning: {text}")

    def error(self, text: str) -> None:
        self.lines.append(f"error: {text}")


def test_a_connection_reports_both_problems_and_connects_once_they_are_gone() -> None:
    arm, gripper, log = Device("no route to 10.0.0.9"), Device("no port /dev/ttyUSB0"), Log()
    connection = HardwareConnection(arm, gripper, log)
    assert connection.problem == NOT_CONFIGURED
    assert not connection.connect_and_wait(1.0, activate_gripper=False)
    assert connection.problem == (
        "arm not connected: no route to 10.0.0.9; gripper not connected: no port /dev/ttyUSB0"
    )
    assert log.lines == [f"error: {connection.problem}"]
    arm.refuse = gripper.refuse = ""
    assert connection.connect_and_wait(1.0, activate_gripper=True)
    assert connection.problem == ""
    assert gripper.activations == 1 and connection.gripper_activated
    assert connection.connect_and_wait(1.0, activate_gripper=True)
    assert gripper.activations == 1, "activated once per connection"
    assert log.lines[-1] == "info: arm and gripper connected (gripper activated)"


def test_a_lost_device_is_reported_before_a_motion_and_reconnected() -> None:
    arm, gripper = Device(), Device()
    connection = HardwareConnection(arm, gripper, Log())
    assert connection.connect_and_wait(1.0, activate_gripper=True)
    assert connection.problem_before_motion(1.0) is None
    gripper.connected = False
    problem = connection.problem_before_motion(1.0)
    assert problem == "gripper not connected: connection lost; reconnecting"
    assert connection.wait(5.0)
    assert gripper.connected and gripper.activations == 2, "a new connection activates again"
    assert connection.problem_before_motion(1.0) is None
    connection.disconnect()
    assert connection.problem == NOT_CONFIGURED and not arm.connected
