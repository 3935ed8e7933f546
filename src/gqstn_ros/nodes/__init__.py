"""ROS 2 nodes: thin wrappers that convert messages and call the pure core."""

import sys as _sys

from gqstn_ros.nodes.shutdown import exit_quietly_while_starting, started_as_node_process

if started_as_node_process(list(getattr(_sys, "orig_argv", [])), _sys.argv[0] if _sys.argv else ""):
    # SIGINT while a node process still imports (torch takes seconds): exit 0 at once.
    exit_quietly_while_starting()
