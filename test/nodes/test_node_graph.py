"""The node graph: bench.launch.py builds it for ros2 launch, run_graph runs it here; the YAML
files hold only declared, valid parameters."""

from __future__ import annotations

import ast
import importlib.util
import signal
import sys
import time
import types
from dataclasses import replace
from pathlib import Path

import pytest
import yaml
from gqstn_msgs.srv import DetectGrasp, PlanGrasp
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CameraInfo, Image

from gqstn_ros.camera_model import KINECT_V1
from gqstn_ros.depth_image import intrinsics_to_camera_info, metres_to_image
from gqstn_ros.node_graph import (
    FASTDDS_PROFILE_VARIABLES,
    LAUNCH_ARGUMENTS,
    REPO_CONFIG_DIR,
    GraphArguments,
    node_graph,
    nodes_to_start,
)
from gqstn_ros.nodes.depth_node import DEPTH_NODE_PARAMETERS
from gqstn_ros.nodes.executor_parameters import EXECUTOR_NODE_PARAMETERS
from gqstn_ros.nodes.fallback_node import FALLBACK_NODE_PARAMETERS
from gqstn_ros.nodes.inference_parameters import INFERENCE_NODE_PARAMETERS
from gqstn_ros.nodes.sim_world_parameters import SIM_WORLD_PARAMETERS
from gqstn_ros.profiles import gripper_profile_names
from gqstn_ros.tools.run_graph import node_command
from ros_test_support import REPO_ROOT, PeerProcess, call_service

LAUNCH_FILE = REPO_ROOT / "launch" / "bench.launch.py"
TIMEOUT_S = 25.0


def console_scripts() -> dict[str, str]:
    """executable -> module:function from setup.py's entry_points (read, not executed)."""
    tree = ast.parse((REPO_ROOT / "setup.py").read_text())
    scripts: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if isinstance(key, ast.Constant) and key.value == "console_scripts":
                    for item in ast.literal_eval(value):
                        name, target = (part.strip() for part in item.split("="))
                        scripts[name] = target
    return scripts


@pytest.mark.parametrize("use_sim", [True, False])
def test_every_node_is_an_entry_point_with_its_module(use_sim: bool) -> None:
    scripts = console_scripts()
    for spec in nodes_to_start(GraphArguments(use_sim=use_sim)):
        assert scripts.get(spec.executable) == f"{spec.module}:main", spec.executable
        assert importlib.util.find_spec(spec.module) is not None, f"{spec.module} is missing"
        for path in spec.parameter_paths(REPO_CONFIG_DIR):
            assert path.is_file(), f"{spec.label} needs {path}"


def test_sim_and_real_graphs() -> None:
    sim = [spec.label for spec in nodes_to_start(GraphArguments(use_sim=True))]
    real = nodes_to_start(
        GraphArguments(use_sim=False, robot_ip="10.0.0.2", gripper_port="/dev/ttyS1")
    )
    assert sim == ["sim_world_node", "depth_node", "inference_node", "fallback_node"]
    assert [spec.label for spec in real] == [
        "depth_node",
        "inference_node",
        "fallback_node",
        "executor_node",
    ]
    executor = real[-1]
    assert dict(executor.parameters) == {
        "autostart": "configure",  # connects, moves only once activated
        "robot_ip": "10.0.0.2",
        "gripper": "robotiq_2f85",
        "gripper_port": "/dev/ttyS1",
    }
    inference = real[1]
    assert dict(inference.parameters) == {
        "gripper": "robotiq_2f85",
        "backend": "torch",
        "symmetric_views": 1,
    }
    assert len(node_graph(GraphArguments())) == 5


