"""inference_node in its own process, called over DDS: every failure a caller can cause comes
back as success false with a message naming it, and the next request is still served."""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path

import numpy as np
import pytest
from gqstn_msgs.msg import Grasp
from gqstn_msgs.srv import DetectGrasp
from model_support import checkpoints_for_gripper
from rcl_interfaces.msg import Parameter, ParameterType, ParameterValue
from rcl_interfaces.srv import SetParameters
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CameraInfo, Image
from visualization_msgs.msg import MarkerArray

from gqstn_ros.camera_model import KINECT_V1
from gqstn_ros.depth_frames import prepare_depth_frame
from gqstn_ros.depth_image import (
    array_to_image,
    depth_to_metres,
    intrinsics_to_camera_info,
    metres_to_image,
)
from gqstn_ros.depth_processing import InpaintConfig
from ros_test_support import call_service, spin_until, synthetic_depth_request

pytestmark = pytest.mark.ros

TIMEOUT_S = 20.0
STARTUP_TIMEOUT_S = 60.0  # a node loading torch and its model on a loaded 2-core machine


def start_inference(start_node, *ros_args: str):
    """The inference node with the shipped DirectGrasp only (the quickest to load), no fallback;
    `ros_args` (-p name:=value pairs) come after these and override them."""
    from gqstn_ros.planner_registry import default_models_dir

    return start_node(
        "inference_node",
        "-p", f"models_dir:={default_models_dir()}",
        "-p", "planners:=['directgrasp']",
        "-p", "default_planner:=directgrasp",
        "-p", "allow_fallback:=false",
        *ros_args,
    )  # fmt: skip


def stopped_at_start(node) -> str:
    """The output of a node that must stop at start with a FATAL (exit code 2)."""
    assert node.process.wait(60) == 2, node.output()
    node.reader.join(5)
    assert "[FATAL]" in node.output(), node.output()
    return node.output()


def call(client_node, client, request):
    _, executor = client_node
    return call_service(executor, client, request, TIMEOUT_S, repeatable=True)


def detect_client(client_node):
    node, _ = client_node
    client = node.create_client(DetectGrasp, "/detect_grasp")
    # The node may still be loading torch and its model: a start-up bound, not a reply's.
    assert client.wait_for_service(timeout_sec=STARTUP_TIMEOUT_S), "/detect_grasp never appeared"
    return client


def spoiled_requests() -> list[tuple[str, DetectGrasp.Request, str]]:
    """(case, request, expected message part) for each bad request image."""
    cases = []

    def request() -> DetectGrasp.Request:
        depth, info = synthetic_depth_request(5)
        return DetectGrasp.Request(depth=depth, camera_info=info)

    bad = request()
    bad.depth.encoding = "rgb8"
    cases.append(("encoding", bad, "unsupported depth encoding 'rgb8'"))
    bad = request()
    bad.depth.data = bad.depth.data[:-4]
    cases.append(("data length", bad, "data length"))
    bad = request()
    bad.depth.height = 0
    cases.append(("zero size", bad, "zero size"))
    bad = request()
    bad.depth = metres_to_image(np.zeros((480, 640)), "16UC1", bad.depth.header)
    cases.append(("all invalid", bad, "invalid pixels"))
    bad = request()
    bad.camera_info = intrinsics_to_camera_info(KINECT_V1.scaled(320, 240))
    cases.append(("camera_info size", bad, "mismatched camera_info"))
    bad = request()
    bad.camera_info.k = [0.0] * 9
    cases.append(("camera_info K", bad, "no valid focal lengths"))
    bad = request()
    bad.depth = metres_to_image(np.full((240, 320), 0.7), "32FC1")
    bad.camera_info = CameraInfo()
    cases.append(("no camera_info known", bad, "none is known for a 320x240 image"))
    bad = request()
    bad.planner = "graspnet"
    cases.append(("unknown planner", bad, "unknown planner 'graspnet'"))
    bad = request()
    bad.planner = "multigrasp"
    cases.append(("planner not loaded here", bad, "not loaded by this node"))
    bad = request()
    bad.planner = "prop_gqcnn"
    cases.append(
        (
            "planner of the fallback node, which is not running",
            bad,
            "planner prop_gqcnn is served by the fallback node: fallback /plan_grasp is not "
            "available",
        )
    )
    return cases


