"""NetworkPlanner.judge: grasps of any planner scored by the planner's own GQ-CNN, one scale."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import frame_with_box

from gqstn_ros.camera_model import KINECT_V1
from gqstn_ros.networks.planners import load_network_planner


@pytest.mark.parametrize("backend", ["torch", "onnxruntime"])
def test_judging_a_planners_own_grasp_gives_its_q(models_dir, tmp_path, backend) -> None:
    planner = load_network_planner("gqstn", models_dir, backend, onnx_cache_dir=tmp_path)
    depth = frame_with_box(4)
    (grasp,) = planner.plan(depth, KINECT_V1)
    q = planner.judge(
        depth,
        KINECT_V1,
        np.array([grasp.center_px]),
        np.array([grasp.angle]),
        np.array([grasp.width_px]),
        np.array([grasp.depth]),
    )
    assert q.shape == (1,)
    assert q[0] == pytest.approx(grasp.q_value, abs=1e-4)


def test_judge_scores_several_grasps_at_once_and_tells_them_apart(models_dir) -> None:
    planner = load_network_planner("multigrasp", models_dir)
    depth = frame_with_box(5)
    centers = np.array([[320.0, 240.0], [100.0, 100.0], [500.0, 400.0]])
    q = planner.judge(
        depth, KINECT_V1, centers, np.array([0.0, 0.5, 1.0]), np.full(3, 60.0), np.full(3, 0.68)
    )
    assert q.shape == (3,) and np.all((q >= 0) & (q <= 1))
    assert len(set(np.round(q, 6))) > 1
