"""The Fast DDS profiles and DDS network settings the nodes run with: how the launch arguments
choose them, what the profiles hold, that whole depth frames at camera rate get through, and
that the simulated bench's nodes listen on the loopback interface only (a domain of its own,
discovery range LOCALHOST, config/fastdds_large_frames_localhost.xml)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import pytest
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import Image

from gqstn_ros.node_graph import (
    FASTDDS_LOCALHOST_PROFILE_FILE,
    FASTDDS_PROFILE_FILE,
    REPO_CONFIG_DIR,
    SIM_DOMAIN_ID,
    GraphArguments,
    network_environment,
    node_environment,
)
from ros_test_support import peer_environment, running_peer, spin_until

PROFILE = REPO_CONFIG_DIR / FASTDDS_PROFILE_FILE
LOCALHOST_PROFILE = REPO_CONFIG_DIR / FASTDDS_LOCALHOST_PROFILE_FILE
NAMESPACE = {"dds": "http://www.eprosima.com"}
FRAME_32FC1_BYTES = 640 * 480 * 4
FAST_DDS = {"RMW_IMPLEMENTATION": "rmw_fastrtps_cpp"}


def test_bundled_profile_unless_the_environment_names_one(tmp_path: Path) -> None:
    bundled = GraphArguments(use_sim=False)  # real hardware: the environment's network
    assert node_environment(bundled, REPO_CONFIG_DIR, FAST_DDS) == {
        "FASTDDS_DEFAULT_PROFILES_FILE": str(PROFILE.resolve())
    }
    assert node_environment(bundled, REPO_CONFIG_DIR, {}) != {}, "Fast DDS is ROS 2's default"
    users = {**FAST_DDS, "FASTDDS_DEFAULT_PROFILES_FILE": "/home/user/dds.xml"}
    assert node_environment(bundled, REPO_CONFIG_DIR, users) == {}, "the user's profile wins"
    legacy = {**FAST_DDS, "FASTRTPS_DEFAULT_PROFILES_FILE": "/home/user/dds.xml"}
    assert node_environment(bundled, REPO_CONFIG_DIR, legacy) == {}
    none = GraphArguments(use_sim=False, fastdds_profile="none")
    assert node_environment(none, REPO_CONFIG_DIR, FAST_DDS) == {}
    cyclone = {"RMW_IMPLEMENTATION": "rmw_cyclonedds_cpp"}
    assert node_environment(bundled, REPO_CONFIG_DIR, cyclone) == {}, "a Fast DDS file only"
    own = tmp_path / "own.xml"
    own.write_text("<dds/>")
    explicit = GraphArguments.from_strings({"use_sim": "false", "fastdds_profile": str(own)})
    assert node_environment(explicit, REPO_CONFIG_DIR, users) == {
        "FASTDDS_DEFAULT_PROFILES_FILE": str(own.resolve())
    }, "a file named on the command line replaces the environment's"
    with pytest.raises(FileNotFoundError, match="bundled Fast DDS profile is missing"):
        node_environment(bundled, tmp_path, FAST_DDS)


def test_a_profile_argument_that_is_no_file_is_refused() -> None:
    with pytest.raises(ValueError, match=r"fastdds_profile '/nonexistent\.xml' is neither"):
        GraphArguments.from_strings({"fastdds_profile": "/nonexistent.xml"})
    assert GraphArguments.from_strings({"fastdds_profile": "none"}).fastdds_profile == "none"


def test_the_simulated_bench_keeps_to_this_machine_on_a_domain_of_its_own() -> None:
    sim = GraphArguments()
    assert network_environment(sim, {}) == {
        "ROS_DOMAIN_ID": str(SIM_DOMAIN_ID),
        "ROS_AUTOMATIC_DISCOVERY_RANGE": "LOCALHOST",
    }
    assert node_environment(sim, REPO_CONFIG_DIR, {}) == {
        "ROS_DOMAIN_ID": str(SIM_DOMAIN_ID),
        "ROS_AUTOMATIC_DISCOVERY_RANGE": "LOCALHOST",
        "FASTDDS_DEFAULT_PROFILES_FILE": str(LOCALHOST_PROFILE.resolve()),
    }
    # A domain the environment names is kept (the user's tools are on it); LOCALHOST still.
    users = {"ROS_DOMAIN_ID": "7", "ROS_AUTOMATIC_DISCOVERY_RANGE": "SUBNET"}
    assert network_environment(sim, users) == {"ROS_AUTOMATIC_DISCOVERY_RANGE": "LOCALHOST"}
    # Explicit launch arguments win; a wider range gets the profile for every interface.
    wide = GraphArguments.from_strings({"ros_domain_id": "9", "discovery_range": "SUBNET"})
    assert node_environment(wide, REPO_CONFIG_DIR, users) == {
        "ROS_DOMAIN_ID": "9",
        "ROS_AUTOMATIC_DISCOVERY_RANGE": "SUBNET",
        "FASTDDS_DEFAULT_PROFILES_FILE": str(PROFILE.resolve()),
    }
    # Real hardware: the environment's domain and range, the loopback profile where it
    # discovers on LOCALHOST only.
    real = GraphArguments(use_sim=False)
    assert network_environment(real, users) == {}
    assert node_environment(real, REPO_CONFIG_DIR, {"ROS_AUTOMATIC_DISCOVERY_RANGE": "OFF"}) == {
        "FASTDDS_DEFAULT_PROFILES_FILE": str(LOCALHOST_PROFILE.resolve())
    }
    with pytest.raises(ValueError, match=r"ros_domain_id:='233' must be 'auto' or a domain id"):
        GraphArguments.from_strings({"ros_domain_id": "233"})
    with pytest.raises(ValueError, match=r"discovery_range:='LAN' is not one of auto, LOCALHOST"):
        GraphArguments.from_strings({"discovery_range": "LAN"})


@pytest.mark.parametrize("profile", [PROFILE, LOCALHOST_PROFILE])
def test_profile_keeps_fast_dds_transports_with_a_segment_for_whole_frames(profile: Path) -> None:
    root = ElementTree.parse(profile).getroot()
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
    udp = next(
        d for d in descriptors.values() if d.findtext("dds:type", namespaces=NAMESPACE) == "UDPv4"
    )
    allowed = [i.get("name") for i in udp.iterfind(".//dds:allowlist/dds:interface", NAMESPACE)]
    assert allowed == (["127.0.0.1"] if profile == LOCALHOST_PROFILE else [])


def listening_addresses(pid: int) -> set[str]:
    """The local addresses of the UDP sockets of process `pid` that can receive: those bound to
    a port outside the kernel's ephemeral range (Fast DDS binds its send sockets to port 0)."""
    low, high = (int(v) for v in Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        target = os.readlink(fd)
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    addresses = set()
    for line in Path(f"/proc/{pid}/net/udp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[9] not in inodes:
            continue
        address, port = fields[1].split(":")
        if low <= int(port, 16) <= high:
            continue
        addresses.add(".".join(str(b) for b in bytes.fromhex(address)[::-1]))
    return addresses


def participant_addresses(environment: dict[str, str]) -> set[str]:
    """Start a ROS 2 node in a process of its own with `environment` added; where it listens."""
    # The test run's private domain (below 102): its well-known ports (7400 + 250 x id ...) are
    # below the ephemeral range, so that they count as listening sockets.
    env = {**peer_environment(), **environment}
    code = (
        "import sys, rclpy\n"
        "rclpy.init()\n"
        "node = rclpy.create_node('listening_probe')\n"
        "print('UP', flush=True)\n"
        "sys.stdin.read()\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", code],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stdout.readline().strip() == "UP"
        return listening_addresses(process.pid)
    finally:
        process.stdin.close()
        process.wait(20)
        process.stdout.close()


@pytest.mark.ros
def test_the_simulated_bench_listens_on_the_loopback_interface_only() -> None:
    sim = node_environment(GraphArguments(), REPO_CONFIG_DIR, FAST_DDS)
    sim.pop("ROS_DOMAIN_ID")  # the probe's own, to meet no other node
    addresses = participant_addresses(sim)
    assert addresses, "the probe has listening sockets"
    assert addresses <= {"127.0.0.1", "239.255.0.1"}, addresses
    # The profile for a wider range listens on every interface: the check tells them apart.
    wide = node_environment(GraphArguments(discovery_range="SUBNET"), REPO_CONFIG_DIR, FAST_DDS)
    wide.pop("ROS_DOMAIN_ID")
    assert "0.0.0.0" in participant_addresses(wide)


@pytest.mark.ros
def test_every_frame_at_camera_rate_reaches_a_subscriber(client_node) -> None:
    """60 best-effort 1.2 MB frames at 30 Hz from another process, all received (with Fast
    DDS's default 512 KB segment about half are lost: see the profile's comment)."""
    assert os.environ.get("FASTDDS_DEFAULT_PROFILES_FILE") == str(LOCALHOST_PROFILE.resolve()), (
        "the test session runs with the simulated bench's profile "
        "(ros_test_support.isolate_ros_domain)"
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