def test_a_missing_model_stops_the_node_at_start_naming_the_file(start_node, tmp_path) -> None:
    output = stopped_at_start(start_node("inference_node", "-p", f"models_dir:={tmp_path}"))
    # The default judge is looked for first, and the message says how to do without it.
    assert f"parameter judge_model: {tmp_path / 'gqcnn_judge.pt'} does not exist" in output
    assert "judge_model:='' q_calibration_dir:=''" in output
    output = stopped_at_start(
        start_node("inference_node", "-p", f"models_dir:={tmp_path}", *OWN_HEAD_PARAMETERS)
    )
    assert f"models directory {tmp_path}" not in output  # the folder exists: the file is named
    assert "invalid configuration: parameter planners: planner gqstn cannot be loaded" in output
    assert str(tmp_path / "gqstn.pt") in output
    output = stopped_at_start(start_inference(start_node, "-p", "judge_model:=nothing.pt"))
    assert "parameter judge_model:" in output and "nothing.pt does not exist" in output
    garbage = tmp_path / "judge.pt"
    garbage.write_bytes(b"not a checkpoint")
    output = stopped_at_start(start_inference(start_node, "-p", f"judge_model:={garbage}"))
    assert f"checkpoint {garbage} cannot be read" in output


def test_every_bad_request_is_refused_and_the_node_keeps_serving(start_node, client_node) -> None:
    inference = start_inference(start_node, "-p", "max_frame_age_s:=1.0")
    client = detect_client(client_node)
    response = call(client_node, client, DetectGrasp.Request())
    assert not response.success
    assert response.message == (
        "no depth frame received yet on /depth/inpainted: nothing publishes it (is the depth "
        "node running?)"
    )

    for case, request, expected in spoiled_requests():
        response = call(client_node, client, request)
        assert not response.success, case
        assert expected in response.message, f"{case}: {response.message}"
        # A good request afterwards is answered.
        depth, info = synthetic_depth_request(6)  # a box on the table
        metres = depth_to_metres(depth)
        metres[:, :3] = np.nan  # NaN and inf pixels too: inpainted, not refused
        metres[:, 3] = np.inf
        depth.data = array_to_image(metres.astype(np.float32), "32FC1", depth.header).data
        response = call(client_node, client, DetectGrasp.Request(depth=depth, camera_info=info))
        assert response.success, f"{case}: {response.message}"
    assert inference.is_running()


def test_latest_frame_is_used_until_it_is_stale(start_node, client_node) -> None:
    node, executor = client_node
    start_inference(start_node, "-p", "max_frame_age_s:=0.5")
    client = detect_client(client_node)
    qos = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE)
    image_publisher = node.create_publisher(Image, "/depth/inpainted", qos)
    info_publisher = node.create_publisher(CameraInfo, "/depth/inpainted/camera_info", qos)
    assert spin_until(executor, lambda: image_publisher.get_subscription_count() > 0, TIMEOUT_S)
    depth, info = synthetic_depth_request(9)
    # Fresh frame: answered. Best effort: publish until the node has it.
    deadline = time.monotonic() + TIMEOUT_S
    response = DetectGrasp.Response()
    while not response.success and time.monotonic() < deadline:
        info_publisher.publish(info)
        image_publisher.publish(depth)
        spin_until(executor, lambda: False, 0.1)
        response = call(client_node, client, DetectGrasp.Request())
    assert response.success, response.message
    spin_until(executor, lambda: False, 0.8)
    response = call(client_node, client, DetectGrasp.Request())
    assert not response.success
    assert "latest depth frame is stale" in response.message
    assert "max_frame_age_s 0.5" in response.message


