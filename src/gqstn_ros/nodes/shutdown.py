"""How a node process stops: SIGINT or SIGTERM at any moment ends it with exit code 0, within
about a second, without a traceback or an error line.

- While the interpreter itself starts (before any of the package's code): a signal would end
  it with a traceback from Python's own imports. A parent that starts the node inside
  `stop_signals_held()` (run_graph, the benchmarks) makes the process start with SIGINT and
  SIGTERM blocked, so that such a signal waits until `exit_quietly_while_starting` unblocks
  them.
- While the process still imports (before `main`): `exit_quietly_while_starting`, installed by
  `gqstn_ros.nodes` in processes started as one of our nodes, ends it at once: nothing has
  been created that needs cleaning up.
- While `run_node_process` builds the nodes (models load for seconds): the signal raises
  KeyboardInterrupt in the main thread; whatever was built is destroyed.
- While spinning: the signal only sets a flag. The main thread leaves the spin loop within
  SPIN_PERIOD_S and calls every node's `begin_shutdown()` where it has one (answer the
  requests in flight, stop its own threads and motions), spins at most ANSWER_GRACE_S more
  while a node's `shutdown_pending()` says answers are still to be sent (and FLUSH_S after,
  for requests still queued and for the last answers to leave), then destroys the
  nodes and shuts the context down (TEARDOWN_DEADLINE_S at most after the nodes began to stop:
  a DDS teardown that waits on a peer is not waited for), and ends the process with
  `os._exit`: a worker thread still inside a planner (a Prop+GQ-CNN call takes seconds) is
  not waited for, and the interpreter's finalisation never runs beside torch's and DDS's
  threads.

rclpy's own signal handler is not used: it shuts the context down at once, under callbacks
that are still running (a publish then fails with "publisher's context is invalid").
"""

from __future__ import annotations

import contextlib
import ctypes
import faulthandler
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:
    from rclpy.executors import Executor
    from rclpy.node import Node

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
SPIN_PERIOD_S = 0.05  # the spin loop looks at the stop flag this often (seconds)
ANSWER_GRACE_S = 0.5  # how long answers to requests in flight may take to go out (seconds)
FLUSH_S = 0.1  # spinning on once every answer is sent, for requests still queued (seconds)
# Once every node's begin_shutdown has returned, the rest of the stop may take this long before
# the process ends without waiting (seconds). It covers every bounded wait of a clean stop: the
# answers (ANSWER_GRACE_S + FLUSH_S), then in the simulated bench's process the executor's halt
# of the arm (executor_node.HALT_TIMEOUT_S, 1 s) and the camera thread's end
# (sim_world_node.CAMERA_STOP_TIMEOUT_S, 1 s), with room for destroying the DDS entities; only a
# teardown that waits on something unbounded (a DDS peer) reaches it.
TEARDOWN_DEADLINE_S = 3.0
TEARDOWN_LAST_RESORT_S = 0.5
NODE_PACKAGE = "gqstn_ros.nodes"
# Console scripts of the node processes (setup.py entry points).
NODE_EXECUTABLES = (
    "depth_node",
    "inference_node",
    "fallback_node",
    "executor_node",
    "sim_world_node",
)


def started_as_node_process(orig_argv: list[str], argv0: str) -> bool:
    """Whether this process runs one of our nodes: `python -m gqstn_ros.nodes.<node>` or a
    node's console script (ros2 run, ros2 launch)."""
    if "-m" in orig_argv:
        index = orig_argv.index("-m")
        if index + 1 < len(orig_argv) and orig_argv[index + 1].startswith(f"{NODE_PACKAGE}."):
            return True
    return Path(argv0).name in NODE_EXECUTABLES


def _flush_standard_streams() -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # closed or broken: nothing to write to
            stream.flush()


def end_process(code: int) -> NoReturn:
    """Flush stdout and stderr and end the process now with `code` (see the module docstring)."""
    _flush_standard_streams()
    os._exit(code)


def _exit_now(_signum: int, _frame: FrameType | None) -> None:
    end_process(0)


