"""What ROS adds to a grasp detection: the `/detect_grasp` round trip to the real inference node
in its own process versus the bare detection in this process, on the same 640x480 frames.

Usage: .venv/bin/python benchmarks/detect_grasp_overhead.py [--planner gqstn]
       [--models-dir models] [--requests 100] [--warmup 10] [--threads 1] [--backend torch]
       [--fastdds-profile none]

The inference node (`python -m gqstn_ros.nodes.inference_node`) is started on a private ROS
domain (loopback only) with `--planner` loaded from `--models-dir`; this process sends requests
carrying a rendered Kinect-like depth image (MuJoCo scene, Kinect noise and holes) and its
camera_info, as 32FC1 and as 16UC1, with the fallback disabled (`disable_fallback`) and allowed
(no `/plan_grasp` server runs, so an allowed fallback costs only the node's readiness check).
Round trips and bare detections alternate, so a load change on the machine hits both alike.

The bare detection is what the node computes per request, in-process, with the planner loaded
through `planner_registry.load_planner`: `prepare_depth_frame` (decode, inpaint) on the request
message, `planner.plan`, and `planned_grasp_to_msg` for the best grasp within the gripper
stroke. The difference is ROS: request/response serialization, DDS transport and the executor
(plus the node's grasp publications). Prints median and p99 of both in milliseconds, the
overhead (difference of the medians) and the ratio; `node` is the node's own planning_time
(service callback start to the grasp message), so `round trip - node` is the transport part;
`send` is the part of it spent in this client's `call_async` (rclpy converting the request
message to C and writing it), before the request leaves the client process.
Last, requests the node refuses before any computation (an empty request; a full-size image
with an unreadable encoding) time the transport and executor alone, by payload size.

Without `--planner` the first loadable of gqstn, directgrasp, multigrasp is used. The measured
overhead does not depend on the weights: before trained models ship, a models directory holding
any checkpoint of the planner (e.g. runs/gqstn_cpu/exported_gqstn.pt copied as gqstn.pt) works.
Both processes run with the Fast DDS profile the launch file gives the nodes
(config/fastdds_large_frames.xml); `--fastdds-profile none` runs them with Fast DDS's defaults,
whose 512 KB shared-memory segment is smaller than one request frame.
"""

from __future__ import annotations

import argparse
import os
import time
from copy import deepcopy
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from ros_benchmark_support import (
    FASTDDS_PROFILE_CHOICES,
    NodeProcess,
    kinect_frames,
    use_private_ros_domain,
)

READY_TEXT = "inference node ready"
ENCODINGS = ("32FC1", "16UC1")
PLANNER_PREFERENCE = ("gqstn", "directgrasp", "multigrasp")
NODE_START_TIMEOUT_S = 60.0
REQUEST_TIMEOUT_S = 60.0


@dataclass
class Timings:
    """Milliseconds per request of one (encoding, fallback) mode."""

    round_trip: list[float] = field(default_factory=list)
    node: list[float] = field(default_factory=list)  # the node's planning_time
    send: list[float] = field(default_factory=list)  # the client's call_async
    bare: list[float] = field(default_factory=list)
    prepare: list[float] = field(default_factory=list)
    plan: list[float] = field(default_factory=list)
    used_fallback: int = 0


def judge_model(models_dir: Path) -> str:
    """The node's default judge when the models folder has it, else '' (each network's own
    head): the bare planner and the node are judged alike."""
    from gqstn_ros.planner_registry import SHIPPED_JUDGE_MODEL  # noqa: PLC0415

    return SHIPPED_JUDGE_MODEL if (models_dir / SHIPPED_JUDGE_MODEL).is_file() else ""


