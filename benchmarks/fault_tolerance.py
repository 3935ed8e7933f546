"""The nodes under faults and load: a burst of concurrent requests, shutdown with requests in
flight under CPU load, and a soak of the whole simulated bench with memory per node.

Usage: .venv/bin/python benchmarks/fault_tolerance.py [limits] [burst] [shutdown] [soak]
       [--burst 200] [--runs 20] [--burners N (default: one per core)]
       [--duration-s 600] [--frame-rate-hz 30] [--request-rate-hz 5]

Every node runs in its own process (`python -m gqstn_ros.nodes.<node>`, the shipped models)
on a private ROS domain (loopback); this process is the client. Prints:

- limits: the requests that took a node down before there were limits (an 8000x8000 32FC1
  image, num_candidates 10^9 and 10^5): the answer, how long it took, and the node's resident
  memory before, at its peak (VmHWM, since the node started) and after.
- burst: N `/detect_grasp` requests sent at once, each with a 640x480 16UC1 frame (a box on a
  table), the client's queue as deep as the service's (`topics.SERVICE_QOS`), in two
  settings: fallback off, and every grasp judged not robust (q_threshold 1.0) so that
  every admitted request also asks the fallback node. Counted: answered with a grasp, refused
  "busy:", refused otherwise, lost (no answer 120 s after the last one), and the time until
  every request was answered.
- shutdown: per node, `--runs` times: start it, wait until it serves, put work in flight
  (depth_node: frames at 30 Hz; inference_node: 8 detection requests; fallback_node: 3
  requests of 5,000 candidates; sim_world_node: its camera at 30 Hz and a scene reset), with
  `--burners` busy-looping processes, send SIGINT, and measure the time to exit (from SIGINT to
  the process's end), the exit code and any traceback or ERROR/FATAL line. Then the same with
  SIGINT at a random moment of the start-up (0-3 s after spawning: interpreter start, imports,
  model loading).
- soak: the simulated bench (sim_world_node with its camera at `--frame-rate-hz`,
  depth_node, inference_node, fallback_node, as `run_graph` starts them) for `--duration-s`;
  `/detect_grasp` on the latest frame at `--request-rate-hz` (requests sent on a fixed
  schedule, not waiting for answers); answers counted as above; the memory every node
  allocated (RssAnon + VmSwap: its heap, not the shared libraries' pages that a busy machine
  evicts and reloads) sampled every 10 s: after warm-up, at the end, the largest, and the slope
  of a least-squares line over the run and over its second half.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
from ros_benchmark_support import REPO_ROOT, NodeProcess, use_private_ros_domain

from gqstn_ros.tools.cpu_load import cpu_burners

NODE_START_TIMEOUT_S = 120.0
ANSWER_TIMEOUT_S = 120.0
EXIT_TIMEOUT_S = 30.0
MEMORY_PERIOD_S = 10.0
BAD_LOG_TEXTS = ("Traceback", "[ERROR]", "[FATAL]")
READY_TEXTS = {
    "depth_node": "depth node ready",
    "inference_node": "inference node ready",
    "fallback_node": "fallback node ready",
    "sim_world_node": "simulated world ready",
}
MODELS = REPO_ROOT / "models"
STARTED_LINE = r"\[run_graph\] started (\S+) \(pid (\d+)\)"


def held_mib(pid: int) -> float:
    """Memory a process allocated, MiB: anonymous resident pages plus swapped-out ones (file
    pages such as torch's libraries come and go with the machine's page cache)."""
    return rss_mib(pid, "RssAnon") + rss_mib(pid, "VmSwap")


def rss_mib(pid: int, field: str = "VmRSS") -> float:
    """A memory figure of /proc/<pid>/status in MiB: VmRSS (resident now), VmHWM (its peak)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


class Client:
    """This process's ROS node, spun on a thread, with the clients and publishers it needs."""

    def __init__(self) -> None:
        import rclpy  # noqa: PLC0415 (after the domain is chosen)
        from rclpy.executors import SingleThreadedExecutor  # noqa: PLC0415

        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.node = rclpy.create_node(f"fault_tolerance_{os.getpid()}", context=self.context)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self.thread = threading.Thread(target=self.executor.spin, daemon=True)
        self.thread.start()

    def client(self, service_type: type, name: str) -> Any:
        from gqstn_ros.nodes.topics import SERVICE_QOS  # noqa: PLC0415

        client = self.node.create_client(service_type, name, qos_profile=SERVICE_QOS)
        if not client.wait_for_service(timeout_sec=NODE_START_TIMEOUT_S):
            raise RuntimeError(f"{name} never appeared")
        return client

    def close(self) -> None:
        import rclpy  # noqa: PLC0415

        self.executor.shutdown()
        self.node.destroy_node()
        rclpy.try_shutdown(context=self.context)