def inpainted_publishers(client_node):
    """Publishers of /depth/inpainted and its camera_info, once the node subscribes to both."""
    node, executor = client_node
    qos = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE)
    image_publisher = node.create_publisher(Image, "/depth/inpainted", qos)
    info_publisher = node.create_publisher(CameraInfo, "/depth/inpainted/camera_info", qos)
    assert spin_until(executor, lambda: image_publisher.get_subscription_count() > 0, TIMEOUT_S)
    assert spin_until(executor, lambda: info_publisher.get_subscription_count() > 0, TIMEOUT_S)
    return image_publisher, info_publisher


def test_camera_info_arriving_after_its_frame_is_paired(start_node, client_node) -> None:
    _, executor = client_node
    start_inference(start_node, "-p", "max_frame_age_s:=0.0")
    client = detect_client(client_node)
    image_publisher, info_publisher = inpainted_publishers(client_node)
    depth, info = synthetic_depth_request(11)
    deadline = time.monotonic() + TIMEOUT_S
    message = ""
    while "no matching camera_info" not in message and time.monotonic() < deadline:
        image_publisher.publish(depth)  # the frame alone, until the node has it
        spin_until(executor, lambda: False, 0.1)
        message = call(client_node, client, DetectGrasp.Request()).message
    assert "no matching camera_info received on /depth/inpainted/camera_info" in message
    # Its camera_info comes afterwards: the frame already received is now usable.
    response = DetectGrasp.Response()
    while not response.success and time.monotonic() < deadline:
        info_publisher.publish(info)
        spin_until(executor, lambda: False, 0.1)
        response = call(client_node, client, DetectGrasp.Request())
    assert response.success, response.message
    # A request image without camera_info takes the received one of its size.
    depth, _ = synthetic_depth_request(12)
    response = call(client_node, client, DetectGrasp.Request(depth=depth))
    assert response.success, response.message


def test_a_request_waits_for_the_camera_info_of_a_frame_that_came_first(
    start_node, client_node
) -> None:
    _, executor = client_node
    wait_s = 3.0
    start_inference(start_node, "-p", "max_frame_age_s:=0.0", "-p", f"camera_info_wait_s:={wait_s}")
    client = detect_client(client_node)
    image_publisher, info_publisher = inpainted_publishers(client_node)
    depth, info = synthetic_depth_request(13)
    message = "no depth frame"
    deadline = time.monotonic() + TIMEOUT_S
    while message.startswith("no depth frame") and time.monotonic() < deadline:
        image_publisher.publish(depth)  # the frame alone, until the node has it
        spin_until(executor, lambda: False, 0.1)
        message = call(client_node, client, DetectGrasp.Request()).message
    # No camera_info came within the wait: refused, naming what is missing.
    assert "no matching camera_info received on /depth/inpainted/camera_info" in message
    # A request now waits; the camera_info published during the wait completes the frame.
    started = time.monotonic()
    future = client.call_async(DetectGrasp.Request())
    spin_until(executor, future.done, 0.5)
    assert not future.done(), future.result()
    info_publisher.publish(info)
    assert spin_until(executor, future.done, TIMEOUT_S)
    elapsed_s = time.monotonic() - started
    assert future.result().success, future.result().message
    assert elapsed_s < wait_s, f"answered after {elapsed_s:.2f} s: the wait was not cut short"


def set_parameter(client_node, name: str, value: ParameterValue) -> tuple[bool, str]:
    node, _ = client_node
    client = node.create_client(SetParameters, "/inference_node/set_parameters")
    assert client.wait_for_service(timeout_sec=STARTUP_TIMEOUT_S)
    request = SetParameters.Request(parameters=[Parameter(name=name, value=value)])
    result = call(client_node, client, request).results[0]
    return result.successful, result.reason


