"""Simulated world node: the MuJoCo world's Kinect, UR5 and gripper (`SimWorldNode`).

It runs in the simulated bench's process (`gqstn_ros.nodes.sim_bench`, the console script
`sim_world_node`) beside the executor node that drives its arm and gripper. It publishes
`/camera/depth/image_raw` (16UC1, millimetres, with the simulated Kinect's noise and holes) and
`/camera/depth/camera_info` at `publish_rate_hz` (keep last 1; see `topics.FRAME_OUTPUT_QOS`),
rendered from the current state of the world; serves `/sim/reset_scene` (std_srvs/Trigger):
loads the benchmark object `object_name`, dropped with `seed` (set both with the standard
parameter services before calling it) and settled, the arm at home and the gripper open. With
`reset_after_attempt` (the bench's default) the scene is reset the same way after every
`/execute_grasp` attempt that moved the object (a dry run or a miss that left it in place keeps
the scene), so each attempt starts from a settled object and an empty gripper. Ground truth, for
tests and benchmarks: `/sim/object_state` (Trigger; the message is a JSON object,
`gqstn_ros.sim.ground_truth`: object pose, lift above its settled height, `on_table` = resting
on the table top, false while lifted or once fallen off, `fell_off_table`, gripper opening,
camera and base poses) and `/sim/hold` (Trigger: lets `hold_duration_s` of simulated time pass
with the arm still, then the same JSON with the lowest lift during the hold). With `scene_mode:
pile` the world holds `pile_objects` objects of the families the shipped models never saw
(`sim.clutter`), dropped in a pile by each reset (`seed` draws the objects and the drop);
`/sim/object_state` then describes every object (`objects`: name, pose, lift, where: table, bin
or lost) with the counts `objects_on_table`, `objects_in_bin`, `objects_lost` (the single-object
keys then describe the pile's first object); `/sim/hold` judges the object lifted highest
(`held_object`; its `on_table` is false only once that object fell off the table);
`/sim/finish_pick` (Trigger) ends a pick: an object the gripper carries (at least
`ground_truth.BIN_LIFT_M` above where it settled, off the table top) goes to the bin beside the
table, the arm goes home with the gripper open, the objects left settle, and the answer is the
same JSON with `binned` (the object's name, or null). `reset_after_attempt` in pile mode
finishes the pick after every attempt instead of resetting. `/sim/segmentation`
(sensor_msgs/Image, mono8, the header of the depth frame it belongs to; published with each depth
frame while something subscribes to it): where the camera sees each object in that frame, pixel
value i + 1 on object i (the order of `/sim/object_state`'s `objects`; object 0 in single mode),
0 elsewhere (table, robot, floor, pixels beyond the far clip); it is the noise-free render the
depth frame was made from, so a pixel the sensor left without depth may still be labelled. A
benchmark's stand-in for a user's own segmentation (targeted picks). `/sim/markers`
(visualization_msgs/MarkerArray, base_link) draws the table, the object, the gripper and the
UR5's links for RViz.

The `gripper` parameter (a profile name or YAML path, `gqstn_ros.profiles`) gives the simulated
gripper its stroke, finger pads and force range; the executor node of the process must name a
profile of the same geometry (both read the same `gripper` value when it is set for the
process), else the process stops at start.

The camera renders on its own thread (it owns the OpenGL context; rendering never waits on the
ROS executor); physics stepping (arm and gripper motions, resets) and rendering share the
world's lock, so they never race. The camera's pose in `base_link` is the world's
(`SimRobotWorld.camera_in_base`); the hand-eye calibration the other nodes use (`hand_eye.*`,
config/hand_eye.yaml) is checked against it at start and a difference is logged as an error.
"""

from __future__ import annotations

import json
import math
import threading
import time
from typing import Any

import numpy as np
from action_msgs.msg import GoalStatus, GoalStatusArray
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup
from rclpy.node import Node
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import Header
from std_srvs.srv import Trigger
from visualization_msgs.msg import MarkerArray

