"""ament_python package gqstn_ros (code under src/, data installed under share/gqstn_ros)."""

from pathlib import Path

from setuptools import find_packages, setup

PACKAGE_NAME = "gqstn_ros"
ROOT = Path(__file__).resolve().parent


def share_files(folder: str) -> list[tuple[str, list[str]]]:
    """(install dir, files) pairs for every file under `folder`, keeping the sub-folders."""
    entries: dict[str, list[str]] = {}
    for path in sorted((ROOT / folder).rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            relative = path.relative_to(ROOT)
            target = str(Path("share") / PACKAGE_NAME / relative.parent)
            entries.setdefault(target, []).append(str(relative))
    return sorted(entries.items())


setup(
    name=PACKAGE_NAME,
    version="0.1.0",
    package_dir={"": "src"},
    packages=find_packages(where="src", include=[PACKAGE_NAME, f"{PACKAGE_NAME}.*"]),
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE_NAME}"]),
        (f"share/{PACKAGE_NAME}", ["package.xml"]),
        *share_files("launch"),
        *share_files("config"),
        *share_files("models"),
    ],
    install_requires=["setuptools"],
    zip_safe=False,
    maintainer="gqstn_ros maintainers",
    maintainer_email="maintainers@gqstn-ros.dev",
    description="GQ-STN one-shot grasp detection as a ROS 2 node suite",
    license="BSD-3-Clause",
    python_requires=">=3.10",
    entry_points={
        "console_scripts": [
            "depth_node = gqstn_ros.nodes.depth_node:main",
            "inference_node = gqstn_ros.nodes.inference_node:main",
            "fallback_node = gqstn_ros.nodes.fallback_node:main",
            "executor_node = gqstn_ros.nodes.executor_node:main",
            "sim_world_node = gqstn_ros.nodes.sim_bench:main",
        ]
    },
)
