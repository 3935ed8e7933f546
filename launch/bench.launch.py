"""The grasping bench: depth, inference and fallback nodes, plus the simulated world or the
real UR5 + Robotiq 2F-85 executor.

    ros2 launch gqstn_ros bench.launch.py                       # simulated world (default)
    ros2 launch gqstn_ros bench.launch.py use_sim:=false robot_ip:=192.168.1.10 \
        gripper_port:=/dev/ttyUSB0 model_backend:=onnxruntime

The nodes, their parameter files and the launch arguments are defined once in
`gqstn_ros.node_graph` (also used by `python -m gqstn_ros.tools.run_graph`). The real robot's
executor is a managed node (launch_ros LifecycleNode): it configures itself (connects the
hardware) and moves only once activated explicitly (`ros2 lifecycle set /executor_node
activate`). With
`respawn:=true` a node process that exits is started again after `respawn_delay` seconds
(launch_ros Node's respawn and respawn_delay) instead of staying down.
"""

import os
from pathlib import Path

from ament_index_python.packages import get_package_share_directory
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import LifecycleNode, Node

from gqstn_ros.node_graph import (
    LAUNCH_ARGUMENTS,
    LOG_ENVIRONMENT,
    PACKAGE_NAME,
    GraphArguments,
    node_environment,
    nodes_to_start,
)
from launch import LaunchContext, LaunchDescription


def launch_nodes(context: LaunchContext) -> list[Node]:
    """The Node actions (LifecycleNode for a managed node) of the graph for the arguments
    given on the command line."""
    values = {
        argument.name: LaunchConfiguration(argument.name).perform(context)
        for argument in LAUNCH_ARGUMENTS
    }
    arguments = GraphArguments.from_strings(values)
    config_dir = Path(get_package_share_directory(PACKAGE_NAME)) / "config"
    environment = node_environment(arguments, config_dir, os.environ)
    return [
        (LifecycleNode if spec.lifecycle else Node)(
            package=spec.package,
            executable=spec.executable,
            name=spec.name,
            **({"namespace": ""} if spec.lifecycle else {}),
            parameters=[
                *(str(path) for path in spec.parameter_paths(config_dir)),
                dict(spec.parameters),
            ],
            remappings=list(spec.remappings),
            additional_env={**LOG_ENVIRONMENT, **environment},
            output="screen",
            emulate_tty=False,  # no colour codes in the log files
            respawn=arguments.respawn,
            respawn_delay=arguments.respawn_delay,
        )
        for spec in nodes_to_start(arguments)
    ]


def generate_launch_description() -> LaunchDescription:
    declared = [
        DeclareLaunchArgument(
            argument.name,
            default_value=argument.default,
            description=argument.description,
            **({"choices": list(argument.choices)} if argument.choices else {}),
        )
        for argument in LAUNCH_ARGUMENTS
    ]
    return LaunchDescription([*declared, OpaqueFunction(function=launch_nodes)])
