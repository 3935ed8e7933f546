"""sim_world_node in its own process (camera and world, no executor): depth and camera_info
arrive over DDS at about the configured rate and show the object; /sim/reset_scene loads the
object named by the node's parameters."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import numpy as np
import pytest
from gqstn_msgs.action import ExecuteGrasp
from gqstn_msgs.msg import Grasp
from rcl_interfaces.msg import Parameter, ParameterType, ParameterValue
from rcl_interfaces.srv import SetParameters
from rclpy.action import ActionClient
from rclpy.qos import QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, Image
from std_srvs.srv import Trigger
from visualization_msgs.msg import Marker, MarkerArray

from gqstn_ros.camera_model import KINECT_V1
from gqstn_ros.depth_image import camera_info_to_intrinsics, depth_to_metres
from gqstn_ros.grasping.grasp import grasp_pose_in_camera
from gqstn_ros.nodes.grasp_messages import transform_to_pose
from ros_test_support import call_service, send_goal, spin_until

pytestmark = pytest.mark.ros

TIMEOUT_S = 60.0  # an upper bound: a world starting MuJoCo and OSMesa on a loaded 2-core machine
RATE_HZ = 20.0


class CameraLink:
    """This process's end of the simulated camera's topics and the world's services."""

    def __init__(self, client_node) -> None:
        self.node, self.executor = client_node
        self.frames: list[tuple[float, Image]] = []
        self.infos: list[CameraInfo] = []
        # Reliable: measures what the node publishes, not what best-effort UDP loses under load.
        self.node.create_subscription(
            Image,
            "/camera/depth/image_raw",
            lambda msg: self.frames.append((time.monotonic(), msg)),
            QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE),
        )
        self.node.create_subscription(
            CameraInfo, "/camera/depth/camera_info", self.infos.append, qos_profile_sensor_data
        )
        self.reset_client = self.node.create_client(Trigger, "/sim/reset_scene")
        self.state_client = self.node.create_client(Trigger, "/sim/object_state")
        self.parameter_client = self.node.create_client(SetParameters, "/sim_world/set_parameters")

    def spin_for(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.executor.spin_once(timeout_sec=0.02)

    def call(self, client, request):
        """Every service called here is repeatable: a query, a parameter set to a value, a reset
        to a seeded scene, or /sim/finish_pick with nothing carried."""
        assert client.wait_for_service(timeout_sec=TIMEOUT_S), f"{client.srv_name} never appeared"
        return call_service(self.executor, client, request, TIMEOUT_S, repeatable=True)

    def set_parameters(self, **values) -> list:
        parameters = []
        for name, value in values.items():
            if isinstance(value, str):
                pv = ParameterValue(type=ParameterType.PARAMETER_STRING, string_value=value)
            elif isinstance(value, bool):
                pv = ParameterValue(type=ParameterType.PARAMETER_BOOL, bool_value=value)
            else:
                pv = ParameterValue(type=ParameterType.PARAMETER_INTEGER, integer_value=value)
            parameters.append(Parameter(name=name, value=pv))
        return self.call(self.parameter_client, SetParameters.Request(parameters=parameters))

    def object_state(self) -> dict:
        response = self.call(self.state_client, Trigger.Request())
        assert response.success, response.message
        return json.loads(response.message)

    def frame_after(self, wall_time: float) -> np.ndarray:
        assert spin_until(
            self.executor, lambda: self.frames and self.frames[-1][0] > wall_time, TIMEOUT_S
        ), "no depth frame after the reset"
        return depth_to_metres(self.frames[-1][1])


def object_mask(depth: np.ndarray) -> np.ndarray:
    """Pixels at least 1 cm above the table (table at 0.70 m), in the central window."""
    centre = depth[140:340, 220:420]
    return np.nan_to_num(centre, nan=0.7) < 0.69


def test_camera_publishes_the_scene_and_reset_loads_another_object(
    start_node: Callable, client_node
) -> None:
    world = start_node(
        "sim_world_node",
        "-p", "run_executor:=false",
        "-p", f"publish_rate_hz:={RATE_HZ}",
        "-p", "object_name:=soda_can",
        "-p", "seed:=3",
        "-p", "stats_period_s:=1.0",
    )  # fmt: skip
    link = CameraLink(client_node)
    markers: list[MarkerArray] = []
    reliable = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE)  # as RViz asks
    link.node.create_subscription(MarkerArray, "/sim/markers", markers.append, reliable)
    assert spin_until(link.executor, lambda: len(link.frames) > 0, TIMEOUT_S), world.output()
    # The bench for RViz, in base_link: table, the can as triangles, gripper, the arm's links.
    assert spin_until(link.executor, lambda: markers, TIMEOUT_S), world.output()
    drawn = markers[-1].markers
    assert {marker.header.frame_id for marker in drawn} == {"base_link"}
    kinds = [marker.type for marker in drawn]
    assert Marker.TRIANGLE_LIST in kinds and Marker.LINE_STRIP in kinds
    assert kinds.count(Marker.CUBE) >= 3  # the table, the palm, the fingers

    # Rate: frames over 3 s of steady publishing.
    link.frames.clear()
    link.spin_for(3.0)
    times = [t for t, _ in link.frames]
    rate = (len(times) - 1) / (times[-1] - times[0])
    assert 0.6 * RATE_HZ < rate < 1.2 * RATE_HZ, f"{rate:.1f} Hz\n{world.output()}"

    image = link.frames[-1][1]
    assert image.encoding == "16UC1" and (image.width, image.height) == (640, 480)
    assert image.header.frame_id == "camera_depth_optical_frame"
    assert link.infos, "no camera_info"
    info = link.infos[-1]
    assert camera_info_to_intrinsics(info) == KINECT_V1
    assert info.header.frame_id == image.header.frame_id

    # The table 70 cm below, the can nearer the camera near the image centre, some holes.
    depth = depth_to_metres(image)
    valid = np.isfinite(depth)
    assert 0.8 < valid.mean() < 0.999
    assert np.median(depth[valid]) == pytest.approx(0.70, abs=0.01)
    can = object_mask(depth)
    assert can.sum() > 500
    assert np.nanmin(depth[140:340, 220:420]) < 0.66  # a can is at least 6.6 cm tall/wide

    # A bad object name is refused by the parameter service; a known one is accepted.
    refused = link.set_parameters(object_name="teapot")
    assert not refused.results[0].successful
    assert "object_name" in refused.results[0].reason
    accepted = link.set_parameters(object_name="tape_roll", seed=5)
    assert all(result.successful for result in accepted.results)

    response = link.call(link.reset_client, Trigger.Request())
    answered = time.monotonic()
    assert response.success, response.message
    assert "tape_roll (seed 5)" in response.message
    after = object_mask(link.frame_after(answered + 0.3))
    assert after.sum() > 500
    # A tape roll (a 10 cm ring) covers other pixels than the can did.
    overlap = (can & after).sum() / (can | after).sum()
    assert overlap < 0.7, f"the scene did not change (overlap {overlap:.2f})\n{world.output()}"
    assert world.is_running()


