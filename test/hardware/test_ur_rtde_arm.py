"""URRTDEArm with the real ur_rtde 1.6.5 modules: a refused connection and a silent peer become
HardwareError within the timeout, and the process keeps running meanwhile; with a stand-in
controller behind ur_rtde's interfaces: moveL watched to its end, stopped from another thread,
a protective stop and a stuck motion reported."""

import os
import socket
import struct
import subprocess
import sys
import threading
import time
import types
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pytest

from gqstn_ros.hardware.interfaces import Arm, HardwareError, MotionLimits
from gqstn_ros.hardware.ur_rtde_arm import (
    RTDE_PORT,
    URRTDEArm,
    URRTDEConfig,
    check_limits,
    check_pose,
)

# ur_rtde always uses port 30004: each test takes its own loopback address (127.0.0.0/8).
_BASE = 1 + os.getpid() % 200


def loopback(index: int) -> str:
    return f"127.{_BASE}.{index}.1"


@contextmanager
def rtde_peer(host: str, reply: bytes | None, hang_up: bool = False) -> Iterator[None]:
    """A TCP server on host:30004 that accepts and answers every request with `reply`
    (None: never answers), then closes the connection if `hang_up`."""
    server = socket.create_server((host, RTDE_PORT))
    server.settimeout(0.1)
    connections: list[socket.socket] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except TimeoutError:
                continue
            connections.append(connection)
            if reply is not None:
                connection.recv(64)
                connection.sendall(reply)
            if hang_up:
                connection.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(2.0)
        for connection in connections:
            connection.close()
        server.close()


class Ticker:
    """A thread that ticks every 10 ms: proof that the process is not frozen."""

    def __init__(self) -> None:
        self.ticks: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.01):
            self.ticks.append(time.monotonic())

    def stop(self) -> float:
        """The longest gap between ticks (s)."""
        self._stop.set()
        self._thread.join()
        return float(np.diff(self.ticks).max()) if len(self.ticks) > 1 else float("inf")


def test_refused_connection_is_a_hardware_error_at_once() -> None:
    arm = URRTDEArm(URRTDEConfig(host=loopback(1)))
    assert isinstance(arm, Arm)
    start = time.monotonic()
    with pytest.raises(HardwareError, match="refused the connection"):
        arm.connect(timeout=2.0)
    assert time.monotonic() - start < 0.5
    assert not arm.is_connected()


def test_silent_peer_is_a_hardware_error_within_the_timeout_without_freezing() -> None:
    host = loopback(2)
    with rtde_peer(host, reply=None):
        arm = URRTDEArm(URRTDEConfig(host=host))
        ticker = Ticker()
        start = time.monotonic()
        with pytest.raises(HardwareError, match="did not answer the RTDE protocol request"):
            arm.connect(timeout=1.0)
        elapsed = time.monotonic() - start
        longest_gap = ticker.stop()
    assert 0.9 < elapsed < 1.5
    assert longest_gap < 0.2, f"the process froze for {longest_gap:.2f} s"
    assert not arm.is_connected()


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (struct.pack(">HBB", 4, 86, 0), "refused RTDE protocol version 2"),
        (struct.pack(">HBB", 4, 77, 1), "not an RTDE server"),
        (b"\x00", "closed the connection during the RTDE handshake"),
    ],
)
def test_wrong_rtde_answers_are_named(reply: bytes, expected: str) -> None:
    host = loopback(3)
    with (
        rtde_peer(host, reply=reply, hang_up=len(reply) < 4),
        pytest.raises(HardwareError, match=expected),
    ):
        URRTDEArm(URRTDEConfig(host=host)).connect(timeout=1.0)


def test_rtde_peer_without_control_ports_is_refused_before_ur_rtde() -> None:
    """An RTDE server that accepts version 2 but has no script/dashboard port: refused by the
    probe, so ur_rtde's control constructor never waits on it."""
    host = loopback(4)
    with (
        rtde_peer(host, reply=struct.pack(">HBB", 4, 86, 1)),
        pytest.raises(HardwareError, match=f"{host}:30003 does not accept connections"),
    ):
        URRTDEArm(URRTDEConfig(host=host)).connect(timeout=1.0)