def wait_all(futures: list, timeout_s: float) -> float:
    """Seconds until every future is done (or the timeout, after the last answer, passes)."""
    started = time.monotonic()
    last_progress, done = started, 0
    while done < len(futures):
        now_done = sum(future.done() for future in futures)
        if now_done > done:
            done, last_progress = now_done, time.monotonic()
        elif time.monotonic() - last_progress > timeout_s:
            break
        time.sleep(0.01)
    return time.monotonic() - started


def count_answers(futures: list) -> dict[str, int]:
    from gqstn_ros.nodes.request_flow import BUSY_PREFIX  # noqa: PLC0415

    counts = {"grasp": 0, "busy": 0, "refused": 0, "lost": 0}
    for future in futures:
        if not future.done():
            counts["lost"] += 1
        elif future.result().success:
            counts["grasp"] += 1
        elif future.result().message.startswith(BUSY_PREFIX):
            counts["busy"] += 1
        else:
            counts["refused"] += 1
    return counts


def detect_request(seed: int, **fields: Any) -> Any:
    """A request with a 640x480 16UC1 Kinect frame: a table 0.7 m away, a box on it (from
    `seed`), 1 % holes."""
    from gqstn_msgs.srv import DetectGrasp  # noqa: PLC0415
    from std_msgs.msg import Header  # noqa: PLC0415

    from gqstn_ros.camera_model import KINECT_V1  # noqa: PLC0415
    from gqstn_ros.depth_image import intrinsics_to_camera_info, metres_to_image  # noqa: PLC0415

    rng = np.random.default_rng(seed)
    depth = np.full((480, 640), 0.7) + rng.normal(0.0, 0.001, (480, 640))
    top, left = rng.integers(100, 300), rng.integers(100, 450)
    depth[top : top + 60, left : left + 90] = 0.62
    depth[rng.random(depth.shape) < 0.01] = 0.0
    header = Header(frame_id="camera_depth_optical_frame")
    return DetectGrasp.Request(
        depth=metres_to_image(depth, "16UC1", header),
        camera_info=intrinsics_to_camera_info(KINECT_V1, header),
        **fields,
    )


def started(module: str, *arguments: str) -> NodeProcess:
    node = NodeProcess(module, list(arguments))
    node.wait_for_log(READY_TEXTS[module], NODE_START_TIMEOUT_S)
    return node


def burst(count: int) -> None:
    from gqstn_msgs.srv import DetectGrasp  # noqa: PLC0415

    print(f"\n== burst: {count} concurrent /detect_grasp requests with a 640x480 frame ==")
    print(
        "| setting | answered with a grasp | refused busy | refused otherwise | lost | "
        "all answered after |"
    )
    print("| --- | --- | --- | --- | --- | --- |")
    settings = {
        "fallback off": (["-p", "allow_fallback:=false"], False),
        "every request asks the fallback": (["-p", "q_threshold:=1.0"], True),
    }
    for name, (inference_arguments, with_fallback) in settings.items():
        nodes = []
        client = Client()
        try:
            if with_fallback:
                nodes.append(started("fallback_node", "-p", f"models_dir:={MODELS}"))
            nodes.append(
                started(
                    "inference_node",
                    "-p",
                    f"models_dir:={MODELS}",
                    "-p",
                    "planners:=['gqstn']",
                    *inference_arguments,
                )
            )
            detect = client.client(DetectGrasp, "/detect_grasp")
            request = detect_request(1)
            warm = detect.call_async(request)
            wait_all([warm], ANSWER_TIMEOUT_S)
            futures = [detect.call_async(request) for _ in range(count)]
            elapsed_s = wait_all(futures, ANSWER_TIMEOUT_S)
            counts = count_answers(futures)
            print(
                f"| {name} | {counts['grasp']} | {counts['busy']} | {counts['refused']} | "
                f"{counts['lost']} | {elapsed_s:.1f} s |",
                flush=True,
            )
        finally:
            client.close()
            for node in nodes:
                node.stop()


