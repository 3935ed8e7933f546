"""Node parameters declared once, with a description, a range or choices, and validation.

In the spirit of generate_parameter_library: every node lists its parameters as a tuple of
`ParameterSpec` (name, default, description, limits); `NodeParameters` declares them with a
`ParameterDescriptor` (description, `FloatingPointRange`/`IntegerRange`, read-only flag) and
installs an on-set-parameters callback that refuses an invalid value with a reason naming the
parameter, both at start (values from YAML or `-p`) and at run time (`ros2 param set`).
The pure part (`ParameterSpec.check`) needs no running node.

A renamed parameter keeps its old names in `ParameterSpec.deprecated_names`: each is declared
too (same limits), and a value given to it, at start or at run time, is logged as deprecated and
applied to the new name. At start a value given to the new name wins over the old one. The
node reads the new name only; the old one holds what was last given to it.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

from rcl_interfaces.msg import (
    FloatingPointRange,
    IntegerRange,
    ParameterDescriptor,
    SetParametersResult,
)
from rclpy.node import Node
from rclpy.parameter import Parameter

from gqstn_ros.depth_processing import InpaintConfig
from gqstn_ros.detection import ROBUST_Q_THRESHOLD
from gqstn_ros.gripper import GripperConfig
from gqstn_ros.profiles import (
    DEFAULT_GRIPPER_PROFILE,
    ProfileError,
    gripper_profile_names,
    load_gripper_profile,
)

ParameterValue = bool | int | float | str | list[float] | list[int] | list[str] | list[bool]


class ParameterValueError(ValueError):
    """A parameter value outside its declared range, choices or length."""


@dataclass(frozen=True)
class ParameterSpec:
    """One node parameter: its default (which fixes its type), description and limits.

    min_value/max_value bound a number (every element of a numeric array); `choices` lists the
    accepted strings or integers (every element of an array); `length` fixes an array's length;
    `check_value` is an extra rule returning a refusal reason or None. Read-only parameters can
    only be set at start (YAML, `-p`). `deprecated_names`: earlier names of this parameter,
    still accepted (see the module docstring).
    """

    name: str
    default: ParameterValue
    description: str
    min_value: float | None = None
    max_value: float | None = None
    choices: tuple[str, ...] | tuple[int, ...] = ()
    length: int | None = None
    read_only: bool = False
    check_value: Callable[[Any], str | None] | None = None
    deprecated_names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.deprecated_names and self.read_only:
            # A start value given to the old name is applied by a set, which read-only refuses.
            raise ValueError(f"parameter {self.name}: a read-only parameter keeps no old names")
        if isinstance(self.default, list) and not self.default:
            # An empty list has no ROS parameter type (and YAML `[]` cannot be parsed by rcl).
            raise ValueError(f"parameter {self.name}: an array default must not be empty")
        reason = self.check(self.default)
        if reason is not None:
            raise ValueError(f"default of parameter {self.name} is invalid: {reason}")

    def limits_text(self) -> str:
        parts = []
        if self.min_value is not None or self.max_value is not None:
            low = "-inf" if self.min_value is None else f"{self.min_value:g}"
            high = "inf" if self.max_value is None else f"{self.max_value:g}"
            parts.append(f"in [{low}, {high}]")
        if self.choices:
            parts.append(f"one of {', '.join(map(str, self.choices))}")
        if self.length is not None:
            parts.append(f"exactly {self.length} values")
        return "; ".join(parts)

    def descriptor(self) -> ParameterDescriptor:
        descriptor = ParameterDescriptor(
            name=self.name,
            description=self.description,
            additional_constraints=self.limits_text(),
            read_only=self.read_only,
        )
        has_range = self.min_value is not None and self.max_value is not None
        if has_range and type(self.default) is float:
            descriptor.floating_point_range = [
                FloatingPointRange(
                    from_value=float(self.min_value), to_value=float(self.max_value), step=0.0
                )
            ]
        elif has_range and type(self.default) is int:
            descriptor.integer_range = [
                IntegerRange(from_value=int(self.min_value), to_value=int(self.max_value), step=0)
            ]
        return descriptor

    def check(self, value: Any) -> str | None:
        """Why `value` is refused for this parameter, or None when it is accepted."""
        is_array = isinstance(value, (list, tuple))
        values = list(value) if is_array else [value]
        if is_array and self.length is not None and len(values) != self.length:
            return f"expected {self.length} values, got {len(values)}"
        reasons = (self._item_refusal(item) for item in values)
        reason = next((reason for reason in reasons if reason is not None), None)
        if reason is None and self.check_value is not None:
            reason = self.check_value(value)
        return reason

    def _item_refusal(self, item: Any) -> str | None:
        if isinstance(item, (int, float)) and not isinstance(item, bool):
            if not math.isfinite(item):
                return f"{item} is not a finite number"
            if self.min_value is not None and item < self.min_value:
                return f"{item} is below the minimum {self.min_value:g}"
            if self.max_value is not None and item > self.max_value:
                return f"{item} is above the maximum {self.max_value:g}"
        if self.choices and item not in self.choices:
            return f"{item!r} is not one of {', '.join(map(str, self.choices))}"
        return None


def python_value(value: Any) -> Any:
    """A parameter value as plain Python (arrays as lists)."""
    if value is not None and not isinstance(value, (bool, int, float, str)):
        return list(value)
    return value


class NodeParameters:
    """Declares `specs` on `node` and refuses invalid values; read values with `[name]`.

    Raises `ParameterValueError` (naming the parameter and the reason) when a start value from
    YAML or the command line is invalid, so that a misconfigured node fails at start.
    """

    def __init__(self, node: Node, specs: Sequence[ParameterSpec]) -> None:
        self._node = node
        self.specs = {spec.name: spec for spec in specs}
        if len(self.specs) != len(specs):
            raise ValueError("parameter specs must have unique names")
        # Deprecated name -> the spec of the parameter it was renamed to.
        self._renamed = {old: spec for spec in specs for old in spec.deprecated_names}
        if set(self._renamed) & set(self.specs) or len(self._renamed) != sum(
            len(spec.deprecated_names) for spec in specs
        ):
            raise ValueError("deprecated parameter names must be unique and not in use")
        node.add_on_set_parameters_callback(self._on_set_parameters)
        for spec in specs:
            self._declare(spec.name, spec, spec.descriptor())
        for old, spec in self._renamed.items():
            descriptor = spec.descriptor()
            descriptor.name = old
            descriptor.description = f"Deprecated: use {spec.name}. {spec.description}"
            self._declare(old, spec, descriptor)
            value = python_value(node.get_parameter(old).value)
            if value != spec.default:
                self._warn_deprecated(old, spec)
                if self[spec.name] == spec.default:  # the new name, when given, wins
                    self._set(spec.name, value)
        node.add_post_set_parameters_callback(self._on_parameters_set)

    def _declare(self, name: str, spec: ParameterSpec, descriptor: ParameterDescriptor) -> None:
        try:
            self._node.declare_parameter(name, spec.default, descriptor)
        except Exception as error:  # rclpy raises several types for invalid start values
            raise ParameterValueError(f"parameter {name}: {error}") from error

    def _set(self, name: str, value: Any) -> None:
        result = self._node.set_parameters([Parameter(name, value=value)])[0]
        if not result.successful:
            raise ParameterValueError(result.reason)

    def _warn_deprecated(self, old: str, spec: ParameterSpec) -> None:
        self._node.get_logger().warning(
            f"parameter {old} is deprecated and will be removed: use {spec.name} (the value "
            f"given to {old} is applied to {spec.name})"
        )

    def _on_parameters_set(self, parameters: list[Parameter]) -> None:
        """After a run-time set: a value given to a deprecated name goes to its new name."""
        for parameter in parameters:
            spec = self._renamed.get(parameter.name)
            if spec is not None:
                self._warn_deprecated(parameter.name, spec)
                self._set(spec.name, python_value(parameter.value))

    def refusal(self, parameter: Parameter) -> str | None:
        """The reason `parameter` would be refused, or None; parameters not ours pass."""
        spec = self.specs.get(parameter.name) or self._renamed.get(parameter.name)
        if spec is None:
            return None
        expected = Parameter.Type.from_parameter_value(spec.default)
        if parameter.type_ != expected:
            return (
                f"parameter {parameter.name} must be of type {expected.name.lower()}, "
                f"got {parameter.type_.name.lower()}"
            )
        reason = spec.check(python_value(parameter.value))
        return None if reason is None else f"parameter {parameter.name}: {reason}"

    def _on_set_parameters(self, parameters: list[Parameter]) -> SetParametersResult:
        for parameter in parameters:
            reason = self.refusal(parameter)
            if reason is not None:
                self._node.get_logger().warning(f"refused: {reason}")
                return SetParametersResult(successful=False, reason=reason)
        return SetParametersResult(successful=True)

    def narrow(self, name: str, min_value: float | None, max_value: float | None, why: str) -> None:
        """Replace the range of the declared parameter `name` (e.g. by the force range of the
        gripper profile loaded at start), for its current value and every later set.

        Raises `ParameterValueError` naming the parameter, the value, the range and `why`
        (what the range comes from) when the current value lies outside the new range.
        """
        value = self[name]
        try:
            spec = dataclasses.replace(
                self.specs[name], default=value, min_value=min_value, max_value=max_value
            )
        except ValueError:
            low = "-inf" if min_value is None else f"{min_value:g}"
            high = "inf" if max_value is None else f"{max_value:g}"
            raise ParameterValueError(
                f"parameter {name}: {value} is outside [{low}, {high}], {why}"
            ) from None
        self.specs[name] = spec
        descriptor = spec.descriptor()
        descriptor.type = Parameter.Type.from_parameter_value(spec.default).value
        self._node.set_descriptor(name, descriptor)

    def __getitem__(self, name: str) -> Any:
        if name not in self.specs:
            raise KeyError(f"{name} is not a declared parameter of {self._node.get_name()}")
        return python_value(self._node.get_parameter(name).value)

    def as_dict(self) -> dict[str, Any]:
        return {name: self[name] for name in self.specs}


Q_THRESHOLD_PARAMETER = ParameterSpec(
    "q_threshold",
    ROBUST_Q_THRESHOLD,
    "A grasp is robust when its GQ-CNN q_value is at least this (a probability; not the "
    "label's Ferrari-Canny threshold)",
    min_value=0.0,
    max_value=1.0,
    deprecated_names=("robust_threshold",),
)

GRIPPER_PARAMETER = "gripper"


def gripper_parameter_spec(used_for: str) -> ParameterSpec:
    """The `gripper` parameter every node that depends on the gripper declares (read-only)."""
    return ParameterSpec(
        GRIPPER_PARAMETER,
        DEFAULT_GRIPPER_PROFILE,
        f"Gripper profile: a name under config/grippers ({', '.join(gripper_profile_names())}) "
        f"or the path of a profile YAML file; {used_for}",
        read_only=True,
    )


def load_gripper_parameter(parameters: NodeParameters) -> GripperConfig:
    """The gripper profile the `gripper` parameter names; a profile that cannot be used
    raises `ParameterValueError` naming the parameter, the file and the field."""
    try:
        return load_gripper_profile(parameters[GRIPPER_PARAMETER])
    except ProfileError as error:
        raise ParameterValueError(f"parameter {GRIPPER_PARAMETER}: {error}") from error


def inpaint_specs(images: str, refuse: str) -> tuple[ParameterSpec, ParameterSpec]:
    """`inpaint_scale` and `max_invalid_ratio`: how the invalid pixels (0, NaN, inf) of `images`
    are filled, and when one is refused (`refuse`: the verb, "Drop" or "Refuse")."""
    return (
        ParameterSpec(
            "inpaint_scale",
            InpaintConfig.scale,
            f"Inpaint the invalid pixels of {images} at this fraction of the resolution (1.0 = "
            "full resolution)",
            min_value=0.05,
            max_value=1.0,
        ),
        ParameterSpec(
            "max_invalid_ratio",
            InpaintConfig.max_invalid_ratio,
            f"{refuse} {images} with a larger fraction of invalid pixels (0, NaN, inf)",
            min_value=0.01,
            max_value=1.0,
        ),
    )


def spin_node(make_node: Callable[[], Node], node_name: str, num_threads: int = 2) -> NoReturn:
    """The thin `main()` of every node: build, spin, stop, end the process.

    One thread spins a SingleThreadedExecutor, more a `QuietMultiThreadedExecutor` (rclpy's
    MultiThreadedExecutor without its busy loop, see `gqstn_ros.nodes.executors`).

    An invalid configuration (ParameterValueError while building) is logged and exits with
    code 2, so a launcher reports it; SIGINT or SIGTERM at any moment end the process with
    code 0 within about a second (`gqstn_ros.nodes.shutdown`). rclpy must be initialised.
    """
    from gqstn_ros.nodes.executors import make_executor  # noqa: PLC0415
    from gqstn_ros.nodes.shutdown import run_node_process  # noqa: PLC0415

    run_node_process(
        lambda nodes: nodes.append(make_node()),
        node_name,
        lambda: make_executor(num_threads),
        ParameterValueError,
    )
