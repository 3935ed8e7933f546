"""The depth node at camera rate: 640x480 16UC1 Kinect-like frames published at 30 Hz to the real
depth node in its own process; output rate, publish-to-receipt latency, per-frame cost, CPU.

Usage: .venv/bin/python benchmarks/depth_node_rate.py [--frames 300] [--warmup 30] [--rate 30]
       [--scenes 6] [--inpaint-scale S (default: the node's default)] [--fastdds-profile none]

The depth node (`python -m gqstn_ros.nodes.depth_node`) runs on a private ROS domain (loopback
only). This process publishes rendered frames (MuJoCo table scenes with the simulated Kinect's
noise, edge dropout, projector shadows and holes, as 16UC1 millimetres) with their camera_info
on `/camera/depth/image_raw` and `/camera/depth/camera_info` (sensor QoS, as a camera driver)
on a fixed 30 Hz schedule, and subscribes to `/depth/inpainted`. Each frame's header stamp
numbers it, so a received frame is matched with its publish time (one clock: this process).

Prints, over the timed frames: the publish rate held, the output rate and the frames lost,
the publish-to-receipt latency (median, p99: serialization, DDS both ways, the node's work),
the node's own mean per-frame processing time (callback start to both messages published) and
invalid-pixel ratio as it logs them (its statistics lines, one per second here; the first line
may include a few warm-up frames), the node process's CPU use (from /proc/<pid>/stat) as
a share of one core and per frame, and, after the ROS run, the cost of the function the node
calls per frame (`prepare_depth_frame`) measured in this process on the same frames.
"""

from __future__ import annotations

import argparse
import re
import threading
import time

import numpy as np
from ros_benchmark_support import (
    FASTDDS_PROFILE_CHOICES,
    NodeProcess,
    kinect_frames,
    use_private_ros_domain,
)

READY_TEXT = "depth node ready"
NODE_START_TIMEOUT_S = 60.0
STATS_PERIOD_S = 1.0
# The node's statistics line (DepthNode.log_statistics -> FrameStatistics.summary).
STATS_LINE = re.compile(
    r"frames received (?P<received>\d+), published (?P<published>\d+), dropped (?P<dropped>\d+);"
    r" mean invalid pixels (?P<invalid>[\d.]+)%, mean processing latency (?P<latency>[\d.]+) ms"
)