def grasp_from_depth(depth: np.ndarray, stamp) -> Grasp:
    """A top-down grasp across the object seen in the depth image (metres, NaN = no data):
    centred on its pixels, jaws along their minor axis, 2.5 cm below its top."""
    rows, cols = np.nonzero(np.nan_to_num(depth, nan=0.7) < 0.685)
    points = np.column_stack([cols, rows]).astype(np.float64)
    centre = points.mean(axis=0)
    _, vectors = np.linalg.eigh(np.cov((points - centre).T))
    minor = vectors[:, 0]  # eigenvalues ascending: the narrow direction
    angle = float(np.arctan2(minor[1], minor[0]))
    extent_px = float(np.ptp((points - centre) @ minor))
    top = float(np.nanpercentile(depth[rows, cols], 5))
    grasp_depth = min(top + 0.025, 0.69)
    pose, width = grasp_pose_in_camera(
        (float(centre[0]), float(centre[1])), angle, extent_px, grasp_depth, KINECT_V1
    )
    grasp = Grasp()
    grasp.header.frame_id = "camera_depth_optical_frame"
    grasp.header.stamp = stamp
    grasp.pose = transform_to_pose(pose)
    grasp.width = width
    grasp.depth = grasp_depth
    grasp.center_px = [float(centre[0]), float(centre[1])]
    grasp.angle = angle
    grasp.width_px = extent_px
    grasp.planner = "ground_truth_test"
    return grasp


def execute(link: CameraLink, client: ActionClient, goal: ExecuteGrasp.Goal, world):
    handle = send_goal(link.executor, client, goal, TIMEOUT_S)
    assert handle.accepted
    done = handle.get_result_async()
    assert spin_until(link.executor, done.done, 60.0), world.output()
    return done.result().result


