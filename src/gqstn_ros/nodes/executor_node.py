"""Executor node: the `/execute_grasp` action, a top-down pick with an arm and a gripper.

A goal carries a grasp (gqstn_msgs/Grasp) in the camera optical frame or in `base_link`, or an
empty `planner` field to detect one now through `/detect_grasp`. The node re-expresses it in
base_link (hand-eye calibration: the camera optical frame's pose in base_link, parameters),
plans the pick with `grasping.top_down_plan.TopDownPlanner` and runs it, reporting each stage
as feedback (DESIGN.md):

    detecting    (only for an empty planner) /detect_grasp, awaited with a timeout
    approaching  open the gripper to the grasp width + margin, move above the grasp
    descending   straight down to the grasp (slower)
    closing      close at the force limit
    lifting      straight up
    checking     held = the gripper reports an object (gOBJ) and is not fully closed
    retreating   up to the retreat height

`dry_run` plans, reports every stage and moves nothing. Every failure (bad grasp, detection
timeout, hardware error mid-motion) is a result with success false and the reason; the node
keeps serving. Every attempt is appended to a JSON-lines attempt log (`hardware.attempt_log`).

Threads: the action runs in a reentrant callback group of a multi-threaded executor, so a
blocking motion occupies one executor thread and the detection response is handled by
another. The hardware connects in a thread of its own at start (and again after a lost
connection), never on an executor thread.

`ExecutorNode(arm, gripper)` drives any `hardware.interfaces` implementation (the simulated
world passes its UR5 and gripper); `main()` builds the real ur_rtde arm and Robotiq gripper from
the `robot_ip` and `gripper_port` parameters. The `gripper` parameter names the gripper profile
(`gqstn_ros.profiles`): its stroke bounds the executed grasp and the commanded openings, its
force range bounds `gripper_force`, and the Robotiq driver maps positions and forces with it.
"""

from __future__ import annotations

import math
import threading
import time
from copy import deepcopy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import rclpy
from gqstn_msgs.action import ExecuteGrasp
from gqstn_msgs.msg import Grasp
from gqstn_msgs.srv import DetectGrasp
from rclpy.action import ActionServer
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.node import Node

from gqstn_ros.frames import RigidTransform
from gqstn_ros.grasping.top_down_plan import PlanError, TopDownConfig, TopDownPlan, TopDownPlanner
from gqstn_ros.hardware.attempt_log import AttemptLog, AttemptRecord
from gqstn_ros.hardware.interfaces import Arm, Gripper, HardwareError, MotionLimits
from gqstn_ros.hardware.robotiq_gripper import RobotiqConfig, RobotiqGripper
from gqstn_ros.hardware.ur_rtde_arm import (
    UR_MAX_TOOL_ACCELERATION,
    UR_MAX_TOOL_SPEED,
    URRTDEArm,
    URRTDEConfig,
)
from gqstn_ros.nodes.grasp_messages import pose_to_transform, transform_to_pose
from gqstn_ros.nodes.parameters import (
    NodeParameters,
    ParameterSpec,
    ParameterValueError,
    gripper_parameter_spec,
    load_gripper_parameter,
    spin_node,
)

NODE_NAME = "executor_node"
ACTION_NAME = "/execute_grasp"
DETECT_SERVICE = "/detect_grasp"
MOTION_STAGES = ("approaching", "descending", "closing", "lifting", "checking", "retreating")
DETECTING = "detecting"


def _unit_quaternion(value: Any) -> str | None:
    norm = math.sqrt(sum(float(v) ** 2 for v in value))
    return None if abs(norm - 1.0) <= 1e-3 else f"quaternion norm is {norm:.4f}, must be 1"