def node_statistics(log: str) -> dict[str, float]:
    """Totals over the node's statistics lines in `log`: frames received, published and
    dropped, and the means of the invalid-pixel ratio and processing latency (ms), weighted
    by the frames published in each line's period."""
    received = published = dropped = 0
    invalid_sum = latency_sum = 0.0
    for match in STATS_LINE.finditer(log):
        count = int(match["published"])
        received += int(match["received"])
        published += count
        dropped += int(match["dropped"])
        invalid_sum += float(match["invalid"]) / 100 * count
        latency_sum += float(match["latency"]) * count
    return {
        "received": received,
        "published": published,
        "dropped": dropped,
        "invalid_ratio": invalid_sum / published if published else float("nan"),
        "latency_ms": latency_sum / published if published else float("nan"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=300, help="timed frames (10 s at 30 Hz)")
    parser.add_argument("--warmup", type=int, default=30, help="untimed frames first")
    parser.add_argument("--rate", type=float, default=30.0, help="publish rate, Hz")
    parser.add_argument(
        "--fastdds-profile",
        choices=FASTDDS_PROFILE_CHOICES,
        default="bundled",
        help="bundled: the nodes' Fast DDS profile (as launched); none: Fast DDS's defaults",
    )
    parser.add_argument("--scenes", type=int, default=6, help="distinct rendered frames")
    parser.add_argument(
        "--inpaint-scale", type=float, default=None, help="node parameter (default: its own)"
    )
    args = parser.parse_args()
    if args.frames < 2 or args.warmup < 0 or args.rate <= 0 or args.scenes < 1:
        parser.error("--frames must be >= 2, --warmup >= 0, --rate > 0, --scenes >= 1")

    use_private_ros_domain(args.fastdds_profile)
    import rclpy  # noqa: PLC0415 (after the domain is chosen)
    from rclpy.executors import SingleThreadedExecutor  # noqa: PLC0415
    from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy  # noqa: PLC0415
    from sensor_msgs.msg import CameraInfo, Image  # noqa: PLC0415
    from std_msgs.msg import Header  # noqa: PLC0415

    from gqstn_ros.camera_model import KINECT_V1  # noqa: PLC0415
    from gqstn_ros.depth_frames import prepare_depth_frame  # noqa: PLC0415
    from gqstn_ros.depth_image import intrinsics_to_camera_info, metres_to_image  # noqa: PLC0415
    from gqstn_ros.depth_processing import InpaintConfig  # noqa: PLC0415
    from gqstn_ros.nodes.depth_node import DEPTH_NODE_PARAMETERS  # noqa: PLC0415
    from gqstn_ros.nodes.topics import (  # noqa: PLC0415
        INPAINTED_TOPIC,
        RAW_DEPTH_TOPIC,
        RAW_INFO_TOPIC,
        SENSOR_QOS,
    )

    defaults = {spec.name: spec.default for spec in DEPTH_NODE_PARAMETERS}
    inpaint_scale = args.inpaint_scale or defaults["inpaint_scale"]
    print(f"rendering {args.scenes} Kinect-like 640x480 frames ...", flush=True)
    frames_m = kinect_frames(args.scenes, seed=100)
    images = [metres_to_image(frame, "16UC1") for frame in frames_m]  # uint16 mm
    info = intrinsics_to_camera_info(KINECT_V1)

    node_process = NodeProcess(
        "depth_node",
        ["-p", f"stats_period_s:={STATS_PERIOD_S}", "-p", f"inpaint_scale:={inpaint_scale}"],
    )
    rclpy.init()
    client = rclpy.create_node("depth_node_rate_client")
    image_publisher = client.create_publisher(Image, RAW_DEPTH_TOPIC, SENSOR_QOS)
    info_publisher = client.create_publisher(CameraInfo, RAW_INFO_TOPIC, SENSOR_QOS)
    sent_s: dict[int, float] = {}  # frame number -> perf_counter at publish
    received_s: dict[int, float] = {}  # frame number -> perf_counter at receipt

    def on_inpainted(image: Image) -> None:
        received_s[image.header.stamp.sec] = time.perf_counter()

    output_qos = QoSProfile(
        history=HistoryPolicy.KEEP_LAST, depth=10, reliability=ReliabilityPolicy.RELIABLE
    )
    client.create_subscription(Image, INPAINTED_TOPIC, on_inpainted, output_qos)
    executor = SingleThreadedExecutor()
    executor.add_node(client)
    spinner = threading.Thread(target=executor.spin, daemon=True)
    spinner.start()
    total = args.warmup + args.frames
    try:
        node_process.wait_for_log(READY_TEXT, NODE_START_TIMEOUT_S)
        deadline = time.monotonic() + NODE_START_TIMEOUT_S
        while image_publisher.get_subscription_count() == 0 or not client.count_publishers(
            INPAINTED_TOPIC
        ):
            if time.monotonic() > deadline:
                raise RuntimeError(f"the depth node never connected:\n{node_process.output()}")
            time.sleep(0.05)
        idle_cpu_s, idle_start_s = node_process.cpu_seconds(), time.perf_counter()
        time.sleep(1.0)  # discovery of the remaining endpoints; the node idles
        idle_share = (node_process.cpu_seconds() - idle_cpu_s) / (
            time.perf_counter() - idle_start_s
        )
        print(f"publishing {args.warmup} + {args.frames} frames at {args.rate:g} Hz ...")
        period_s = 1.0 / args.rate
        next_s = time.perf_counter()
        cpu_start_s = wall_start_s = 0.0
        log_start = 0
        for number in range(total):
            if number == args.warmup:
                cpu_start_s, wall_start_s = node_process.cpu_seconds(), time.perf_counter()
                log_start = len(node_process.output())
            next_s += period_s
            header = Header(frame_id="camera_depth_optical_frame")
            header.stamp.sec = number
            image = images[number % len(images)]
            image.header = header
            info.header = header
            info_publisher.publish(info)
            sent_s[number] = time.perf_counter()
            image_publisher.publish(image)
            delay = next_s - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
        publish_end_s = time.perf_counter()
        time.sleep(0.5)  # the last frames in flight
        cpu_s = node_process.cpu_seconds() - cpu_start_s
        wall_s = time.perf_counter() - wall_start_s
        time.sleep(STATS_PERIOD_S + 0.2)  # the node's last statistics line
        node_log = node_process.output()[log_start:]
    finally:
        executor.shutdown()
        spinner.join(5.0)
        client.destroy_node()
        rclpy.try_shutdown()
        node_process.stop()

    timed = range(args.warmup, total)
    publish_rate = (len(timed) - 1) / (sent_s[total - 1] - sent_s[args.warmup])
    arrivals = sorted(received_s[n] for n in timed if n in received_s)
    latencies_ms = np.array([(received_s[n] - sent_s[n]) * 1e3 for n in timed if n in received_s])
    lost = len(timed) - len(arrivals)
    output_rate = (len(arrivals) - 1) / (arrivals[-1] - arrivals[0]) if len(arrivals) > 1 else 0.0
    node = node_statistics(node_log)

    # The node's per-frame function, in this process, on the same frames (after the ROS run).
    inpaint = InpaintConfig(
        scale=inpaint_scale,
        radius_px=defaults["inpaint_radius_px"],
        max_invalid_ratio=defaults["max_invalid_ratio"],
    )
    intrinsics = KINECT_V1
    prepare_ms, invalid = [], []
    for number in range(args.frames):
        image = images[number % len(images)]
        start = time.perf_counter()
        prepared = prepare_depth_frame(image, intrinsics, inpaint)
        prepare_ms.append((time.perf_counter() - start) * 1e3)
        invalid.append(prepared.invalid_ratio)

    def stats(values) -> str:
        return f"median {np.median(values):6.2f} ms, p99 {np.percentile(values, 99):6.2f} ms"

    print()
    print(
        f"{args.frames} timed frames (after {args.warmup}), 640x480 16UC1, "
        f"{np.mean(invalid):.1%} invalid pixels, inpaint scale {inpaint_scale:g}, "
        f"Fast DDS profile {args.fastdds_profile}"
    )
    print(f"publish rate held        {publish_rate:6.2f} Hz (asked {args.rate:g})")
    print(
        f"output rate              {output_rate:6.2f} Hz; {lost} of {len(timed)} frames lost "
        f"({lost / len(timed):.1%}); publishing took {publish_end_s - wall_start_s:.2f} s"
    )
    if len(latencies_ms):
        print(f"publish -> /depth/inpainted: {stats(latencies_ms)}")
    print(
        f"node's statistics lines: received {node['received']}, published {node['published']}, "
        f"dropped {node['dropped']}; mean processing {node['latency_ms']:.2f} ms/frame, "
        f"mean invalid {node['invalid_ratio']:.1%}"
    )
    print(f"prepare_depth_frame in-process: {stats(prepare_ms)}")
    frames_done = max(node["published"], 1)
    print(
        f"node process CPU: {cpu_s:.2f} s over {wall_s:.2f} s = {cpu_s / wall_s:.1%} of one core "
        f"(idle: {idle_share:.1%}); {cpu_s / len(timed) * 1e3:.2f} ms per frame sent to it, "
        f"{cpu_s / frames_done * 1e3:.2f} ms per frame it published"
    )


if __name__ == "__main__":
    main()
