"""Shared fixtures of the synthetic-world tests: settled scenes are built once per session."""

from __future__ import annotations

import pytest

from gqstn_ros.sim.objects import generate_object
from gqstn_ros.sim.scene import Scene
from gqstn_ros.sim.world_config import DropConfig, WorldConfig

# Off-centre drop: the object lies away from the image centre, which sees the bare table.
OFF_CENTRE_DROP = DropConfig(center_x=0.12, center_y=0.05, radius=0.02)


@pytest.fixture(scope="session")
def box_scene() -> Scene:
    """A settled scene: one box dropped off the image centre."""
    scene = Scene.build([generate_object("box", 3)], WorldConfig(drop=OFF_CENTRE_DROP), seed=5)
    result = scene.settle()
    assert result.ok, result.message
    return scene


@pytest.fixture(scope="session")
def clutter_scene() -> Scene:
    """A settled scene with a mug, a concave prism and a sphere near the centre."""
    objects = [
        generate_object("mug", 3),
        generate_object("prism_concave", 5),
        generate_object("sphere", 2),
    ]
    scene = Scene.build(objects, WorldConfig(), seed=4)
    result = scene.settle()
    assert result.ok, result.message
    return scene
