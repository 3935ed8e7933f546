"""The Fast DDS profile the nodes run with (config/fastdds_large_frames.xml): how the launch
arguments choose it, what it holds, and that whole depth frames at camera rate get through it."""

from __future__ import annotations

import os
from pathlib import Path
from xml.etree import ElementTree

import pytest
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import Image

from gqstn_ros.node_graph import (
    FASTDDS_PROFILE_FILE,
    REPO_CONFIG_DIR,
    GraphArguments,
    node_environment,
)
from ros_test_support import running_peer, spin_until

PROFILE = REPO_CONFIG_DIR / FASTDDS_PROFILE_FILE
NAMESPACE = {"dds": "http://www.eprosima.com"}
FRAME_32FC1_BYTES = 640 * 480 * 4
FAST_DDS = {"RMW_IMPLEMENTATION": "rmw_fastrtps_cpp"}


def test_bundled_profile_unless_the_environment_names_one(tmp_path: Path) -> None:
    bundled = GraphArguments()
    assert node_environment(bundled, REPO_CONFIG_DIR, FAST_DDS) == {
        "FASTDDS_DEFAULT_PROFILES_FILE": str(PROFILE.resolve())
    }
    assert node_environment(bundled, REPO_CONFIG_DIR, {}) != {}, "Fast DDS is ROS 2's default"
    users = {**FAST_DDS, "FASTDDS_DEFAULT_PROFILES_FILE": "/home/user/dds.xml"}
    assert node_environment(bundled, REPO_CONFIG_DIR, users) == {}, "the user's profile wins"
    legacy = {**FAST_DDS, "FASTRTPS_DEFAULT_PROFILES_FILE": "/home/user/dds.xml"}
    assert node_environment(bundled, REPO_CONFIG_DIR, legacy) == {}
    assert node_environment(GraphArguments(fastdds_profile="none"), REPO_CONFIG_DIR, FAST_DDS) == {}
    cyclone = {"RMW_IMPLEMENTATION": "rmw_cyclonedds_cpp"}
    assert node_environment(bundled, REPO_CONFIG_DIR, cyclone) == {}, "a Fast DDS file only"
    own = tmp_path / "own.xml"
    own.write_text("<dds/>")
    explicit = GraphArguments.from_strings({"fastdds_profile": str(own)})
    assert node_environment(explicit, REPO_CONFIG_DIR, users) == {
        "FASTDDS_DEFAULT_PROFILES_FILE": str(own.resolve())
    }, "a file named on the command line replaces the environment's"
    with pytest.raises(FileNotFoundError, match="bundled Fast DDS profile is missing"):
        node_environment(bundled, tmp_path, FAST_DDS)


def test_a_profile_argument_that_is_no_file_is_refused() -> None:
    with pytest.raises(ValueError, match=r"fastdds_profile '/nonexistent\.xml' is neither"):
        GraphArguments.from_strings({"fastdds_profile": "/nonexistent.xml"})
    assert GraphArguments.from_strings({"fastdds_profile": "none"}).fastdds_profile == "none"


def test_profile_keeps_fast_dds_transports_with_a_segment_for_whole_frames() -> None:
    root = ElementTree.parse(PROFILE).getroot()
    descriptors = {
        d.findtext("dds:transport_id", namespaces=NAMESPACE): d
        for d in root.iterfind(".//dds:transport_descriptor", NAMESPACE)
    }
    kinds = {name: d.findtext("dds:type", namespaces=NAMESPACE) for name, d in descriptors.items()}
    assert sorted(kinds.values()) == ["SHM", "UDPv4"], "same machine and across machines"
    shm = next(
        d for d in descriptors.values() if d.findtext("dds:type", namespaces=NAMESPACE) == "SHM"
    )
    segment_bytes = int(shm.findtext("dds:segment_size", namespaces=NAMESPACE))
    assert segment_bytes >= 4 * FRAME_32FC1_BYTES, "several 640x480 32FC1 frames in flight"
    participant = root.find(".//dds:participant", NAMESPACE)
    assert participant is not None and participant.get("is_default_profile") == "true"
    used = [
        t.text for t in participant.iterfind(".//dds:userTransports/dds:transport_id", NAMESPACE)
    ]
    assert sorted(used) == sorted(descriptors)
    assert participant.findtext(".//dds:useBuiltinTransports", namespaces=NAMESPACE) == "false"


@pytest.mark.ros
def test_every_frame_at_camera_rate_reaches_a_subscriber(client_node) -> None:
    """60 best-effort 1.2 MB frames at 30 Hz from another process, all received (with Fast
    DDS's default 512 KB segment about half are lost: see the profile's comment)."""
    assert os.environ.get("FASTDDS_DEFAULT_PROFILES_FILE") == str(PROFILE.resolve()), (
        "the test session runs with the nodes' profile (ros_test_support.isolate_ros_domain)"
    )
    node, executor = client_node
    received: list[int] = []
    node.create_subscription(
        Image,
        "/camera/depth/image_raw",
        lambda image: received.append(image.header.stamp.sec),
        qos_profile_sensor_data,
    )
    frames = 60
    with running_peer("depth_frame_publisher.py", str(frames), "30") as publisher:
        assert spin_until(executor, lambda: "PUBLISHED" in publisher.output(), timeout_s=30.0), (
            publisher.output()
        )
        spin_until(executor, lambda: len(received) == frames, timeout_s=3.0)
    assert sorted(received) == list(range(frames)), (
        f"lost {sorted(set(range(frames)) - set(received))}"
    )
