"""The package's structure, read from the source: no package-level import cycle, geometry at
the bottom, thin nodes (no node module imports another; topic and service names in one module;
every parameter spec declared once)."""

from __future__ import annotations

import ast
import re
from collections import Counter
from pathlib import Path

from ros_test_support import REPO_ROOT

PACKAGE = REPO_ROOT / "src" / "gqstn_ros"
NODES = PACKAGE / "nodes"
# A string that is a whole ROS name: a topic, service or action (`~/` private to its node); a
# device path (/dev/...) is none.
ROS_NAME = re.compile(r"~?/(?!dev/)[A-Za-z_][A-Za-z0-9_/]*")
# Parameters of the same name in two nodes that are two different parameters, not a copy.
DISTINCT_PARAMETERS_OF_ONE_NAME = {
    # depth node: read-only, at least 0.1 s; simulated world: 0 turns the log off, settable
    # while running.
    "stats_period_s",
}


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, at any depth (a function's imports included)."""
    modules = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            assert not node.level, f"{path}: relative import"
            modules.add(node.module or "")
            modules.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
    return modules


def imported_units(path: Path) -> set[str]:
    """The gqstn_ros units (top-level module or subpackage) a file imports."""
    return {
        module.split(".")[1]
        for module in imported_modules(path)
        if module.startswith("gqstn_ros.") and module.split(".")[1]
    }


def unit_imports() -> dict[str, set[str]]:
    """unit -> the other units its files import."""
    imports: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        unit = path.relative_to(PACKAGE).parts[0].removesuffix(".py")
        if unit != "__init__":
            imports.setdefault(unit, set()).update(imported_units(path) - {unit})
    return imports


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected sets of more than one member (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(unit: str) -> None:
        index[unit] = low[unit] = len(index)
        stack.append(unit)
        for other in graph.get(unit, ()):
            if other not in index:
                visit(other)
                low[unit] = min(low[unit], low[other])
            elif other in stack:
                low[unit] = min(low[unit], index[other])
        if low[unit] == index[unit]:
            members = []
            while True:
                member = stack.pop()
                members.append(member)
                if member == unit:
                    break
            if len(members) > 1:
                found.append(sorted(members))

    for unit in sorted(graph):
        if unit not in index:
            visit(unit)
    return found


def test_cycles_finds_a_loop_through_three_units_and_nothing_in_a_chain() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []


def test_geometry_imports_nothing_of_the_package() -> None:
    assert imported_units(PACKAGE / "geometry.py") == set()


def test_no_package_level_import_cycle() -> None:
    assert cycles(unit_imports()) == []


def test_no_node_module_imports_another_node_module() -> None:
    node_modules = {f"gqstn_ros.nodes.{path.stem}" for path in NODES.glob("*_node.py")}
    assert len(node_modules) == 5
    for path in NODES.glob("*_node.py"):
        others = node_modules - {f"gqstn_ros.nodes.{path.stem}"}
        assert not imported_modules(path) & others, path.name


def test_topic_and_service_names_are_written_in_the_topics_module_only() -> None:
    written = {
        f"{path.name}:{node.lineno}: {node.value}"
        for path in NODES.glob("*.py")
        if path.name != "topics.py"
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and ROS_NAME.fullmatch(node.value)
    }
    assert not written


def test_every_parameter_spec_is_declared_once() -> None:
    names = Counter(
        call.args[0].value
        for path in PACKAGE.rglob("*.py")
        for call in ast.walk(ast.parse(path.read_text()))
        if isinstance(call, ast.Call)
        and getattr(call.func, "id", None) == "ParameterSpec"
        and call.args
        and isinstance(call.args[0], ast.Constant)
    )
    assert len(names) > 50  # every node's specs were read
    copies = {name for name, count in names.items() if count > 1}
    assert copies == DISTINCT_PARAMETERS_OF_ONE_NAME
