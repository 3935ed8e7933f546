"""The simulated world node's parameters (`gqstn_ros.nodes.sim_world_node`), declared once:
names, defaults, descriptions and limits; docs/interface.md lists them."""

from __future__ import annotations

from gqstn_ros.nodes.parameters import ParameterSpec, gripper_parameter_spec
from gqstn_ros.nodes.transforms import HAND_EYE_PARAMETERS
from gqstn_ros.sim.benchmark_objects import BENCHMARK_OBJECT_NAMES
from gqstn_ros.sim.clutter import DEFAULT_PILE_OBJECTS, MAX_PILE_OBJECTS

SCENE_MODES = ("single", "pile")

SIM_WORLD_PARAMETERS = (
    ParameterSpec(
        "publish_rate_hz",
        30.0,
        "Depth frames published per second (Kinect v1: 30)",
        min_value=0.5,
        max_value=60.0,
    ),
    ParameterSpec(
        "object_name",
        BENCHMARK_OBJECT_NAMES[0],
        "Benchmark object loaded at start and by /sim/reset_scene",
        choices=BENCHMARK_OBJECT_NAMES,
    ),
    ParameterSpec(
        "seed",
        0,
        "Seed of the object's drop pose (and the sensor noise) at the next reset",
        min_value=0,
        max_value=2**31 - 1,
    ),
    ParameterSpec(
        "scene_mode",
        "single",
        "single: /sim/reset_scene drops the benchmark object object_name; pile: it drops "
        "pile_objects unseen objects in a pile, picked ones go to the bin (/sim/finish_pick)",
        choices=SCENE_MODES,
    ),
    ParameterSpec(
        "pile_objects",
        DEFAULT_PILE_OBJECTS,
        "Objects of a pile (scene_mode pile), drawn from the unseen families with seed",
        min_value=1,
        max_value=MAX_PILE_OBJECTS,
    ),
    ParameterSpec(
        "frame_id", "camera_depth_optical_frame", "frame_id of the depth images", read_only=True
    ),
    gripper_parameter_spec(
        "the simulated gripper's stroke, finger pads and grip force range (the executor node of "
        "this process must use the same)"
    ),
    ParameterSpec(
        "real_time_factor",
        1.0,
        "Simulated seconds per wall second while the arm or gripper moves (0: as fast as it "
        "computes)",
        min_value=0.0,
        max_value=100.0,
        read_only=True,
    ),
    ParameterSpec(
        "render_backend",
        "auto",
        "Depth rendering: OpenGL (gl), ray casting (raycast) or auto",
        choices=("auto", "gl", "raycast"),
        read_only=True,
    ),
    ParameterSpec(
        "stats_period_s",
        60.0,
        "Log the achieved frame rate this often (0: never)",
        min_value=0.0,
        max_value=3600.0,
    ),
    ParameterSpec(
        "hold_duration_s",
        1.0,
        "Simulated seconds /sim/hold lets pass with the arm and gripper holding still",
        min_value=0.0,
        max_value=60.0,
    ),
    ParameterSpec(
        "run_executor",
        True,
        "Host the grasp executor (executor_node) in this process on the simulated UR5 and gripper",
        read_only=True,
    ),
    ParameterSpec(
        "reset_after_attempt",
        True,
        "Reset the scene (object_name, seed) after every /execute_grasp attempt that moved the "
        "object, so that the next one starts from a settled object and an empty gripper",
    ),
    ParameterSpec(
        "markers_rate_hz",
        5.0,
        "Rate of /sim/markers (table, object, gripper, UR5 links in base_link; 0: none)",
        min_value=0.0,
        max_value=30.0,
        read_only=True,
    ),
    *HAND_EYE_PARAMETERS,
)
