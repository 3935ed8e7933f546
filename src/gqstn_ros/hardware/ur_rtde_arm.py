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

Motion: `move_linear` checks the connection and the safety state (rtde_receive), starts
`moveL(pose, speed, acceleration, asynchronous=True)` and watches the motion every
`MOTION_POLL_PERIOD_S` until the controller reports it ended; a safety stop, a lost connection,
a motion that outlasts its time budget or ends away from the target becomes `HardwareError`
with the reason read back from the controller. `stop()` (from any thread) interrupts it: the
moving thread calls `stopL` and `move_linear` raises "motion stopped"; with no motion running,
`stop()` calls `stopL` itself. Every ur_rtde call of a motion is made by the thread that
started it, so the control interface is never used from two threads at once.
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
MOTION_POLL_PERIOD_S = 0.01  # how often a running moveL is checked (stop, safety, progress)
# A moveL has ended at its target when the TCP is this close to it (m).
TARGET_TOLERANCE_M = 0.002

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
    stop_deceleration: float = 2.0  # m/s^2, stopL's tool deceleration
    # A moveL may take this many times its trapezoidal duration, plus motion_time_margin s,
    # before it is stopped as stuck.
    motion_time_factor: float = 2.0
    motion_time_margin: float = 2.0  # s

    def __post_init__(self) -> None:
        if not self.host:
            raise ValueError("robot host must not be empty")
        for name in ("stop_deceleration", "motion_time_factor", "motion_time_margin"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive finite number, got {value}")

    def motion_time_limit(self, distance: float, limits: MotionLimits) -> float:
        """Seconds a straight move of `distance` m may take before it counts as stuck."""
        speed, acceleration = limits.speed, limits.acceleration
        ramp = speed / acceleration
        if distance <= speed * ramp:  # never reaches full speed
            nominal = 2 * math.sqrt(distance / acceleration)
        else:
            nominal = distance / speed + ramp
        return self.motion_time_factor * nominal + self.motion_time_margin


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
        self._moving = False  # a move_linear is running (guarded by _lock)
        self._stop_requested = threading.Event()

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
        """Straight tool motion to `pose` (6,) in base_link; returns at the target, raises
        HardwareError when refused, stopped (`stop()`, a safety stop) or stuck."""
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
            start = self.tcp_pose()
            self._stop_requested.clear()
            try:
                started = control.moveL(target, limits.speed, limits.acceleration, True)
            except RuntimeError as error:
                raise HardwareError(f"moveL failed: {error}") from error
            if not started:
                problem = self.safety_problem()
                raise HardwareError(
                    f"moveL to {np.round(target, 4).tolist()} refused: "
                    f"{problem or 'the controller refused the motion (pose unreachable)'}"
                )
            self._moving = True
        try:
            distance = float(np.linalg.norm(np.asarray(target[:3]) - start[:3]))
            self._watch_motion(control, target, self.config.motion_time_limit(distance, limits))
        finally:
            with self._lock:
                self._moving = False

    def _watch_motion(self, control, target: list[float], time_limit: float) -> None:
        """Wait for the asynchronous moveL to `target` to end; stop it on request, on a safety
        stop or after `time_limit` s; raise HardwareError unless it ended at the target."""
        where = np.round(target, 4).tolist()
        deadline = time.monotonic() + time_limit
        while True:
            if self._stop_requested.is_set():
                self._stop_l(control)
                raise HardwareError("motion stopped: stop() was called during moveL")
            try:
                running = control.getAsyncOperationProgressEx().isAsyncOperationRunning()
            except RuntimeError as error:
                raise HardwareError(f"moveL to {where}: progress unreadable: {error}") from error
            problem = self.safety_problem()
            if problem is not None:
                raise HardwareError(f"moveL to {where} failed: {problem}")
            if not running:
                break
            if time.monotonic() > deadline:
                self._stop_l(control)
                raise HardwareError(
                    f"moveL to {where} did not finish within {time_limit:.1f} s: stopped"
                )
            self._stop_requested.wait(MOTION_POLL_PERIOD_S)
        miss = float(np.linalg.norm(self.tcp_pose()[:3] - np.asarray(target[:3])))
        if miss > TARGET_TOLERANCE_M:
            raise HardwareError(
                f"moveL to {where} ended {miss * 1000:.1f} mm from the target: the controller "
                "stopped the motion"
            )

    def _stop_l(self, control) -> None:
        try:
            control.stopL(self.config.stop_deceleration)
        except RuntimeError as error:
            raise HardwareError(f"stopL failed: {error}") from error

    def stop(self) -> None:
        """Stop the arm (any thread): a running move_linear stops and raises; else stopL."""
        with self._lock:
            if self._moving:
                self._stop_requested.set()
                return
            control = self._control
            if control is not None:
                self._stop_l(control)

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
