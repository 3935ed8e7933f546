"""Peer process: publishes `count` 640x480 32FC1 depth frames (1.2 MB each) on /camera/depth/
image_raw at `rate_hz` with the sensor-data QoS (best effort), as a camera driver does, once a
subscriber has matched; frame i has header.stamp.sec = i. Prints PUBLISHED <count> at the end.

Usage: depth_frame_publisher.py <count> <rate_hz>
"""

import sys
import time

import numpy as np
import rclpy
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import Image

from ros_test_support import READY_LINE

SUBSCRIBER_TIMEOUT_S = 20.0
DISCOVERY_SETTLE_S = 0.5


def main() -> None:
    count, rate_hz = int(sys.argv[1]), float(sys.argv[2])
    rclpy.init()
    node = rclpy.create_node("depth_frame_publisher")
    publisher = node.create_publisher(Image, "/camera/depth/image_raw", qos_profile_sensor_data)
    print(READY_LINE, flush=True)
    deadline = time.monotonic() + SUBSCRIBER_TIMEOUT_S
    while publisher.get_subscription_count() == 0:
        if time.monotonic() > deadline:
            print("no subscriber matched", flush=True)
            sys.exit(1)
        time.sleep(0.02)
    time.sleep(DISCOVERY_SETTLE_S)
    depth = np.random.default_rng(0).uniform(0.5, 0.8, (480, 640)).astype(np.float32)
    image = Image(height=480, width=640, encoding="32FC1", step=640 * 4)
    image.header.frame_id = "camera_depth_optical_frame"
    image.data = depth.tobytes()
    next_s = time.perf_counter()
    for number in range(count):
        image.header.stamp.sec = number
        publisher.publish(image)
        next_s += 1.0 / rate_hz
        time.sleep(max(0.0, next_s - time.perf_counter()))
    print(f"PUBLISHED {count}", flush=True)
    time.sleep(1.0)  # let the last frames reach the subscriber before the participant goes
    node.destroy_node()
    rclpy.try_shutdown()


if __name__ == "__main__":
    main()