def test_the_gripper_argument_reaches_every_node_that_depends_on_the_gripper() -> None:
    argument = next(a for a in LAUNCH_ARGUMENTS if a.name == "gripper")
    assert argument.default == "robotiq_2f85"
    assert set(argument.choices) == set(gripper_profile_names()) >= {"robotiq_2f140"}
    arguments = GraphArguments.from_strings({"gripper": "robotiq_2f140"})
    for use_sim in (True, False):
        graph = nodes_to_start(replace(arguments, use_sim=use_sim))
        gripper = {spec.label: dict(spec.parameters).get("gripper") for spec in graph}
        expected = {
            "inference_node",
            "fallback_node",
            "sim_world_node" if use_sim else "executor_node",
        }
        assert {label for label, value in gripper.items() if value} == expected
        assert set(gripper.values()) - {None} == {"robotiq_2f140"}
    sim_world = nodes_to_start(arguments)[0]
    command = node_command(sim_world, REPO_CONFIG_DIR, python="python3")
    assert command[-2:] == ["-p", "gripper:=robotiq_2f140"]  # the world's and its executor's
    with pytest.raises(ValueError, match=r"gripper:='pincer' is not one of .*robotiq_2f85"):
        GraphArguments.from_strings({"gripper": "pincer"})


def test_launch_arguments_are_checked() -> None:
    arguments = GraphArguments.from_strings({"use_sim": "false", "model_backend": "onnxruntime"})
    assert not arguments.use_sim and arguments.model_backend == "onnxruntime"
    with pytest.raises(ValueError, match="model_backend:='tensorrt' is not one of torch"):
        GraphArguments.from_strings({"model_backend": "tensorrt"})
    assert GraphArguments.from_strings({"symmetric_views": "4"}).symmetric_views == 4
    assert GraphArguments.from_strings({"judge_model": "gqcnn_judge.pt"}).judge_model == (
        "gqcnn_judge.pt"
    )
    with pytest.raises(ValueError, match="symmetric_views:='3' is not one of 1, 2, 4, 8"):
        GraphArguments.from_strings({"symmetric_views": "3"})
    camera_rate = GraphArguments.from_strings({"fallback_when": "not_robust"})
    inference = next(node for node in nodes_to_start(camera_rate) if node.name == "inference_node")
    assert ("fallback_when", "not_robust") in inference.parameters
    # The judge: '' leaves the node's parameters; own_head and another checkpoint report raw q
    # (the shipped calibration was fitted for the shipped judge).
    for judge, expected in (
        ("", {}),
        ("own_head", {"judge_model": "", "q_calibration_dir": ""}),
        ("gqcnn_judge.pt", {"judge_model": "gqcnn_judge.pt"}),
        ("my_judge.pt", {"judge_model": "my_judge.pt", "q_calibration_dir": ""}),
    ):
        arguments = GraphArguments.from_strings({"judge_model": judge})
        inference = next(n for n in nodes_to_start(arguments) if n.name == "inference_node")
        given = {k: v for k, v in inference.parameters if k in ("judge_model", "q_calibration_dir")}
        assert given == expected, judge
    with pytest.raises(ValueError, match="is not one of always, not_robust"):
        GraphArguments.from_strings({"fallback_when": "often"})
    with pytest.raises(ValueError, match="unknown launch argument"):
        GraphArguments.from_strings({"use_simulation": "true"})
    with pytest.raises(ValueError, match=r"params_file /nonexistent\.yaml does not exist"):
        GraphArguments.from_strings({"params_file": "/nonexistent.yaml"})


class Recorded:
    """A launch class double that keeps its constructor arguments (launch is not installed)."""

    def __init__(self, *args, **kwargs) -> None:
        self.args, self.kwargs = args, kwargs


class RecordedLifecycleNode(Recorded):
    """launch_ros's LifecycleNode requires a name and a namespace (launch_ros 0.28)."""

    def __init__(self, *, name, namespace, **kwargs) -> None:
        super().__init__(name=name, namespace=namespace, **kwargs)