PARAMETERS = (
    # Hardware (used when the node builds its own drivers, i.e. started by main()).
    ParameterSpec("robot_ip", "192.168.1.10", "UR controller address (ur_rtde)", read_only=True),
    gripper_parameter_spec(
        "its stroke bounds the grasps executed and the openings commanded, its force range "
        "bounds gripper_force, and the Robotiq driver converts with its stroke and forces"
    ),
    ParameterSpec(
        "gripper_port",
        "/dev/ttyUSB0",
        "Robotiq gripper Modbus RTU link: serial device path, or tcp://host:port (UR RS485 URCap)",
        read_only=True,
    ),
    ParameterSpec("gripper_device_id", 9, "Gripper Modbus slave id", 1, 247, read_only=True),
    ParameterSpec(
        "connect_timeout", 5.0, "Seconds allowed for each hardware connection", 0.1, 120.0
    ),
    # Frames and hand-eye calibration.
    ParameterSpec("base_frame", "base_link", "Robot base frame; goals may use it directly"),
    ParameterSpec(
        "camera_frame", "camera_depth_optical_frame", "Camera optical frame of detected grasps"
    ),
    ParameterSpec(
        "camera_position",
        [0.5, 0.0, 0.7],
        "Hand-eye: camera optical frame origin in base_frame (m)",
        -10.0,
        10.0,
        length=3,
    ),
    ParameterSpec(
        "camera_quaternion_xyzw",
        [0.7071068, -0.7071068, 0.0, 0.0],
        "Hand-eye: camera optical frame orientation in base_frame (x, y, z, w)",
        -1.0,
        1.0,
        length=4,
        check_value=_unit_quaternion,
    ),
    # Planning.
    ParameterSpec(
        "workspace_min",
        [0.15, -0.5, 0.0],
        "Workspace box, min corner in base_frame (m)",
        -10.0,
        10.0,
        length=3,
    ),
    ParameterSpec(
        "workspace_max",
        [0.9, 0.5, 0.6],
        "Workspace box, max corner in base_frame (m)",
        -10.0,
        10.0,
        length=3,
    ),
    ParameterSpec("pre_grasp_height", 0.10, "Descent start above the grasp (m)", 0.0, 1.0),
    ParameterSpec("lift_height", 0.15, "Lift above the grasp (m)", 0.0, 1.0),
    ParameterSpec("retreat_height", 0.20, "Retreat above the grasp (m)", 0.0, 1.0),
    ParameterSpec(
        "approach_tolerance_deg",
        15.0,
        "Max angle of a grasp approach from straight down",
        0.1,
        89.0,
    ),
    ParameterSpec(
        "tcp_to_grasp_centre",
        0.0,
        "Commanded TCP behind the grasp centre along the approach (m)",
        -0.5,
        0.5,
    ),
    ParameterSpec(
        "opening_margin",
        0.01,
        "Opening beyond the grasp width before descending (m), at most the gripper's stroke",
        0.0,
    ),
    # Motion.
    ParameterSpec("arm_speed", 0.25, "moveL tool speed (m/s)", 0.001, UR_MAX_TOOL_SPEED),
    ParameterSpec(
        "arm_acceleration", 0.5, "moveL tool acceleration (m/s^2)", 0.001, UR_MAX_TOOL_ACCELERATION
    ),
    ParameterSpec("descend_speed", 0.05, "moveL speed of the final descent (m/s)", 0.001, 1.0),
    ParameterSpec("gripper_speed", 0.10, "Finger speed (m/s)", 0.0, 0.15),
    ParameterSpec(
        "gripper_force",
        60.0,
        "Grip force limit (N), within the gripper profile's [min_grip_force, max_grip_force]",
        0.0,
    ),
    ParameterSpec(
        "min_held_opening",
        0.002,
        "A gripper closed narrower than this holds nothing (m), at most the gripper's stroke",
        0.0,
    ),
    # Detection and logging.
    ParameterSpec("detect_timeout", 10.0, "Seconds to wait for /detect_grasp", 0.1, 300.0),
    ParameterSpec(
        "attempt_log_path",
        "~/.ros/gqstn_executor_attempts.jsonl",
        "JSON-lines log of every attempt (appended, fsynced)",
    ),
)


class AttemptFailedError(Exception):
    """Ends an attempt with success false and this message."""


@dataclass
class Attempt:
    """Bookkeeping of one goal: stages entered and their durations."""

    dry_run: bool
    started: float = field(default_factory=time.monotonic)
    started_at: float = field(default_factory=time.time)
    stage: str = "planning"
    stage_started: float = field(default_factory=time.monotonic)
    durations: dict[str, float] = field(default_factory=dict)
    grasp: dict[str, Any] = field(default_factory=dict)

    def enter(self, stage: str) -> None:
        self.close_stage()
        self.stage, self.stage_started = stage, time.monotonic()

    def close_stage(self) -> None:
        self.durations[self.stage] = time.monotonic() - self.stage_started