def exit_quietly_while_starting() -> None:
    """SIGINT or SIGTERM end the process at once, with code 0, until `run_node_process`
    installs its own handling. Leaves a handler the program installed itself alone; takes
    over a signal the process inherited as ignored (a background job of a non-interactive
    shell ignores SIGINT), since
    `run_node_process` handles both signals whatever the node inherited. Unblocks the two
    signals (see `stop_signals_held`): one sent while the interpreter started is handled now."""
    defaults = {signal.SIGINT: signal.default_int_handler, signal.SIGTERM: signal.SIG_DFL}
    for signum, default in defaults.items():
        if signal.getsignal(signum) in (default, signal.SIG_IGN):
            signal.signal(signum, _exit_now)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)


@contextlib.contextmanager
def stop_signals_held() -> Iterator[None]:
    """SIGINT and SIGTERM blocked in the calling thread meanwhile: a node process started
    inside (subprocess.Popen) inherits the block, so that a stop signal sent while its
    interpreter starts is held until the node's own handling is in place (a node process
    unblocks them in `exit_quietly_while_starting`; start only node processes inside)."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


PR_SET_PDEATHSIG = 1  # prctl(2) option (Linux)


def stopped_with_parent() -> Callable[[], None] | None:
    """A `preexec_fn` for subprocess.Popen (None where prctl(2) is missing, off Linux): the
    child gets SIGTERM, its usual stop, when the thread that started it ends, a parent killed
    with SIGKILL included, and at once when that parent has already gone by the time the
    child runs this. Start children from a thread that outlives them (the main thread).

    A node left running by a killed benchmark or test would otherwise answer the next run's
    requests on the same ROS domain."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        prctl = libc.prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()

    def stop_with_parent() -> None:  # runs in the child, between fork and exec: takes no lock
        prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent:
            os.kill(os.getpid(), signal.SIGTERM)  # held (blocked) in a node until it can stop

    return stop_with_parent


class StopRequest:
    """The stop flag of a node process, set by SIGINT or SIGTERM.

    Before `spinning` is set, the first signal also raises KeyboardInterrupt (to abandon the
    start-up); later signals only set the flag.
    """

    def __init__(self) -> None:
        self.event = threading.Event()
        self.spinning = False

    def install(self) -> None:
        from rclpy.signals import uninstall_signal_handlers  # noqa: PLC0415

        uninstall_signal_handlers()  # rclpy.init installed its own
        for signum in STOP_SIGNALS:
            signal.signal(signum, self._on_signal)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)

    def _on_signal(self, _signum: int, _frame: FrameType | None) -> None:
        first = not self.event.is_set()
        self.event.set()
        if first and not self.spinning:
            raise KeyboardInterrupt

    @property
    def requested(self) -> bool:
        return self.event.is_set()


def _quietly(action: Callable[[], object]) -> None:
    """Run one clean-up step; a failure there must not stop the others or print a traceback."""
    with contextlib.suppress(Exception):  # the process is ending: nothing to report to
        action()


def _shutdown_executor(executor: Executor) -> None:
    """Stop the executor without waiting for its worker threads."""
    from rclpy.executors import MultiThreadedExecutor  # noqa: PLC0415

    if isinstance(executor, MultiThreadedExecutor):
        executor.shutdown(timeout_sec=0, wait_for_threads=False)
    else:
        executor.shutdown(timeout_sec=0)


def _spin_out_answers(
    executor: Executor, nodes: list[Node], context_ok: Callable[[], bool]
) -> None:
    """Spin while a node's `shutdown_pending()` says answers are to be sent, and FLUSH_S more
    once none is (requests still queued are taken and answered "shutting down", the last
    answers leave the process), ANSWER_GRACE_S at most."""
    deadline = time.monotonic() + ANSWER_GRACE_S
    quiet_since: float | None = None
    while context_ok() and time.monotonic() < deadline:
        try:
            executor.spin_once(timeout_sec=0.01)
        except Exception:  # a callback failing while the node stops
            return
        if any(bool(getattr(node, "shutdown_pending", bool)()) for node in nodes):
            quiet_since = None
        elif quiet_since is None:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since >= FLUSH_S:
            return