def test_launch_file_declares_the_arguments_and_starts_the_graph(monkeypatch) -> None:
    source = LAUNCH_FILE.read_text()
    compile(source, str(LAUNCH_FILE), "exec")  # valid Python for the launch system
    values = {
        "use_sim": "false",
        "robot_ip": "10.1.1.1",
        "model_backend": "onnxruntime",
        "symmetric_views": "2",
        "judge_model": "gqcnn_judge.pt",
    }

    class LaunchConfiguration(Recorded):
        def perform(self, _context) -> str:
            name = self.args[0]
            return values.get(name, next(a.default for a in LAUNCH_ARGUMENTS if a.name == name))

    modules = {
        "launch": {"LaunchContext": Recorded, "LaunchDescription": Recorded},
        "launch.actions": {"DeclareLaunchArgument": Recorded, "OpaqueFunction": Recorded},
        "launch.substitutions": {"LaunchConfiguration": LaunchConfiguration},
        "launch_ros.actions": {"Node": Recorded, "LifecycleNode": RecordedLifecycleNode},
        "launch_ros": {},
    }
    for name, attributes in modules.items():
        module = types.ModuleType(name)
        module.__dict__.update(attributes)
        monkeypatch.setitem(sys.modules, name, module)
    for variable in FASTDDS_PROFILE_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    # Real hardware keeps the environment's discovery range (ROS's default: SUBNET).
    monkeypatch.delenv("ROS_AUTOMATIC_DISCOVERY_RANGE", raising=False)
    namespace: dict = {}
    exec(compile(source, str(LAUNCH_FILE), "exec"), namespace)
    monkeypatch.setitem(
        namespace["launch_nodes"].__globals__,
        "get_package_share_directory",
        lambda package: str(REPO_ROOT) if package == "gqstn_ros" else None,
    )
    description = namespace["generate_launch_description"]()
    *declared, opaque = description.args[0]
    assert [d.args[0] for d in declared] == [a.name for a in LAUNCH_ARGUMENTS]
    for action, argument in zip(declared, LAUNCH_ARGUMENTS, strict=True):
        assert action.kwargs["description"] == argument.description
        assert action.kwargs["default_value"] == argument.default
        assert action.kwargs.get("choices", []) == list(argument.choices)
    nodes = opaque.kwargs["function"](object())
    scripts = console_scripts()
    assert [node.kwargs["executable"] for node in nodes] == [
        "depth_node",
        "inference_node",
        "fallback_node",
        "executor_node",
    ]
    for node in nodes:
        assert node.kwargs["package"] == "gqstn_ros"
        assert node.kwargs["executable"] in scripts
        *files, _overrides = node.kwargs["parameters"]
        own = str(REPO_ROOT / "config" / f"{node.kwargs['name']}.yaml")
        hand_eye = str(REPO_ROOT / "config" / "hand_eye.yaml")  # the nodes that need it
        uses_hand_eye = node.kwargs["name"] in ("inference_node", "executor_node")
        assert files == ([own, hand_eye] if uses_hand_eye else [own])
        assert node.kwargs["additional_env"] == {
            "FASTDDS_DEFAULT_PROFILES_FILE": str(REPO_ROOT / "config" / "fastdds_large_frames.xml"),
            "RCUTILS_COLORIZED_OUTPUT": "0",  # no colour codes in launch's log files
            "PYTHONUNBUFFERED": "1",
        }
        assert node.kwargs["emulate_tty"] is False
    # The real executor is a managed node; the others are plain nodes.
    assert [type(node) for node in nodes] == [Recorded] * 3 + [RecordedLifecycleNode]
    assert nodes[3].kwargs["namespace"] == "" and nodes[3].kwargs["name"] == "executor_node"
    assert nodes[1].kwargs["parameters"][-1] == {
        "gripper": "robotiq_2f85",
        "backend": "onnxruntime",
        "symmetric_views": 2,
        "judge_model": "gqcnn_judge.pt",
    }
    assert nodes[3].kwargs["parameters"][-1]["robot_ip"] == "10.1.1.1"


