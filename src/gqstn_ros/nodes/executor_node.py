"""Executor node: the `/execute_grasp` action, a top-down pick with an arm and a gripper.

A goal carries a grasp (gqstn_msgs/Grasp) in the camera optical frame or in `base_link`, or an
empty `planner` field to detect one now through `/detect_grasp`. The node re-expresses it in
base_link (hand-eye calibration: the camera optical frame's pose in base_link, parameters),
plans the pick with `grasping.top_down_plan.TopDownPlanner` and runs it, reporting each stage
as feedback (docs/interface.md):

    detecting    (only for an empty planner) /detect_grasp, awaited with a timeout
    approaching  open the gripper to the grasp width + margin, move above the grasp
    descending   straight down to the grasp (slower)
    closing      close at the force limit
    lifting      straight up
    checking     held = the gripper reports an object (gOBJ) and is not fully closed
    retreating   up to the retreat height

`dry_run` plans and reports the plan in the result (lift_height 0), moves nothing and reports
no motion stage (only `detecting` when it detected). Every failure (bad grasp, detection
timeout, hardware error mid-motion) is a result with success false and the reason; the node
keeps serving.

Managed (lifecycle) node: `configure` connects the arm and the gripper (nothing moves),
`activate` activates the gripper and allows motion, `deactivate` stops a pick in progress and
refuses motion again, `cleanup` disconnects. A goal that would move while the node is not
active is refused with a message naming the state (dry runs are planned in any state). The
read-only parameter `autostart` makes the node take these transitions itself at start
(`none`, `configure`, `activate`): the real robot's graph configures it and waits for an
explicit `activate`; the simulated bench activates it.

Cancel: a cancel request stops the pick where it is: the arm stops (`Arm.stop`: ur_rtde's
stopL on the real UR, the same in simulation), the gripper is commanded no further (it keeps
its grip: a held object is not dropped), the attempt is logged as cancelled and the result
says so. The same happens when the node is deactivated or its process stops (SIGINT, SIGTERM:
`begin_shutdown`).

Safety limits: the workspace box and the TCP offset are read-only (set at start); arm speed,
acceleration and grip force can change at run time only within `max_arm_speed`,
`max_arm_acceleration` and `max_gripper_force`, read-only limits set at start (the force also
within the gripper profile's range). A goal outside the workspace or the stroke is refused.

Before a pick the gripper must be empty: a gripper that reports an object (after a pick, the
object stays in it) refuses the next goal until it is opened (`~/open_gripper`, std_srvs/
Trigger) or emptied (the simulated bench: `/sim/reset_scene`).

Every attempt is written ahead to a JSON-lines attempt log (`hardware.attempt_log`): when it
starts, at every motion stage and when it ends, so that one interrupted by kill -9 shows as
interrupted.

Threads: the action runs in a reentrant callback group of a multi-threaded executor, so a
blocking motion occupies one executor thread while cancel requests and the detection response
are handled by others. The hardware connects in a thread of its own (configure, and again after
a lost connection), never on an executor thread.

`ExecutorNode(arm, gripper)` drives any `hardware.interfaces` implementation (the simulated
world passes its UR5 and gripper); `main()` builds the real ur_rtde arm and Robotiq gripper from
the `robot_ip` and `gripper_port` parameters. The `gripper` parameter names the gripper profile
(`gqstn_ros.profiles`): its stroke bounds the executed grasp and the commanded openings, its
force range bounds `gripper_force`, and the Robotiq driver maps positions and forces with it.
"""

from __future__ import annotations

import threading
import time
from copy import deepcopy
from pathlib import Path
from typing import Any

import rclpy
from gqstn_msgs.action import ExecuteGrasp
from gqstn_msgs.msg import Grasp
from gqstn_msgs.srv import DetectGrasp
from rclpy.action import ActionServer, CancelResponse
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn
from std_srvs.srv import Trigger

