"""docs/interface.md states the contract as the code has it: the interface files verbatim, every
declared node parameter; and every document the code and the README point to exists."""

from __future__ import annotations

import re

import pytest

from gqstn_ros.nodes.depth_node import DEPTH_NODE_PARAMETERS
from gqstn_ros.nodes.executor_parameters import EXECUTOR_NODE_PARAMETERS
from gqstn_ros.nodes.fallback_node import FALLBACK_NODE_PARAMETERS
from gqstn_ros.nodes.inference_parameters import INFERENCE_NODE_PARAMETERS
from gqstn_ros.nodes.sim_world_parameters import SIM_WORLD_PARAMETERS
from ros_test_support import REPO_ROOT

INTERFACE = REPO_ROOT / "docs" / "interface.md"
INTERFACE_FILES = sorted(
    path.relative_to(REPO_ROOT)
    for kind in ("msg", "srv", "action")
    for path in (REPO_ROOT / "src" / "gqstn_msgs" / kind).glob(f"*.{kind}")
)


def test_every_interface_file_is_in_the_contract_verbatim() -> None:
    text = INTERFACE.read_text()
    assert len(INTERFACE_FILES) == 4
    for path in INTERFACE_FILES:
        assert (REPO_ROOT / path).read_text().rstrip("\n") in text, path


@pytest.mark.parametrize(
    "specs",
    [
        DEPTH_NODE_PARAMETERS,
        INFERENCE_NODE_PARAMETERS,
        FALLBACK_NODE_PARAMETERS,
        EXECUTOR_NODE_PARAMETERS,
        SIM_WORLD_PARAMETERS,
    ],
)
def test_every_declared_parameter_is_in_the_contract(specs) -> None:
    documented = set(re.findall(r"^\| `([\w.]+)` \|", INTERFACE.read_text(), flags=re.MULTILINE))
    missing = [spec.name for spec in specs if spec.name not in documented]
    assert missing == []


def test_no_source_cites_a_design_file_outside_the_repository() -> None:
    citing = [
        str(path.relative_to(REPO_ROOT))
        for folder in ("src", "test", "benchmarks", "launch")
        for path in (REPO_ROOT / folder).rglob("*.py")
        if "DESIGN" + ".md" in path.read_text()
    ]
    assert citing == []


@pytest.mark.parametrize(
    "document",
    ["README.md", "CHANGELOG.md", "docs/interface.md", "docs/architecture.md"],
)
def test_relative_links_point_to_files(document: str) -> None:
    path = REPO_ROOT / document
    targets = re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", path.read_text())
    missing = [t for t in targets if not (path.parent / t).exists()]
    assert missing == []
