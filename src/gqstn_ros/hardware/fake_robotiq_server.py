"""A fake Robotiq 2F-85 that speaks Modbus RTU, for driving the real pyrobotiqgripper driver.

It implements the gripper's real register map (Robotiq 2F-85 manual, section 4) and the
Modbus functions the driver sends: 3/4 (read holding / input registers), 16 (write multiple
registers) and 23 (write then read multiple registers), with RTU framing (slave id, function,
data, CRC-16/MODBUS little-endian), over a TCP socket (the UR RS485 URCap's "RTU over TCP")
or over a pseudo-terminal pair (a USB/RS485 adapter's serial port).

Registers (16-bit, high byte first):

    holding 0x03E8 (1000): rACT (bit 0), rGTO (bit 3), rATR (bit 4), rARD (bit 5) | reserved
            0x03E9 (1001): reserved | rPR (position request, 0 = open .. 255 = closed)
            0x03EA (1002): rSP (speed) | rFR (force)
    input   0x07D0 (2000): gACT (bit 0), gGTO (bit 3), gSTA (bits 4-5), gOBJ (bits 6-7) | reserved
            0x07D1 (2001): kFLT (high nibble), gFLT (low nibble) | gPR (position request echo)
            0x07D2 (2002): gPO (position) | gCU (motor current, x 10 mA)

Simulation: activation (rising edge of rACT) takes `activation_time`; a go-to (rGTO = 1) moves
gPO towards rPR at a speed set by rSP (20..150 mm/s over the 85 mm stroke, i.e. 0..255 maps
to 60..450 position units a second); an object of `object_width` metres between the jaws
stops a closing motion at that opening with gOBJ = 2 (object detected while closing); without
one the fingers reach the request, gOBJ = 3. Positions map linearly to openings:
opening = stroke * (1 - gPO / 255). The state is computed from the clock at each request; no
thread runs the simulation.

Failure injection: `disconnect_during_next_motion()` makes the gripper drop its connection
(and stop answering) at the first request it gets while its fingers move: a cable pulled out.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import select
import socket
import threading
import time
import tty
from dataclasses import dataclass

LOGGER = logging.getLogger(__name__)

ACTION_REQUEST_REGISTER = 0x03E8
STATUS_REGISTER = 0x07D0
HOLDING_REGISTER_COUNT = 3
INPUT_REGISTER_COUNT = 3
POSITION_UNITS = 255

READ_HOLDING_REGISTERS = 3
READ_INPUT_REGISTERS = 4
WRITE_MULTIPLE_REGISTERS = 16
READ_WRITE_MULTIPLE_REGISTERS = 23
ILLEGAL_FUNCTION = 1
ILLEGAL_DATA_ADDRESS = 2
ILLEGAL_DATA_VALUE = 3

GSTA_RESET, GSTA_ACTIVATING, GSTA_ACTIVATED = 0, 1, 3
GOBJ_MOVING, GOBJ_STOPPED_OPENING, GOBJ_STOPPED_CLOSING, GOBJ_AT_REQUEST = 0, 1, 2, 3
GFLT_NONE = 0
GFLT_ACTION_DELAYED = 5  # a go-to was requested before the activation completed
GFLT_ACTIVATION_BIT_MISSING = 7  # a go-to was requested without rACT


def modbus_crc(frame: bytes) -> bytes:
    """CRC-16/MODBUS (poly 0xA001 reflected, init 0xFFFF), low byte first as RTU sends it."""
    crc = 0xFFFF
    for byte in frame:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return bytes((crc & 0xFF, crc >> 8))


@dataclass(frozen=True)
class FakeGripperConfig:
    """The simulated 2F-85 (SI units)."""

    stroke: float = 0.085  # m, opening at position 0
    object_width: float | None = None  # m, an object between the jaws, None = nothing
    activation_time: float = 0.3  # s (the real gripper takes a few seconds)
    min_speed: float = 0.020  # m/s at rSP = 0
    max_speed: float = 0.150  # m/s at rSP = 255
    time_scale: float = 1.0  # > 1 runs the fingers faster than real time
    device_id: int = 9  # the gripper's Modbus slave address

    def __post_init__(self) -> None:
        if self.stroke <= 0 or self.min_speed <= 0 or self.max_speed < self.min_speed:
            raise ValueError("stroke and speeds must be positive, max_speed >= min_speed")
        if self.object_width is not None and not 0 <= self.object_width <= self.stroke:
            raise ValueError(f"object_width must be in [0, stroke], got {self.object_width}")
        if self.activation_time < 0 or self.time_scale <= 0:
            raise ValueError("activation_time must be >= 0 and time_scale > 0")
        if not 1 <= self.device_id <= 247:
            raise ValueError(
                f"device_id must be a Modbus slave address 1..247, got {self.device_id}"
            )


class FakeGripperState:
    """The 2F-85's registers and finger motion; thread-safe."""

    def __init__(self, config: FakeGripperConfig) -> None:
        self.config = config
        self.lock = threading.Lock()
        self.holding = [0] * HOLDING_REGISTER_COUNT
        self.position = 0.0  # gPO, position units (float while moving)
        self.object_width = config.object_width
        self._activation_started: float | None = None
        self._activated = False
        self._fault = GFLT_NONE
        self._motion_start_time = 0.0
        self._motion_start_position = 0.0
        self._stopped_on_object = False

    # --- command registers
    @property
    def r_act(self) -> int:
        return (self.holding[0] >> 8) & 0x01

    @property
    def r_gto(self) -> int:
        return (self.holding[0] >> 11) & 0x01

    @property
    def r_pr(self) -> int:
        return self.holding[1] & 0xFF

    @property
    def r_sp(self) -> int:
        return (self.holding[2] >> 8) & 0xFF

    @property
    def r_fr(self) -> int:
        return self.holding[2] & 0xFF

    def opening_to_position(self, opening: float) -> float:
        return POSITION_UNITS * (1.0 - opening / self.config.stroke)

    def speed_units_per_s(self) -> float:
        c = self.config
        speed = c.min_speed + (c.max_speed - c.min_speed) * self.r_sp / 255.0
        return speed / c.stroke * POSITION_UNITS * c.time_scale

    def write(self, address: int, values: list[int], now: float) -> None:
        """Function 16 / the write half of 23 on the holding registers."""
        self.update(now)
        before_act, before_gto, before_pr = self.r_act, self.r_gto, self.r_pr
        for offset, value in enumerate(values):
            self.holding[address - ACTION_REQUEST_REGISTER + offset] = value & 0xFFFF
        if self.r_act == 0:  # reset: deactivated, faults cleared
            self._activated = False
            self._activation_started = None
            self._fault = GFLT_NONE
        elif before_act == 0:  # rising edge: the activation routine starts
            self._activation_started = now
            self._fault = GFLT_NONE
        if self.r_gto and not self.r_act:
            self._fault = GFLT_ACTIVATION_BIT_MISSING
        elif self.r_gto and not self._activated and self._activation_started is None:
            self._fault = GFLT_ACTION_DELAYED
        if self.r_gto and (not before_gto or self.r_pr != before_pr):
            self._start_motion(now)

    def _start_motion(self, now: float) -> None:
        self._motion_start_time = now
        self._motion_start_position = self.position
        self._stopped_on_object = False

    def update(self, now: float) -> None:
        """Advance activation and finger motion to time `now` (monotonic seconds)."""
        started = self._activation_started
        if (
            started is not None
            and not self._activated
            and now - started >= self.config.activation_time
        ):
            self._activated = True
            self._start_motion(now)  # a go-to set with rACT starts once activated
        if not (self._activated and self.r_gto):
            self._motion_start_time = now
            self._motion_start_position = self.position
            return
        target = float(self.r_pr)
        start = self._motion_start_position
        travelled = self.speed_units_per_s() * (now - self._motion_start_time)
        direction = 1.0 if target > start else -1.0
        position = start + direction * min(travelled, abs(target - start))
        if self.object_width is not None and direction > 0:  # closing onto the object
            contact = self.opening_to_position(self.object_width)
            if start <= contact < position:
                position = contact
                self._stopped_on_object = True
        self.position = position

    def moving(self) -> bool:
        return (
            self._activated
            and bool(self.r_gto)
            and not self._stopped_on_object
            and abs(self.position - self.r_pr) > 1e-9
        )

    def input_registers(self, now: float) -> list[int]:
        self.update(now)
        if self._activated:
            status = GSTA_ACTIVATED
        elif self._activation_started is not None:
            status = GSTA_ACTIVATING
        else:
            status = GSTA_RESET
        if not (self._activated and self.r_gto):
            detection = GOBJ_MOVING
        elif self._stopped_on_object:
            detection = GOBJ_STOPPED_CLOSING
        elif self.moving():
            detection = GOBJ_MOVING
        else:
            detection = GOBJ_AT_REQUEST
        gripper_status = (detection << 6) | (status << 4) | (self.r_gto << 3) | self.r_act
        position = round(self.position)
        current = self.r_fr // 4 if self._stopped_on_object else 0  # x 10 mA, holding torque
        return [
            gripper_status << 8,
            (self._fault << 8) | self.r_pr,
            (position << 8) | current,
        ]


