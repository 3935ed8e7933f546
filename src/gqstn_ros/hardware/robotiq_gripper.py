"""The Robotiq 2F-85 behind the `Gripper` interface, through the pyrobotiqgripper driver.

pyrobotiqgripper (3.3.x) talks Modbus RTU with pymodbus, either on a serial port (USB/RS485
adapter: `gripper_port` = "/dev/ttyUSB0") or as RTU frames over TCP (the UR controller's RS485
URCap, port 54321: `gripper_port` = "tcp://192.168.1.10:54321"). Its API works in register
units: position 0 (open) .. 255 (closed), speed and force 0..255; `move(..., wait=True)` polls
the status until gOBJ leaves "in motion" (or its `timeOut` passes, silently), `status()`
returns the decoded input registers (gOBJ object detection, gFLT fault, gPO position, ...).

This wrapper converts SI units to registers with the 2F-85's ranges (85 mm stroke, 20-150 mm/s,
20-235 N), reports the status from the real registers, and turns every driver, Modbus or
serial error into `HardwareError`. A connection is made in a worker thread so that a silent
peer costs at most the `connect` timeout.
"""

from __future__ import annotations

import contextlib
import math
import threading
from dataclasses import dataclass, field
from urllib.parse import urlparse

import pyrobotiqgripper as rq

from gqstn_ros.gripper import GripperConfig, default_gripper
from gqstn_ros.hardware.interfaces import GripperStatus, HardwareError

GOBJ_IN_MOTION = 0
GOBJ_STOPPED_OPENING = 1
GOBJ_STOPPED_CLOSING = 2
GOBJ_AT_POSITION = 3


@dataclass(frozen=True)
class RobotiqConfig:
    """How to reach the gripper and its unit conversions (SI units)."""

    port: str = "/dev/ttyUSB0"  # serial device, or tcp://host:port for RTU over TCP
    device_id: int = 9  # Modbus slave address (the 2F-85's default)
    # From the gripper profile (default: `gripper.default_gripper()`'s; see `for_gripper`):
    # stroke = the opening (m) at `open_position`; min_force / max_force = the grip force (N)
    # at force register 0 / 255.
    stroke: float = field(default_factory=lambda: default_gripper().max_width)
    open_position: int = 0  # register position of the full stroke (calibrate per gripper)
    closed_position: int = 255  # register position of a closed gripper
    min_speed: float = 0.020  # m/s at speed 0
    max_speed: float = 0.150  # m/s at speed 255
    min_force: float = field(default_factory=lambda: default_gripper().min_grip_force)
    max_force: float = field(default_factory=lambda: default_gripper().max_grip_force)
    motion_timeout: float = 6.0  # s; the full stroke takes 4.25 s at the lowest speed

    def __post_init__(self) -> None:
        if not self.port:
            raise ValueError("gripper port must not be empty")
        if not 0 <= self.open_position < self.closed_position <= 255:
            raise ValueError(
                f"positions must satisfy 0 <= open_position < closed_position <= 255, "
                f"got {self.open_position}, {self.closed_position}"
            )
        for name in (
            "stroke",
            "min_speed",
            "max_speed",
            "min_force",
            "max_force",
            "motion_timeout",
        ):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive finite number, got {value}")
        if self.max_speed < self.min_speed or self.max_force < self.min_force:
            raise ValueError("max_speed / max_force must not be below the minimum")
        self.connection()  # validates the port syntax

    @classmethod
    def for_gripper(cls, gripper: GripperConfig, **options: object) -> RobotiqConfig:
        """The config of a Robotiq gripper described by the profile `gripper`: its stroke is
        the opening at `open_position`, its force range maps to force registers 0..255;
        `options` set the other fields (port, device_id, ...)."""
        return cls(
            stroke=gripper.max_width,
            min_force=gripper.min_grip_force,
            max_force=gripper.max_grip_force,
            **options,
        )

    def connection(self) -> dict[str, object]:
        """pyrobotiqgripper constructor arguments for `port`."""
        if self.port.startswith("tcp://"):
            url = urlparse(self.port)
            if not url.hostname or url.port is None:
                raise ValueError(f"gripper port {self.port!r}: expected tcp://host:port")
            return {
                "connection_type": rq.GRIPPER_MODE_RTU_VIA_TCP,
                "tcp_host": url.hostname,
                "tcp_port": url.port,
                "device_id": self.device_id,
            }
        if "://" in self.port:
            raise ValueError(f"gripper port {self.port!r}: a serial device path or tcp://host:port")
        return {
            "connection_type": rq.GRIPPER_MODE_RTU,
            "com_port": self.port,
            "device_id": self.device_id,
        }

    # --- unit conversions
    def width_to_position(self, width: float) -> int:
        """Register position (0..255) of an opening `width` m, clipped to the stroke."""
        fraction = min(max(width / self.stroke, 0.0), 1.0)
        span = self.closed_position - self.open_position
        return round(self.closed_position - fraction * span)

    def position_to_width(self, position: int | float) -> float:
        span = self.closed_position - self.open_position
        fraction = (self.closed_position - float(position)) / span
        return self.stroke * min(max(fraction, 0.0), 1.0)

    def speed_to_register(self, speed: float) -> int:
        return _to_register(speed, self.min_speed, self.max_speed, "speed")

    def force_to_register(self, force: float) -> int:
        return _to_register(force, self.min_force, self.max_force, "force")


