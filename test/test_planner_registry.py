"""The planner registry: what each shipped planner declares, and what derives from it."""

from __future__ import annotations

import pytest

from gqstn_ros.detection import PlannerSpec
from gqstn_ros.planner_registry import (
    DEFAULT_PLANNERS,
    NETWORK_OPTIONS,
    NETWORK_PLANNERS,
    PLANNER_NAMES,
    PROP_PLANNER,
    load_planner,
    options_for,
    planner_labels,
    planner_spec,
)


def test_the_shipped_planners_keep_their_names_labels_and_roles() -> None:
    assert PLANNER_NAMES == ("gqstn", "multigrasp", "directgrasp", "prop_gqcnn")
    assert planner_labels() == {
        "gqstn": "GQ-STN",
        "multigrasp": "MultiGrasp",
        "directgrasp": "DirectGrasp",
        "prop_gqcnn": "Prop+GQ-CNN",
    }
    assert NETWORK_PLANNERS == DEFAULT_PLANNERS == ("gqstn", "multigrasp", "directgrasp")
    assert PROP_PLANNER == "prop_gqcnn"
    assert planner_spec("gqstn").checkpoints == ("gqstn.pt",)
    assert planner_spec("multigrasp").checkpoints == ("multigrasp.pt", "gqcnn.pt")


def test_options_reach_only_the_loaders_that_take_them() -> None:
    given = {
        "symmetric_views": 4,
        "judge_model": None,
        "view_scale": "metric",
        "replan_on_air": False,
        "raise_to_reach": True,
        "num_candidates": 50,
    }
    assert options_for("gqstn", **given) == {
        "symmetric_views": 4, "view_scale": "metric", "replan_on_air": False,
        "raise_to_reach": True,
    }  # fmt: skip
    assert options_for("prop_gqcnn", **given) == {"num_candidates": 50, "view_scale": "metric"}
    assert set(options_for("directgrasp", **dict.fromkeys(NETWORK_OPTIONS, 1))) == set(
        NETWORK_OPTIONS
    )


def test_an_unknown_planner_is_named_with_the_known_ones() -> None:
    with pytest.raises(ValueError, match="unknown planner 'gqcnn': expected one of gqstn, "):
        load_planner("gqcnn")
    with pytest.raises(ValueError, match="unknown planner"):
        options_for("alexnet")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": "GQ-STN", "label": "x", "loader": "m:f"}, "lower case"),
        ({"name": "", "label": "x", "loader": "m:f"}, "lower case"),
        ({"name": "mine", "label": "", "loader": "m:f"}, "label"),
        ({"name": "mine", "label": "Mine"}, "network module or its loader"),
        ({"name": "mine", "label": "Mine", "loader": "module.function"}, "module:function"),
    ],
)
def test_a_spec_that_cannot_be_served_is_refused(fields: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        PlannerSpec(**fields)