def hand_eye_document() -> dict:
    return yaml.safe_load((REPO_CONFIG_DIR / "hand_eye.yaml").read_text())


def test_hand_eye_yaml_holds_valid_hand_eye_parameters_for_every_node() -> None:
    from gqstn_ros.nodes.transforms import HAND_EYE_PARAMETERS

    document = hand_eye_document()
    assert list(document) == ["/**"]
    values = flatten(document["/**"]["ros__parameters"])
    specs = {spec.name: spec for spec in (*HAND_EYE_PARAMETERS, *INFERENCE_NODE_PARAMETERS)}
    assert set(values) == {spec.name for spec in HAND_EYE_PARAMETERS} | {"hand_eye.enabled"}
    for name, value in values.items():
        assert type(value) is type(specs[name].default), name
        assert specs[name].check(value) is None, f"{name}: {specs[name].check(value)}"


def flatten(parameters: dict, prefix: str = "") -> dict:
    flat = {}
    for key, value in parameters.items():
        if isinstance(value, dict):
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


@pytest.mark.parametrize(
    ("file_name", "node_name", "specs"),
    [
        ("depth_node", "depth_node", DEPTH_NODE_PARAMETERS),
        ("inference_node", "inference_node", INFERENCE_NODE_PARAMETERS),
        ("fallback_node", "fallback_node", FALLBACK_NODE_PARAMETERS),
        ("executor_node", "executor_node", EXECUTOR_NODE_PARAMETERS),
        ("sim_world_node", "sim_world", SIM_WORLD_PARAMETERS),
    ],
)
def test_yaml_files_state_only_valid_values_that_differ_from_the_defaults(
    file_name: str, node_name: str, specs
) -> None:
    document = yaml.safe_load((REPO_CONFIG_DIR / f"{file_name}.yaml").read_text())
    assert list(document) == [node_name]
    values = flatten(document[node_name]["ros__parameters"])
    by_name = {spec.name: spec for spec in specs}
    shared = flatten(hand_eye_document()["/**"]["ros__parameters"])
    assert not set(shared) & set(values), "the hand-eye calibration is kept in hand_eye.yaml only"
    assert set(values) <= set(by_name), f"undeclared: {sorted(set(values) - set(by_name))}"
    for name, value in values.items():
        spec = by_name[name]
        assert type(value) is type(spec.default), f"{name}: {value!r} vs {spec.default!r}"
        assert spec.check(value) is None, f"{name}: {spec.check(value)}"
        assert value != spec.default, f"{name}: the default is declared once, in the specs"


def test_node_command_line() -> None:
    spec = nodes_to_start(GraphArguments(model_backend="onnxruntime"))[2]
    command = node_command(spec, REPO_CONFIG_DIR, python="python3")
    assert command == [
        "python3",
        "-m",
        "gqstn_ros.nodes.inference_node",
        "--ros-args",
        "-r",
        "__node:=inference_node",
        "--params-file",
        str(REPO_CONFIG_DIR / "inference_node.yaml"),
        "--params-file",
        str(REPO_CONFIG_DIR / "hand_eye.yaml"),
        "-p",
        "gripper:=robotiq_2f85",
        "-p",
        "backend:=onnxruntime",
        "-p",
        "symmetric_views:=1",
    ]
    # An empty value is written as YAML's '' (a bare "name:=" does not parse).
    spec = nodes_to_start(GraphArguments(judge_model="own_head"))[2]
    command = node_command(spec, REPO_CONFIG_DIR, python="python3")
    assert command[-4:] == ["-p", "judge_model:=''", "-p", "q_calibration_dir:=''"]


