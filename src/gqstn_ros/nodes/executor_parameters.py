"""The executor node's parameters (`gqstn_ros.nodes.executor_node`), declared once: names,
defaults, descriptions and limits (docs/interface.md lists them); and what the node derives from
them: the run-time limits narrowed to the gripper profile and the read-only safety limits, and
the top-down planner's configuration."""

from __future__ import annotations

import math

from gqstn_ros.grasping.top_down_plan import TopDownConfig
from gqstn_ros.gripper import GripperConfig
from gqstn_ros.hardware.ur_rtde_arm import UR_MAX_TOOL_ACCELERATION, UR_MAX_TOOL_SPEED
from gqstn_ros.nodes.parameters import (
    NodeParameters,
    ParameterSpec,
    ParameterValueError,
    gripper_parameter_spec,
)
from gqstn_ros.nodes.transforms import HAND_EYE_PARAMETERS

AUTOSTART_CHOICES = ("none", "configure", "activate")

EXECUTOR_NODE_PARAMETERS = (
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
    ParameterSpec(
        "autostart",
        "none",
        "Lifecycle transitions taken at start: none (wait for configure and activate), "
        "configure (connect the hardware, wait for activate), activate (connect and allow "
        "motion)",
        choices=AUTOSTART_CHOICES,
        read_only=True,
    ),
    # Frames and hand-eye calibration (goals in hand_eye.base_frame or hand_eye.camera_frame;
    # config/hand_eye.yaml sets them for every node of the bench).
    *HAND_EYE_PARAMETERS,
    # Planning.
    ParameterSpec(
        "workspace_min",
        [0.15, -0.5, 0.0],
        "Workspace box every waypoint stays in, min corner in hand_eye.base_frame (m); read-only",
        -10.0,
        10.0,
        length=3,
        read_only=True,
    ),
    ParameterSpec(
        "workspace_max",
        [0.9, 0.5, 0.6],
        "Workspace box every waypoint stays in, max corner in hand_eye.base_frame (m); read-only",
        -10.0,
        10.0,
        length=3,
        read_only=True,
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
        "Commanded TCP behind the grasp centre along the approach (m); read-only",
        -0.5,
        0.5,
        read_only=True,
    ),
    ParameterSpec(
        "opening_margin",
        0.01,
        "Opening beyond the grasp width before descending (m), at most the gripper's stroke",
        0.0,
    ),
    # Motion limits, fixed at start: the run-time motion parameters stay within them.
    ParameterSpec(
        "max_arm_speed",
        0.5,
        "Highest moveL tool speed arm_speed and descend_speed may be set to (m/s); read-only",
        0.001,
        UR_MAX_TOOL_SPEED,
        read_only=True,
    ),
    ParameterSpec(
        "max_arm_acceleration",
        1.5,
        "Highest moveL tool acceleration arm_acceleration may be set to (m/s^2); read-only",
        0.001,
        UR_MAX_TOOL_ACCELERATION,
        read_only=True,
    ),
    ParameterSpec(
        "max_gripper_force",
        100.0,
        "Highest grip force gripper_force may be set to (N), besides the gripper profile's "
        "range; read-only",
        0.0,
        read_only=True,
    ),
    # Motion.
    ParameterSpec(
        "arm_speed", 0.25, "moveL tool speed (m/s), at most max_arm_speed", 0.001, UR_MAX_TOOL_SPEED
    ),
    ParameterSpec(
        "arm_acceleration",
        0.5,
        "moveL tool acceleration (m/s^2), at most max_arm_acceleration",
        0.001,
        UR_MAX_TOOL_ACCELERATION,
    ),
    ParameterSpec(
        "descend_speed",
        0.05,
        "moveL speed of the final descent (m/s), at most max_arm_speed",
        0.001,
        1.0,
    ),
    ParameterSpec("gripper_speed", 0.10, "Finger speed (m/s)", 0.0, 0.15),
    ParameterSpec(
        "gripper_force",
        60.0,
        "Grip force limit (N), within the gripper profile's [min_grip_force, max_grip_force] "
        "and at most max_gripper_force",
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
        "JSON-lines log of every attempt, written ahead (start, stages, end; fsynced)",
        read_only=True,
    ),
)


def narrow_to_gripper(parameters: NodeParameters, gripper: GripperConfig) -> None:
    """Bound the gripper-dependent parameters by the loaded profile (at start and for
    every later set); a start value outside stops the node (ParameterValueError)."""
    g = gripper
    parameters.narrow(
        "gripper_force",
        g.min_grip_force,
        g.max_grip_force,
        f"the grip force range of gripper {g.name} (N)",
    )
    for name in ("opening_margin", "min_held_opening"):
        parameters.narrow(name, 0.0, g.max_width, f"the stroke of gripper {g.name} (m)")


def narrow_to_safety_limits(parameters: NodeParameters, gripper: GripperConfig) -> None:
    """Confine the run-time motion parameters to the read-only limits set at start; a
    start value outside stops the node (ParameterValueError naming both)."""
    p = parameters
    max_speed, max_acceleration = p["max_arm_speed"], p["max_arm_acceleration"]
    for name in ("arm_speed", "descend_speed"):
        p.narrow(name, 0.001, max_speed, "max_arm_speed (m/s), set at start")
    p.narrow("arm_acceleration", 0.001, max_acceleration, "max_arm_acceleration, set at start")
    g = gripper
    if p["max_gripper_force"] < g.min_grip_force:
        raise ParameterValueError(
            f"parameter max_gripper_force: {p['max_gripper_force']} N is below the smallest "
            f"grip force of gripper {g.name} ({g.min_grip_force:g} N)"
        )
    p.narrow(
        "gripper_force",
        g.min_grip_force,
        min(g.max_grip_force, p["max_gripper_force"]),
        f"the grip force range of gripper {g.name} capped by max_gripper_force (N)",
    )


def top_down_config(parameters: NodeParameters, gripper: GripperConfig) -> TopDownConfig:
    """The top-down planner's configuration; ParameterValueError when inconsistent."""
    p = parameters
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
            min_width=gripper.min_width,
            max_width=gripper.max_width,
        )
    except ValueError as error:
        raise ParameterValueError(f"planning parameters: {error}") from error