def limits() -> None:
    """The requests that took a node down or held it for minutes, now refused at once."""
    from gqstn_msgs.srv import DetectGrasp, PlanGrasp  # noqa: PLC0415

    from gqstn_ros.depth_image import metres_to_image  # noqa: PLC0415

    print("\n== limits: the oversized requests of the issue ==")
    print("| request | answer | answered after | node RSS before / peak / after MiB |")
    print("| --- | --- | --- | --- |")
    client = Client()
    inference = started("inference_node", "-p", f"models_dir:={MODELS}")
    fallback = started("fallback_node", "-p", f"models_dir:={MODELS}")
    try:
        detect = client.client(DetectGrasp, "/detect_grasp")
        plan = client.client(PlanGrasp, "/plan_grasp")
        good = detect_request(5)
        huge = DetectGrasp.Request(
            depth=metres_to_image(np.full((8000, 8000), 0.7, dtype=np.float32), "32FC1"),
            camera_info=good.camera_info,
        )
        cases = [
            ("/detect_grasp 8000x8000 32FC1", detect, huge, inference),
            (
                "/plan_grasp num_candidates 10^9",
                plan,
                PlanGrasp.Request(
                    depth=good.depth, camera_info=good.camera_info, num_candidates=10**9
                ),
                fallback,
            ),
            (
                "/plan_grasp num_candidates 10^5",
                plan,
                PlanGrasp.Request(
                    depth=good.depth, camera_info=good.camera_info, num_candidates=10**5
                ),
                fallback,
            ),
        ]
        for name, service, request, node in cases:
            before = rss_mib(node.pid)
            sent_s = time.monotonic()
            future = service.call_async(request)
            wait_all([future], ANSWER_TIMEOUT_S)
            elapsed_s = time.monotonic() - sent_s
            answer = future.result().message[:80] if future.done() else "no answer"
            time.sleep(1.0)
            print(
                f"| {name} | {answer} | {elapsed_s:.2f} s | {before:.0f} / "
                f"{rss_mib(node.pid, 'VmHWM'):.0f} / {rss_mib(node.pid):.0f} |",
                flush=True,
            )
    finally:
        client.close()
        inference.stop()
        fallback.stop()


def exit_record(node: NodeProcess, signalled_s: float) -> tuple[int | None, float, bool]:
    """(exit code or None when it had to be killed, seconds from SIGINT, clean log)."""
    try:
        code: int | None = node.process.wait(EXIT_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        node.process.kill()
        node.process.wait()
        code = None
    elapsed_s = time.monotonic() - signalled_s
    node.reader.join(5.0)
    clean = not any(text in node.output() for text in BAD_LOG_TEXTS)
    return code, elapsed_s, clean


def put_work_in_flight(module: str, client: Client, stop: threading.Event) -> list:
    """Start the module's work; returns the request futures (answered or not at SIGINT)."""
    from gqstn_msgs.srv import PlanGrasp  # noqa: PLC0415
    from rclpy.qos import QoSProfile, ReliabilityPolicy  # noqa: PLC0415
    from sensor_msgs.msg import CameraInfo, Image  # noqa: PLC0415
    from std_srvs.srv import Trigger  # noqa: PLC0415

    if module == "depth_node":
        qos = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE)
        images = client.node.create_publisher(Image, "/camera/depth/image_raw", qos)
        infos = client.node.create_publisher(CameraInfo, "/camera/depth/camera_info", qos)
        request = detect_request(2)

        def publish() -> None:
            while not stop.is_set():
                infos.publish(request.camera_info)
                images.publish(request.depth)
                time.sleep(1 / 30)

        threading.Thread(target=publish, daemon=True).start()
        time.sleep(1.0)
        return []
    if module == "inference_node":
        from gqstn_msgs.srv import DetectGrasp  # noqa: PLC0415

        detect = client.client(DetectGrasp, "/detect_grasp")
        futures = [detect.call_async(detect_request(3 + i)) for i in range(8)]
    elif module == "fallback_node":
        plan = client.client(PlanGrasp, "/plan_grasp")
        request = detect_request(4)
        futures = [
            plan.call_async(
                PlanGrasp.Request(
                    depth=request.depth, camera_info=request.camera_info, num_candidates=5000
                )
            )
            for _ in range(3)
        ]
    else:
        reset = client.client(Trigger, "/sim/reset_scene")
        futures = [reset.call_async(Trigger.Request())]
    time.sleep(0.5)
    return futures


def node_arguments(module: str) -> list[str]:
    if module in ("inference_node", "fallback_node"):
        return ["-p", f"models_dir:={MODELS}"]
    if module == "sim_world_node":
        return ["-p", "run_executor:=false"]
    return []