@pytest.mark.ros
def test_run_graph_brings_up_depth_inference_and_fallback(client_node) -> None:
    node, executor = client_node
    runner = PeerProcess(
        [
            "-m",
            "gqstn_ros.tools.run_graph",
            "--only",
            "depth_node,inference_node,fallback_node",
            "use_sim:=false",
        ],
        "run_graph",
    )
    try:
        detect = node.create_client(DetectGrasp, "/detect_grasp")
        plan = node.create_client(PlanGrasp, "/plan_grasp")
        assert detect.wait_for_service(timeout_sec=TIMEOUT_S), runner.output()
        assert plan.wait_for_service(timeout_sec=TIMEOUT_S), runner.output()
        # The depth node serves nothing to wait for: wait for discovery to name it.
        expected = {"depth_node", "inference_node", "fallback_node"}
        deadline = time.monotonic() + TIMEOUT_S
        while not expected <= set(node.get_node_names()) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert expected <= set(node.get_node_names()), runner.output()
        # Raw frames reach the inference node through the depth node.
        qos = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE)
        images = node.create_publisher(Image, "/camera/depth/image_raw", qos)
        infos = node.create_publisher(CameraInfo, "/camera/depth/camera_info", qos)
        frame = metres_to_image(_table_with_box(), "16UC1")
        info = intrinsics_to_camera_info(KINECT_V1)
        # Until the first inpainted frame and its camera_info (best effort) have arrived.
        message = "no depth frame received yet on /depth/inpainted"
        not_yet = ("no depth frame", "no matching camera_info")
        deadline = time.monotonic() + TIMEOUT_S
        while message.startswith(not_yet) and time.monotonic() < deadline:
            infos.publish(info)
            images.publish(frame)
            response = call_service(
                executor,
                detect,
                DetectGrasp.Request(disable_fallback=True),
                TIMEOUT_S,
                repeatable=True,
            )
            message = response.message
        assert response.success or message.startswith("no model loaded"), message
        assert runner.is_running()
    finally:
        runner.process.send_signal(signal.SIGINT)
        code = runner.process.wait(20)
        runner.reader.join(5)
    output = runner.output()
    assert code == 0, output
    for label in ("depth_node", "inference_node", "fallback_node"):
        assert f"[{label}] " in output, output


def _table_with_box():
    import numpy as np

    depth = np.full((480, 640), 0.7)
    depth[200:260, 280:330] = 0.64
    depth[::37, ::41] = 0.0  # holes
    return depth


@pytest.mark.ros
def test_launch_arguments_win_over_the_parameter_files(tmp_path: Path) -> None:
    """robot_ip:= reaches the real executor although a parameter file sets robot_ip: the
    `-p` overrides are applied after every parameter file of the process (hand_eye.yaml's
    `/**` section and params_file included)."""
    params = tmp_path / "robot.yaml"
    params.write_text('executor_node:\n  ros__parameters:\n    robot_ip: "10.9.9.9"\n')
    runner = PeerProcess(
        [
            "-m",
            "gqstn_ros.tools.run_graph",
            "--only",
            "executor_node",
            "use_sim:=false",
            "robot_ip:=127.0.0.9",
            f"params_file:={params}",
        ],
        "run_graph",
    )
    try:
        deadline = time.monotonic() + TIMEOUT_S
        while "configure failed" not in runner.output() and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        runner.process.send_signal(signal.SIGINT)
        runner.process.wait(20)
        runner.reader.join(5)
    output = runner.output()
    assert "arm not connected: robot at 127.0.0.9:30004 refused the connection" in output, output


@pytest.mark.ros
def test_run_graph_reports_a_node_that_exits(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("depth_node:\n  ros__parameters:\n    inpaint_scale: 2.0\n")
    runner = PeerProcess(
        ["-m", "gqstn_ros.tools.run_graph", "--only", "depth_node", f"params_file:={bad}"],
        "run_graph",
    )
    code = runner.process.wait(30)
    runner.reader.join(5)
    output = runner.output()
    assert "depth_node exited with code 2" in output, output
    assert "inpaint_scale" in output
    assert code == 2