class ExecutorNode(Node):
    """Serves `/execute_grasp` with `arm` and `gripper` (built from parameters when None)."""

    def __init__(
        self,
        arm: Arm | None = None,
        gripper: Gripper | None = None,
        node_name: str = NODE_NAME,
        **kwargs: Any,
    ) -> None:
        super().__init__(node_name, **kwargs)
        self.parameters = NodeParameters(self, PARAMETERS)
        self.gripper_profile = load_gripper_parameter(self.parameters)
        self._narrow_to_gripper()
        self.planner_config()  # refuse an inconsistent configuration at start
        self.hand_eye()
        self.arm: Arm = (
            arm if arm is not None else URRTDEArm(URRTDEConfig(host=self.parameters["robot_ip"]))
        )
        self.gripper: Gripper = (
            gripper
            if gripper is not None
            else RobotiqGripper(
                RobotiqConfig.for_gripper(
                    self.gripper_profile,
                    port=self.parameters["gripper_port"],
                    device_id=self.parameters["gripper_device_id"],
                )
            )
        )
        log_path = Path(self.parameters["attempt_log_path"]).expanduser()
        self.attempt_log = AttemptLog(log_path)
        self._callback_group = ReentrantCallbackGroup()
        self._detect_client = self.create_client(
            DetectGrasp, DETECT_SERVICE, callback_group=self._callback_group
        )
        self._busy = threading.Lock()
        self._hardware_lock = threading.Lock()
        self._hardware_ready = False
        self._hardware_problem = "connecting"
        self._connecting: threading.Thread | None = None
        self._action_server = ActionServer(
            self,
            ExecuteGrasp,
            ACTION_NAME,
            execute_callback=self._execute,
            callback_group=self._callback_group,
        )
        self.connect_hardware()
        self.get_logger().info(
            f"serving {ACTION_NAME} with gripper {self.gripper_profile.name} "
            f"({self.gripper_profile.max_width * 1e3:.0f} mm stroke); attempts logged to {log_path}"
        )

    # ------------------------------------------------------------------ configuration
    def _narrow_to_gripper(self) -> None:
        """Bound the gripper-dependent parameters by the loaded profile (at start and for
        every later set); a start value outside stops the node (ParameterValueError)."""
        g = self.gripper_profile
        self.parameters.narrow(
            "gripper_force",
            g.min_grip_force,
            g.max_grip_force,
            f"the grip force range of gripper {g.name} (N)",
        )
        for name in ("opening_margin", "min_held_opening"):
            self.parameters.narrow(name, 0.0, g.max_width, f"the stroke of gripper {g.name} (m)")

    def planner_config(self) -> TopDownConfig:
        p = self.parameters
        try:
            return TopDownConfig(
                pre_grasp_height=p["pre_grasp_height"],
                lift_height=p["lift_height"],
                retreat_height=p["retreat_height"],
                workspace_min=tuple(p["workspace_min"]),
                workspace_max=tuple(p["workspace_max"]),
                approach_tolerance=math.radians(p["approach_tolerance_deg"]),
                tcp_to_grasp_centre=p["tcp_to_grasp_centre"],
                opening_margin=p["opening_margin"],
                min_width=self.gripper_profile.min_width,
                max_width=self.gripper_profile.max_width,
            )
        except ValueError as error:
            raise ParameterValueError(f"planning parameters: {error}") from error

    def hand_eye(self) -> RigidTransform:
        """The camera optical frame's pose in base_frame."""
        p = self.parameters
        try:
            return RigidTransform.from_pose(p["camera_position"], p["camera_quaternion_xyzw"])
        except ValueError as error:
            raise ParameterValueError(f"hand-eye parameters: {error}") from error

    # ------------------------------------------------------------------ hardware
    def connect_hardware(self) -> None:
        """Connect arm and gripper in a background thread (no-op while one is running)."""
        with self._hardware_lock:
            if self._connecting is not None and self._connecting.is_alive():
                return
            self._hardware_ready = False
            self._connecting = threading.Thread(
                target=self._connect_hardware, name="executor-hardware-connect", daemon=True
            )
            self._connecting.start()

    def wait_for_hardware(self, timeout: float) -> bool:
        thread = self._connecting
        if thread is not None:
            thread.join(timeout)
        return self._hardware_ready

    def _connect_hardware(self) -> None:
        timeout = self.parameters["connect_timeout"]
        problem = ""
        try:
            if not self.arm.is_connected():
                self.arm.connect(timeout)
        except (HardwareError, OSError) as error:
            problem = f"arm not connected: {error}"
        if not problem:
            try:
                if not self.gripper.is_connected():
                    self.gripper.connect(timeout)
                    self.gripper.activate()
            except (HardwareError, OSError) as error:
                problem = f"gripper not connected: {error}"
        with self._hardware_lock:
            self._hardware_ready = not problem
            self._hardware_problem = problem
        if problem:
            self.get_logger().error(problem)
        else:
            self.get_logger().info("arm and gripper connected")

    def _require_hardware(self) -> None:
        with self._hardware_lock:
            ready, problem = self._hardware_ready, self._hardware_problem
            connecting = self._connecting is not None and self._connecting.is_alive()
        if ready and self.arm.is_connected() and self.gripper.is_connected():
            return
        if connecting:
            raise AttemptFailedError(
                f"arm not connected: {problem or 'connecting'} (still connecting)"
            )
        if ready:
            problem = (
                "arm not connected: connection lost"
                if not self.arm.is_connected()
                else "gripper not connected: connection lost"
            )
        self.connect_hardware()  # try again for the next goal
        raise AttemptFailedError(f"{problem}; reconnecting")

    # ------------------------------------------------------------------ the action
    def _execute(self, goal_handle) -> ExecuteGrasp.Result:
        request = goal_handle.request
        attempt = Attempt(dry_run=bool(request.dry_run))
        result = ExecuteGrasp.Result()
        result.grasp = deepcopy(request.grasp)
        if not self._busy.acquire(blocking=False):
            return self._finish(
                goal_handle, attempt, result, "refused", "busy: another grasp is being executed"
            )
        try:
            message = self._run(goal_handle, request, attempt, result)
            outcome = "dry_run" if attempt.dry_run else "success"
        except AttemptFailedError as error:
            message, outcome = str(error), "failure"
        except Exception as error:  # a bug must not take the node down: report it
            self.get_logger().error(f"attempt failed unexpectedly: {error!r}")
            message, outcome = f"internal error: {type(error).__name__}: {error}", "failure"
        finally:
            self._busy.release()
        return self._finish(goal_handle, attempt, result, outcome, message)

    def _finish(self, goal_handle, attempt: Attempt, result, outcome: str, message: str):
        attempt.close_stage()
        result.message = message
        result.success = outcome in ("success", "dry_run")
        try:
            self.attempt_log.append(
                AttemptRecord(
                    grasp=attempt.grasp or _grasp_summary(result.grasp),
                    stage_reached=attempt.stage,
                    outcome=outcome,
                    message=message,
                    stage_durations=attempt.durations,
                    dry_run=attempt.dry_run,
                    started_at=attempt.started_at,
                    duration=time.monotonic() - attempt.started,
                )
            )
        except OSError as error:
            self.get_logger().error(f"attempt log not written: {error}")
        summary = f"attempt {outcome} at stage {attempt.stage}: {message}"
        # (one logging call site per severity: rclpy refuses a severity change at a call site)
        if result.success:
            self.get_logger().info(summary)
            goal_handle.succeed()
        else:
            self.get_logger().warning(summary)
            goal_handle.abort()
        return result

    def _stage(self, goal_handle, attempt: Attempt, stage: str) -> None:
        attempt.enter(stage)
        goal_handle.publish_feedback(ExecuteGrasp.Feedback(stage=stage))

    def _run(self, goal_handle, request, attempt: Attempt, result) -> str:
        grasp_msg = request.grasp
        if not grasp_msg.planner:
            self._stage(goal_handle, attempt, DETECTING)
            grasp_msg = self._detect()
            result.grasp = deepcopy(grasp_msg)
        attempt.enter("planning")
        grasp_in_base = self._grasp_in_base(grasp_msg)
        try:
            plan = TopDownPlanner(self.planner_config()).plan(grasp_in_base, float(grasp_msg.width))
        except (PlanError, ParameterValueError) as error:
            raise AttemptFailedError(f"plan refused: {error}") from None
        executed = deepcopy(grasp_msg)
        executed.header.frame_id = self.parameters["base_frame"]
        executed.pose = transform_to_pose(plan.grasp_in_base)
        result.grasp = executed
        attempt.grasp = _grasp_summary(executed)
        if request.dry_run:
            for stage in MOTION_STAGES:
                self._stage(goal_handle, attempt, stage)
            result.lift_height = float(plan.lift[2] - plan.grasp[2])
            return f"dry run: nothing moved; {_describe(plan)}"
        self._require_hardware()
        return self._pick(goal_handle, attempt, plan, result)

    def _pick(self, goal_handle, attempt: Attempt, plan: TopDownPlan, result) -> str:
        p = self.parameters
        travel = MotionLimits(speed=p["arm_speed"], acceleration=p["arm_acceleration"])
        descend = MotionLimits(
            speed=min(p["descend_speed"], p["arm_speed"]), acceleration=p["arm_acceleration"]
        )
        speed, force = p["gripper_speed"], p["gripper_force"]
        try:
            self._stage(goal_handle, attempt, "approaching")
            self.gripper.open(plan.opening, speed, force)
            self.arm.move_linear(plan.pre_grasp, travel)
            self._stage(goal_handle, attempt, "descending")
            self.arm.move_linear(plan.grasp, descend)
            self._stage(goal_handle, attempt, "closing")
            closed = self.gripper.close(speed, force)
            self._stage(goal_handle, attempt, "lifting")
            self.arm.move_linear(plan.lift, travel)
            self._stage(goal_handle, attempt, "checking")
            held = self.gripper.status()
            lifted = float(self.arm.tcp_pose()[2] - plan.grasp[2])
            self._stage(goal_handle, attempt, "retreating")
            self.arm.move_linear(plan.retreat, travel)
        except HardwareError as error:
            self._stop_arm()
            raise AttemptFailedError(f"{attempt.stage}: {error}") from None
        result.lift_height = lifted
        holding = held.object_detected and held.opening > p["min_held_opening"]
        if not holding:
            raise AttemptFailedError(
                f"nothing held: after lifting {lifted * 100:.1f} cm the gripper is at "
                f"{held.opening * 1000:.1f} mm, object detected: {held.object_detected} "
                f"(closed at {closed.opening * 1000:.1f} mm, detected: {closed.object_detected})"
            )
        return (
            f"lifted {lifted * 100:.1f} cm holding {held.opening * 1000:.1f} mm; {_describe(plan)}"
        )

    def _stop_arm(self) -> None:
        try:
            self.arm.stop()
        except HardwareError as error:
            self.get_logger().warning(f"stop after a failure failed too: {error}")

    def _grasp_in_base(self, grasp: Grasp) -> RigidTransform:
        base, camera = self.parameters["base_frame"], self.parameters["camera_frame"]
        frame = grasp.header.frame_id
        try:
            pose = pose_to_transform(grasp.pose)
        except ValueError as error:
            raise AttemptFailedError(f"grasp pose invalid: {error}") from None
        if frame == base:
            return pose
        if frame == camera:
            return self.hand_eye().compose(pose)
        raise AttemptFailedError(
            f"grasp frame {frame!r} unknown: expected {base!r} or the camera frame {camera!r}"
        )

    def _detect(self) -> Grasp:
        """Ask /detect_grasp for a grasp in the latest frame; bounded by detect_timeout."""
        timeout = self.parameters["detect_timeout"]
        deadline = time.monotonic() + timeout
        if not self._detect_client.wait_for_service(timeout_sec=timeout):
            raise AttemptFailedError(
                f"detection failed: no {DETECT_SERVICE} service within {timeout} s"
            )
        future = self._detect_client.call_async(DetectGrasp.Request())
        answered = threading.Event()
        future.add_done_callback(lambda _: answered.set())
        if not answered.wait(max(0.0, deadline - time.monotonic())):
            self._detect_client.remove_pending_request(future)
            raise AttemptFailedError(
                f"detection failed: {DETECT_SERVICE} timed out after {timeout} s"
            )
        response = future.result()
        if response is None or not response.success:
            reason = "no response" if response is None else response.message
            raise AttemptFailedError(f"detection failed: {reason}")
        return response.grasp

    def destroy_node(self) -> None:
        # Also called on a node whose construction stopped at an invalid configuration.
        if hasattr(self, "_action_server"):
            self._action_server.destroy()
        try:
            if hasattr(self, "arm"):
                self.arm.disconnect()
            if hasattr(self, "gripper"):
                self.gripper.disconnect()
        except HardwareError as error:
            self.get_logger().warning(f"disconnect: {error}")
        super().destroy_node()


def _grasp_summary(grasp: Grasp) -> dict[str, Any]:
    p, q = grasp.pose.position, grasp.pose.orientation
    return {
        "frame": grasp.header.frame_id,
        "stamp": grasp.header.stamp.sec + grasp.header.stamp.nanosec * 1e-9,
        "position": [p.x, p.y, p.z],
        "quaternion_xyzw": [q.x, q.y, q.z, q.w],
        "width": float(grasp.width),
        "planner": grasp.planner,
        "q_value": float(grasp.q_value),
    }


def _describe(plan: TopDownPlan) -> str:
    def xyz(pose: np.ndarray) -> str:
        return "(" + ", ".join(f"{v:.3f}" for v in pose[:3]) + ")"

    return (
        f"pre-grasp {xyz(plan.pre_grasp)}, grasp {xyz(plan.grasp)}, lift {xyz(plan.lift)}, "
        f"opening {plan.opening * 1000:.1f} mm"
    )


def main(args: list[str] | None = None) -> None:
    rclpy.init(args=args)
    spin_node(ExecutorNode, "executor_node", num_threads=4)


if __name__ == "__main__":
    main()