from gqstn_ros.depth_image import (
    ENCODING_16UC1,
    intrinsics_to_camera_info,
    metres_to_image,
    mono8_image,
)
from gqstn_ros.geometry import quaternion_to_xyzw
from gqstn_ros.nodes.parameters import (
    NodeParameters,
    load_gripper_parameter,
)
from gqstn_ros.nodes.sim_markers import world_markers
from gqstn_ros.nodes.sim_world_parameters import SIM_WORLD_PARAMETERS
from gqstn_ros.nodes.topics import (
    ACTION_STATUS_QOS,
    ATTEMPT_STATUS_TOPIC,
    FRAME_OUTPUT_QOS,
    RAW_DEPTH_TOPIC,
    RAW_INFO_TOPIC,
    SIM_FINISH_PICK_SERVICE,
    SIM_HOLD_SERVICE,
    SIM_MARKER_TOPIC,
    SIM_OBJECT_STATE_SERVICE,
    SIM_RESET_SERVICE,
    SIM_SEGMENTATION_TOPIC,
)
from gqstn_ros.nodes.transforms import HandEye
from gqstn_ros.sim.benchmark_objects import benchmark_object
from gqstn_ros.sim.clutter import BinConfig, pile_objects
from gqstn_ros.sim.ground_truth import LoadedScene, finish_pick, hold, object_state
from gqstn_ros.sim.robot import (
    SimGripperConfig,
    SimRobotConfig,
    SimRobotWorld,
)

NODE_NAME = "sim_world"
# In pile mode an object this far (m) above where it settled, off the table top, is carried by
# the gripper: finishing the pick puts it in the bin.
# /sim/hold names the object it follows when lifted at least this much (m) at its start.
ATTEMPT_ENDED = (GoalStatus.STATUS_SUCCEEDED, GoalStatus.STATUS_ABORTED, GoalStatus.STATUS_CANCELED)
# The object counts as moved by an attempt beyond these (m, degrees): then it is reset.
MOVED_DISTANCE_M = 0.005
MOVED_ANGLE_DEG = 3.0
# The configured hand-eye may differ from the simulated camera by this much (m, degrees).
HAND_EYE_TOLERANCE_M = 0.001
HAND_EYE_TOLERANCE_DEG = 0.1
# The hold is simulated in slices this long; the lift is sampled after each (s).

# A camera whose frames fail logs it once a second at most.
RENDER_ERROR_LOG_PERIOD_S = 1.0
# How long stopping the node waits for the camera thread to finish its frame (s).
CAMERA_STOP_TIMEOUT_S = 1.0