def choose_planner(requested: str | None, models_dir: Path, backend: str):
    """(name, planner) of `requested`, else the first loadable of PLANNER_PREFERENCE."""
    from gqstn_ros.planner_registry import (  # noqa: PLC0415
        PlannerUnavailable,
        load_planner,
        options_for,
    )

    names = (requested,) if requested else PLANNER_PREFERENCE
    reasons = []
    judge = judge_model(models_dir) or None
    for name in names:
        try:
            # The options the inference node passes by default, so both time the same work.
            options = options_for(name, replan_on_air=True, raise_to_reach=True, judge_model=judge)
            return name, load_planner(name, models_dir, backend, **options)
        except PlannerUnavailable as error:
            reasons.append(f"{name}: {error}")
    raise SystemExit(
        f"no planner can be loaded from {models_dir}:\n  "
        + "\n  ".join(reasons)
        + "\n(pass --models-dir with a checkpoint, e.g. runs/gqstn_cpu/exported_gqstn.pt "
        "copied as <dir>/gqstn.pt)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--planner", default=None, help="gqstn, directgrasp or multigrasp")
    parser.add_argument("--models-dir", type=Path, default=None, help="default: shipped models")
    parser.add_argument("--backend", default="torch", choices=("torch", "onnxruntime"))
    parser.add_argument("--requests", type=int, default=100, help="timed requests per mode")
    parser.add_argument("--warmup", type=int, default=10, help="untimed requests per mode")
    parser.add_argument("--threads", type=int, default=1, help="torch threads, both processes")
    parser.add_argument(
        "--fastdds-profile",
        choices=FASTDDS_PROFILE_CHOICES,
        default="bundled",
        help="bundled: the nodes' Fast DDS profile (as launched); none: Fast DDS's defaults",
    )
    parser.add_argument("--frames", type=int, default=4, help="distinct rendered frames")
    parser.add_argument(
        "--breakdown",
        action="store_true",
        help="also split each round trip between the processes: the node logs its timestamps "
        "at debug level (one log line per request, inside the measured round trip)",
    )
    args = parser.parse_args()
    if args.requests < 1 or args.warmup < 0 or args.threads < 1 or args.frames < 1:
        parser.error("--requests, --threads and --frames must be >= 1, --warmup >= 0")

    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    use_private_ros_domain(args.fastdds_profile)
    import rclpy  # noqa: PLC0415 (after the domain is chosen)
    import torch  # noqa: PLC0415
    from gqstn_msgs.srv import DetectGrasp  # noqa: PLC0415
    from rclpy.executors import SingleThreadedExecutor  # noqa: PLC0415
    from std_msgs.msg import Header  # noqa: PLC0415

    from gqstn_ros.camera_model import KINECT_V1  # noqa: PLC0415
    from gqstn_ros.depth_frames import prepare_depth_frame  # noqa: PLC0415
    from gqstn_ros.depth_image import (  # noqa: PLC0415
        camera_info_to_intrinsics,
        intrinsics_to_camera_info,
        metres_to_image,
    )
    from gqstn_ros.depth_processing import InpaintConfig  # noqa: PLC0415
    from gqstn_ros.gripper import default_gripper  # noqa: PLC0415
    from gqstn_ros.nodes.grasp_messages import planned_grasp_to_msg  # noqa: PLC0415
    from gqstn_ros.nodes.inference_node import REQUEST_TIMING_TEXT  # noqa: PLC0415
    from gqstn_ros.nodes.inference_parameters import INFERENCE_NODE_PARAMETERS  # noqa: PLC0415
    from gqstn_ros.planner_registry import default_models_dir  # noqa: PLC0415
    from gqstn_ros.tools.run_graph import parameter_text  # noqa: PLC0415

    torch.set_num_threads(args.threads)
    defaults = {spec.name: spec.default for spec in INFERENCE_NODE_PARAMETERS}
    inpaint = InpaintConfig(
        scale=defaults["inpaint_scale"], max_invalid_ratio=defaults["max_invalid_ratio"]
    )
    top_k, threshold = defaults["top_k"], defaults["q_threshold"]
    models_dir = (args.models_dir or default_models_dir()).resolve()
    planner_name, planner = choose_planner(args.planner, models_dir, args.backend)

    print(f"rendering {args.frames} Kinect-like 640x480 frames ...", flush=True)
    frames_m = kinect_frames(args.frames, seed=0)
    invalid = np.mean([(frame <= 0).mean() for frame in frames_m])
    intrinsics = KINECT_V1
    requests = {}  # encoding -> list of (Image, CameraInfo)
    for encoding in ENCODINGS:
        requests[encoding] = []
        for index, frame in enumerate(frames_m):
            header = Header(frame_id="camera_depth_optical_frame")
            header.stamp.sec = index
            image = metres_to_image(frame, encoding, header)
            requests[encoding].append((image, intrinsics_to_camera_info(intrinsics, header)))

    def bare_detection(image, info) -> tuple[float, float, float]:
        """(prepare, plan, total) seconds of what the node computes for one request."""
        start = time.perf_counter()
        prepared = prepare_depth_frame(image, camera_info_to_intrinsics(info), inpaint)
        prepared_at = time.perf_counter()
        planned = planner.plan(prepared.depth_m, prepared.intrinsics, top_k)
        planned_at = time.perf_counter()
        for candidate in planned:
            grasp = planned_grasp_to_msg(
                candidate, prepared.intrinsics, image.header, threshold, planned_at - start
            )
            if default_gripper().fits_stroke(grasp.width):
                break
        done = time.perf_counter()
        return prepared_at - start, planned_at - prepared_at, done - start

    node_process = NodeProcess(
        "inference_node",
        [
            "-p",
            f"planners:=[{planner_name}]",
            "-p",
            f"default_planner:={planner_name}",
            "-p",
            f"models_dir:={models_dir}",
            "-p",
            f"backend:={args.backend}",
            "-p",
            f"judge_model:={parameter_text(judge_model(models_dir))}",
            "-p",
            "q_calibration_dir:=''",  # calibrating q costs nothing: any models folder runs
            *(["--log-level", "inference_node:=debug"] if args.breakdown else []),
        ],
        {"OMP_NUM_THREADS": str(args.threads)},
    )
    rclpy.init()
    client_node = rclpy.create_node("detect_grasp_overhead_client")
    executor = SingleThreadedExecutor()
    executor.add_node(client_node)
    results: dict[tuple[str, bool], Timings] = {}
    probe_times: dict[str, list[float]] = {}
    client_stamps: list[tuple[float, float, float]] = []  # call, sent, response (monotonic)
    mode_stamps: dict[tuple[str, bool], slice] = {}
    try:
        log = node_process.wait_for_log(READY_TEXT, NODE_START_TIMEOUT_S)
        if f"planners {planner_name} from" not in log:
            raise RuntimeError(f"the node did not load {planner_name}:\n{log}")
        client = client_node.create_client(DetectGrasp, "/detect_grasp")
        if not client.wait_for_service(timeout_sec=NODE_START_TIMEOUT_S):
            raise RuntimeError(f"/detect_grasp never appeared:\n{node_process.output()}")

        def round_trip(
            request, expect_success: bool = True
        ) -> tuple[float, float, DetectGrasp.Response]:
            start = time.perf_counter()
            called_s = time.monotonic()
            future = client.call_async(request)
            sent = time.perf_counter() - start  # rclpy's conversion of the request, and write
            executor.spin_until_future_complete(future, timeout_sec=REQUEST_TIMEOUT_S)
            elapsed = time.perf_counter() - start
            client_stamps.append((called_s, called_s + sent, called_s + elapsed))
            if not future.done():
                raise RuntimeError(f"no /detect_grasp response in {REQUEST_TIMEOUT_S} s")
            response = future.result()
            if response.success != expect_success:
                raise RuntimeError(
                    f"/detect_grasp success {response.success}, expected {expect_success}: "
                    f"{response.message}"
                )
            return elapsed, sent, response

        # Transport alone: requests the node refuses before any computation.
        probes = {"empty request": DetectGrasp.Request(planner=planner_name)}
        for encoding in ENCODINGS:
            image, info = requests[encoding][0]
            unreadable = deepcopy(image)
            unreadable.encoding = "rgb8"  # refused at once, after the whole image arrived
            probes[f"{encoding} size, refused"] = DetectGrasp.Request(
                depth=unreadable, camera_info=info, planner=planner_name
            )
        print(f"transport probes: {args.warmup} + {args.requests} refused requests each ...")
        for name, request in probes.items():
            for index in range(args.warmup + args.requests):
                elapsed, _, _ = round_trip(request, expect_success=False)
                if index >= args.warmup:
                    probe_times.setdefault(name, []).append(elapsed * 1e3)

        for encoding in ENCODINGS:
            for disable_fallback in (True, False):
                timings = Timings()
                results[(encoding, disable_fallback)] = timings
                print(
                    f"{encoding}, fallback {'disabled' if disable_fallback else 'allowed'}: "
                    f"{args.warmup} + {args.requests} requests ...",
                    flush=True,
                )
                first_stamp = len(client_stamps) + args.warmup
                for index in range(args.warmup + args.requests):
                    image, info = requests[encoding][index % len(frames_m)]
                    request = DetectGrasp.Request(
                        depth=image,
                        camera_info=info,
                        planner=planner_name,
                        disable_fallback=disable_fallback,
                    )
                    elapsed, sent, response = round_trip(request)
                    prepare_s, plan_s, bare_s = bare_detection(image, info)
                    if index < args.warmup:
                        continue
                    timings.round_trip.append(elapsed * 1e3)
                    timings.send.append(sent * 1e3)
                    timings.node.append(response.grasp.planning_time * 1e3)
                    timings.used_fallback += int(response.used_fallback)
                    timings.bare.append(bare_s * 1e3)
                    timings.prepare.append(prepare_s * 1e3)
                    timings.plan.append(plan_s * 1e3)
                mode_stamps[(encoding, disable_fallback)] = slice(first_stamp, len(client_stamps))
    finally:
        executor.shutdown()
        client_node.destroy_node()
        rclpy.try_shutdown()
        node_process.stop()

    def stats(values: list[float]) -> str:
        return f"{np.median(values):7.2f} {np.percentile(values, 99):7.2f}"

    print()
    print(
        f"planner {planner_name} ({args.backend}, {args.threads} thread(s)) from {models_dir}; "
        f"{args.requests} timed requests per mode after {args.warmup} warm-ups; "
        f"frames 640x480 with {invalid:.1%} invalid pixels; Fast DDS profile {args.fastdds_profile}"
    )
    print("milliseconds, median and p99 (overhead = round trip median - bare median)")
    print(
        f"{'encoding':>8} {'fallback':>8} | {'round trip':>15} | {'node':>15} | "
        f"{'bare detection':>15} | {'prepare':>7} {'plan':>7} | {'overhead':>8} {'ratio':>6} "
        f"{'rt-node':>7} {'send':>5}"
    )
    for (encoding, disable_fallback), t in results.items():
        overhead = np.median(t.round_trip) - np.median(t.bare)
        ratio = np.median(t.round_trip) / np.median(t.bare)
        transport = np.median(np.subtract(t.round_trip, t.node))
        fallback = "disabled" if disable_fallback else "allowed"
        print(
            f"{encoding:>8} {fallback:>8} | {stats(t.round_trip)} | {stats(t.node)} | "
            f"{stats(t.bare)} | {np.median(t.prepare):7.2f} {np.median(t.plan):7.2f} | "
            f"{overhead:8.2f} {ratio:6.3f} {transport:7.2f} {np.median(t.send):5.2f}"
        )
        if t.used_fallback:
            print(f"{'':>18} ({t.used_fallback} responses came from the fallback)")
    print("round trip of requests refused before any computation (transport, executor, log):")
    for name, values in probe_times.items():
        print(f"{name:>24} | {stats(values)}")

    if args.breakdown:
        print_breakdown(node_process.output(), REQUEST_TIMING_TEXT, client_stamps, mode_stamps)