def test_ur_rtde_constructor_freezes_the_whole_process_against_a_silent_peer() -> None:
    """Why connect() probes first: ur_rtde's constructor blocks holding the GIL, so even a
    ticking thread of the same process stops (measured in a child process, then killed)."""
    host = loopback(5)
    child = (
        "import sys, threading, time, rtde_receive\n"
        "def tick():\n"
        "    while True:\n"
        "        print('tick', flush=True); time.sleep(0.05)\n"
        "threading.Thread(target=tick, daemon=True).start()\n"
        "time.sleep(0.3)\n"
        "print('constructing', flush=True)\n"
        f"rtde_receive.RTDEReceiveInterface('{host}')\n"
    )
    with rtde_peer(host, reply=None):
        process = subprocess.Popen([sys.executable, "-c", child], stdout=subprocess.PIPE, text=True)
        time.sleep(2.0)
        process.kill()
        output, _ = process.communicate(timeout=10)
    lines = output.split()
    assert "constructing" in lines, output
    ticks_after = lines[lines.index("constructing") + 1 :].count("tick")
    # ~34 ticks in 1.7 s if the GIL were free; at most one slips through before the freeze.
    assert ticks_after <= 2, f"{ticks_after} ticks after the constructor started"


def test_commands_without_a_connection_and_bad_arguments() -> None:
    arm = URRTDEArm(URRTDEConfig(host=loopback(6)))
    with pytest.raises(HardwareError, match="arm not connected"):
        arm.move_linear(np.array([0.4, 0.0, 0.3, np.pi, 0.0, 0.0]), MotionLimits())
    with pytest.raises(HardwareError, match="arm not connected"):
        arm.tcp_pose()
    with pytest.raises(HardwareError, match="6 finite numbers"):
        check_pose(np.array([0.4, 0.0, np.nan, 0.0, 0.0, 0.0]))
    with pytest.raises(HardwareError, match="speed"):
        check_limits(MotionLimits(speed=5.0))
    with pytest.raises(ValueError, match="timeout"):
        arm.connect(timeout=0.0)
    arm.disconnect()  # nothing to close: no error


# --- motion: asynchronous moveL watched until it ends, stop() from another thread ------------


class FakeController:
    """Stands in for a UR controller behind ur_rtde's two interfaces (rtde_control and
    rtde_receive, third-party): an asynchronous moveL moves the TCP in a straight line at the
    commanded speed in wall time; stopL halts it where it is; `protective_stop_after` s into a
    motion the controller stops it as a protective stop would; `stall` keeps a motion running
    forever without moving."""

    def __init__(self, protective_stop_after: float | None = None, stall: bool = False) -> None:
        self.pose = np.array([0.4, 0.0, 0.3, np.pi, 0.0, 0.0])
        self.calls: list[str] = []
        self._motion: tuple[np.ndarray, np.ndarray, float, float] | None = None
        self._protective_stop_after = protective_stop_after
        self._stall = stall
        self.protective_stopped = False
        self.lock = threading.Lock()

    # rtde_control
    def isConnected(self) -> bool:  # noqa: N802 (ur_rtde's names)
        return True

    def isPoseWithinSafetyLimits(self, pose) -> bool:  # noqa: N802
        return True

    def moveL(self, pose, speed, acceleration, asynchronous=False) -> bool:  # noqa: N802
        assert asynchronous, "the arm watches its motions: moveL must be asynchronous"
        with self.lock:
            self.calls.append("moveL")
            self._motion = (self.pose.copy(), np.asarray(pose, float), speed, time.monotonic())
        return True

    def stopL(self, deceleration) -> None:  # noqa: N802
        with self.lock:
            self.calls.append(f"stopL {deceleration}")
            self._advance()
            self._motion = None

    def getAsyncOperationProgressEx(self):  # noqa: N802
        with self.lock:
            self._advance()
            running = self._motion is not None
        return types.SimpleNamespace(isAsyncOperationRunning=lambda: running)

    def _advance(self) -> None:
        if self._motion is None:
            return
        start, target, speed, began = self._motion
        elapsed = time.monotonic() - began
        if self._protective_stop_after is not None and elapsed >= self._protective_stop_after:
            self.protective_stopped = True
            self._motion = None
            return
        if self._stall:
            return
        distance = float(np.linalg.norm(target[:3] - start[:3]))
        fraction = min(1.0, elapsed * speed / distance) if distance > 0 else 1.0
        self.pose = start + fraction * (target - start)
        if fraction >= 1.0:
            self._motion = None

    # rtde_receive
    def getActualTCPPose(self):  # noqa: N802
        with self.lock:
            self._advance()
            return self.pose.tolist()

    def isProtectiveStopped(self) -> bool:  # noqa: N802
        return self.protective_stopped

    def isEmergencyStopped(self) -> bool:  # noqa: N802
        return False

    def getSafetyMode(self) -> int:  # noqa: N802
        return 3 if self.protective_stopped else 1