def test_parameters_are_validated_at_run_time(start_node, client_node) -> None:
    node = start_inference(start_node)
    double = ParameterType.PARAMETER_DOUBLE
    string = ParameterType.PARAMETER_STRING
    ok, reason = set_parameter(
        client_node, "q_threshold", ParameterValue(type=double, double_value=1.5)
    )
    assert not ok and "q_threshold out of range" in reason  # the descriptor range
    ok, reason = set_parameter(
        client_node, "default_planner", ParameterValue(type=string, string_value="graspnet")
    )
    assert not ok and "'graspnet' is not one of gqstn" in reason
    ok, reason = set_parameter(
        client_node,
        "hand_eye.orientation_xyzw",
        ParameterValue(type=ParameterType.PARAMETER_DOUBLE_ARRAY, double_array_value=[0.0] * 4),
    )
    assert not ok and "quaternion norm" in reason
    ok, reason = set_parameter(
        client_node, "backend", ParameterValue(type=string, string_value="onnxruntime")
    )
    assert not ok and "read-only" in reason
    ok, _ = set_parameter(client_node, "q_threshold", ParameterValue(type=double, double_value=0.7))
    assert ok
    # The threshold's earlier name still works, with a deprecation warning.
    ok, _ = set_parameter(
        client_node, "robust_threshold", ParameterValue(type=double, double_value=0.6)
    )
    assert ok
    node.wait_for_log(
        "parameter robust_threshold is deprecated and will be removed: use q_threshold"
    )


# Each network judged by its own GQ-CNN head, with raw q (the paper's setting).
OWN_HEAD_PARAMETERS = ("-p", "judge_model:=''", "-p", "q_calibration_dir:=''")


def network_models_dir(tmp_path: Path) -> Path:
    """The shipped models/ when it has gqstn.pt, else a small randomly initialised GQ-STN.

    Random weights exercise the whole path (view, STN, GQ-CNN, messages) but not grasp quality.
    """
    from gqstn_ros.planner_registry import default_models_dir

    if (default_models_dir() / "gqstn.pt").is_file():
        return default_models_dir()
    from gqstn_ros.networks.checkpoint import save_checkpoint
    from gqstn_ros.networks.gqcnn import GQCNN, GQCNNConfig
    from gqstn_ros.networks.resnet import ResNetConfig
    from gqstn_ros.planners.gqstn.model import GQSTN, GQSTNConfig
    from gqstn_ros.preprocessing import NetworkInputConfig, Normalization

    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    normalization = Normalization(scale_mean=0.5)
    gqcnn = GQCNN(GQCNNConfig(conv_width=4, fc_width=16, pose_width=4))
    backbone = ResNetConfig(depths=(1, 1, 1, 1), width=4)
    model = GQSTN(GQSTNConfig.shared(backbone, "signed"), gqcnn, normalization)
    provenance = {"data": "random initialisation (node test)", "code": "test_inference_node"}
    save_checkpoint(
        tmp_path / "gqstn.pt",
        model,
        "gqstn",
        model.config,
        normalization,
        provenance,
        None,
        NetworkInputConfig(),
    )
    return tmp_path


