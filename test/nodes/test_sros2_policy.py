"""The SROS2 policy (config/sros2/gqstn_policy.xml): well formed in the policy format 0.2.0, and
each node's profile allows exactly the topics, services and actions that node creates in the
running simulated bench (every process of `run_graph`, discovered over DDS)."""

from __future__ import annotations

import time
from xml.etree import ElementTree

import pytest

from gqstn_ros.node_graph import REPO_CONFIG_DIR
from ros_test_support import PeerProcess

POLICY = REPO_CONFIG_DIR / "sros2" / "gqstn_policy.xml"
RULES = {"topics": ("publish", "subscribe"), "services": ("reply", "request")}
RULES["actions"] = ("execute", "call")
ITEMS = {"topics": "topic", "services": "service", "actions": "action"}
ACTION_SERVICES = ("send_goal", "cancel_goal", "get_result")
ACTION_TOPICS = ("feedback", "status")
# The bench's node -> the enclave of its process (the simulated world hosts the executor).
SIM_ENCLAVES = {
    "sim_world": "/gqstn/sim_world",
    "executor_node": "/gqstn/sim_world",
    "depth_node": "/gqstn/depth_node",
    "inference_node": "/gqstn/inference_node",
    "fallback_node": "/gqstn/fallback_node",
}
TIMEOUT_S = 90.0


def resolve(name: str, namespace: str, node: str) -> str:
    """A policy name as a fully qualified ROS name: '/x' as is, '~/x' under the node, else under
    the profile's namespace."""
    if name.startswith("/"):
        return name
    prefix = namespace if namespace.endswith("/") else namespace + "/"
    if name.startswith("~"):
        return prefix + node + name[1:]
    return prefix + name


def permissions(profile: ElementTree.Element) -> dict[str, set[str]]:
    """What a profile allows: endpoint kind (publish, subscribe, reply, request) -> names; an
    action grants its services and topics (execute: the server's, call: the client's)."""
    allowed: dict[str, set[str]] = {k: set() for k in ("publish", "subscribe", "reply", "request")}
    namespace, node = profile.get("ns"), profile.get("node")
    for rule in profile:
        for kind, value in rule.attrib.items():
            if value != "ALLOW":
                continue
            for item in rule:
                name = resolve(item.text.strip(), namespace, node)
                if rule.tag == "actions":
                    server = kind == "execute"
                    allowed["reply" if server else "request"].update(
                        f"{name}/_action/{service}" for service in ACTION_SERVICES
                    )
                    allowed["publish" if server else "subscribe"].update(
                        f"{name}/_action/{topic}" for topic in ACTION_TOPICS
                    )
                else:
                    allowed[kind].add(name)
    return allowed


def load_profiles() -> dict[tuple[str, str], ElementTree.Element]:
    """(enclave path, node name) -> profile."""
    root = ElementTree.parse(POLICY).getroot()
    return {
        (enclave.get("path"), profile.get("node")): profile
        for enclave in root.iter("enclave")
        for profile in enclave.iter("profile")
    }


def test_the_policy_is_well_formed() -> None:
    root = ElementTree.parse(POLICY).getroot()
    assert root.tag == "policy" and root.get("version") == "0.2.0"
    (enclaves,) = list(root)
    assert enclaves.tag == "enclaves"
    paths = [enclave.get("path") for enclave in enclaves]
    assert paths == [
        "/gqstn/sim_world",
        "/gqstn/executor_node",
        "/gqstn/depth_node",
        "/gqstn/inference_node",
        "/gqstn/fallback_node",
        "/gqstn/operator",
    ]
    for enclave in enclaves:
        (profiles,) = list(enclave)
        assert profiles.tag == "profiles"
        for profile in profiles:
            assert profile.tag == "profile" and profile.get("ns") == "/" and profile.get("node")
            for rule in profile:
                assert rule.tag in RULES, rule.tag
                assert rule.attrib and set(rule.attrib) <= set(RULES[rule.tag]), rule.attrib
                assert set(rule.attrib.values()) <= {"ALLOW", "DENY"}
                assert len(rule) > 0
                for item in rule:
                    assert item.tag == ITEMS[rule.tag] and item.text.strip(), item.tag
    profiles = load_profiles()
    # The real robot's executor needs what the simulated one does.
    assert permissions(profiles["/gqstn/executor_node", "executor_node"]) == permissions(
        profiles["/gqstn/sim_world", "executor_node"]
    )


def test_only_the_operator_may_move_the_robot_or_reconfigure_the_executor() -> None:
    moving = {
        "/execute_grasp/_action/send_goal",
        "/execute_grasp/_action/cancel_goal",
        "/executor_node/change_state",
        "/executor_node/open_gripper",
        "/executor_node/set_parameters",
    }
    for (enclave, node), profile in load_profiles().items():
        requested = permissions(profile)["request"] & moving
        if enclave == "/gqstn/operator":
            assert requested == moving
        else:
            assert requested == set(), (enclave, node, requested)


def live_endpoints(node, name: str) -> dict[str, set[str]]:
    """The node's endpoints as discovered so far (none before the node itself is)."""

    def names(pairs) -> set[str]:
        return {topic for topic, _types in pairs}

    if name not in node.get_node_names():
        return {kind: set() for kind in ("publish", "subscribe", "reply", "request")}
    return {
        "publish": names(node.get_publisher_names_and_types_by_node(name, "/")),
        "subscribe": names(node.get_subscriber_names_and_types_by_node(name, "/")),
        "reply": names(node.get_service_names_and_types_by_node(name, "/")),
        "request": names(node.get_client_names_and_types_by_node(name, "/")),
    }


@pytest.mark.ros
def test_each_profile_allows_exactly_what_its_node_uses_in_the_running_bench(client_node) -> None:
    probe, executor = client_node
    profiles = load_profiles()
    expected = {
        node: permissions(profiles[enclave, node]) for node, enclave in SIM_ENCLAVES.items()
    }
    runner = PeerProcess(["-m", "gqstn_ros.tools.run_graph"], "run_graph")
    try:
        # Discovery reports endpoints one by one: wait until every node shows what its profile
        # allows, then compare exactly (an endpoint beyond the profile fails at once).
        deadline = time.monotonic() + TIMEOUT_S
        while True:
            executor.spin_once(timeout_sec=0.2)
            live = {node: live_endpoints(probe, node) for node in SIM_ENCLAVES}
            extra = {
                (node, kind): live[node][kind] - expected[node][kind]
                for node in SIM_ENCLAVES
                for kind in expected[node]
                if live[node][kind] - expected[node][kind]
            }
            assert not extra, f"endpoints the policy does not allow: {extra}"
            if live == expected or time.monotonic() > deadline:
                break
            assert runner.is_running(), runner.output()
        missing = {
            (node, kind): expected[node][kind] - live[node][kind]
            for node in SIM_ENCLAVES
            for kind in expected[node]
            if expected[node][kind] - live[node][kind]
        }
        assert not missing, f"allowed but never used: {missing}"
    finally:
        runner.stop(20)
