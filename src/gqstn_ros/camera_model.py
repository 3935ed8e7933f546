"""Pinhole camera model shared by simulation, datasets, networks and nodes.

Frames follow REP 103/105: the camera optical frame has z forward (into the scene), x right and
y down. Pixel (u, v) = (column, row); the centre of the top-left pixel is (0, 0).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class CameraIntrinsics:
    """Pinhole intrinsics of a depth camera, without distortion (rectified images)."""

    width: int
    height: int
    fx: float
    fy: float
    cx: float
    cy: float

    def __post_init__(self) -> None:
        if self.width <= 0 or self.height <= 0:
            raise ValueError(f"camera size must be positive, got {self.width}x{self.height}")
        if not (self.fx > 0 and self.fy > 0):
            raise ValueError(f"focal lengths must be positive, got fx={self.fx}, fy={self.fy}")
        if not (np.isfinite(self.cx) and np.isfinite(self.cy)):
            raise ValueError(f"principal point must be finite, got cx={self.cx}, cy={self.cy}")

    @property
    def matrix(self) -> np.ndarray:
        """The 3x3 intrinsic matrix K."""
        return np.array(
            [[self.fx, 0.0, self.cx], [0.0, self.fy, self.cy], [0.0, 0.0, 1.0]], dtype=np.float64
        )

    def project(self, points_cam: np.ndarray) -> np.ndarray:
        """Project (..., 3) points in the optical frame to (..., 2) pixel coordinates (u, v)."""
        points_cam = np.asarray(points_cam, dtype=np.float64)
        z = points_cam[..., 2]
        if np.any(z <= 0):
            raise ValueError("cannot project points at or behind the camera (z <= 0)")
        u = self.fx * points_cam[..., 0] / z + self.cx
        v = self.fy * points_cam[..., 1] / z + self.cy
        return np.stack([u, v], axis=-1)

    def deproject(self, pixels: np.ndarray, depth: np.ndarray | float) -> np.ndarray:
        """Lift (..., 2) pixels (u, v) at depth z (metres) to (..., 3) optical-frame points."""
        pixels = np.asarray(pixels, dtype=np.float64)
        z = np.asarray(depth, dtype=np.float64)
        x = (pixels[..., 0] - self.cx) * z / self.fx
        y = (pixels[..., 1] - self.cy) * z / self.fy
        return np.stack(np.broadcast_arrays(x, y, z), axis=-1)

    def point_cloud(self, depth_m: np.ndarray) -> np.ndarray:
        """(H, W, 3) points in the optical frame for an (H, W) depth image in metres."""
        if depth_m.shape != (self.height, self.width):
            raise ValueError(
                f"depth image is {depth_m.shape[1]}x{depth_m.shape[0]}, "
                f"camera is {self.width}x{self.height}"
            )
        v, u = np.mgrid[0 : self.height, 0 : self.width]
        return self.deproject(np.stack([u, v], axis=-1), depth_m)

    def metres_per_pixel(self, depth_m: float) -> float:
        """Metres spanned by one pixel at depth `depth_m` (mean of the two axes)."""
        return float(depth_m) * 2.0 / (self.fx + self.fy)

    def scaled(self, width: int, height: int) -> CameraIntrinsics:
        """The intrinsics of the same camera resized to width x height."""
        sx, sy = width / self.width, height / self.height
        return CameraIntrinsics(
            width=width,
            height=height,
            fx=self.fx * sx,
            fy=self.fy * sy,
            cx=(self.cx + 0.5) * sx - 0.5,
            cy=(self.cy + 0.5) * sy - 0.5,
        )

    def cropped(self, left: int, top: int, width: int, height: int) -> CameraIntrinsics:
        """The intrinsics of the window [left, left+width) x [top, top+height)."""
        if left < 0 or top < 0 or left + width > self.width or top + height > self.height:
            raise ValueError(
                f"crop {width}x{height}+{left}+{top} is outside the "
                f"{self.width}x{self.height} image"
            )
        return CameraIntrinsics(
            width=width, height=height, fx=self.fx, fy=self.fy, cx=self.cx - left, cy=self.cy - top
        )

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)


# Microsoft Kinect v1 depth camera, 640x480 (the sensor of the paper's physical benchmark).
# Focal lengths from the commonly used factory calibration of the IR camera (about 57 x 43 deg FOV).
KINECT_V1 = CameraIntrinsics(width=640, height=480, fx=580.0, fy=580.0, cx=319.5, cy=239.5)