def test_success_path_with_a_network_planner(start_node, client_node, tmp_path) -> None:
    if importlib.util.find_spec("gqstn_ros.networks.planners") is None:
        pytest.skip("gqstn_ros.networks.planners is not written yet: no network planner to serve")
    from gqstn_ros.planner_registry import load_planner

    models_dir = network_models_dir(tmp_path)
    # As the node's defaults.
    planner = load_planner("gqstn", models_dir, replan_on_air=True, raise_to_reach=True)
    node, executor = client_node
    received: dict[str, list] = {"grasp": [], "markers": []}
    qos = QoSProfile(depth=5, reliability=ReliabilityPolicy.RELIABLE)
    node.create_subscription(Grasp, "/grasp_pose", received["grasp"].append, qos)
    node.create_subscription(MarkerArray, "/grasp_markers", received["markers"].append, qos)
    start_node(
        "inference_node",
        "-p",
        f"models_dir:={models_dir}",
        "-p",
        "planners:=['gqstn']",
        "-p",
        "q_threshold:=1.0",  # never robust: the fallback is asked, and is not there
        "-p",
        "minor_axis_alternative:=false",  # GQ-STN's own grasp is answered
        *OWN_HEAD_PARAMETERS,  # its q as the planner's own head gives it
    )
    client = detect_client(client_node)
    depth, info = synthetic_depth_request(11, stamp_nanosec=77)
    response = call(client_node, client, DetectGrasp.Request(depth=depth, camera_info=info))
    assert response.success, response.message
    assert "fallback /plan_grasp is not available" in response.message
    grasp = response.grasp
    assert grasp.planner == "gqstn" and not response.used_fallback and not grasp.robust
    assert grasp.header.stamp.nanosec == 77
    assert 0.0 < grasp.width <= 0.085 + 1e-6  # float32 and 0.0 <= grasp.q_value <= 1.0
    assert (grasp.thumbnail.width, grasp.thumbnail.height) == (32, 32)
    # The node's answer is the planner's own answer on the same inpainted frame.
    frame = prepare_depth_frame(depth, KINECT_V1, InpaintConfig())
    expected = planner.plan(frame.depth_m, frame.intrinsics, 5)[0]
    assert list(grasp.center_px) == pytest.approx(list(expected.center_px), abs=1e-2)
    assert grasp.angle == pytest.approx(expected.angle, abs=1e-4)
    assert grasp.q_value == pytest.approx(expected.q_value, abs=1e-4)
    assert spin_until(executor, lambda: received["grasp"] and received["markers"], TIMEOUT_S)
    assert list(received["grasp"][0].center_px) == pytest.approx(list(grasp.center_px))
    assert len(received["markers"][0].markers) == 4
    # disable_fallback: the same grasp, and no word about the fallback.
    request = DetectGrasp.Request(depth=depth, camera_info=info, disable_fallback=True)
    response = call(client_node, client, request)
    assert response.success and "fallback" not in response.message


def test_the_gripper_profile_sizes_the_markers_and_must_match_the_model(
    start_node, client_node, tmp_path
) -> None:
    from gqstn_ros.profiles import load_gripper_profile

    models_dir = network_models_dir(tmp_path / "robotiq_2f85")  # trained for the 2F-85
    # A model for the 2F-85 is refused for the Franka Hand: the node stops at start.
    franka = start_node(
        "inference_node",
        "-p",
        f"models_dir:={models_dir}",
        "-p",
        "planners:=['gqstn']",
        "-p",
        "gripper:=franka_hand",
        *OWN_HEAD_PARAMETERS,  # the planner's own checkpoint is what is refused
    )
    assert franka.process.wait(60) == 2, franka.output()
    franka.reader.join(5)
    assert "[FATAL]" in franka.output()
    assert (
        f"invalid configuration: parameter gripper: planner gqstn: checkpoint "
        f"{models_dir / 'gqstn.pt'} was trained for gripper 'robotiq_2f85', not for gripper "
        "'franka_hand'"
    ) in franka.output()
    # The same weights recorded for the 2F-140: served, with the 2F-140's fingers drawn.
    robotiq_2f140 = load_gripper_profile("robotiq_2f140")
    wide_models = checkpoints_for_gripper(
        models_dir, tmp_path / "robotiq_2f140", robotiq_2f140, ["gqstn.pt"]
    )
    node, executor = client_node
    markers: list[MarkerArray] = []
    qos = QoSProfile(depth=5, reliability=ReliabilityPolicy.RELIABLE)
    node.create_subscription(MarkerArray, "/grasp_markers", markers.append, qos)
    start_node(
        "inference_node",
        "-p",
        f"models_dir:={wide_models}",
        "-p",
        "planners:=['gqstn']",
        "-p",
        "gripper:=robotiq_2f140",
        "-p",
        "allow_fallback:=false",
        *OWN_HEAD_PARAMETERS,  # the folder holds GQ-STN only
    )
    client = detect_client(client_node)
    depth, info = synthetic_depth_request(12)
    response = call(client_node, client, DetectGrasp.Request(depth=depth, camera_info=info))
    assert response.success, response.message
    assert 0.0 < response.grasp.width <= robotiq_2f140.max_width + 1e-6
    assert spin_until(executor, lambda: markers, TIMEOUT_S)
    finger, _, palm, _ = markers[0].markers
    g = robotiq_2f140
    assert (finger.scale.x, finger.scale.y, finger.scale.z) == pytest.approx(
        (g.finger_depth, g.finger_thickness, g.finger_width)
    )
    assert palm.scale.y == pytest.approx(response.grasp.width + 2 * g.finger_thickness, abs=1e-6)


