"""Session-wide test setup: a private ROS 2 domain on loopback for every test run."""

from ros_test_support import isolate_ros_domain

isolate_ros_domain()
