"""URRTDEArm with the real ur_rtde 1.6.5 modules: a refused connection and a silent peer become
HardwareError within the timeout, and the process keeps running meanwhile."""

import os
import socket
import struct
import subprocess
import sys
import threading
import time
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
