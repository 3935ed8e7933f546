"""The bench's node graph, defined once for `ros2 launch` and for our own runner.

`launch/bench.launch.py` (ROS 2 launch) and `gqstn_ros.tools.run_graph` (machines without the
`ros2` command) both start exactly the `NodeSpec`s returned by `nodes_to_start`, with the
launch arguments declared in `LAUNCH_ARGUMENTS`. Simulation (`use_sim:=true`, the default):
`sim_world_node` hosts the MuJoCo camera, UR5 and gripper together with the grasp executor in
one process; real hardware (`use_sim:=false`): a depth camera driver publishing
`/camera/depth/image_raw` runs beside the bench, and `executor_node` drives the UR5 (ur_rtde,
`robot_ip`) and the Robotiq gripper (`gripper_port`). The `gripper` argument (a profile under
config/grippers) goes to every node that depends on the gripper: inference, fallback, the
simulated world with its executor, the real executor. Every node process gets the environment of
`node_environment`: the Fast DDS profile for whole depth frames (`fastdds_profile`), the DDS
domain (`ros_domain_id`) and discovery range (`discovery_range`). The simulated bench keeps to
this machine by default: discovery range LOCALHOST, a Fast DDS profile that listens on the
loopback interface only, and a domain of its own unless the environment names one
(`network_environment`; README, *Security*). No launch or rclpy imports here.
"""

from __future__ import annotations

import contextlib
import fcntl
import math
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from gqstn_ros.detection import FALLBACK_WHEN
from gqstn_ros.package_data import data_dir
from gqstn_ros.planner_registry import (
    OWN_HEAD,
    SHIPPED_JUDGE_MODEL,
    SYMMETRIC_VIEW_COUNTS,
    judge_parameters,
)
from gqstn_ros.profiles import DEFAULT_GRIPPER_PROFILE, gripper_profile_names

PACKAGE_NAME = "gqstn_ros"
REPO_CONFIG_DIR = Path(__file__).resolve().parents[2] / "config"
TRUE_FALSE = ("true", "false")
# config/ file of the Fast DDS profile whose shared-memory segment holds whole depth frames
# (Fast DDS's 512 KB default is smaller than one 640x480 frame: see the file's comment).
FASTDDS_PROFILE_FILE = "fastdds_large_frames.xml"
# The same segment, with UDP on the loopback interface only: the profile of a graph whose
# discovery range is LOCALHOST or OFF (the simulated bench by default).
FASTDDS_LOCALHOST_PROFILE_FILE = "fastdds_large_frames_localhost.xml"
FASTDDS_PROFILE_BUNDLED = "bundled"
# config/ file of the hand-eye calibration (a `/**` section): given to every node that uses the
# camera's pose in base_link (inference, executor, simulated world), after its own file. rcl
# merges the `-p` overrides (the launch arguments) into the `/**` section and applies a
# process's sections in the order they first appear: a `/**` file before a node's own file would
# let that file's values (robot_ip, gripper, ...) override the launch arguments.
HAND_EYE_FILE = "hand_eye.yaml"
FASTDDS_PROFILE_NONE = "none"
# Added to every node process's environment: logs without colour codes (launch writes the same
# stream to the screen and to its log files) and Python output not held in a buffer.
LOG_ENVIRONMENT = {"RCUTILS_COLORIZED_OUTPUT": "0", "PYTHONUNBUFFERED": "1"}
# Environment variables through which Fast DDS (and its older name, Fast RTPS) loads a profile.
FASTDDS_PROFILE_VARIABLES = ("FASTDDS_DEFAULT_PROFILES_FILE", "FASTRTPS_DEFAULT_PROFILES_FILE")
ParameterOverride = str | bool | int | float
# The DDS domain and discovery range of the nodes (launch arguments ros_domain_id and
# discovery_range; `network_environment`).
AUTO = "auto"
DOMAIN_VARIABLE = "ROS_DOMAIN_ID"
DISCOVERY_VARIABLE = "ROS_AUTOMATIC_DISCOVERY_RANGE"
DISCOVERY_RANGES = ("LOCALHOST", "SUBNET", "OFF", "SYSTEM_DEFAULT")
# Console scripts whose process is not one node module of the same name (setup.py names the
# same `main`): the simulated bench composes the world node and the executor node.
PROCESS_MODULES = {"sim_world_node": f"{PACKAGE_NAME}.nodes.sim_bench"}
# The simulated bench's own domain when the environment names none (ROS 2's default is 0).
SIM_DOMAIN_ID = 42
# The largest domain id Fast DDS's default port mapping allows (7400 + 250 x id < 65536).
MAX_DOMAIN_ID = 232
# Domains a closed run (a benchmark that starts its own nodes and is their only client) claims
# for itself: above SIM_DOMAIN_ID, and low enough that their ports stay below Linux's ephemeral
# range (7400 + 250 x 101 < 32768).
PRIVATE_DOMAIN_IDS = range(SIM_DOMAIN_ID + 1, 102)
# Where the domain claims are kept: one folder for every process of the machine, whatever its
# TMPDIR, so that they exclude each other.
DOMAIN_LOCK_DIR = Path("/tmp") if Path("/tmp").is_dir() else Path(tempfile.gettempdir())
# Open lock files of the domains this process claimed; a claim lasts as long as the process.
_claimed_domains: dict[int, int] = {}


