"""package.xml names a rosdep key for every library the package imports, so that `rosdep install`
on a ROS 2 machine leaves no node failing on an import; the pip-only keys are defined in
rosdep/gqstn_ros.yaml with the packages the project environment pins."""

from __future__ import annotations

import ast
import sys
import xml.etree.ElementTree as ET

import yaml

from ros_test_support import REPO_ROOT

# Top-level module -> its rosdep key. ROS packages are their own keys.
ROSDEP_KEYS = {
    "numpy": "python3-numpy",
    "yaml": "python3-yaml",
    "scipy": "python3-scipy",
    "cv2": "python3-opencv",
    "matplotlib": "python3-matplotlib",
    "tqdm": "python3-tqdm",
    "torch": "python3-torch",
    "mujoco": "python3-mujoco-pip",
    "onnxruntime": "python3-onnxruntime-pip",
    "rtde_control": "python3-ur-rtde-pip",
    "rtde_receive": "python3-ur-rtde-pip",
    "pyrobotiqgripper": "python3-pyrobotiqgripper-pip",
    "distributed": "python3-dask-distributed-pip",
}
ROS_PACKAGES = {
    "rclpy",
    "ament_index_python",
    "action_msgs",
    "builtin_interfaces",
    "geometry_msgs",
    "lifecycle_msgs",
    "gqstn_msgs",
    "rcl_interfaces",
    "sensor_msgs",
    "std_msgs",
    "std_srvs",
    "tf2_msgs",
    "unique_identifier_msgs",
    "visualization_msgs",
}


def imported_modules() -> set[str]:
    """Top-level modules imported anywhere in src/gqstn_ros, less the standard library."""
    modules = set()
    for path in (REPO_ROOT / "src" / "gqstn_ros").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            modules.update(name.split(".")[0] for name in names)
    return modules - set(sys.stdlib_module_names) - {"gqstn_ros"}


def exec_depends() -> set[str]:
    root = ET.parse(REPO_ROOT / "package.xml").getroot()
    return {element.text for element in root.iter("exec_depend")}


def test_every_imported_library_has_a_rosdep_key_in_package_xml() -> None:
    modules = imported_modules()
    unknown = modules - set(ROSDEP_KEYS) - ROS_PACKAGES
    assert not unknown, f"imported without a rosdep key here: {sorted(unknown)}"
    needed = {ROSDEP_KEYS.get(module, module) for module in modules}
    missing = needed - exec_depends()
    assert not missing, f"package.xml lacks <exec_depend> for {sorted(missing)}"


def test_the_project_pip_keys_install_the_pinned_packages() -> None:
    rules = yaml.safe_load((REPO_ROOT / "rosdep" / "gqstn_ros.yaml").read_text())
    pinned = {
        line.split("==")[0].lower().replace("_", "-")
        for line in (REPO_ROOT / "requirements" / "constraints.txt").read_text().splitlines()
        if "==" in line
    }
    for key, platforms in rules.items():
        assert key in exec_depends(), f"{key} is defined but package.xml does not use it"
        assert set(platforms) == {"debian", "ubuntu"}, key
        for rule in platforms.values():
            for package in rule["pip"]["packages"]:
                assert package.lower().replace("_", "-") in pinned, (key, package)
    project_keys = {key for key in exec_depends() if key.startswith("python3-")} - {
        "python3-numpy",
        "python3-yaml",
        "python3-scipy",
        "python3-opencv",
        "python3-matplotlib",
        "python3-tqdm",
        "python3-torch",
        "python3-mujoco-pip",
        "python3-onnxruntime-pip",
    }  # those are keys of the ROS rosdep database
    assert project_keys == set(rules), "every other python3 key is defined in the project's file"
