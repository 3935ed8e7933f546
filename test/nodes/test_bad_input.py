"""No silent wrong answers, no request that takes a node down: the inference and fallback nodes
in their own processes refuse each request outside its limits with a message naming the limit,
and keep serving."""

from __future__ import annotations

import numpy as np
import pytest
from gqstn_msgs.srv import DetectGrasp, PlanGrasp

from gqstn_ros.depth_image import metres_to_image
from gqstn_ros.nodes.topics import SERVICE_QOS
from gqstn_ros.planner_registry import default_models_dir
from ros_test_support import call_service, synthetic_depth_request

pytestmark = pytest.mark.ros

TIMEOUT_S = 60.0
MODELS = default_models_dir()


def call(client_node, client, request):
    _, executor = client_node
    return call_service(executor, client, request, TIMEOUT_S, repeatable=True)


def client_for(client_node, service_type, name: str):
    node, _ = client_node
    client = node.create_client(service_type, name, qos_profile=SERVICE_QOS)
    assert client.wait_for_service(timeout_sec=TIMEOUT_S), f"{name} never appeared"
    return client


def bad_detect_requests() -> list[tuple[str, DetectGrasp.Request, str]]:
    """(case, request, expected message part)."""
    cases = []

    def good() -> DetectGrasp.Request:
        depth, info = synthetic_depth_request(21)
        return DetectGrasp.Request(depth=depth, camera_info=info, disable_fallback=True)

    request = good()
    request.depth.width = 0  # the payload stays
    cases.append(("width 0 with a payload", request, "depth has width 0 but is not empty"))
    request = DetectGrasp.Request(camera_info=good().camera_info)
    cases.append(("camera_info alone", request, "camera_info comes without a depth image"))
    request = good()
    request.camera_info.k[2] = 1e6
    cases.append(
        ("principal point outside", request, "principal point (1e+06, 239.5) lies outside")
    )
    request = good()
    request.depth = metres_to_image(np.full((480, 640), 1e9, dtype=np.float32), "32FC1")
    cases.append(("depth of 1e9 m", request, "outside the range of camera kinect_v1, 0.4-4 m"))
    request = good()
    request.depth = metres_to_image(np.full((480, 640), 0.7, dtype=np.float32), "32FC1")
    cases.append(("empty table", request, "no object above the table"))
    request = good()
    request.depth = metres_to_image(np.full((2100, 2100), 0.7, dtype=np.float32), "32FC1")
    cases.append(("oversized image", request, "parameter max_image_pixels"))
    request = good()
    request.planner = "g" * 100
    cases.append(("long planner name", request, "planner has 100 characters"))
    return cases


@pytest.fixture(scope="module")
def needs_models() -> None:
    if not ((MODELS / "gqstn.pt").is_file() and (MODELS / "gqcnn_fast.pt").is_file()):
        pytest.skip("needs the shipped gqstn.pt and gqcnn_fast.pt")


def test_detect_grasp_refuses_requests_outside_the_limits(
    needs_models, start_node, client_node
) -> None:
    inference = start_node(
        "inference_node", "-p", f"models_dir:={MODELS}", "-p", "planners:=['gqstn']"
    )
    client = client_for(client_node, DetectGrasp, "/detect_grasp")
    depth, info = synthetic_depth_request(22)
    good = DetectGrasp.Request(depth=depth, camera_info=info, disable_fallback=True)
    for case, request, expected in bad_detect_requests():
        response = call(client_node, client, request)
        assert not response.success, case
        assert expected in response.message, f"{case}: {response.message}"
        response = call(client_node, client, good)
        assert response.success, f"after {case}: {response.message}"
    assert inference.is_running()


def test_plan_grasp_refuses_requests_outside_the_limits(
    needs_models, start_node, client_node
) -> None:
    fallback = start_node("fallback_node", "-p", f"models_dir:={MODELS}")
    client = client_for(client_node, PlanGrasp, "/plan_grasp")
    depth, info = synthetic_depth_request(23)
    cases = [
        (PlanGrasp.Request(depth=depth, camera_info=info, num_candidates=10**9), (
            "num_candidates 1000000000 is above the limit 10000 (parameter max_num_candidates)"
        )),
        (PlanGrasp.Request(depth=depth, camera_info=info, top_k=1000), (
            "top_k 1000 is above the limit 100"
        )),
        (PlanGrasp.Request(
            depth=metres_to_image(np.full((480, 640), 0.7, dtype=np.float32), "32FC1"),
            camera_info=info,
        ), "no object above the table"),
        (PlanGrasp.Request(
            depth=metres_to_image(np.full((8000, 8000), 0.7, dtype=np.float32), "32FC1"),
            camera_info=info,
        ), "depth is 8000x8000 = 64000000 pixels, more than the limit 4194304"),
    ]  # fmt: skip
    for request, expected in cases:
        response = call(client_node, client, request)
        assert not response.success
        assert expected in response.message, response.message
        response = call(
            client_node,
            client,
            PlanGrasp.Request(depth=depth, camera_info=info, num_candidates=200),
        )
        assert response.success, response.message
    assert fallback.is_running()
