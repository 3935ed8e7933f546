"""Arm and gripper behind small interfaces: real drivers (ur_rtde, pyrobotiqgripper) and the
simulated ones of the benchmark world implement the same protocols."""