def shutdown(runs: int, burner_count: int) -> None:
    modules = ("depth_node", "inference_node", "fallback_node", "sim_world_node")
    print(
        f"\n== shutdown: SIGINT with work in flight, {burner_count} CPU burner(s), "
        f"{runs} runs per node =="
    )
    print("| node | exit 0 | clean log | median s | max s | in-flight requests answered |")
    print("| --- | --- | --- | --- | --- | --- |")
    with cpu_burners(burner_count):
        for module in modules:
            codes, times, cleans, answered, in_flight = [], [], [], 0, 0
            for _ in range(runs):
                client = Client()
                stop = threading.Event()
                node = started(module, *node_arguments(module))
                try:
                    futures = put_work_in_flight(module, client, stop)
                    pending = [future for future in futures if not future.done()]
                    signalled_s = time.monotonic()
                    node.process.send_signal(signal.SIGINT)
                    code, elapsed_s, clean = exit_record(node, signalled_s)
                    wait_all(pending, 5.0)
                    in_flight += len(pending)
                    answered += sum(future.done() for future in pending)
                finally:
                    stop.set()
                    client.close()
                codes.append(code)
                times.append(elapsed_s)
                cleans.append(clean)
                if code != 0 or not clean:
                    print(f"   {module}: code {code}, log:\n{node.output()[-2000:]}", flush=True)
            print(
                f"| {module} | {codes.count(0)}/{runs} | {sum(cleans)}/{runs} | "
                f"{np.median(times):.2f} | {max(times):.2f} | {answered}/{in_flight} |",
                flush=True,
            )
    startup(runs, burner_count)


def startup(runs: int, burner_count: int) -> None:
    modules = ("depth_node", "inference_node", "fallback_node", "sim_world_node")
    print(
        f"\n== shutdown: SIGINT 0-3 s after spawning, {burner_count} CPU burner(s), {runs} runs "
        "per node =="
    )
    print("| node | exit 0 | clean log | median s | max s | other exits |")
    print("| --- | --- | --- | --- | --- | --- |")
    rng = random.Random(0)
    with cpu_burners(burner_count):
        for module in modules:
            codes, times, cleans = [], [], []
            for _ in range(runs):
                node = NodeProcess(module, node_arguments(module))
                time.sleep(rng.uniform(0.0, 3.0))
                signalled_s = time.monotonic()
                node.process.send_signal(signal.SIGINT)
                code, elapsed_s, clean = exit_record(node, signalled_s)
                codes.append(code)
                times.append(elapsed_s)
                cleans.append(clean)
                if code != 0 or not clean:
                    print(f"   {module}: code {code}, log:\n{node.output()[-3000:]}", flush=True)
            others = sorted({str(code) for code in codes if code != 0})
            print(
                f"| {module} | {codes.count(0)}/{runs} | {sum(cleans)}/{runs} | "
                f"{np.median(times):.2f} | {max(times):.2f} | {', '.join(others) or '-'} |",
                flush=True,
            )


class Graph:
    """`python -m gqstn_ros.tools.run_graph` with its output collected and node pids parsed."""

    def __init__(self, *arguments: str) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            [str(REPO_ROOT / "src"), *filter(None, [env.get("PYTHONPATH")])]
        )
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gqstn_ros.tools.run_graph", *arguments],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._collect, daemon=True)
        self.reader.start()

    def _collect(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)

    def output(self) -> str:
        return "".join(self.lines)

    def pids(self) -> dict[str, int]:
        return {
            label: int(pid)
            for label, pid in re.findall(
                r"\[run_graph\] started (\S+) \(pid (\d+)\)", self.output()
            )
        }

    def wait_for(self, text: str, count: int = 1) -> None:
        deadline = time.monotonic() + NODE_START_TIMEOUT_S
        while self.output().count(text) < count:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the graph never logged {text!r}:\n{self.output()[-4000:]}")
            time.sleep(0.1)

    def stop(self) -> int:
        self.process.send_signal(signal.SIGINT)
        code = self.process.wait(60.0)
        self.reader.join(5.0)
        return code


def slope(times: np.ndarray, values: np.ndarray) -> float:
    """Least-squares slope of values over times (nan with fewer than 3 samples)."""
    return float(np.polyfit(times, values, 1)[0]) if len(times) > 2 else float("nan")


