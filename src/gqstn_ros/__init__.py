"""gqstn_ros: one-shot grasp detection (GQ-STN) as a ROS 2 node suite."""

__version__ = "0.1.0"
