"""What the default pipeline costs per `/detect_grasp` request, against GQ-STN alone and against
the earlier rule, through the real inference and fallback nodes, on the same frames.

Usage: .venv/bin/python benchmarks/default_pipeline_latency.py [--requests 40] [--warmup 4]
       [--frames 4] [--threads 1]

The fallback node and the inference node (GQ-STN loaded, the default parameters otherwise) run
in their own processes on a private ROS domain. This process sends Kinect-like 640x480 frames
(MuJoCo table scenes of 5 objects, Kinect noise) as three kinds of request, one after the other
on each frame so that a load change on the machine hits all three alike:

- `own`: `disable_fallback`, GQ-STN's grasp alone;
- `named`: planner `gqstn`, the earlier default rule: Prop+GQ-CNN only when GQ-STN's grasp is
  not robust;
- `pipeline`: no planner, the default pipeline (`gqstn_ros.grasping.alternatives`): the
  minor-axis grasp judged on the planning thread, Prop+GQ-CNN asked on every request in
  parallel with GQ-STN.

Prints the median and p90 round trip of each kind in milliseconds, its ratio to `own`, and how
often each planner's grasp was answered.
"""

from __future__ import annotations

import argparse
import os
import time
from collections import Counter

import numpy as np
from ros_benchmark_support import NodeProcess, kinect_frames, use_private_ros_domain

KINDS = ("own", "named", "pipeline")
NODE_START_TIMEOUT_S = 90.0
REQUEST_TIMEOUT_S = 120.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=40, help="timed requests per kind")
    parser.add_argument("--warmup", type=int, default=4, help="untimed requests per kind")
    parser.add_argument("--frames", type=int, default=4, help="distinct rendered frames")
    parser.add_argument("--threads", type=int, default=1, help="torch threads of each node")
    args = parser.parse_args()
    if args.requests < 1 or args.warmup < 0 or args.frames < 1 or args.threads < 1:
        parser.error("--requests, --frames and --threads must be >= 1, --warmup >= 0")

    use_private_ros_domain()
    import rclpy  # noqa: PLC0415 (after the domain is chosen)
    from gqstn_msgs.srv import DetectGrasp  # noqa: PLC0415
    from rclpy.executors import SingleThreadedExecutor  # noqa: PLC0415
    from std_msgs.msg import Header  # noqa: PLC0415

    from gqstn_ros.camera_model import KINECT_V1  # noqa: PLC0415
    from gqstn_ros.depth_image import intrinsics_to_camera_info, metres_to_image  # noqa: PLC0415
    from gqstn_ros.planner_registry import default_models_dir  # noqa: PLC0415

    print(f"rendering {args.frames} Kinect-like 640x480 frames ...", flush=True)
    frames = []
    for index, depth in enumerate(kinect_frames(args.frames, seed=0)):
        header = Header(frame_id="camera_depth_optical_frame")
        header.stamp.sec = index
        frames.append(
            (metres_to_image(depth, "32FC1", header), intrinsics_to_camera_info(KINECT_V1, header))
        )

    models = ["-p", f"models_dir:={default_models_dir()}"]
    environment = {"OMP_NUM_THREADS": str(args.threads)}
    fallback = NodeProcess("fallback_node", models, environment)
    inference = NodeProcess(
        "inference_node",
        [*models, "-p", "planners:=['gqstn']", "-p", "fallback_timeout_s:=60.0"],
        environment,
    )
    rclpy.init()
    node = rclpy.create_node("default_pipeline_latency_client")
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    try:
        fallback.wait_for_log("fallback node ready", NODE_START_TIMEOUT_S)
        inference.wait_for_log("fallback /plan_grasp is reachable", NODE_START_TIMEOUT_S)
        client = node.create_client(DetectGrasp, "/detect_grasp")
        if not client.wait_for_service(timeout_sec=NODE_START_TIMEOUT_S):
            raise SystemExit("/detect_grasp never appeared")

        def request(kind: str, image, info) -> DetectGrasp.Request:
            fields = {"own": {"disable_fallback": True}, "named": {"planner": "gqstn"}}
            return DetectGrasp.Request(depth=image, camera_info=info, **fields.get(kind, {}))

        times: dict[str, list[float]] = {kind: [] for kind in KINDS}
        answered: dict[str, Counter] = {kind: Counter() for kind in KINDS}
        for index in range(args.warmup + args.requests):
            image, info = frames[index % len(frames)]
            for kind in KINDS:
                started = time.perf_counter()
                future = client.call_async(request(kind, image, info))
                executor.spin_until_future_complete(future, timeout_sec=REQUEST_TIMEOUT_S)
                elapsed_ms = (time.perf_counter() - started) * 1e3
                response = future.result()
                if response is None or not response.success:
                    why = "no reply" if response is None else response.message
                    raise SystemExit(f"{kind} request {index} failed: {why}")
                if index >= args.warmup:
                    times[kind].append(elapsed_ms)
                    answered[kind][response.grasp.planner] += 1
    finally:
        executor.shutdown()
        node.destroy_node()
        rclpy.try_shutdown()
        inference.stop()
        fallback.stop()

    own_median = float(np.median(times["own"]))
    print(
        f"\n{args.requests} requests per kind, {os.cpu_count()} CPUs, torch threads {args.threads}"
    )
    print("| request | median ms | p90 ms | median / own | grasps answered |")
    print("| --- | --- | --- | --- | --- |")
    for kind in KINDS:
        median = float(np.median(times[kind]))
        p90 = float(np.percentile(times[kind], 90))
        counts = ", ".join(f"{name} {count}" for name, count in answered[kind].most_common())
        print(f"| {kind} | {median:.1f} | {p90:.1f} | {median / own_median:.2f} | {counts} |")


if __name__ == "__main__":
    main()
