"""Parallel-jaw gripper geometry: one definition for sampling, labels, networks and execution.

A gripper profile is a plain YAML file under config/grippers: the fields of `GripperConfig`
(``name``, ``max_width``, ``min_width``, ``finger_width``, ``finger_thickness``,
``finger_depth``, ``min_grip_force``, ``max_grip_force``, ``grip_force``, ``pad_friction``) plus
an optional ``description``; `load_gripper_profile` reads one (`gqstn_ros.profiles` offers it
beside the camera profiles).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from gqstn_ros.profile_files import (
    GRIPPER_PROFILE_DIR,
    ProfileError,
    check_keys,
    check_name,
    number,
    profile_names,
    read_mapping,
    resolve,
    text,
)

DEFAULT_GRIPPER_PROFILE = "robotiq_2f85"

# m: a width within this of the stroke fits it. A planner narrows a too-wide grasp to exactly
# the stroke, and float32 (on the wire, out of a network) rounds 0.085 up to 0.0850000009.
STROKE_TOLERANCE_M = 1e-6
# The fields that make two grippers interchangeable for a network trained on one of them: the
# stroke and the finger sizes (metres). Two grippers equal on these within GEOMETRY_TOLERANCE_M
# see the same grasps.
GEOMETRY_FIELDS = ("max_width", "min_width", "finger_width", "finger_thickness", "finger_depth")
GEOMETRY_TOLERANCE_M = 1e-9


class GripperMismatchError(ValueError):
    """A model or a component made for one gripper, used with another; the message names both
    grippers and the geometry fields that differ."""


@dataclass(frozen=True)
class GripperConfig:
    """Geometry of a parallel-jaw gripper; defaults are the Robotiq 2F-85."""

    name: str = DEFAULT_GRIPPER_PROFILE
    max_width: float = 0.085  # m, full stroke; grasps wider than this are never returned
    min_width: float = 0.0  # m, fully closed
    finger_width: float = 0.022  # m, finger pad extent across the closing axis
    finger_thickness: float = 0.010  # m, pad thickness along the closing axis
    finger_depth: float = 0.040  # m, how far the fingertips reach below the palm
    max_grip_force: float = 235.0  # N, the 2F-85's maximum grip force
    min_grip_force: float = 20.0  # N, the smallest force the gripper can be set to close with
    grip_force: float = 60.0  # N per finger, the operating force: labels and lifts assume it
    pad_friction: float = 0.5  # Coulomb mu of the finger pads on a typical object

    def __post_init__(self) -> None:
        if not 0.0 <= self.min_width < self.max_width:
            raise ValueError(
                f"gripper widths must satisfy 0 <= min_width < max_width, "
                f"got min_width={self.min_width}, max_width={self.max_width}"
            )
        for field in (
            "finger_width", "finger_thickness", "finger_depth", "max_grip_force",
            "min_grip_force", "grip_force", "pad_friction",
        ):  # fmt: skip
            value = getattr(self, field)
            if not (np.isfinite(value) and value > 0):
                raise ValueError(f"gripper {field} must be a positive number, got {value}")
        if self.max_width <= self.finger_thickness:
            raise ValueError(
                f"gripper max_width ({self.max_width} m) must exceed finger_thickness "
                f"({self.finger_thickness} m): such a gripper cannot open around anything"
            )
        if not self.min_grip_force <= self.grip_force <= self.max_grip_force:
            raise ValueError(
                f"gripper grip_force must lie in [min_grip_force, max_grip_force] = "
                f"[{self.min_grip_force}, {self.max_grip_force}] N, got {self.grip_force}"
            )

    def fits_stroke(self, widths: np.ndarray | float) -> np.ndarray:
        """Elementwise bool: the opening is within the stroke (up to `STROKE_TOLERANCE_M`)."""
        widths = np.asarray(widths, dtype=np.float64)
        return (widths >= self.min_width - STROKE_TOLERANCE_M) & (
            widths <= self.max_width + STROKE_TOLERANCE_M
        )

    def stroke_in_pixels(self, depths: np.ndarray | float, fx: np.ndarray | float) -> np.ndarray:
        """The full stroke in image pixels for a grasp at these depths (m) seen with focal
        length fx (px): a planner narrows a wider predicted opening to it."""
        return self.max_width * np.asarray(fx, dtype=np.float64) / np.asarray(depths, np.float64)

    def to_dict(self) -> dict[str, float | str]:
        return asdict(self)

    def geometry_differences(self, other: GripperConfig) -> list[str]:
        """The `GEOMETRY_FIELDS` in which `other` differs from this gripper, each as
        "field <this> m vs <other> m"; empty when the two are interchangeable."""
        return [
            f"{field} {getattr(self, field):g} m vs {getattr(other, field):g} m"
            for field in GEOMETRY_FIELDS
            if abs(getattr(self, field) - getattr(other, field)) > GEOMETRY_TOLERANCE_M
        ]


def check_same_geometry(trained: GripperConfig, used: GripperConfig, what: str) -> None:
    """Raise `GripperMismatchError` unless `used` has the geometry `what` was made for.

    `what` names the model or file (e.g. "checkpoint models/gqstn.pt"); the message names both
    grippers and every geometry field that differs (trained value first).
    """
    differences = trained.geometry_differences(used)
    if differences:
        raise GripperMismatchError(
            f"{what} was trained for gripper {trained.name!r}, not for gripper {used.name!r}: "
            f"{'; '.join(differences)} (trained for vs used). Use a model trained for "
            f"{used.name!r}, or the gripper {trained.name!r}"
        )


def gripper_profile_names() -> tuple[str, ...]:
    """Names of the gripper profiles shipped under config/grippers."""
    return profile_names(GRIPPER_PROFILE_DIR)


def gripper_from_mapping(data: Mapping[str, Any], path: Path | str = "<mapping>") -> GripperConfig:
    """A GripperConfig from a profile mapping; ProfileError names `path` and the field."""
    path = Path(path)
    names = tuple(field.name for field in fields(GripperConfig))
    check_keys(path, "", data, names, ("description",))
    values: dict[str, Any] = {"name": text(path, "name", data["name"])}
    for key in names[1:]:
        values[key] = number(path, key, data[key])
    try:
        return GripperConfig(**values)
    except ValueError as error:
        raise ProfileError(f"{path}: {error}") from None


def load_gripper_profile(name_or_path: str | Path) -> GripperConfig:
    """The gripper profile `name_or_path` (a name under config/grippers, or a YAML file)."""
    path = resolve(GRIPPER_PROFILE_DIR, name_or_path)
    gripper = gripper_from_mapping(read_mapping(path), path)
    check_name(path, gripper.name)
    return gripper


@functools.cache
def default_gripper() -> GripperConfig:
    """The default gripper profile (`DEFAULT_GRIPPER_PROFILE`, the Robotiq 2F-85), loaded once
    from its YAML file: the default of every function and config that takes a gripper."""
    return load_gripper_profile(DEFAULT_GRIPPER_PROFILE)


# The built-in Robotiq 2F-85 values (equal to config/grippers/robotiq_2f85.yaml); code that
# needs a default gripper takes `default_gripper()` or a profile.
ROBOTIQ_2F85 = GripperConfig()