def soak(duration_s: float, frame_rate_hz: float, request_rate_hz: float) -> None:
    from gqstn_msgs.srv import DetectGrasp  # noqa: PLC0415

    print(
        f"\n== soak: the simulated bench for {duration_s:g} s, camera at {frame_rate_hz:g} Hz, "
        f"/detect_grasp at {request_rate_hz:g} Hz =="
    )
    override = Path(f"/tmp/fault_tolerance_{os.getpid()}.yaml")
    override.write_text(
        "sim_world:\n  ros__parameters:\n"
        f"    publish_rate_hz: {float(frame_rate_hz)}\n    run_executor: false\n"
    )
    graph = Graph("use_sim:=true", f"params_file:={override}")
    client = Client()
    futures: list = []
    memory: dict[str, list[tuple[float, float]]] = {}
    try:
        for text in READY_TEXTS.values():
            graph.wait_for(text)
        pids = graph.pids()
        detect = client.client(DetectGrasp, "/detect_grasp")
        warm_until = time.monotonic() + 30.0
        while time.monotonic() < warm_until:  # frames flowing, every planner warmed up
            future = detect.call_async(DetectGrasp.Request())
            wait_all([future], ANSWER_TIMEOUT_S)
            if future.done() and future.result().success:
                break
            time.sleep(0.2)
        start = time.monotonic()
        next_request = next_sample = start
        while time.monotonic() - start < duration_s:
            now = time.monotonic()
            if now >= next_sample:
                for label, pid in pids.items():
                    memory.setdefault(label, []).append((now - start, held_mib(pid)))
                next_sample += MEMORY_PERIOD_S
            if now >= next_request:
                futures.append(detect.call_async(DetectGrasp.Request()))
                next_request += 1.0 / request_rate_hz
            time.sleep(max(0.0, min(next_request, next_sample) - time.monotonic()))
        for label, pid in pids.items():
            memory[label].append((time.monotonic() - start, held_mib(pid)))
        wait_all(futures, ANSWER_TIMEOUT_S)
    finally:
        client.close()
        code = graph.stop()
        override.unlink(missing_ok=True)
    counts = count_answers(futures)
    print(
        f"requests {len(futures)}: answered with a grasp {counts['grasp']}, refused busy "
        f"{counts['busy']}, refused otherwise {counts['refused']}, lost {counts['lost']}"
    )
    refusals = {f.result().message[:90] for f in futures if f.done() and not f.result().success}
    for message in sorted(refusals)[:5]:
        print(f"   refusal: {message}")
    print(
        "| node | allocated after warm-up MiB | at the end MiB | largest MiB | slope MiB/min | "
        "slope over the second half MiB/min |"
    )
    print("| --- | --- | --- | --- | --- | --- |")
    for label, samples in memory.items():
        times = np.array([t for t, _ in samples]) / 60.0
        values = np.array([v for _, v in samples])
        half = times >= times[-1] / 2
        print(
            f"| {label} | {values[0]:.0f} | {values[-1]:.0f} | {values.max():.0f} | "
            f"{slope(times, values):+.2f} | {slope(times[half], values[half]):+.2f} |"
        )
    print(f"run_graph exit status after SIGINT: {code}")
    bad = [line for line in graph.output().splitlines() if any(t in line for t in BAD_LOG_TEXTS)]
    print(f"traceback/ERROR/FATAL lines in the graph's log: {len(bad)}")
    for line in bad[:10]:
        print(f"   {line}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "parts",
        nargs="*",
        choices=("limits", "burst", "shutdown", "startup", "soak"),
        default=["limits", "burst", "shutdown"],
    )
    parser.add_argument("--burst", type=int, default=200, help="concurrent requests")
    parser.add_argument("--runs", type=int, default=20, help="shutdowns per node")
    parser.add_argument("--burners", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--duration-s", type=float, default=600.0, help="soak duration")
    parser.add_argument("--frame-rate-hz", type=float, default=30.0)
    parser.add_argument("--request-rate-hz", type=float, default=5.0)
    args = parser.parse_args()
    if args.burst < 1 or args.runs < 1 or args.burners < 0 or args.duration_s <= 0:
        parser.error("--burst and --runs must be >= 1, --burners >= 0, --duration-s > 0")
    if not 0 < args.request_rate_hz <= 100 or not 0.5 <= args.frame_rate_hz <= 60:
        parser.error("--request-rate-hz must be in (0, 100], --frame-rate-hz in [0.5, 60]")
    use_private_ros_domain()
    os.environ.setdefault("MUJOCO_GL", "osmesa")
    if "limits" in args.parts:
        limits()
    if "burst" in args.parts:
        burst(args.burst)
    if "shutdown" in args.parts:
        shutdown(args.runs, args.burners)
    elif "startup" in args.parts:
        startup(args.runs, args.burners)
    if "soak" in args.parts:
        soak(args.duration_s, args.frame_rate_hz, args.request_rate_hz)


if __name__ == "__main__":
    main()
