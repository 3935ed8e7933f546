import pytest
import torch
from conftest import (
    NORM,
    smooth_views,
    spread_heads,
    tiny_direct_grasp,
    tiny_gqcnn,
    tiny_multigrasp,
)
from conftest import tiny_gqstn as make_gqstn

from gqstn_ros.networks.checkpoint import save_checkpoint
from gqstn_ros.networks.export import (
    GraspEvaluator,
    check_onnx_agreement,
    export_checkpoint,
    export_evaluator,
    onnx_session,
)
from gqstn_ros.preprocessing import NetworkInputConfig, extract_crops

INPUTS = NetworkInputConfig(input_size=64)


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    directory = tmp_path_factory.mktemp("export")
    torch.manual_seed(5)
    gqcnn = spread_heads(tiny_gqcnn())
    save_checkpoint(directory / "gqcnn.pt", gqcnn, "gqcnn", gqcnn.config, NORM, {}, None, INPUTS)
    for kind, make in (
        ("gqstn", make_gqstn),
        ("directgrasp", tiny_direct_grasp),
        ("multigrasp", tiny_multigrasp),
    ):
        model = spread_heads(make(), 0.5)
        save_checkpoint(directory / f"{kind}.pt", model, kind, model.config, NORM, {}, None, INPUTS)
    return directory


@pytest.mark.parametrize("kind", ["gqstn", "directgrasp", "multigrasp"])
def test_onnx_agrees_with_torch_on_random_views(checkpoints, kind):
    onnx_path = export_checkpoint(
        checkpoints / f"{kind}.pt", checkpoints / f"{kind}.onnx", checkpoints / "gqcnn.pt"
    )
    views = smooth_views(3, size=64, seed=7) + 0.01 * torch.rand(3, 1, 64, 64)
    differences = check_onnx_agreement(
        checkpoints / f"{kind}.pt", onnx_path, views, checkpoints / "gqcnn.pt"
    )
    assert set(differences) == {"x", "y", "theta", "s", "depth", "q", "crop"}
    assert max(differences.values()) < 1e-4, differences


def test_evaluator_export_judges_given_grasps(tmp_path):
    evaluator = GraspEvaluator(spread_heads(tiny_gqcnn()).eval(), NORM)
    path = export_evaluator(evaluator, tmp_path / "evaluator.onnx", 64)
    view = smooth_views(1, size=64)
    params = torch.tensor([[0.1, -0.2, 0.5, 0.4], [0.0, 0.3, -1.0, 0.6], [0.2, 0.2, 0.0, 0.5]])
    depths = torch.tensor([0.66, 0.68, 0.7])
    with torch.no_grad():
        q, crops = evaluator(view, params, depths)
    assert torch.allclose(crops, extract_crops(view.expand(3, -1, -1, -1), params, 32))
    feeds = {"view": view.numpy(), "params": params.numpy(), "depths": depths.numpy()}
    q_onnx, crops_onnx = onnx_session(path).run(["q", "crop"], feeds)
    assert abs(q_onnx - q.numpy()).max() < 1e-5
    assert abs(crops_onnx - crops.numpy()).max() < 1e-5


def test_baselines_need_the_gqcnn(checkpoints, tmp_path):
    with pytest.raises(ValueError, match="GQ-CNN checkpoint"):
        export_checkpoint(checkpoints / "multigrasp.pt", tmp_path / "m.onnx")