def test_executor_in_the_same_process_picks_the_object_it_sees(
    start_node: Callable, client_node
) -> None:
    world = start_node(
        "sim_world_node",
        "-p", "real_time_factor:=0.0",
        "-p", "object_name:=tea_box",
        "-p", "seed:=2",
        "-p", "reset_after_attempt:=false",
        "-p", "autostart:=activate",  # the executor node's lifecycle: ready to move
    )  # fmt: skip
    world.wait_for_log("simulated world ready", 60.0)
    assert "reset only by /sim/reset_scene" in world.output()
    assert "camera in base_link as hand_eye.*" in world.output()
    link = CameraLink(client_node)
    assert spin_until(link.executor, lambda: len(link.frames) > 0, TIMEOUT_S), world.output()
    image = link.frames[-1][1]
    grasp = grasp_from_depth(depth_to_metres(image), image.header.stamp)
    resting = link.object_state()
    assert resting["on_table"] and not resting["fell_off_table"]

    client = ActionClient(link.node, ExecuteGrasp, "/execute_grasp")
    assert client.wait_for_server(timeout_sec=TIMEOUT_S), world.output()
    result = execute(link, client, ExecuteGrasp.Goal(grasp=grasp), world)
    assert result.success, f"{result.message}\n{world.output()}"
    assert result.lift_height >= 0.10
    assert result.grasp.header.frame_id == "base_link"
    # The pick happened in the world the camera shows: at the retreat the box hangs in the
    # gripper about 20 cm above the table, nearer the camera than the table top.
    after = link.frame_after(time.monotonic())
    lifted = np.nan_to_num(after[140:340, 220:420], nan=0.7) < 0.55
    assert lifted.sum() > 500, "nothing held up in front of the camera"
    held = link.object_state()
    assert held["lifted_height"] > 0.10 and not held["on_table"] and not held["fell_off_table"]

    # With reset_after_attempt, the attempt that ends next (a dry run here) leaves a new scene:
    # the box settled on the table again, the gripper open and empty.
    assert all(r.successful for r in link.set_parameters(reset_after_attempt=True).results)
    result = execute(link, client, ExecuteGrasp.Goal(grasp=grasp, dry_run=True), world)
    deadline = time.monotonic() + TIMEOUT_S
    state = link.object_state()
    while not state["on_table"] and time.monotonic() < deadline:
        link.spin_for(0.2)
        state = link.object_state()
    assert state["on_table"] and abs(state["lifted_height"]) < 0.005, world.output()
    assert state["gripper_opening"] > 0.08 and not state["gripper_object_detected"]
    world.wait_for_log("scene: tea_box dropped with seed 2", TIMEOUT_S)
    assert world.is_running()


def test_pile_mode_holds_unseen_objects_and_finishing_a_pick_keeps_count(
    start_node: Callable, client_node
) -> None:
    """scene_mode pile: the world holds pile_objects objects, /sim/finish_pick answers the
    pile's counts (nothing carried: nothing binned); an unknown scene mode is refused naming
    the choices, and /sim/finish_pick outside pile mode is refused with the reason."""
    world = start_node(
        "sim_world_node",
        "-p", "run_executor:=false",
        "-p", f"publish_rate_hz:={RATE_HZ}",
        "-p", "scene_mode:=pile",
        "-p", "pile_objects:=4",
        "-p", "seed:=2",
    )  # fmt: skip
    link = CameraLink(client_node)
    segmentations: list[Image] = []
    reliable = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE)
    link.node.create_subscription(Image, "/sim/segmentation", segmentations.append, reliable)
    finish = link.node.create_client(Trigger, "/sim/finish_pick")
    state = link.object_state()
    assert state["scene_mode"] == "pile" and len(state["objects"]) == 4, world.output()
    counts = (state["objects_on_table"], state["objects_in_bin"], state["objects_lost"])
    assert sum(counts) == 4 and counts[0] >= 1 and counts[1] == 0

    # /sim/segmentation labels the depth frame of the same stamp: object i as i + 1, where the
    # depth is nearer than the table; the background is mostly the table.
    def stamp(message) -> tuple[int, int]:
        return (message.header.stamp.sec, message.header.stamp.nanosec)

    def paired() -> tuple[Image, Image] | None:
        depths = {stamp(frame): frame for _, frame in link.frames}
        return next(
            ((depths[stamp(s)], s) for s in reversed(segmentations) if stamp(s) in depths), None
        )

    assert spin_until(link.executor, lambda: paired() is not None, TIMEOUT_S), world.output()
    frame, labels_message = paired()
    assert labels_message.encoding == "mono8" and labels_message.header == frame.header
    labels = np.frombuffer(bytes(labels_message.data), dtype=np.uint8).reshape(480, 640)
    depth = depth_to_metres(frame)
    on_table = {i + 1 for i, o in enumerate(state["objects"]) if o["where"] == "table"}
    seen = set(np.unique(labels).tolist()) - {0}
    # An object that fell off the table may still be in view; one on the table must be.
    assert seen <= {1, 2, 3, 4} and seen & on_table, (seen, on_table)
    table_depth = float(np.nanmedian(depth[labels == 0]))
    assert float(np.nanmedian(depth[labels > 0])) < table_depth - 0.01
    response = link.call(finish, Trigger.Request())
    assert response.success, response.message
    finished = json.loads(response.message)
    assert finished["binned"] is None and finished["objects_in_bin"] == 0
    assert finished["objects_on_table"] + finished["objects_lost"] == 4

    (refused,) = link.set_parameters(scene_mode="heap").results
    assert not refused.successful and "single" in refused.reason and "pile" in refused.reason
    assert all(r.successful for r in link.set_parameters(scene_mode="single", seed=1).results)
    assert link.call(link.reset_client, Trigger.Request()).success
    assert link.object_state()["scene_mode"] == "single"
    response = link.call(finish, Trigger.Request())
    assert not response.success and "needs a pile" in response.message
    assert world.process.poll() is None, world.output()
