"""Parameter specs: descriptors, refusal reasons, and a node that refuses a bad start value."""

from __future__ import annotations

import pytest
import rclpy
import yaml
from rcl_interfaces.msg import ParameterDescriptor
from rclpy.node import Node
from rclpy.parameter import Parameter

from gqstn_ros.detection import ROBUST_Q_THRESHOLD
from gqstn_ros.nodes.parameters import Q_THRESHOLD_PARAMETER, NodeParameters, ParameterSpec
from gqstn_ros.profiles import load_gripper_profile
from ros_test_support import REPO_ROOT


def test_descriptor_carries_description_range_and_read_only() -> None:
    spec = ParameterSpec("scale", 0.25, "Inpaint scale", 0.05, 1.0, read_only=True)
    descriptor = spec.descriptor()
    assert isinstance(descriptor, ParameterDescriptor)
    assert descriptor.description == "Inpaint scale" and descriptor.read_only
    assert descriptor.floating_point_range[0].from_value == 0.05
    assert descriptor.floating_point_range[0].to_value == 1.0
    assert descriptor.additional_constraints == "in [0.05, 1]"
    count = ParameterSpec("count", 5, "Count", 1, 10).descriptor()
    assert (count.integer_range[0].from_value, count.integer_range[0].to_value) == (1, 10)


def test_check_gives_a_reason_for_each_refused_value() -> None:
    number = ParameterSpec("threshold", 0.5, "Threshold", 0.0, 1.0)
    assert number.check(0.7) is None
    assert number.check(1.5) == "1.5 is above the maximum 1"
    assert number.check(-0.1) == "-0.1 is below the minimum 0"
    assert number.check(float("nan")) == "nan is not a finite number"
    choice = ParameterSpec("planner", "gqstn", "Planner", choices=("gqstn", "multigrasp"))
    assert choice.check("graspnet") == "'graspnet' is not one of gqstn, multigrasp"
    names = ParameterSpec("planners", ["gqstn"], "Planners", choices=("gqstn", "multigrasp"))
    assert names.check(["gqstn", "x"]) == "'x' is not one of gqstn, multigrasp"
    position = ParameterSpec("position", [0.0, 0.0, 0.0], "Position", length=3)
    assert position.check([1.0, 2.0]) == "expected 3 values, got 2"
    custom = ParameterSpec(
        "even", 2, "Even", check_value=lambda v: None if v % 2 == 0 else f"{v} is odd"
    )
    assert custom.check(3) == "3 is odd"


def test_invalid_or_untyped_defaults_are_refused() -> None:
    with pytest.raises(ValueError, match="default of parameter threshold is invalid"):
        ParameterSpec("threshold", 2.0, "Threshold", 0.0, 1.0)
    with pytest.raises(ValueError, match="must not be empty"):
        ParameterSpec("position", [], "Position")


@pytest.mark.ros
def test_a_node_with_an_invalid_start_value_exits_with_the_reason(start_node) -> None:
    depth_node = start_node("depth_node", "-p", "inpaint_scale:=2.0")
    assert depth_node.process.wait(20) == 2
    depth_node.reader.join(5)
    assert "invalid configuration: parameter inpaint_scale" in depth_node.output()
    wrong_type = start_node("depth_node", "-p", "crop_x:=1.5")
    assert wrong_type.process.wait(20) == 2
    symmetric_views = start_node("inference_node", "-p", "symmetric_views:=3")
    assert symmetric_views.process.wait(20) == 2
    symmetric_views.reader.join(5)
    assert "symmetric_views" in symmetric_views.output()
    assert "3 is not one of 1, 2, 4, 8" in symmetric_views.output()