from gqstn_ros.geometry import RigidTransform
from gqstn_ros.grasping.top_down_plan import PlanError, TopDownConfig, TopDownPlan, TopDownPlanner
from gqstn_ros.hardware.attempt_log import AttemptLog, AttemptRecord
from gqstn_ros.hardware.connection import (
    NOT_CONFIGURED,
    HardwareConnection,
    connection_budget_s,
)
from gqstn_ros.hardware.interfaces import Arm, Gripper, GripperStatus, HardwareError, MotionLimits
from gqstn_ros.hardware.robotiq_gripper import RobotiqConfig, RobotiqGripper
from gqstn_ros.hardware.ur_rtde_arm import URRTDEArm, URRTDEConfig
from gqstn_ros.nodes.executor_attempts import (
    DETECTING,
    MOTION_STAGES,
    Attempt,
    AttemptFailedError,
    AttemptRefusedError,
    AttemptStoppedError,
    describe_plan,
    grasp_summary,
)
from gqstn_ros.nodes.executor_parameters import (
    EXECUTOR_NODE_PARAMETERS,
    narrow_to_gripper,
    narrow_to_safety_limits,
    top_down_config,
)
from gqstn_ros.nodes.grasp_messages import pose_to_transform, transform_to_pose
from gqstn_ros.nodes.parameters import (
    NodeParameters,
    ParameterValueError,
    load_gripper_parameter,
    spin_node,
)
from gqstn_ros.nodes.request_flow import refused_busy
from gqstn_ros.nodes.topics import (
    ASK_AGAIN_AFTER_S,
    DETECT_SERVICE,
    EXECUTE_ACTION,
    OPEN_GRIPPER_SERVICE,
)
from gqstn_ros.nodes.transforms import HandEye

NODE_NAME = "executor_node"
# While an attempt is being stopped, Arm.stop() is repeated this often (s) until it has ended,
# so that a motion starting just after the stop request is stopped too.
STOP_REPEAT_PERIOD_S = 0.05
# How long stopping the node (deactivate, shutdown, destroy) waits for a pick to end (s).
HALT_TIMEOUT_S = 1.0
# Waits inside an attempt (detection, autostart) look for a stop request this often (s).
WAIT_POLL_PERIOD_S = 0.02


