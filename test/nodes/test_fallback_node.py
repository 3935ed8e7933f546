"""fallback_node in its own process over DDS: /plan_grasp refuses bad requests with a reason and
keeps serving; the inference node's fallback call reaches it; a real Prop+GQ-CNN answers."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from gqstn_msgs.srv import DetectGrasp, PlanGrasp
from model_support import checkpoints_for_gripper
from sensor_msgs.msg import CameraInfo

from gqstn_ros.camera_model import KINECT_V1
from gqstn_ros.depth_image import intrinsics_to_camera_info, metres_to_image
from gqstn_ros.grasping.alternatives import CLOSES_ON_AIR, PALM_BLOCKED
from ros_test_support import call_service, synthetic_depth_request

pytestmark = pytest.mark.ros

TIMEOUT_S = 150.0  # a generous bound: a loaded machine answers late, never wrongly
STARTUP_TIMEOUT_S = 60.0  # a node loading torch and a model on a loaded 2-core machine


def call(client_node, service_type, name: str, request):
    node, executor = client_node
    client = node.create_client(service_type, name)
    assert client.wait_for_service(timeout_sec=TIMEOUT_S), f"{name} never appeared"
    return call_service(executor, client, request, TIMEOUT_S, repeatable=True)


def plan_request(seed: int, **fields) -> PlanGrasp.Request:
    depth, info = synthetic_depth_request(seed)
    return PlanGrasp.Request(depth=depth, camera_info=info, **fields)


def stopped_at_start(node) -> str:
    """The output of a node that must stop at start with a FATAL (exit code 2)."""
    assert node.process.wait(STARTUP_TIMEOUT_S) == 2, node.output()
    node.reader.join(5)
    assert "[FATAL]" in node.output(), node.output()
    return node.output()


def test_a_missing_ranking_model_stops_the_node_at_start(start_node, tmp_path) -> None:
    output = stopped_at_start(start_node("fallback_node", "-p", f"models_dir:={tmp_path}"))
    assert "invalid configuration: parameter ranking_model: prop_gqcnn cannot be loaded" in output
    assert f"{tmp_path / 'gqcnn.pt'}" in output


def test_bad_requests_are_refused_and_the_node_keeps_serving(start_node, client_node) -> None:
    from gqstn_ros.planner_registry import default_models_dir

    fallback = start_node("fallback_node", "-p", f"models_dir:={default_models_dir()}")
    bad_cases = []
    request = plan_request(1)
    request.depth.encoding = "mono8"
    bad_cases.append((request, "unsupported depth encoding 'mono8'"))
    request = plan_request(1)
    request.depth.data = request.depth.data[:-2]
    bad_cases.append((request, "data length"))
    request = plan_request(1)
    request.camera_info = CameraInfo()
    bad_cases.append((request, "the request has no camera_info"))
    request = plan_request(1)
    request.depth = metres_to_image(np.zeros((480, 640)), "32FC1")
    bad_cases.append((request, "invalid pixels"))
    bad_cases.append((PlanGrasp.Request(), "the request has no depth image"))
    for request, expected in bad_cases:
        response = call(client_node, PlanGrasp, "/plan_grasp", request)
        assert not response.success and expected in response.message, response.message
        response = call(client_node, PlanGrasp, "/plan_grasp", plan_request(2, num_candidates=50))
        assert response.success, response.message
    assert fallback.is_running()


def test_inference_node_reports_what_the_fallback_answered(
    start_node, client_node, tmp_path
) -> None:
    if importlib.util.find_spec("gqstn_ros.networks.planners") is None:
        pytest.skip("gqstn_ros.networks.planners is not written yet: no network planner")
    from test_inference_node import network_models_dir

    from gqstn_ros.planner_registry import default_models_dir

    models_dir = network_models_dir(tmp_path / "networks")
    start_node("fallback_node", "-p", f"models_dir:={default_models_dir()}")
    inference = start_node(
        "inference_node",
        "-p",
        f"models_dir:={models_dir}",
        "-p",
        "planners:=['gqstn']",
        "-p",
        "q_threshold:=1.0",
        "-p",
        "min_object_area_m2:=0.0",  # no scene check here: GQ-STN answers on a bare table
        "-p",
        "fallback_timeout_s:=120.0",  # the fallback's answer, not a timeout, on a busy machine
    )
    inference.wait_for_log("fallback /plan_grasp is reachable", STARTUP_TIMEOUT_S)
    # A bare table: the fallback node refuses it; GQ-STN (scene check off) still answers.
    depth = metres_to_image(np.full((480, 640), 0.7, dtype=np.float32), "32FC1")
    info = intrinsics_to_camera_info(KINECT_V1)
    response = call(
        client_node,
        DetectGrasp,
        "/detect_grasp",
        DetectGrasp.Request(depth=depth, camera_info=info),
    )
    assert response.success and not response.used_fallback, response.message
    assert "fallback failed: no object above the table" in response.message, response.message


def test_prop_gqcnn_plans_grasps(start_node, client_node, tmp_path) -> None:
    if importlib.util.find_spec("gqstn_ros.planners.prop_gqcnn.planner") is None:
        pytest.skip("gqstn_ros.planners.prop_gqcnn.planner is not written yet")
    from gqstn_ros.planner_registry import default_models_dir

    models_dir = default_models_dir()
    if not (models_dir / "gqcnn.pt").is_file():
        torch = pytest.importorskip("torch")
        from gqstn_ros.networks.checkpoint import save_checkpoint
        from gqstn_ros.networks.gqcnn import GQCNN, GQCNNConfig
        from gqstn_ros.preprocessing import Normalization

        torch.manual_seed(0)
        gqcnn = GQCNN(GQCNNConfig(conv_width=4, fc_width=16, pose_width=4))
        provenance = {"data": "random initialisation (node test)", "code": "test_fallback_node"}
        save_checkpoint(
            tmp_path / "gqcnn.pt", gqcnn, "gqcnn", gqcnn.config, Normalization(), provenance
        )
        models_dir = tmp_path
    start_node("fallback_node", "-p", f"models_dir:={models_dir}")
    request = plan_request(3, num_candidates=100, top_k=3)
    response = call(client_node, PlanGrasp, "/plan_grasp", request)
    assert response.success, response.message
    assert 1 <= len(response.grasps) <= 3
    q_values = [grasp.q_value for grasp in response.grasps]
    assert q_values == sorted(q_values, reverse=True)
    for grasp in response.grasps:
        assert grasp.planner == "prop_gqcnn" and 0.0 < grasp.width <= 0.085 + 1e-6  # float32
        assert grasp.header.stamp == request.depth.header.stamp
        assert (grasp.thumbnail.width, grasp.thumbnail.height) == (32, 32)


def test_ranking_model_is_chosen_by_parameter_and_logged(start_node, client_node) -> None:
    from gqstn_ros.planner_registry import default_models_dir

    models_dir = default_models_dir()
    if not (models_dir / "gqcnn_fast.pt").is_file() or not (models_dir / "gqcnn.pt").is_file():
        pytest.skip("needs the shipped gqcnn.pt and gqcnn_fast.pt")
    default = start_node("fallback_node", "-p", f"models_dir:={models_dir}")
    default.wait_for_log("fallback node ready", STARTUP_TIMEOUT_S)
    assert "ranking with gqcnn_fast.pt (fast GQ-CNN" in default.output()
    default.stop()
    chosen = start_node(
        "fallback_node", "-p", f"models_dir:={models_dir}", "-p", "ranking_model:=gqcnn.pt"
    )
    chosen.wait_for_log("fallback node ready", STARTUP_TIMEOUT_S)
    assert "ranking with gqcnn.pt (cpu GQ-CNN" in chosen.output()
    chosen.stop()
    missing = start_node(
        "fallback_node", "-p", f"models_dir:={models_dir}", "-p", "ranking_model:=nothing.pt"
    )
    output = stopped_at_start(missing)
    assert f"no model loaded: {models_dir / 'nothing.pt'} not found" in output


def test_the_fallback_grasp_replaces_the_primary_only_when_the_same_judge_rates_it_higher(
    start_node, client_node
) -> None:
    from gqstn_ros.planner_registry import default_models_dir

    models_dir = default_models_dir()
    start_node("fallback_node", "-p", f"models_dir:={models_dir}")
    inference = start_node(
        "inference_node",
        "-p", f"models_dir:={models_dir}",
        "-p", "planners:=['gqstn']",
        "-p", "q_threshold:=1.0",  # never robust: every request asks the fallback
        "-p", "minor_axis_alternative:=false",  # the fallback's grasp against GQ-STN's alone
    )  # fmt: skip
    inference.wait_for_log("inference node ready", STARTUP_TIMEOUT_S)
    inference.wait_for_log("fallback /plan_grasp is reachable", STARTUP_TIMEOUT_S)
    for seed in range(4):
        depth, info = synthetic_depth_request(seed)
        primary = call(
            client_node,
            DetectGrasp,
            "/detect_grasp",
            DetectGrasp.Request(depth=depth, camera_info=info, disable_fallback=True),
        )
        chosen = call(
            client_node,
            DetectGrasp,
            "/detect_grasp",
            DetectGrasp.Request(depth=depth, camera_info=info),
        )
        assert primary.success and chosen.success, (primary.message, chosen.message)
        if chosen.used_fallback:
            # q on GQ-STN's own scale: the fallback's grasp won only by being judged better
            assert chosen.grasp.planner == "prop_gqcnn"
            assert chosen.grasp.q_value > primary.grasp.q_value
        else:
            assert "is no better" in chosen.message, chosen.message
            assert chosen.grasp.center_px.tolist() == primary.grasp.center_px.tolist()


def test_the_default_pipeline_answers_the_best_judged_of_three_grasps(
    start_node, client_node
) -> None:
    """Without a named planner: GQ-STN's grasp, the minor-axis grasp and the fallback's, asked
    on every request, robust or not; the answer is never judged below GQ-STN's own grasp unless
    that one cannot be carried out (closes on nothing, or its palm lands on the object), and
    says which grasp won. A request naming gqstn gets GQ-STN's
    grasp or the fallback's."""
    from gqstn_ros.planner_registry import default_models_dir

    models_dir = default_models_dir()
    start_node("fallback_node", "-p", f"models_dir:={models_dir}")
    inference = start_node(
        "inference_node", "-p", f"models_dir:={models_dir}", "-p", "planners:=['gqstn']",
        "-p", "fallback_timeout_s:=120.0",  # the fallback's answer, not a timeout
    )  # fmt: skip
    inference.wait_for_log("inference node ready", STARTUP_TIMEOUT_S)
    inference.wait_for_log("fallback /plan_grasp is reachable", STARTUP_TIMEOUT_S)
    winners = set()
    for seed in range(6):
        depth, info = synthetic_depth_request(seed)
        own = call(
            client_node,
            DetectGrasp,
            "/detect_grasp",
            DetectGrasp.Request(depth=depth, camera_info=info, disable_fallback=True),
        )
        best = call(
            client_node,
            DetectGrasp,
            "/detect_grasp",
            DetectGrasp.Request(depth=depth, camera_info=info),
        )
        named = call(
            client_node,
            DetectGrasp,
            "/detect_grasp",
            DetectGrasp.Request(depth=depth, camera_info=info, planner="gqstn"),
        )
        assert own.success and best.success and named.success, (own.message, best.message)
        assert own.grasp.planner == "gqstn" and not own.used_fallback, own.message
        assert named.grasp.planner in ("gqstn", "prop_gqcnn"), named.message
        # Judged below GQ-STN's own grasp only when that one cannot be carried out.
        infeasible = CLOSES_ON_AIR in best.message or PALM_BLOCKED in best.message
        assert infeasible or best.grasp.q_value >= own.grasp.q_value - 1e-6, best.message
        assert "fallback" in best.message, best.message  # asked, robust or not
        winners.add(best.grasp.planner)
        if best.grasp.planner == "minor_axis":
            assert "the minor-axis grasp, judged q=" in best.message, best.message
            assert infeasible or best.grasp.q_value > own.grasp.q_value
        elif best.grasp.planner == "prop_gqcnn":
            assert best.used_fallback, best.message
            assert infeasible or best.grasp.q_value > own.grasp.q_value, best.message
        else:
            assert best.grasp.center_px.tolist() == own.grasp.center_px.tolist(), best.message
    assert winners - {"gqstn"}, f"GQ-STN's grasp won every time: {winners}"
    # A bare table: GQ-STN refuses it, and so do both alternatives; the answer says why.
    bare = metres_to_image(np.full((480, 640), 0.7, dtype=np.float32), "32FC1")
    refused = call(
        client_node,
        DetectGrasp,
        "/detect_grasp",
        DetectGrasp.Request(depth=bare, camera_info=intrinsics_to_camera_info(KINECT_V1)),
    )
    assert not refused.success and not refused.used_fallback, refused.message
    assert refused.message.startswith("no object above the table"), refused.message
    assert "fallback failed: no object above the table" in refused.message, refused.message