@pytest.mark.ros
def test_a_missing_or_unusable_gripper_profile_stops_the_node_naming_file_and_field(
    start_node, tmp_path
) -> None:
    profile = load_gripper_profile("robotiq_2f85").to_dict()
    del profile["max_width"]
    no_stroke = tmp_path / "no_stroke.yaml"
    no_stroke.write_text(yaml.safe_dump({**profile, "name": "no_stroke"}))
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: broken\nmax_width: [0.1\n")
    absent = tmp_path / "absent.yaml"
    pincer = REPO_ROOT / "config" / "grippers" / "pincer.yaml"
    cases = [
        ("inference_node", "pincer", f"unknown gripper profile 'pincer' (no file {pincer})"),
        ("fallback_node", str(no_stroke), f"{no_stroke}: missing field max_width"),
        ("sim_world_node", str(broken), f"{broken}: not valid YAML"),
        ("executor_node", str(absent), f"gripper profile file {absent} does not exist"),
    ]
    # Started together: each stops while reading its parameters.
    nodes = [(start_node(module, "-p", f"gripper:={value}"), text) for module, value, text in cases]
    for node, expected in nodes:
        assert node.process.wait(60) == 2, node.output()
        node.reader.join(5)
        assert "[FATAL]" in node.output(), node.output()
        assert f"invalid configuration: parameter gripper: {expected}" in node.output()


def test_integer_choices_are_described_and_enforced() -> None:
    from gqstn_ros.nodes.inference_parameters import INFERENCE_NODE_PARAMETERS

    spec = next(s for s in INFERENCE_NODE_PARAMETERS if s.name == "symmetric_views")
    descriptor = spec.descriptor()  # what `ros2 param describe` shows
    assert "one of 1, 2, 4, 8" in descriptor.additional_constraints
    assert (descriptor.integer_range[0].from_value, descriptor.integer_range[0].to_value) == (1, 8)
    assert spec.check(4) is None
    assert spec.check(3) == "3 is not one of 1, 2, 4, 8"


def parameters_of_node(context: rclpy.Context, overrides: dict) -> tuple[Node, NodeParameters]:
    node = rclpy.create_node(
        "gqstn_parameters_test",
        context=context,
        parameter_overrides=[Parameter(name, value=value) for name, value in overrides.items()],
    )
    return node, NodeParameters(node, [Q_THRESHOLD_PARAMETER])


def test_the_q_threshold_is_the_one_robust_q_constant_and_keeps_its_old_name() -> None:
    from gqstn_ros.nodes.fallback_node import FALLBACK_NODE_PARAMETERS
    from gqstn_ros.nodes.inference_parameters import INFERENCE_NODE_PARAMETERS

    assert Q_THRESHOLD_PARAMETER.default == ROBUST_Q_THRESHOLD == 0.5
    assert Q_THRESHOLD_PARAMETER.deprecated_names == ("robust_threshold",)
    for specs in (INFERENCE_NODE_PARAMETERS, FALLBACK_NODE_PARAMETERS):
        assert Q_THRESHOLD_PARAMETER in specs
        assert "robust_threshold" not in {spec.name for spec in specs}
    with pytest.raises(ValueError, match="read-only parameter keeps no old names"):
        ParameterSpec("x", 1, "X", read_only=True, deprecated_names=("y",))


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({}, 0.5),
        ({"q_threshold": 0.7}, 0.7),
        ({"robust_threshold": 0.8}, 0.8),  # the old name, with a warning
        ({"robust_threshold": 0.8, "q_threshold": 0.7}, 0.7),  # the new name wins
    ],
)
def test_a_deprecated_name_given_at_start_sets_the_new_one(
    context, capfd, overrides, expected
) -> None:
    node, parameters = parameters_of_node(context, overrides)
    try:
        assert parameters["q_threshold"] == expected
        warned = "parameter robust_threshold is deprecated" in capfd.readouterr().err
        assert warned == ("robust_threshold" in overrides)
    finally:
        node.destroy_node()


def test_a_deprecated_name_set_at_run_time_sets_the_new_one(context, capfd) -> None:
    node, parameters = parameters_of_node(context, {})
    try:
        assert node.set_parameters([Parameter("robust_threshold", value=0.9)])[0].successful
        assert parameters["q_threshold"] == 0.9
        assert "use q_threshold" in capfd.readouterr().err
        refused = node.set_parameters([Parameter("robust_threshold", value=1.5)])[0]
        assert not refused.successful
        assert "robust_threshold" in refused.reason and "1.5" in refused.reason
        assert parameters["q_threshold"] == 0.9
    finally:
        node.destroy_node()
