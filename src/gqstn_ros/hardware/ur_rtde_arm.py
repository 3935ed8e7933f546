"""The UR5 behind the `Arm` interface, through ur_rtde (`rtde_control`, `rtde_receive`).

ur_rtde has no offline mode: its interfaces connect in their constructors. What happens
against a bad address (measured with ur_rtde 1.6.5):

- nothing listening (connection refused): the constructor raises RuntimeError at once;
- a peer that accepts the TCP connection and never answers (a firewall, a hung controller,
  the wrong machine): the constructor blocks, without timeout, *while holding the GIL*; a
  `threading.Thread(...).join(3.0)` in another thread did not return for 100 s: every
  Python thread of the process (the ROS executor included) froze with it.

So a worker thread cannot bound the constructor. `connect` first probes the robot in the
calling thread with plain sockets and a deadline (the GIL is released while a socket
waits): a TCP connection and an RTDE protocol-version request on port 30004 (the RTDE
handshake ur_rtde starts with), then TCP connections to the ports the control interface
uses (30003 script, 29999 dashboard). Only a robot that passed answers the constructors.
A peer that answers the probe and then hangs can still block them: that is a controller
fault this cannot bound (it would take a child process owning ur_rtde).

Motion: `move_linear` checks the connection and the safety state (rtde_receive), calls
`moveL(pose, speed, acceleration)` (blocking) and turns a False return into `HardwareError`
with the reason read back from the controller: protective stop, emergency stop, lost
connection, or a pose the controller refused (unreachable, outside the safety limits).
"""

from __future__ import annotations

import contextlib
import math
import socket
import struct
import threading
import time
from dataclasses import dataclass

import numpy as np
import rtde_control
import rtde_receive

from gqstn_ros.hardware.interfaces import HardwareError, MotionLimits

RTDE_PORT = 30004
SCRIPT_PORT = 30003  # realtime interface; ur_rtde's control script goes here
DASHBOARD_PORT = 29999
RTDE_REQUEST_PROTOCOL_VERSION = 86  # 'V'
RTDE_PROTOCOL_VERSION = 2
# moveL limits the controller accepts (ur_rtde checks them too).
UR_MAX_TOOL_SPEED = 3.0  # m/s
UR_MAX_TOOL_ACCELERATION = 150.0  # m/s^2

# rtde_receive.getSafetyMode() values (UR RTDE guide, "safety_mode").
SAFETY_MODES = {
    1: "normal",
    2: "reduced",
    3: "protective stop",
    4: "recovery",
    5: "safeguard stop",
    6: "system emergency stop",
    7: "robot emergency stop",
    8: "violation",
    9: "fault",
    10: "validate joint id",
    11: "undefined safety mode",
    12: "automatic mode safeguard stop",
    13: "system three position enabling stop",
}
SAFE_TO_MOVE = (1, 2)


@dataclass(frozen=True)
class URRTDEConfig:
    host: str = "192.168.1.10"
    frequency: float = -1.0  # RTDE frequency, Hz; -1 = the controller's (125 / 500 Hz)
    probe_control_ports: bool = True  # also require 30003 and 29999 to accept connections

    def __post_init__(self) -> None:
        if not self.host:
            raise ValueError("robot host must not be empty")


def probe_rtde(host: str, timeout: float) -> None:
    """Raise HardwareError unless an RTDE server at `host`:30004 accepts protocol version 2
    within `timeout` s. Plain sockets: the GIL is free while this waits."""
    deadline = time.monotonic() + timeout
    address = f"{host}:{RTDE_PORT}"
    try:
        connection = socket.create_connection((host, RTDE_PORT), timeout=timeout)
    except ConnectionRefusedError:
        raise HardwareError(
            f"robot at {address} refused the connection (nothing listening)"
        ) from None
    except TimeoutError:
        raise HardwareError(
            f"robot at {address} did not accept a connection within {timeout:.1f} s"
        ) from None
    except OSError as error:
        raise HardwareError(f"robot at {address} is unreachable: {error}") from error
    with connection:
        payload = struct.pack(">H", RTDE_PROTOCOL_VERSION)
        header = struct.pack(">HB", 3 + len(payload), RTDE_REQUEST_PROTOCOL_VERSION)
        try:
            connection.sendall(header + payload)
            reply = b""
            while len(reply) < 4:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError
                connection.settimeout(left)
                chunk = connection.recv(4 - len(reply))
                if not chunk:
                    raise HardwareError(
                        f"robot at {address} closed the connection during the RTDE handshake"
                    )
                reply += chunk
        except TimeoutError:
            raise HardwareError(
                f"robot at {address} accepted the connection but did not answer the RTDE "
                f"protocol request within {timeout:.1f} s (not a UR controller, or hung)"
            ) from None
        except OSError as error:
            raise HardwareError(f"robot at {address}: RTDE handshake failed: {error}") from error
    size, kind, accepted = struct.unpack(">HBB", reply)
    if kind != RTDE_REQUEST_PROTOCOL_VERSION or size != 4:
        raise HardwareError(f"robot at {address} is not an RTDE server (answered type {kind})")
    if not accepted:
        raise HardwareError(f"robot at {address} refused RTDE protocol version 2")


