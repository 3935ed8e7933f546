"""The arm and the gripper of one executor, connected off the caller's thread.

A connection to a real UR or Robotiq can take seconds, so `HardwareConnection` connects both in
a thread of its own (never on a ROS executor thread), tries both each time (one start reports
both problems), activates the gripper once per connection when asked, keeps why the last
connection failed (`problem`), and tells before a motion whether both are still connected,
starting a new connection when not. Pure: no ROS; `logger` is the caller's (info, warning,
error).
"""

from __future__ import annotations

import threading
from typing import Any

from gqstn_ros.hardware.interfaces import Arm, Gripper, HardwareError

NOT_CONFIGURED = "not configured"  # `problem` before the first connection and after one ends


def connection_budget_s(timeout_s: float) -> float:
    """How long a whole connection may take: arm and gripper `timeout_s` each, plus margin."""
    return 2 * timeout_s + 5.0


class HardwareConnection:
    """`arm` and `gripper`, connected and disconnected on request (see the module docstring)."""

    def __init__(self, arm: Arm, gripper: Gripper, logger: Any) -> None:
        self.arm = arm
        self.gripper = gripper
        self._logger = logger
        self._lock = threading.Lock()
        self._ready = False
        self.problem = NOT_CONFIGURED
        self._thread: threading.Thread | None = None
        self.gripper_activated = False

    def connect(self, timeout_s: float, activate_gripper: bool = True) -> None:
        """Connect arm and gripper in a background thread (no-op while one is running), each
        within `timeout_s`; `activate_gripper`: also activate the gripper (the real one moves)
        unless done."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._ready = False
            self._thread = threading.Thread(
                target=self._connect,
                args=(timeout_s, activate_gripper),
                name="executor-hardware-connect",
                daemon=True,
            )
            self._thread.start()

    def wait(self, timeout_s: float) -> bool:
        """Wait up to `timeout_s` for the connection in progress; whether both are ready."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout_s)
        return self._ready

    def connect_and_wait(self, timeout_s: float, activate_gripper: bool) -> bool:
        """`connect`, then wait for it within `connection_budget_s`; whether both are ready."""
        self.connect(timeout_s, activate_gripper)
        budget = connection_budget_s(timeout_s)
        if not self.wait(budget) and self._thread.is_alive():
            with self._lock:
                self.problem = f"hardware connection still running after {budget:g} s"
        return self._ready

    def activate_gripper(self) -> None:
        """Activate the gripper (the real one opens and closes once); HardwareError or OSError
        when it fails."""
        self.gripper.activate()
        self.gripper_activated = True

    def disconnect(self) -> None:
        """Disconnect both (a failure is logged); `problem` is NOT_CONFIGURED again."""
        try:
            self.arm.disconnect()
            self.gripper.disconnect()
        except HardwareError as error:
            self._logger.warning(f"disconnect: {error}")
        self.gripper_activated = False
        with self._lock:
            self._ready = False
            self.problem = NOT_CONFIGURED

    def problem_before_motion(self, timeout_s: float) -> str | None:
        """None when arm and gripper are connected; else why not, after starting a new
        connection (gripper activated too) unless one is running."""
        with self._lock:
            ready, problem = self._ready, self.problem
            connecting = self._thread is not None and self._thread.is_alive()
        if ready and self.arm.is_connected() and self.gripper.is_connected():
            return None
        if connecting:
            return f"arm not connected: {problem or 'connecting'} (still connecting)"
        if ready:
            problem = (
                "arm not connected: connection lost"
                if not self.arm.is_connected()
                else "gripper not connected: connection lost"
            )
        self.connect(timeout_s)  # try again for the next goal (active: the gripper too)
        return f"{problem}; reconnecting"

    def _connect(self, timeout_s: float, activate_gripper: bool) -> None:
        problems = []
        try:
            if not self.arm.is_connected():
                self.arm.connect(timeout_s)
        except (HardwareError, OSError) as error:
            problems.append(f"arm not connected: {error}")
        try:
            if not self.gripper.is_connected():
                self.gripper_activated = False
                self.gripper.connect(timeout_s)
            if activate_gripper and not self.gripper_activated:
                self.activate_gripper()
        except (HardwareError, OSError) as error:
            problems.append(f"gripper not connected: {error}")
        problem = "; ".join(problems)
        with self._lock:
            self._ready = not problem
            self.problem = problem
        if problem:
            gripper_ok = not any(text.startswith("gripper") for text in problems)
            self._logger.error(problem + ("; gripper connected" if gripper_ok else ""))
        else:
            activated = "activated" if self.gripper_activated else "not activated yet"
            self._logger.info(f"arm and gripper connected (gripper {activated})")
