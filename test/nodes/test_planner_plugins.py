"""A planner added from outside the package: one folder and one entry-point line.

The test writes two planners into a folder of its own, as another distribution would install
them: `highest_point` (geometric: it grasps the surface nearest the camera) and `tiny_direct`
(a one-shot network: a narrow DirectGrasp declared by its own `NetworkSpec`). Each is a package
folder plus one line in the `gqstn_ros.planners` entry-point group of a `*.dist-info` beside
it; no file of gqstn_ros is touched. With that folder on PYTHONPATH the registry lists them,
checkpoints of the new network kind are written and read, its inference graph exports to ONNX,
and the real inference node serves both through /detect_grasp.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from gqstn_msgs.srv import DetectGrasp

from gqstn_ros.depth_image import depth_to_metres
from ros_test_support import (
    call_service,
    peer_environment,
    synthetic_depth_request,
)

pytestmark = pytest.mark.ros

TIMEOUT_S = 30.0

HIGHEST_POINT = {
    "__init__.py": '''
        """Grasps the surface nearest the camera, jaws across the image's v axis."""

        from gqstn_ros.detection import PlannerSpec

        PLANNER = PlannerSpec(
            name="highest_point", label="Highest point", loader="highest_point.planner:load"
        )
    ''',
    "planner.py": """
        import numpy as np

        from gqstn_ros.detection import PlannedGrasp
        from gqstn_ros.gripper import default_gripper

        NEAR_M = 0.005  # pixels this close to the nearest one form the grasped surface


        class HighestPoint:
            name = "highest_point"

            def __init__(self, gripper):
                self.gripper = gripper

            def plan(self, depth_m, intrinsics, top_k=1):
                v, u = np.nonzero(depth_m <= depth_m.min() + NEAR_M)
                depth = float(depth_m.min()) + 0.01
                stroke = self.gripper.stroke_in_pixels(np.array([depth]), intrinsics.fx)[0]
                thumbnail = np.zeros((32, 32), np.float32)
                grasp = PlannedGrasp(
                    (float(u.mean()), float(v.mean())), 0.0, 0.5 * float(stroke), depth, 0.9,
                    thumbnail, self.name,
                )
                return [grasp]


        def load(models_dir, backend="torch", gripper=None):
            return HighestPoint(gripper or default_gripper())
    """,
}

TINY_DIRECT = {
    "__init__.py": '''
        """A narrow DirectGrasp, judged by the models folder's GQ-CNN."""

        from gqstn_ros.detection import PlannerSpec

        PLANNER = PlannerSpec(
            name="tiny_direct",
            label="Tiny DirectGrasp",
            network="tiny_direct.network",
            checkpoints=("tiny_direct.pt", "gqcnn.pt"),
        )
    ''',
    "network.py": """
        from gqstn_ros.networks.configs import NetworkSpec, localization_only
        from gqstn_ros.planners.directgrasp.model import (
            DirectGrasp,
            DirectGraspConfig,
            direct_grasp_loss,
        )
        from gqstn_ros.networks.resnet import ResNetConfig

        NETWORK = NetworkSpec(
            kind="tiny_direct",
            config_class=DirectGraspConfig,
            configs={"cpu": DirectGraspConfig(ResNetConfig(depths=(1, 1, 1, 1), width=4))},
            build=lambda config, normalization, gqcnn: DirectGrasp(config, normalization),
            training_loss=localization_only(direct_grasp_loss),
        )
    """,
}

# Run with the plug-ins on PYTHONPATH: write the models folder (a tiny GQ-CNN and the new
# network's checkpoint), export the network's inference graph, and report what derives from
# the registry.
SETUP_SCRIPT = """
import json, sys
from pathlib import Path

import torch

from gqstn_ros.networks.checkpoint import load_checkpoint, save_checkpoint
from gqstn_ros.networks.configs import (
    TrainingStep, build_model, detector_kinds, model_config, network_spec,
)
from gqstn_ros.networks.export import check_onnx_agreement, export_checkpoint
from gqstn_ros.networks.gqcnn import GQCNN, GQCNNConfig
from gqstn_ros.planner_registry import NETWORK_PLANNERS, PLANNER_NAMES, planner_labels
from gqstn_ros.preprocessing import Normalization
from gqstn_ros.tools.benchmark.report import METHOD_LABELS

torch.manual_seed(0)
models = Path(sys.argv[1])
norm = Normalization(scale_mean=0.5)
provenance = {"data": "random initialisation", "code": "test_planner_plugins"}
gqcnn = GQCNN(GQCNNConfig(conv_width=4, fc_width=16, pose_width=4))
save_checkpoint(models / "gqcnn.pt", gqcnn, "gqcnn", gqcnn.config, norm, provenance)
network = build_model("tiny_direct", model_config("tiny_direct", "cpu"), norm)
save_checkpoint(models / "tiny_direct.pt", network, "tiny_direct", network.config, norm, provenance)
loaded = load_checkpoint(models / "tiny_direct.pt", expected_kind="tiny_direct")
views = 0.7 - 0.05 * torch.rand(2, 1, 224, 224)
targets = torch.tensor([[0.1, -0.2, 0.3, 0.5, 0.0], [-0.1, 0.2, -0.4, 0.6, 0.5]])
step = TrainingStep(xi=1.0, teacher_forcing=False, geometry_anchor=0.0, scale_mean=0.5)
loss = network_spec("tiny_direct").training_loss(loaded.model.train(), views, targets, step)
onnx = export_checkpoint(loaded, models / "export" / "tiny_direct.onnx", models / "gqcnn.pt")
agreement = check_onnx_agreement(loaded, onnx, views[:1], models / "gqcnn.pt")
print(json.dumps({
    "planners": PLANNER_NAMES, "networks": NETWORK_PLANNERS, "detectors": detector_kinds(),
    "labels": planner_labels(), "benchmark_labels": METHOD_LABELS,
    "loaded_kind": loaded.kind, "loss": float(loss.loss),
    "onnx_difference": max(agreement.values()),
}))
"""


# A plug-in that takes the name the benchmarks give the default pipeline: left out.
RESERVED_NAME = {
    "__init__.py": """
        from gqstn_ros.detection import PlannerSpec

        PLANNER = PlannerSpec(name="default", label="Default", loader="highest_point.planner:load")
    """,
}


def write_plugin(root: Path, name: str, files: dict[str, str]) -> None:
    """The planner's folder (`root/<name>/`) and its one entry-point line, in the `dist-info`
    folder that installing a distribution declaring it would write."""
    folder = root / name
    folder.mkdir()
    for file_name, text in files.items():
        (folder / file_name).write_text(textwrap.dedent(text).lstrip())
    metadata = root / f"{name}-0.1.dist-info"
    metadata.mkdir()
    (metadata / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    (metadata / "entry_points.txt").write_text(f"[gqstn_ros.planners]\n{name} = {name}\n")


@pytest.fixture
def plugins(tmp_path, monkeypatch) -> Path:
    """A folder holding both plug-ins, on the PYTHONPATH of every process started after."""
    root = tmp_path / "site"
    root.mkdir()
    write_plugin(root, "highest_point", HIGHEST_POINT)
    write_plugin(root, "tiny_direct", TINY_DIRECT)
    write_plugin(root, "reserved_name", RESERVED_NAME)
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))
    )
    return root


@pytest.fixture
def plugin_models(plugins, tmp_path) -> tuple[Path, dict]:
    """The plug-ins' models folder and what the registry derived, from a process of its own."""
    models = tmp_path / "models"
    models.mkdir()
    result = subprocess.run(
        [sys.executable, "-c", SETUP_SCRIPT, str(models)],
        env=peer_environment(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return models, json.loads(result.stdout.strip().splitlines()[-1])


def test_a_plugin_planner_is_listed_built_trained_and_exported(plugin_models) -> None:
    _, derived = plugin_models
    builtin = ["gqstn", "multigrasp", "directgrasp", "prop_gqcnn"]
    assert derived["planners"] == [*builtin, "highest_point", "tiny_direct"]  # not "default"
    assert derived["networks"] == ["gqstn", "multigrasp", "directgrasp", "tiny_direct"]
    assert derived["detectors"] == derived["networks"]
    assert derived["labels"]["highest_point"] == "Highest point"
    # The benchmarks label every planner, the default pipeline and the minor-axis grasp.
    assert derived["benchmark_labels"] == {
        **derived["labels"],
        "default": "default",
        "minor_axis": "minor axis",
    }
    assert derived["labels"]["prop_gqcnn"] == "Prop+GQ-CNN"
    assert derived["loaded_kind"] == "tiny_direct"
    assert np.isfinite(derived["loss"]) and derived["loss"] > 0
    assert derived["onnx_difference"] < 1e-3


def test_the_inference_node_serves_plugin_planners(plugin_models, start_node, client_node):
    models, _ = plugin_models
    node = start_node(
        "inference_node",
        "-p", f"models_dir:={models}",
        "-p", "planners:=['highest_point', 'tiny_direct']",
        "-p", "default_planner:=highest_point",
        "-p", "allow_fallback:=false",
        # The network is judged by its own GQ-CNN: the folder holds no judge.
        "-p", "judge_model:=''", "-p", "q_calibration_dir:=''",
    )  # fmt: skip
    client_side, executor = client_node
    client = client_side.create_client(DetectGrasp, "/detect_grasp")
    assert client.wait_for_service(timeout_sec=TIMEOUT_S), node.output()

    def detect(seed: int, planner: str = "") -> DetectGrasp.Response:
        depth, info = synthetic_depth_request(seed)
        request = DetectGrasp.Request(depth=depth, camera_info=info, planner=planner)
        # A plan: sent again if a reply is lost (ros_test_support.call_service).
        response = call_service(executor, client, request, TIMEOUT_S, repeatable=True)
        return response, depth_to_metres(depth)

    response, depth = detect(3)
    assert response.success, response.message
    assert response.grasp.planner == "highest_point"
    rows, columns = np.nonzero((depth > 0) & (depth < 0.65))  # the box on the table
    u, v = response.grasp.center_px
    assert columns.min() <= u <= columns.max() and rows.min() <= v <= rows.max()

    response, _ = detect(4, "tiny_direct")
    assert response.success, response.message
    assert response.grasp.planner == "tiny_direct"
    assert 0.0 <= response.grasp.q_value <= 1.0

    response, _ = detect(5, "gqstn")
    assert not response.success and "not loaded by this node" in response.message


def test_planners_that_take_no_judge_need_no_judge_file(plugins, start_node, client_node, tmp_path):
    # An empty models folder: neither gqcnn_judge.pt nor judge_q_calibration/ is there, and
    # the node's defaults name both. A planner that takes no judge starts and serves anyway.
    empty = tmp_path / "empty_models"
    empty.mkdir()
    node = start_node(
        "inference_node",
        "-p", f"models_dir:={empty}",
        "-p", "planners:=['highest_point']",
        "-p", "default_planner:=highest_point",
        "-p", "allow_fallback:=false",
    )  # fmt: skip
    client_side, executor = client_node
    client = client_side.create_client(DetectGrasp, "/detect_grasp")
    assert client.wait_for_service(timeout_sec=TIMEOUT_S), node.output()
    depth, info = synthetic_depth_request(3)
    request = DetectGrasp.Request(depth=depth, camera_info=info, planner="highest_point")
    response = call_service(executor, client, request, TIMEOUT_S, repeatable=True)
    assert response.success and response.grasp.planner == "highest_point", response.message