@dataclass(frozen=True)
class LaunchArgument:
    """A launch argument: name, default (a string, as launch passes it), description, choices."""

    name: str
    default: str
    description: str
    choices: tuple[str, ...] = ()


LAUNCH_ARGUMENTS = (
    LaunchArgument(
        "use_sim",
        "true",
        "true: the simulated world (MuJoCo depth camera, UR5, Robotiq 2F-85); false: real hardware",
        TRUE_FALSE,
    ),
    LaunchArgument("robot_ip", "192.168.1.10", "IP address of the UR5 controller (use_sim:=false)"),
    LaunchArgument(
        "gripper",
        DEFAULT_GRIPPER_PROFILE,
        "Gripper profile (config/grippers/<name>.yaml: stroke, finger sizes, grip forces) of "
        "every node: the simulated gripper (use_sim:=true) or the real one's (use_sim:=false), "
        "the stroke the planners' grasps must fit and the executor's force range. The networks "
        "must have been trained for its geometry (the shipped models: robotiq_2f85), else the "
        "inference and fallback nodes stop at start",
        gripper_profile_names(),
    ),
    LaunchArgument(
        "gripper_port", "/dev/ttyUSB0", "Serial port of the Robotiq gripper (use_sim:=false)"
    ),
    LaunchArgument(
        "model_backend",
        "torch",
        "Inference backend of the grasp networks",
        ("torch", "onnxruntime"),
    ),
    LaunchArgument(
        "symmetric_views",
        "1",
        "Views per frame for GQ-STN, MultiGrasp and DirectGrasp: 1 = the paper's single pass; "
        "2, 4 or 8 = also quarter-turned and mirrored copies of the view in one batch, keeping "
        "the grasp GQ-CNN rates highest (more robust grasps, about 1.5x, 2.2x or 4.3x the "
        "detection time on a CPU)",
        tuple(str(count) for count in SYMMETRIC_VIEW_COUNTS),
    ),
    LaunchArgument(
        "fallback_when",
        "",
        "When a /detect_grasp request naming no planner asks /plan_grasp (Prop+GQ-CNN): "
        "'always' = on every request, in parallel with GQ-STN, its grasp answered when GQ-STN's "
        "GQ-CNN judges it better (more unseen objects lifted, about 3x the time); "
        "'not_robust' = only when GQ-STN's grasp is not robust (camera rate); '' = the "
        "inference node's fallback_when parameter (its default: always)",
    ),
    LaunchArgument(
        "judge_model",
        "",
        "GQ-CNN checkpoint that judges the one-shot networks' grasps (q, robust label, choice "
        "among symmetric views, the default pipeline's choice) in place of their own GQ-CNN "
        "head: '' = the inference node's judge_model and q_calibration_dir parameters (their "
        f"defaults: {SHIPPED_JUDGE_MODEL}, the shipped GQ-CNN fine-tuned on detector grasps, "
        "with its q calibrated against executed lifts); "
        f"'{OWN_HEAD}' = each network's own head, as in the paper, with raw q; any other "
        "checkpoint (a relative path is inside models_dir) reports raw q",
    ),
    LaunchArgument(
        "params_file",
        "",
        "A parameters YAML applied to every node after the package defaults ('' = none)",
    ),
    LaunchArgument(
        "fastdds_profile",
        FASTDDS_PROFILE_BUNDLED,
        f"Fast DDS XML profile of the nodes: '{FASTDDS_PROFILE_BUNDLED}' = the package's "
        f"config/{FASTDDS_PROFILE_FILE} (a shared-memory segment that holds whole depth frames; "
        "Fast DDS's default drops most 640x480 frames at 30 Hz) unless the environment already "
        f"names a profile; '{FASTDDS_PROFILE_NONE}' = leave the environment alone; else a file "
        "path. Ignored when RMW_IMPLEMENTATION is not Fast DDS",
    ),
    LaunchArgument(
        "ros_domain_id",
        "auto",
        "ROS_DOMAIN_ID of every node: 'auto' = the environment's ROS_DOMAIN_ID where set, else "
        "42 for the simulated bench (a domain of its own, apart from ROS 2 programs on the "
        "default domain 0) and ROS's default (0) for real hardware; or a domain id 0-232. "
        "Clients (ros2 CLI, your programs) must use the same",
    ),
    LaunchArgument(
        "discovery_range",
        "auto",
        "ROS_AUTOMATIC_DISCOVERY_RANGE of every node: 'auto' = LOCALHOST for the simulated "
        "bench (only processes of this machine discover its nodes; its Fast DDS profile then "
        "listens on the loopback interface only) and the environment's (ROS's default SUBNET) "
        "for real hardware; or one of " + ", ".join(DISCOVERY_RANGES),
        ("auto", *DISCOVERY_RANGES),
    ),
    LaunchArgument(
        "respawn",
        "false",
        "true: a node process that exits (a crash, kill, out of memory) is started again after "
        "respawn_delay seconds instead of being left down; false: it stays down (run_graph then "
        "stops the others)",
        TRUE_FALSE,
    ),
    LaunchArgument(
        "respawn_delay",
        "2.0",
        "Seconds between a node's exit and its restart (respawn:=true)",
    ),
)


