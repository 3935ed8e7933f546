"""Depth images between sensor_msgs/Image and numpy, following the rules of sensor_msgs/Image.

Our own small replacement for cv_bridge (the PyPI copy is a broken ROS 1 build). Supported
encodings are the two depth encodings of REP 118:

- ``16UC1``: unsigned 16-bit millimetres, 0 = no data;
- ``32FC1``: 32-bit float metres, 0, NaN and +-inf = no data.

A message's ``step`` is the length of one row in bytes and may exceed ``width * bytes per
pixel`` (row padding); ``is_bigendian`` gives the byte order of each pixel; ``data`` holds
``step * height`` bytes. Anything else is refused with a :class:`DepthImageError` that names
what is wrong. This module imports message classes only, never rclpy.
"""

from __future__ import annotations

import array
import sys
from typing import Any

import numpy as np
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import Header

from gqstn_ros.camera_model import CameraIntrinsics

ENCODING_16UC1 = "16UC1"
ENCODING_32FC1 = "32FC1"
# encoding -> numpy element type (byte order applied separately) and metres per stored unit
DEPTH_ENCODINGS: dict[str, tuple[np.dtype, float]] = {
    ENCODING_16UC1: (np.dtype(np.uint16), 1e-3),
    ENCODING_32FC1: (np.dtype(np.float32), 1.0),
}
MAX_16UC1_METRES = np.iinfo(np.uint16).max * 1e-3  # 65.535 m
HOST_IS_BIGENDIAN = sys.byteorder == "big"


class DepthImageError(ValueError):
    """A depth image message that does not follow the sensor_msgs/Image rules we accept."""


def _element_type(encoding: str) -> tuple[np.dtype, float]:
    try:
        return DEPTH_ENCODINGS[encoding]
    except KeyError:
        supported = ", ".join(DEPTH_ENCODINGS)
        raise DepthImageError(
            f"unsupported depth encoding {encoding!r}: expected one of {supported}"
        ) from None


def image_to_array(msg: Image) -> np.ndarray:
    """The pixels of a 16UC1 or 32FC1 image as an (height, width) array in native byte order.

    Returns uint16 millimetres for 16UC1 and float32 metres for 32FC1, unchanged (invalid pixels
    keep their stored value). The result is a fresh array that does not alias ``msg.data``.
    """
    element, _ = _element_type(msg.encoding)
    height, width, step = int(msg.height), int(msg.width), int(msg.step)
    if height == 0 or width == 0:
        raise DepthImageError(f"depth image has zero size ({width}x{height})")
    row_bytes = width * element.itemsize
    if step < row_bytes:
        raise DepthImageError(
            f"step {step} is shorter than one row of {width} {msg.encoding} pixels "
            f"({row_bytes} bytes)"
        )
    data = np.frombuffer(msg.data, dtype=np.uint8)
    if data.size != step * height:
        raise DepthImageError(
            f"data length {data.size} does not match step x height = {step} x {height} "
            f"= {step * height} bytes"
        )
    rows = data.reshape(height, step)[:, :row_bytes]
    byte_order = ">" if msg.is_bigendian else "<"
    pixels = np.ascontiguousarray(rows).view(element.newbyteorder(byte_order))
    return pixels.reshape(height, width).astype(element.newbyteorder("="), copy=True)


def depth_to_metres(msg: Image) -> np.ndarray:
    """(height, width) float32 depth in metres; invalid pixels (0, NaN, inf) become NaN."""
    _, metres_per_unit = _element_type(msg.encoding)
    pixels = image_to_array(msg)
    depth_m = pixels.astype(np.float32)
    if metres_per_unit != 1.0:
        depth_m *= np.float32(metres_per_unit)
    depth_m[~np.isfinite(depth_m) | (depth_m <= 0.0)] = np.nan
    return depth_m