def test_every_planner_through_detect_grasp_with_tf_and_base_link_grasps(
    start_node, client_node
) -> None:
    """prop_gqcnn is answered through the fallback node; each grasp is a TF frame, and with the
    hand-eye calibration the camera is on /tf_static (received by a late subscriber, as RViz),
    the grasp on /grasp_pose/base_link and the markers in base_link; the debug image reaches a
    reliable subscriber."""
    from rclpy.qos import DurabilityPolicy, HistoryPolicy
    from tf2_msgs.msg import TFMessage

    from gqstn_ros.geometry import RigidTransform
    from gqstn_ros.nodes.grasp_messages import pose_to_transform
    from gqstn_ros.nodes.transforms import transform_from_message
    from gqstn_ros.planner_registry import default_models_dir

    node, executor = client_node
    position, orientation = [0.4, 0.1, 0.8], [0.7071068, -0.7071068, 0.0, 0.0]
    start_node("fallback_node", "-p", f"models_dir:={default_models_dir()}")
    inference = start_inference(
        start_node,
        "-p", "hand_eye.enabled:=true",
        "-p", f"hand_eye.position:={position}",
        "-p", f"hand_eye.orientation_xyzw:={orientation}",
    )  # fmt: skip
    inference.wait_for_log("inference node ready", 60)
    inference.wait_for_log("fallback /plan_grasp is reachable", 60)  # prop_gqcnn goes there
    assert "planners directgrasp from" in inference.output()
    assert "prop_gqcnn through /plan_grasp" in inference.output()
    received: dict[str, list] = {"static": [], "tf": [], "base": [], "markers": [], "debug": []}
    latched = QoSProfile(
        history=HistoryPolicy.KEEP_LAST,
        depth=1,
        reliability=ReliabilityPolicy.RELIABLE,
        durability=DurabilityPolicy.TRANSIENT_LOCAL,
    )
    reliable = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
    node.create_subscription(TFMessage, "/tf_static", received["static"].append, latched)
    node.create_subscription(TFMessage, "/tf", received["tf"].append, reliable)
    node.create_subscription(Grasp, "/grasp_pose/base_link", received["base"].append, reliable)
    node.create_subscription(MarkerArray, "/grasp_markers", received["markers"].append, reliable)
    node.create_subscription(Image, "/grasp_debug_image", received["debug"].append, reliable)
    # Published once at start, before this subscriber existed.
    assert spin_until(executor, lambda: received["static"], TIMEOUT_S)
    (camera,) = received["static"][0].transforms
    assert (camera.header.frame_id, camera.child_frame_id) == (
        "base_link",
        "camera_depth_optical_frame",
    )
    base_from_camera = transform_from_message(camera)
    assert base_from_camera.translation.tolist() == pytest.approx(position)
    client = detect_client(client_node)
    depth, info = synthetic_depth_request(21, stamp_nanosec=55)
    for planner in ("prop_gqcnn", "directgrasp"):
        for kind, messages in received.items():
            if kind != "static":
                messages.clear()
        request = DetectGrasp.Request(depth=depth, camera_info=info, planner=planner)
        response = call(client_node, client, request)
        assert response.success, response.message
        grasp = response.grasp
        assert grasp.planner == planner and not response.used_fallback
        assert grasp.header.frame_id == "camera_depth_optical_frame"
        assert spin_until(
            executor,
            lambda: received["tf"] and received["base"] and received["markers"],
            TIMEOUT_S,
        )
        (frame,) = received["tf"][-1].transforms
        assert (frame.header.frame_id, frame.child_frame_id) == (
            "camera_depth_optical_frame",
            "grasp",
        )
        assert frame.header.stamp.nanosec == 55
        camera_from_grasp = pose_to_transform(grasp.pose)
        assert transform_from_message(frame).matrix() == pytest.approx(
            camera_from_grasp.matrix(), abs=1e-6
        )
        base = received["base"][-1]
        assert base.header.frame_id == "base_link" and base.planner == planner
        expected: RigidTransform = base_from_camera.compose(camera_from_grasp)
        assert pose_to_transform(base.pose).matrix() == pytest.approx(expected.matrix(), abs=1e-5)
        assert {m.header.frame_id for m in received["markers"][-1].markers} == {"base_link"}
        assert spin_until(executor, lambda: received["debug"], TIMEOUT_S)