MAX_RESPAWN_DELAY_S = 3600.0


def _respawn_delay(text: str) -> float:
    """The respawn_delay launch argument in seconds; ValueError names it when invalid."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0.0 <= value <= MAX_RESPAWN_DELAY_S:
        raise ValueError(
            f"launch argument respawn_delay:={text!r} must be a number of seconds in "
            f"[0, {MAX_RESPAWN_DELAY_S:g}]"
        )
    return value


def _domain_id(text: str) -> str:
    """The ros_domain_id launch argument ('auto' or a domain id); ValueError names it."""
    if text == AUTO or (text.isdigit() and 0 <= int(text) <= MAX_DOMAIN_ID):
        return text
    raise ValueError(
        f"launch argument ros_domain_id:={text!r} must be 'auto' or a domain id in "
        f"[0, {MAX_DOMAIN_ID}]"
    )


@dataclass(frozen=True)
class GraphArguments:
    """The launch arguments, parsed."""

    use_sim: bool = True
    robot_ip: str = "192.168.1.10"
    gripper: str = DEFAULT_GRIPPER_PROFILE
    gripper_port: str = "/dev/ttyUSB0"
    model_backend: str = "torch"
    symmetric_views: int = 1
    fallback_when: str = ""  # or one of FALLBACK_WHEN
    judge_model: str = ""
    params_file: str = ""
    fastdds_profile: str = FASTDDS_PROFILE_BUNDLED
    respawn: bool = False
    respawn_delay: float = 2.0  # seconds
    ros_domain_id: str = AUTO  # or a domain id, as text
    discovery_range: str = AUTO  # or one of DISCOVERY_RANGES

    def __post_init__(self) -> None:
        _domain_id(self.ros_domain_id)
        if self.fallback_when not in ("", *FALLBACK_WHEN):
            raise ValueError(
                f"fallback_when:={self.fallback_when!r} is not one of {', '.join(FALLBACK_WHEN)} "
                "(or '' for the node's parameter)"
            )
        if self.discovery_range not in (AUTO, *DISCOVERY_RANGES):
            raise ValueError(
                f"discovery_range must be {AUTO!r} or one of {', '.join(DISCOVERY_RANGES)}, "
                f"got {self.discovery_range!r}"
            )
        if not 0.0 <= self.respawn_delay <= MAX_RESPAWN_DELAY_S:
            raise ValueError(
                f"respawn_delay must be in [0, {MAX_RESPAWN_DELAY_S:g}] s, got {self.respawn_delay}"
            )

    @classmethod
    def from_strings(cls, values: Mapping[str, str]) -> GraphArguments:
        """Parse launch argument strings (missing ones take their default); ValueError says why."""
        known = {argument.name: argument for argument in LAUNCH_ARGUMENTS}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise ValueError(
                f"unknown launch argument(s) {', '.join(unknown)}: expected {', '.join(known)}"
            )
        parsed = {}
        for name, argument in known.items():
            value = values.get(name, argument.default)
            if argument.choices and value not in argument.choices:
                raise ValueError(
                    f"launch argument {name}:={value!r} is not one of {', '.join(argument.choices)}"
                )
            parsed[name] = value
        if parsed["params_file"] and not Path(parsed["params_file"]).is_file():
            raise ValueError(f"params_file {parsed['params_file']} does not exist")
        profile = parsed["fastdds_profile"]
        if (
            profile not in (FASTDDS_PROFILE_BUNDLED, FASTDDS_PROFILE_NONE)
            and not Path(profile).is_file()
        ):
            raise ValueError(
                f"fastdds_profile {profile!r} is neither {FASTDDS_PROFILE_BUNDLED!r}, "
                f"{FASTDDS_PROFILE_NONE!r} nor an existing file"
            )
        return cls(
            use_sim=parsed["use_sim"] == "true",
            robot_ip=parsed["robot_ip"],
            gripper=parsed["gripper"],
            gripper_port=parsed["gripper_port"],
            model_backend=parsed["model_backend"],
            symmetric_views=int(parsed["symmetric_views"]),
            fallback_when=parsed["fallback_when"],
            judge_model=parsed["judge_model"],
            params_file=parsed["params_file"],
            fastdds_profile=profile,
            respawn=parsed["respawn"] == "true",
            respawn_delay=_respawn_delay(parsed["respawn_delay"]),
            ros_domain_id=_domain_id(parsed["ros_domain_id"]),
            discovery_range=parsed["discovery_range"],
        )


def process_module(executable: str, package: str = PACKAGE_NAME) -> str:
    """The Python module whose main() the console script `executable` of the bench runs."""
    return PROCESS_MODULES.get(executable, f"{package}.nodes.{executable}")


@dataclass(frozen=True)
class NodeSpec:
    """One node (process) of the graph.

    `name` None leaves the process's node names alone (a process hosting several nodes: a
    `__node` remapping would rename all of them). `parameter_files` are file names under the
    package's config/ folder, applied in order; `parameters` override them.
    """

    package: str
    executable: str
    name: str | None
    parameter_files: tuple[str, ...]
    condition: str  # "always", "sim" or "real"
    parameters: tuple[tuple[str, ParameterOverride], ...] = ()
    remappings: tuple[tuple[str, str], ...] = ()
    extra_parameter_files: tuple[str, ...] = field(default=())  # absolute paths (params_file)
    # A managed (lifecycle) node: launch starts it as launch_ros's LifecycleNode. Its own
    # `autostart` parameter says which transitions it takes by itself.
    lifecycle: bool = False

    @property
    def module(self) -> str:
        """The Python module whose main() the console script `executable` runs."""
        return process_module(self.executable, self.package)

    @property
    def label(self) -> str:
        return self.name or self.executable

    def parameter_paths(self, config_dir: Path) -> list[Path]:
        return [config_dir / name for name in self.parameter_files] + [
            Path(path) for path in self.extra_parameter_files
        ]


def node_graph(arguments: GraphArguments) -> list[NodeSpec]:
    """Every node of the bench, with its condition (see `nodes_to_start`)."""
    gripper = (("gripper", arguments.gripper),)
    inference = (
        *gripper,
        ("backend", arguments.model_backend),
        ("symmetric_views", arguments.symmetric_views),
        # '' leaves the parameter files in charge.
        *((("fallback_when", arguments.fallback_when),) if arguments.fallback_when else ()),
        *judge_parameters(arguments.judge_model),
    )
    extra = (arguments.params_file,) if arguments.params_file else ()
    return [
        NodeSpec(
            PACKAGE_NAME,
            "sim_world_node",
            None,  # hosts the simulated world and the executor node: keep both names
            ("sim_world_node.yaml", "executor_node.yaml", HAND_EYE_FILE),
            "sim",
            # The simulated world's and its executor's; the executor activates itself (the
            # simulated arm may move as soon as the bench is up).
            parameters=(("autostart", "activate"), *gripper),
            extra_parameter_files=extra,
        ),
        NodeSpec(
            PACKAGE_NAME,
            "depth_node",
            "depth_node",
            ("depth_node.yaml",),
            "always",
            extra_parameter_files=extra,
        ),
        NodeSpec(
            PACKAGE_NAME,
            "inference_node",
            "inference_node",
            ("inference_node.yaml", HAND_EYE_FILE),
            "always",
            parameters=inference,
            extra_parameter_files=extra,
        ),
        NodeSpec(
            PACKAGE_NAME,
            "fallback_node",
            "fallback_node",
            ("fallback_node.yaml",),
            "always",  # Prop+GQ-CNN runs GQ-CNN with torch whatever model_backend says
            parameters=gripper,
            extra_parameter_files=extra,
        ),
        NodeSpec(
            PACKAGE_NAME,
            "executor_node",
            "executor_node",
            ("executor_node.yaml", HAND_EYE_FILE),
            "real",
            parameters=(
                ("autostart", "configure"),
                ("robot_ip", arguments.robot_ip),
                *gripper,
                ("gripper_port", arguments.gripper_port),
            ),
            extra_parameter_files=extra,
            # Configures itself (autostart configure: connects the hardware); the real arm moves
            # only after an explicit `ros2 lifecycle set /executor_node activate`.
            lifecycle=True,
        ),
    ]


def nodes_to_start(arguments: GraphArguments) -> list[NodeSpec]:
    """The nodes whose condition holds for `arguments` (sim or real hardware)."""
    mode = "sim" if arguments.use_sim else "real"
    return [spec for spec in node_graph(arguments) if spec.condition in ("always", mode)]


def network_environment(arguments: GraphArguments, environ: Mapping[str, str]) -> dict[str, str]:
    """ROS_DOMAIN_ID and ROS_AUTOMATIC_DISCOVERY_RANGE of the graph's nodes, for a graph started
    from a process whose environment is `environ` (only the variables that must be set).

    'auto': the simulated bench runs on the environment's domain where one is set, else on
    SIM_DOMAIN_ID, and discovers on LOCALHOST; real hardware keeps the environment's (ROS's
    defaults: domain 0, SUBNET). An explicit domain id or range always applies. A client of
    the graph (a benchmark, a test) applies the same to itself before it initialises rclpy.
    """
    variables = {}
    domain = arguments.ros_domain_id
    if domain != AUTO:
        variables[DOMAIN_VARIABLE] = domain
    elif arguments.use_sim and not environ.get(DOMAIN_VARIABLE):
        variables[DOMAIN_VARIABLE] = str(SIM_DOMAIN_ID)
    discovery = arguments.discovery_range
    if discovery == AUTO and arguments.use_sim:
        discovery = "LOCALHOST"
    if discovery != AUTO:
        variables[DISCOVERY_VARIABLE] = discovery
    return variables


def claim_private_domain(lock_dir: Path | None = None) -> int:
    """A ROS domain id of PRIVATE_DOMAIN_IDS that no other process of this machine has claimed,
    held (an flock on `lock_dir`/gqstn_ros_domain_<id>.lock, by default in DOMAIN_LOCK_DIR)
    until this process exits.

    Two benchmarks, or a benchmark and the bench of `ros2 launch` (SIM_DOMAIN_ID), running at
    once on one machine then never answer each other's requests. A lock file this user cannot
    open (another user's) counts as claimed. Raises RuntimeError when every id is claimed.
    """
    directory = Path(lock_dir or DOMAIN_LOCK_DIR)
    ids = list(PRIVATE_DOMAIN_IDS)
    start = os.getpid() % len(ids)
    for domain in ids[start:] + ids[:start]:
        if domain in _claimed_domains:
            continue
        path = directory / f"gqstn_ros_domain_{domain}.lock"
        try:
            descriptor = os.open(path, os.O_CREAT | os.O_RDWR, 0o666)
        except OSError:
            continue
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(descriptor)
            continue
        with contextlib.suppress(OSError):  # let other users claim it after this process
            os.fchmod(descriptor, 0o666)
        _claimed_domains[domain] = descriptor
        return domain
    raise RuntimeError(
        f"every private ROS domain {ids[0]}-{ids[-1]} is claimed by another process of this "
        f"machine (lock files gqstn_ros_domain_<id>.lock in {directory}); set ROS_DOMAIN_ID"
    )


def discovery_range(arguments: GraphArguments, environ: Mapping[str, str]) -> str:
    """The discovery range the graph's nodes run with (ROS's default: SUBNET)."""
    variables = {**environ, **network_environment(arguments, environ)}
    return variables.get(DISCOVERY_VARIABLE) or "SUBNET"


def node_environment(
    arguments: GraphArguments, config_dir: Path, environ: Mapping[str, str]
) -> dict[str, str]:
    """Environment variables to add to every node process of the graph (launched from a process
    whose environment is `environ`): the DDS domain and discovery range (`network_environment`)
    and the Fast DDS profile chosen by `fastdds_profile`.

    The profile: none when the RMW is not Fast DDS, when `fastdds_profile` is 'none', or when
    it is 'bundled' and `environ` already names a profile (the user's own wins); 'bundled' is
    the loopback-only profile when the nodes discover on LOCALHOST or not at all, else the one
    that listens on every interface; a file path given explicitly replaces the environment's.
    """
    variables = network_environment(arguments, environ)
    rmw = environ.get("RMW_IMPLEMENTATION") or "rmw_fastrtps_cpp"  # ROS 2's default RMW
    choice = arguments.fastdds_profile
    if not rmw.startswith("rmw_fastrtps") or choice == FASTDDS_PROFILE_NONE:
        return variables
    if choice == FASTDDS_PROFILE_BUNDLED:
        if any(environ.get(name) for name in FASTDDS_PROFILE_VARIABLES):
            return variables
        local = discovery_range(arguments, environ) in ("LOCALHOST", "OFF")
        path = config_dir / (FASTDDS_LOCALHOST_PROFILE_FILE if local else FASTDDS_PROFILE_FILE)
        if not path.is_file():
            raise FileNotFoundError(f"the bundled Fast DDS profile is missing: {path}")
    else:
        path = Path(choice)
    return {**variables, "FASTDDS_DEFAULT_PROFILES_FILE": str(path.resolve())}


def default_config_dir() -> Path:
    """share/gqstn_ros/config of the installed package, else the repository's config/."""
    return data_dir("config")
