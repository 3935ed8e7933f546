"""The arm and gripper interfaces the executor drives.

Two implementations each: the real drivers (`ur_rtde_arm.URRTDEArm`,
`robotiq_gripper.RobotiqGripper`) and the simulated UR5 and 2F-85 of the benchmark world
(`gqstn_ros.sim.robot`). Poses are in the robot's `base_link`, metres, as
(x, y, z, rx, ry, rz) with an axis-angle rotation vector (the UR convention). Every method may
raise `HardwareError` (connection lost, protective stop, unreachable pose); the executor turns
it into a failed attempt with the message, never a crash.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np


class HardwareError(RuntimeError):
    """The arm or the gripper failed or refused: the message says which and why."""


@dataclass(frozen=True)
class MotionLimits:
    """Cartesian moveL limits."""

    speed: float = 0.25  # m/s
    acceleration: float = 0.5  # m/s^2


@runtime_checkable
class Arm(Protocol):
    def connect(self, timeout: float) -> None:
        """Connect (blocking, at most `timeout` s; call it off the ROS executor thread)."""

    def is_connected(self) -> bool: ...

    def tcp_pose(self) -> np.ndarray:
        """(6,) current tool pose (x, y, z, rx, ry, rz) in base_link."""

    def move_linear(self, pose: np.ndarray, limits: MotionLimits) -> None:
        """Move the tool in a straight line to `pose` (6,); returns when there, raises
        HardwareError if the pose is unreachable, on protective stop or disconnection."""

    def stop(self) -> None: ...

    def disconnect(self) -> None: ...


@dataclass(frozen=True)
class GripperStatus:
    opening: float  # m, current jaw opening
    object_detected: bool  # the gripper stopped on an object before reaching the target
    fault: str  # "" when there is none


@runtime_checkable
class Gripper(Protocol):
    def connect(self, timeout: float) -> None: ...

    def is_connected(self) -> bool: ...

    def activate(self) -> None: ...

    def open(self, width: float, speed: float, force: float) -> GripperStatus:
        """Open to `width` m (clipped to the stroke); returns when the motion ends."""

    def close(self, speed: float, force: float) -> GripperStatus:
        """Close until fully closed or stopped by an object at the force limit (N)."""

    def status(self) -> GripperStatus: ...

    def disconnect(self) -> None: ...
