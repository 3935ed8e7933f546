"""config/rviz/bench.rviz shows what the bench publishes: every topic it subscribes is one a
node of the bench publishes, with a QoS that the publisher matches, in the frame the hand-eye
calibration names as the base."""

from __future__ import annotations

import yaml
from rclpy.qos import DurabilityPolicy, ReliabilityPolicy

from gqstn_ros.node_graph import REPO_CONFIG_DIR
from gqstn_ros.nodes import topics

RVIZ_FILE = REPO_CONFIG_DIR / "rviz" / "bench.rviz"

# Topic -> the QoS of its publisher in the bench.
PUBLISHED = {
    topics.INPAINTED_TOPIC: topics.FRAME_OUTPUT_QOS,
    topics.GRASP_MARKER_TOPIC: topics.RESULT_QOS,
    topics.DEBUG_IMAGE_TOPIC: topics.FRAME_OUTPUT_QOS,
    topics.SIM_MARKER_TOPIC: topics.FRAME_OUTPUT_QOS,
}
RELIABILITY = {"Reliable": ReliabilityPolicy.RELIABLE, "Best Effort": ReliabilityPolicy.BEST_EFFORT}
DURABILITY = {
    "Volatile": DurabilityPolicy.VOLATILE,
    "Transient Local": DurabilityPolicy.TRANSIENT_LOCAL,
}


def displays() -> list[dict]:
    return yaml.safe_load(RVIZ_FILE.read_text())["Visualization Manager"]["Displays"]


def test_every_topic_of_the_rviz_config_is_published_with_a_matching_qos() -> None:
    topics = {}
    for display in displays():
        if "Topic" in display:
            topics[display["Topic"]["Value"]] = display["Topic"]
    assert set(topics) == set(PUBLISHED), "the view shows depth, grasp, debug image and bench"
    for topic, requested in topics.items():
        offered = PUBLISHED[topic]
        # A reliable subscription needs a reliable publisher; volatile needs nothing more.
        if RELIABILITY[requested["Reliability Policy"]] == ReliabilityPolicy.RELIABLE:
            assert offered.reliability == ReliabilityPolicy.RELIABLE, topic
        assert DURABILITY[requested["Durability Policy"]] == DurabilityPolicy.VOLATILE, topic


def test_the_view_is_in_the_base_frame_with_tf() -> None:
    document = yaml.safe_load(RVIZ_FILE.read_text())
    hand_eye = yaml.safe_load((REPO_CONFIG_DIR / "hand_eye.yaml").read_text())
    base = hand_eye["/**"]["ros__parameters"]["hand_eye"]["base_frame"]
    assert document["Visualization Manager"]["Global Options"]["Fixed Frame"] == base
    assert "rviz_default_plugins/TF" in {display["Class"] for display in displays()}
