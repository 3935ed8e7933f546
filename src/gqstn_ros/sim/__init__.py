"""Synthetic world (pure Python, no rclpy): procedural objects, a MuJoCo table scene, a
simulated Kinect (depth + segmentation, OpenGL or ray casting) and its noise model.

Modules (imported on demand; `scene` and `camera` need `mujoco`):
- `objects`: `generate_object(family, seed, stroke=...) -> ObjectModel`, `FAMILIES` (the
  original fifteen), `ALL_FAMILIES`, `FAMILY_GROUPS` and `hold_out_families`;
- `world_config`: dataclass configs (table, drop, physics, camera pose, noise) with validation;
- `scene`: `Scene.build(objects, config, seed)`, `settle()`, `object_pose(i)`;
- `camera`: `DepthCamera(scene, camera, backend).render() -> DepthFrame`;
- `sensor_noise`: `apply_kinect_noise(depth, intrinsics, config, seed)`.
- `sensor_models`: noise configs per sensor type (structured light, active stereo, time of
  flight) and `apply_sensor_noise(depth, intrinsics, config, rng)`, which the world uses.
"""