def _end_when_teardown_overruns(process_name: str, code: int) -> None:
    """From now on, end the process with `code` if it has not ended TEARDOWN_DEADLINE_S later
    (a DDS entity whose destruction waits on a peer). A Python timer ends it with a warning;
    should the hang hold the interpreter's lock, faulthandler's own thread ends it with code 1
    (and no output) TEARDOWN_LAST_RESORT_S later."""

    def overran() -> None:
        with contextlib.suppress(OSError, ValueError):
            sys.stderr.write(
                f"[WARN] [{process_name}]: stopping took longer than {TEARDOWN_DEADLINE_S} s "
                "after the nodes began to stop; ending the process without waiting\n"
            )
        end_process(code)

    timer = threading.Timer(TEARDOWN_DEADLINE_S, overran)
    timer.daemon = True
    timer.start()
    with contextlib.suppress(OSError, ValueError, RuntimeError):
        sink = open(os.devnull, "w")  # noqa: SIM115 (open until the process ends)
        faulthandler.dump_traceback_later(
            TEARDOWN_DEADLINE_S + TEARDOWN_LAST_RESORT_S, exit=True, file=sink
        )


def _stop_nodes(
    executor: Executor | None,
    nodes: list[Node],
    context_ok: Callable[[], bool],
    on_work_stopped: Callable[[], None] = lambda: None,
) -> None:
    """begin_shutdown, the grace spin for answers in flight, executor shutdown, destroy;
    `on_work_stopped` once every begin_shutdown has returned (each node has begun to stop its
    work: the executor's arm is told to stop, its halt is awaited in destroy_node)."""
    for node in nodes:
        begin = getattr(node, "begin_shutdown", None)
        if begin is not None:
            _quietly(begin)
    on_work_stopped()
    if executor is not None and any(hasattr(node, "shutdown_pending") for node in nodes):
        _spin_out_answers(executor, nodes, context_ok)
    if executor is not None:
        _quietly(lambda: _shutdown_executor(executor))
    for node in reversed(nodes):
        _quietly(node.destroy_node)


def run_node_process(
    build: Callable[[list[Node]], None],
    process_name: str,
    make_executor: Callable[[], Executor],
    invalid_configuration: type[Exception],
) -> NoReturn:
    """Build the process's nodes, spin them until SIGINT or SIGTERM, stop, end the process.

    `build(nodes)` appends each node it creates to `nodes` (so that a failure halfway destroys
    the ones already built). `invalid_configuration` (ParameterValueError) raised while
    building is logged as fatal and ends the process with code 2. rclpy must be initialised.
    Exit codes: 0 after a signal, 2 for an invalid configuration, 1 when a callback raised.
    """
    import rclpy  # noqa: PLC0415
    from rclpy.executors import ExternalShutdownException  # noqa: PLC0415

    stop = StopRequest()
    stop.install()
    nodes: list[Node] = []
    executor: Executor | None = None
    code = 0

    def context_ok() -> bool:
        return rclpy.ok()

    try:
        executor = make_executor()
        build(nodes)
        for node in nodes:
            executor.add_node(node)
        stop.spinning = True
        if stop.requested:  # the signal came while the last node was being added
            raise KeyboardInterrupt
        while not stop.requested and context_ok():
            executor.spin_once(timeout_sec=SPIN_PERIOD_S)
    except invalid_configuration as error:
        rclpy.logging.get_logger(process_name).fatal(f"invalid configuration: {error}")
        code = 2
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except Exception:
        if not (stop.requested or not context_ok()):
            import traceback  # noqa: PLC0415

            traceback.print_exc()
            code = 1
    stop.spinning = True  # a further signal only sets the flag
    _stop_nodes(
        executor,
        nodes,
        context_ok,
        on_work_stopped=lambda: _end_when_teardown_overruns(process_name, code),
    )
    _quietly(rclpy.try_shutdown)
    end_process(code)
