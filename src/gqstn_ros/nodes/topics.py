"""The bench's topic, service and action names and the QoS profile of each (docs/interface.md).

Every node takes the names it publishes, subscribes, serves or calls from here, with the
profile it uses for them; a name or a profile is changed here once for every node. No rclpy
node here: names and `QoSProfile`s only.
"""

from __future__ import annotations

from rclpy.duration import Duration
from rclpy.qos import (
    DurabilityPolicy,
    HistoryPolicy,
    LivelinessPolicy,
    QoSProfile,
    ReliabilityPolicy,
)

# --- depth frames (camera driver or simulated world -> depth node -> inference node) ---------
RAW_DEPTH_TOPIC = "/camera/depth/image_raw"
RAW_INFO_TOPIC = "/camera/depth/camera_info"
INPAINTED_TOPIC = "/depth/inpainted"
INPAINTED_INFO_TOPIC = "/depth/inpainted/camera_info"

# --- planning services and their results -------------------------------------------------------
DETECT_SERVICE = "/detect_grasp"
PLAN_SERVICE = "/plan_grasp"
GRASP_TOPIC = "/grasp_pose"
BASE_GRASP_TOPIC = "/grasp_pose/base_link"
GRASP_MARKER_TOPIC = "/grasp_markers"
DEBUG_IMAGE_TOPIC = "/grasp_debug_image"
TF_TOPIC = "/tf"
TF_STATIC_TOPIC = "/tf_static"

# --- execution ---------------------------------------------------------------------------------
EXECUTE_ACTION = "/execute_grasp"
# The action's goal states, as rcl_action names its status topic.
ATTEMPT_STATUS_TOPIC = f"{EXECUTE_ACTION}/_action/status"
OPEN_GRIPPER_SERVICE = "~/open_gripper"  # in the executor node's namespace

# --- the simulated world -----------------------------------------------------------------------
SIM_RESET_SERVICE = "/sim/reset_scene"
SIM_OBJECT_STATE_SERVICE = "/sim/object_state"
SIM_HOLD_SERVICE = "/sim/hold"
SIM_FINISH_PICK_SERVICE = "/sim/finish_pick"
SIM_MARKER_TOPIC = "/sim/markers"
SIM_SEGMENTATION_TOPIC = "/sim/segmentation"


def alive_topic(service: str) -> str:
    """The liveliness topic of a planning service (`/plan_grasp` -> `/plan_grasp/alive`)."""
    return f"{service.rstrip('/')}/alive"


# --- QoS profiles ------------------------------------------------------------------------------
# Subscriptions to sensor data: the newest frame matters, a lost one does not (REP 2003 keeps it
# best effort); matches best-effort and reliable publishers.
SENSOR_QOS = QoSProfile(
    history=HistoryPolicy.KEEP_LAST, depth=1, reliability=ReliabilityPolicy.BEST_EFFORT
)
# Publishers of frames, markers of the world and debug images: reliable keep-last-1, received by
# reliable (RViz's default) and best-effort subscribers alike. A 614 kB frame sent best effort
# over UDP is lost whole when one fragment is, which under CPU load drops most frames.
FRAME_OUTPUT_QOS = QoSProfile(
    history=HistoryPolicy.KEEP_LAST, depth=1, reliability=ReliabilityPolicy.RELIABLE
)
# Grasps and their markers: reliable, the last ten kept for a slow subscriber.
RESULT_QOS = QoSProfile(
    history=HistoryPolicy.KEEP_LAST, depth=10, reliability=ReliabilityPolicy.RELIABLE
)
# As tf2_ros publishes them: /tf reliable and volatile; /tf_static reliable and transient local,
# so that a listener started later (RViz) still receives the static transforms once.
TF_QOS = QoSProfile(
    history=HistoryPolicy.KEEP_LAST, depth=100, reliability=ReliabilityPolicy.RELIABLE
)
TF_STATIC_QOS = QoSProfile(
    history=HistoryPolicy.KEEP_LAST,
    depth=1,
    reliability=ReliabilityPolicy.RELIABLE,
    durability=DurabilityPolicy.TRANSIENT_LOCAL,
)
# The action's status topic as rcl_action offers it (the latest goal states, latched).
ACTION_STATUS_QOS = QoSProfile(
    history=HistoryPolicy.KEEP_LAST,
    depth=1,
    reliability=ReliabilityPolicy.RELIABLE,
    durability=DurabilityPolicy.TRANSIENT_LOCAL,
)
SERVICE_QUEUE_DEPTH = 256  # requests (and answers) a service's DDS queues hold
# The planning services and their clients: a burst of requests is never dropped (a client
# needs as deep a queue, else its queue drops the answers).
SERVICE_QOS = QoSProfile(
    history=HistoryPolicy.KEEP_LAST,
    depth=SERVICE_QUEUE_DEPTH,
    reliability=ReliabilityPolicy.RELIABLE,
    durability=DurabilityPolicy.VOLATILE,
)
# A reply can be lost while DDS still matches a new client and server (rmw_fastrtps waits at
# most 100 ms for the client's reply reader); a client that gets no reply to a request it may
# repeat asks again after this long (seconds; README, Interfaces).
ASK_AGAIN_AFTER_S = 5.0
ALIVE_LEASE_S = 1.0  # a planning server not heard of for this long is dead (seconds)
# A planning server's liveliness topic (`alive_topic`): asserted by the middleware while the
# process lives, lapsed within ALIVE_LEASE_S of its death.
ALIVE_QOS = QoSProfile(
    history=HistoryPolicy.KEEP_LAST,
    depth=1,
    reliability=ReliabilityPolicy.RELIABLE,
    durability=DurabilityPolicy.VOLATILE,
    liveliness=LivelinessPolicy.AUTOMATIC,
    liveliness_lease_duration=Duration(seconds=ALIVE_LEASE_S),
)
