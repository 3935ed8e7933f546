"""ROS 2 nodes: thin wrappers that convert messages and call the pure core."""
