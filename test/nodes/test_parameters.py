"""Parameter specs: descriptors, refusal reasons, and a node that refuses a bad start value."""

from __future__ import annotations

import pytest
from rcl_interfaces.msg import ParameterDescriptor

from gqstn_ros.nodes.parameters import ParameterSpec


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