class ExecutorNode(LifecycleNode):
    """Serves `/execute_grasp` with `arm` and `gripper` (built from parameters when None)."""

    def __init__(
        self,
        arm: Arm | None = None,
        gripper: Gripper | None = None,
        node_name: str = NODE_NAME,
        **kwargs: Any,
    ) -> None:
        super().__init__(node_name, **kwargs)
        self.parameters = NodeParameters(self, EXECUTOR_NODE_PARAMETERS)
        self.gripper_profile = load_gripper_parameter(self.parameters)
        narrow_to_gripper(self.parameters, self.gripper_profile)
        narrow_to_safety_limits(self.parameters, self.gripper_profile)
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
        for attempt_id in self.attempt_log.close_interrupted():
            self.get_logger().warning(
                f"attempt {attempt_id} of an earlier executor process never ended (killed or "
                f"crashed): logged as interrupted in {log_path}"
            )
        self._callback_group = ReentrantCallbackGroup()
        self._detect_client = self.create_client(
            DetectGrasp, DETECT_SERVICE, callback_group=self._callback_group
        )
        self._busy = threading.Lock()
        self.hardware = HardwareConnection(self.arm, self.gripper, self.get_logger())
        # Motion is allowed only in the active state (set by on_activate, cleared on leaving).
        self._motion_allowed = threading.Event()
        # Stopping the attempt in progress: the reason, set once per attempt.
        self._stop_lock = threading.Lock()
        self._stop_requested = threading.Event()
        self._stop_reason = ""
        self._stopper: threading.Thread | None = None
        self._current_goal: bytes | None = None  # goal id of the attempt in progress
        self._idle = threading.Event()  # no attempt in progress
        self._idle.set()
        self._action_server = ActionServer(
            self,
            ExecuteGrasp,
            EXECUTE_ACTION,
            execute_callback=self._execute,
            cancel_callback=self._on_cancel,
            callback_group=self._callback_group,
        )
        self.create_service(
            Trigger,
            OPEN_GRIPPER_SERVICE,
            self._on_open_gripper,
            callback_group=self._callback_group,
        )
        self._autostarted = threading.Event()
        autostart = self.parameters["autostart"]
        if autostart == "none":
            self._autostarted.set()
        else:
            # Taken once spinning, in the default callback group like the lifecycle services.
            self._autostart_timer = self.create_timer(0.0, lambda: self._autostart(autostart))
        self.get_logger().info(
            f"serving {EXECUTE_ACTION} with gripper {self.gripper_profile.name} "
            f"({self.gripper_profile.max_width * 1e3:.0f} mm stroke); attempts logged to "
            f"{log_path}; lifecycle autostart: {autostart}"
        )

    # ------------------------------------------------------------------ configuration
    def planner_config(self) -> TopDownConfig:
        """The top-down planner's configuration from the parameters as they are now."""
        return top_down_config(self.parameters, self.gripper_profile)

    def hand_eye(self) -> RigidTransform:
        """The camera optical frame's pose in hand_eye.base_frame."""
        return HandEye.from_parameters(self.parameters).base_from_camera

    # ------------------------------------------------------------------ lifecycle
    @property
    def lifecycle_state(self) -> str:
        """The lifecycle state's label: unconfigured, inactive, active, finalized, ..."""
        return self._state_machine.current_state[1]

    def _autostart(self, target: str) -> None:
        """Take the transitions `autostart` names (once, from a timer once spinning)."""
        self.destroy_timer(self._autostart_timer)
        try:
            if self.trigger_configure() != TransitionCallbackReturn.SUCCESS:
                self.get_logger().error(
                    f"autostart: configure failed ({self.hardware.problem}); staying "
                    "unconfigured, configure again to retry"
                )
            elif (
                target == "activate" and self.trigger_activate() != TransitionCallbackReturn.SUCCESS
            ):
                self.get_logger().error("autostart: activate failed; staying inactive")
        finally:
            self._autostarted.set()

    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Connect arm and gripper (nothing moves); failure: back to unconfigured."""
        if not self.hardware.connect_and_wait(self.parameters["connect_timeout"], False):
            self.get_logger().error(f"configure failed: {self.hardware.problem}")
            return TransitionCallbackReturn.FAILURE
        self.get_logger().info("configured: hardware connected; motion waits for activate")
        return TransitionCallbackReturn.SUCCESS

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Activate the gripper (the real one opens and closes once) and allow motion."""
        connected = self.arm.is_connected() and self.gripper.is_connected()
        timeout_s = self.parameters["connect_timeout"]
        if not connected and not self.hardware.connect_and_wait(timeout_s, True):
            self.get_logger().error(f"activate failed: {self.hardware.problem}")
            return TransitionCallbackReturn.FAILURE
        if not self.hardware.gripper_activated:
            try:
                self.hardware.activate_gripper()
            except (HardwareError, OSError) as error:
                self.get_logger().error(f"activate failed: gripper activation: {error}")
                return TransitionCallbackReturn.FAILURE
        self._motion_allowed.set()
        self.get_logger().info("active: motion allowed")
        return TransitionCallbackReturn.SUCCESS

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Refuse motion again; a pick in progress is stopped."""
        self.halt("the executor was deactivated")
        self.get_logger().info("inactive: motion refused until activated")
        return TransitionCallbackReturn.SUCCESS

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._motion_allowed.clear()
        self.hardware.disconnect()
        return TransitionCallbackReturn.SUCCESS

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        self.halt("the executor is shutting down")
        self.hardware.disconnect()
        return TransitionCallbackReturn.SUCCESS

    def on_error(self, state: LifecycleState) -> TransitionCallbackReturn:
        self.halt("the executor hit an error in a lifecycle transition")
        self.hardware.disconnect()
        return TransitionCallbackReturn.SUCCESS

    def _require_active(self) -> None:
        """Motion only in the active state (waiting for a start-up autostart first)."""
        if not self._autostarted.is_set():
            budget = connection_budget_s(self.parameters["connect_timeout"])
            self._wait_or_stop(self._autostarted, budget, "waiting for the autostart")
        if self._motion_allowed.is_set():
            return
        state = self.lifecycle_state
        problem = self.hardware.problem
        detail = f" (last hardware problem: {problem})" if problem != NOT_CONFIGURED else ""
        raise AttemptRefusedError(
            f"refused: {self.get_name()} is {state}: it moves only when active (lifecycle "
            f"transitions configure, then activate: ros2 lifecycle set "
            f"{self.get_fully_qualified_name()} activate){detail}"
        )

    # ------------------------------------------------------------------ stopping
    def halt(self, reason: str, timeout_s: float = HALT_TIMEOUT_S) -> bool:
        """Refuse motion and stop the pick in progress (arm stopped, attempt ended as
        cancelled with `reason`); waits up to `timeout_s` for it to end. True when idle."""
        self._motion_allowed.clear()
        self.stop_attempt(reason)
        return self._idle.wait(timeout_s)

    def stop_attempt(self, reason: str) -> None:
        """Stop the attempt in progress (any thread, returns at once): Arm.stop() now and
        again every STOP_REPEAT_PERIOD_S until the attempt has ended. No-op when idle."""
        if self._idle.is_set():
            return
        with self._stop_lock:
            if not self._stop_requested.is_set():
                self._stop_reason = reason
                self._stop_requested.set()
            if self._stopper is None or not self._stopper.is_alive():
                self._stopper = threading.Thread(
                    target=self._keep_stopping, name="executor-stop", daemon=True
                )
                self._stopper.start()

    def _keep_stopping(self) -> None:
        while True:
            self._stop_arm()
            if self._idle.wait(STOP_REPEAT_PERIOD_S):
                return

    def begin_shutdown(self) -> None:
        """The process is stopping (SIGINT, SIGTERM): stop the pick in progress at once."""
        self._motion_allowed.clear()
        self.stop_attempt("the executor process is stopping (SIGINT/SIGTERM)")

    def shutdown_pending(self) -> bool:
        """True while a stopped attempt has not ended yet (its result is still to be sent)."""
        return not self._idle.is_set()

    def _on_cancel(self, goal_handle) -> CancelResponse:
        if self._current_goal == bytes(goal_handle.goal_id.uuid):
            self.stop_attempt("cancel requested")
        # Otherwise the goal is refused or not started: _check_stop sees the request.
        return CancelResponse.ACCEPT

    def _check_stop(self, goal_handle) -> None:
        """Raise AttemptStoppedError when the attempt was asked to stop."""
        if self._stop_requested.is_set():
            raise AttemptStoppedError(self._stop_reason)
        if goal_handle.is_cancel_requested:
            raise AttemptStoppedError("cancel requested")

    def _wait_or_stop(self, event: threading.Event, timeout: float, what: str) -> bool:
        """Wait for `event` up to `timeout` s, raising AttemptStoppedError on a stop request."""
        deadline = time.monotonic() + timeout
        while not event.wait(min(WAIT_POLL_PERIOD_S, max(0.0, deadline - time.monotonic()))):
            if self._stop_requested.is_set():
                raise AttemptStoppedError(f"{self._stop_reason} while {what}")
            if time.monotonic() >= deadline:
                return False
        return True

    # ------------------------------------------------------------------ the gripper service
    def _on_open_gripper(
        self, request: Trigger.Request, response: Trigger.Response
    ) -> Trigger.Response:
        """Open the gripper fully (only when active and no pick runs): empties it."""
        if not self._motion_allowed.is_set():
            response.success = False
            response.message = f"refused: {self.get_name()} is {self.lifecycle_state}, not active"
            return response
        if not self._busy.acquire(blocking=False):
            response.success = False
            response.message = "busy: a grasp is being executed"
            return response
        try:
            p = self.parameters
            status = self.gripper.open(
                self.gripper_profile.max_width, p["gripper_speed"], p["gripper_force"]
            )
            response.success = True
            response.message = f"gripper open at {status.opening * 1000:.1f} mm"
        except HardwareError as error:
            response.success = False
            response.message = f"gripper not opened: {error}"
        finally:
            self._busy.release()
        return response

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
            with self._stop_lock:
                self._stop_requested.clear()
                self._stop_reason = ""
                self._idle.clear()
                self._current_goal = bytes(goal_handle.goal_id.uuid)
            outcome, message = self._attempt(goal_handle, request, attempt, result)
            return self._finish(goal_handle, attempt, result, outcome, message)
        finally:
            with self._stop_lock:
                self._current_goal = None
                self._idle.set()
            self._busy.release()

    def _attempt(self, goal_handle, request, attempt: Attempt, result) -> tuple[str, str]:
        """Run one attempt, written ahead to the attempt log: (outcome, message)."""
        try:
            attempt.attempt_id = self.attempt_log.start(
                grasp_summary(request.grasp), attempt.dry_run, attempt.started_at
            )
        except OSError as error:
            self.get_logger().error(f"attempt log not written: {error}")
            if not attempt.dry_run:  # nothing moves unless it is on record
                return "refused", f"refused: the attempt log cannot be written: {error}"
        try:
            message = self._run(goal_handle, request, attempt, result)
            return ("dry_run" if attempt.dry_run else "success"), message
        except AttemptStoppedError as error:
            return "cancelled", self._stopped_message(attempt, str(error))
        except AttemptRefusedError as error:
            return "refused", str(error)
        except AttemptFailedError as error:
            return "failure", str(error)
        except Exception as error:  # a bug must not take the node down: report it
            self.get_logger().error(f"attempt failed unexpectedly: {error!r}")
            return "failure", f"internal error: {type(error).__name__}: {error}"

    def _stopped_message(self, attempt: Attempt, reason: str) -> str:
        """The result message of a stopped attempt: where the arm and the gripper were left."""
        parts = [f"cancelled: {reason} during {attempt.stage}"]
        if attempt.stage in MOTION_STAGES:
            try:
                tcp = self.arm.tcp_pose()
                parts.append(f"the arm stopped at ({', '.join(f'{v:.3f}' for v in tcp[:3])})")
            except HardwareError as error:
                parts.append(f"the arm was told to stop (pose unreadable: {error})")
            try:
                held = self.gripper.status()
                parts.append(
                    f"the gripper was left as it was ({held.opening * 1000:.1f} mm, object "
                    f"detected: {held.object_detected}): not opened, a held object is not dropped"
                )
            except HardwareError as error:
                parts.append(f"gripper status unreadable: {error}")
        return "; ".join(parts)

    def _finish(self, goal_handle, attempt: Attempt, result, outcome: str, message: str):
        attempt.close_stage()
        result.message = message
        result.success = outcome in ("success", "dry_run")
        try:
            self.attempt_log.append(
                AttemptRecord(
                    grasp=attempt.grasp or grasp_summary(result.grasp),
                    stage_reached=attempt.stage,
                    outcome=outcome,
                    message=message,
                    stage_durations=attempt.durations,
                    dry_run=attempt.dry_run,
                    started_at=attempt.started_at,
                    duration=time.monotonic() - attempt.started,
                    attempt_id=attempt.attempt_id,
                )
            )
        except OSError as error:
            self.get_logger().error(f"attempt log not written: {error}")
        summary = f"attempt {outcome} at stage {attempt.stage}: {message}"
        # (one logging call site per severity: rclpy refuses a severity change at a call site)
        if result.success:
            self.get_logger().info(summary)
        else:
            self.get_logger().warning(summary)
        try:
            if result.success:
                goal_handle.succeed()
            elif outcome == "cancelled" and goal_handle.is_cancel_requested:
                goal_handle.canceled()
            else:
                goal_handle.abort()
        except Exception as error:  # the process is stopping: the goal cannot be answered
            self.get_logger().debug(f"result of the attempt not delivered: {error!r}")
        return result

    def _stage(self, goal_handle, attempt: Attempt, stage: str) -> None:
        self._check_stop(goal_handle)
        attempt.enter(stage)
        if not attempt.dry_run and attempt.attempt_id:
            try:
                self.attempt_log.stage(
                    attempt.attempt_id, stage, attempt.grasp if stage == MOTION_STAGES[0] else None
                )
            except OSError as error:
                self.get_logger().error(f"attempt log not written: {error}")
        try:
            goal_handle.publish_feedback(ExecuteGrasp.Feedback(stage=stage))
        except Exception as error:  # the process is stopping: feedback cannot go out
            self.get_logger().debug(f"feedback {stage} not published: {error!r}")

    def _run(self, goal_handle, request, attempt: Attempt, result) -> str:
        grasp_msg = request.grasp
        if not request.dry_run:
            self._require_active()
        if not grasp_msg.planner:
            self._stage(goal_handle, attempt, DETECTING)
            grasp_msg = self._detect()
            result.grasp = deepcopy(grasp_msg)
        attempt.enter("planning")
        grasp_in_base = self._grasp_in_base(grasp_msg)
        try:
            plan = TopDownPlanner(self.planner_config()).plan(grasp_in_base, float(grasp_msg.width))
        except (PlanError, ParameterValueError) as error:
            raise AttemptRefusedError(f"plan refused: {error}") from None
        executed = deepcopy(grasp_msg)
        executed.header.frame_id = self.parameters["hand_eye.base_frame"]
        executed.pose = transform_to_pose(plan.grasp_in_base)
        result.grasp = executed
        attempt.grasp = grasp_summary(executed)
        if request.dry_run:  # no motion stage is entered or reported: nothing is lifted
            result.lift_height = 0.0
            return f"dry run: nothing moved; {describe_plan(plan)}"
        self._require_active()  # deactivated while detecting or planning?
        problem = self.hardware.problem_before_motion(self.parameters["connect_timeout"])
        if problem is not None:
            raise AttemptFailedError(problem)
        self._require_empty_gripper()
        return self._pick(goal_handle, attempt, plan, result)

    def _require_empty_gripper(self) -> None:
        """Refuse a pick while the gripper holds something (the previous pick's object)."""
        try:
            status: GripperStatus = self.gripper.status()
        except HardwareError as error:
            raise AttemptFailedError(f"gripper status unreadable: {error}") from None
        if status.object_detected and status.opening > self.parameters["min_held_opening"]:
            raise AttemptRefusedError(
                f"refused: the gripper holds an object ({status.opening * 1000:.1f} mm, object "
                f"detected): open or empty it first ({self.get_fully_qualified_name()}/"
                f"{OPEN_GRIPPER_SERVICE[2:]}; in simulation /sim/reset_scene)"
            )

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
            self._check_stop(goal_handle)
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
            self._check_stop(goal_handle)  # stopped on request: cancelled, not failed
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
            f"lifted {lifted * 100:.1f} cm holding {held.opening * 1000:.1f} mm; "
            f"{describe_plan(plan)}"
        )

    def _stop_arm(self) -> None:
        try:
            self.arm.stop()
        except HardwareError as error:
            self.get_logger().warning(f"arm stop failed: {error}")

    def _grasp_in_base(self, grasp: Grasp) -> RigidTransform:
        base = self.parameters["hand_eye.base_frame"]
        camera = self.parameters["hand_eye.camera_frame"]
        frame = grasp.header.frame_id
        try:
            pose = pose_to_transform(grasp.pose)
        except ValueError as error:
            raise AttemptRefusedError(f"grasp pose invalid: {error}") from None
        if frame == base:
            return pose
        if frame == camera:
            return self.hand_eye().compose(pose)
        raise AttemptRefusedError(
            f"grasp frame {frame!r} unknown: expected {base!r} or the camera frame {camera!r}"
        )

    def _detect(self) -> Grasp:
        """Ask /detect_grasp for a grasp in the latest frame; bounded by detect_timeout and
        ended early by a stop request."""
        timeout = self.parameters["detect_timeout"]
        deadline = time.monotonic() + timeout
        while not self._detect_client.service_is_ready():
            if self._stop_requested.is_set():
                raise AttemptStoppedError(f"{self._stop_reason} while detecting")
            if time.monotonic() >= deadline:
                raise AttemptFailedError(
                    f"detection failed: no {DETECT_SERVICE} service within {timeout} s"
                )
            time.sleep(WAIT_POLL_PERIOD_S)
        # A query: without a reply after ASK_AGAIN_AFTER_S it is sent once more (a reply can
        # be lost while DDS still matches a new peer; README, Interfaces). The first reply to
        # either counts, but a "busy" refusal of the repetition while the first is worked on.
        sent: list[Any] = []
        answered = threading.Event()

        def counts(future: Any) -> bool:
            reply = future.result()
            return future is sent[0] or not (reply and refused_busy(reply.message))

        def send() -> None:
            future = self._detect_client.call_async(DetectGrasp.Request())
            sent.append(future)
            future.add_done_callback(lambda done: answered.set() if counts(done) else None)

        def remaining() -> float:
            return max(0.0, deadline - time.monotonic())

        send()
        try:
            in_time = self._wait_or_stop(answered, min(ASK_AGAIN_AFTER_S, remaining()), "detecting")
            if not in_time and remaining() > 0.0:
                send()
                in_time = self._wait_or_stop(answered, remaining(), "detecting")
        finally:
            for future in sent:
                if not future.done():
                    self._detect_client.remove_pending_request(future)
        replies = [future for future in sent if future.done() and counts(future)]
        if not in_time or not replies:
            raise AttemptFailedError(
                f"detection failed: {DETECT_SERVICE} timed out after {timeout} s"
            )
        response = replies[0].result()
        if response is None or not response.success:
            reason = "no response" if response is None else response.message
            raise AttemptFailedError(f"detection failed: {reason}")
        return response.grasp

    def destroy_node(self) -> None:
        # Also called on a node whose construction stopped at an invalid configuration.
        if hasattr(self, "_idle"):
            self.halt("the executor node is being destroyed")
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


def main(args: list[str] | None = None) -> None:
    rclpy.init(args=args)
    spin_node(ExecutorNode, "executor_node", num_threads=4)


if __name__ == "__main__":
    main()
