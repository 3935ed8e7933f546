"""CPU burnt by the executor itself: rclpy 9's MultiThreadedExecutor against ours.

Usage: .venv/bin/python benchmarks/executor_cpu.py [--seconds 6]

Three workloads, each spun by `executor.spin()` on a thread of this process, first with
rclpy's `MultiThreadedExecutor` (the baseline) then with `QuietMultiThreadedExecutor`
(`gqstn_ros.nodes.executors`), 2 worker threads each, as our nodes spin:
- sleeping callbacks: three timers at 50 Hz whose callbacks sleep 40 ms (a node waiting on
  I/O or a device), so callbacks queue for the workers;
- computing callbacks: a sensor-QoS subscription fed at 30 Hz by a publisher process, whose
  callback computes for 8 ms of CPU holding the GIL
  (a camera frame processed in Python): about 0.24 CPU seconds per second;
- awaiting coroutine: a service-like coroutine that awaits a future completed by another
  thread after 200 ms, over and over (the inference node awaiting `/plan_grasp`).
Prints the process CPU time per wall second (1.0 = one core; beyond the callbacks' own CPU it
is what the executor spends) for both, their ratio and the callbacks completed.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import threading
import time

import rclpy
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.executors import MultiThreadedExecutor
from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data
from rclpy.task import Future
from ros_benchmark_support import use_private_ros_domain
from std_msgs.msg import Header

from gqstn_ros.nodes.executors import QuietMultiThreadedExecutor

FRAMES_TOPIC = "executor_cpu_frames"
PUBLISHER_START_TIMEOUT_S = 30.0
COMPUTE_S = 0.008  # CPU time of one computing callback (a depth frame's inpainting)


def sleeping_callbacks(node: Node) -> list[int]:
    done = [0]

    def sleeps() -> None:
        time.sleep(0.04)
        done[0] += 1

    group = ReentrantCallbackGroup()
    for _ in range(3):
        node.create_timer(0.02, sleeps, callback_group=group)
    return done


def computing_callbacks(node: Node) -> list[int]:
    """A sensor-QoS subscription fed at 30 Hz by a publisher process (a camera driver)."""
    done = [0]

    def computes(_message: Header) -> None:
        end = time.perf_counter() + COMPUTE_S
        while time.perf_counter() < end:
            pass
        done[0] += 1

    node.create_subscription(Header, FRAMES_TOPIC, computes, qos_profile_sensor_data)
    return done


def publish_frames(seconds: float) -> None:
    """The publisher process: Header messages at 30 Hz on FRAMES_TOPIC for `seconds`."""
    rclpy.init()
    node = rclpy.create_node("executor_cpu_frames")
    publisher = node.create_publisher(Header, FRAMES_TOPIC, qos_profile_sensor_data)
    time.sleep(2.0)  # discovery
    start = time.monotonic()
    sent = 0
    try:
        while time.monotonic() - start < seconds:
            publisher.publish(Header(frame_id=str(sent)))
            sent += 1
            time.sleep(max(0.0, start + sent / 30 - time.monotonic()))
    except KeyboardInterrupt:
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()


def awaiting_coroutine(node: Node) -> list[int]:
    done = [0]
    busy = threading.Lock()

    async def waits() -> None:
        if not busy.acquire(blocking=False):
            return
        try:
            answer: Future = Future()
            threading.Timer(0.2, answer.set_result, args=(True,)).start()
            await answer
            done[0] += 1
        finally:
            busy.release()

    node.create_timer(0.05, waits, callback_group=ReentrantCallbackGroup())
    return done


def measure(executor_class, workload, seconds: float) -> tuple[float, int]:
    """(process CPU seconds per wall second, callbacks completed) while spinning: `seconds`
    for the timer workloads; for the subscription, from before the publisher process starts
    until it has published for `seconds` and exited (as a camera driver coming up)."""
    context = rclpy.Context()
    rclpy.init(context=context)
    executor = executor_class(num_threads=2, context=context)
    node = Node("executor_cpu_benchmark", context=context)
    done = workload(node)
    executor.add_node(node)
    spinner = threading.Thread(target=executor.spin, daemon=True)
    cpu_start, wall_start = time.process_time(), time.monotonic()
    spinner.start()
    if workload is computing_callbacks:
        publisher = subprocess.Popen([sys.executable, __file__, "--publish", str(seconds)])
        publisher.wait(timeout=seconds + PUBLISHER_START_TIMEOUT_S)
    else:
        time.sleep(seconds)
    cpu = time.process_time() - cpu_start
    wall = time.monotonic() - wall_start
    executor.shutdown()
    spinner.join(timeout=5.0)
    node.destroy_node()
    rclpy.try_shutdown(context=context)
    return cpu / wall, done[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--publish", type=float, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    use_private_ros_domain()
    if args.publish is not None:
        publish_frames(args.publish)
        return
    print(f"process CPU seconds per wall second while spinning ({args.seconds:.0f} s each)")
    print(f"{'workload':<20} {'rclpy MT':>9} {'quiet MT':>9} {'ratio':>7}   callbacks done")
    workloads = (
        ("sleeping callbacks", sleeping_callbacks),
        ("computing callbacks", computing_callbacks),
        ("awaiting coroutine", awaiting_coroutine),
    )
    for name, workload in workloads:
        upstream, upstream_done = measure(MultiThreadedExecutor, workload, args.seconds)
        quiet, quiet_done = measure(QuietMultiThreadedExecutor, workload, args.seconds)
        ratio = upstream / quiet if quiet > 0 else float("inf")
        print(
            f"{name:<20} {upstream:>9.3f} {quiet:>9.3f} {ratio:>6.1f}x   "
            f"rclpy {upstream_done}, quiet {quiet_done}"
        )


if __name__ == "__main__":
    main()