def probe_port(host: str, port: int, timeout: float) -> None:
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as error:
        raise HardwareError(
            f"robot at {host}:{port} does not accept connections: {error}"
        ) from error


def check_pose(pose: np.ndarray) -> list[float]:
    p = np.asarray(pose, dtype=np.float64).reshape(-1)
    if p.shape != (6,) or not np.all(np.isfinite(p)):
        raise HardwareError(f"pose must be 6 finite numbers (x, y, z, rx, ry, rz), got {pose}")
    return [float(v) for v in p]


def check_limits(limits: MotionLimits) -> None:
    if not (0 < limits.speed <= UR_MAX_TOOL_SPEED):
        raise HardwareError(
            f"moveL speed must be in (0, {UR_MAX_TOOL_SPEED}] m/s, got {limits.speed}"
        )
    if not (0 < limits.acceleration <= UR_MAX_TOOL_ACCELERATION):
        raise HardwareError(
            f"moveL acceleration must be in (0, {UR_MAX_TOOL_ACCELERATION}] m/s^2, "
            f"got {limits.acceleration}"
        )


class URRTDEArm:
    """A UR arm through ur_rtde; implements `hardware.interfaces.Arm`."""

    def __init__(self, config: URRTDEConfig | None = None) -> None:
        self.config = config or URRTDEConfig()
        self._control = None  # rtde_control.RTDEControlInterface
        self._receive = None  # rtde_receive.RTDEReceiveInterface
        self._lock = threading.RLock()

    def connect(self, timeout: float) -> None:
        """Probe the controller (bounded by `timeout`), then build the RTDE interfaces."""
        if not (math.isfinite(timeout) and timeout > 0):
            raise ValueError(f"timeout must be a positive number of seconds, got {timeout}")
        host = self.config.host
        deadline = time.monotonic() + timeout
        probe_rtde(host, timeout)
        if self.config.probe_control_ports:
            for port in (SCRIPT_PORT, DASHBOARD_PORT):
                probe_port(host, port, max(0.05, deadline - time.monotonic()))
        with self._lock:
            self.disconnect()
            try:
                self._receive = rtde_receive.RTDEReceiveInterface(host, self.config.frequency)
                self._control = rtde_control.RTDEControlInterface(host, self.config.frequency)
            except RuntimeError as error:
                self.disconnect()
                raise HardwareError(f"robot at {host}: ur_rtde cannot connect: {error}") from error

    def is_connected(self) -> bool:
        with self._lock:
            if self._control is None or self._receive is None:
                return False
            try:
                return bool(self._control.isConnected() and self._receive.isConnected())
            except RuntimeError:
                return False

    def tcp_pose(self) -> np.ndarray:
        receive = self._require_receive()
        try:
            return np.asarray(receive.getActualTCPPose(), dtype=np.float64)
        except RuntimeError as error:
            raise HardwareError(f"robot: cannot read the TCP pose: {error}") from error

    def safety_problem(self) -> str | None:  # noqa: PLR0911 (one return a reason)
        """Why the arm cannot move now (lost connection, protective/emergency stop), or None."""
        receive = self._require_receive()
        try:
            if not receive.isConnected():
                return f"connection to the robot at {self.config.host} lost"
            if receive.isProtectiveStopped():
                return "protective stop"
            if receive.isEmergencyStopped():
                return "emergency stop"
            mode = int(receive.getSafetyMode())
        except RuntimeError as error:
            return f"cannot read the safety state: {error}"
        if mode not in SAFE_TO_MOVE:
            return f"safety mode {SAFETY_MODES.get(mode, mode)}"
        if self._control is None or not self._control.isConnected():
            return f"control connection to the robot at {self.config.host} lost"
        return None

    def move_linear(self, pose: np.ndarray, limits: MotionLimits) -> None:
        target = check_pose(pose)
        check_limits(limits)
        with self._lock:
            problem = self.safety_problem()
            if problem is not None:
                raise HardwareError(f"robot cannot move: {problem}")
            control = self._control
            if not control.isPoseWithinSafetyLimits(target):
                raise HardwareError(
                    f"pose unreachable: {np.round(target, 4).tolist()} is outside the "
                    f"controller's safety limits"
                )
            try:
                done = control.moveL(target, limits.speed, limits.acceleration)
            except RuntimeError as error:
                raise HardwareError(f"moveL failed: {error}") from error
            if not done:
                problem = self.safety_problem()
                raise HardwareError(
                    f"moveL to {np.round(target, 4).tolist()} failed: "
                    f"{problem or 'the controller refused the motion (pose unreachable)'}"
                )

    def stop(self) -> None:
        control = self._control
        if control is not None:
            try:
                control.stopL(2.0)
            except RuntimeError as error:
                raise HardwareError(f"stopL failed: {error}") from error

    def disconnect(self) -> None:
        with self._lock:
            for interface in (self._control, self._receive):
                if interface is not None:
                    with contextlib.suppress(RuntimeError):
                        interface.disconnect()
            self._control = self._receive = None

    def _require_receive(self):
        receive = self._receive
        if receive is None:
            raise HardwareError(f"arm not connected ({self.config.host}): call connect() first")
        return receive