def connected_arm(controller: FakeController, **config) -> URRTDEArm:
    arm = URRTDEArm(URRTDEConfig(host=loopback(7), **config))
    arm._control = arm._receive = controller  # what connect() builds from ur_rtde
    return arm


TARGET = np.array([0.4, 0.2, 0.3, np.pi, 0.0, 0.0])  # 20 cm away


def test_move_linear_returns_at_the_target() -> None:
    controller = FakeController()
    arm = connected_arm(controller)
    start = time.monotonic()
    arm.move_linear(TARGET, MotionLimits(speed=1.0, acceleration=10.0))
    assert time.monotonic() - start >= 0.19  # 20 cm at 1 m/s
    np.testing.assert_allclose(arm.tcp_pose(), TARGET, atol=1e-9)
    assert controller.calls == ["moveL"]


def test_stop_from_another_thread_halts_the_motion_where_it_is() -> None:
    controller = FakeController()
    arm = connected_arm(controller)
    timer = threading.Timer(0.3, arm.stop)
    timer.start()
    start = time.monotonic()
    with pytest.raises(HardwareError, match="motion stopped: stop"):
        arm.move_linear(TARGET, MotionLimits(speed=0.1, acceleration=1.0))  # 2 s motion
    timer.join()
    assert time.monotonic() - start < 1.0
    assert controller.calls == ["moveL", "stopL 2.0"]
    stopped = arm.tcp_pose()
    assert 0.01 < stopped[1] < 0.15, "stopped part way"
    time.sleep(0.1)
    np.testing.assert_allclose(arm.tcp_pose(), stopped, atol=1e-9)  # and stays there
    arm.stop()  # no motion running: stopL at once
    assert controller.calls[-1] == "stopL 2.0" and len(controller.calls) == 3


def test_a_protective_stop_mid_motion_is_a_hardware_error_with_the_reason() -> None:
    arm = connected_arm(FakeController(protective_stop_after=0.1))
    with pytest.raises(HardwareError, match="failed: protective stop"):
        arm.move_linear(TARGET, MotionLimits(speed=0.1, acceleration=1.0))


def test_a_motion_that_never_ends_is_stopped_after_its_time_budget() -> None:
    controller = FakeController(stall=True)
    arm = connected_arm(controller, motion_time_factor=1.0, motion_time_margin=0.2)
    start = time.monotonic()
    with pytest.raises(HardwareError, match=r"did not finish within 0\.5 s: stopped"):
        arm.move_linear(TARGET, MotionLimits(speed=1.0, acceleration=10.0))
    assert 0.45 < time.monotonic() - start < 2.0  # 0.3 s nominal x 1 + 0.2 s
    assert controller.calls[-1].startswith("stopL")