def test_a_wider_gripper_profile_plans_grasps_wider_than_85_mm(
    start_node, client_node, tmp_path
) -> None:
    """A 110 mm square box: no grasp fits the 2F-85's 85 mm stroke, the 2F-140's 140 mm does.
    The ranking GQ-CNN must have been trained for the gripper, else the node stops at start."""
    from gqstn_ros.camera_model import KINECT_V1
    from gqstn_ros.depth_image import intrinsics_to_camera_info
    from gqstn_ros.planner_registry import default_models_dir
    from gqstn_ros.profiles import load_gripper_profile

    models_dir = default_models_dir()
    if not (models_dir / "gqcnn_fast.pt").is_file():
        pytest.skip("needs the shipped gqcnn_fast.pt")
    franka = start_node(
        "fallback_node", "-p", f"models_dir:={models_dir}", "-p", "gripper:=franka_hand"
    )
    assert franka.process.wait(60) == 2, franka.output()
    franka.reader.join(5)
    assert "[FATAL]" in franka.output()
    assert (
        f"invalid configuration: parameter gripper: planner prop_gqcnn: checkpoint "
        f"{models_dir / 'gqcnn_fast.pt'} was trained for gripper 'robotiq_2f85', not for "
        "gripper 'franka_hand'"
    ) in franka.output()

    robotiq_2f140 = load_gripper_profile("robotiq_2f140")
    wide_models = checkpoints_for_gripper(models_dir, tmp_path, robotiq_2f140, ["gqcnn_fast.pt"])
    wide = start_node(
        "fallback_node", "-p", f"models_dir:={wide_models}", "-p", "gripper:=robotiq_2f140"
    )
    wide.wait_for_log("fallback node ready", STARTUP_TIMEOUT_S)
    assert "gripper robotiq_2f140 (140 mm stroke)" in wide.output()
    depth = np.full((480, 640), 0.7, dtype=np.float32)
    side_px = round(0.11 * KINECT_V1.fx / 0.62)  # a 110 mm square box top, 62 cm away
    top, left = 240 - side_px // 2, 320 - side_px // 2
    depth[top : top + side_px, left : left + side_px] = 0.62
    request = PlanGrasp.Request(
        depth=metres_to_image(depth, "32FC1"),
        camera_info=intrinsics_to_camera_info(KINECT_V1),
        num_candidates=300,
        top_k=3,
    )
    response = call(client_node, PlanGrasp, "/plan_grasp", request)
    assert response.success, response.message
    for grasp in response.grasps:
        assert 0.085 < grasp.width <= robotiq_2f140.max_width + 1e-6, grasp.width