def _to_register(value: float, low: float, high: float, name: str) -> int:
    if not math.isfinite(value) or value < 0:
        raise HardwareError(f"gripper {name} must be a non-negative finite number, got {value}")
    return round(255 * min(max((value - low) / (high - low), 0.0), 1.0))


class RobotiqGripper:
    """The 2F-85 through pyrobotiqgripper; implements `hardware.interfaces.Gripper`."""

    def __init__(self, config: RobotiqConfig | None = None) -> None:
        self.config = config or RobotiqConfig()
        self._driver = None  # pyrobotiqgripper.RobotiqGripper once connected
        self._lock = threading.RLock()

    # --- connection
    def connect(self, timeout: float) -> None:
        """Open the Modbus link and read the status (at most `timeout` s)."""
        if not (math.isfinite(timeout) and timeout > 0):
            raise ValueError(f"timeout must be a positive number of seconds, got {timeout}")
        outcome: dict[str, object] = {}

        def construct() -> None:
            try:
                outcome["driver"] = rq.RobotiqGripper(**self.config.connection())
            except Exception as error:  # the driver raises its own, pymodbus and serial errors
                outcome["error"] = error

        worker = threading.Thread(target=construct, name="robotiq-connect", daemon=True)
        worker.start()
        worker.join(timeout)
        if worker.is_alive():
            # The driver gives up on its own (Modbus timeout); close what it opened then.
            threading.Thread(target=_close_when_done, args=(worker, outcome), daemon=True).start()
            raise HardwareError(
                f"gripper at {self.config.port} did not answer within {timeout:.1f} s"
            )
        if "error" in outcome:
            error = outcome["error"]
            raise HardwareError(
                f"gripper at {self.config.port}: cannot connect: {type(error).__name__}: {error}"
            )
        driver = outcome["driver"]
        driver.timeOut = self.config.motion_timeout
        with self._lock:
            self._driver = driver

    def is_connected(self) -> bool:
        with self._lock:
            return self._driver is not None

    def disconnect(self) -> None:
        with self._lock:
            driver, self._driver = self._driver, None
        if driver is not None:
            with contextlib.suppress(Exception):  # closing a broken link: nothing left to do
                driver.disconnect()

    # --- actions
    def activate(self) -> None:
        """Reset and activate (the real gripper opens and closes fully: keep it clear)."""
        self._call("activate", lambda driver: driver.activate())

    def open(self, width: float, speed: float, force: float) -> GripperStatus:
        if not math.isfinite(width):
            raise HardwareError(f"gripper opening must be a finite number, got {width}")
        return self._move(self.config.width_to_position(width), speed, force, "open")

    def close(self, speed: float, force: float) -> GripperStatus:
        return self._move(self.config.closed_position, speed, force, "close")

    def status(self) -> GripperStatus:
        return self._call("read the status", lambda driver: self._decode(driver.status()))

    # --- internals
    def _move(self, position: int, speed: float, force: float, action: str) -> GripperStatus:
        speed_register = self.config.speed_to_register(speed)
        force_register = self.config.force_to_register(force)

        def move(driver) -> GripperStatus:
            driver.move(position, speed_register, force_register, wait=True)
            registers = driver.status()
            if int(registers["gOBJ"]) == GOBJ_IN_MOTION:
                raise HardwareError(
                    f"gripper {action}: still moving after {self.config.motion_timeout:.1f} s"
                )
            return self._decode(registers)

        status = self._call(action, move)
        if status.fault:
            raise HardwareError(f"gripper {action}: fault: {status.fault}")
        return status

    def _decode(self, registers: dict) -> GripperStatus:
        fault_code = int(registers["gFLT"])
        fault = "" if fault_code == 0 else rq.REGISTER_DIC["gFLT"].get(fault_code, str(fault_code))
        detection = int(registers["gOBJ"])
        return GripperStatus(
            opening=self.config.position_to_width(registers["gPO"]),
            object_detected=detection in (GOBJ_STOPPED_OPENING, GOBJ_STOPPED_CLOSING),
            fault=str(fault),
        )

    def _call(self, action: str, function):
        with self._lock:
            driver = self._driver
            if driver is None:
                raise HardwareError(f"gripper not connected ({self.config.port}): cannot {action}")
            try:
                return function(driver)
            except HardwareError:
                raise
            except Exception as error:  # driver, pymodbus and serial errors alike
                self._driver = None  # the link is in an unknown state: reconnect to go on
                with contextlib.suppress(Exception):
                    driver.disconnect()
                raise HardwareError(
                    f"gripper {action} failed ({self.config.port}): {type(error).__name__}: {error}"
                ) from error


def _close_when_done(worker: threading.Thread, outcome: dict[str, object]) -> None:
    worker.join()
    driver = outcome.get("driver")
    if driver is not None:
        with contextlib.suppress(Exception):
            driver.disconnect()