def print_breakdown(
    node_log: str,
    timing_text: str,
    client_stamps: list[tuple[float, float, float]],
    mode_stamps: dict[tuple[str, bool], slice],
) -> None:
    """Each timed request's round trip split at the node's logged CLOCK_MONOTONIC stamps.

    The node logs one line per answered request and none for refused ones. The refused probes
    come first and every request of the modes (warm-ups included) is answered, so the node's
    n-th line belongs to the client's request number (probes + n).
    """
    node_stamps = np.array(
        [
            [float(line.split()[index]) for index in (-5, -3, -1)]
            for line in node_log.splitlines()
            if timing_text in line
        ]
    ).reshape(-1, 3)
    clients = np.array(client_stamps)
    first_answered = len(clients) - len(node_stamps)
    if not mode_stamps or first_answered > min(mode.start for mode in mode_stamps.values()):
        print(f"breakdown: {len(node_stamps)} node timestamps do not match the requests; skipped")
        return
    print("breakdown, medians in ms (the node's debug log line is inside 'answer'):")
    print(
        f"{'encoding':>8} {'fallback':>8} | {'send':>7} {'to node':>7} {'compute':>7} "
        f"{'publish':>7} {'answer':>7}"
    )
    for (encoding, disable_fallback), mode in mode_stamps.items():
        client = clients[mode]
        node = node_stamps[mode.start - first_answered : mode.stop - first_answered]
        parts = (
            client[:, 1] - client[:, 0],  # the client's call_async
            node[:, 0] - client[:, 1],  # transport, take, thread pool: the callback starts
            node[:, 1] - node[:, 0],  # the callback until the grasp message
            node[:, 2] - node[:, 1],  # publications, response filled
            client[:, 2] - node[:, 2],  # callback return -> the client has the response
        )
        fallback = "disabled" if disable_fallback else "allowed"
        medians = " ".join(f"{1e3 * np.median(part):>7.2f}" for part in parts)
        print(f"{encoding:>8} {fallback:>8} | {medians}")


if __name__ == "__main__":
    main()