class SimWorldNode(Node):
    """The simulated Kinect and the scene reset service over a `SimRobotWorld`."""

    def __init__(self, node_name: str = NODE_NAME) -> None:
        super().__init__(node_name)
        self.parameters = NodeParameters(self, SIM_WORLD_PARAMETERS)
        self.gripper = load_gripper_parameter(self.parameters)
        config = SimRobotConfig(
            gripper=SimGripperConfig(geometry=self.gripper),
            real_time_factor=float(self.parameters["real_time_factor"]),
        )
        name, seed = self.parameters["object_name"], int(self.parameters["seed"])
        self.world = SimRobotWorld(
            benchmark_object(name), seed, config, render_backend=self.parameters["render_backend"]
        )
        self.loaded_object = (name, seed)  # the benchmark object in the world and its drop seed
        self.bin = BinConfig()
        self.pile_mode = False  # the world holds a pile (the last reset was in pile mode)
        if self.parameters["scene_mode"] == "pile":
            self._reset_pile(int(self.parameters["pile_objects"]), seed)
        self._settled_pose = self.world.object_pose_in_world()
        self._image_publisher = self.create_publisher(Image, RAW_DEPTH_TOPIC, FRAME_OUTPUT_QOS)
        self._info_publisher = self.create_publisher(CameraInfo, RAW_INFO_TOPIC, FRAME_OUTPUT_QOS)
        self._segmentation_publisher = self.create_publisher(
            Image, SIM_SEGMENTATION_TOPIC, FRAME_OUTPUT_QOS
        )
        reset_group = MutuallyExclusiveCallbackGroup()  # service resets and attempt resets
        self.create_service(Trigger, SIM_RESET_SERVICE, self._on_reset, callback_group=reset_group)
        ground_truth_group = MutuallyExclusiveCallbackGroup()
        self.create_service(
            Trigger,
            SIM_OBJECT_STATE_SERVICE,
            self._on_object_state,
            callback_group=ground_truth_group,
        )
        self.create_service(
            Trigger, SIM_HOLD_SERVICE, self._on_hold, callback_group=ground_truth_group
        )
        self.create_service(
            Trigger, SIM_FINISH_PICK_SERVICE, self._on_finish_pick, callback_group=reset_group
        )
        self._attempts_seen: set[bytes] = set()
        self.create_subscription(
            GoalStatusArray,
            ATTEMPT_STATUS_TOPIC,
            self._on_attempt_status,
            ACTION_STATUS_QOS,
            callback_group=reset_group,
        )
        self._marker_publisher = self.create_publisher(
            MarkerArray, SIM_MARKER_TOPIC, FRAME_OUTPUT_QOS
        )
        if self.parameters["markers_rate_hz"] > 0:
            self.create_timer(
                1.0 / self.parameters["markers_rate_hz"],
                self._publish_markers,
                callback_group=MutuallyExclusiveCallbackGroup(),
            )
        hand_eye_problem = self.hand_eye_difference()
        if hand_eye_problem:
            self.get_logger().error(hand_eye_problem)
        self.get_logger().info(self.startup_summary(name, seed, hand_eye_problem))
        self._stop = threading.Event()
        self.frames_published = 0
        self._camera_thread = threading.Thread(
            target=self._camera_loop, name="sim_camera", daemon=True
        )
        self._camera_thread.start()

    # ------------------------------------------------------------------ camera
    def _camera_loop(self) -> None:
        """Render and publish at the configured rate until the node is destroyed."""
        next_time = time.monotonic()
        last_error_log = -math.inf
        stats_start, stats_frames = time.monotonic(), 0
        try:
            while not self._stop.is_set():
                try:
                    self.publish_frame()
                    stats_frames += 1
                except Exception as error:  # a bad frame must not stop the camera
                    if self._stop.is_set():  # the node is stopping: the context may be gone
                        break
                    now = time.monotonic()
                    if now - last_error_log > RENDER_ERROR_LOG_PERIOD_S:
                        self.get_logger().error(f"depth frame failed: {error}")
                        last_error_log = now
                stats_period = float(self.parameters["stats_period_s"])
                elapsed = time.monotonic() - stats_start
                if stats_period > 0 and elapsed >= stats_period:
                    self.get_logger().info(
                        f"published {stats_frames / elapsed:.1f} depth frames/s "
                        f"(target {self.parameters['publish_rate_hz']:g})"
                    )
                    stats_start, stats_frames = time.monotonic(), 0
                period = 1.0 / float(self.parameters["publish_rate_hz"])
                next_time = max(next_time + period, time.monotonic() - period)
                self._stop.wait(max(0.0, next_time - time.monotonic()))
        finally:
            self.world.close()  # the GL context belongs to this thread

    def publish_frame(self) -> None:
        # (H, W) float32 metres, 0 = no data; (H, W) int32 object labels of the same state.
        depth, labels = self.world.render_depth_and_labels()
        header = Header(frame_id=self.parameters["frame_id"])
        header.stamp = self.get_clock().now().to_msg()
        image = metres_to_image(depth, ENCODING_16UC1, header)
        info = intrinsics_to_camera_info(self.world.intrinsics, header)
        if self._stop.is_set():  # rendered while the node began to stop: not published
            return
        # camera_info first: the depth node never sees the first frame before its intrinsics.
        self._info_publisher.publish(info)
        self._image_publisher.publish(image)
        if self._segmentation_publisher.get_subscription_count() > 0:
            self._segmentation_publisher.publish(segmentation_image(labels, header))
        self.frames_published += 1

    # ------------------------------------------------------------------ reset
    def _on_reset(self, request: Trigger.Request, response: Trigger.Response) -> Trigger.Response:
        response.success, response.message = self.reset_scene()
        return response

    def _reset_pile(self, count: int, seed: int) -> Any:
        """Drop a pile of `count` unseen objects drawn with `seed`; the settling result."""
        result = self.world.reset_pile(pile_objects(count, seed), seed)
        self.pile_mode = True
        self.loaded_object = (f"pile of {count}", seed)
        return result

    def reset_scene(self) -> tuple[bool, str]:
        """Drop `object_name` (scene_mode single) or a pile of `pile_objects` (scene_mode pile)
        with `seed` and settle (arm home, gripper open): (ok, message). A pile is ready (ok) as
        long as one object is on the table: objects that fell off when dropped are lost, and
        one still rocking after the settling time is part of the pile."""
        name, seed = self.parameters["object_name"], int(self.parameters["seed"])
        if self.parameters["scene_mode"] == "pile":
            count = int(self.parameters["pile_objects"])
            try:
                result = self._reset_pile(count, seed)
            except Exception as error:  # the world must survive a failed reset
                message = f"reset failed: {type(error).__name__}: {error}"
                self.get_logger().error(message)
                return False, message
            self._settled_pose = self.world.object_pose_in_world()
            on_table = sum(o["where"] == "table" for o in self.world.pile_state())
            message = f"pile of {count} (seed {seed}): {on_table} on the table; {result.message}"
            self.get_logger().info(f"scene: {message}")
            return on_table > 0, message
        try:
            result = self.world.reset(benchmark_object(name), seed)
        except Exception as error:  # the world must survive a failed reset
            message = f"reset failed: {type(error).__name__}: {error}"
            self.get_logger().error(message)
            return False, message
        self.loaded_object = (name, seed)
        self.pile_mode = False
        self._settled_pose = self.world.object_pose_in_world()
        self._log_reset(name, seed)
        return bool(result.ok), f"{name} (seed {seed}): {result.message}"

    def object_moved(self) -> bool:
        """True when the object is away from where it settled at the last reset."""
        pose = self.world.object_pose_in_world()
        shift = float(np.linalg.norm(pose[:3, 3] - self._settled_pose[:3, 3]))
        cosine = (np.trace(self._settled_pose[:3, :3].T @ pose[:3, :3]) - 1.0) / 2.0
        turn = math.degrees(math.acos(float(np.clip(cosine, -1.0, 1.0))))
        return shift > MOVED_DISTANCE_M or turn > MOVED_ANGLE_DEG

    def _on_attempt_status(self, message: GoalStatusArray) -> None:
        """After an /execute_grasp attempt ended: reset the scene when it moved the object."""
        ended = [
            status
            for status in message.status_list
            if status.status in ATTEMPT_ENDED
            and bytes(status.goal_info.goal_id.uuid) not in self._attempts_seen
        ]
        if not ended:
            return
        self._attempts_seen.update(bytes(status.goal_info.goal_id.uuid) for status in ended)
        if self.pile_mode:
            if self.parameters["reset_after_attempt"]:
                state = self.finish_pick()
                if state.get("fault"):
                    self.get_logger().warning(f"finishing a pick: {state['fault']}")
            return
        if not self.parameters["reset_after_attempt"] or not self.object_moved():
            return
        ok, text = self.reset_scene()
        if not ok:
            self.get_logger().warning(f"reset after an attempt: {text}")

    # ------------------------------------------------------------------ RViz
    def _publish_markers(self) -> None:
        if self._marker_publisher.get_subscription_count() == 0:
            return
        try:
            markers = world_markers(self.world, self.get_clock().now().to_msg())
        except Exception as error:  # a drawing problem must not stop the world
            self.get_logger().warning(f"markers not drawn: {error!r}", throttle_duration_sec=60.0)
            return
        self._marker_publisher.publish(markers)

    # ------------------------------------------------------------------ start-up
    def hand_eye_difference(self) -> str:
        """Why the configured hand-eye calibration is not this world's camera, or ''."""
        configured = HandEye.from_parameters(self.parameters)
        actual = self.world.camera_in_base
        shift = float(np.linalg.norm(configured.base_from_camera.translation - actual.translation))
        relative = configured.base_from_camera.rotation.T @ actual.rotation
        turn = math.degrees(math.acos(float(np.clip((np.trace(relative) - 1.0) / 2.0, -1, 1))))
        problems = []
        if shift > HAND_EYE_TOLERANCE_M or turn > HAND_EYE_TOLERANCE_DEG:
            problems.append(
                f"the hand-eye calibration (hand_eye.*) is {shift * 1e3:.1f} mm and {turn:.2f} "
                f"deg away from the simulated camera (position "
                f"{np.round(actual.translation, 4).tolist()}, orientation xyzw "
                f"{np.round(quaternion_to_xyzw(actual.quaternion), 6).tolist()}): grasps in "
                f"base_link will miss"
            )
        if configured.camera_frame != self.parameters["frame_id"]:
            problems.append(
                f"hand_eye.camera_frame {configured.camera_frame!r} is not the depth images' "
                f"frame_id {self.parameters['frame_id']!r}"
            )
        return "; ".join(problems)

    def startup_summary(self, name: str, seed: int, hand_eye_problem: str) -> str:
        settle = self.world.last_settle
        resets = (
            "reset after every attempt that moves it"
            if self.parameters["reset_after_attempt"]
            else "reset only by " + SIM_RESET_SERVICE
        )
        return (
            f"simulated world ready: {RAW_DEPTH_TOPIC} at "
            f"{self.parameters['publish_rate_hz']:g} Hz; "
            f"scene {name} (seed {seed}) {settle.message if settle else ''}, {resets}; "
            f"gripper {self.gripper.name}; camera in base_link "
            f"{'DIFFERS from hand_eye.*' if hand_eye_problem else 'as hand_eye.*'}; services "
            f"{SIM_RESET_SERVICE}, {SIM_OBJECT_STATE_SERVICE}, {SIM_HOLD_SERVICE}, "
            f"{SIM_FINISH_PICK_SERVICE}; "
            f"{SIM_MARKER_TOPIC}, {SIM_SEGMENTATION_TOPIC}"
        )

    # ------------------------------------------------------------------ ground truth
    def loaded_scene(self) -> LoadedScene:
        """What the last reset loaded (`gqstn_ros.sim.ground_truth`)."""
        return LoadedScene(*self.loaded_object, pile=self.pile_mode)

    def finish_pick(self) -> dict[str, Any]:
        """Pile mode: `ground_truth.finish_pick`, logged."""
        state = finish_pick(self.world, self.loaded_scene(), self.bin)
        self.get_logger().info(
            f"pick finished: {state['binned'] or 'nothing'} to the bin; "
            f"{state['objects_on_table']} on the table, {state['objects_in_bin']} in the bin, "
            f"{state['objects_lost']} lost"
        )
        return state

    def _on_finish_pick(
        self, request: Trigger.Request, response: Trigger.Response
    ) -> Trigger.Response:
        if not self.pile_mode:
            response.success = False
            response.message = (
                f"{SIM_FINISH_PICK_SERVICE} needs a pile: set scene_mode to pile and call "
                f"{SIM_RESET_SERVICE}"
            )
            return response
        try:
            state = self.finish_pick()
        except Exception as error:  # report, never crash the world
            response.success = False
            response.message = f"finishing the pick failed: {type(error).__name__}: {error}"
            self.get_logger().error(response.message)
            return response
        response.success = not state["fault"]
        response.message = json.dumps(state)
        return response

    def _on_object_state(
        self, request: Trigger.Request, response: Trigger.Response
    ) -> Trigger.Response:
        try:
            response.message = json.dumps(object_state(self.world, self.loaded_scene()))
            response.success = True
        except Exception as error:  # report, never crash the world
            response.success = False
            response.message = f"object state failed: {type(error).__name__}: {error}"
        return response

    def _on_hold(self, request: Trigger.Request, response: Trigger.Response) -> Trigger.Response:
        try:
            state = hold(self.world, self.loaded_scene(), float(self.parameters["hold_duration_s"]))
        except Exception as error:  # report, never crash the world
            response.success = False
            response.message = f"hold failed: {type(error).__name__}: {error}"
            self.get_logger().error(response.message)
            return response
        response.success = not state["hold_fault"]
        response.message = json.dumps(state)
        return response

    def _log_reset(self, name: str, seed: int) -> None:
        result = self.world.last_settle
        message = f"scene: {name} dropped with seed {seed}, {result.message if result else ''}"
        if result is not None and not result.ok:
            self.get_logger().warning(message)
        else:
            self.get_logger().info(message)

    def begin_shutdown(self) -> None:
        """The process is stopping (`gqstn_ros.nodes.shutdown`): no frame is published after
        this returns, from a render in progress either."""
        if hasattr(self, "_stop"):
            self._stop.set()

    def destroy_node(self) -> None:
        # Also called on a node whose construction stopped at an invalid configuration.
        if hasattr(self, "_camera_thread"):
            self._stop.set()
            # One render at most; longer only while a reset or motion holds the world's lock
            # (the process then ends without waiting for it).
            self._camera_thread.join(timeout=CAMERA_STOP_TIMEOUT_S)
        super().destroy_node()


def segmentation_image(labels: np.ndarray, header: Header) -> Image:
    """`/sim/segmentation`'s message of (H, W) object labels (0 background, i + 1 object i):
    mono8 with `header`."""
    return mono8_image(labels, header)