def test_q_calibration_rescales_q_and_a_bad_file_stops_the_node(
    start_node, client_node, tmp_path
) -> None:
    import json

    from gqstn_ros.q_calibration import QCalibration

    folder = tmp_path / "calibration"
    folder.mkdir()
    # Every q of DirectGrasp calibrated far below the threshold: never robust.
    QCalibration(0.0, -5.0).save(folder / "directgrasp_q_calibration.json")
    node = start_inference(start_node, "-p", f"q_calibration_dir:={folder}")
    node.wait_for_log("inference node ready", 60)
    depth, info = synthetic_depth_request(2)
    response = call(
        client_node, detect_client(client_node), DetectGrasp.Request(depth=depth, camera_info=info)
    )
    assert response.success, response.message
    assert response.grasp.q_value == pytest.approx(1 / (1 + np.exp(5.0)), rel=1e-4)
    assert not response.grasp.robust

    (folder / "directgrasp_q_calibration.json").write_text(json.dumps({"slope": -1.0}))
    broken = start_inference(start_node, "-p", f"q_calibration_dir:={folder}")
    output = stopped_at_start(broken)
    assert "q_calibration_dir" in output and "directgrasp_q_calibration.json" in output


def test_the_shipped_judge_calibration_runs_only_with_its_judge(start_node, client_node) -> None:
    """By default the node judges with gqcnn_judge.pt and calibrates its q with
    models/judge_q_calibration, fitted for that judge; with GQ-STN's own head and that
    calibration it stops at start, naming both."""
    from gqstn_ros.planner_registry import (
        SHIPPED_JUDGE_MODEL,
        SHIPPED_Q_CALIBRATION_DIR,
        default_models_dir,
        load_planner,
    )
    from gqstn_ros.q_calibration import load_q_calibrations

    node = start_inference(start_node, "-p", "planners:=['gqstn']", "-p", "default_planner:=gqstn")
    node.wait_for_log("inference node ready", 60)
    depth, info = synthetic_depth_request(3)
    request = DetectGrasp.Request(depth=depth, camera_info=info, disable_fallback=True)
    response = call(client_node, detect_client(client_node), request)
    assert response.success and 0.0 <= response.grasp.q_value <= 1.0, response.message
    node.stop()
    # The answer's q is the judge's, calibrated.
    models = default_models_dir()
    planner = load_planner(
        "gqstn", models, judge_model=SHIPPED_JUDGE_MODEL, replan_on_air=True, raise_to_reach=True
    )
    calibration = load_q_calibrations(models / SHIPPED_Q_CALIBRATION_DIR, ["gqstn"])["gqstn"]
    frame = prepare_depth_frame(depth, KINECT_V1, InpaintConfig())
    expected = planner.plan(frame.depth_m, frame.intrinsics)[0]
    assert response.grasp.q_value == pytest.approx(calibration.apply(expected.q_value), abs=1e-4)
    mismatched = start_inference(start_node, "-p", "planners:=['gqstn']", "-p", "judge_model:=''")
    output = stopped_at_start(mismatched)
    assert "gqstn_q_calibration.json was fitted on q judged by gqcnn_judge.pt" in output
    assert "judged by the networks' own GQ-CNN head" in output
