"""Reading a profile file: a plain YAML mapping under config/<kind>/ (`cameras`, `grippers`),
named by its stem or given by path, and the checks every profile's fields share.

Every reader raises `ProfileError` (a ValueError) naming the file and the field. The camera
profiles (`gqstn_ros.profiles`) and the gripper profiles (`gqstn_ros.gripper`) are read with
these; nothing here knows either kind.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from gqstn_ros.package_data import data_dir

CAMERA_PROFILE_DIR = "cameras"
GRIPPER_PROFILE_DIR = "grippers"


class ProfileError(ValueError):
    """A profile that cannot be used; the message names the file and the field."""


def config_dir() -> Path:
    """share/gqstn_ros/config of the installed package, else the repository's config/."""
    return data_dir("config", CAMERA_PROFILE_DIR)


def profile_names(kind: str) -> tuple[str, ...]:
    """The stems of the profiles of `kind` (a folder under config/), sorted."""
    return tuple(sorted(path.stem for path in (config_dir() / kind).glob("*.yaml")))


def resolve(kind: str, name_or_path: str | Path) -> Path:
    """The file of the profile `name_or_path`: a name under config/<kind>, or a YAML path."""
    given = str(name_or_path)
    if not given:
        raise ProfileError(f"empty {kind[:-1]} profile name")
    looks_like_path = isinstance(name_or_path, Path) or "/" in given or given.endswith(".yaml")
    if looks_like_path:
        path = Path(given)
        if not path.is_file():
            raise ProfileError(f"{kind[:-1]} profile file {path} does not exist")
        return path
    path = config_dir() / kind / f"{given}.yaml"
    if not path.is_file():
        known = ", ".join(profile_names(kind)) or "none"
        raise ProfileError(
            f"unknown {kind[:-1]} profile {given!r} (no file {path}); known: {known}"
        )
    return path


def read_mapping(path: Path) -> dict[str, Any]:
    """The YAML mapping in `path`."""
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        raise ProfileError(f"{path}: not valid YAML: {error}") from None
    if not isinstance(data, dict):
        raise ProfileError(f"{path}: must be a mapping of fields, got {type(data).__name__}")
    return data


def check_keys(
    path: Path, where: str, data: Mapping[str, Any], required: tuple[str, ...],
    optional: tuple[str, ...] = (),
) -> None:  # fmt: skip
    """Every `required` key of `data` (at `where`, "" = top level) is there, and no key but
    those and the `optional` ones."""
    prefix = f"{where}." if where else ""
    for key in required:
        if key not in data:
            raise ProfileError(f"{path}: missing field {prefix}{key}")
    for key in data:
        if key not in required and key not in optional:
            allowed = ", ".join(required + optional)
            raise ProfileError(f"{path}: unknown field {prefix}{key} (allowed: {allowed})")


def number(path: Path, field: str, value: Any) -> float:
    """`value` of `field`: a finite number."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ProfileError(f"{path}: {field} must be a number, got {value!r}")
    if not math.isfinite(value):
        raise ProfileError(f"{path}: {field} must be finite, got {value!r}")
    return float(value)


def integer(path: Path, field: str, value: Any) -> int:
    """`value` of `field`: an integer."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ProfileError(f"{path}: {field} must be an integer, got {value!r}")
    return value


def text(path: Path, field: str, value: Any) -> str:
    """`value` of `field`: a string."""
    if not isinstance(value, str):
        raise ProfileError(f"{path}: {field} must be a string, got {value!r}")
    return value


def check_name(path: Path, name: str) -> None:
    """A profile's `name` is its file's stem."""
    if name != path.stem:
        raise ProfileError(f"{path}: name {name!r} must equal the file's stem {path.stem!r}")