def array_to_image(
    pixels: np.ndarray,
    encoding: str,
    header: Header | None = None,
    *,
    is_bigendian: bool = HOST_IS_BIGENDIAN,
    row_padding: int = 0,
) -> Image:
    """A sensor_msgs/Image holding (height, width) `pixels` stored with `encoding`.

    `pixels` must already be in the encoding's units and type range (uint16 millimetres for
    16UC1, float32 metres for 32FC1); `row_padding` extra bytes are appended to every row.
    """
    element, _ = _element_type(encoding)
    pixels = np.asarray(pixels)
    if pixels.ndim != 2:
        raise DepthImageError(f"depth array must be 2-D (height, width), got shape {pixels.shape}")
    if pixels.size == 0:
        raise DepthImageError(f"depth array has zero size (shape {pixels.shape})")
    if row_padding < 0:
        raise DepthImageError(f"row padding must be >= 0 bytes, got {row_padding}")
    if not np.can_cast(pixels.dtype, element, casting="same_kind"):
        raise DepthImageError(f"cannot store {pixels.dtype} pixels as {encoding} ({element})")
    height, width = pixels.shape
    stored = pixels.astype(element.newbyteorder(">" if is_bigendian else "<"), copy=False)
    row_bytes = width * element.itemsize
    if row_padding:
        buffer = np.zeros((height, row_bytes + row_padding), dtype=np.uint8)
        buffer[:, :row_bytes] = np.ascontiguousarray(stored).view(np.uint8).reshape(height, -1)
        payload = buffer.tobytes()
    else:
        payload = np.ascontiguousarray(stored).tobytes()
    msg = Image()
    if header is not None:
        msg.header = header
    msg.height, msg.width = height, width
    msg.encoding = encoding
    msg.is_bigendian = bool(is_bigendian)
    msg.step = row_bytes + row_padding
    data = array.array("B")
    data.frombytes(payload)
    msg.data = data  # an array.array('B') is taken as is; bytes would be checked per element
    return msg


def metres_to_image(
    depth_m: np.ndarray,
    encoding: str = ENCODING_32FC1,
    header: Header | None = None,
    **kwargs: Any,
) -> Image:
    """A depth image message from (height, width) metres; NaN, inf and <= 0 are stored as 0.

    16UC1 rounds to the nearest millimetre and refuses depths beyond 65.535 m.
    """
    depth_m = np.asarray(depth_m, dtype=np.float32)
    invalid = ~np.isfinite(depth_m) | (depth_m <= 0.0)
    if encoding == ENCODING_16UC1:
        if np.any(depth_m[~invalid] > MAX_16UC1_METRES):
            raise DepthImageError(
                f"depth beyond {MAX_16UC1_METRES} m cannot be stored as {ENCODING_16UC1}"
            )
        pixels = np.where(invalid, 0.0, np.rint(depth_m * 1e3)).astype(np.uint16)
    else:
        _element_type(encoding)
        pixels = np.where(invalid, np.float32(0.0), depth_m).astype(np.float32)
    return array_to_image(pixels, encoding, header, **kwargs)


def mono8_image(pixels: np.ndarray, header: Header | None = None) -> Image:
    """A mono8 sensor_msgs/Image (a target mask, object labels) of (height, width) `pixels`
    in [0, 255]; ValueError names values outside that range or a shape that is not 2-D."""
    values = np.asarray(pixels)
    if values.ndim != 2:
        raise ValueError(f"a mono8 image must be 2-D (height, width), got shape {values.shape}")
    if values.size and (values.min() < 0 or values.max() > 255):
        raise ValueError(f"mono8 values must be in [0, 255], got [{values.min()}, {values.max()}]")
    height, width = values.shape
    msg = Image(height=height, width=width, encoding="mono8", is_bigendian=0, step=width)
    if header is not None:
        msg.header = header
    data = array.array("B")
    data.frombytes(np.ascontiguousarray(values, dtype=np.uint8).tobytes())
    msg.data = data
    return msg


def camera_info_to_intrinsics(info: CameraInfo) -> CameraIntrinsics:
    """Pinhole intrinsics from the K matrix of a CameraInfo; a zero/empty K is refused."""
    k = np.asarray(info.k, dtype=np.float64)
    if info.width == 0 or info.height == 0:
        raise DepthImageError(f"camera_info has zero size ({info.width}x{info.height})")
    if k.shape != (9,) or not np.all(np.isfinite(k)) or k[0] <= 0 or k[4] <= 0:
        raise DepthImageError(f"camera_info K has no valid focal lengths (fx={k[0]}, fy={k[4]})")
    return CameraIntrinsics(
        width=int(info.width), height=int(info.height), fx=k[0], fy=k[4], cx=k[2], cy=k[5]
    )


def intrinsics_to_camera_info(
    intrinsics: CameraIntrinsics, header: Header | None = None
) -> CameraInfo:
    """A CameraInfo for a rectified pinhole camera (no distortion, identity R, P = [K | 0])."""
    info = CameraInfo()
    if header is not None:
        info.header = header
    info.width, info.height = intrinsics.width, intrinsics.height
    info.distortion_model = "plumb_bob"
    info.d = [0.0] * 5
    k = intrinsics.matrix
    info.k = k.reshape(-1).tolist()
    info.r = np.eye(3).reshape(-1).tolist()
    info.p = np.hstack([k, np.zeros((3, 1))]).reshape(-1).tolist()
    return info


def check_camera_info_matches(info: CameraInfo, image: Image) -> None:
    """Refuse a CameraInfo whose size differs from the image it describes."""
    if (info.width, info.height) != (image.width, image.height):
        raise DepthImageError(
            f"camera_info is {info.width}x{info.height} but the depth image is "
            f"{image.width}x{image.height}"
        )
