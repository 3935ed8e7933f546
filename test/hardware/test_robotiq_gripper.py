"""The real pyrobotiqgripper driver, through our RobotiqGripper, against the fake 2F-85 that
speaks Modbus RTU over TCP and over a pseudo-terminal."""

import time

import pytest

from gqstn_ros.hardware.fake_robotiq_server import (
    FakeGripperConfig,
    FakeRobotiqServer,
    modbus_crc,
)
from gqstn_ros.hardware.interfaces import Gripper, HardwareError
from gqstn_ros.hardware.robotiq_gripper import RobotiqConfig, RobotiqGripper
from gqstn_ros.profiles import load_gripper_profile

FAST = {"activation_time": 0.1, "time_scale": 4.0}  # 4x real finger speed: short tests
SPEED, FORCE = 0.15, 60.0  # m/s, N


def connected(server: FakeRobotiqServer, port: str | None = None) -> RobotiqGripper:
    gripper = RobotiqGripper(RobotiqConfig(port=port or server.tcp_url, motion_timeout=3.0))
    gripper.connect(timeout=3.0)
    gripper.activate()
    return gripper


def test_crc_matches_the_modbus_reference() -> None:
    # Read 10 holding registers from 0 of slave 1: the CRC every Modbus reference quotes.
    assert modbus_crc(bytes.fromhex("01030000000a")) == bytes.fromhex("c5cd")


@pytest.mark.parametrize("transport", ["tcp", "pty"])
def test_activate_open_and_close_on_an_object(transport: str) -> None:
    config = FakeGripperConfig(object_width=0.04, **FAST)
    with FakeRobotiqServer(
        config, serve_tcp=transport == "tcp", serve_pty=transport == "pty"
    ) as server:
        gripper = connected(server, server.tcp_url if transport == "tcp" else server.serial_port)
        assert isinstance(gripper, Gripper)
        assert gripper.is_connected()
        opened = gripper.open(0.085, SPEED, FORCE)
        assert opened.opening == pytest.approx(0.085, abs=0.001)
        assert not opened.object_detected and opened.fault == ""
        start = time.monotonic()
        closed = gripper.close(SPEED, FORCE)
        elapsed = time.monotonic() - start
        assert closed.object_detected
        assert closed.opening == pytest.approx(0.04, abs=0.001)  # stopped on the object
        # 45 mm of travel at 150 mm/s x 4: the driver waited for the motion to end.
        assert elapsed >= 0.045 / (0.15 * 4) * 0.8
        status = gripper.status()
        assert status.object_detected and status.opening == pytest.approx(0.04, abs=0.001)
        # The force went to the registers: rFR of 60 N on the 20..235 N scale.
        assert server.state.r_fr == round(255 * (60 - 20) / 215)
        gripper.disconnect()
        assert not gripper.is_connected()


def test_close_on_nothing_reports_no_object() -> None:
    with FakeRobotiqServer(FakeGripperConfig(object_width=None, **FAST)) as server:
        gripper = connected(server)
        half = gripper.open(0.05, SPEED, FORCE)
        assert half.opening == pytest.approx(0.05, abs=0.001)
        closed = gripper.close(SPEED, FORCE)
        assert not closed.object_detected
        assert closed.opening == pytest.approx(0.0, abs=0.001)


def test_disconnect_mid_motion_is_a_hardware_error() -> None:
    with FakeRobotiqServer(FakeGripperConfig(object_width=None, **FAST)) as server:
        gripper = connected(server)
        gripper.open(0.085, SPEED, FORCE)
        server.disconnect_during_next_motion()
        start = time.monotonic()
        with pytest.raises(HardwareError, match="gripper close failed"):
            gripper.close(SPEED, FORCE)
        assert time.monotonic() - start < 10.0
        assert server.dead
        assert not gripper.is_connected()
        with pytest.raises(HardwareError, match="not connected"):
            gripper.status()


def test_nothing_listening_and_silent_peer_fail_within_the_timeout() -> None:
    import socket

    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    gripper = RobotiqGripper(RobotiqConfig(port=f"tcp://127.0.0.1:{port}"))
    with pytest.raises(HardwareError, match="cannot connect"):
        gripper.connect(timeout=2.0)
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)
    try:
        gripper = RobotiqGripper(RobotiqConfig(port=f"tcp://127.0.0.1:{silent.getsockname()[1]}"))
        start = time.monotonic()
        with pytest.raises(HardwareError):
            gripper.connect(timeout=0.5)
        assert time.monotonic() - start < 1.5
        assert not gripper.is_connected()
    finally:
        silent.close()


def test_unit_conversions_and_port_syntax() -> None:
    config = RobotiqConfig(port="tcp://10.0.0.2:54321")
    assert config.width_to_position(0.085) == 0 and config.width_to_position(0.0) == 255
    assert config.width_to_position(1.0) == 0  # clipped to the stroke
    assert config.position_to_width(config.width_to_position(0.04)) == pytest.approx(0.04, abs=2e-4)
    assert config.speed_to_register(0.02) == 0 and config.speed_to_register(0.15) == 255
    assert config.force_to_register(235.0) == 255
    with pytest.raises(HardwareError, match="force"):
        config.force_to_register(float("nan"))
    with pytest.raises(ValueError, match="tcp://host:port"):
        RobotiqConfig(port="tcp://10.0.0.2")
    with pytest.raises(ValueError, match="serial device path or tcp"):
        RobotiqConfig(port="udp://10.0.0.2:1")
    with pytest.raises(HardwareError, match="not connected"):
        RobotiqGripper(config).close(0.1, 50.0)


def test_a_gripper_profile_sets_the_stroke_and_force_conversions() -> None:
    robotiq_2f140 = load_gripper_profile("robotiq_2f140")
    config = RobotiqConfig.for_gripper(robotiq_2f140, port="/dev/ttyUSB1", device_id=7)
    assert (config.port, config.device_id) == ("/dev/ttyUSB1", 7)
    assert config.width_to_position(0.14) == 0 and config.width_to_position(0.07) == 128
    assert config.force_to_register(10.0) == 0 and config.force_to_register(125.0) == 255
    default = RobotiqConfig()  # the default profile's: the 2F-85
    assert (default.stroke, default.min_force, default.max_force) == (0.085, 20.0, 235.0)