class FakeRobotiqServer:
    """The fake gripper behind Modbus RTU frames, served over TCP and/or a pty.

    Use as a context manager or call `start()` / `stop()`. `tcp_address` is (host, port) of
    the TCP endpoint (port 0 picks a free one); `serial_port` the pty's device path.
    """

    def __init__(
        self,
        config: FakeGripperConfig | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        serve_tcp: bool = True,
        serve_pty: bool = False,
    ) -> None:
        if not (serve_tcp or serve_pty):
            raise ValueError("serve at least one of TCP and a pty")
        self.config = config or FakeGripperConfig()
        self.state = FakeGripperState(self.config)
        self._host, self._port = host, port
        self._serve_tcp, self._serve_pty = serve_tcp, serve_pty
        self._listener: socket.socket | None = None
        self._connections: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()
        self._dead = threading.Event()  # the gripper stopped answering (failure injection)
        self._disconnect_when_moving = False
        self._pty_master: int | None = None
        self._pty_slave: int | None = None
        self.tcp_address: tuple[str, int] | None = None
        self.serial_port: str | None = None
        self.requests_served = 0

    # --- lifecycle
    def start(self) -> FakeRobotiqServer:
        if self._serve_tcp:
            listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind((self._host, self._port))
            listener.listen(4)
            listener.settimeout(0.1)
            self._listener = listener
            self.tcp_address = listener.getsockname()[:2]
            self._spawn(self._accept_loop, "fake-robotiq-accept")
        if self._serve_pty:
            master, slave = os.openpty()
            tty.setraw(master)
            self._pty_master, self._pty_slave = master, slave
            self.serial_port = os.ttyname(slave)
            self._spawn(self._pty_loop, "fake-robotiq-pty")
        return self

    def stop(self) -> None:
        self._stopping.set()
        self.drop_connections()
        if self._listener is not None:
            self._listener.close()
        for thread in self._threads:
            thread.join(2.0)
        for fd in (self._pty_master, self._pty_slave):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._pty_master = self._pty_slave = None

    def __enter__(self) -> FakeRobotiqServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def tcp_url(self) -> str:
        """tcp://host:port of the TCP endpoint (the executor's gripper_port syntax)."""
        if self.tcp_address is None:
            raise RuntimeError("the server does not serve TCP (or is not started)")
        return f"tcp://{self.tcp_address[0]}:{self.tcp_address[1]}"

    # --- failure injection
    def disconnect_during_next_motion(self) -> None:
        """At the next request received while the fingers move, drop every connection and
        stop answering (new connections are closed at once)."""
        with self.state.lock:
            self._disconnect_when_moving = True

    def drop_connections(self) -> None:
        for connection in list(self._connections):
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                connection.close()
        self._connections.clear()

    @property
    def dead(self) -> bool:
        return self._dead.is_set()

    # --- Modbus RTU
    def handle_frame(self, frame: bytes) -> bytes | None:
        """The RTU response to one complete request frame (CRC included), or None when the
        gripper does not answer (another slave id, a bad CRC, or it is dead)."""
        if len(frame) < 4 or modbus_crc(frame[:-2]) != frame[-2:]:
            LOGGER.warning("fake gripper: dropped a frame with a bad CRC: %s", frame.hex())
            return None
        if frame[0] != self.config.device_id or self._dead.is_set():
            return None
        function = frame[1]
        now = time.monotonic()
        with self.state.lock:
            self.state.update(now)
            if self._disconnect_when_moving and self.state.moving():
                self._dead.set()
                return None
            try:
                payload = self._execute(function, frame[2:-2], now)
            except _ModbusExceptionError as error:
                payload = bytes((function | 0x80, error.code))
            self.requests_served += 1
        body = bytes((frame[0],)) + payload
        return body + modbus_crc(body)

    def _execute(self, function: int, data: bytes, now: float) -> bytes:
        state = self.state
        if function in (READ_HOLDING_REGISTERS, READ_INPUT_REGISTERS):
            address, count = _u16(data, 0), _u16(data, 2)
            if function == READ_HOLDING_REGISTERS:
                values = _slice(state.holding, address - ACTION_REQUEST_REGISTER, count)
            else:
                values = _slice(state.input_registers(now), address - STATUS_REGISTER, count)
            return bytes((function, 2 * count)) + _pack(values)
        if function == WRITE_MULTIPLE_REGISTERS:
            address, count, size = _u16(data, 0), _u16(data, 2), data[4]
            values = _unpack(data[5 : 5 + size], count)
            self._check_write(address, count)
            state.write(address, values, now)
            return bytes((function,)) + data[:4]
        if function == READ_WRITE_MULTIPLE_REGISTERS:
            read_address, read_count = _u16(data, 0), _u16(data, 2)
            write_address, write_count, size = _u16(data, 4), _u16(data, 6), data[8]
            self._check_write(write_address, write_count)
            state.write(write_address, _unpack(data[9 : 9 + size], write_count), now)
            values = _slice(state.input_registers(now), read_address - STATUS_REGISTER, read_count)
            return bytes((function, 2 * read_count)) + _pack(values)
        raise _ModbusExceptionError(ILLEGAL_FUNCTION)

    @staticmethod
    def _check_write(address: int, count: int) -> None:
        offset = address - ACTION_REQUEST_REGISTER
        if count < 1 or offset < 0 or offset + count > HOLDING_REGISTER_COUNT:
            raise _ModbusExceptionError(ILLEGAL_DATA_ADDRESS)

    # --- transports
    def _spawn(self, target, name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _accept_loop(self) -> None:
        assert self._listener is not None
        while not self._stopping.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if self._dead.is_set():
                connection.close()
                continue
            self._connections.append(connection)
            self._spawn(lambda c=connection: self._serve_stream(c), "fake-robotiq-connection")

    def _serve_stream(self, connection: socket.socket) -> None:
        buffer = b""
        connection.settimeout(0.1)
        while not self._stopping.is_set():
            try:
                chunk = connection.recv(256)
            except TimeoutError:
                continue
            except OSError:
                return
            if not chunk:
                return
            buffer += chunk
            buffer = self._answer_frames(buffer, connection.sendall)
            if self._dead.is_set():
                self.drop_connections()
                return

    def _pty_loop(self) -> None:
        buffer = b""
        master = self._pty_master
        assert master is not None

        def send(data: bytes) -> None:
            os.write(master, data)

        while not self._stopping.is_set():
            try:
                ready, _, _ = select.select([master], [], [], 0.1)
                if not ready:
                    continue
                buffer += os.read(master, 256)
            except OSError:
                return
            buffer = b"" if self._dead.is_set() else self._answer_frames(buffer, send)

    def _answer_frames(self, buffer: bytes, send) -> bytes:
        """Answer every complete request at the start of `buffer`; returns the rest."""
        while True:
            length = _request_length(buffer)
            if length is None or len(buffer) < length:
                return buffer
            if length == 0:  # a function the gripper does not know: refuse it, resync
                if buffer[0] == self.config.device_id and not self._dead.is_set():
                    body = bytes((buffer[0], buffer[1] | 0x80, ILLEGAL_FUNCTION))
                    send(body + modbus_crc(body))
                return b""
            frame, buffer = buffer[:length], buffer[length:]
            response = self.handle_frame(frame)
            if response is not None:
                send(response)


class _ModbusExceptionError(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


def _request_length(buffer: bytes) -> int | None:
    """Length of the RTU request starting `buffer` (None: not known yet, 0: unknown function)."""
    if len(buffer) < 2:
        return None
    function = buffer[1]
    if function in (READ_HOLDING_REGISTERS, READ_INPUT_REGISTERS):
        return 8
    if function == WRITE_MULTIPLE_REGISTERS:
        return None if len(buffer) < 7 else 9 + buffer[6]
    if function == READ_WRITE_MULTIPLE_REGISTERS:
        return None if len(buffer) < 11 else 13 + buffer[10]
    return 0


def _u16(data: bytes, offset: int) -> int:
    return (data[offset] << 8) | data[offset + 1]


def _pack(values: list[int]) -> bytes:
    return b"".join(bytes(((value >> 8) & 0xFF, value & 0xFF)) for value in values)


def _unpack(data: bytes, count: int) -> list[int]:
    if len(data) != 2 * count:
        raise _ModbusExceptionError(ILLEGAL_DATA_VALUE)
    return [_u16(data, 2 * i) for i in range(count)]


def _slice(registers: list[int], offset: int, count: int) -> list[int]:
    if count < 1 or offset < 0 or offset + count > len(registers):
        raise _ModbusExceptionError(ILLEGAL_DATA_ADDRESS)
    return registers[offset : offset + count]


def main() -> None:
    """Serve a fake 2F-85 over TCP until interrupted: for trying the executor without one."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=54321)
    parser.add_argument("--object-width", type=float, default=None, help="m; none by default")
    args = parser.parse_args()
    config = FakeGripperConfig(object_width=args.object_width)
    with FakeRobotiqServer(config, host=args.host, port=args.port) as server:
        print(f"fake Robotiq 2F-85 at {server.tcp_url}", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()
